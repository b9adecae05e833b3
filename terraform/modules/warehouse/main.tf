# warehouse: a Redshift cluster in the private subnets, not publicly
# accessible, encrypted with its own KMS key, TLS required, enhanced VPC
# routing (COPY reads the lake through the VPC's S3 gateway endpoint), and
# the IAM role Redshift assumes for COPY from the lake's export prefix.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  export_prefix = "${var.lake_prefix}/export"
}

resource "aws_kms_key" "redshift" {
  description             = "Encryption key of the ${var.cluster_identifier} Redshift cluster"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
  tags                    = var.tags
}

data "aws_iam_policy_document" "kms" {
  # wildcard-resource AccountAdministersKey: in a key policy "*" means
  # "this key"; the account root statement lets IAM policies grant use of
  # the key (Redshift uses it through grants made by the caller).
  statement {
    sid       = "AccountAdministersKey"
    effect    = "Allow"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }
}

resource "aws_redshift_subnet_group" "this" {
  name        = var.cluster_identifier
  description = "Private subnets of ${var.cluster_identifier}"
  subnet_ids  = var.private_subnet_ids
  tags        = var.tags
}

resource "aws_security_group" "redshift" {
  name        = "${var.cluster_identifier}-redshift"
  description = "Redshift ${var.cluster_identifier}: port 5439 from the allowed security groups only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "redshift" {
  for_each = toset(var.allowed_security_group_ids)

  security_group_id            = aws_security_group.redshift.id
  description                  = "Redshift from ${each.value}"
  ip_protocol                  = "tcp"
  from_port                    = 5439
  to_port                      = 5439
  referenced_security_group_id = each.value
}

resource "aws_redshift_parameter_group" "this" {
  name   = var.cluster_identifier
  family = "redshift-1.0"

  parameter {
    name  = "require_ssl"
    value = "true"
  }

  parameter {
    name  = "enable_user_activity_logging"
    value = "true"
  }

  tags = var.tags
}

resource "aws_redshift_cluster" "this" {
  cluster_identifier = var.cluster_identifier
  database_name      = var.database_name
  master_username    = var.master_username

  # The password never passes through Terraform: Redshift generates it and
  # keeps it in Secrets Manager.
  manage_master_password = true

  node_type       = var.node_type
  cluster_type    = var.number_of_nodes > 1 ? "multi-node" : "single-node"
  number_of_nodes = var.number_of_nodes

  cluster_subnet_group_name    = aws_redshift_subnet_group.this.name
  vpc_security_group_ids       = [aws_security_group.redshift.id]
  cluster_parameter_group_name = aws_redshift_parameter_group.this.name
  publicly_accessible          = false
  enhanced_vpc_routing         = true

  encrypted  = true
  kms_key_id = aws_kms_key.redshift.arn

  iam_roles            = [aws_iam_role.copy.arn]
  default_iam_role_arn = aws_iam_role.copy.arn

  automated_snapshot_retention_period = var.snapshot_retention_days
  skip_final_snapshot                 = var.skip_final_snapshot
  final_snapshot_identifier           = var.skip_final_snapshot ? null : "${var.cluster_identifier}-final"

  tags = var.tags
}

# ---------------------------------------------------------------------
# COPY role: assumed by the Redshift service for this cluster only; reads
# the lake's export prefix and decrypts with the lake key.
# ---------------------------------------------------------------------

data "aws_iam_policy_document" "copy_trust" {
  statement {
    sid     = "RedshiftService"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["redshift.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

data "aws_iam_policy_document" "copy" {
  # GetBucketLocation carries no s3:prefix key, so it cannot share the
  # prefix-conditioned statement below.
  statement {
    sid       = "LocateLakeBucket"
    effect    = "Allow"
    actions   = ["s3:GetBucketLocation"]
    resources = [var.lake_bucket_arn]
  }

  statement {
    sid       = "ListExportPrefix"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [var.lake_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [local.export_prefix, "${local.export_prefix}/*"]
    }
  }

  statement {
    sid       = "ReadExportObjects"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${var.lake_bucket_arn}/${local.export_prefix}/*"]
  }

  statement {
    sid       = "DecryptLake"
    effect    = "Allow"
    actions   = ["kms:Decrypt"]
    resources = [var.lake_kms_key_arn]
  }
}

resource "aws_iam_role" "copy" {
  name               = "${var.cluster_identifier}-redshift-copy"
  description        = "Assumed by Redshift ${var.cluster_identifier} for COPY from the lake"
  assume_role_policy = data.aws_iam_policy_document.copy_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "copy" {
  name   = "copy-from-lake"
  role   = aws_iam_role.copy.id
  policy = data.aws_iam_policy_document.copy.json
}
