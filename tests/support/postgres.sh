# Helpers to find, install and run a throw-away PostgreSQL cluster. Sourced by tests/run.sh.

# Prints the directory holding initdb/pg_ctl/postgres, preferring Debian's versioned layout.
pg_bindir() {
  local d
  for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
  done
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v pg_ctl)"; return 0
  fi
  return 1
}

# Installs PostgreSQL from Debian when it is missing and we may (root with apt-get).
ensure_postgres() {
  if pg_bindir >/dev/null; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "PostgreSQL not found: installing it from Debian (apt-get install -y postgresql)" >&2
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  fi
  pg_bindir >/dev/null || {
    echo "error: PostgreSQL server binaries (initdb, pg_ctl) not found; install them, e.g. 'apt-get install -y postgresql'" >&2
    return 1
  }
}

# Runs a PostgreSQL binary as the postgres system user when we are root (initdb refuses root).
as_pg_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_tcp_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_test_cluster DIR: creates and starts a cluster in DIR; exports DATABASE_URL and PG_TEST_DIR.
start_test_cluster() {
  local dir=$1 bindir port
  bindir=$(pg_bindir)
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; chmod 0700 "$dir"; fi
  as_pg_user "$bindir/initdb" -D "$dir/data" -U faceid -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2; return 1; }
  port=$(free_tcp_port)
  as_pg_user "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
    start >/dev/null || { cat "$dir/postgres.log" >&2; return 1; }
  export PG_TEST_DIR=$dir PG_TEST_BINDIR=$bindir
  export DATABASE_URL="postgres://faceid@127.0.0.1:$port/postgres"
  echo "test PostgreSQL running at $DATABASE_URL (data in $dir)" >&2
}

stop_test_cluster() {
  if [ -n "${PG_TEST_DIR:-}" ] && [ -d "$PG_TEST_DIR/data" ]; then
    as_pg_user "$PG_TEST_BINDIR/pg_ctl" -D "$PG_TEST_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$PG_TEST_DIR"
  fi
}
