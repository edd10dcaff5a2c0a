#!/usr/bin/env bash
# The OpenAPI document against the real server: schemathesis (PyPI) generates requests from
# /api/v1/openapi.json, as an administrator and as an employee, for a bounded number of
# examples per operation, and fails on any 5xx or any answer the document does not describe
# (status, content type, schema, an undeclared method, a valid request refused, an invalid one
# accepted). Configuration and the rules the schema cannot express: tests/schemathesis/.
# Needs DATABASE_URL (tests/run.sh exports it); schemathesis goes into a virtualenv under the
# target dir.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source tests/support/postgres.sh
source tests/support/venv.sh
source tests/support/server.sh
target_dir=${CARGO_TARGET_DIR:-$root/target}

if [ -z "${DATABASE_URL:-}" ]; then
  echo "warning: DATABASE_URL is not set: schemathesis did not run" >&2; exit 0
fi
[ -x "$target_dir/debug/faceid-server" ] || cargo build --locked -p faceid-server

venv="$target_dir/schemathesis-venv"
version=4.32.5
if [ "$("$venv/bin/st" --version 2>/dev/null)" != "st, version $version" ]; then
  make_venv "$venv" "schemathesis==$version"
fi

start_suite_server schemathesis
api="$SUITE_SERVER_URL/api/v1"

# A bearer token for LOGIN / PASSWORD from a desktop device.
token() {
  curl -fsS -X POST "$api/auth/login" -H 'content-type: application/json' \
    -d "{\"login\":\"$1\",\"password\":\"$2\",\"device\":{\"id\":\"$(cat /proc/sys/kernel/random/uuid)\",\"name\":\"schemathesis\",\"platform\":\"desktop\",\"app_version\":\"1\"}}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
admin_token=$(token "$SUITE_ADMIN_LOGIN" "$SUITE_ADMIN_PASSWORD")
user_password="user-$(head -c 9 /dev/urandom | od -An -tx1 | tr -d ' \n')"
curl -fsS -o /dev/null -X POST "$api/employees" -H "Authorization: Bearer $admin_token" \
  -H 'content-type: application/json' \
  -d "{\"login\":\"st.user\",\"password\":\"$user_password\",\"first_name\":\"Schema\",\"last_name\":\"Thesis\",\"role\":\"user\",\"must_change_password\":false}"
user_token=$(token st.user "$user_password")

status=0
for who in admin user; do
  tok_var="${who}_token"
  echo "schemathesis as $who" >&2
  # Logging out would end the run's own session; wrong current passwords would lock the account;
  # the today view's event stream never ends (backend/tests/web_panel.rs tests it).
  # From the scratch directory: schemathesis keeps its example cache in the working directory.
  # One worker: hypothesis's lambda-source cache is not thread-safe (a "Runtime Error" in 4.32.5).
  (cd "$SUITE_WORK" && "$venv/bin/st" --config-file "$root/tests/schemathesis/schemathesis.toml" run "$api/openapi.json" \
    -H "Authorization: Bearer ${!tok_var}" \
    --checks all \
    --max-examples "${FACEID_SCHEMATHESIS_EXAMPLES:-25}" \
    --phases examples,coverage,fuzzing \
    --seed 20261206 \
    --workers 1 \
    --exclude-path-regex '/auth/(web/)?logout$|/me/password$|/reports/today/stream$' \
    --no-color \
    --report junit --report-dir "$SUITE_WORK/report-$who") || status=1
done
if [ "$status" != 0 ]; then suite_server_log_tail 40; fi
exit "$status"
