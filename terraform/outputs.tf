output "worker_request_url" {
  description = "URL to configure in Control Room (Self-hosted On-demand Worker)."
  value       = module.provisioner.worker_request_url
}

output "secret_arn" {
  description = "ARN of the Secrets Manager secret holding the shared secret (value set by `cargo xtask`)."
  value       = module.config.secret_arn
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = module.ecs_cluster.cluster_arn
}

output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = module.ecs_cluster.cluster_name
}

output "ecr_repository_url" {
  description = "URL of the worker image repository."
  value       = module.registry.repository_url
}

output "event_bus_arn" {
  description = "ARN of the EventBridge bus Control Room sends requests to."
  value       = module.provisioner.event_bus_arn
}

output "lambda_function_name" {
  description = "Name of the provisioner Lambda."
  value       = module.provisioner.function_name
}

output "events_lambda_function_name" {
  description = "Name of the Lambda behind the EventBridge rule for Control Room's worker requests."
  value       = module.provisioner.events_function_name
}

output "cluster_config_parameter_name" {
  description = "Name of the SSM parameter with the cluster configuration."
  value       = module.config.cluster_config_parameter_name
}

output "dlq_url" {
  description = "URL of the dead-letter queue of the EventBridge rule and async invocations."
  value       = module.provisioner.dlq_url
}
