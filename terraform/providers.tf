provider "aws" {
  region = var.region

  # Only for the AWS emulator (moto); false for real AWS, true in
  # environments/local.tfvars. The endpoint itself comes from the
  # AWS_ENDPOINT_URL environment variable, which the provider honours.
  skip_credentials_validation = var.aws_emulator
  skip_metadata_api_check     = var.aws_emulator
  skip_region_validation      = var.aws_emulator
  s3_use_path_style           = var.aws_emulator

  # Not against moto: it copies the launch template's own tags into the
  # template data, which would make every plan show a change.
  default_tags {
    tags = var.aws_emulator ? {} : local.common_tags
  }
}

locals {
  common_tags = merge(var.tags, {
    Project    = "ecs-on-demand-worker"
    Deployment = var.name_prefix
    ManagedBy  = "terraform"
  })
}
