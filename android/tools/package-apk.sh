#!/usr/bin/env bash
# The debug APK: the app's classes and runtime jars dexed by D8, added to the linked resources
# with JNA's Android libjnidispatch.so per ABI, zip-aligned and signed with a debug key (made once
# by keytool in ~/.android/faceid-debug.keystore), and the face models of MODEL_DIR (verified
# against models/manifest.toml) as assets/models/ with their manifest.tsv, which the app installs
# into files/models on first start. Usage: package-apk.sh TARGET FINAL_NAME MIN_SDK CUSTOMER MODEL_DIR
set -euo pipefail
target=$1 final=$2 min_sdk=$3 customer=$4 model_dir=${5:-}
work="$target/apk"
rm -rf "$work"; mkdir -p "$work/dex" "$work/stage"
# D8 wants jars, not class directories.
(cd "$target/classes" && jar cf "$work/app-classes.jar" .)
jars=("$work/app-classes.jar")
for j in "$target"/apk-jars/*.jar; do
  case "$(basename "$j")" in annotations-*) continue ;; esac # compile-time only
  jars+=("$j")
done
# android-all has no java.* classes: the JDK is the other library D8 desugars against.
jdk=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
java -cp "$target/apk-tools/r8.jar" com.android.tools.r8.D8 --release --min-api "$min_sdk" \
  --lib "$target/apk-tools/android-all.jar" --lib "$jdk" --output "$work/dex" "${jars[@]}"
cp "$target/resources.ap_" "$work/unaligned.apk"
cp "$work"/dex/classes*.dex "$work/stage/"
# JNA's own native dispatcher for Android ABIs (the core's libfaceid_ffi.so per ABI comes from
# android/build-native.sh with the NDK, which this machine lacks: see README.md).
for abi in arm64-v8a armeabi-v7a x86_64; do
  if [ -f "$target/aars/jna/jni/$abi/libjnidispatch.so" ]; then
    mkdir -p "$work/stage/lib/$abi"; cp "$target/aars/jna/jni/$abi/libjnidispatch.so" "$work/stage/lib/$abi/"
  fi
  if [ -d "$(dirname "$target")/app/src/main/jniLibs/$abi" ]; then
    mkdir -p "$work/stage/lib/$abi"; cp "$(dirname "$target")/app/src/main/jniLibs/$abi/"*.so "$work/stage/lib/$abi/"
  fi
done
# The face models (verified against models/manifest.toml) as assets/models/, stored uncompressed.
bash "$(dirname "$0")/stage-models.sh" "$model_dir" "$work/stage/assets/models"
# Native libraries stored uncompressed (page-aligned by zipalign -p) so they load in place.
(cd "$work/stage" && zip -q -X "$work/unaligned.apk" classes*.dex && { [ ! -d lib ] || zip -q -X -0 -r "$work/unaligned.apk" lib; } \
  && { [ ! -d assets ] || zip -q -X -0 -r "$work/unaligned.apk" assets; })
zipalign -f -p 4 "$work/unaligned.apk" "$work/aligned.apk"
keystore=${FACEID_DEBUG_KEYSTORE:-$HOME/.android/faceid-debug.keystore}
if [ ! -f "$keystore" ]; then
  mkdir -p "$(dirname "$keystore")"
  keytool -genkeypair -keystore "$keystore" -storepass android -keypass android -alias androiddebugkey \
    -keyalg RSA -keysize 2048 -validity 10000 -dname "CN=FaceID Debug,O=FaceID,C=US" >/dev/null 2>&1
fi
apk="$target/faceid-$customer-debug.apk"
apksigner sign --ks "$keystore" --ks-pass pass:android --key-pass pass:android \
  --v2-signing-enabled true --v3-signing-enabled true --out "$apk" "$work/aligned.apk"
echo "APK: $apk ($(stat -c %s "$apk") bytes)" >&2
