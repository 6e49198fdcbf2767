#!/usr/bin/env bash
# A throw-away PostgreSQL server for the `postgres` tests: Debian's postgresql 15, a cluster of its own in a
# folder under /tmp (the postgres user cannot enter /root), on a free loopback port, with a password role and a
# database; CNNVIZ_TEST_POSTGRES_URL names it.
#
#   source .ci/postgres.sh; cnnviz_postgres_start; trap cnnviz_postgres_stop EXIT   (what .ci/run does)
#   bash .ci/postgres.sh start      starts one and prints the export line; `bash .ci/postgres.sh stop DIR` ends it
#
# Kept fast for CI (about 1 minute for the install where it is missing, 2-3 s to start): no main cluster is
# started by the package, the cluster skips fsync (its data is thrown away), and nothing waits on a fixed sleep.

CNNVIZ_PG_BIN="${CNNVIZ_PG_BIN:-/usr/lib/postgresql/15/bin}"
CNNVIZ_PG_DIR=""

cnnviz_postgres_install() {
  [ -x "$CNNVIZ_PG_BIN/initdb" ] && return 0
  echo "--- installing Debian's postgresql (for the postgres tests)"
  # The package would create and start a "main" cluster on 5432: the tests never use it, and it costs time.
  mkdir -p /etc/postgresql-common/createcluster.d
  echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/cnnviz-no-main.conf
  apt-get update -q
  apt-get install -y -q --no-install-recommends postgresql-15
}

cnnviz_postgres_start() {
  cnnviz_postgres_install
  local dir port password tries=0
  dir="$(mktemp -d /tmp/cnnviz-pg.XXXXXX)"
  chown postgres:postgres "$dir"
  chmod 700 "$dir"
  CNNVIZ_PG_DIR="$dir"
  password="$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  runuser -u postgres -- "$CNNVIZ_PG_BIN/initdb" -D "$dir/data" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log"; return 1; }
  # In the cluster's own configuration, so that a plain `pg_ctl start` (a test restarting it) finds them.
  printf "%s\n" "listen_addresses = '127.0.0.1'" "unix_socket_directories = '$dir'" "fsync = off" \
    "synchronous_commit = off" "full_page_writes = off" >>"$dir/data/postgresql.conf"
  while :; do  # a random free port; another process may take it between the check and the start: try again
    port=$((20000 + RANDOM % 40000))
    echo "port = $port" >>"$dir/data/postgresql.conf"  # the last one counts
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
      runuser -u postgres -- "$CNNVIZ_PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -s start; then
      break
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 5 ]; then
      cat "$dir/server.log"
      return 1
    fi
  done
  runuser -u postgres -- "$CNNVIZ_PG_BIN/psql" -h "$dir" -p "$port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
    -c "CREATE ROLE cnnviz LOGIN PASSWORD '$password'" -c "CREATE DATABASE cnnviz_test OWNER cnnviz"
  export CNNVIZ_TEST_POSTGRES_URL="postgresql://cnnviz:$password@127.0.0.1:$port/cnnviz_test"
  echo "--- PostgreSQL $("$CNNVIZ_PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (cluster in $dir)"
}

cnnviz_postgres_stop() {
  local dir="${1:-$CNNVIZ_PG_DIR}"
  [ -n "$dir" ] && [ -d "$dir/data" ] || return 0
  runuser -u postgres -- "$CNNVIZ_PG_BIN/pg_ctl" -D "$dir/data" -m fast -w -t 30 -s stop || true
  rm -rf "$dir"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    start)
      cnnviz_postgres_start >&2
      echo "export CNNVIZ_TEST_POSTGRES_URL='$CNNVIZ_TEST_POSTGRES_URL'  # stop: bash $0 stop $CNNVIZ_PG_DIR"
      ;;
    stop) cnnviz_postgres_stop "${2:?the cluster folder that start printed}" ;;
    *)
      echo "usage: bash $0 start | stop DIR" >&2
      exit 2
      ;;
  esac
fi
