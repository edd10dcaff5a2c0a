#!/usr/bin/env bash
# Stages the face models for the APK: every file of models/manifest.toml from MODEL_DIR (the model
# cache, `bash models/fetch.sh`; never committed), size and SHA-256 checked, into OUT_DIR with a
# manifest.tsv (file, sha256, bytes) the app verifies them against when it installs them into
# files/models on first start. Used by tools/package-apk.sh (Maven) and the Gradle build.
# Without models in MODEL_DIR it warns and stages nothing. Usage: stage-models.sh MODEL_DIR OUT_DIR
set -euo pipefail
model_dir=${1:-} out=$2
rm -rf "$out"
manifest="$(cd "$(dirname "$0")/../.." && pwd)/models/manifest.toml"
if [ -n "$model_dir" ] && [ -f "$model_dir/face_detection_yunet_2026may.onnx" ]; then
  mkdir -p "$out"
  awk -F' = ' '/^\[\[model\]\]/{if(f)print f"\t"h"\t"b; f=h=b=""} $1=="file"{gsub(/"/,"",$2);f=$2} $1=="sha256"{gsub(/"/,"",$2);h=$2} $1=="bytes"{b=$2} END{if(f)print f"\t"h"\t"b}' \
    "$manifest" > "$out/manifest.tsv"
  while IFS=$'\t' read -r file sha bytes; do
    [ -f "$model_dir/$file" ] || { echo "error: model $file missing in $model_dir (bash models/fetch.sh)" >&2; exit 1; }
    actual=$(sha256sum "$model_dir/$file" | cut -d' ' -f1)
    [ "$actual" = "$sha" ] && [ "$(stat -c %s "$model_dir/$file")" = "$bytes" ] \
      || { echo "error: $model_dir/$file: expected sha256 $sha ($bytes bytes), got $actual" >&2; exit 1; }
    cp "$model_dir/$file" "$out/"
  done < "$out/manifest.tsv"
else
  echo "warning: no face models in '${model_dir}' (bash models/fetch.sh): the APK has none" >&2
fi

