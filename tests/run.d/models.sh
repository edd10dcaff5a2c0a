#!/usr/bin/env bash
# Models pipeline tests (models/tests): the dlib converter against the reference ONNX on real face
# chips, and models/fetch.sh. Uses a venv outside the clone, reused between runs:
# ${FACEID_VENV:-$HOME/.cache/faceid/venv}, (re)installing models/requirements.txt when it changes.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
export FACEID_SHARED_DIR=${FACEID_SHARED_DIR:-$root/../shared}
venv=${FACEID_VENV:-$HOME/.cache/faceid/venv}
req=models/requirements.txt

py=""
for cand in python3 python3.12 python3.11; do
  if "$cand" -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1; then py=$cand; break; fi
done
[ -n "$py" ] || { echo "tests/run.d/models.sh: needs Python 3.11+ (python3) with the venv module" >&2; exit 1; }

if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then
  echo "creating venv $venv" >&2
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "$py" -m venv "$venv"
fi
stamp="$venv/.faceid-models-requirements.sha256"
want=$(sha256sum "$req" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
  echo "installing $req into $venv" >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$req"
  echo "$want" >"$stamp"
fi

export FACEID_VENV=$venv
exec "$venv/bin/python" -m pytest -p no:cacheprovider -rs models/tests "$@"
