#!/usr/bin/env bash
# Generates the Android-flavour Kotlin bindings into app/src/main/generated from an already
# built libfaceid_ffi (no cargo): bindings/generate.sh does the same after building. Usage:
# tools/generate-bindings.sh [TARGET_PROFILE_DIR]  (default: $CARGO_TARGET_DIR/debug or ../target/debug)
set -euo pipefail
android=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
root=$(dirname "$android")
dir=${1:-${CARGO_TARGET_DIR:-$root/target}/debug}
lib="$dir/libfaceid_ffi.so"
[ -f "$lib" ] && [ -x "$dir/uniffi-bindgen" ] || { echo "error: no $lib / uniffi-bindgen: run bindings/generate.sh" >&2; exit 1; }
out="$android/app/src/main/generated"
rm -rf "$out"; mkdir -p "$out"
(cd "$root" && "$dir/uniffi-bindgen" generate --library "$lib" --language kotlin --out-dir "$out" --no-format \
  --config bindings/ffi/uniffi-android.toml)
echo "Android bindings generated from $lib" >&2
