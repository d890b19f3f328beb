//! OGC API – Features Part 2 (CRS by reference) and Part 5 (schemas) over real HTTP on the
//! sample city. Coordinates asked for with `crs=` are compared with pyproj's own answer in the
//! CRS's authority axis order (pyproj with `always_xy=False`): lat/lon for EPSG 4326 and 6668,
//! northing/easting for the 19 plane rectangular zones, easting/northing for 3857.

use crate::support::*;
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

const CRS84: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

fn epsg(code: u32) -> String {
    format!("http://www.opengis.net/def/crs/EPSG/0/{code}")
}

fn enc(s: &str) -> String {
    s.replace(':', "%3A").replace('/', "%2F")
}

fn py(script: &str, stdin: &[u8]) -> String {
    let mut c = Command::new("python3")
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    c.stdin.take().unwrap().write_all(stdin).unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

/// Every position of a GeoJSON geometry, in order.
fn positions(g: &Value, out: &mut Vec<(f64, f64)>) {
    fn walk(c: &Value, out: &mut Vec<(f64, f64)>) {
        let a = c.as_array().unwrap();
        if a.first().is_some_and(Value::is_number) {
            out.push((a[0].as_f64().unwrap(), a[1].as_f64().unwrap()));
        } else {
            a.iter().for_each(|x| walk(x, out));
        }
    }
    walk(&g["coordinates"], out);
}

/// Metres between two positions of `code` (degrees for geographic CRSs, lat first).
fn apart(code: u32, a: (f64, f64), b: (f64, f64)) -> f64 {
    if matches!(code, 4326 | 6668) {
        let dy = (a.0 - b.0).to_radians() * 6_378_137.0;
        let dx = (a.1 - b.1).to_radians() * 6_378_137.0 * a.0.to_radians().cos();
        (dx * dx + dy * dy).sqrt()
    } else {
        ((a.0 - b.0).powi(2) + (a.1 - b.1).powi(2)).sqrt()
    }
}

/// Mirrors Part 2 abstract test `/conf/crs/crs-parameter-transform` (Abstract Test 7,
/// requirement `/req/crs/crs-action`) and `/req/crs/ogc-crs-header-value`: for every CRS the
/// collections list, items and single features come back in it, within 1 cm of pyproj, in the
/// CRS's axis order, with `Content-Crs` naming it.
#[test]
fn crs_output_matches_pyproj_for_every_zone_3857_and_lat_lon() {
    let s = Server::start(sample_db());
    let base = s.get("/ogc/collections/shelters/items?limit=20");
    assert_eq!(base.header("content-crs"), Some(&*format!("<{CRS84}>")));
    let base = base.json();
    let polys = s.get("/ogc/collections/wards/items?limit=3").json();
    let mut lonlat = Vec::new();
    for f in base["features"].as_array().unwrap() {
        positions(&f["geometry"], &mut lonlat);
    }
    let n_points = lonlat.len();
    for f in polys["features"].as_array().unwrap() {
        positions(&f["geometry"], &mut lonlat);
    }
    assert!(n_points >= 10 && lonlat.len() > n_points + 20);
    let codes: Vec<u32> = [4326, 6668, 3857].into_iter().chain(6669..=6687).collect();
    // pyproj, authority axis order (always_xy=False): what a Part 2 client expects.
    let mut input = String::new();
    for c in &codes {
        for (lon, lat) in &lonlat {
            input.push_str(&format!("{c} {lon} {lat}\n"));
        }
    }
    let script = r#"
import sys
from pyproj import Transformer
cache = {}
for line in sys.stdin:
    code, lon, lat = line.split()
    t = cache.get(code)
    if t is None:
        t = cache[code] = Transformer.from_crs("EPSG:6668", "EPSG:" + code, always_xy=False)
    a, b = t.transform(float(lat), float(lon))
    print(repr(a), repr(b))
"#;
    let theirs: Vec<(f64, f64)> = py(script, input.as_bytes())
        .lines()
        .map(|l| {
            let mut it = l.split_whitespace().map(|v| v.parse::<f64>().unwrap());
            (it.next().unwrap(), it.next().unwrap())
        })
        .collect();
    assert_eq!(theirs.len(), codes.len() * lonlat.len());
    let mut worst = 0.0f64;
    for (i, code) in codes.iter().enumerate() {
        let uri = epsg(*code);
        let pts = s.get(&format!(
            "/ogc/collections/shelters/items?limit=20&crs={}",
            enc(&uri)
        ));
        assert_eq!(pts.status, 200, "{code}: {}", pts.text());
        assert_eq!(pts.header("content-crs"), Some(&*format!("<{uri}>")));
        let ws = s.get(&format!(
            "/ogc/collections/wards/items?limit=3&crs={}",
            enc(&uri)
        ));
        assert_eq!(ws.header("content-crs"), Some(&*format!("<{uri}>")));
        let (pts, ws) = (pts.json(), ws.json());
        let mut ours = Vec::new();
        for f in pts["features"].as_array().unwrap() {
            positions(&f["geometry"], &mut ours);
        }
        for f in ws["features"].as_array().unwrap() {
            positions(&f["geometry"], &mut ours);
        }
        assert_eq!(ours.len(), lonlat.len(), "{code}");
        let want = &theirs[i * lonlat.len()..(i + 1) * lonlat.len()];
        for (k, (o, t)) in ours.iter().zip(want).enumerate() {
            if matches!(code, 4326 | 6668) {
                // The same stored values, rounded the same way, latitude first.
                assert_eq!(*o, (lonlat[k].1, lonlat[k].0), "EPSG:{code} position {k}");
                continue;
            }
            // pyproj starts from the CRS84 output, rounded to 1e-7° (up to 0.8 cm off the
            // stored point); the conversion itself is checked to 1 mm below.
            let d = apart(*code, *o, *t);
            worst = worst.max(d);
            assert!(
                d < 0.012,
                "EPSG:{code} position {k}: ours {o:?}, pyproj {t:?}, {d} m apart"
            );
        }
        // The paging links carry crs, so the next page is in the same CRS.
        let next = pts["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "self")
            .unwrap()["href"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(next.contains(&format!("crs={}", enc(&uri))), "{next}");
        // One feature in the same CRS, same coordinates.
        let f0 = &pts["features"][0];
        let one = s.get(&format!(
            "/ogc/collections/shelters/items/{}?crs={}",
            f0["id"],
            enc(&uri)
        ));
        assert_eq!(one.status, 200);
        assert_eq!(one.header("content-crs"), Some(&*format!("<{uri}>")));
        assert_eq!(one.json()["geometry"], f0["geometry"]);
    }
    // Axis order, by the numbers: サンプル市 is near 34.6°N 133.9°E.
    let ll = s
        .get(&format!(
            "/ogc/collections/shelters/items?limit=1&crs={}",
            enc(&epsg(4326))
        ))
        .json();
    let c = &ll["features"][0]["geometry"]["coordinates"];
    assert!(
        c[0].as_f64().unwrap() < 40.0 && c[1].as_f64().unwrap() > 130.0,
        "{c}"
    );
    eprintln!("worst difference from pyproj (from rounded CRS84 input) over 20 projected CRSs: {worst:.2e} m");
}

/// The conversion itself, without GeoJSON's rounding: `crs::OgcCrs` against pyproj on the
/// same decimal lon/lat, for every offered CRS, at points across each plane zone (its origin
/// and up to 150 km from it) and at the city: within 1 mm, in the authority axis order
/// (mirrors `/conf/crs/crs-parameter-transform` with a tighter tolerance).
#[test]
fn ogc_crs_conversion_matches_pyproj_within_1_mm_in_every_zone() {
    use machimap::crs::{ogc_crs_list, ZONE_ORIGINS};
    let mut pts: Vec<(f64, f64)> = vec![(133.93, 34.6), (139.767, 35.681)];
    for (lat0, lon0) in ZONE_ORIGINS {
        for (dlon, dlat) in [(0.0, 0.0), (0.5, -0.4), (-1.2, 1.1), (1.5, 1.3)] {
            pts.push((lon0 + dlon, lat0 + dlat));
        }
    }
    let crss: Vec<_> = ogc_crs_list().into_iter().filter(|c| !c.crs84).collect();
    assert_eq!(crss.len(), 22);
    let mut input = String::new();
    for c in &crss {
        for (lon, lat) in &pts {
            input.push_str(&format!("{} {lon} {lat}\n", c.crs.epsg));
        }
    }
    let script = r#"
import sys
from pyproj import Transformer
cache = {}
for line in sys.stdin:
    code, lon, lat = line.split()
    t = cache.get(code)
    if t is None:
        t = cache[code] = Transformer.from_crs("EPSG:6668", "EPSG:" + code, always_xy=False)
    a, b = t.transform(float(lat), float(lon))
    print(repr(a), repr(b))
"#;
    let theirs: Vec<(f64, f64)> = py(script, input.as_bytes())
        .lines()
        .map(|l| {
            let mut it = l.split_whitespace().map(|v| v.parse::<f64>().unwrap());
            (it.next().unwrap(), it.next().unwrap())
        })
        .collect();
    assert_eq!(theirs.len(), crss.len() * pts.len());
    let mut worst = 0.0f64;
    for (i, c) in crss.iter().enumerate() {
        for (k, (lon, lat)) in pts.iter().enumerate() {
            let ours = c.point_from_store(*lon, *lat).unwrap();
            let t = theirs[i * pts.len() + k];
            let d = apart(c.crs.epsg, ours, t);
            worst = worst.max(d);
            assert!(
                d < 0.001,
                "EPSG:{} ({lon}, {lat}): ours {ours:?}, pyproj {t:?}, {d} m apart",
                c.crs.epsg
            );
        }
    }
    eprintln!(
        "worst difference from pyproj: {worst:.2e} m over {} points in 22 CRSs",
        pts.len()
    );
}

/// Mirrors Part 2 abstract test `/conf/crs/bbox-crs-parameter` (Abstract Test 8, requirement
/// `/req/crs/fc-bbox-crs-action`): a bbox in a plane zone (northing first), in EPSG 4326
/// (lat first) and in 3857 selects the features it covers.
#[test]
fn bbox_crs_in_a_plane_zone_4326_and_3857_selects_the_right_features() {
    let s = Server::start(sample_db());
    let all = s.get("/ogc/collections/shelters/items?limit=1").json()["numberMatched"]
        .as_u64()
        .unwrap();
    for code in [6673u32, 4326, 3857] {
        let uri = epsg(code);
        let page = s
            .get(&format!(
                "/ogc/collections/shelters/items?limit=50&crs={}",
                enc(&uri)
            ))
            .json();
        for f in page["features"].as_array().unwrap().iter().take(10) {
            let c = &f["geometry"]["coordinates"];
            let (a, b) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
            // ±1 m (or ±1e-5°) around the point, in the CRS's own axis order.
            let r = if code == 4326 { 1e-5 } else { 1.0 };
            let bbox = format!("{},{},{},{}", a - r, b - r, a + r, b + r);
            let hit = s.get(&format!(
                "/ogc/collections/shelters/items?bbox={bbox}&bbox-crs={}",
                enc(&uri)
            ));
            assert_eq!(hit.status, 200, "{code} {bbox}: {}", hit.text());
            let hit = hit.json();
            let ids: Vec<&Value> = hit["features"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| &g["id"])
                .collect();
            assert!(ids.contains(&&f["id"]), "EPSG:{code} {bbox}: {ids:?}");
            assert!(hit["numberMatched"].as_u64().unwrap() < all);
            // 3 units off along the first axis: the point is not in it.
            let off = format!("{},{},{},{}", a + 3.0 * r, b - r, a + 5.0 * r, b + r);
            let miss = s
                .get(&format!(
                    "/ogc/collections/shelters/items?bbox={off}&bbox-crs={}",
                    enc(&uri)
                ))
                .json();
            assert!(
                !miss["features"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|g| g["id"] == f["id"]),
                "EPSG:{code} {off}"
            );
        }
    }
    // A box around the whole city in zone V metres finds every shelter.
    let big = s
        .get(&format!(
            "/ogc/collections/shelters/items?bbox=-200000,-200000,200000,200000&bbox-crs={}",
            enc(&epsg(6673))
        ))
        .json();
    assert_eq!(big["numberMatched"].as_u64(), Some(all));
    // The same box with longitude first in EPSG 4326 is not the city: 400 (latitude 133°).
    let r = s.get(&format!(
        "/ogc/collections/shelters/items?bbox=133.8,34.5,134.0,34.7&bbox-crs={}",
        enc(&epsg(4326))
    ));
    assert_eq!(r.status, 400, "{}", r.text());
}

/// Requirements `/req/crs/fc-md-crs-list`, `/req/crs/fc-md-storageCrs`,
/// `/req/crs/fc-md-storageCrs-valid-value`, `/req/crs/fc-crs-valid-value` and
/// `/req/crs/fc-bbox-crs-valid-value` (unsupported CRS → 400), and the conformance class.
#[test]
fn collections_list_their_crs_and_unsupported_ones_are_refused() {
    let s = Server::start(sample_db());
    let conf = s.get("/ogc/conformance").json();
    assert!(conf["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c == "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"));
    let cols = s.get("/ogc/collections").json();
    let cols = cols["collections"].as_array().unwrap();
    assert!(cols.len() >= 8);
    for c in cols {
        let list: Vec<&str> = c["crs"]
            .as_array()
            .unwrap_or_else(|| panic!("{} has no crs", c["id"]))
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(list[0], CRS84, "{}", c["id"]);
        for code in [4326u32, 6668, 3857].into_iter().chain(6669..=6687) {
            assert!(list.contains(&&*epsg(code)), "{} lacks {code}", c["id"]);
        }
        let storage = c["storageCrs"].as_str().unwrap();
        assert!(list.contains(&storage));
    }
    for (path, status) in [
        (
            format!("/ogc/collections/flood/items?crs={}", enc(&epsg(32654))),
            400,
        ),
        (
            format!("/ogc/collections/flood/items?crs={}", enc(&epsg(2443))),
            400,
        ),
        (
            "/ogc/collections/flood/items?crs=EPSG:6673".to_string(),
            400,
        ),
        (
            format!("/ogc/collections/flood/items/1?crs={}", enc(&epsg(32654))),
            400,
        ),
        (
            format!(
                "/ogc/collections/flood/items?bbox=0,0,1,1&bbox-crs={}",
                enc(&epsg(32654))
            ),
            400,
        ),
        (
            format!(
                "/ogc/collections/flood/items?bbox=10,0,1,1&bbox-crs={}",
                enc(&epsg(6673))
            ),
            400,
        ),
        (
            "/ogc/collections/flood/items?crs=%5BEPSG%3A6673%5D".to_string(),
            200,
        ),
    ] {
        let r = s.get(&path);
        assert_eq!(r.status, status, "{path}: {}", r.text());
        if status == 400 {
            assert!(r.json()["error"].as_str().unwrap().len() > 10);
        }
    }
}

/// OGC API – Features Part 5 (draft; its abstract tests are not numbered yet): the schema is
/// linked from the collection (`describedby` and the OGC `schema` relation), is JSON Schema
/// 2020-12 (checked by the jsonschema package), names the id and primary geometry with
/// `x-ogc-role`, and every feature's properties validate against it.
#[test]
fn schemas_describe_the_features_that_items_return() {
    let s = Server::start(sample_db());
    for d in ["wards", "flood", "roads", "shelters", "stockpile"] {
        let c = s.get(&format!("/ogc/collections/{d}")).json();
        let links = c["links"].as_array().unwrap();
        let href = links
            .iter()
            .find(|l| {
                l["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/schema"
                    && l["type"] == "application/schema+json"
            })
            .unwrap_or_else(|| panic!("{d}: no schema link"))["href"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(links
            .iter()
            .any(|l| l["rel"] == "describedby" && l["href"] == href.as_str()));
        let path = href.strip_prefix(&s.base).unwrap();
        let r = s.get(path);
        assert_eq!(r.status, 200);
        assert_eq!(r.header("content-type"), Some("application/schema+json"));
        let schema = r.json();
        let props = schema["properties"].as_object().unwrap();
        assert_eq!(props["fid"]["x-ogc-role"], "id");
        if d != "stockpile" {
            assert_eq!(props["geometry"]["x-ogc-role"], "primary-geometry");
        }
        let items = s
            .get(&format!("/ogc/collections/{d}/items?limit=50"))
            .json();
        let script = r#"
import sys, json
from jsonschema import Draft202012Validator
data = json.load(sys.stdin)
schema = data["schema"]
Draft202012Validator.check_schema(schema)
props = {k: v for k, v in schema["properties"].items() if k not in ("fid", "geometry")}
v = Draft202012Validator({"type": "object", "properties": props, "additionalProperties": False})
n = 0
for f in data["features"]:
    # null is "no value", which the schema leaves out (every property is optional).
    p = {k: x for k, x in f["properties"].items() if x is not None}
    errs = list(v.iter_errors(p))
    assert not errs, (f["id"], [e.message for e in errs])
    n += 1
print(n)
"#;
        let input = serde_json::json!({"schema": schema, "features": items["features"]});
        let n: usize = py(script, input.to_string().as_bytes())
            .trim()
            .parse()
            .unwrap();
        assert!(n > 0, "{d}");
    }
}
