# Python tools for the suites in tests/run.d, each in its own virtualenv under the target dir.
#
# make_venv DIR PIP_ARGS...: (re)creates the virtualenv DIR and pip-installs PIP_ARGS into it,
# installing Debian's python3-venv first when the system Python lacks venv (as root with apt).
make_venv() {
  local venv=$1; shift
  rm -rf "$venv"
  if ! python3 -m venv "$venv" 2>/dev/null; then
    # Debian's python3 keeps venv in a separate package.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
      rm -rf "$venv"; python3 -m venv "$venv"
    else
      echo "error: python3 -m venv failed: apt-get install -y python3-venv" >&2; return 1
    fi
  fi
  "$venv/bin/pip" install -q --disable-pip-version-check "$@"
}
