variable "name_prefix" {
  description = "Prefix for the names of all resources."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9-]{3,24}$", var.name_prefix))
    error_message = "name_prefix must be 3-24 characters of [a-z0-9-]."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR block of the VPC (split into /prefix+4 subnets)."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 24
    error_message = "vpc_cidr must be a valid IPv4 CIDR block of size /24 or larger."
  }
}

variable "az_count" {
  description = "Number of availability zones to spread the subnets over."
  type        = number

  validation {
    condition     = var.az_count >= 1 && var.az_count <= 6 && floor(var.az_count) == var.az_count
    error_message = "az_count must be an integer between 1 and 6."
  }
}

variable "availability_zones" {
  description = "Availability zones to use (first az_count of them); empty = the first az_count available zones in name order."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) == 0 || length(var.availability_zones) >= var.az_count
    error_message = "availability_zones must be empty or list at least az_count zones."
  }
}

variable "single_nat_gateway" {
  description = "Use one shared NAT gateway instead of one per availability zone."
  type        = bool
}

variable "enable_flow_logs" {
  description = "Send VPC flow logs to CloudWatch Logs."
  type        = bool
}

variable "log_retention_days" {
  description = "Retention of the flow-log log group, in days."
  type        = number

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of the values CloudWatch Logs accepts."
  }
}
