data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name               = "${local.function_name}-lambda"
  description        = "Execution role of the ${local.function_name} Lambda"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

locals {
  task_definition_arns = [
    # family "<prefix>-worker" and families "<prefix>-worker-<suffix>", any revision
    "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/${var.name_prefix}-worker:*",
    "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task-definition/${var.name_prefix}-worker-*",
  ]
  task_arns               = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:task/${var.cluster_name}/*"
  container_instance_arns = "arn:${local.partition}:ecs:${local.region}:${local.account_id}:container-instance/${var.cluster_name}/*"
}

# What both functions need to launch, find and stop workers.
data "aws_iam_policy_document" "launch_workers" {
  statement {
    sid       = "RunWorkerTasksOnOwnCluster"
    actions   = ["ecs:RunTask"]
    resources = local.task_definition_arns
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.cluster_arn]
    }
  }

  statement {
    sid       = "StopAndDescribeOwnTasks"
    actions   = ["ecs:StopTask", "ecs:DescribeTasks"]
    resources = [local.task_arns]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.cluster_arn]
    }
  }

  # ListTasks is authorized against the container-instance resource type
  # (Service Authorization Reference), scoped to this cluster.
  statement {
    sid       = "ListOwnTasks"
    actions   = ["ecs:ListTasks"]
    resources = [local.container_instance_arns]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.cluster_arn]
    }
  }

  statement {
    sid       = "DescribeOwnCluster"
    actions   = ["ecs:DescribeClusters"]
    resources = [var.cluster_arn]
  }

  # Resource "*" is unavoidable here: ecs:RegisterTaskDefinition and
  # ecs:DescribeTaskDefinition support no resource-level permissions (the
  # Service Authorization Reference lists no resource type for them). Neither
  # can start anything: running a task still needs the scoped ecs:RunTask and
  # iam:PassRole grants above/below.
  statement {
    sid = "ManageWorkerTaskDefinitions"
    actions = [
      "ecs:RegisterTaskDefinition",
      "ecs:DescribeTaskDefinition",
    ]
    resources = ["*"]
  }

  # Tags are applied only while creating tasks (the tags that make stop,
  # de-duplication and the reaper work); task definitions are not tagged.
  statement {
    sid       = "TagOnCreate"
    actions   = ["ecs:TagResource"]
    resources = [local.task_arns]
    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RunTask"]
    }
  }

  statement {
    sid       = "PassWorkerRoles"
    actions   = ["iam:PassRole"]
    resources = [var.task_role_arn, var.execution_role_arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    sid       = "ReadSharedSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [var.secret_arn]
  }

  statement {
    sid       = "ReadClusterConfig"
    actions   = ["ssm:GetParameter"]
    resources = [var.cluster_config_parameter_arn]
  }

}

# The HTTP function's own: its logs, and the DLQ for failed asynchronous
# invocations (the reaper's schedule) when enabled.
#
# Log group ARNs are spelled out rather than read from the log group resources:
# a policy document that references a resource with a pending change (say, a
# new retention) is only read at apply, and every plan would show the policy
# as "known after apply".
data "aws_iam_policy_document" "lambda" {
  source_policy_documents = [data.aws_iam_policy_document.launch_workers.json]

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${local.log_group_arn_prefix}${local.lambda_log_group}:*"]
  }

  dynamic "statement" {
    for_each = var.lambda_async_dlq_enabled ? [aws_sqs_queue.dlq.arn] : []
    content {
      sid       = "SendFailedAsyncInvocationsToDlq"
      actions   = ["sqs:SendMessage"]
      resources = [statement.value]
    }
  }
}

resource "aws_iam_role_policy" "lambda" {
  name   = "provisioner"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
}
