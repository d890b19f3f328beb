# Sourced by scripts/test-web, scripts/screenshots and scripts/bench-web (bash).
# machimap_web_server_start [serve flags...]: builds machimap (cargo build --locked), writes the
# sample city, ingests it into a fresh DB in the order tests/it/support.rs::sample_db uses,
# starts `machimap serve` on a free loopback port and waits for /healthz.
# Exports MACHIMAP_BASE (http://127.0.0.1:PORT), MACHIMAP_BIN, MACHIMAP_WORK; the server and the
# temp folder are removed on exit.

machimap_web_build() {
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/machimap-target}"
  cargo build --locked --quiet
  MACHIMAP_BIN="$CARGO_TARGET_DIR/debug/machimap"
  export MACHIMAP_BIN
}

machimap_web_sample_db() {
  MACHIMAP_WORK="$(mktemp -d "${TMPDIR:-/tmp}/machimap-web.XXXXXX")"
  export MACHIMAP_WORK
  local s="$MACHIMAP_WORK/sample" db="$MACHIMAP_WORK/sample.duckdb"
  "$MACHIMAP_BIN" sample --out "$s" >/dev/null
  ing() { local ds="$1"; shift; local files=(); for f in "$@"; do files+=("$s/$f"); done
    "$MACHIMAP_BIN" ingest --db "$db" --dataset "$ds" "${files[@]}" >/dev/null; }
  ing wards wards_r2ka33999.zip
  ing flood flood_A31a.geojson flood_A31a_30.geojson flood_A31a_41.geojson flood_A31a_42.geojson
  ing landslide landslide_A33.zip
  ing tsunami tsunami_A40.geojson
  ing storm_surge storm_surge_A49.geojson
  ing roads roads_ledger.csv roads_lines.geojson
  ing shelters shelters_339997_evacuation_space.csv shelters_gsi_33999_1.csv
  ing stockpile stockpile.csv
  ing addresses mt_town_city339997.csv mt_town_pos_city339997.csv \
    mt_rsdtdsp_blk_city339997.csv mt_rsdtdsp_blk_pos_city339997.csv \
    mt_rsdtdsp_rsdt_city339997.csv mt_rsdtdsp_rsdt_pos_city339997.csv \
    mt_parcel_city339997.csv mt_parcel_pos_city339997.csv
  MACHIMAP_DB="$db"
  export MACHIMAP_DB
}

_machimap_web_cleanup() {
  if [ -n "${MACHIMAP_SERVER_PID:-}" ]; then
    kill "$MACHIMAP_SERVER_PID" 2>/dev/null || true
    wait "$MACHIMAP_SERVER_PID" 2>/dev/null || true
  fi
  if [ -n "${MACHIMAP_WORK:-}" ] && [ -d "$MACHIMAP_WORK" ]; then rm -rf "$MACHIMAP_WORK"; fi
}

machimap_web_server_start() {
  machimap_web_build
  machimap_web_sample_db
  trap _machimap_web_cleanup EXIT
  local log="$MACHIMAP_WORK/serve.log"
  "$MACHIMAP_BIN" serve --db "$MACHIMAP_DB" --bind 127.0.0.1:0 "$@" 2>"$log" >/dev/null &
  MACHIMAP_SERVER_PID=$!
  local base=""
  for _ in $(seq 1 1200); do
    base="$(sed -n 's#.*serving on \(http://[0-9.:]*\).*#\1#p' "$log" | head -n1)"
    [ -n "$base" ] && break
    if ! kill -0 "$MACHIMAP_SERVER_PID" 2>/dev/null; then
      echo "machimap serve exited:" >&2; cat "$log" >&2; return 1
    fi
    sleep 0.1
  done
  if [ -z "$base" ] || ! node -e '
    const u = process.argv[1];
    (async () => {
      for (let i = 0; i < 300; i++) {
        try { if ((await fetch(u)).ok) process.exit(0); } catch {}
        await new Promise((r) => setTimeout(r, 100));
      }
      process.exit(1);
    })();' "$base/healthz"; then
    echo "machimap serve did not answer /healthz" >&2; cat "$log" >&2; return 1
  fi
  MACHIMAP_BASE="$base"
  export MACHIMAP_BASE MACHIMAP_SERVER_PID
  echo "machimap serving the sample city on $MACHIMAP_BASE" >&2
}
