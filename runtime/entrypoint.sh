#!/bin/sh
# The runtime container's entry point. ECS puts the task role's credential path in the
# environment of the container's first process, and Linux keeps a process's initial
# environment readable at /proc/<pid>/environ to every process of the same user, which
# includes the shell commands OpenClaw runs. So the credential variables go to the runner on
# file descriptor 3, and the runner's own environment never has them
# (runtime/src/credential-handoff.ts).
set -eu
handoff=""
for name in AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_CONTAINER_AUTHORIZATION_TOKEN; do
  value=$(printenv "$name" || true)
  if [ -n "$value" ]; then
    handoff="$handoff$name=$value
"
  fi
  unset "$name"
done
RUNTIME_HANDOFF_FD=3 exec node --max-semi-space-size=64 dist/main.js 3<<HANDOFF
$handoff
HANDOFF
