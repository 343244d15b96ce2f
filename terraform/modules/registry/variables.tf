variable "repository_name" {
  description = "Name of the ECR repository of the worker image."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", var.repository_name)) && length(var.repository_name) <= 256
    error_message = "repository_name must be a valid ECR repository name."
  }
}

variable "force_delete" {
  description = "Allow destroying the repository while it still holds images."
  type        = bool
}

variable "untagged_image_expiry_days" {
  description = "Untagged images are expired this many days after push."
  type        = number

  validation {
    condition     = var.untagged_image_expiry_days >= 1 && floor(var.untagged_image_expiry_days) == var.untagged_image_expiry_days
    error_message = "untagged_image_expiry_days must be a positive integer."
  }
}
