data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

# The `/image_id` leaf is used (not `/recommended`, which is a JSON document).
data "aws_ssm_parameter" "ecs_ami" {
  count = var.ami_id == "" ? 1 : 0

  name = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"
}

locals {
  cluster_name = var.name_prefix
  ami_id       = var.ami_id != "" ? var.ami_id : data.aws_ssm_parameter.ecs_ami[0].insecure_value
  partition    = data.aws_partition.current.partition
  account_id   = data.aws_caller_identity.current.account_id

  user_data = <<-EOT
    #!/bin/bash
    set -euo pipefail

    cat >> /etc/ecs/ecs.config <<'CFG'
    ECS_CLUSTER=${local.cluster_name}
    ECS_IMAGE_PULL_BEHAVIOR=prefer-cached
    ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION=30m
    ECS_RESERVED_MEMORY=256
    ECS_DISABLE_PRIVILEGED=true
    ECS_AWSVPC_BLOCK_IMDS=true
    CFG

    # Containers (bridge network) must not reach the instance metadata service,
    # and thus the instance role's credentials. The rule lives in DOCKER-USER
    # (created by dockerd), so it is re-applied every time docker starts: a
    # systemd drop-in makes it survive reboots and docker restarts.
    RULE='DOCKER-USER -d 169.254.169.254/32 -j DROP'
    mkdir -p /etc/systemd/system/docker.service.d
    cat > /etc/systemd/system/docker.service.d/50-block-imds.conf <<UNIT
    [Service]
    ExecStartPost=/bin/sh -c 'iptables -C $RULE 2>/dev/null || iptables -I $RULE'
    UNIT
    systemctl daemon-reload
    if systemctl is-active --quiet docker; then
      iptables -C $RULE 2>/dev/null || iptables -I $RULE
    fi
  EOT
}

# ---------------------------------------------------------------------------
# IAM
# ---------------------------------------------------------------------------
data "aws_iam_policy_document" "ec2_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "instance" {
  name               = "${var.name_prefix}-ecs-instance"
  description        = "ECS container instances of ${local.cluster_name}"
  assume_role_policy = data.aws_iam_policy_document.ec2_assume.json
}

resource "aws_iam_role_policy_attachment" "instance" {
  for_each = toset([
    "service-role/AmazonEC2ContainerServiceforEC2Role",
    "AmazonSSMManagedInstanceCore",
  ])

  role       = aws_iam_role.instance.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/${each.value}"
}

resource "aws_iam_instance_profile" "instance" {
  name = "${var.name_prefix}-ecs-instance"
  role = aws_iam_role.instance.name
}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    # Confused-deputy protection: only tasks of this account may assume it.
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name_prefix}-worker-execution"
  description        = "ECS task execution role of the workers (image pull, logs)"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

# The "robot" role: what robots may do in AWS. Empty unless the operator adds
# policies through var.robot_role_policy_arns.
resource "aws_iam_role" "task" {
  name               = "${var.name_prefix}-worker-robot"
  description        = "ECS task role of the workers (permissions available to robots)"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy_attachment" "task" {
  for_each = toset(var.robot_role_policy_arns)

  role       = aws_iam_role.task.name
  policy_arn = each.value
}

# ---------------------------------------------------------------------------
# Logs of the worker tasks (awslogs driver)
# ---------------------------------------------------------------------------
resource "aws_cloudwatch_log_group" "worker" {
  #checkov:skip=CKV_AWS_158:Log groups use the CloudWatch Logs service-managed encryption; a customer-managed KMS key is a deliberate non-default (cost, key policy management).
  #checkov:skip=CKV_AWS_338:Retention is an operator choice (var.log_retention_days).
  name              = "/ecs/${var.name_prefix}-worker"
  retention_in_days = var.log_retention_days
}

# ---------------------------------------------------------------------------
# Container instances
# ---------------------------------------------------------------------------
resource "aws_security_group" "instance" {
  name        = "${var.name_prefix}-ecs-instance"
  description = "ECS container instances: no inbound, outbound to the listed ports"
  vpc_id      = var.vpc_id

  tags = { Name = "${var.name_prefix}-ecs-instance" }
}

resource "aws_vpc_security_group_egress_rule" "instance" {
  for_each = toset([for p in var.egress_ports : tostring(p)])

  security_group_id = aws_security_group.instance.id
  description       = "Outbound TCP ${each.value} (ECS/ECR/CloudWatch/Control Room APIs and robot traffic)"
  ip_protocol       = "tcp"
  from_port         = tonumber(each.value)
  to_port           = tonumber(each.value)
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_placement_group" "this" {
  count = var.enable_placement_group ? 1 : 0

  name            = "${var.name_prefix}-ecs"
  strategy        = var.placement_strategy
  partition_count = var.placement_strategy == "partition" ? var.placement_partition_count : null
}

resource "aws_launch_template" "this" {
  name_prefix            = "${var.name_prefix}-ecs-"
  description            = "ECS container instances of ${local.cluster_name}"
  image_id               = local.ami_id
  instance_type          = var.instance_type
  update_default_version = true
  user_data              = base64encode(local.user_data)
  vpc_security_group_ids = [aws_security_group.instance.id]
  ebs_optimized          = true

  iam_instance_profile {
    arn = aws_iam_instance_profile.instance.arn
  }

  # IMDSv2 only. Hop limit 1: the ECS agent runs with host networking and
  # needs one hop; bridge-mode containers are one hop further and are cut off
  # (defence in depth on top of the DOCKER-USER rule in the user data).
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "disabled"
  }

  monitoring {
    enabled = true
  }

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size           = var.root_volume_size
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.tags, { Name = "${var.name_prefix}-ecs" })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(var.tags, { Name = "${var.name_prefix}-ecs" })
  }
}

resource "aws_autoscaling_group" "this" {
  name                  = "${var.name_prefix}-ecs"
  vpc_zone_identifier   = var.subnet_ids
  min_size              = var.asg_min_size
  max_size              = var.asg_max_size
  desired_capacity      = var.asg_desired_capacity
  protect_from_scale_in = true # required by managed termination protection
  health_check_type     = "EC2"
  placement_group       = var.enable_placement_group ? aws_placement_group.this[0].id : null

  launch_template {
    id      = aws_launch_template.this.id
    version = aws_launch_template.this.latest_version
  }

  tag {
    key                 = "AmazonECSManaged"
    value               = ""
    propagate_at_launch = true
  }

  tag {
    key                 = "Name"
    value               = "${var.name_prefix}-ecs"
    propagate_at_launch = true
  }

  dynamic "tag" {
    for_each = var.tags
    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }

  lifecycle {
    # ECS managed scaling owns the desired capacity once the cluster runs.
    ignore_changes = [desired_capacity]
  }
}

resource "aws_ecs_capacity_provider" "this" {
  name = "${var.name_prefix}-ec2"

  auto_scaling_group_provider {
    auto_scaling_group_arn         = aws_autoscaling_group.this.arn
    managed_termination_protection = "ENABLED"

    managed_scaling {
      status                    = "ENABLED"
      target_capacity           = var.capacity_target_percent
      minimum_scaling_step_size = 1
      maximum_scaling_step_size = var.asg_max_size
      instance_warmup_period    = 180
    }
  }
}

resource "aws_ecs_cluster" "this" {
  name = local.cluster_name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = [aws_ecs_capacity_provider.this.name]

  default_capacity_provider_strategy {
    capacity_provider = aws_ecs_capacity_provider.this.name
    base              = 0
    weight            = 1
  }
}
