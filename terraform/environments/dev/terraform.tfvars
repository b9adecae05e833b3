# dev: small, cheap, disposable.
region      = "eu-central-1"
environment = "dev"
azs         = ["eu-central-1a", "eu-central-1b"]
vpc_cidr    = "10.40.0.0/16"

single_nat_gateway = true

kubernetes_version = "1.32"
node_groups = {
  default = {
    instance_types = ["t3.large", "t3a.large"]
    capacity_type  = "SPOT"
    min_size       = 1
    max_size       = 3
    desired_size   = 1
  }
}

# Set to the operator's address range to reach the API from outside the
# VPC; empty keeps the endpoint private.
endpoint_public_access_cidrs = []

lake_bucket_name = "sta-dev-lake-example"
lake_prefix      = "sta"

redshift_node_type       = "ra3.xlplus"
redshift_number_of_nodes = 1

disposable = true
