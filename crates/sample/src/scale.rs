//! The prefecture-scale benchmark layer (`flood_scale_{N}.geojson`): N small
//! A31a-like flood polygons clustered along 40 fictional rivers across
//! Okayama prefecture.
//!
//! It exists to load-test ingestion, tiling and serving, so it must scale
//! to a million polygons (~500 MB) on a small machine: every feature is
//! generated, written through the streaming [`GeoJsonWriter`] and dropped,
//! and nothing but the river courses is kept in memory.

use std::path::Path;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

use geojson::{Feature, Geometry, GeometryValue, JsonObject, JsonValue, Position};

use super::names::scale_river_name;
use super::writers::GeoJsonWriter;
use super::{SampleError, PREF_NAME};

const RIVERS: usize = 40;
/// Vertices per river course.
const COURSE: usize = 400;
const LON_MIN: f64 = 133.3;
const LON_MAX: f64 = 134.4;
const LAT_MIN: f64 = 34.4;
const LAT_MAX: f64 = 35.3;

struct River {
    course: Vec<(f64, f64)>,
    /// Properties but the rank (A31a_105 or 205), per scenario (計画規模, 想定最大規模).
    props: [JsonObject; 2],
}

fn rivers(rng: &mut StdRng) -> Vec<River> {
    (0..RIVERS)
        .map(|i| {
            let lon0 = LON_MIN
                + 0.05
                + (LON_MAX - LON_MIN - 0.1) * (i as f64 + 0.5) / RIVERS as f64
                + rng.gen_range(-0.01..0.01);
            let lat_top = rng.gen_range(34.9..LAT_MAX - 0.03);
            let lat_bot = rng.gen_range(LAT_MIN + 0.03..34.62);
            let drift = rng.gen_range(-0.06..0.06);
            let ph: Vec<f64> = (0..3).map(|_| rng.gen_range(0.0..6.3)).collect();
            let course = (0..=COURSE)
                .map(|s| {
                    let u = s as f64 / COURSE as f64;
                    let lon = lon0
                        + drift * u
                        + 0.04 * (3.0 * u + ph[0]).sin()
                        + 0.012 * (17.0 * u + ph[1]).sin()
                        + 0.003 * (61.0 * u + ph[2]).sin();
                    let lat = lat_top + (lat_bot - lat_top) * u;
                    (lon.clamp(LON_MIN + 0.01, LON_MAX - 0.01), lat)
                })
                .collect();
            let code = format!("88060{:05}", 101 + i);
            let name = scale_river_name(i);
            let props = [1, 2].map(|s| {
                [
                    (1, code.as_str()),
                    (2, name.as_str()),
                    (3, "33"),
                    (4, PREF_NAME),
                ]
                .into_iter()
                .map(|(k, v)| (format!("A31a_{s}0{k}"), JsonValue::from(v)))
                .collect()
            });
            River { course, props }
        })
        .collect()
}

