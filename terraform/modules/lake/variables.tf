# lake: input variables (typed, described, validated).

variable "bucket_name" {
  description = "Globally unique name of the lake bucket; the access-log bucket is named <bucket_name>-logs."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,56}[a-z0-9]$", var.bucket_name)) && !can(regex("\\.\\.|^xn--|-s3alias$", var.bucket_name))
    error_message = "bucket_name must be 3-58 characters of lower-case letters, digits, dots and hyphens (room is left for the -logs suffix)."
  }
}

variable "prefix" {
  description = "Key prefix of the lake inside the bucket, without leading or trailing slash: the lake URI is s3://<bucket>/<prefix>."
  type        = string
  default     = "sta"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]+(/[a-zA-Z0-9_.-]+)*$", var.prefix))
    error_message = "prefix must be non-empty, made of [a-zA-Z0-9_.-] segments separated by single slashes, with no leading or trailing slash."
  }
}

variable "infrequent_access_after_days" {
  description = "Days after which exported partitions move to STANDARD_IA."
  type        = number
  default     = 30

  validation {
    condition     = var.infrequent_access_after_days >= 30
    error_message = "S3 requires at least 30 days before a transition to STANDARD_IA."
  }
}

variable "glacier_after_days" {
  description = "Days after which exported partitions move to GLACIER_IR (instant retrieval, so sta verify still works); 0 disables."
  type        = number
  default     = 180

  validation {
    condition     = var.glacier_after_days == 0 || var.glacier_after_days >= 90
    error_message = "glacier_after_days must be 0 (off) or at least 90 (60 days after the STANDARD_IA transition at the earliest 30)."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days to keep overwritten or deleted object versions before they expire."
  type        = number
  default     = 90

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "access_log_retention_days" {
  description = "Days to keep the S3 server access logs."
  type        = number
  default     = 365

  validation {
    condition     = var.access_log_retention_days >= 1
    error_message = "access_log_retention_days must be at least 1."
  }
}

variable "force_destroy" {
  description = "Allow terraform destroy to delete non-empty buckets (dev only; keep false in prod)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
