# Alarms on the provisioner's Embedded Metric Format metrics (namespace
# EcsOnDemandWorker, dimension Deployment) and on the dead-letter queue. They
# notify var.alarm_actions (e.g. an SNS topic); with none, they still show in
# the CloudWatch console.
resource "aws_cloudwatch_metric_alarm" "start_failures" {
  alarm_name          = "${local.function_name}-start-failures"
  alarm_description   = "Control Room start requests failed (AWS errors or no capacity); Control Room retries, but runs wait."
  namespace           = "EcsOnDemandWorker"
  metric_name         = "StartFailures"
  dimensions          = { Deployment = var.name_prefix }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.start_failure_alarm_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "dlq_not_empty" {
  alarm_name          = "${local.function_name}-dlq-not-empty"
  alarm_description   = "Worker requests that could not be delivered or handled are waiting in the dead-letter queue."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
}
