# Production. Backend: environments/production.backend.hcl.
# lambda_zip_path, worker_image_tag and worker_image_digest are passed by `cargo xtask plan/deploy`
# (the image from container/image.toml).
name_prefix = "odw-prod"
region      = "eu-west-1"

az_count           = 2
single_nat_gateway = false # one NAT per AZ: a zone outage does not cut the workers off
enable_flow_logs   = true

instance_type             = "m6i.large"
root_volume_size          = 60
asg_min_size              = 0 # scale to zero when no robot runs
asg_desired_capacity      = 0
asg_max_size              = 4
capacity_target_percent   = 100
enable_placement_group    = true
placement_strategy        = "partition"
placement_partition_count = 2

worker_cpu                = 256
worker_memory_reservation = 256
robot_role_policy_arns    = []

log_retention_days             = 90
ecr_force_delete               = false
ecr_untagged_image_expiry_days = 7
secret_recovery_window_days    = 7

# Control Room's EventBridge rule ARN(s), when the EventBridge transport is used.
control_room_rule_arns = []
