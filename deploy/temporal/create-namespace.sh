#!/bin/sh
# Prepares Riposte's Temporal namespace: creates it with its retention (or
# lengthens the retention of an existing one; never shortens it unless
# --retention is passed) and registers Riposte's search
# attributes, through `riposte setup`, which owns the attribute list (the
# worker's own), waits for the frontend, waits until a new namespace is
# visible before adding attributes (retrying with a message), and is
# idempotent. docker-compose.yml runs `riposte setup` the same way in the
# temporal-create-namespace job (the image has no shell); test/cluster runs
# this script.
#
# Env: TEMPORAL_ADDRESS (host:port), TEMPORAL_NAMESPACE, NAMESPACE_RETENTION
# (a Go duration; default 168h = 7 days), RIPOSTE (the riposte binary;
# default: riposte on PATH). TLS / Temporal Cloud: TEMPORAL_TLS_CERT,
# TEMPORAL_TLS_KEY, TEMPORAL_API_KEY… as for riposte worker. Extra
# arguments go to riposte setup (e.g. --settle 0s).
set -eu

: "${TEMPORAL_ADDRESS:=temporal:7233}"
: "${TEMPORAL_NAMESPACE:=riposte}"
: "${NAMESPACE_RETENTION:=168h}"
: "${RIPOSTE:=riposte}"
export TEMPORAL_ADDRESS TEMPORAL_NAMESPACE NAMESPACE_RETENTION

if ! command -v "$RIPOSTE" >/dev/null 2>&1; then
  echo "create-namespace.sh: no riposte binary ($RIPOSTE): put it on PATH or set RIPOSTE" >&2
  exit 1
fi
# The retention goes by the environment, as in the compose and Kubernetes
# jobs: a re-run never shortens a longer retention an operator set (that
# deletes closed runs). To shorten it, pass --retention explicitly.
exec "$RIPOSTE" setup "$@"
