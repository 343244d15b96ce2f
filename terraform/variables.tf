# ---------------------------------------------------------------------------
# Identity and provider
# ---------------------------------------------------------------------------
variable "name_prefix" {
  description = "Deployment id: prefix of every resource name (also the ECS cluster name)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{3,24}$", var.name_prefix)) && !startswith(var.name_prefix, "-") && !endswith(var.name_prefix, "-")
    error_message = "name_prefix must be 3-24 characters of lowercase letters, digits and '-', not starting or ending with '-'."
  }
}

variable "region" {
  description = "AWS region of the deployment."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+$", var.region))
    error_message = "region must be an AWS region name such as eu-west-1."
  }
}

variable "tags" {
  description = "Extra tags applied to every resource (Project, Deployment and ManagedBy are always set)."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(var.tags) <= 40 && alltrue([for k, v in var.tags : length(k) <= 128 && length(v) <= 256])
    error_message = "At most 40 tags; keys up to 128 and values up to 256 characters."
  }
}

variable "aws_emulator" {
  description = "Target the moto emulator (local stack only): skip credential/region/metadata validation, path-style S3, no provider default_tags. Never set for real AWS."
  type        = bool
  default     = false

  validation {
    condition     = var.aws_emulator == false || var.aws_emulator == true
    error_message = "aws_emulator must be a boolean."
  }
}

# ---------------------------------------------------------------------------
# Network
# ---------------------------------------------------------------------------
variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC."
  type        = string
  default     = "10.42.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 24
    error_message = "vpc_cidr must be a valid IPv4 CIDR block of size /24 or larger."
  }
}

variable "az_count" {
  description = "Number of availability zones (public + private subnet each)."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 1 && var.az_count <= 6 && floor(var.az_count) == var.az_count
    error_message = "az_count must be an integer between 1 and 6."
  }
}

variable "availability_zones" {
  description = "Pin the availability zones (the first az_count are used); empty = the first az_count available zones in name order."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.availability_zones) == 0 || (length(var.availability_zones) >= var.az_count && alltrue([for z in var.availability_zones : can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]+[a-z]$", z))]))
    error_message = "availability_zones must be empty or list at least az_count zone names (e.g. eu-west-1a)."
  }
}

variable "single_nat_gateway" {
  description = "One shared NAT gateway (cheaper) instead of one per availability zone (zone-resilient)."
  type        = bool
  default     = false

  validation {
    condition     = var.single_nat_gateway == false || var.single_nat_gateway == true
    error_message = "single_nat_gateway must be a boolean."
  }
}

variable "enable_flow_logs" {
  description = "Send VPC flow logs to CloudWatch Logs."
  type        = bool
  default     = true

  validation {
    condition     = var.enable_flow_logs == false || var.enable_flow_logs == true
    error_message = "enable_flow_logs must be a boolean."
  }
}

# ---------------------------------------------------------------------------
# ECS cluster
# ---------------------------------------------------------------------------
variable "ami_id" {
  description = "AMI of the container instances; empty = latest ECS-optimized Amazon Linux 2023 (public SSM parameter)."
  type        = string
  default     = ""

  validation {
    condition     = var.ami_id == "" || can(regex("^ami-[0-9a-f]{8,17}$", var.ami_id))
    error_message = "ami_id must be empty or an AMI ID (ami-...)."
  }
}

variable "instance_type" {
  description = "EC2 instance type of the container instances."
  type        = string
  default     = "m6i.large"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type must look like m6i.large."
  }
}

variable "root_volume_size" {
  description = "Root EBS volume size (GiB) of the container instances (holds the cached worker images)."
  type        = number
  default     = 60

  validation {
    condition     = var.root_volume_size >= 30 && var.root_volume_size <= 16384
    error_message = "root_volume_size must be between 30 and 16384 GiB."
  }
}

variable "worker_egress_ports" {
  description = "TCP ports the container instances and workers may reach on any address (443: AWS APIs, ECR, Control Room)."
  type        = list(number)
  default     = [443]

  validation {
    condition     = length(var.worker_egress_ports) > 0 && alltrue([for p in var.worker_egress_ports : p >= 1 && p <= 65535 && floor(p) == p])
    error_message = "worker_egress_ports must be a non-empty list of TCP ports (1-65535)."
  }
}

variable "asg_min_size" {
  description = "Minimum number of container instances (0 = scale to zero when idle)."
  type        = number
  default     = 0

  validation {
    condition     = var.asg_min_size >= 0 && var.asg_min_size <= 1000 && floor(var.asg_min_size) == var.asg_min_size
    error_message = "asg_min_size must be an integer between 0 and 1000."
  }
}

