#!/usr/bin/env bash
# Links this container to Control Room as one worker, then runs exactly one step run; the container ends
# with it. The provisioner passes RC_WORKER_LINK_TOKEN (a secret: never printed) and RC_WORKER_NAME.
set -euo pipefail

agent=/home/worker/bin/robocorp-workforce-agent-core
instance=/home/worker/instance

if [[ -z "${RC_WORKER_LINK_TOKEN:-}" ]]; then
  echo "start.sh: RC_WORKER_LINK_TOKEN is not set: this image is started by the provisioner, per robot run" >&2
  exit 64
fi
# The provisioner names workers ws<workspace>/worker<runtime>; a container started by hand gets its host name.
name="${RC_WORKER_NAME:-worker-$(hostname)}"

echo "start.sh: linking worker ${name}"
"$agent" link "$RC_WORKER_LINK_TOKEN" --name "$name" --instance-path "$instance"
# The token is single-use and now spent; keep it out of the worker's environment all the same.
unset RC_WORKER_LINK_TOKEN

echo "start.sh: starting worker ${name} for one run"
exec "$agent" start --instance-path "$instance" --run-once
