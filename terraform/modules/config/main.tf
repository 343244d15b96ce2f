# The shared secret between Control Room and the provisioner. Only the
# container is managed here: the value is generated and written (and rotated)
# by `cargo xtask` through the AWS SDK, so it never appears in Terraform state.
resource "aws_secretsmanager_secret" "shared" {
  #checkov:skip=CKV_AWS_149:The AWS-managed key aws/secretsmanager is a deliberate choice; only the provisioner role and operators read the secret, and a CMK adds cost and key-policy management.
  #checkov:skip=CKV2_AWS_57:Rotation is performed by `cargo xtask` (it keeps the previous value valid for a grace period and must update Control Room too), not by a rotation Lambda.
  name                    = "${var.name_prefix}/provisioner-shared-secret"
  description             = "HMAC shared secret between Robocorp Control Room and the ${var.name_prefix} provisioner (value managed outside Terraform)"
  recovery_window_in_days = var.secret_recovery_window_days
}

# Non-secret cluster configuration read by the provisioner at start-up.
# The keys are a contract with provisioner/src (config loading): keep in sync.
resource "aws_ssm_parameter" "cluster_config" {
  #checkov:skip=CKV2_AWS_34:The value holds only non-secret ARNs and names; a plain String keeps it readable for operators and avoids KMS decrypt permissions.
  name        = "/${var.name_prefix}/cluster-config"
  description = "ECS cluster configuration of the ${var.name_prefix} on-demand worker provisioner"
  type        = "String"
  tier        = "Standard"
  value = jsonencode({
    cluster_arn               = var.cluster_arn
    task_family_prefix        = "${var.name_prefix}-worker"
    task_role_arn             = var.task_role_arn
    execution_role_arn        = var.execution_role_arn
    log_group                 = var.log_group
    log_region                = var.region
    capacity_provider         = var.capacity_provider
    worker_cpu                = var.worker_cpu
    worker_memory_reservation = var.worker_memory_reservation
  })
}
