//! Reprojection against PROJ's own answer (pyproj, from PyPI): points in every one of the 19
//! plane rectangular zones of JGD2011 and JGD2000 must agree within 1 mm.

use machimap::crs::{Crs, Transformer, ZONE_ORIGINS};
use std::process::Command;

/// Metres between two lon/lat points (local equirectangular; exact enough at the mm scale).
fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let lat = a.1.to_radians();
    let dx = (a.0 - b.0).to_radians() * 6_378_137.0 * lat.cos();
    let dy = (a.1 - b.1).to_radians() * 6_378_137.0;
    (dx * dx + dy * dy).sqrt()
}

#[test]
fn all_19_zones_match_pyproj_within_1_mm() {
    // Plane offsets (x = easting, y = northing) around each zone's origin.
    let offsets = [
        (0.0, 0.0),
        (12_345.678, -23_456.789),
        (-80_000.0, 60_000.0),
        (150_000.0, -150_000.0),
    ];
    let mut cases = Vec::new();
    for base in [6668u32, 2442] {
        for zone in 1..=19u32 {
            for &(x, y) in &offsets {
                cases.push((base + zone, x, y));
            }
        }
    }
    let input: String = cases
        .iter()
        .map(|(c, x, y)| format!("{c} {x} {y}\n"))
        .collect();
    let script = r#"
import sys
from pyproj import Transformer
cache = {}
for line in sys.stdin:
    code, x, y = line.split()
    t = cache.get(code)
    if t is None:
        t = cache[code] = Transformer.from_crs("EPSG:" + code, "EPSG:6668", always_xy=True)
    lon, lat = t.transform(float(x), float(y))
    print(repr(lon), repr(lat))
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs (CI installs pyproj)");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "pyproj failed: is it installed? {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let theirs: Vec<(f64, f64)> = text
        .lines()
        .map(|l| {
            let mut it = l.split_whitespace().map(|v| v.parse::<f64>().unwrap());
            (it.next().unwrap(), it.next().unwrap())
        })
        .collect();
    assert_eq!(theirs.len(), cases.len());
    let mut worst = 0.0f64;
    for ((code, x, y), t) in cases.iter().zip(&theirs) {
        let tr = Transformer::new(Crs::from_epsg(*code).unwrap()).unwrap();
        let ours = tr.point(*x, *y).unwrap();
        let d = metres(ours, *t);
        worst = worst.max(d);
        assert!(
            d < 0.001,
            "EPSG:{code} ({x}, {y}): ours {ours:?} pyproj {t:?}, {d} m apart"
        );
    }
    // The zone origins are where (0, 0) lands.
    for (i, (lat0, lon0)) in ZONE_ORIGINS.iter().enumerate() {
        let tr = Transformer::new(Crs::from_epsg(6669 + i as u32).unwrap()).unwrap();
        let (lon, lat) = tr.point(0.0, 0.0).unwrap();
        assert!(metres((lon, lat), (*lon0, *lat0)) < 0.001, "zone {}", i + 1);
    }
    eprintln!(
        "worst difference from pyproj: {worst:.3e} m over {} points",
        cases.len()
    );
}