variable "asg_max_size" {
  description = "Maximum number of container instances."
  type        = number
  default     = 4

  validation {
    condition     = var.asg_max_size >= 1 && var.asg_max_size <= 1000 && floor(var.asg_max_size) == var.asg_max_size
    error_message = "asg_max_size must be an integer between 1 and 1000."
  }
}

variable "asg_desired_capacity" {
  description = "Initial desired number of container instances (ECS managed scaling owns it afterwards)."
  type        = number
  default     = 0

  validation {
    condition     = var.asg_desired_capacity >= 0 && var.asg_desired_capacity <= 1000 && floor(var.asg_desired_capacity) == var.asg_desired_capacity
    error_message = "asg_desired_capacity must be an integer between 0 and 1000."
  }
}

variable "capacity_target_percent" {
  description = "Target capacity of ECS managed scaling, in percent (100 = no idle spare instance)."
  type        = number
  default     = 100

  validation {
    condition     = var.capacity_target_percent >= 1 && var.capacity_target_percent <= 100 && floor(var.capacity_target_percent) == var.capacity_target_percent
    error_message = "capacity_target_percent must be an integer between 1 and 100."
  }
}

variable "enable_placement_group" {
  description = "Launch the container instances in an EC2 placement group (not implemented by the moto emulator)."
  type        = bool
  default     = false

  validation {
    condition     = var.enable_placement_group == false || var.enable_placement_group == true
    error_message = "enable_placement_group must be a boolean."
  }
}

variable "placement_strategy" {
  description = "Placement group strategy: cluster, spread or partition."
  type        = string
  default     = "partition"

  validation {
    condition     = contains(["cluster", "spread", "partition"], var.placement_strategy)
    error_message = "placement_strategy must be cluster, spread or partition."
  }
}

variable "placement_partition_count" {
  description = "Number of partitions of a partition placement group."
  type        = number
  default     = 2

  validation {
    condition     = var.placement_partition_count >= 1 && var.placement_partition_count <= 7 && floor(var.placement_partition_count) == var.placement_partition_count
    error_message = "placement_partition_count must be an integer between 1 and 7."
  }
}

variable "robot_role_policy_arns" {
  description = "IAM policy ARNs attached to the worker task (\"robot\") role; empty = robots get no AWS permissions."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.robot_role_policy_arns : can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", a))])
    error_message = "robot_role_policy_arns must contain IAM policy ARNs."
  }
}

variable "worker_cpu" {
  description = "CPU units reserved by each worker task."
  type        = number
  default     = 256

  validation {
    condition     = var.worker_cpu >= 128 && var.worker_cpu <= 196608 && floor(var.worker_cpu) == var.worker_cpu
    error_message = "worker_cpu must be an integer between 128 and 196608."
  }
}

variable "worker_memory_reservation" {
  description = "Soft memory reservation (MiB) of each worker task."
  type        = number
  default     = 256

  validation {
    condition     = var.worker_memory_reservation >= 6 && var.worker_memory_reservation <= 786432 && floor(var.worker_memory_reservation) == var.worker_memory_reservation
    error_message = "worker_memory_reservation must be an integer between 6 and 786432."
  }
}

