#!/bin/sh
# Starts the Temporal server of the temporalio/server image with the
# database password read from a file (a docker secret) instead of the
# POSTGRES_PWD env var, which would have to be written in the compose file
# or the host environment. Everything else is the image's own entrypoint.
set -eu
if [ -n "${POSTGRES_PWD_FILE:-}" ]; then
  POSTGRES_PWD="$(cat "$POSTGRES_PWD_FILE")"
  export POSTGRES_PWD
fi
exec /etc/temporal/entrypoint.sh "$@"
