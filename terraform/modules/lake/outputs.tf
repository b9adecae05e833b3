# lake: outputs.

output "bucket_name" {
  description = "Name of the lake bucket."
  value       = aws_s3_bucket.lake.id
}

output "bucket_arn" {
  description = "ARN of the lake bucket."
  value       = aws_s3_bucket.lake.arn
}

output "prefix" {
  description = "Key prefix of the lake inside the bucket (no slashes at either end)."
  value       = var.prefix
}

output "lake_uri" {
  description = "The lake URI for sta (--lake / STA_LAKE): s3://<bucket>/<prefix>."
  value       = "s3://${aws_s3_bucket.lake.id}/${var.prefix}"
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the lake."
  value       = aws_kms_key.lake.arn
}

output "log_bucket_name" {
  description = "Name of the bucket receiving the lake's S3 server access logs."
  value       = aws_s3_bucket.logs.id
}
