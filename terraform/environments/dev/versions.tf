# dev: Terraform and provider version pins.

terraform {
  required_version = ">= 1.10.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100.0"
    }
    # Required by the community EKS module (OIDC thumbprint, waits, node
    # user data); pinned here so every apply uses the same builds.
    tls = {
      source  = "hashicorp/tls"
      version = "~> 4.1.0"
    }
    time = {
      source  = "hashicorp/time"
      version = "~> 0.13.1"
    }
    cloudinit = {
      source  = "hashicorp/cloudinit"
      version = "~> 2.3.7"
    }
    null = {
      source  = "hashicorp/null"
      version = "~> 3.2.4"
    }
  }

  # Remote state in S3 with S3-native locking (use_lockfile, Terraform
  # >= 1.10): the lock is a <key>.tflock object written with a conditional
  # PUT in the same bucket, so no DynamoDB table has to exist, be paid for
  # or be granted; DynamoDB locking is deprecated in the S3 backend.
  # bucket and region come from backend.hcl (see ../../README.md).
  backend "s3" {
    key          = "sta/dev/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}
