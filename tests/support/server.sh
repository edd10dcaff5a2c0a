# A real faceid-server for the suites in tests/run.d that drive it from outside (Kotlin bindings,
# the Android app, the web panel). Source after tests/support/postgres.sh.
#
# start_suite_server NAME: needs DATABASE_URL (tests/run.sh exports it) and a built
# $CARGO_TARGET_DIR/debug/faceid-server. Creates a fresh database faceid_NAME_<pid> in that
# cluster, migrates it, creates the administrator NAME.admin with a random password, serves on a
# free loopback port with the face models of $FACEID_MODEL_DIR (default models/cache), and waits
# until /healthz answers. Exports SUITE_SERVER_URL, SUITE_ADMIN_LOGIN, SUITE_ADMIN_PASSWORD,
# SUITE_DATABASE_URL (the fresh database), SUITE_SERVER_LOG and SUITE_WORK (a scratch directory
# removed at the end). It sets an EXIT trap that stops the server and drops the database, also
# on failure.

suite_server_pid=""
suite_db_name=""
suite_admin_url=""

start_suite_server() {
  local name=$1 root target_dir server psql_bin base query db_url port
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  target_dir=${CARGO_TARGET_DIR:-$root/target}
  server="$target_dir/debug/faceid-server"
  [ -x "$server" ] || { echo "error: $server is not built (cargo build --workspace --all-targets)" >&2; return 1; }
  SUITE_WORK=$(mktemp -d "/tmp/faceid-$name.XXXXXX")
  suite_db_name="faceid_${name}_$$"
  suite_admin_url=$DATABASE_URL
  trap stop_suite_server EXIT
  psql_bin=$(command -v psql || echo "$(pg_bindir)/psql")
  "$psql_bin" -q "$suite_admin_url" -c "CREATE DATABASE $suite_db_name" >/dev/null
  # Same cluster, the fresh database: replace the path of the URL (keeping any ?query).
  base=${DATABASE_URL%%\?*}; query=${DATABASE_URL#"$base"}
  db_url="${base%/*}/$suite_db_name$query"
  port=$(free_tcp_port)
  SUITE_ADMIN_LOGIN="$name.admin"
  SUITE_ADMIN_PASSWORD="$name-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  SUITE_SERVER_LOG="$SUITE_WORK/server.log"
  SUITE_DATABASE_URL=$db_url
  export SUITE_WORK SUITE_ADMIN_LOGIN SUITE_ADMIN_PASSWORD SUITE_SERVER_LOG SUITE_DATABASE_URL
  FACEID_DATABASE_URL=$db_url DATABASE_URL=$db_url "$server" migrate --data-dir "$SUITE_WORK/data"
  FACEID_DATABASE_URL=$db_url DATABASE_URL=$db_url FACEID_SUITE_ADMIN_PASSWORD=$SUITE_ADMIN_PASSWORD \
    "$server" admin create --data-dir "$SUITE_WORK/data" --login "$SUITE_ADMIN_LOGIN" \
    --name "Suite Admin" --password-env FACEID_SUITE_ADMIN_PASSWORD
  FACEID_DATABASE_URL=$db_url DATABASE_URL=$db_url FACEID_MODEL_DIR=${FACEID_MODEL_DIR:-$root/models/cache} \
    "$server" serve --data-dir "$SUITE_WORK/data" --listen "127.0.0.1:$port" >"$SUITE_SERVER_LOG" 2>&1 &
  suite_server_pid=$!
  for _ in $(seq 150); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
    kill -0 "$suite_server_pid" 2>/dev/null || { cat "$SUITE_SERVER_LOG" >&2; return 1; }
    sleep 0.2
  done
  export SUITE_SERVER_URL="http://127.0.0.1:$port"
  echo "faceid-server for the $name suite at $SUITE_SERVER_URL (pid $suite_server_pid)" >&2
}

# The server's last lines, for a failed suite's output.
suite_server_log_tail() {
  [ -f "${SUITE_SERVER_LOG:-}" ] || return 0
  echo "---- faceid-server log (last ${1:-60} lines) ----" >&2
  tail -n "${1:-60}" "$SUITE_SERVER_LOG" >&2
}

stop_suite_server() {
  if [ -n "$suite_server_pid" ] && kill -0 "$suite_server_pid" 2>/dev/null; then
    kill -TERM "$suite_server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$suite_server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$suite_server_pid" 2>/dev/null || true
  fi
  if [ -n "$suite_db_name" ]; then
    "$(command -v psql || echo "$(pg_bindir)/psql")" -q "$suite_admin_url" -c "DROP DATABASE IF EXISTS $suite_db_name" >/dev/null 2>&1 || true
  fi
  [ -n "${SUITE_WORK:-}" ] && rm -rf "$SUITE_WORK"
  return 0
}
