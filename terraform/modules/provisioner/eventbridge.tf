# EventBridge transport: Control Room's rules (in Robocorp's accounts) put
# "On-Demand Worker Request" events on this custom bus.
resource "aws_cloudwatch_event_bus" "control_room" {
  name = "${var.name_prefix}-control-room"
}

locals {
  control_room_accounts = distinct([for arn in var.control_room_rule_arns : split(":", arn)[4]])
}

data "aws_iam_policy_document" "event_bus" {
  count = length(var.control_room_rule_arns) > 0 ? 1 : 0

  statement {
    sid       = "AllowControlRoomRules"
    actions   = ["events:PutEvents"]
    resources = [aws_cloudwatch_event_bus.control_room.arn]
    principals {
      type        = "AWS"
      identifiers = [for a in local.control_room_accounts : "arn:${local.partition}:iam::${a}:root"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = var.control_room_rule_arns
    }
  }
}

resource "aws_cloudwatch_event_bus_policy" "control_room" {
  count = length(var.control_room_rule_arns) > 0 ? 1 : 0

  event_bus_name = aws_cloudwatch_event_bus.control_room.name
  policy         = data.aws_iam_policy_document.event_bus[0].json
}

resource "aws_cloudwatch_event_rule" "worker_request" {
  name           = "${var.name_prefix}-worker-request"
  description    = "Control Room on-demand worker requests to the provisioner"
  event_bus_name = aws_cloudwatch_event_bus.control_room.name
  event_pattern = jsonencode({
    "detail-type" = ["On-Demand Worker Request"]
  })
}

resource "aws_cloudwatch_event_target" "provisioner" {
  rule           = aws_cloudwatch_event_rule.worker_request.name
  event_bus_name = aws_cloudwatch_event_bus.control_room.name
  target_id      = "provisioner-events"
  arn            = aws_lambda_function.events.arn

  retry_policy {
    maximum_retry_attempts       = var.event_maximum_retry_attempts
    maximum_event_age_in_seconds = var.event_maximum_age_seconds
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
}

resource "aws_lambda_permission" "events" {
  statement_id  = "AllowEventBridgeWorkerRequest"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.events.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.worker_request.arn
}

# Dead-letter queue for events that could not be delivered and for failed
# asynchronous invocations. SSE-SQS: EventBridge cannot use the AWS-managed
# aws/sqs KMS key for DLQs.
#
# The policy is set on the queue itself rather than with aws_sqs_queue_policy:
# the provider waits ~25 s for SQS attributes to settle after each of those
# resources, and one wait is enough.
resource "aws_sqs_queue" "dlq" {
  name                      = "${local.function_name}-dlq"
  sqs_managed_sse_enabled   = true
  message_retention_seconds = 1209600
  policy                    = data.aws_iam_policy_document.dlq.json
}

data "aws_iam_policy_document" "dlq" {
  statement {
    sid     = "AllowWorkerRequestRuleDeadLetters"
    actions = ["sqs:SendMessage"]
    # The queue's own ARN, spelled out: the policy is an argument of the queue.
    resources = ["arn:${local.partition}:sqs:${local.region}:${local.account_id}:${local.function_name}-dlq"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = [aws_cloudwatch_event_rule.worker_request.arn]
    }
  }
}

