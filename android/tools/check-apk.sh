#!/usr/bin/env bash
# CI check of the built APK: its badging (package, permissions, the location foreground service,
# the boot receiver, the launcher activity) and a valid v2 + v3 signature.
# With MODEL_DIR holding the face models, the APK must carry each of them (assets/models/) and
# their manifest. Usage: check-apk.sh APK APPLICATION_ID [MODEL_DIR]
set -euo pipefail
apk=$1 app_id=$2 model_dir=${3:-}
fail() { echo "APK check failed: $*" >&2; exit 1; }
badging=$(aapt dump badging "$apk")
echo "$badging" > "${apk%.apk}.badging.txt"
grep -q "^package: name='$app_id'" <<<"$badging" || fail "package is not $app_id"
for p in CAMERA ACCESS_FINE_LOCATION ACCESS_COARSE_LOCATION ACCESS_BACKGROUND_LOCATION FOREGROUND_SERVICE \
  FOREGROUND_SERVICE_LOCATION RECEIVE_BOOT_COMPLETED POST_NOTIFICATIONS INTERNET ACCESS_NETWORK_STATE; do
  grep -q "^uses-permission: name='android.permission.$p'" <<<"$badging" || fail "permission $p missing"
done
grep -q "^launchable-activity: name='app.faceid.app" <<<"$badging" || fail "no launcher activity"
# Components and attributes badging does not show: the compiled manifest tree.
tree=$(aapt dump xmltree "$apk" AndroidManifest.xml)
service=$(awk '/E: service/{s=1} s{print} /E: (receiver|activity|provider)/{if(s)exit}' <<<"$tree")
grep -q 'A: android:name.*"app.faceid.app.location.LocationService"' <<<"$service" || fail "no LocationService"
# foregroundServiceType: location = 0x8
grep -q 'android:foregroundServiceType(0x[0-9a-f]*)=(type 0x11)0x8' <<<"$service" || fail "service type is not location"
grep -q '"app.faceid.app.location.BootReceiver"' <<<"$tree" || fail "no boot receiver"
grep -q '"android.intent.action.BOOT_COMPLETED"' <<<"$tree" || fail "no BOOT_COMPLETED filter"
grep -q '"android.intent.action.MY_PACKAGE_REPLACED"' <<<"$tree" || fail "no MY_PACKAGE_REPLACED filter"
if [ -n "$model_dir" ] && [ -f "$model_dir/face_detection_yunet_2026may.onnx" ]; then
  listing=$(unzip -l "$apk")
  for f in manifest.tsv face_detection_yunet_2026may.onnx dlib_resnet_v1_128.onnx mobilefacenet_foamliu.onnx \
    minifasnet_v2_2.7_80x80.onnx minifasnet_v1se_4.0_80x80.onnx; do
    grep -q " assets/models/$f\$" <<<"$listing" || fail "model $f not in the APK"
  done
fi
verify=$(apksigner verify -v "$apk")
grep -q "Verified using v2 scheme (APK Signature Scheme v2): true" <<<"$verify" || fail "no v2 signature"
grep -q "Verified using v3 scheme (APK Signature Scheme v3): true" <<<"$verify" || fail "no v3 signature"
echo "APK check passed: $apk" >&2
grep -E "^(package|sdkVersion|targetSdkVersion|uses-permission|application-label|launchable-activity|native-code)" <<<"$badging" >&2
