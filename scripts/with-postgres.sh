#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster.
#
#   scripts/with-postgres.sh swift test --skip-build --filter FaceGateStoreTests
#
# Starts a private cluster (initdb in a temp dir, loopback only, trust auth, random free port), exports
# FACEGATE_TEST_POSTGRES_URL=postgres://facegate@127.0.0.1:PORT/facegate, runs the command, stops the cluster and
# deletes it. Exit status is the command's. Needs PostgreSQL server binaries (Debian: postgresql-15).
# When run as root the cluster runs as the `postgres` system user (PostgreSQL refuses to run as root).
set -euo pipefail

if [ $# -eq 0 ]; then echo "usage: $0 COMMAND [ARGS…]" >&2; exit 2; fi

PGBIN="${PGBIN:-}"
if [ -z "$PGBIN" ]; then
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && PGBIN="$d"; done
fi
if [ -z "$PGBIN" ] && command -v initdb >/dev/null 2>&1; then PGBIN="$(dirname "$(command -v initdb)")"; fi
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
  echo "with-postgres: PostgreSQL server binaries not found — install them (apt-get install postgresql-15) or set PGBIN" >&2
  exit 3
fi

TMP="$(mktemp -d /tmp/facegate-pg.XXXXXX)"
RUNAS=()
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$TMP"
  RUNAS=(runuser -u postgres --)
fi

# A free loopback port.
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"

cleanup() {
  "${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$TMP/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT INT TERM

"${RUNAS[@]}" "$PGBIN/initdb" -D "$TMP/data" -U facegate --auth=trust --no-sync -E UTF8 >"$TMP/initdb.log" 2>&1 || {
  cat "$TMP/initdb.log" >&2; exit 3; }
"${RUNAS[@]}" "$PGBIN/pg_ctl" -D "$TMP/data" -l "$TMP/server.log" -w -t 30 \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $TMP -c fsync=off -c max_connections=200" start >/dev/null || {
  cat "$TMP/server.log" >&2; exit 3; }
"${RUNAS[@]}" "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U facegate facegate

export FACEGATE_TEST_POSTGRES_URL="postgres://facegate@127.0.0.1:$PORT/facegate"
echo "with-postgres: cluster on 127.0.0.1:$PORT ($FACEGATE_TEST_POSTGRES_URL)" >&2
set +e
"$@"
status=$?
set -e
exit $status
