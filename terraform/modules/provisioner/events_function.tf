# The EventBridge transport's own function (`provisioner-events`): it decrypts
# Control Room's encrypted link tokens with the AWS Encryption SDK, which is too
# heavy for the HTTP function's package. Same configuration and permissions on
# ECS, plus sending the events it rejects to the dead-letter queue.
locals {
  events_function_name = "${var.name_prefix}-provisioner-events"
  events_log_group     = "/aws/lambda/${local.events_function_name}"
}

resource "aws_cloudwatch_log_group" "events" {
  #checkov:skip=CKV_AWS_158:Log groups use the CloudWatch Logs service-managed encryption; a customer-managed KMS key is a deliberate non-default (cost, key policy management). Logs never contain the secret or link tokens.
  #checkov:skip=CKV_AWS_338:Retention is an operator choice (var.log_retention_days).
  name              = local.events_log_group
  retention_in_days = var.log_retention_days
}

resource "aws_iam_role" "events" {
  name               = "${local.events_function_name}-lambda"
  description        = "Execution role of the ${local.events_function_name} Lambda"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "events" {
  source_policy_documents = [data.aws_iam_policy_document.launch_workers.json]

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn_prefix}${local.events_log_group}:*"]
  }

  # Rejected events are parked by the function itself; failed invocations
  # by Lambda, with this role.
  statement {
    sid       = "SendToDeadLetterQueue"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }
}

resource "aws_iam_role_policy" "events" {
  name   = "provisioner-events"
  role   = aws_iam_role.events.id
  policy = data.aws_iam_policy_document.events.json
}

resource "aws_lambda_function" "events" {
  #checkov:skip=CKV_AWS_117:The function only calls regional AWS APIs (ECS, Secrets Manager, SSM, SQS, Logs); running it in a VPC would add NAT/endpoint dependencies and cold-start latency without reducing exposure.
  #checkov:skip=CKV_AWS_50:X-Ray tracing is not used; requests are traced through structured JSON logs with request ids (X-Ray would need a Resource "*" grant).
  #checkov:skip=CKV_AWS_272:Code signing is not used: the artifact is built reproducibly by `cargo xtask` in CI and its hash is pinned by source_code_hash.
  #checkov:skip=CKV_AWS_173:The environment holds only resource names and an image reference, no secrets; the AWS-managed Lambda key is sufficient.
  function_name                  = local.events_function_name
  description                    = "Launches one ECS worker task per Control Room EventBridge worker request"
  role                           = aws_iam_role.events.arn
  runtime                        = "provided.al2023"
  architectures                  = ["x86_64"]
  handler                        = "bootstrap"
  filename                       = var.events_lambda_zip_path
  source_code_hash               = filebase64sha256(var.events_lambda_zip_path)
  timeout                        = var.lambda_timeout
  memory_size                    = var.lambda_memory_size
  reserved_concurrent_executions = var.lambda_reserved_concurrency

  environment {
    variables = merge(local.provisioner_environment, {
      PROVISIONER_DEAD_LETTER_QUEUE_URL       = aws_sqs_queue.dlq.id
      PROVISIONER_ALLOW_PLAINTEXT_LINK_TOKENS = tostring(var.allow_plaintext_link_tokens)
    })
  }

  # Invocations that still fail after Lambda's retries (AWS outages) end here.
  dynamic "dead_letter_config" {
    for_each = var.lambda_async_dlq_enabled ? [aws_sqs_queue.dlq.arn] : []
    content {
      target_arn = dead_letter_config.value
    }
  }

  depends_on = [
    aws_cloudwatch_log_group.events,
    aws_iam_role_policy.events,
  ]
}

# EventBridge invokes asynchronously: a failed invocation (AWS unavailable) is
# retried by Lambda, a bounded number of times, within a bounded age; a start
# request older than that is of no use to Control Room any more.
resource "aws_lambda_function_event_invoke_config" "events" {
  function_name          = aws_lambda_function.events.function_name
  maximum_retry_attempts = var.events_function_retry_attempts
  # Lambda accepts at most 6 hours here; EventBridge's own limit is a day.
  maximum_event_age_in_seconds = min(var.event_maximum_age_seconds, 21600)
}
