# eks: outputs.

output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "HTTPS endpoint of the Kubernetes API server."
  value       = module.eks.cluster_endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64 CA certificate of the API server (for kubeconfig)."
  value       = module.eks.cluster_certificate_authority_data
}

output "oidc_provider_arn" {
  description = "ARN of the IAM OIDC provider (IRSA); IRSA role trust policies name it as the federated principal."
  value       = module.eks.oidc_provider_arn
}

output "oidc_provider" {
  description = "OIDC issuer without https:// (the prefix of the :sub and :aud condition keys)."
  value       = module.eks.oidc_provider
}

output "node_security_group_id" {
  description = "Security group shared by the nodes; pods on the nodes reach Redshift through it."
  value       = module.eks.node_security_group_id
}

output "cluster_autoscaler_role_arn" {
  description = "IRSA role ARN to annotate the kube-system/cluster-autoscaler service account with."
  value       = aws_iam_role.autoscaler.arn
}
