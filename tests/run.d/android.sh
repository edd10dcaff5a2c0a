#!/usr/bin/env bash
# The Android app (android/): compiled against android-all, Robolectric + JVM tests, a signed
# debug APK checked by its badging and signature — `mvn -f android/pom.xml verify`.
# Runs before bindings.sh (alphabetical), so it generates the bindings itself (cheap when the
# build is warm). With DATABASE_URL (tests/run.sh exports it), a real faceid-server is started on
# a fresh database for the app's story test (through its view-models); without it that test
# skips and says so. Installs aapt/aapt2/zipalign/apksigner/framework-res/maven when missing.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source tests/support/postgres.sh
target_dir=${CARGO_TARGET_DIR:-$root/target}

missing=()
for tool in aapt aapt2 zipalign apksigner mvn zip; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
[ -f /usr/share/android-framework-res/framework-res.apk ] || missing+=(android-framework-res)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq aapt zipalign apksigner android-framework-res maven zip default-jdk-headless
  else
    echo "error: missing ${missing[*]}: apt-get install -y aapt zipalign apksigner android-framework-res maven zip" >&2; exit 1
  fi
fi

if [ -z "${FACEID_SKIP_GENERATE:-}" ]; then bash bindings/generate.sh; fi
bash android/tools/generate-bindings.sh "$target_dir/debug"

model_dir=${FACEID_MODEL_DIR:-$root/models/cache}
[ -f "$model_dir/face_detection_yunet_2026may.onnx" ] \
  || echo "warning: no face models in $model_dir (bash models/fetch.sh): the app's story test will skip" >&2
server_args=()
server_pid=""
work=$(mktemp -d /tmp/faceid-android.XXXXXX)
db_name="faceid_android_$$"
admin_url=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  if [ -n "$admin_url" ]; then psql -q "$admin_url" -c "DROP DATABASE IF EXISTS $db_name" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

if [ -n "${DATABASE_URL:-}" ]; then
  server="$target_dir/debug/faceid-server"
  psql_bin=$(command -v psql || echo "$(pg_bindir)/psql")
  admin_url=$DATABASE_URL
  "$psql_bin" -q "$admin_url" -c "CREATE DATABASE $db_name" >/dev/null
  base=${DATABASE_URL%%\?*}; query=${DATABASE_URL#"$base"}
  db_url="${base%/*}/$db_name$query"
  port=$(free_tcp_port)
  password="android-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  export FACEID_DATABASE_URL=$db_url DATABASE_URL=$db_url FACEID_ANDROID_ADMIN_PASSWORD=$password
  "$server" migrate --data-dir "$work/data"
  "$server" admin create --data-dir "$work/data" --login android.admin --name "Android Admin" \
    --password-env FACEID_ANDROID_ADMIN_PASSWORD
  FACEID_MODEL_DIR=$model_dir "$server" serve --data-dir "$work/data" --listen "127.0.0.1:$port" >"$work/server.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 100); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then break; fi
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "faceid-server for the Android story at http://127.0.0.1:$port (pid $server_pid)" >&2
  server_args=(-Dfaceid.server.url="http://127.0.0.1:$port" -Dfaceid.admin.login=android.admin
    -Dfaceid.admin.password="$password")
else
  echo "DATABASE_URL not set: the app's story test against a real server will SKIP" >&2
fi

status=0
mvn -B -ntp -f android/pom.xml verify -Dfaceid.lib.dir="$target_dir/debug" \
  -Dfaceid.model.dir="$model_dir" -Dfaceid.faces.dir="$root/../shared/faces" "${server_args[@]}" || status=$?
if [ "$status" != 0 ] && [ -f "$work/server.log" ]; then
  echo "---- faceid-server log (last 80 lines) ----" >&2; tail -n 80 "$work/server.log" >&2
fi
exit "$status"
