# Sourced by scripts/demo and scripts/test: installs what the build and the tests need on a
# Debian machine, and nothing that is already there.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

apt_install() {
  local missing=()
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >&2
  fi
}

ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    [ -x "$HOME/.cargo/bin/cargo" ] && export PATH="$HOME/.cargo/bin:$PATH"
  fi
  if ! command -v cargo >/dev/null 2>&1; then
    apt_install rustup
    rustup default stable >&2
  fi
}

# Build dependencies: a C/C++ toolchain for DuckDB, cmake + SQLite for PROJ (built from source
# because the proj crate needs PROJ >= 9.6 and Debian ships 9.1).
ensure_build_deps() {
  apt_install build-essential cmake pkg-config libsqlite3-dev sqlite3 python3 python3-pip
  ensure_rust
}

# Test clients: pyproj (PROJ's own answers for the reprojection test).
ensure_test_deps() {
  if ! python3 -c 'import pyproj' >/dev/null 2>&1; then
    echo "installing pyproj from PyPI" >&2
    python3 -m pip install --quiet pyproj >&2 2>/dev/null \
      || python3 -m pip install --quiet --break-system-packages pyproj >&2
  fi
}
