#!/bin/sh
# Creates the secrets docker-compose.yml mounts under /run/secrets, once:
#
#   deploy/secrets/api-token          Riposte API token (riposte serve, clients)
#   deploy/secrets/codec-keys.json    payload encryption key (worker and serve)
#   deploy/secrets/postgres-password  PostgreSQL password (Temporal's database)
#
# Existing files are never overwritten: losing codec-keys.json makes every
# stored payload unreadable, so back it up with the database. The directory
# is 0700 (only you, on the host); the files are world-readable inside it
# because the containers read them as their own non-root users.
#
# Usage: deploy/init-secrets.sh [DIR]   (default: deploy/secrets)
set -eu

dir=${1:-$(dirname "$0")/secrets}
umask 077
mkdir -p "$dir"
chmod 700 "$dir"

rand_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
rand_b64() { head -c "$1" /dev/urandom | base64 | tr -d '\n'; }

write() { # write FILE CONTENT: only when FILE does not exist
  if [ -e "$dir/$1" ]; then
    echo "kept    $dir/$1"
    return
  fi
  printf '%s\n' "$2" >"$dir/$1"
  chmod 444 "$dir/$1"
  echo "created $dir/$1"
}

write api-token "rpt_$(rand_hex 24)"
write postgres-password "$(rand_hex 24)"
kid="compose-$(date -u +%Y%m%d)-$(rand_hex 4)"
write codec-keys.json "{\"active\": \"$kid\", \"keys\": {\"$kid\": \"$(rand_b64 32)\"}}"

echo
echo "API token (for riposte submit/runs: export RIPOSTE_API_TOKEN):"
echo "  RIPOSTE_API_TOKEN=\$(cat $dir/api-token)"
