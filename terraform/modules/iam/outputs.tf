# iam: outputs.

output "runner_role_arn" {
  description = "IRSA role ARN for the sta-runner service account (eks.amazonaws.com/role-arn annotation)."
  value       = aws_iam_role.this["runner"].arn
}

output "task_role_arn" {
  description = "IRSA role ARN for the sta-task service account (eks.amazonaws.com/role-arn annotation)."
  value       = aws_iam_role.this["task"].arn
}

output "runner_role_name" {
  description = "Name of the runner role."
  value       = aws_iam_role.this["runner"].name
}

output "task_role_name" {
  description = "Name of the task role."
  value       = aws_iam_role.this["task"].name
}
