# network: one VPC with a public and a private subnet in each zone, NAT for
# the private subnets, VPC flow logs, and an S3 gateway endpoint so that
# lake traffic (tasks, Redshift COPY with enhanced VPC routing) stays off
# the NAT gateways.  Built on the community VPC module.

locals {
  # /20 subnets for a /16: public ones first, private ones from index 8 on,
  # so adding a zone later does not renumber existing subnets.
  newbits         = 20 - tonumber(split("/", var.cidr)[1])
  public_subnets  = [for i, az in var.azs : cidrsubnet(var.cidr, local.newbits, i)]
  private_subnets = [for i, az in var.azs : cidrsubnet(var.cidr, local.newbits, i + 8)]
}

module "vpc" {
  source  = "terraform-aws-modules/vpc/aws"
  version = "5.21.0"

  name = var.name
  cidr = var.cidr
  azs  = var.azs

  public_subnets  = local.public_subnets
  private_subnets = local.private_subnets

  enable_nat_gateway     = true
  single_nat_gateway     = var.single_nat_gateway
  one_nat_gateway_per_az = !var.single_nat_gateway

  enable_dns_hostnames = true
  enable_dns_support   = true

  map_public_ip_on_launch = false

  # Public subnets host internet-facing load balancers, private ones the
  # nodes and internal load balancers.
  public_subnet_tags = {
    "kubernetes.io/role/elb"                    = "1"
    "kubernetes.io/cluster/${var.cluster_name}" = "shared"
  }
  private_subnet_tags = {
    "kubernetes.io/role/internal-elb"           = "1"
    "kubernetes.io/cluster/${var.cluster_name}" = "shared"
  }

  enable_flow_log                                 = true
  create_flow_log_cloudwatch_log_group            = true
  create_flow_log_cloudwatch_iam_role             = true
  flow_log_max_aggregation_interval               = 60
  flow_log_cloudwatch_log_group_retention_in_days = var.flow_log_retention_days

  tags = var.tags
}

data "aws_region" "current" {}

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = module.vpc.vpc_id
  service_name      = "com.amazonaws.${data.aws_region.current.name}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = module.vpc.private_route_table_ids

  tags = merge(var.tags, { Name = "${var.name}-s3" })
}
