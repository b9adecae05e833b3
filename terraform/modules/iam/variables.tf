# iam: input variables (typed, described, validated).

variable "name_prefix" {
  description = "Prefix of the IAM role names, e.g. sta-dev."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z][a-zA-Z0-9-]{1,40}$", var.name_prefix))
    error_message = "name_prefix must be 2-41 letters, digits or hyphens, starting with a letter."
  }
}

variable "oidc_provider_arn" {
  description = "ARN of the cluster's IAM OIDC provider (eks module output oidc_provider_arn)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/.+$", var.oidc_provider_arn))
    error_message = "oidc_provider_arn must be an IAM OIDC provider ARN."
  }
}

variable "oidc_provider" {
  description = "OIDC issuer without https:// (eks module output oidc_provider), prefix of the :sub/:aud condition keys."
  type        = string

  validation {
    condition     = !startswith(var.oidc_provider, "https://") && length(var.oidc_provider) > 0
    error_message = "oidc_provider must be the issuer host and path without https://."
  }
}

variable "namespace" {
  description = "Kubernetes namespace of the runner and its task pods."
  type        = string
  default     = "sta"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS-1123 label."
  }
}

variable "runner_service_account" {
  description = "Service account of the runner StatefulSet."
  type        = string
  default     = "sta-runner"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.runner_service_account))
    error_message = "runner_service_account must be a DNS-1123 subdomain."
  }
}

variable "task_service_account" {
  description = "Service account of the task pods the runner creates."
  type        = string
  default     = "sta-task"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$", var.task_service_account))
    error_message = "task_service_account must be a DNS-1123 subdomain."
  }
}

variable "lake_bucket_arn" {
  description = "ARN of the lake bucket (lake module output bucket_arn)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]+$", var.lake_bucket_arn))
    error_message = "lake_bucket_arn must be an S3 bucket ARN."
  }
}

variable "lake_prefix" {
  description = "Key prefix of the lake inside the bucket, without leading or trailing slash."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]+(/[a-zA-Z0-9_.-]+)*$", var.lake_prefix))
    error_message = "lake_prefix must be non-empty with no leading or trailing slash."
  }
}

variable "lake_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the lake (lake module output kms_key_arn)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.lake_kms_key_arn))
    error_message = "lake_kms_key_arn must be a KMS key ARN."
  }
}

variable "runner_log_prefix" {
  description = "Sub-prefix of the lake (under lake_prefix) where the runner may write task logs."
  type        = string
  default     = "logs"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]+$", var.runner_log_prefix)) && var.runner_log_prefix != "export"
    error_message = "runner_log_prefix must be one path segment and must not be export."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
