#!/usr/bin/env bash
# Makes sure the server binaries the tests start are on this machine.
# PostgreSQL, PgBouncer and Redis come from Debian's packages; the tests start and stop
# throwaway instances themselves on free loopback ports.
set -euo pipefail
need=()
if [ -z "${POSTGRES_URI:-}" ] && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  need+=(postgresql)
fi
if [ -z "${REDIS_URL:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
  need+=(redis-server)
fi
# The Postgres fault tests put a throwaway PgBouncer in front of the server.
if ! command -v pgbouncer >/dev/null 2>&1 && [ ! -x /usr/sbin/pgbouncer ]; then
  need+=(pgbouncer)
fi
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "==> installing test servers from Debian: ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # Debian starts the packaged services on install; the tests use their own.
  for s in postgresql redis-server pgbouncer; do service "$s" stop >/dev/null 2>&1 || true; done
else
  echo "Missing test servers: ${need[*]}. Install them with: sudo apt-get install ${need[*]}" >&2
  exit 1
fi
