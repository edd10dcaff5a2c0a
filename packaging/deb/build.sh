#!/usr/bin/env bash
# Builds the Debian package of the FaceID server with dpkg-deb.
#   bash packaging/deb/build.sh                 release build, package in target/debian/
#   bash packaging/deb/build.sh --binary FILE   package an existing faceid-server binary
#   --out DIR                                   where the .deb goes
# Prints the path of the .deb. Files: the binary, the systemd unit, /etc/faceid/faceid.toml
# (a conffile), the docs; maintainer scripts create the `faceid` system user and
# /var/lib/faceid. See docs/operations.md.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here="$root/packaging/deb"
target=${CARGO_TARGET_DIR:-$root/target}
binary=""
out="$target/debian"
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n 2,8p "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "build.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
command -v dpkg-deb >/dev/null || { echo "build.sh: dpkg-deb is needed (apt-get install dpkg)" >&2; exit 1; }
if [ -z "$binary" ]; then
  (cd "$root" && cargo build --release --locked -p faceid-server >&2)
  binary="$target/release/faceid-server"
fi
[ -x "$binary" ] || { echo "build.sh: $binary is not an executable" >&2; exit 1; }

version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -1)
arch=$(dpkg --print-architecture)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
pkg="$stage/faceid"
install -d -m 0755 "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/lib/systemd/system" "$pkg/etc/faceid" \
  "$pkg/usr/share/doc/faceid"
install -m 0755 "$binary" "$pkg/usr/bin/faceid-server"
install -m 0644 "$here/faceid.service" "$pkg/lib/systemd/system/faceid.service"
install -m 0644 "$here/faceid.toml" "$pkg/etc/faceid/faceid.toml"
install -m 0644 "$root/README.md" "$pkg/usr/share/doc/faceid/README.md"
install -m 0644 "$root/docs/operations.md" "$pkg/usr/share/doc/faceid/operations.md"
install -m 0644 "$root/models/manifest.toml" "$pkg/usr/share/doc/faceid/models-manifest.toml"
for script in postinst prerm postrm; do
  install -m 0755 "$here/$script" "$pkg/DEBIAN/$script"
done
echo "/etc/faceid/faceid.toml" > "$pkg/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat > "$pkg/DEBIAN/control" <<CONTROL
Package: faceid
Version: $version
Architecture: $arch
Maintainer: FaceID <support@faceid.invalid>
Installed-Size: $size
Depends: adduser, libc6 (>= 2.36), postgresql-client (>= 15)
Recommends: postgresql (>= 15)
Section: net
Priority: optional
Homepage: https://faceid.invalid
Description: self-hosted employee time tracking with face biometrics
 The FaceID server: accounts and roles, sites with geofences, face check-in
 with server-side re-verification, a hash-chained attendance log, kiosks,
 schedules, timesheets and reports, the web panel, background jobs and the
 Telegram bot. Runs its own PostgreSQL cluster in /var/lib/faceid unless a
 database_url is configured.
CONTROL
mkdir -p "$out"
deb="$out/faceid_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zgzip --build "$pkg" "$deb" >&2
echo "$deb"
