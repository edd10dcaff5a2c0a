#!/usr/bin/env bash
# aapt2: compile the app's resources and the customer's overlay, link them against the framework
# into target/resources.ap_ (manifest + resources: the base of the APK and what Robolectric loads)
# and generate R.java. Usage: link-resources.sh TARGET APP_ID R_PACKAGE MIN_SDK TARGET_SDK VERSION_CODE VERSION_NAME FRAMEWORK_RES
set -euo pipefail
target=$1 app_id=$2 r_package=$3 min_sdk=$4 target_sdk=$5 version_code=$6 version_name=$7 framework=$8
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
[ -f "$framework" ] || { echo "error: $framework missing: apt-get install -y android-framework-res aapt" >&2; exit 1; }
rm -rf "$target/res-compiled" "$target/generated-sources/r"
mkdir -p "$target/res-compiled" "$target/generated-sources/r" "$target/merged-manifest"
aapt2 compile --dir "$here/app/src/main/res" -o "$target/res-compiled/main.zip"
aapt2 compile --dir "$target/customer-res" -o "$target/res-compiled/customer.zip"
# The manifest as installed (package = the customer's application id), for Robolectric.
# `${applicationId}` as Gradle's manifest merger fills it (the export provider's authority).
sed -e "s/package=\"[^\"]*\"/package=\"$app_id\"/" -e 's/[$]{applicationId}/'"$app_id"'/g' "$here/app/src/main/AndroidManifest.xml" \
  > "$target/merged-manifest/AndroidManifest.xml"
aapt2 link -I "$framework" --manifest "$target/merged-manifest/AndroidManifest.xml" \
  --min-sdk-version "$min_sdk" --target-sdk-version "$target_sdk" \
  --version-code "$version_code" --version-name "$version_name" \
  --custom-package "$r_package" --java "$target/generated-sources/r" \
  -o "$target/resources.ap_" "$target/res-compiled/main.zip" -R "$target/res-compiled/customer.zip" \
  --auto-add-overlay
