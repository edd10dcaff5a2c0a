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
if [ -n "${DATABASE_URL:-}" ]; then
  source tests/support/server.sh
  start_suite_server bindings
  server_args=(-Dfaceid.server.url="$SUITE_SERVER_URL" -Dfaceid.admin.login="$SUITE_ADMIN_LOGIN"
    -Dfaceid.admin.password="$SUITE_ADMIN_PASSWORD")
else
  echo "DATABASE_URL not set: the tests against a real server will SKIP" >&2
fi

status=0
mvn -B -ntp -f bindings/kotlin/pom.xml test -Dfaceid.lib.dir="$target_dir/debug" \
  -Dfaceid.model.dir="$model_dir" -Dfaceid.faces.dir="$root/../shared/faces" \
  "${server_args[@]}" || status=$?
[ "$status" = 0 ] || suite_server_log_tail 80
exit "$status"
