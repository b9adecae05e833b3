# eks: the cluster, managed node groups whose auto scaling groups the
# cluster autoscaler resizes between min_size and max_size, the IAM OIDC
# provider for IRSA, and the cluster autoscaler's own IRSA role.  Built on
# the community EKS module (v20 input names).

data "aws_partition" "current" {}

module "eks" {
  source  = "terraform-aws-modules/eks/aws"
  version = "20.37.1"

  cluster_name    = var.cluster_name
  cluster_version = var.kubernetes_version

  vpc_id                   = var.vpc_id
  subnet_ids               = var.private_subnet_ids
  control_plane_subnet_ids = var.private_subnet_ids

  cluster_endpoint_private_access      = true
  cluster_endpoint_public_access       = var.endpoint_public_access
  cluster_endpoint_public_access_cidrs = var.endpoint_public_access_cidrs

  # IRSA: creates the IAM OIDC provider the runner, task and autoscaler
  # roles trust.
  enable_irsa = true

  authentication_mode                      = "API"
  enable_cluster_creator_admin_permissions = true
  access_entries = {
    for i, arn in var.admin_role_arns : "admin-${i}" => {
      principal_arn = arn
      policy_associations = {
        admin = {
          policy_arn   = "arn:${data.aws_partition.current.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
          access_scope = { type = "cluster" }
        }
      }
    }
  }

  # Secrets are envelope-encrypted with a KMS key the module creates.
  create_kms_key = true
  cluster_encryption_config = {
    resources = ["secrets"]
  }

  cluster_enabled_log_types              = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
  cloudwatch_log_group_retention_in_days = var.log_retention_days

  cluster_addons = {
    coredns    = { most_recent = true }
    kube-proxy = { most_recent = true }
    vpc-cni = {
      most_recent    = true
      before_compute = true
    }
  }

  eks_managed_node_group_defaults = {
    ami_type = "AL2023_x86_64_STANDARD"
  }

  eks_managed_node_groups = {
    for name, g in var.node_groups : name => {
      instance_types = g.instance_types
      capacity_type  = g.capacity_type
      min_size       = g.min_size
      max_size       = g.max_size
      desired_size   = g.desired_size
      labels         = g.labels
      subnet_ids     = var.private_subnet_ids

      # The module's launch template (which also attaches the node
      # security group) ignores disk_size; size the root volume here.
      block_device_mappings = {
        xvda = {
          device_name = "/dev/xvda"
          ebs = {
            volume_size           = g.disk_size_gb
            volume_type           = "gp3"
            encrypted             = true
            delete_on_termination = true
          }
        }
      }
    }
  }

  tags = var.tags
}

# ---------------------------------------------------------------------
# Cluster autoscaler (kube-system/cluster-autoscaler): IRSA role.  EKS
# managed node groups tag their auto scaling groups with
# k8s.io/cluster-autoscaler/enabled and k8s.io/cluster-autoscaler/<name>,
# which the autoscaler's auto-discovery uses; the write actions below are
# limited to groups carrying this cluster's tag.
# ---------------------------------------------------------------------

data "aws_iam_policy_document" "autoscaler_trust" {
  statement {
    sid     = "ClusterAutoscalerServiceAccount"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [module.eks.oidc_provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${module.eks.oidc_provider}:sub"
      values   = ["system:serviceaccount:kube-system:cluster-autoscaler"]
    }

    condition {
      test     = "StringEquals"
      variable = "${module.eks.oidc_provider}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "autoscaler" {
  # wildcard-resource AutoscalerDescribe: the Describe*/Get* calls of
  # Auto Scaling and EC2 do not support resource-level permissions; AWS
  # only accepts "*" for them.  They are read-only.
  statement {
    sid    = "AutoscalerDescribe"
    effect = "Allow"
    actions = [
      "autoscaling:DescribeAutoScalingGroups",
      "autoscaling:DescribeAutoScalingInstances",
      "autoscaling:DescribeLaunchConfigurations",
      "autoscaling:DescribeScalingActivities",
      "autoscaling:DescribeTags",
      "ec2:DescribeImages",
      "ec2:DescribeInstanceTypes",
      "ec2:DescribeLaunchTemplateVersions",
      "ec2:GetInstanceTypesFromInstanceRequirements",
      "eks:DescribeNodegroup",
    ]
    resources = ["*"]
  }

  statement {
    sid    = "AutoscalerResizeOwnGroups"
    effect = "Allow"
    actions = [
      "autoscaling:SetDesiredCapacity",
      "autoscaling:TerminateInstanceInAutoScalingGroup",
    ]
    resources = ["arn:${data.aws_partition.current.partition}:autoscaling:*:*:autoScalingGroup:*:autoScalingGroupName/*"]

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/k8s.io/cluster-autoscaler/${var.cluster_name}"
      values   = ["owned"]
    }
  }
}

resource "aws_iam_role" "autoscaler" {
  name               = "${var.cluster_name}-cluster-autoscaler"
  description        = "IRSA role of kube-system/cluster-autoscaler in ${var.cluster_name}"
  assume_role_policy = data.aws_iam_policy_document.autoscaler_trust.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "autoscaler" {
  name   = "cluster-autoscaler"
  role   = aws_iam_role.autoscaler.id
  policy = data.aws_iam_policy_document.autoscaler.json
}