/// Writes `n` polygons to `path`, printing progress every 5 % when asked.
pub fn write(path: &Path, n: usize, progress: bool, seed: u64) -> Result<(), SampleError> {
    let mut rng = StdRng::seed_from_u64(seed);
    let rivers = rivers(&mut rng);
    let lateral = Normal::new(0.0, 1200.0).expect("a positive standard deviation is valid");
    let name = format!("flood_scale_{n}");
    let mut out = GeoJsonWriter::create(path, &name, None, 7)?;
    let per_river = n.div_ceil(RIVERS).max(1);
    let step = (n / 20).max(1);
    let mut ring: Vec<(f64, f64)> = Vec::with_capacity(64);
    for i in 0..n {
        let river = &rivers[i % RIVERS];
        let u = ((i / RIVERS) as f64 + rng.gen::<f64>()) / per_river as f64;
        let f = (u * COURSE as f64).min(COURSE as f64 - 1e-9);
        let k = f as usize;
        let t = f - k as f64;
        let (a, b) = (river.course[k], river.course[k + 1]);
        let (lon_c, lat_c) = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
        let m_lon = 111_320.0 * lat_c.to_radians().cos();
        let m_lat = 110_574.0;
        // Unit normal to the course, in metres.
        let (tx, ty) = ((b.0 - a.0) * m_lon, (b.1 - a.1) * m_lat);
        let tl = tx.hypot(ty).max(1e-9);
        let (nx, ny) = (-ty / tl, tx / tl);
        let off: f64 = Distribution::<f64>::sample(&lateral, &mut rng).clamp(-4000.0, 4000.0);
        let lon0 = (lon_c + nx * off / m_lon).clamp(LON_MIN + 0.005, LON_MAX - 0.005);
        let lat0 = (lat_c + ny * off / m_lat).clamp(LAT_MIN + 0.005, LAT_MAX - 0.005);
        // Deeper near the river; ranks 2–4 most common, 6 rare.
        let rank = (4.2 - 1.6 * off.abs() / 1200.0 + rng.gen_range(-2.0..2.0f64))
            .round()
            .clamp(1.0, 6.0) as u64;
        let scenario = usize::from(!rng.gen_bool(0.45));

        // Star-shaped noisy ellipse: simple by construction.
        let radius = (rng.gen_range(25f64.ln()..200f64.ln())).exp();
        let aspect = rng.gen_range(0.5..1.0);
        let rot: f64 = rng.gen_range(0.0..std::f64::consts::PI);
        let (cr, sr) = (rot.cos(), rot.sin());
        // 20–60 vertices, most near the low end (keeps 1M features near 1 GB).
        let u: f64 = rng.gen();
        let nv = 20 + (40.0 * u * u).round() as usize;
        let amp = [
            rng.gen_range(0.0..0.12),
            rng.gen_range(0.0..0.1),
            rng.gen_range(0.0..0.07),
            rng.gen_range(0.0..0.05),
        ];
        let ph = [
            rng.gen_range(0.0..6.3),
            rng.gen_range(0.0..6.3),
            rng.gen_range(0.0..6.3),
            rng.gen_range(0.0..6.3),
        ];
        ring.clear();
        let dth = std::f64::consts::TAU / nv as f64;
        for j in 0..nv {
            let th = dth * j as f64;
            let r = radius
                * (1.0
                    + amp[0] * (2.0 * th + ph[0]).sin()
                    + amp[1] * (3.0 * th + ph[1]).sin()
                    + amp[2] * (5.0 * th + ph[2]).sin()
                    + amp[3] * (7.0 * th + ph[3]).sin());
            let (lx, ly) = (r * th.cos(), r * aspect * th.sin());
            let (x, y) = (lx * cr - ly * sr, lx * sr + ly * cr);
            ring.push((x, y));
        }
        let hole = rng.gen_bool(0.12);

        let mut props = river.props[scenario].clone();
        props.insert(format!("A31a_{}05", scenario + 1), JsonValue::from(rank));
        let mut rings = vec![ring_at(&out, &ring, lon0, lat0, m_lon, m_lat, 1.0, false)];
        if hole {
            // Clockwise, a scaled copy: strictly inside the star-shaped shell.
            rings.push(ring_at(&out, &ring, lon0, lat0, m_lon, m_lat, 0.35, true));
        }
        out.write(&Feature {
            geometry: Some(Geometry::new(GeometryValue::Polygon { coordinates: rings })),
            properties: Some(props),
            ..Feature::default()
        })?;
        if progress && (i + 1) % step == 0 {
            tracing::info!("flood_scale: {:3}% ({}/{})", (i + 1) * 100 / n, i + 1, n);
        }
    }
    out.finish()
}

/// One closed ring given in local metres around (lon0, lat0), as positions of `out`.
#[allow(clippy::too_many_arguments)]
fn ring_at(
    out: &GeoJsonWriter,
    ring: &[(f64, f64)],
    lon0: f64,
    lat0: f64,
    m_lon: f64,
    m_lat: f64,
    scale: f64,
    reverse: bool,
) -> Vec<Position> {
    let n = ring.len();
    (0..=n)
        .map(|j| {
            let idx = if reverse { (n - j % n) % n } else { j % n };
            let (x, y) = ring[idx];
            out.position(lon0 + scale * x / m_lon, lat0 + scale * y / m_lat)
        })
        .collect()
}
