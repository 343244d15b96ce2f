# HTTPS endpoint that Control Room calls. Authentication is the HMAC signature
# that the provisioner verifies on every request (Control Room cannot sign
# with IAM or present a JWT).
resource "aws_apigatewayv2_api" "this" {
  name          = local.function_name
  description   = "Control Room on-demand worker requests for ${var.name_prefix}"
  protocol_type = "HTTP"
}

resource "aws_apigatewayv2_integration" "lambda" {
  api_id                 = aws_apigatewayv2_api.this.id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = aws_lambda_function.this.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = min(30000, (var.lambda_timeout + 1) * 1000)
}

resource "aws_apigatewayv2_route" "worker_request" {
  #checkov:skip=CKV_AWS_309:Requests are authenticated by the Control Room HMAC signature, verified by the provisioner itself; Control Room supports no IAM/JWT authorizer.
  api_id             = aws_apigatewayv2_api.this.id
  route_key          = "POST /worker-request"
  target             = "integrations/${aws_apigatewayv2_integration.lambda.id}"
  authorization_type = "NONE"
}

resource "aws_cloudwatch_log_group" "api_access" {
  #checkov:skip=CKV_AWS_158:Log groups use the CloudWatch Logs service-managed encryption; a customer-managed KMS key is a deliberate non-default (cost, key policy management).
  #checkov:skip=CKV_AWS_338:Retention is an operator choice (var.log_retention_days).
  name              = "/aws/apigateway/${local.function_name}"
  retention_in_days = var.log_retention_days
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.this.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_burst_limit = var.api_throttling_burst_limit
    throttling_rate_limit  = var.api_throttling_rate_limit
  }

  # No headers or bodies are logged (signatures and link tokens stay out).
  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId          = "$context.requestId"
      requestTime        = "$context.requestTime"
      sourceIp           = "$context.identity.sourceIp"
      httpMethod         = "$context.httpMethod"
      routeKey           = "$context.routeKey"
      status             = "$context.status"
      protocol           = "$context.protocol"
      responseLength     = "$context.responseLength"
      integrationStatus  = "$context.integrationStatus"
      integrationLatency = "$context.integrationLatency"
      errorMessage       = "$context.error.message"
    })
  }
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowApiGatewayWorkerRequest"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this.execution_arn}/*/POST/worker-request"
}
