# Partial configuration: the bucket, key, region and locking settings come from
# `terraform init -backend-config=environments/<env>.backend.hcl`.
# The local emulator stack is applied from a staged copy of this directory that
# adds a `backend_override.tf` with a "local" backend.
terraform {
  backend "s3" {}
}
