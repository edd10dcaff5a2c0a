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
if [ -n "${DATABASE_URL:-}" ]; then
  source tests/support/server.sh
  start_suite_server android
  server_args=(-Dfaceid.server.url="$SUITE_SERVER_URL" -Dfaceid.admin.login="$SUITE_ADMIN_LOGIN"
    -Dfaceid.admin.password="$SUITE_ADMIN_PASSWORD")
else
  echo "DATABASE_URL not set: the tests against a real server will SKIP" >&2
fi

status=0
mvn -B -ntp -f android/pom.xml verify -Dfaceid.lib.dir="$target_dir/debug" \
  -Dfaceid.model.dir="$model_dir" -Dfaceid.faces.dir="$root/../shared/faces" "${server_args[@]}" || status=$?
[ "$status" = 0 ] || suite_server_log_tail 80
exit "$status"
