#!/usr/bin/env bash
# Web panel: installs its dependencies (npm ci, when package-lock.json is newer than the installed
# tree), checks that the committed API types are the ones
# generated from the server's OpenAPI document, type-checks (tsc --noEmit), runs the unit tests
# (vitest), then, when DATABASE_URL is set (tests/run.sh exports it), runs the Playwright
# end-to-end suite in Debian's Chromium against a real faceid-server on a free loopback port and
# a fresh database of that cluster. Chromium and ffmpeg are installed with apt-get when missing
# (as root). Screenshots go to $FACEID_WEB_ARTEFACTS (default: <target>/web-e2e).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source tests/support/postgres.sh
target_dir=${CARGO_TARGET_DIR:-$root/target}
web=$root/backend/web
chromium=${CHROMIUM_PATH:-/usr/lib/chromium/chromium}

command -v npm >/dev/null 2>&1 || { echo "error: Node.js >= 20 and npm are needed: apt-get install -y nodejs npm" >&2; exit 1; }
missing=()
[ -x "$chromium" ] || missing+=(chromium)
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  else
    echo "error: ${missing[*]} needed for the web panel tests: apt-get install -y ${missing[*]}" >&2; exit 1
  fi
fi

cd "$web"
# build.rs installs the same tree: install again only when the lock file is newer than it.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --prefer-offline
fi
# The committed schema.d.ts must be what openapi-typescript makes of the committed openapi.json
# (which `cargo test --test web_panel` checks against the server).
generated=$(mktemp /tmp/faceid-schema.XXXXXX.d.ts)
npx openapi-typescript src/api/openapi.json -o "$generated" >/dev/null
if ! diff -q "$generated" src/api/schema.d.ts >/dev/null; then
  diff -u src/api/schema.d.ts "$generated" | head -40 >&2
  rm -f "$generated"
  echo "error: backend/web/src/api/schema.d.ts is stale: run 'npm run gen:api' in backend/web" >&2; exit 1
fi
rm -f "$generated"
npx tsc --noEmit
npx vitest run
# Initial JavaScript within its budget (maps load lazily).
dist=$(mktemp -d /tmp/faceid-web-dist.XXXXXX)
npx vite build --outDir "$dist" --emptyOutDir --logLevel warn
node scripts/bundle-size.mjs "$dist"
rm -rf "$dist"

if [ -z "${DATABASE_URL:-}" ]; then
  echo "warning: DATABASE_URL is not set: the web panel end-to-end tests did not run" >&2
  exit 0
fi

cd "$root"
# The server embeds the panel at build time: make sure it carries these sources (a no-op after
# tests/run.sh's cargo test, same targets and features).
cargo build --workspace --all-targets --locked
source tests/support/server.sh
start_suite_server web
model_dir=${FACEID_MODEL_DIR:-$root/models/cache}
faces=${FACEID_SHARED_DIR:-$root/../shared}/faces
work=$SUITE_WORK
artefacts=${FACEID_WEB_ARTEFACTS:-$target_dir/web-e2e}

export FACEID_E2E_URL=$SUITE_SERVER_URL FACEID_E2E_ADMIN=$SUITE_ADMIN_LOGIN FACEID_E2E_PASSWORD=$SUITE_ADMIN_PASSWORD
# The suite's own database, for a failed background job to retry and discard (no API makes one).
export FACEID_E2E_DATABASE_URL=$SUITE_DATABASE_URL FACEID_E2E_PSQL=$(command -v psql || echo "$(pg_bindir)/psql")
export CHROMIUM_PATH=$chromium
export FACEID_E2E_SHOTS=$artefacts
rm -rf "$artefacts"; mkdir -p "$artefacts"
# Enrolment photos and a fake camera showing another photo of the same person: 2 s of an empty
# scene (plain grey), then the person for 12 s (the kiosk prompts only once its motion-based
# presence detection sees someone arrive), looped; and a camera showing only the empty scene.
if [ -f "$model_dir/face_detection_yunet_2026may.onnx" ] && [ -d "$faces/face_recognition/barack_obama" ]; then
  export FACEID_E2E_FACES=$faces FACEID_E2E_ENROL=face_recognition/barack_obama/obama.jpg,face_recognition/barack_obama/obama-480p.jpg
  ffmpeg -loglevel error -y -loop 1 -framerate 15 -t 14 -i "$faces/face_recognition/barack_obama/obama-720p.jpg" \
    -filter_complex "[0:v]scale=640:-2,format=yuv420p,split[a][b];[a]trim=duration=2,drawbox=x=0:y=0:w=iw:h=ih:color=gray:t=fill[e];[b]trim=start=2,setpts=PTS-STARTPTS[p];[e][p]concat=n=2:v=1:a=0[v]" \
    -map "[v]" -r 15 -pix_fmt yuv420p "$work/camera.y4m"
  ffmpeg -loglevel error -y -f lavfi -i "color=c=gray:s=640x360:r=15:d=3" -pix_fmt yuv420p "$work/empty.y4m"
  export FACEID_E2E_CAMERA=$work/camera.y4m FACEID_E2E_EMPTY_CAMERA=$work/empty.y4m
else
  echo "warning: no face models in $model_dir or no photos in $faces: enrolment and kiosk tests skip" >&2
fi

status=0
(cd "$web" && npx playwright test) || status=$?
[ "$status" = 0 ] || suite_server_log_tail 60
echo "web panel screenshots: $artefacts" >&2
exit "$status"
