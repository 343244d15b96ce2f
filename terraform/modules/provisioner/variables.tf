variable "name_prefix" {
  description = "Prefix for the names of all resources."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{3,24}$", var.name_prefix))
    error_message = "name_prefix must be 3-24 characters of [a-z0-9-]."
  }
}

variable "lambda_zip_path" {
  description = "Path of the provisioner deployment package (zip with a `bootstrap` executable)."
  type        = string

  validation {
    condition     = endswith(var.lambda_zip_path, ".zip")
    error_message = "lambda_zip_path must point to a .zip file."
  }
}

variable "events_lambda_zip_path" {
  description = "Path of the EventBridge function's deployment package (zip with a `bootstrap` executable: provisioner-events)."
  type        = string

  validation {
    condition     = endswith(var.events_lambda_zip_path, ".zip")
    error_message = "events_lambda_zip_path must point to a .zip file."
  }
}

variable "allow_plaintext_link_tokens" {
  description = "Accept Control Room's development-mode EventBridge events that carry the link token in plain text. Never in production."
  type        = bool
}

variable "events_function_retry_attempts" {
  description = "How many times Lambda retries a failed EventBridge invocation (an AWS outage) before the dead-letter queue."
  type        = number

  validation {
    condition     = contains([0, 1, 2], var.events_function_retry_attempts)
    error_message = "events_function_retry_attempts must be 0, 1 or 2 (Lambda's limits)."
  }
}

variable "lambda_timeout" {
  description = "Timeout of the provisioner Lambda, in seconds."
  type        = number

  validation {
    condition     = var.lambda_timeout >= 3 && var.lambda_timeout <= 29
    error_message = "lambda_timeout must be between 3 and 29 seconds (API Gateway's integration limit)."
  }
}

variable "lambda_memory_size" {
  description = "Memory of the provisioner Lambda, in MB."
  type        = number

  validation {
    condition     = var.lambda_memory_size >= 128 && var.lambda_memory_size <= 10240
    error_message = "lambda_memory_size must be between 128 and 10240 MB."
  }
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrency of the provisioner Lambda (-1 = unreserved)."
  type        = number

  validation {
    condition     = var.lambda_reserved_concurrency >= -1 && floor(var.lambda_reserved_concurrency) == var.lambda_reserved_concurrency
    error_message = "lambda_reserved_concurrency must be -1 or a non-negative integer."
  }
}

variable "lambda_async_dlq_enabled" {
  description = "Set the DLQ as the function's dead-letter target for failed asynchronous invocations."
  type        = bool

  validation {
    condition     = var.lambda_async_dlq_enabled == false || var.lambda_async_dlq_enabled == true
    error_message = "lambda_async_dlq_enabled must be a boolean."
  }
}

variable "log_retention_days" {
  description = "Retention of the Lambda and API access log groups, in days."
  type        = number

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts."
  }
}

variable "ecr_repository_url" {
  description = "URL of the worker image repository."
  type        = string

  validation {
    condition     = length(var.ecr_repository_url) > 0
    error_message = "ecr_repository_url must not be empty."
  }
}

variable "worker_image_tag" {
  description = "Tag (semver) of the worker image, used when worker_image_digest is empty."
  type        = string

  validation {
    condition     = can(regex("^v?[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$", var.worker_image_tag))
    error_message = "worker_image_tag must be a semantic version such as 1.2.3."
  }
}

variable "worker_image_digest" {
  description = "Digest of the worker image (sha256:<64 hex>); empty = use worker_image_tag."
  type        = string

  validation {
    condition     = var.worker_image_digest == "" || can(regex("^sha256:[0-9a-f]{64}$", var.worker_image_digest))
    error_message = "worker_image_digest must be empty or sha256:<64 lowercase hex>."
  }
}

variable "secret_arn" {
  description = "ARN of the shared-secret container."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:secretsmanager:", var.secret_arn))
    error_message = "secret_arn must be a Secrets Manager ARN."
  }
}

variable "cluster_config_parameter_name" {
  description = "Name of the SSM parameter with the cluster configuration."
  type        = string

  validation {
    condition     = startswith(var.cluster_config_parameter_name, "/")
    error_message = "cluster_config_parameter_name must be a hierarchical parameter name."
  }
}

