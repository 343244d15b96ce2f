variable "name_prefix" {
  description = "Prefix for the names of all resources; also the cluster name."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{3,24}$", var.name_prefix))
    error_message = "name_prefix must be 3-24 characters of [a-z0-9-]."
  }
}

variable "vpc_id" {
  description = "VPC of the container instances."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]+$", var.vpc_id))
    error_message = "vpc_id must look like vpc-0123abcd."
  }
}

variable "subnet_ids" {
  description = "Private subnets for the Auto Scaling group."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) > 0 && alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "subnet_ids must be a non-empty list of subnet IDs."
  }
}

variable "ami_id" {
  description = "AMI for the container instances; empty = latest ECS-optimized Amazon Linux 2023 from the public SSM parameter."
  type        = string

  validation {
    condition     = var.ami_id == "" || can(regex("^ami-[0-9a-f]{8,17}$", var.ami_id))
    error_message = "ami_id must be empty or an AMI ID (ami-...)."
  }
}

variable "instance_type" {
  description = "EC2 instance type of the container instances."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type must look like m6i.large."
  }
}

variable "root_volume_size" {
  description = "Root EBS volume size (GiB) of the container instances; it holds the cached worker images."
  type        = number

  validation {
    condition     = var.root_volume_size >= 30 && var.root_volume_size <= 16384
    error_message = "root_volume_size must be between 30 and 16384 GiB."
  }
}

variable "egress_ports" {
  description = "TCP ports the container instances (and bridge-mode workers) may reach on any address."
  type        = list(number)

  validation {
    condition     = length(var.egress_ports) > 0 && alltrue([for p in var.egress_ports : p >= 1 && p <= 65535 && floor(p) == p])
    error_message = "egress_ports must be a non-empty list of TCP ports (1-65535)."
  }
}

variable "asg_min_size" {
  description = "Minimum number of container instances."
  type        = number

  validation {
    condition     = var.asg_min_size >= 0 && floor(var.asg_min_size) == var.asg_min_size
    error_message = "asg_min_size must be a non-negative integer."
  }
}

variable "asg_max_size" {
  description = "Maximum number of container instances."
  type        = number

  validation {
    condition     = var.asg_max_size >= 1 && var.asg_max_size <= 1000 && floor(var.asg_max_size) == var.asg_max_size
    error_message = "asg_max_size must be an integer between 1 and 1000."
  }
}

variable "asg_desired_capacity" {
  description = "Initial desired number of container instances (managed scaling takes over afterwards)."
  type        = number

  validation {
    condition     = var.asg_desired_capacity >= 0 && floor(var.asg_desired_capacity) == var.asg_desired_capacity
    error_message = "asg_desired_capacity must be a non-negative integer."
  }
}

variable "capacity_target_percent" {
  description = "Target capacity (percent) of ECS managed scaling; 100 = no spare instances."
  type        = number

  validation {
    condition     = var.capacity_target_percent >= 1 && var.capacity_target_percent <= 100
    error_message = "capacity_target_percent must be between 1 and 100."
  }
}

variable "enable_placement_group" {
  description = "Launch the instances in an EC2 placement group (not supported by the moto emulator)."
  type        = bool
}

variable "placement_strategy" {
  description = "Strategy of the placement group: cluster, spread or partition."
  type        = string

  validation {
    condition     = contains(["cluster", "spread", "partition"], var.placement_strategy)
    error_message = "placement_strategy must be cluster, spread or partition."
  }
}

variable "placement_partition_count" {
  description = "Number of partitions when placement_strategy is partition."
  type        = number

  validation {
    condition     = var.placement_partition_count >= 1 && var.placement_partition_count <= 7
    error_message = "placement_partition_count must be between 1 and 7."
  }
}

variable "robot_role_policy_arns" {
  description = "IAM policy ARNs attached to the worker task (\"robot\") role."
  type        = list(string)

  validation {
    condition     = alltrue([for a in var.robot_role_policy_arns : can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", a))])
    error_message = "robot_role_policy_arns must contain IAM policy ARNs."
  }
}

variable "log_retention_days" {
  description = "Retention of the worker log group, in days."
  type        = number

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts."
  }
}

variable "tags" {
  description = "Extra tags for the instances and volumes launched by the Auto Scaling group (provider default_tags do not reach them)."
  type        = map(string)

  validation {
    condition     = length(var.tags) <= 40
    error_message = "At most 40 extra tags."
  }
}
