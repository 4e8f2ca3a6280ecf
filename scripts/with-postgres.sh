#!/usr/bin/env bash
# Usage: scripts/with-postgres.sh COMMAND [ARG…]
#
# Starts a throwaway PostgreSQL (initdb into a temporary directory, listening
# on 127.0.0.1 and a free port only), creates the database `fxe_test`, runs
# COMMAND with FXE_TEST_DATABASE_URL=postgres://fxe:…@127.0.0.1:PORT/fxe_test,
# and always stops the server and deletes its directory afterwards. Exits with
# COMMAND's status.
#
# PostgreSQL refuses to run as root: as root, the server runs as the system
# user `fxe-pg` (created here if missing).
set -euo pipefail

if [ "$#" -lt 1 ]; then
  echo "usage: $0 COMMAND [ARG...]" >&2
  exit 2
fi

pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [ -z "$pg_bin" ] || [ ! -x "$pg_bin/initdb" ]; then
  echo "with-postgres: PostgreSQL server binaries not found (run: bash scripts/install-tools.sh --postgres)" >&2
  exit 1
fi

free_port() {
  if command -v python3 >/dev/null 2>&1; then
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
  else
    node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'
  fi
}

as_pg=()
if [ "$(id -u)" = 0 ]; then
  if ! id -u fxe-pg >/dev/null 2>&1; then
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin fxe-pg 2>/dev/null \
      || id -u fxe-pg >/dev/null 2>&1 # created meanwhile by a parallel run
  fi
  as_pg=(runuser -u fxe-pg --)
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/fxe-pg.XXXXXX")
port=$(free_port)
password=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
started=0

cleanup() {
  local status=$?
  if [ "$started" = 1 ]; then
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$dir/sock"
printf '%s\n' "$password" >"$dir/pwfile"
if [ "${#as_pg[@]}" -gt 0 ]; then
  chown -R fxe-pg "$dir"
fi
chmod 700 "$dir"

"${as_pg[@]}" "$pg_bin/initdb" -D "$dir/data" -U fxe --pwfile="$dir/pwfile" \
  --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C --no-instructions >"$dir/initdb.log" 2>&1 || {
  cat "$dir/initdb.log" >&2
  exit 1
}
rm -f "$dir/pwfile"

# fsync off: a throwaway test database does not need to survive a power cut.
started=1
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-p $port -k $dir/sock -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null || {
  cat "$dir/server.log" >&2
  exit 1
}
"$pg_bin/createdb" -h "$dir/sock" -p "$port" -U fxe fxe_test

export FXE_TEST_DATABASE_URL="postgres://fxe:$password@127.0.0.1:$port/fxe_test"
echo "with-postgres: PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2

set +e
"$@"
status=$?
set -e
exit "$status"
