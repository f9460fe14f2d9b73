#!/bin/sh
# Creates Riposte's Temporal namespace with its retention (or sets the
# retention of an existing one) and registers Riposte's custom search
# attributes on it. Runs in the temporalio/admin-tools image as the
# `temporal-create-namespace` job of docker-compose.yml; idempotent.
#
# Env: TEMPORAL_ADDRESS (host:port), TEMPORAL_NAMESPACE, NAMESPACE_RETENTION
# (a Go duration; default 168h = 7 days).
set -eu

: "${TEMPORAL_ADDRESS:=temporal:7233}"
: "${TEMPORAL_NAMESPACE:=riposte}"
: "${NAMESPACE_RETENTION:=168h}"

# Riposte's search attributes: NAME=TYPE, one per line. They must equal
# workflows.SearchAttributeTypes(); deploy/compose_test.go checks it.
SEARCH_ATTRIBUTES='
PlaybookName=Keyword
PlaybookVersion=Int
DetectionID=Keyword
DetectionSeverity=Keyword
DetectorModel=Keyword
RunStatus=Keyword
ApprovalState=Keyword
RunMode=Keyword
Outcome=Keyword
HoldUntil=Datetime
RolledBackBy=Keyword
RolledBackAt=Datetime
'

host=${TEMPORAL_ADDRESS%:*}
port=${TEMPORAL_ADDRESS##*:}
echo "Waiting for the Temporal frontend at ${host}:${port}..."
tries=0
until nc -z -w 5 "$host" "$port" && temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "Temporal did not become healthy after ${tries} tries" >&2
    exit 1
  fi
  sleep 2
done

t() { temporal "$@" --address "$TEMPORAL_ADDRESS"; }

if t operator namespace describe --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  echo "Namespace $TEMPORAL_NAMESPACE exists; setting its retention to $NAMESPACE_RETENTION"
  t operator namespace update --namespace "$TEMPORAL_NAMESPACE" --retention "$NAMESPACE_RETENTION"
else
  echo "Creating namespace $TEMPORAL_NAMESPACE (retention $NAMESPACE_RETENTION)"
  t operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention "$NAMESPACE_RETENTION"
fi

existing=$(t operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" 2>/dev/null || true)
added=0
for entry in $SEARCH_ATTRIBUTES; do
  name=${entry%%=*}
  type=${entry#*=}
  if printf '%s\n' "$existing" | grep -Eq "(^|[[:space:]])${name}([[:space:]]|$)"; then
    echo "Search attribute $name exists"
    continue
  fi
  echo "Registering search attribute $name ($type)"
  t operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" --name "$name" --type "$type"
  added=1
done

if [ "$added" = 1 ]; then
  # Frontends cache namespace metadata (refreshed every few seconds): wait
  # so that the first run started right after this job sees the attributes.
  sleep "${SEARCH_ATTRIBUTES_SETTLE_SECONDS:-15}"
fi
echo "Namespace $TEMPORAL_NAMESPACE is ready for Riposte"
