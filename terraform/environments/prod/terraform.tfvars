# prod: three zones, NAT gateway per zone, on-demand nodes, kept data.
region      = "eu-central-1"
environment = "prod"
azs         = ["eu-central-1a", "eu-central-1b", "eu-central-1c"]
vpc_cidr    = "10.50.0.0/16"

single_nat_gateway = false

kubernetes_version = "1.32"
node_groups = {
  system = {
    instance_types = ["m6i.large"]
    min_size       = 2
    max_size       = 4
    desired_size   = 2
    labels         = { "sta.io/pool" = "system" }
  }
  tasks = {
    instance_types = ["m6i.xlarge", "m6a.xlarge"]
    min_size       = 1
    max_size       = 10
    desired_size   = 2
    disk_size_gb   = 100
    labels         = { "sta.io/pool" = "tasks" }
  }
}

endpoint_public_access_cidrs = []

lake_bucket_name = "sta-prod-lake-example"
lake_prefix      = "sta"

redshift_node_type       = "ra3.xlplus"
redshift_number_of_nodes = 2

disposable = false
