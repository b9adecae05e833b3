# warehouse: outputs.

output "endpoint" {
  description = "Redshift endpoint host:port (for the loaders' PostgreSQL connection)."
  value       = aws_redshift_cluster.this.endpoint
}

output "address" {
  description = "Redshift host name without the port."
  value       = aws_redshift_cluster.this.dns_name
}

output "port" {
  description = "Redshift port."
  value       = aws_redshift_cluster.this.port
}

output "database_name" {
  description = "Name of the database."
  value       = aws_redshift_cluster.this.database_name
}

output "copy_role_arn" {
  description = "IAM role ARN for COPY ... IAM_ROLE '<arn>' (also the cluster's default role)."
  value       = aws_iam_role.copy.arn
}

output "master_password_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the admin password."
  value       = aws_redshift_cluster.this.master_password_secret_arn
}

output "security_group_id" {
  description = "Security group of the cluster."
  value       = aws_security_group.redshift.id
}
