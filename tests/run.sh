#!/usr/bin/env bash
# The whole FaceID test suite. README names this command and .ci/run calls it.
# Installs what a fresh machine lacks (PostgreSQL, models from the mirror), checks format and
# lints, starts a throw-away PostgreSQL cluster, runs every test against it, and always stops it.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
source tests/support/postgres.sh

shared=${FACEID_SHARED_DIR:-$root/../shared}
export FACEID_SHARED_DIR=$shared

step() { printf '\n==> %s\n' "$*" >&2; }

step "prerequisites"
ensure_postgres

step "models"
if [ -d "$shared/models" ]; then
  bash models/fetch.sh --mirror "$shared/models"
else
  echo "warning: no model mirror at $shared/models: face-engine tests will skip" >&2
fi

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

step "no import circles between the backend's modules"
python3 tests/support/module_cycles.py

step "throw-away PostgreSQL"
pg_dir=$(mktemp -d /tmp/faceid-test-pg.XXXXXX)
trap stop_test_cluster EXIT
start_test_cluster "$pg_dir"

step "cargo test --workspace"
cargo test --workspace --locked --no-fail-fast

for extra in tests/run.d/*.sh; do
  [ -e "$extra" ] || continue
  step "$extra"
  bash "$extra"
done
