# Environment inputs (typed, described, validated); identical in dev and prod, values in terraform.tfvars.

variable "region" {
  description = "AWS region to deploy into."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as eu-central-1."
  }
}

variable "environment" {
  description = "Environment name; part of every resource name."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "azs" {
  description = "Availability zones to use (at least two)."
  type        = list(string)

  validation {
    condition     = length(var.azs) >= 2
    error_message = "azs must list at least two availability zones."
  }
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0))
    error_message = "vpc_cidr must be a valid IPv4 CIDR block."
  }
}

variable "single_nat_gateway" {
  description = "One shared NAT gateway (dev) instead of one per zone (prod)."
  type        = bool
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the EKS cluster."
  type        = string

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must look like 1.32."
  }
}

variable "node_groups" {
  description = "EKS managed node groups: instance types, capacity type and autoscaling bounds."
  type = map(object({
    instance_types = list(string)
    capacity_type  = optional(string, "ON_DEMAND")
    min_size       = number
    max_size       = number
    desired_size   = number
    disk_size_gb   = optional(number, 50)
    labels         = optional(map(string), {})
  }))

  validation {
    condition     = alltrue([for g in values(var.node_groups) : g.min_size <= g.desired_size && g.desired_size <= g.max_size])
    error_message = "Each node group needs min_size <= desired_size <= max_size."
  }
}

variable "endpoint_public_access_cidrs" {
  description = "CIDR blocks allowed to reach the EKS API from the internet; empty keeps the endpoint private."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.endpoint_public_access_cidrs : can(cidrhost(c, 0)) && c != "0.0.0.0/0"])
    error_message = "endpoint_public_access_cidrs must be valid CIDR blocks other than 0.0.0.0/0."
  }
}

variable "admin_role_arns" {
  description = "IAM roles given cluster-admin on EKS (besides the identity running Terraform)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.admin_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", a))])
    error_message = "admin_role_arns must be IAM role ARNs."
  }
}

variable "lake_bucket_name" {
  description = "Globally unique name of the lake bucket."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,56}[a-z0-9]$", var.lake_bucket_name))
    error_message = "lake_bucket_name must be 3-58 lower-case letters, digits, dots or hyphens."
  }
}

variable "lake_prefix" {
  description = "Key prefix of the lake inside the bucket (lake URI s3://<bucket>/<prefix>)."
  type        = string
  default     = "sta"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]+(/[a-zA-Z0-9_.-]+)*$", var.lake_prefix))
    error_message = "lake_prefix must be non-empty with no leading or trailing slash."
  }
}

variable "redshift_node_type" {
  description = "Redshift node type."
  type        = string

  validation {
    condition     = can(regex("^(ra3|dc2)\\.[a-z0-9]+$", var.redshift_node_type))
    error_message = "redshift_node_type must be an ra3.* or dc2.* node type."
  }
}

variable "redshift_number_of_nodes" {
  description = "Number of Redshift compute nodes."
  type        = number

  validation {
    condition     = var.redshift_number_of_nodes >= 1
    error_message = "redshift_number_of_nodes must be at least 1."
  }
}

variable "ecr_repository_names" {
  description = "ECR repositories to create."
  type        = list(string)
  default     = ["sta"]

  validation {
    condition     = length(var.ecr_repository_names) >= 1
    error_message = "ecr_repository_names must name at least one repository."
  }
}

variable "disposable" {
  description = "True for throw-away environments: buckets may be destroyed with content, Redshift skips the final snapshot."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource (besides Project and Environment)."
  type        = map(string)
  default     = {}
}