variable "log_retention_days" {
  description = "Retention of all log groups (workers, provisioner, API access, flow logs), in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

# ---------------------------------------------------------------------------
# Registry and configuration
# ---------------------------------------------------------------------------
variable "ecr_force_delete" {
  description = "Allow `terraform destroy` to delete the image repository while it holds images."
  type        = bool
  default     = false

  validation {
    condition     = var.ecr_force_delete == false || var.ecr_force_delete == true
    error_message = "ecr_force_delete must be a boolean."
  }
}

variable "ecr_untagged_image_expiry_days" {
  description = "Untagged worker images are expired this many days after push."
  type        = number
  default     = 7

  validation {
    condition     = var.ecr_untagged_image_expiry_days >= 1 && var.ecr_untagged_image_expiry_days <= 3650 && floor(var.ecr_untagged_image_expiry_days) == var.ecr_untagged_image_expiry_days
    error_message = "ecr_untagged_image_expiry_days must be an integer between 1 and 3650."
  }
}

variable "secret_recovery_window_days" {
  description = "Days a deleted shared secret stays recoverable (0 = delete immediately)."
  type        = number
  default     = 7

  validation {
    condition     = var.secret_recovery_window_days == 0 || (var.secret_recovery_window_days >= 7 && var.secret_recovery_window_days <= 30)
    error_message = "secret_recovery_window_days must be 0 or between 7 and 30."
  }
}

# ---------------------------------------------------------------------------
# Provisioner
# ---------------------------------------------------------------------------
variable "lambda_zip_path" {
  description = "Path of the provisioner deployment package built by `cargo xtask lambda build --function http` (zip containing `bootstrap`)."
  type        = string

  validation {
    condition     = endswith(var.lambda_zip_path, ".zip")
    error_message = "lambda_zip_path must point to a .zip file."
  }
}

variable "events_lambda_zip_path" {
  description = "Path of the EventBridge function's package built by `cargo xtask lambda build --function events` (zip containing `bootstrap`)."
  type        = string

  validation {
    condition     = endswith(var.events_lambda_zip_path, ".zip")
    error_message = "events_lambda_zip_path must point to a .zip file."
  }
}

variable "allow_plaintext_link_tokens" {
  description = "Accept Control Room's development-mode EventBridge events whose link token is in plain text (logged as a warning). Never in production."
  type        = bool
  default     = false
}

variable "events_function_retry_attempts" {
  description = "Lambda retries of a failed EventBridge invocation (AWS unavailable) before it goes to the dead-letter queue: 0-2."
  type        = number
  default     = 2

  validation {
    condition     = contains([0, 1, 2], var.events_function_retry_attempts)
    error_message = "events_function_retry_attempts must be 0, 1 or 2 (Lambda's limits)."
  }
}

variable "lambda_timeout" {
  description = "Timeout of the provisioner Lambda, in seconds."
  type        = number
  default     = 20

  validation {
    condition     = var.lambda_timeout >= 3 && var.lambda_timeout <= 29 && floor(var.lambda_timeout) == var.lambda_timeout
    error_message = "lambda_timeout must be an integer between 3 and 29 (API Gateway's integration limit is 30 s)."
  }
}

variable "lambda_memory_size" {
  description = "Memory of the provisioner Lambda, in MB."
  type        = number
  default     = 128

  validation {
    condition     = var.lambda_memory_size >= 128 && var.lambda_memory_size <= 10240 && floor(var.lambda_memory_size) == var.lambda_memory_size
    error_message = "lambda_memory_size must be an integer between 128 and 10240."
  }
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrency of the provisioner Lambda (-1 = unreserved; new accounts may not be able to reserve)."
  type        = number
  default     = -1

  validation {
    condition     = var.lambda_reserved_concurrency >= -1 && var.lambda_reserved_concurrency <= 1000 && floor(var.lambda_reserved_concurrency) == var.lambda_reserved_concurrency
    error_message = "lambda_reserved_concurrency must be -1 or an integer between 0 and 1000."
  }
}

variable "lambda_async_dlq_enabled" {
  description = "Send the functions' failed asynchronous invocations (EventBridge worker requests after Lambda's retries, the reaper's schedule) to the DLQ (moto does not store a function's DeadLetterConfig: false there)."
  type        = bool
  default     = true

  validation {
    condition     = var.lambda_async_dlq_enabled == false || var.lambda_async_dlq_enabled == true
    error_message = "lambda_async_dlq_enabled must be a boolean."
  }
}

variable "worker_image_tag" {
  description = "Worker image version (semver tag in the ECR repository); used when worker_image_digest is empty. Passed by cargo xtask from container/image.toml."
  type        = string

  validation {
    condition     = can(regex("^(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?$", var.worker_image_tag))
    error_message = "worker_image_tag must be a semantic version such as 1.2.3."
  }
}

variable "worker_image_digest" {
  description = "Digest of the worker image (sha256:<64 hex>); when set it is used instead of the tag."
  type        = string
  default     = ""

  validation {
    condition     = var.worker_image_digest == "" || can(regex("^sha256:[0-9a-f]{64}$", var.worker_image_digest))
    error_message = "worker_image_digest must be empty or sha256: followed by 64 lowercase hex digits."
  }
}

variable "api_throttling_burst_limit" {
  description = "Burst limit of the HTTP API: requests beyond it are answered 429 by API Gateway before the provisioner sees them. Raise it (with the rate limit) when many robot runs start at once, e.g. a schedule that starts hundreds of runs."
  type        = number
  default     = 50

  validation {
    condition     = var.api_throttling_burst_limit >= 1 && var.api_throttling_burst_limit <= 5000
    error_message = "api_throttling_burst_limit must be between 1 and 5000."
  }
}

variable "api_throttling_rate_limit" {
  description = "Steady-state requests per second of the HTTP API (beyond it: 429 from API Gateway). Each robot run costs at least two requests (start, stop), plus Control Room's status checks."
  type        = number
  default     = 20

  validation {
    condition     = var.api_throttling_rate_limit >= 1 && var.api_throttling_rate_limit <= 10000
    error_message = "api_throttling_rate_limit must be between 1 and 10000."
  }
}

variable "control_room_rule_arns" {
  description = "ARNs of the Control Room EventBridge rules allowed to put events on the bus (empty = HTTPS transport only)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.control_room_rule_arns : can(regex("^arn:aws[a-z-]*:events:[a-z0-9-]+:[0-9]{12}:rule/.+$", a))])
    error_message = "control_room_rule_arns must contain EventBridge rule ARNs (arn:aws:events:<region>:<account>:rule/...)."
  }
}

