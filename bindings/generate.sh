#!/usr/bin/env bash
# Builds the faceid-ffi library for this host and generates the bindings from it:
#   Kotlin, JVM flavour    -> bindings/kotlin/target/generated-sources/uniffi   (JVM tests)
#   Kotlin, Android flavour -> android/app/src/main/generated                   (the app)
#   Swift                  -> ios/FaceIDCore/Sources/FaceIDCore + headers       (the iOS package)
# Generated files are not committed. Usage: bindings/generate.sh [--release]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
profile=debug; cargo_flags=()
if [ "${1:-}" = "--release" ]; then profile=release; cargo_flags=(--release); fi
target_dir=${CARGO_TARGET_DIR:-$root/target}

if [ "$profile" = debug ]; then
  # The whole workspace with every target: the same feature set as `cargo test --workspace`, so
  # the test build's artifacts are reused (a `-p` selection would rebuild tract and friends).
  # This also builds faceid-server, which tests/run.d/bindings.sh starts.
  cargo build -q --workspace --all-targets
else
  cargo build -q -p faceid-ffi -p uniffi-bindgen "${cargo_flags[@]}"
fi
ext=so; [ "$(uname -s)" = Darwin ] && ext=dylib
lib="$target_dir/$profile/libfaceid_ffi.$ext"
[ -f "$lib" ] || { echo "error: $lib was not built" >&2; exit 1; }
bindgen="$target_dir/$profile/uniffi-bindgen"

# bindings/ffi/uniffi.toml is read automatically; extra arguments are passed to the generator.
gen() { # language out-dir [generator args...]
  local language=$1 out=$2; shift 2
  rm -rf "$out"; mkdir -p "$out"
  "$bindgen" generate --library "$lib" --language "$language" --out-dir "$out" --no-format "$@"
}
gen kotlin bindings/kotlin/target/generated-sources/uniffi
gen kotlin android/app/src/main/generated --config bindings/ffi/uniffi-android.toml
swift_out=ios/FaceIDCore/Sources/FaceIDCore
gen swift "$swift_out"
# The C header and module map belong to the FFI module the Swift package links.
ffi_dir=ios/FaceIDCore/Sources/FaceIDCoreFFI/include
rm -rf "$ffi_dir"; mkdir -p "$ffi_dir"
mv "$swift_out"/FaceIDCoreFFI.h "$ffi_dir"/
mv "$swift_out"/FaceIDCoreFFI.modulemap "$ffi_dir"/module.modulemap
for f in "$swift_out"/*.swift; do
  grep -q "FaceIDCoreFFI" "$f" || { echo "error: $f does not import FaceIDCoreFFI" >&2; exit 1; }
done
echo "bindings generated from $lib" >&2
