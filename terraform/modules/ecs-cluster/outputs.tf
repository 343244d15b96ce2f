output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "capacity_provider_name" {
  description = "Name of the EC2 capacity provider (the cluster's default strategy)."
  value       = aws_ecs_capacity_provider.this.name
}

output "task_role_arn" {
  description = "ARN of the worker task (\"robot\") role."
  value       = aws_iam_role.task.arn
}

output "execution_role_arn" {
  description = "ARN of the worker task execution role."
  value       = aws_iam_role.execution.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the worker tasks."
  value       = aws_cloudwatch_log_group.worker.name
}

output "autoscaling_group_name" {
  description = "Name of the container instances' Auto Scaling group."
  value       = aws_autoscaling_group.this.name
}

output "instance_security_group_id" {
  description = "Security group of the container instances."
  value       = aws_security_group.instance.id
}

output "ami_id" {
  description = "AMI used by the launch template."
  value       = local.ami_id
}
