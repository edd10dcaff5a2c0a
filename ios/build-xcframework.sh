#!/usr/bin/env bash
# Builds ios/FaceIDCore/FaceIDCoreFFI.xcframework on a Mac with Xcode and rustup:
#   device slice      aarch64-apple-ios
#   simulator slice   aarch64-apple-ios-sim + x86_64-apple-ios, merged with lipo
# then regenerates the Swift bindings and headers. Only runs on macOS (xcodebuild, lipo).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
[ "$(uname -s)" = Darwin ] || { echo "error: building the XCFramework needs macOS with Xcode" >&2; exit 1; }
target_dir=${CARGO_TARGET_DIR:-$root/target}
targets=(aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios)
rustup target add "${targets[@]}"
for t in "${targets[@]}"; do
  cargo build --release --locked -p faceid-ffi --target "$t"
done
bash bindings/generate.sh --release          # Swift sources + FaceIDCoreFFI.h + module.modulemap
sim="$target_dir/ios-sim-universal"
mkdir -p "$sim"
lipo -create \
  "$target_dir/aarch64-apple-ios-sim/release/libfaceid_ffi.a" \
  "$target_dir/x86_64-apple-ios/release/libfaceid_ffi.a" \
  -output "$sim/libfaceid_ffi.a"
out=ios/FaceIDCore/FaceIDCoreFFI.xcframework
rm -rf "$out"
headers=ios/FaceIDCore/Sources/FaceIDCoreFFI/include
xcodebuild -create-xcframework \
  -library "$target_dir/aarch64-apple-ios/release/libfaceid_ffi.a" -headers "$headers" \
  -library "$sim/libfaceid_ffi.a" -headers "$headers" \
  -output "$out"
echo "built $out" >&2
