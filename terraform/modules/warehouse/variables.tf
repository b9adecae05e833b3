# warehouse: input variables (typed, described, validated).

variable "cluster_identifier" {
  description = "Identifier of the Redshift cluster, e.g. sta-dev."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,62}$", var.cluster_identifier)) && !can(regex("--|-$", var.cluster_identifier))
    error_message = "cluster_identifier must be 1-63 lower-case letters, digits or single hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "vpc_id" {
  description = "ID of the VPC the cluster runs in."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must be a VPC ID (vpc-...)."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets for the cluster subnet group (network module output private_subnet_ids); never public ones."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2 && alltrue([for s in var.private_subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "private_subnet_ids must list at least two subnet IDs (subnet-...)."
  }
}

variable "allowed_security_group_ids" {
  description = "Security groups allowed to connect on the Redshift port (the EKS node security group, where the loader tasks run)."
  type        = list(string)

  validation {
    condition     = alltrue([for s in var.allowed_security_group_ids : can(regex("^sg-[0-9a-f]+$", s))])
    error_message = "allowed_security_group_ids must be security group IDs (sg-...)."
  }
}

variable "node_type" {
  description = "Redshift node type."
  type        = string
  default     = "ra3.xlplus"

  validation {
    condition     = can(regex("^(ra3|dc2)\\.[a-z0-9]+$", var.node_type))
    error_message = "node_type must be an ra3.* or dc2.* node type."
  }
}

variable "number_of_nodes" {
  description = "Number of compute nodes; 1 makes a single-node cluster."
  type        = number
  default     = 1

  validation {
    condition     = var.number_of_nodes >= 1 && var.number_of_nodes <= 128 && floor(var.number_of_nodes) == var.number_of_nodes
    error_message = "number_of_nodes must be an integer from 1 to 128."
  }
}

variable "database_name" {
  description = "Name of the first database."
  type        = string
  default     = "sta"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_$]{0,63}$", var.database_name))
    error_message = "database_name must be a lower-case identifier of at most 64 characters."
  }
}

variable "master_username" {
  description = "Admin user name; its password is generated and kept in Secrets Manager by Redshift (manage_master_password)."
  type        = string
  default     = "sta_admin"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,127}$", var.master_username))
    error_message = "master_username must start with a letter and contain lower-case letters, digits and underscores."
  }
}

variable "lake_bucket_arn" {
  description = "ARN of the lake bucket the COPY role reads from."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]+$", var.lake_bucket_arn))
    error_message = "lake_bucket_arn must be an S3 bucket ARN."
  }
}

variable "lake_prefix" {
  description = "Key prefix of the lake inside the bucket, without leading or trailing slash; COPY may read <prefix>/export/* only."
  type        = string

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.-]+(/[a-zA-Z0-9_.-]+)*$", var.lake_prefix))
    error_message = "lake_prefix must be non-empty with no leading or trailing slash."
  }
}

variable "lake_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the lake; COPY needs kms:Decrypt on it."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.lake_kms_key_arn))
    error_message = "lake_kms_key_arn must be a KMS key ARN."
  }
}

variable "snapshot_retention_days" {
  description = "Days to keep automated snapshots."
  type        = number
  default     = 7

  validation {
    condition     = var.snapshot_retention_days >= 1 && var.snapshot_retention_days <= 35
    error_message = "snapshot_retention_days must be between 1 and 35."
  }
}

variable "skip_final_snapshot" {
  description = "Skip the final snapshot on destroy (dev only)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags added to every resource."
  type        = map(string)
  default     = {}
}
