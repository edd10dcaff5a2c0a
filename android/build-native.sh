#!/usr/bin/env bash
# Builds libfaceid_ffi.so for the Android ABIs into the app's jniLibs and generates the
# Android-flavour Kotlin bindings. Needs the Android NDK (ANDROID_NDK_HOME) and cargo-ndk
# (`cargo install cargo-ndk`); run it before the Gradle build of the app.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
[ -n "${ANDROID_NDK_HOME:-}" ] || { echo "error: set ANDROID_NDK_HOME to the Android NDK" >&2; exit 1; }
command -v cargo-ndk >/dev/null 2>&1 || { echo "error: install cargo-ndk: cargo install cargo-ndk" >&2; exit 1; }
rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android
cargo ndk -t arm64-v8a -t armeabi-v7a -t x86_64 --platform 26 \
  -o android/app/src/main/jniLibs build --release --locked -p faceid-ffi
bash bindings/generate.sh --release          # android/app/src/main/generated (Android flavour)
echo "native libraries in android/app/src/main/jniLibs" >&2
