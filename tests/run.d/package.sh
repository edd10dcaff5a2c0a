#!/usr/bin/env bash
# The Debian package: built from the test build's faceid-server with packaging/deb/build.sh,
# its metadata and file list checked, the systemd unit verified by systemd-analyze, and the
# maintainer scripts run against a scratch root (DPKG_ROOT): the faceid system user appears,
# /var/lib/faceid and the configuration get their owners and modes, a purge removes the
# configuration and keeps the data. Then the packaged binary, run with the packaged
# configuration as the faceid user against the test PostgreSQL (DATABASE_URL), answers
# /healthz. Needs root for the ownership checks (CI runs as root); skips them otherwise.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
target=${CARGO_TARGET_DIR:-$root/target}
binary="$target/debug/faceid-server"
fail() { echo "package.sh: $*" >&2; exit 1; }

[ -x "$binary" ] || cargo build --locked -p faceid-server
work=$(mktemp -d /tmp/faceid-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
deb=$(bash packaging/deb/build.sh --binary "$binary" --out "$work")
[ -f "$deb" ] || fail "no package built"

# Metadata and files.
info=$(dpkg-deb --info "$deb")
for field in "Package: faceid" "Depends: adduser" "Recommends: postgresql"; do
  grep -q "$field" <<<"$info" || fail "control lacks '$field'"
done
contents=$(dpkg-deb --contents "$deb")
for path in ./usr/bin/faceid-server ./lib/systemd/system/faceid.service ./etc/faceid/faceid.toml \
  ./usr/share/doc/faceid/README.md ./usr/share/doc/faceid/operations.md; do
  grep -q " $path\$" <<<"$contents" || fail "package lacks $path"
done
if grep -v ' root/root ' <<<"$contents" | grep -q .; then fail "files not owned by root: $(grep -v ' root/root ' <<<"$contents")"; fi
# (Captured first: grep -q closing the pipe early would fail the pipeline under pipefail.)
control_files=$(dpkg-deb --ctrl-tarfile "$deb" | tar -t)
grep -qx './conffiles' <<<"$control_files" || fail "no conffiles"

# Unpack into a scratch root with the host's accounts, then run the maintainer scripts there.
scratch="$work/root"
mkdir -p "$scratch/etc" "$work/ctrl"
dpkg-deb --extract "$deb" "$scratch"
dpkg-deb --control "$deb" "$work/ctrl"
grep -qx /etc/faceid/faceid.toml "$work/ctrl/conffiles" || fail "faceid.toml is not a conffile"
for f in passwd group shadow gshadow; do [ -f "/etc/$f" ] && cp -p "/etc/$f" "$scratch/etc/$f"; done

if command -v systemd-analyze >/dev/null 2>&1; then
  # Against the host's systemd units, with ExecStart pointing at the unpacked binary (the
  # scratch root has no systemd of its own).
  sed "s#^ExecStart=/usr/bin/faceid-server#ExecStart=$scratch/usr/bin/faceid-server#" \
    "$scratch/lib/systemd/system/faceid.service" > "$work/faceid.service"
  systemd-analyze verify "$work/faceid.service" || fail "systemd-analyze verify refused the unit"
  exposure=$(systemd-analyze security --offline=true "$work/faceid.service" 2>/dev/null | tail -1 || true)
  echo "package.sh: systemd-analyze security: ${exposure:-n/a}" >&2
else
  echo "package.sh: systemd-analyze not installed: unit not verified" >&2
fi

if [ "$(id -u)" != 0 ]; then
  echo "package.sh: not root: maintainer scripts not run" >&2
  exit 0
fi
DPKG_ROOT="$scratch" sh "$work/ctrl/postinst" configure
grep -q '^faceid:' "$scratch/etc/passwd" || fail "postinst did not create the faceid user"
uid=$(awk -F: '$1 == "faceid" { print $3 }' "$scratch/etc/passwd")
[ "$uid" -lt 1000 ] || fail "faceid is not a system user (uid $uid)"
[ "$(stat -c '%u %a' "$scratch/var/lib/faceid")" = "$uid 750" ] || fail "/var/lib/faceid: $(stat -c '%u %a' "$scratch/var/lib/faceid")"
[ "$(stat -c '%u %a' "$scratch/etc/faceid/faceid.toml")" = "0 640" ] || fail "faceid.toml: $(stat -c '%u %a' "$scratch/etc/faceid/faceid.toml")"
# Configuring again (an upgrade) changes nothing and fails nothing.
DPKG_ROOT="$scratch" sh "$work/ctrl/postinst" configure 0.0.1
[ "$(grep -c '^faceid:' "$scratch/etc/passwd")" = 1 ] || fail "postinst created the user twice"

# The packaged binary with the packaged configuration, as an unprivileged user, on the test
# database: it starts and answers. (The host's faceid-less accounts: run as nobody.)
if [ -n "${DATABASE_URL:-}" ]; then
  state="$work/state"
  mkdir -p "$state"
  chown nobody "$state"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  sed -e "s#^data_dir = .*#data_dir = \"$state\"#" -e "s#^listen = .*#listen = \"127.0.0.1:$port\"#" \
    "$scratch/etc/faceid/faceid.toml" > "$work/faceid.toml"
  chmod 0644 "$work/faceid.toml"
  chmod 0755 "$work"
  db="faceid_package_$$"
  psql "$DATABASE_URL" -qc "CREATE DATABASE $db" >/dev/null
  FACEID_DATABASE_URL="${DATABASE_URL%/*}/$db" FACEID_MODEL_FETCH=false \
    runuser -u nobody -- "$scratch/usr/bin/faceid-server" --config "$work/faceid.toml" serve \
    >"$work/server.log" 2>&1 &
  pid=$!
  ok=""
  for _ in $(seq 1 120); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null; then ok=1; break; fi
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  psql "$DATABASE_URL" -qc "DROP DATABASE $db" >/dev/null
  [ -n "$ok" ] || { tail -20 "$work/server.log" >&2; fail "the packaged server did not answer /healthz"; }
fi

DPKG_ROOT="$scratch" sh "$work/ctrl/prerm" remove
DPKG_ROOT="$scratch" sh "$work/ctrl/postrm" purge 2>/dev/null
[ ! -e "$scratch/etc/faceid" ] || fail "purge left /etc/faceid"
[ -d "$scratch/var/lib/faceid" ] || fail "purge removed the attendance data"
echo "package.sh: $(basename "$deb") ok ($(du -h "$deb" | cut -f1))" >&2
