# Local stack against the moto emulator (AWS_ENDPOINT_URL=http://127.0.0.1:<port>).
# Applied from a staged copy of terraform/ with a backend_override.tf (local backend).
name_prefix = "odw-local"
region      = "us-east-1"

# Emulator mode: provider validation skips, no provider default_tags (moto
# copies them into launch template data -> perpetual diff).
aws_emulator = true
# moto does not store a Lambda function's DeadLetterConfig (perpetual diff).
lambda_async_dlq_enabled = false

az_count           = 2
single_nat_gateway = true
enable_flow_logs   = true

# moto implements no placement groups, and an ASG with instances hangs destroy.
enable_placement_group = false
asg_min_size           = 0
asg_desired_capacity   = 0
asg_max_size           = 2
instance_type          = "t3.medium"

log_retention_days          = 1
ecr_force_delete            = true
secret_recovery_window_days = 0
