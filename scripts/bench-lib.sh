# Sourced by scripts/bench-*: the pieces every benchmark shares. Nothing here runs in CI.
# Each benchmark measures machimap and its baseline in the same run on the same machine.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/deps.sh"

BENCH_ROOT="${BENCH_DIR:-$HOME/.cache/machimap-bench}"
# Release builds live in their own target folder so they never wait on the test build's lock.
export CARGO_TARGET_DIR="${BENCH_TARGET_DIR:-$HOME/.cache/machimap-release}"

# Builds machimap in release mode; sets BIN.
build_release() {
  ensure_build_deps
  cargo build --release --locked >&2
  BIN="$CARGO_TARGET_DIR/release/machimap"
}

# The sample city plus N synthetic flood polygons, written once per N; sets SAMPLE and FLOOD_N.
sample_with_scale() { # N
  SAMPLE="$BENCH_ROOT/sample-$1"
  FLOOD_N="$SAMPLE/flood_scale_$1.geojson"
  if [ ! -s "$FLOOD_N" ]; then "$BIN" sample --out "$SAMPLE" --scale "$1" >/dev/null; fi
}

# Every kind of the sample city into DB, with the N-polygon layer added to flood; with
# `no-addresses`, all but the address base registry (for revisions from before it existed).
ingest_sample_city() { # DB [no-addresses]
  local ing=("$BIN" ingest --db "$1" --dataset)
  "${ing[@]}" wards "$SAMPLE/wards_r2ka33999.zip" >/dev/null
  "${ing[@]}" flood "$SAMPLE/flood_A31a.geojson" "$FLOOD_N" >/dev/null
  "${ing[@]}" landslide "$SAMPLE/landslide_A33.zip" >/dev/null
  "${ing[@]}" tsunami "$SAMPLE/tsunami_A40.geojson" >/dev/null
  "${ing[@]}" storm_surge "$SAMPLE/storm_surge_A49.geojson" >/dev/null
  "${ing[@]}" roads "$SAMPLE/roads_ledger.csv" "$SAMPLE/roads_lines.geojson" >/dev/null
  "${ing[@]}" shelters "$SAMPLE/shelters_339997_evacuation_space.csv" "$SAMPLE/shelters_gsi_33999_1.csv" >/dev/null
  "${ing[@]}" stockpile "$SAMPLE/stockpile.csv" >/dev/null
  if [ "${2:-}" = no-addresses ]; then return 0; fi
  "${ing[@]}" addresses "$SAMPLE"/mt_town_city339997.csv "$SAMPLE"/mt_town_pos_city339997.csv \
    "$SAMPLE"/mt_rsdtdsp_blk_city339997.csv "$SAMPLE"/mt_rsdtdsp_blk_pos_city339997.csv \
    "$SAMPLE"/mt_rsdtdsp_rsdt_city339997.csv "$SAMPLE"/mt_rsdtdsp_rsdt_pos_city339997.csv \
    "$SAMPLE"/mt_parcel_city339997.csv "$SAMPLE"/mt_parcel_pos_city339997.csv >/dev/null
}

# /usr/bin/time -v of a command → "seconds peak_rss_mb" (page cache dropped first when allowed).
measure() { # label, command...
  local label="$1"; shift
  local log="$WORK/time-$label.txt"
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  /usr/bin/time -v "$@" >"$WORK/out-$label.txt" 2>"$log" || { cat "$log" >&2; exit 1; }
  local secs rss
  secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$log")
  rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$log")
  echo "$secs $rss"
}

# A private PostgreSQL 15 + PostGIS cluster on loopback port PGPORT with database `bench`.
PGPORT=54329
PGBIN=/usr/lib/postgresql/15/bin
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_start() {
  # Outside $HOME: the postgres user cannot enter root's home folder.
  PGDIR="${BENCH_PG_DIR:-/var/tmp/machimap-bench-pg}"
  apt_install postgresql-15-postgis-3
  rm -rf "$PGDIR"; mkdir -p "$PGDIR"; chown postgres "$PGDIR" 2>/dev/null || true
  as_pg "$PGBIN/initdb" -D "$PGDIR/data" -U postgres -A trust >/dev/null
  as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -o "-p $PGPORT -k $PGDIR -c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=512MB" -l "$PGDIR/log" -w start >/dev/null
  psql -h 127.0.0.1 -p $PGPORT -U postgres -qc "CREATE DATABASE bench" >/dev/null
  psql -h 127.0.0.1 -p $PGPORT -U postgres -d bench -qc "CREATE EXTENSION postgis" >/dev/null
}
pg_stop() { if [ -n "${PGDIR:-}" ]; then as_pg "$PGBIN/pg_ctl" -D "$PGDIR/data" -m fast stop >/dev/null 2>&1 || true; fi; }
PG_DSN="PG:host=127.0.0.1 port=$PGPORT dbname=bench user=postgres"

