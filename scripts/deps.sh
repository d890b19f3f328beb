# Sourced by scripts/demo and scripts/test: installs what the build and the tests need on a
# Debian machine, and nothing that is already there.
set -euo pipefail

# One target folder for every build of every script (tests, browser tests, demo, fuzz, soak),
# outside the clone so DuckDB's C++ is compiled once per machine, not once per command or clone.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/machimap-target}"

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

pip_install() {
  local missing=()
  for m in "$@"; do
    local mod="${m%%=*}"; mod="${mod%%:*}"; local pkg="${m#*:}"
    python3 -c "import ${mod}" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing from PyPI: ${missing[*]}" >&2
    python3 -m pip install --quiet "${missing[@]}" >&2 2>/dev/null \
      || python3 -m pip install --quiet --break-system-packages "${missing[@]}" >&2
  fi
}

# Test clients, each a real independent implementation: pyproj (PROJ's own answers for the
# reprojection test), mapbox-vector-tile + shapely (decode and check our tiles), OWSLib and
# GDAL's OAPIF driver (OGC API Features clients), ckanapi (a CKAN harvester's client),
# openapi-spec-validator (checks /openapi.json), rdflib (parses the DCAT JSON-LD).
ensure_test_deps() {
  apt_install gdal-bin
  pip_install pyproj:pyproj mapbox_vector_tile:mapbox-vector-tile shapely:shapely \
    owslib:OWSLib ckanapi:ckanapi openapi_spec_validator:openapi-spec-validator rdflib:rdflib pmtiles:pmtiles
}

# schemathesis (scripts/test-api), pinned, in a virtual environment of its own: it brings
# many packages (hypothesis, jsonschema, …) that must not move the system Python's.
ensure_schemathesis() {
  apt_install python3-venv
  local venv="$HOME/.cache/machimap-schemathesis" version="4.32.5"
  if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
    echo "installing schemathesis $version into $venv" >&2
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet "schemathesis==$version" >&2
  fi
  SCHEMATHESIS="$venv/bin/schemathesis"
  export SCHEMATHESIS
}

# The resident map (web/): Node.js + npm build it; headless Chromium tests it.
ensure_web_deps() {
  if ! command -v npm >/dev/null 2>&1; then apt_install nodejs npm; fi
  # nginx serves the static export in the browser tests (no machimap behind it).
  apt_install chromium fonts-noto-cjk nginx curl
}
