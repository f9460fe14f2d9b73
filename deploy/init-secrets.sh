#!/bin/sh
# Creates (once) the secrets docker-compose.yml mounts under /run/secrets:
#
#   deploy/secrets/api-token          Riposte API token (riposte serve, clients)
#   deploy/secrets/codec-keys.json    payload encryption key (worker and serve)
#   deploy/secrets/postgres-password  PostgreSQL password (Temporal's database)
#
# Existing files are never overwritten: losing codec-keys.json makes every
# stored payload unreadable, so back it up with the database.
#
# The secret-file convention (deploy/README.md, "Secret files"; the worker
# warns about files that break it): a secret file is mode 0400 and owned by
# the user that reads it in its container. Riposte's containers run as
# uid 65532 (RIPOSTE_SECRETS_UID to change it), so api-token and
# codec-keys.json (and any vendor secret file riposte.yaml references) are
# 65532:65532 0400. The one exception is postgres-password, read by the
# PostgreSQL and Temporal images as two other users: 0444, protected by the
# 0700 directory. Run as root (sudo) to set the owners; otherwise the
# script prints the chown to run.
#
# Usage: deploy/init-secrets.sh [DIR]   (default: deploy/secrets)
set -eu

dir=${1:-$(dirname "$0")/secrets}
uid=${RIPOSTE_SECRETS_UID:-65532}
umask 077
mkdir -p "$dir"
chmod 700 "$dir"

rand_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }
rand_b64() { head -c "$1" /dev/urandom | base64 | tr -d '\n'; }

unowned=""
write() { # write FILE MODE CONTENT: only when FILE does not exist
  if [ -e "$dir/$1" ]; then
    echo "kept    $dir/$1"
    return
  fi
  printf '%s\n' "$3" >"$dir/$1"
  chmod "$2" "$dir/$1"
  if [ "$2" = 400 ]; then
    if [ "$(id -u)" = 0 ]; then
      chown "$uid:$uid" "$dir/$1"
    elif [ "$(id -u)" != "$uid" ]; then
      unowned="$unowned $dir/$1"
    fi
  fi
  echo "created $dir/$1"
}

write api-token 400 "rpt_$(rand_hex 24)"
write postgres-password 444 "$(rand_hex 24)"
kid="compose-$(date -u +%Y%m%d)-$(rand_hex 4)"
write codec-keys.json 400 "{\"active\": \"$kid\", \"keys\": {\"$kid\": \"$(rand_b64 32)\"}}"

if [ -n "$unowned" ]; then
  echo
  echo "The Riposte containers (uid $uid) cannot read these files yet. Run:"
  echo "  sudo chown $uid:$uid$unowned"
fi
echo
echo "API token (for riposte submit/runs: export RIPOSTE_API_TOKEN):"
echo "  RIPOSTE_API_TOKEN=\$(sudo cat $dir/api-token)"
