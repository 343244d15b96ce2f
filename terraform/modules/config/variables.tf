variable "name_prefix" {
  description = "Prefix for the names of all resources."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{3,24}$", var.name_prefix))
    error_message = "name_prefix must be 3-24 characters of [a-z0-9-]."
  }
}

variable "region" {
  description = "AWS region of the worker logs (log_region in the cluster config)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "region must look like eu-west-1."
  }
}

variable "secret_recovery_window_days" {
  description = "Days a deleted secret stays recoverable (0 = delete immediately)."
  type        = number

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or between 7 and 30."
  }
}

variable "cluster_arn" {
  description = "ARN of the ECS cluster."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ecs:", var.cluster_arn))
    error_message = "cluster_arn must be an ECS cluster ARN."
  }
}

variable "task_role_arn" {
  description = "ARN of the worker task (\"robot\") role."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.task_role_arn))
    error_message = "task_role_arn must be an IAM role ARN."
  }
}

variable "execution_role_arn" {
  description = "ARN of the worker task execution role."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.execution_role_arn))
    error_message = "execution_role_arn must be an IAM role ARN."
  }
}

variable "log_group" {
  description = "CloudWatch log group of the worker tasks."
  type        = string

  validation {
    condition     = length(var.log_group) > 0 && length(var.log_group) <= 512
    error_message = "log_group must be a log group name."
  }
}

variable "capacity_provider" {
  description = "Name of the ECS capacity provider used by RunTask."
  type        = string

  validation {
    condition     = length(var.capacity_provider) > 0
    error_message = "capacity_provider must not be empty."
  }
}

variable "worker_cpu" {
  description = "CPU units reserved by each worker task."
  type        = number

  validation {
    condition     = var.worker_cpu >= 128 && var.worker_cpu <= 196608
    error_message = "worker_cpu must be between 128 and 196608 CPU units."
  }
}

variable "worker_memory_reservation" {
  description = "Soft memory reservation (MiB) of each worker task."
  type        = number

  validation {
    condition     = var.worker_memory_reservation >= 6 && var.worker_memory_reservation <= 786432
    error_message = "worker_memory_reservation must be between 6 and 786432 MiB."
  }
}
