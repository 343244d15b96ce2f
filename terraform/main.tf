module "network" {
  source = "./modules/network"

  name_prefix        = var.name_prefix
  vpc_cidr           = var.vpc_cidr
  az_count           = var.az_count
  availability_zones = var.availability_zones
  single_nat_gateway = var.single_nat_gateway
  enable_flow_logs   = var.enable_flow_logs
  log_retention_days = var.log_retention_days
}

module "ecs_cluster" {
  source = "./modules/ecs-cluster"

  name_prefix               = var.name_prefix
  vpc_id                    = module.network.vpc_id
  subnet_ids                = module.network.private_subnet_ids
  ami_id                    = var.ami_id
  instance_type             = var.instance_type
  root_volume_size          = var.root_volume_size
  egress_ports              = var.worker_egress_ports
  asg_min_size              = var.asg_min_size
  asg_max_size              = var.asg_max_size
  asg_desired_capacity      = var.asg_desired_capacity
  capacity_target_percent   = var.capacity_target_percent
  enable_placement_group    = var.enable_placement_group
  placement_strategy        = var.placement_strategy
  placement_partition_count = var.placement_partition_count
  robot_role_policy_arns    = var.robot_role_policy_arns
  log_retention_days        = var.log_retention_days
  tags                      = local.common_tags
}

module "registry" {
  source = "./modules/registry"

  repository_name            = "${var.name_prefix}-worker"
  force_delete               = var.ecr_force_delete
  untagged_image_expiry_days = var.ecr_untagged_image_expiry_days
}

module "config" {
  source = "./modules/config"

  name_prefix                 = var.name_prefix
  region                      = var.region
  secret_recovery_window_days = var.secret_recovery_window_days
  cluster_arn                 = module.ecs_cluster.cluster_arn
  task_role_arn               = module.ecs_cluster.task_role_arn
  execution_role_arn          = module.ecs_cluster.execution_role_arn
  log_group                   = module.ecs_cluster.log_group_name
  capacity_provider           = module.ecs_cluster.capacity_provider_name
  worker_cpu                  = var.worker_cpu
  worker_memory_reservation   = var.worker_memory_reservation
}

module "provisioner" {
  source = "./modules/provisioner"

  name_prefix                    = var.name_prefix
  lambda_zip_path                = var.lambda_zip_path
  events_lambda_zip_path         = var.events_lambda_zip_path
  allow_plaintext_link_tokens    = var.allow_plaintext_link_tokens
  events_function_retry_attempts = var.events_function_retry_attempts
  lambda_timeout                 = var.lambda_timeout
  lambda_memory_size             = var.lambda_memory_size
  lambda_reserved_concurrency    = var.lambda_reserved_concurrency
  lambda_async_dlq_enabled       = var.lambda_async_dlq_enabled
  log_retention_days             = var.log_retention_days
  ecr_repository_url             = module.registry.repository_url
  worker_image_tag               = var.worker_image_tag
  worker_image_digest            = var.worker_image_digest
  secret_arn                     = module.config.secret_arn
  cluster_config_parameter_name  = module.config.cluster_config_parameter_name
  cluster_config_parameter_arn   = module.config.cluster_config_parameter_arn
  cluster_arn                    = module.ecs_cluster.cluster_arn
  cluster_name                   = module.ecs_cluster.cluster_name
  task_role_arn                  = module.ecs_cluster.task_role_arn
  execution_role_arn             = module.ecs_cluster.execution_role_arn
  api_throttling_burst_limit     = var.api_throttling_burst_limit
  api_throttling_rate_limit      = var.api_throttling_rate_limit
  control_room_rule_arns         = var.control_room_rule_arns
  event_maximum_retry_attempts   = var.event_maximum_retry_attempts
  event_maximum_age_seconds      = var.event_maximum_age_seconds

  worker_default_lifetime_seconds = var.worker_default_lifetime_seconds
  worker_max_lifetime_seconds     = var.worker_max_lifetime_seconds
  pending_grace_seconds           = var.pending_grace_seconds
  reaper_schedule_expression      = var.reaper_schedule_expression
  alarm_actions                   = var.alarm_actions
  start_failure_alarm_threshold   = var.start_failure_alarm_threshold
}
