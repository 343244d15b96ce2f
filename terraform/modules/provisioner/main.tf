data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  function_name = "${var.name_prefix}-provisioner"
  partition     = data.aws_partition.current.partition
  account_id    = data.aws_caller_identity.current.account_id
  region        = data.aws_region.current.name

  # Log groups are named (and their ARNs spelled out for the IAM policies, see
  # iam.tf) from these, not read back from the resources.
  log_group_arn_prefix = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:"
  lambda_log_group     = "/aws/lambda/${local.function_name}"

  # A digest pins the exact image bytes; the tag is the fallback.
  worker_image = var.worker_image_digest != "" ? "${var.ecr_repository_url}@${var.worker_image_digest}" : "${var.ecr_repository_url}:${var.worker_image_tag}"

  # What both functions read (provisioner/src/config.rs documents each).
  provisioner_environment = {
    PROVISIONER_SECRET_ID                = var.secret_arn
    PROVISIONER_CLUSTER_CONFIG_PARAMETER = var.cluster_config_parameter_name
    PROVISIONER_WORKER_IMAGE             = local.worker_image
    PROVISIONER_LOG_FORMAT               = "json"
    PROVISIONER_DEPLOYMENT               = var.name_prefix
    PROVISIONER_DEFAULT_LIFETIME_SECONDS = tostring(var.worker_default_lifetime_seconds)
    PROVISIONER_MAX_LIFETIME_SECONDS     = tostring(var.worker_max_lifetime_seconds)
    PROVISIONER_PENDING_GRACE_SECONDS    = tostring(var.pending_grace_seconds)
  }
}

# Created before the function so that retention applies from the first log line.
resource "aws_cloudwatch_log_group" "lambda" {
  #checkov:skip=CKV_AWS_158:Log groups use the CloudWatch Logs service-managed encryption; a customer-managed KMS key is a deliberate non-default (cost, key policy management). Logs never contain the secret or link tokens.
  #checkov:skip=CKV_AWS_338:Retention is an operator choice (var.log_retention_days).
  name              = local.lambda_log_group
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_117:The function only calls regional AWS APIs (ECS, Secrets Manager, SSM, Logs); running it in a VPC would add NAT/endpoint dependencies and cold-start latency without reducing exposure.
  #checkov:skip=CKV_AWS_50:X-Ray tracing is not used; requests are traced through structured JSON logs with request ids (X-Ray would need a Resource "*" grant).
  #checkov:skip=CKV_AWS_272:Code signing is not used: the artifact is built reproducibly by `cargo xtask` in CI and its hash is pinned by source_code_hash.
  #checkov:skip=CKV_AWS_173:The environment holds only resource names and an image reference, no secrets; the AWS-managed Lambda key is sufficient.
  function_name                  = local.function_name
  description                    = "Launches one ECS worker task per Control Room on-demand worker request"
  role                           = aws_iam_role.lambda.arn
  runtime                        = "provided.al2023"
  architectures                  = ["x86_64"]
  handler                        = "bootstrap"
  filename                       = var.lambda_zip_path
  source_code_hash               = filebase64sha256(var.lambda_zip_path)
  timeout                        = var.lambda_timeout
  memory_size                    = var.lambda_memory_size
  reserved_concurrent_executions = var.lambda_reserved_concurrency

  environment {
    variables = local.provisioner_environment
  }

  # Failed asynchronous (EventBridge) invocations end up in the DLQ as well.
  dynamic "dead_letter_config" {
    for_each = var.lambda_async_dlq_enabled ? [aws_sqs_queue.dlq.arn] : []
    content {
      target_arn = dead_letter_config.value
    }
  }

  depends_on = [
    aws_cloudwatch_log_group.lambda,
    aws_iam_role_policy.lambda,
  ]
}
