# What the k8s/ overlays and the runner's configuration need.

output "region" {
  description = "AWS region (AWS_REGION for sta's S3 client)."
  value       = var.region
}

output "lake_uri" {
  description = "Lake URI for sta (--lake / STA_LAKE): s3://<bucket>/<prefix>."
  value       = module.lake.lake_uri
}

output "lake_bucket" {
  description = "Name of the lake bucket."
  value       = module.lake.bucket_name
}

output "lake_prefix" {
  description = "Key prefix of the lake inside the bucket."
  value       = module.lake.prefix
}

output "lake_kms_key_arn" {
  description = "KMS key encrypting the lake."
  value       = module.lake.kms_key_arn
}

output "runner_role_arn" {
  description = "eks.amazonaws.com/role-arn annotation for the sta/sta-runner service account."
  value       = module.iam.runner_role_arn
}

output "task_role_arn" {
  description = "eks.amazonaws.com/role-arn annotation for the sta/sta-task service account."
  value       = module.iam.task_role_arn
}

output "cluster_autoscaler_role_arn" {
  description = "eks.amazonaws.com/role-arn annotation for kube-system/cluster-autoscaler."
  value       = module.eks.cluster_autoscaler_role_arn
}

output "cluster_name" {
  description = "EKS cluster name (aws eks update-kubeconfig --name ...; cluster autoscaler auto-discovery)."
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint."
  value       = module.eks.cluster_endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA certificate of the Kubernetes API."
  value       = module.eks.cluster_certificate_authority_data
}

output "ecr_repository_urls" {
  description = "ECR repository URLs by name (image references in the overlays)."
  value       = module.ecr.repository_urls
}

output "redshift_endpoint" {
  description = "Redshift endpoint host:port for the loaders."
  value       = module.warehouse.endpoint
}

output "redshift_database" {
  description = "Redshift database name."
  value       = module.warehouse.database_name
}

output "redshift_copy_role_arn" {
  description = "IAM role for COPY ... FROM 's3://...' IAM_ROLE '<arn>'."
  value       = module.warehouse.copy_role_arn
}

output "redshift_master_password_secret_arn" {
  description = "Secrets Manager secret with the Redshift admin password."
  value       = module.warehouse.master_password_secret_arn
}
