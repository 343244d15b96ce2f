# The orphan reaper: on a schedule, the provisioner stops its workers that are
# past their deadline tag or stuck waiting for capacity (see
# provisioner/src/reaper.rs). Same function, a different event shape.
resource "aws_cloudwatch_event_rule" "reaper" {
  name                = "${var.name_prefix}-reaper"
  description         = "Runs the ${local.function_name} reaper: stops workers past their lifetime or stuck without capacity"
  schedule_expression = var.reaper_schedule_expression
}

resource "aws_cloudwatch_event_target" "reaper" {
  rule      = aws_cloudwatch_event_rule.reaper.name
  target_id = "provisioner-reaper"
  arn       = aws_lambda_function.this.arn
  input     = jsonencode({ "odw-action" = "reap" })

  # A missed pass is made up by the next one: no retries pile up behind it.
  retry_policy {
    maximum_retry_attempts       = 0
    maximum_event_age_in_seconds = 60
  }
}

resource "aws_lambda_permission" "reaper" {
  statement_id  = "AllowEventBridgeReaperSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.reaper.arn
}
