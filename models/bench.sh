#!/usr/bin/env bash
# Run models/bench_onnxruntime.py in the project venv (${FACEID_VENV:-$HOME/.cache/faceid/venv}),
# installing models/requirements-bench.txt first (onnxruntime; OpenCV for the reference pipeline,
# skipped with a note if it cannot be installed). Arguments go to the script, e.g. --json.
# Expects the models in the cache: bash models/fetch.sh --mirror ../shared/models
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
venv=${FACEID_VENV:-$HOME/.cache/faceid/venv}
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
stamp="$venv/.faceid-models-bench-requirements.sha256"
want=$(cat models/requirements.txt models/requirements-bench.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  if "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r models/requirements-bench.txt >&2; then
    echo "$want" >"$stamp"
  else
    echo "bench.sh: could not install models/requirements-bench.txt; trying without OpenCV" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r models/requirements.txt >&2
  fi
fi
exec "$venv/bin/python" models/bench_onnxruntime.py "$@"
