# ecr: input variables (typed, described, validated).

variable "repository_names" {
  description = "ECR repositories to create (the sta image carries the runner and the tasks)."
  type        = list(string)
  default     = ["sta"]

  validation {
    condition     = length(var.repository_names) >= 1 && alltrue([for n in var.repository_names : can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", n))])
    error_message = "repository_names must be valid ECR repository names (lower-case, digits, . _ - and /)."
  }
}

variable "untagged_expire_days" {
  description = "Days after which untagged images are expired."
  type        = number
  default     = 14

  validation {
    condition     = var.untagged_expire_days >= 1
    error_message = "untagged_expire_days must be at least 1."
  }
}

variable "keep_tagged_images" {
  description = "Number of most recent tagged images to keep per repository."
  type        = number
  default     = 100

  validation {
    condition     = var.keep_tagged_images >= 1
    error_message = "keep_tagged_images must be at least 1."
  }
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
