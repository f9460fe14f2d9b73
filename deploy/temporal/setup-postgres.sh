#!/bin/sh
# Creates (first run) and migrates (every run, e.g. after a Temporal upgrade)
# the two PostgreSQL databases of the Temporal server: `temporal` and
# `temporal_visibility`. Every step is idempotent.
#
# Runs in the temporalio/admin-tools image, pinned to the server's version,
# as the `temporal-admin-tools` job of docker-compose.yml, and as is on any
# host with temporal-sql-tool on PATH (go build
# go.temporal.io/server/cmd/tools/sql, same version as the server) and the
# server's schema/postgresql/v12 directory: test/cluster runs this script.
#
# Env: POSTGRES_SEEDS (host), DB_PORT, POSTGRES_USER, POSTGRES_PWD_FILE (a
# file holding the password: a docker secret), SCHEMA_DIR (the server
# version's schema/postgresql/v12; the image's by default).
set -eu

: "${POSTGRES_SEEDS:=postgresql}"
: "${DB_PORT:=5432}"
: "${POSTGRES_USER:=temporal}"
: "${POSTGRES_PWD_FILE:=/run/secrets/postgres_password}"
: "${SCHEMA_DIR:=/etc/temporal/schema/postgresql/v12}"

for d in "$SCHEMA_DIR/temporal/versioned" "$SCHEMA_DIR/visibility/versioned"; do
  if [ ! -d "$d" ]; then
    echo "No schema directory $d: set SCHEMA_DIR to the Temporal server version's schema/postgresql/v12" >&2
    exit 1
  fi
done

# temporal-sql-tool reads the password from SQL_PASSWORD: it never appears
# on a command line (ps) or in the compose file.
SQL_PASSWORD="$(cat "$POSTGRES_PWD_FILE")"
export SQL_PASSWORD

# Waits with nc (admin-tools image) or pg_isready (PostgreSQL client
# packages); with neither, the first schema step tells.
reachable() {
  if command -v nc >/dev/null 2>&1; then
    nc -z -w 5 "$POSTGRES_SEEDS" "$DB_PORT"
  elif command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$POSTGRES_SEEDS" -p "$DB_PORT"
  else
    return 0
  fi
}

echo "Waiting for PostgreSQL at ${POSTGRES_SEEDS}:${DB_PORT}..."
tries=0
until reachable; do
  tries=$((tries + 1))
  if [ "$tries" -ge 60 ]; then
    echo "PostgreSQL did not answer after ${tries} tries" >&2
    exit 1
  fi
  sleep 2
done

sql() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$DB_PORT" -u "$POSTGRES_USER" "$@"
}

for db in temporal temporal_visibility; do
  case "$db" in
    temporal) dir="$SCHEMA_DIR/temporal/versioned" ;;
    temporal_visibility) dir="$SCHEMA_DIR/visibility/versioned" ;;
  esac
  echo "Database $db: create if missing, then migrate to the newest schema"
  sql --db "$db" create
  sql --db "$db" setup-schema -v 0.0
  sql --db "$db" update-schema -d "$dir"
done

echo "Temporal schemas are up to date"
