#!/usr/bin/env bash
# Bindings: build libfaceid_ffi, generate Kotlin (JVM + Android flavours) and Swift from it (a
# generation failure fails the suite), then compile the JVM Kotlin with the real Kotlin compiler
# and run its JUnit tests through JNA against the real library (Maven; dependencies come from
# Maven Central into ~/.m2 on first run).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
target_dir=${CARGO_TARGET_DIR:-$root/target}

bash bindings/generate.sh
command -v mvn >/dev/null 2>&1 || {
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq maven default-jdk-headless
  else
    echo "error: Maven (mvn) is needed for the Kotlin binding tests: apt-get install -y maven" >&2; exit 1
  fi
}
mvn -B -ntp -f bindings/kotlin/pom.xml test -Dfaceid.lib.dir="$target_dir/debug" \
  ${FACEID_TEST_SERVER_URL:+-Dfaceid.server.url="$FACEID_TEST_SERVER_URL"}
