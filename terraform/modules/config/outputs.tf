output "secret_arn" {
  description = "ARN of the shared-secret container in Secrets Manager."
  value       = aws_secretsmanager_secret.shared.arn
}

output "secret_name" {
  description = "Name of the shared secret."
  value       = aws_secretsmanager_secret.shared.name
}

output "cluster_config_parameter_name" {
  description = "Name of the SSM parameter with the cluster configuration."
  value       = aws_ssm_parameter.cluster_config.name
}

output "cluster_config_parameter_arn" {
  description = "ARN of the SSM parameter with the cluster configuration."
  value       = aws_ssm_parameter.cluster_config.arn
}
