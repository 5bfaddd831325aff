#!/usr/bin/env bash
# A local PostgreSQL for Kiln's shared catalog (kiln.lakehouse.catalog.type = postgres, and the Thrift
# metastore of scripts/metastore.sh): installs Debian's postgresql package where it is missing (root:
# apt-get update, apt-get install), starts the cluster, and creates (once) the role `kiln` with a generated
# password and the database named by the first argument (default: kiln), owned by that role.
#   scripts/setup-postgres.sh [DATABASE]
# Prints the path of a credentials file (mode 600) on stdout: user=, password= and url= lines, what
# kiln.lakehouse.catalog.credentials-file takes. Progress goes to stderr. Idempotent; safe to run at once
# from several processes.
set -euo pipefail
DB="${1:-kiln}"
ROLE="${KILN_POSTGRES_ROLE:-kiln}"
KILN_CACHE="${KILN_CACHE:-$HOME/.cache/kiln}"
DIR="$KILN_CACHE/postgres"
[[ "$DB" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || { echo "setup-postgres: '$DB' is not a plain database name" >&2; exit 2; }
[[ "$ROLE" =~ ^[a-z_][a-z0-9_]{0,62}$ ]] || { echo "setup-postgres: '$ROLE' is not a plain role name" >&2; exit 2; }

as_root() { if [[ $EUID -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
as_postgres() { if [[ $EUID -eq 0 ]]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }

umask 077
mkdir -p "$DIR"
exec 9>"$DIR/.lock"
flock 9

if ! command -v pg_lsclusters >/dev/null 2>&1 || [[ -z "$(ls /usr/lib/postgresql 2>/dev/null)" ]]; then
  echo "setup-postgres: installing PostgreSQL (apt-get install postgresql)" >&2
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi
# The first cluster of the newest installed version; created when the package left none.
read -r VER NAME PORT STATUS < <(pg_lsclusters -h | sort -k1,1V | tail -1 | awk '{print $1, $2, $3, $4}') || true
if [[ -z "${VER:-}" ]]; then
  VER="$(ls /usr/lib/postgresql | sort -V | tail -1)"
  echo "setup-postgres: creating cluster $VER/main" >&2
  as_root pg_createcluster "$VER" main >&2
  read -r VER NAME PORT STATUS < <(pg_lsclusters -h | awk -v v="$VER" '$1 == v {print $1, $2, $3, $4; exit}')
fi
if [[ "$STATUS" != online* ]]; then
  echo "setup-postgres: starting PostgreSQL $VER/$NAME on port $PORT" >&2
  as_root pg_ctlcluster "$VER" "$NAME" start >&2 9>&-  # the server must not inherit the lock
fi
psql_admin() { as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$PORT" -d postgres "$@"; }
for _ in $(seq 1 30); do psql_admin -tAc 'SELECT 1' >/dev/null 2>&1 && break; sleep 1; done

PASSWORD_FILE="$DIR/$ROLE.password"
if [[ ! -s "$PASSWORD_FILE" ]]; then
  head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 32 > "$PASSWORD_FILE"
  chmod 600 "$PASSWORD_FILE"
  NEW_PASSWORD=1
fi
PASSWORD="$(cat "$PASSWORD_FILE")"
# The password goes to psql on stdin, never on a command line.
if [[ -z "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" ]]; then
  echo "setup-postgres: creating role $ROLE" >&2
  printf "CREATE ROLE %s LOGIN PASSWORD '%s';\n" "$ROLE" "$PASSWORD" | psql_admin -f - >&2
elif [[ -n "${NEW_PASSWORD:-}" ]]; then
  printf "ALTER ROLE %s LOGIN PASSWORD '%s';\n" "$ROLE" "$PASSWORD" | psql_admin -f - >&2
fi
if [[ -z "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]]; then
  echo "setup-postgres: creating database $DB" >&2
  psql_admin -c "CREATE DATABASE $DB OWNER $ROLE" >&2
fi

CREDENTIALS="$DIR/$DB.properties"
printf 'user=%s\npassword=%s\nurl=jdbc:postgresql://127.0.0.1:%s/%s\n' "$ROLE" "$PASSWORD" "$PORT" "$DB" > "$CREDENTIALS.tmp"
chmod 600 "$CREDENTIALS.tmp"
mv "$CREDENTIALS.tmp" "$CREDENTIALS"
echo "$CREDENTIALS"
