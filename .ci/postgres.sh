#!/usr/bin/env bash
# Makes a local PostgreSQL server ready for stackgate's tests, on a bare Debian machine
# as on one where it already runs. Idempotent: every step checks before it acts.
#
#   1. installs Debian's `postgresql` package when no server is installed;
#   2. creates the default cluster (`<version>/main`) when the package did not;
#   3. lets the `postgres` role in without a password on the loopback addresses only
#      (`trust` for 127.0.0.1/32 and ::1/128, put first in pg_hba.conf) — a test server,
#      not a production setting;
#   4. raises max_connections (the suites open many small pools at once);
#   5. starts the cluster (or reloads it when it already runs) and waits for it;
#   6. creates the `test` database the tests' URL names.
#
# The PostgreSQL restart test stops and starts the same cluster with
# `pg_ctlcluster --skip-systemctl-redirect <version> main stop|start`.
# Must run as root (apt-get, and pg_ctlcluster switches to the postgres user itself).
set -euo pipefail

server_version() {
  ls /usr/lib/postgresql 2>/dev/null | sort -V | tail -n 1
}

if [ -z "$(server_version)" ] || [ ! -x "/usr/lib/postgresql/$(server_version)/bin/postgres" ] \
   || ! command -v pg_ctlcluster >/dev/null; then
  echo "== installing PostgreSQL from Debian's packages"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql
fi

VERSION="$(server_version)"
CONF="/etc/postgresql/$VERSION/main"
if [ ! -f "$CONF/postgresql.conf" ]; then
  echo "== creating PostgreSQL cluster $VERSION/main"
  pg_createcluster "$VERSION" main
fi

HBA="$CONF/pg_hba.conf"
if ! grep -q 'stackgate-tests' "$HBA"; then
  echo "== trusting the postgres role on loopback (tests only)"
  tmp="$(mktemp)"
  {
    echo "# stackgate-tests: the test suites connect as postgres without a password, loopback only"
    echo "host    all             postgres        127.0.0.1/32            trust"
    echo "host    all             postgres        ::1/128                 trust"
    cat "$HBA"
  } >"$tmp"
  cat "$tmp" >"$HBA"
  rm -f "$tmp"
fi

mkdir -p "$CONF/conf.d"
cat >"$CONF/conf.d/stackgate-tests.conf" <<'EOF'
# Written by stackgate's .ci/postgres.sh: the test suites run many pools in parallel.
listen_addresses = 'localhost'
max_connections = 400
EOF

if pg_isready -q -h 127.0.0.1; then
  # Already running: pick up pg_hba.conf (max_connections needs a restart, which the
  # restart test does anyway; the default is enough for a rerun).
  pg_ctlcluster --skip-systemctl-redirect "$VERSION" main reload || true
else
  echo "== starting PostgreSQL $VERSION"
  pg_ctlcluster --skip-systemctl-redirect "$VERSION" main start || true
fi
for _ in $(seq 1 150); do
  pg_isready -q -h 127.0.0.1 && break
  sleep 0.2
done
if ! pg_isready -h 127.0.0.1; then
  echo "PostgreSQL did not start; its log:"
  tail -n 50 "/var/log/postgresql/postgresql-$VERSION-main.log" || true
  exit 1
fi

if [ "$(psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'")" != "1" ]; then
  echo "== creating database test"
  psql -h 127.0.0.1 -U postgres -qc 'CREATE DATABASE test'
fi
echo "== PostgreSQL $VERSION ready on 127.0.0.1:5432 (database test)"