variable "cluster_config_parameter_arn" {
  description = "ARN of the SSM parameter with the cluster configuration."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:ssm:", var.cluster_config_parameter_arn))
    error_message = "cluster_config_parameter_arn must be an SSM parameter ARN."
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

variable "cluster_name" {
  description = "Name of the ECS cluster."
  type        = string

  validation {
    condition     = length(var.cluster_name) > 0
    error_message = "cluster_name must not be empty."
  }
}

variable "task_role_arn" {
  description = "Worker task (\"robot\") role the provisioner may pass to ECS."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.task_role_arn))
    error_message = "task_role_arn must be an IAM role ARN."
  }
}

variable "execution_role_arn" {
  description = "Worker task execution role the provisioner may pass to ECS."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", var.execution_role_arn))
    error_message = "execution_role_arn must be an IAM role ARN."
  }
}

variable "api_throttling_burst_limit" {
  description = "Burst limit of the HTTP API's default route."
  type        = number

  validation {
    condition     = var.api_throttling_burst_limit >= 1
    error_message = "api_throttling_burst_limit must be at least 1."
  }
}

variable "api_throttling_rate_limit" {
  description = "Steady-state requests per second of the HTTP API's default route."
  type        = number

  validation {
    condition     = var.api_throttling_rate_limit >= 1
    error_message = "api_throttling_rate_limit must be at least 1."
  }
}

variable "control_room_rule_arns" {
  description = "ARNs of the Control Room EventBridge rules allowed to put events on the bus (empty = no cross-account access)."
  type        = list(string)

  validation {
    condition     = alltrue([for a in var.control_room_rule_arns : can(regex("^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:rule/.+$", a))])
    error_message = "control_room_rule_arns must contain EventBridge rule ARNs."
  }
}

variable "event_maximum_retry_attempts" {
  description = "EventBridge retry attempts for delivering an event to the provisioner."
  type        = number

  validation {
    condition     = var.event_maximum_retry_attempts >= 0 && var.event_maximum_retry_attempts <= 185
    error_message = "event_maximum_retry_attempts must be between 0 and 185."
  }
}

variable "event_maximum_age_seconds" {
  description = "Maximum age of an event EventBridge still tries to deliver, in seconds."
  type        = number

  validation {
    condition     = var.event_maximum_age_seconds >= 60 && var.event_maximum_age_seconds <= 86400
    error_message = "event_maximum_age_seconds must be between 60 and 86400."
  }
}

variable "worker_default_lifetime_seconds" {
  description = "Lifetime of a worker when Control Room gives no maxLifetimeSeconds."
  type        = number

  validation {
    condition     = var.worker_default_lifetime_seconds >= 60 && floor(var.worker_default_lifetime_seconds) == var.worker_default_lifetime_seconds
    error_message = "worker_default_lifetime_seconds must be a whole number of seconds, at least 60."
  }
}

variable "worker_max_lifetime_seconds" {
  description = "Longest lifetime granted to a worker, whatever Control Room asks."
  type        = number

  validation {
    condition     = var.worker_max_lifetime_seconds >= 60 && floor(var.worker_max_lifetime_seconds) == var.worker_max_lifetime_seconds
    error_message = "worker_max_lifetime_seconds must be a whole number of seconds, at least 60."
  }
}

variable "pending_grace_seconds" {
  description = "How long a worker task may wait for capacity before the reaper stops it."
  type        = number

  validation {
    condition     = var.pending_grace_seconds >= 60 && floor(var.pending_grace_seconds) == var.pending_grace_seconds
    error_message = "pending_grace_seconds must be a whole number of seconds, at least 60."
  }
}

variable "reaper_schedule_expression" {
  description = "EventBridge schedule of the reaper."
  type        = string

  validation {
    condition     = can(regex("^(rate\\(.+\\)|cron\\(.+\\))$", var.reaper_schedule_expression))
    error_message = "reaper_schedule_expression must be rate(...) or cron(...)."
  }
}

variable "alarm_actions" {
  description = "ARNs notified when an alarm changes state (e.g. SNS topics)."
  type        = list(string)

  validation {
    condition     = alltrue([for a in var.alarm_actions : startswith(a, "arn:")])
    error_message = "alarm_actions must contain ARNs."
  }
}

variable "start_failure_alarm_threshold" {
  description = "Failed starts within 5 minutes that raise the start-failures alarm."
  type        = number

  validation {
    condition     = var.start_failure_alarm_threshold >= 1 && floor(var.start_failure_alarm_threshold) == var.start_failure_alarm_threshold
    error_message = "start_failure_alarm_threshold must be a positive whole number."
  }
}
