#!/usr/bin/env bash
# Bindings: build libfaceid_ffi, generate Kotlin (JVM + Android flavours) and Swift from it (a
# generation failure fails the suite), then compile the JVM Kotlin with the real Kotlin compiler
# and run its JUnit tests through JNA against the real library (Maven; dependencies come from
# Maven Central into ~/.m2 on first run).
#
# When DATABASE_URL is set (tests/run.sh exports it), a real faceid-server is started on a free
# loopback port against a fresh database of that cluster, an administrator is created, and the
# Kotlin tests log in to it; the server is stopped and the database dropped at the end, also on
# failure. Without DATABASE_URL the tests that need a server skip (and say so).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source tests/support/postgres.sh
target_dir=${CARGO_TARGET_DIR:-$root/target}

bash bindings/generate.sh
command -v mvn >/dev/null 2>&1 || {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven default-jdk-headless
  else
    echo "error: Maven (mvn) is needed for the Kotlin binding tests: apt-get install -y maven" >&2; exit 1
  fi
}

# The face models for the Kotlin captures and for the server's check-in (else it answers 503).
model_dir=${FACEID_MODEL_DIR:-$root/models/cache}
[ -f "$model_dir/face_detection_yunet_2026may.onnx" ] \
  || echo "warning: no face models in $model_dir (bash models/fetch.sh): the face tests will skip" >&2
server_args=()
server_pid=""
work=$(mktemp -d /tmp/faceid-bindings.XXXXXX)
db_name="faceid_bindings_$$"
admin_url=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$admin_url" ]; then
    psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db_name" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${DATABASE_URL:-}" ]; then
  # Built by bindings/generate.sh above (cargo build --workspace --all-targets).
  server="$target_dir/debug/faceid-server"
  psql_bin=$(command -v psql || echo "$(pg_bindir)/psql")
  admin_url=$DATABASE_URL
  "$psql_bin" -q "$admin_url" -c "CREATE DATABASE $db_name" >/dev/null
  # Same cluster, the fresh database: replace the path of the URL (keeping any ?query).
  base=${DATABASE_URL%%\?*}; query=${DATABASE_URL#"$base"}
  db_url="${base%/*}/$db_name$query"
  port=$(free_tcp_port)
  password="bindings-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  export FACEID_DATABASE_URL=$db_url DATABASE_URL=$db_url
  export FACEID_BINDINGS_ADMIN_PASSWORD=$password
  "$server" migrate --data-dir "$work/data"
  "$server" admin create --data-dir "$work/data" --login bindings.admin --name "Bindings Admin" \
    --password-env FACEID_BINDINGS_ADMIN_PASSWORD
  FACEID_MODEL_DIR=$model_dir "$server" serve --data-dir "$work/data" --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null \
      || (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "faceid-server for the bindings tests at http://127.0.0.1:$port (pid $server_pid)" >&2
  server_args=(-Dfaceid.server.url="http://127.0.0.1:$port" -Dfaceid.admin.login=bindings.admin
    -Dfaceid.admin.password="$password")
fi

status=0
mvn -B -ntp -f bindings/kotlin/pom.xml test -Dfaceid.lib.dir="$target_dir/debug" \
  -Dfaceid.model.dir="$model_dir" -Dfaceid.faces.dir="$root/../shared/faces" \
  "${server_args[@]}" || status=$?
if [ "$status" != 0 ] && [ -f "$work/server.log" ]; then
  echo "---- faceid-server log (last 80 lines) ----" >&2; tail -n 80 "$work/server.log" >&2
fi
exit "$status"
