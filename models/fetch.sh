#!/usr/bin/env bash
# Install the face engine's model files into the model cache, verified against models/manifest.toml.
#   bash models/fetch.sh --mirror DIR   copy from a local mirror (here and in CI: ../shared/models)
#   bash models/fetch.sh                download from the upstream sources (real users)
#   bash models/fetch.sh --check        only verify the cache
# Cache: models/cache/ (or $FACEID_MODEL_DIR, or --dest DIR). --help for all options.
# The work is done by models/fetch.py (Python standard library only); see models/README.md.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
py=${FACEID_FETCH_PYTHON:-}
if [ -z "$py" ]; then
  for cand in python3 python; do
    if command -v "$cand" >/dev/null 2>&1 &&
      "$cand" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)' 2>/dev/null; then
      py=$cand
      break
    fi
  done
fi
if [ -z "$py" ]; then
  echo "models/fetch.sh: needs Python 3.8 or later (python3) on PATH" >&2
  exit 2
fi
exec "$py" "$here/fetch.py" "$@"
