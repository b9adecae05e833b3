# iam: IRSA roles for the runner (namespace sta, service account
# sta-runner) and for the task pods it creates (service account sta-task).
# Each role trusts only its own service account through the cluster's OIDC
# provider, and may touch only the lake prefixes it uses:
#
#   task:   read/write <prefix>/export/*     (exporters write partitions,
#           verify and aggregates read them)
#   runner: read       <prefix>/export/*     (manifests shown in the UI)
#           read/write <prefix>/<runner_log_prefix>/*   (task logs)
#
# plus the KMS calls SSE-KMS needs on the lake key only.

data "aws_partition" "current" {}

locals {
  export_prefix = "${var.lake_prefix}/export"
  log_prefix    = "${var.lake_prefix}/${var.runner_log_prefix}"

  service_accounts = {
    runner = var.runner_service_account
    task   = var.task_service_account
  }
}

data "aws_iam_policy_document" "trust" {
  for_each = local.service_accounts

  statement {
    sid     = "ServiceAccount${title(each.key)}"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_provider}:sub"
      values   = ["system:serviceaccount:${var.namespace}:${each.value}"]
    }

    condition {
      test     = "StringEquals"
      variable = "${var.oidc_provider}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "task" {
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
    sid    = "ReadWriteExportObjects"
    effect = "Allow"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = ["${var.lake_bucket_arn}/${local.export_prefix}/*"]
  }

  statement {
    sid       = "UseLakeKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"]
    resources = [var.lake_kms_key_arn]
  }
}

data "aws_iam_policy_document" "runner" {
  statement {
    sid       = "ListLakePrefixes"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [var.lake_bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values = [
        local.export_prefix,
        "${local.export_prefix}/*",
        local.log_prefix,
        "${local.log_prefix}/*",
      ]
    }
  }

  statement {
    sid       = "ReadExportObjects"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${var.lake_bucket_arn}/${local.export_prefix}/*"]
  }

  statement {
    sid    = "ReadWriteLogObjects"
    effect = "Allow"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:AbortMultipartUpload",
    ]
    resources = ["${var.lake_bucket_arn}/${local.log_prefix}/*"]
  }

  statement {
    sid       = "UseLakeKey"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.lake_kms_key_arn]
  }
}

resource "aws_iam_role" "this" {
  for_each = local.service_accounts

  name                 = "${var.name_prefix}-${each.key}"
  description          = "IRSA role of ${var.namespace}/${each.value}"
  assume_role_policy   = data.aws_iam_policy_document.trust[each.key].json
  max_session_duration = 3600
  tags                 = var.tags
}

resource "aws_iam_role_policy" "runner" {
  name   = "lake-access"
  role   = aws_iam_role.this["runner"].id
  policy = data.aws_iam_policy_document.runner.json
}

resource "aws_iam_role_policy" "task" {
  name   = "lake-access"
  role   = aws_iam_role.this["task"].id
  policy = data.aws_iam_policy_document.task.json
}