variable "event_maximum_retry_attempts" {
  description = "How many times EventBridge retries delivering a request to the provisioner."
  type        = number
  default     = 4

  validation {
    condition     = var.event_maximum_retry_attempts >= 0 && var.event_maximum_retry_attempts <= 185 && floor(var.event_maximum_retry_attempts) == var.event_maximum_retry_attempts
    error_message = "event_maximum_retry_attempts must be an integer between 0 and 185."
  }
}

variable "event_maximum_age_seconds" {
  description = "Maximum age (s) of a request EventBridge still delivers; link tokens are short-lived, so keep it small."
  type        = number
  default     = 600

  validation {
    condition     = var.event_maximum_age_seconds >= 60 && var.event_maximum_age_seconds <= 86400 && floor(var.event_maximum_age_seconds) == var.event_maximum_age_seconds
    error_message = "event_maximum_age_seconds must be an integer between 60 and 86400."
  }
}

# ---------------------------------------------------------------------------
# Worker lifecycle and monitoring
# ---------------------------------------------------------------------------
variable "worker_default_lifetime_seconds" {
  description = "Lifetime of a worker when Control Room gives no maxLifetimeSeconds; the reaper stops it afterwards."
  type        = number
  default     = 86400

  validation {
    condition     = var.worker_default_lifetime_seconds >= 60 && floor(var.worker_default_lifetime_seconds) == var.worker_default_lifetime_seconds
    error_message = "worker_default_lifetime_seconds must be a whole number of seconds, at least 60."
  }
}

variable "worker_max_lifetime_seconds" {
  description = "Longest lifetime granted to a worker, whatever Control Room asks (a day and a minute by default)."
  type        = number
  default     = 86460

  validation {
    condition     = var.worker_max_lifetime_seconds >= var.worker_default_lifetime_seconds && floor(var.worker_max_lifetime_seconds) == var.worker_max_lifetime_seconds
    error_message = "worker_max_lifetime_seconds must be a whole number of seconds, at least worker_default_lifetime_seconds."
  }
}

variable "pending_grace_seconds" {
  description = "How long a worker task may wait for capacity (PROVISIONING/PENDING) before the reaper stops it."
  type        = number
  default     = 900

  validation {
    condition     = var.pending_grace_seconds >= 60 && floor(var.pending_grace_seconds) == var.pending_grace_seconds
    error_message = "pending_grace_seconds must be a whole number of seconds, at least 60."
  }
}

variable "reaper_schedule_expression" {
  description = "How often the reaper runs (EventBridge schedule expression)."
  type        = string
  default     = "rate(5 minutes)"

  validation {
    condition     = can(regex("^(rate\\(.+\\)|cron\\(.+\\))$", var.reaper_schedule_expression))
    error_message = "reaper_schedule_expression must be rate(...) or cron(...)."
  }
}

variable "alarm_actions" {
  description = "ARNs notified when the start-failure or dead-letter-queue alarm changes state (e.g. an SNS topic)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.alarm_actions : can(regex("^arn:aws[a-z-]*:", a))])
    error_message = "alarm_actions must contain ARNs."
  }
}

variable "start_failure_alarm_threshold" {
  description = "Failed starts within 5 minutes that raise the start-failures alarm."
  type        = number
  default     = 1

  validation {
    condition     = var.start_failure_alarm_threshold >= 1 && floor(var.start_failure_alarm_threshold) == var.start_failure_alarm_threshold
    error_message = "start_failure_alarm_threshold must be a positive whole number."
  }
}
