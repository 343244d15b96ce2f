output "function_name" {
  description = "Name of the provisioner Lambda."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the provisioner Lambda."
  value       = aws_lambda_function.this.arn
}

output "events_function_name" {
  description = "Name of the EventBridge worker request Lambda."
  value       = aws_lambda_function.events.function_name
}

output "worker_image" {
  description = "Worker image reference given to the provisioner."
  value       = local.worker_image
}

output "api_endpoint" {
  description = "Base URL of the HTTP API."
  value       = aws_apigatewayv2_api.this.api_endpoint
}

output "worker_request_url" {
  description = "URL to configure in Control Room."
  value       = "${aws_apigatewayv2_api.this.api_endpoint}/worker-request"
}

output "event_bus_arn" {
  description = "ARN of the Control Room event bus."
  value       = aws_cloudwatch_event_bus.control_room.arn
}

output "event_bus_name" {
  description = "Name of the Control Room event bus."
  value       = aws_cloudwatch_event_bus.control_room.name
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dlq.id
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}