# The request lists of the tile benchmarks, in DIR: list.txt (20,000 requests around the city,
# z12–z16 weighted 5/15/35/30/15 %), distinct.txt (its tiles once each), low.txt (z8–z11 over
# the prefecture) and bboxes.txt (200 item queries of 0.1° around the rivers). Seeded: the same
# lists on every run.
write_tile_lists() { # dir
  python3 - "$1" <<'PY'
import math, random, sys
work = sys.argv[1]
def tile(lon, lat, z):
    n = 2 ** z
    return (int((lon + 180) / 360 * n),
            int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n))
def tiles(z, w, s, e, n):
    x0, y0 = tile(w, n, z); x1, y1 = tile(e, s, z)
    return [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]
# The city and the river plains around it.
city = (133.78, 34.50, 134.06, 34.74)
weights = {12: 5, 13: 15, 14: 35, 15: 30, 16: 15}
per_zoom = {z: tiles(z, *city) for z in weights}
rng = random.Random(7)
req = []
for z, w in weights.items():
    req += [rng.choice(per_zoom[z]) for _ in range(w * 200)]
rng.shuffle(req)
with open(f"{work}/list.txt", "w") as f:
    for z, x, y in req: f.write(f"{z}/{x}/{y}\n")
with open(f"{work}/distinct.txt", "w") as f:
    for z, x, y in sorted(set(req)): f.write(f"{z}/{x}/{y}\n")
# Low zooms over the whole prefecture.
with open(f"{work}/low.txt", "w") as f:
    for z in range(8, 12):
        for z_, x, y in tiles(z, 133.3, 34.4, 134.4, 35.3): f.write(f"{z}/{x}/{y}\n")
# Items: 1000-feature pages of bboxes of 0.1° around the rivers of the prefecture.
with open(f"{work}/bboxes.txt", "w") as f:
    for i in range(200):
        w = 133.35 + rng.random() * 0.95; s = 34.45 + rng.random() * 0.75
        f.write(f"{w:.4f},{s:.4f},{w + 0.1:.4f},{s + 0.1:.4f}\n")
PY
}

# wrk script: random paths from a list file (one per line), gzip accepted, and one RESULT line
# "req/s p50_ms p99_ms errors bytes" at the end.
write_wrk_lua() { # out.lua
  cat > "$1" <<'LUA'
local paths = {}
local n = 0
init = function(args)
  for line in io.lines(args[1]) do n = n + 1; paths[n] = line end
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8), 16) or 0))
end
request = function()
  return wrk.format("GET", paths[math.random(n)], {["Accept-Encoding"] = "gzip"})
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.2f %.2f %d %d\n",
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout,
    summary.bytes))
end
LUA
}

# wrk against BASE with a path list → "req/s p50 p99 errors bytes".
run_wrk() { # base, list, connections, duration
  apt_install wrk
  wrk -t2 -c"$3" -d"$4" --timeout 10s -s "$WORK/paths.lua" "$1" -- "$2" | awk '/^RESULT/ {print $2, $3, $4, $5, $6}'
}

# Starts `machimap serve` on a free loopback port; sets PID, BASE and READY_S (seconds from
# launch until the first tile of URL_PROBE is answered).
start_machimap() { # db, extra flags...
  local db="$1"; shift
  local log="$WORK/serve.log"
  local t0; t0=$(date +%s.%N)
  "$BIN" serve --db "$db" --bind 127.0.0.1:0 "$@" 2>"$log" &
  PID=$!
  for _ in $(seq 1 3000); do
    BASE=$(grep -o 'http://127.0.0.1:[0-9]*' "$log" | head -1 || true)
    if [ -n "$BASE" ] && curl -sf -o /dev/null "$BASE${URL_PROBE:-/healthz}"; then
      READY_S=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
      return 0
    fi
    sleep 0.01
  done
  echo "server did not start" >&2; cat "$log" >&2; exit 1
}
stop_machimap() {
  if [ -n "${PID:-}" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=""; fi
}

rss_mb() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
hwm_mb() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }'; }

# pygeoapi with its PostgreSQL provider, at versions known to work together here: left
# unpinned, pip took a pygeoapi whose provider imports geoalchemy2, which nothing installed.
ensure_pygeoapi() {
  pip_install pygeoapi:pygeoapi==0.21.0 geoalchemy2:GeoAlchemy2==0.20.0 sqlalchemy:SQLAlchemy==2.1.9 \
    pygeofilter:pygeofilter==0.4.0 psycopg2:psycopg2-binary==2.9.13 gunicorn:gunicorn==27.0.1
  python3 -c "import pygeoapi.provider.sql" >&2
}
