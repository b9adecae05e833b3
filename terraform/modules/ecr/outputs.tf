# ecr: outputs.

output "repository_urls" {
  description = "Repository URLs by name (<account>.dkr.ecr.<region>.amazonaws.com/<name>), for the k8s image references."
  value       = { for name, r in aws_ecr_repository.this : name => r.repository_url }
}

output "repository_arns" {
  description = "Repository ARNs by name."
  value       = { for name, r in aws_ecr_repository.this : name => r.arn }
}
