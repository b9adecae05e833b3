# Wires the modules into one environment.  dev and prod share this file;
# they differ in terraform.tfvars and the state key in versions.tf.

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      Project     = "security-token-analytics"
      Environment = var.environment
      ManagedBy   = "terraform"
    })
  }
}

locals {
  name = "sta-${var.environment}"
}

module "network" {
  source = "../../modules/network"

  name               = local.name
  cidr               = var.vpc_cidr
  azs                = var.azs
  single_nat_gateway = var.single_nat_gateway
  cluster_name       = local.name
}

module "eks" {
  source = "../../modules/eks"

  cluster_name                 = local.name
  kubernetes_version           = var.kubernetes_version
  vpc_id                       = module.network.vpc_id
  private_subnet_ids           = module.network.private_subnet_ids
  endpoint_public_access       = length(var.endpoint_public_access_cidrs) > 0
  endpoint_public_access_cidrs = var.endpoint_public_access_cidrs
  node_groups                  = var.node_groups
  admin_role_arns              = var.admin_role_arns
}

module "lake" {
  source = "../../modules/lake"

  bucket_name   = var.lake_bucket_name
  prefix        = var.lake_prefix
  force_destroy = var.disposable
}

module "iam" {
  source = "../../modules/iam"

  name_prefix       = local.name
  oidc_provider_arn = module.eks.oidc_provider_arn
  oidc_provider     = module.eks.oidc_provider
  lake_bucket_arn   = module.lake.bucket_arn
  lake_prefix       = module.lake.prefix
  lake_kms_key_arn  = module.lake.kms_key_arn
}

module "warehouse" {
  source = "../../modules/warehouse"

  cluster_identifier         = local.name
  vpc_id                     = module.network.vpc_id
  private_subnet_ids         = module.network.private_subnet_ids
  allowed_security_group_ids = [module.eks.node_security_group_id]
  node_type                  = var.redshift_node_type
  number_of_nodes            = var.redshift_number_of_nodes
  lake_bucket_arn            = module.lake.bucket_arn
  lake_prefix                = module.lake.prefix
  lake_kms_key_arn           = module.lake.kms_key_arn
  skip_final_snapshot        = var.disposable
}

module "ecr" {
  source = "../../modules/ecr"

  repository_names = var.ecr_repository_names
}
