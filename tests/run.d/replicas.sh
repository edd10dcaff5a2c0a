#!/usr/bin/env bash
# Two faceid-server replicas on one PostgreSQL database, the photo store on an S3-compatible
# server (moto in server mode, from PyPI), driven by tests/replicas/two_replicas.py: racing
# check-ins and kiosk identifications across the replicas, then the chain, idempotency, login
# limits, refresh rotation, periodic jobs and photos checked (see the driver's docstring).
# Needs DATABASE_URL (tests/run.sh exports it), the face models and ../shared/faces; skips with
# a warning without them. moto, boto3 and requests go into a virtualenv under the target dir.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
source tests/support/postgres.sh
source tests/support/venv.sh
target_dir=${CARGO_TARGET_DIR:-$root/target}
server="$target_dir/debug/faceid-server"
model_dir=${FACEID_MODEL_DIR:-$root/models/cache}
faces=${FACEID_SHARED_DIR:-$root/../shared}/faces

if [ -z "${DATABASE_URL:-}" ]; then
  echo "warning: DATABASE_URL is not set: the two-replica test did not run" >&2; exit 0
fi
if [ ! -f "$model_dir/face_detection_yunet_2026may.onnx" ] || [ ! -d "$faces/face_recognition" ]; then
  echo "warning: no face models in $model_dir or no photos in $faces: the two-replica test did not run" >&2; exit 0
fi
[ -x "$server" ] || cargo build --locked -p faceid-server

venv="$target_dir/replicas-venv"
if [ ! -x "$venv/bin/moto_server" ]; then
  make_venv "$venv" 'moto[server]==5.2.6' 'boto3' 'requests'
fi

work=$(mktemp -d /tmp/faceid-replicas.XXXXXX)
db="faceid_replicas_$$"
psql_bin=$(command -v psql || echo "$(pg_bindir)/psql")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$psql_bin" -q "$DATABASE_URL" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# The S3 server and its bucket.
s3_port=$(free_tcp_port)
"$venv/bin/moto_server" -H 127.0.0.1 -p "$s3_port" >"$work/moto.log" 2>&1 &
pids+=($!)
export AWS_ACCESS_KEY_ID=replicas AWS_SECRET_ACCESS_KEY=replicas-secret AWS_DEFAULT_REGION=us-east-1
export AWS_ENDPOINT="http://127.0.0.1:$s3_port" AWS_ALLOW_HTTP=true
bucket=faceid-photos
for _ in $(seq 100); do
  curl -fsS -o /dev/null "$AWS_ENDPOINT/" 2>/dev/null && break
  sleep 0.1
done
"$venv/bin/python" -c "import boto3; boto3.client('s3', endpoint_url='$AWS_ENDPOINT').create_bucket(Bucket='$bucket')"

# One database, shared secrets, two data directories, two servers.
"$psql_bin" -q "$DATABASE_URL" -c "CREATE DATABASE $db" >/dev/null
base=${DATABASE_URL%%\?*}; query=${DATABASE_URL#"$base"}
export FACEID_DATABASE_URL="${base%/*}/$db$query"
export FACEID_JWT_SECRET=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export FACEID_DESCRIPTOR_KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
export FACEID_PHOTO_STORE_URL="s3://$bucket/photos"
export FACEID_MODEL_DIR=$model_dir FACEID_MODEL_FETCH=false
admin_password="replicas-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
"$server" migrate --data-dir "$work/a"
FACEID_ADMIN_PASSWORD=$admin_password "$server" admin create --data-dir "$work/a" \
  --login replicas.admin --name "Replica Admin" --password-env FACEID_ADMIN_PASSWORD
urls=()
for name in a b; do
  port=$(free_tcp_port)
  "$server" serve --data-dir "$work/$name" --listen "127.0.0.1:$port" >"$work/$name.log" 2>&1 &
  pids+=($!)
  urls+=("http://127.0.0.1:$port")
done
for url in "${urls[@]}"; do
  for _ in $(seq 300); do
    curl -fsS -o /dev/null "$url/healthz" 2>/dev/null && break
    sleep 0.2
  done
done

status=0
REPLICA_A=${urls[0]} REPLICA_B=${urls[1]} REPLICA_ADMIN=replicas.admin \
  REPLICA_ADMIN_PASSWORD=$admin_password REPLICA_DATABASE_URL=$FACEID_DATABASE_URL \
  REPLICA_PSQL=$psql_bin REPLICA_FACES=$faces REPLICA_BUCKET=$bucket \
  "$venv/bin/python" tests/replicas/two_replicas.py || status=$?
if [ "$status" != 0 ]; then
  for name in a b; do echo "---- replica $name (last 40 lines) ----" >&2; tail -n 40 "$work/$name.log" >&2; done
fi
exit "$status"
