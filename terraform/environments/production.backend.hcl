# Backend settings for the "production" environment.
# Usage: terraform init -backend-config=environments/production.backend.hcl
# The bucket must exist beforehand (versioning enabled, public access blocked,
# default encryption on). Replace the placeholders below.
bucket       = "REPLACE-ME-terraform-state-bucket" # S3 bucket holding the state
key          = "ecs-on-demand-worker/production/terraform.tfstate"
region       = "eu-west-1" # region of the state bucket (may differ from var.region)
encrypt      = true
use_lockfile = true # S3-native state locking (Terraform >= 1.10); no DynamoDB table needed
