//! OGC API – Features Part 3 (filtering with CQL2), `sortby` and `properties` over real HTTP on
//! the sample city. Each test names the abstract test (OGC 19-079r2 Annex A for Part 3, OGC
//! 21-065r2 Annex A for CQL2, OGC 17-069r4 Annex A for Core) whose assertions it ports; the
//! expected sets come from the whole-dataset download filtered here in Rust (attributes) or by
//! shapely (geometry), never from the server's own filter.

use crate::support::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};

/// Percent-encode everything but unreserved characters.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn link<'a>(v: &'a Value, rel: &str) -> Option<&'a str> {
    v["links"]
        .as_array()?
        .iter()
        .find(|l| l["rel"] == rel)
        .and_then(|l| l["href"].as_str())
}

fn ids(v: &Value) -> Vec<i64> {
    v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect()
}

fn items(s: &Server, coll: &str, q: &str) -> Value {
    let r = s.get(&format!("/ogc/collections/{coll}/items?{q}"));
    assert_eq!(r.status, 200, "{q}: {}", r.text());
    r.json()
}

/// Every feature id matching a filter, following next links.
fn all_ids(s: &Server, coll: &str, q: &str) -> (Vec<i64>, u64) {
    let mut path = format!("/ogc/collections/{coll}/items?limit=500&{q}");
    let mut out = Vec::new();
    let mut matched = None;
    loop {
        let r = s.get(&path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let j = r.json();
        matched.get_or_insert(j["numberMatched"].as_u64().unwrap());
        out.extend(ids(&j));
        match link(&j, "next") {
            Some(n) => path = n.strip_prefix(&s.base).unwrap().to_string(),
            None => break,
        }
    }
    (out, matched.unwrap())
}

fn download(s: &Server, d: &str) -> Vec<Value> {
    s.get(&format!("/datasets/{d}.geojson")).json()["features"]
        .as_array()
        .unwrap()
        .clone()
}

/// Ids of `feats` whose properties pass `p` (the oracle), sorted.
fn oracle(feats: &[Value], p: impl Fn(&Value) -> bool) -> Vec<i64> {
    let mut v: Vec<i64> = feats
        .iter()
        .filter(|f| p(&f["properties"]))
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    v.sort();
    v
}

fn py(script: &str, stdin: &[u8]) -> String {
    let mut c = Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    c.stdin.take().unwrap().write_all(stdin).unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

fn conformance(s: &Server) -> Vec<String> {
    s.get("/ogc/conformance").json()["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect()
}

/// /conf/filter/get-conformance and /conf/features-filter/get-conformance (19-079r2): the
/// classes are declared, exactly those implemented (ACCENTI is not), including the four QGIS
/// needs before it sends filters. /conf/queryables/get-queryables-response: every queryable
/// filters, `geometry` is one (as a GeoJSON schema reference), and nothing else does.
#[test]
fn classes_are_declared_and_the_queryables_are_exactly_what_filters() {
    let s = Server::start(sample_db());
    let c = conformance(&s);
    for want in [
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
        "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
        "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
        "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
        "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
        "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
        "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
        "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
    ] {
        assert!(c.iter().any(|x| x == want), "{want} not declared");
    }
    for not in [
        "accent-insensitive-comparison",
        "spatial-functions",
        "temporal-functions",
        "array-functions",
        "arithmetic",
        "functions",
    ] {
        assert!(
            !c.iter().any(|x| x.ends_with(&format!("/conf/{not}"))),
            "{not} declared but not implemented"
        );
    }
    for coll in [
        "flood",
        "shelters",
        "roads",
        "wards",
        "stockpile",
        "shelter_status",
    ] {
        let q = s.get(&format!("/ogc/collections/{coll}/queryables")).json();
        let props = q["properties"].as_object().unwrap();
        let total = items(&s, coll, "limit=1")["numberMatched"]
            .as_u64()
            .unwrap();
        for (name, schema) in props {
            let f = if name == "geometry" {
                assert!(
                    schema["$ref"]
                        .as_str()
                        .unwrap()
                        .starts_with("https://geojson.org/schema/"),
                    "{coll}: {schema}"
                );
                assert!(
                    schema.get("type").is_none(),
                    "QGIS reads a typed one as no geometry"
                );
                "S_INTERSECTS(geometry, BBOX(-180,-90,180,90)) OR geometry IS NULL".to_string()
            } else {
                assert!(schema["type"].is_string(), "{coll}.{name}: {schema}");
                format!("\"{name}\" IS NULL OR \"{name}\" IS NOT NULL")
            };
            let j = items(&s, coll, &format!("limit=1&filter={}", enc(&f)));
            assert_eq!(j["numberMatched"].as_u64(), Some(total), "{coll}: {f}");
        }
        assert_eq!(
            props.contains_key("geometry"),
            coll != "stockpile",
            "{coll}"
        );
        let r = s.get(&format!(
            "/ogc/collections/{coll}/items?filter={}",
            enc("not_a_queryable = 1")
        ));
        assert_eq!(r.status, 400, "{coll}");
    }
}

/// /conf/basic-cql2/comparison, /conf/basic-cql2/is-null, /conf/basic-cql2/basic-test,
/// /conf/advanced-comparison-operators/{like,between,in}, /conf/case-insensitive-comparison/…,
/// /conf/property-property/… (21-065r2), through /conf/features-filter/response (19-079r2): the
/// features returned are exactly those the filter selects, numberMatched counts them, and both
/// encodings agree.
#[test]
fn attribute_filters_select_exactly_what_the_download_says() {
    let s = Server::start(sample_db());
    let feats = download(&s, "flood");
    let n = |p: &Value, k: &str| p[k].as_f64();
    let river = feats
        .iter()
        .find_map(|f| f["properties"]["river_name"].as_str())
        .expect("a river name")
        .to_string();
    let lower_prefix: String = river.chars().take(1).collect::<String>().to_lowercase();
    type Case = (String, Option<Value>, Box<dyn Fn(&Value) -> bool>);
    let r2 = river.clone();
    let r3 = river.clone();
    let cases: Vec<Case> = vec![
        (
            "depth_rank >= 4".into(),
            Some(json!({"op": ">=", "args": [{"property": "depth_rank"}, 4]})),
            Box::new(move |p| n(p, "depth_rank").is_some_and(|d| d >= 4.0)),
        ),
        (
            "depth_rank < 3 AND NOT depth_rank = 1".into(),
            Some(json!({"op": "and", "args": [
                {"op": "<", "args": [{"property": "depth_rank"}, 3]},
                {"op": "not", "args": [{"op": "=", "args": [{"property": "depth_rank"}, 1]}]}]})),
            Box::new(move |p| n(p, "depth_rank").is_some_and(|d| d < 3.0 && d != 1.0)),
        ),
        (
            "depth_max_m IS NULL".into(),
            Some(json!({"op": "isNull", "args": [{"property": "depth_max_m"}]})),
            Box::new(move |p| p["depth_max_m"].is_null()),
        ),
        (
            "depth_rank BETWEEN 2 AND 3 OR depth_rank IN (6)".into(),
            Some(json!({"op": "or", "args": [
                {"op": "between", "args": [{"property": "depth_rank"}, 2, 3]},
                {"op": "in", "args": [{"property": "depth_rank"}, [6]]}]})),
            Box::new(move |p| {
                n(p, "depth_rank").is_some_and(|d| (2.0..=3.0).contains(&d) || d == 6.0)
            }),
        ),
        (
            format!("river_name = '{}'", river.replace('\'', "''")),
            Some(json!({"op": "=", "args": [{"property": "river_name"}, river]})),
            Box::new(move |p| p["river_name"] == r2.as_str()),
        ),
        (
            format!("river_name <> '{}'", river.replace('\'', "''")),
            None,
            Box::new(move |p| p["river_name"].as_str().is_some_and(|r| r != r3)),
        ),
        (
            "depth_label LIKE '%m以上%'".into(),
            Some(json!({"op": "like", "args": [{"property": "depth_label"}, "%m以上%"]})),
            Box::new(move |p| {
                p["depth_label"]
                    .as_str()
                    .is_some_and(|l| l.contains("m以上"))
            }),
        ),
        (
            format!("CASEI(river_name) LIKE CASEI('{lower_prefix}%')"),
            None,
            Box::new(move |p| {
                p["river_name"]
                    .as_str()
                    .is_some_and(|r| r.to_lowercase().starts_with(&lower_prefix))
            }),
        ),
        (
            // Property-property: the band's lower bound against its rank.
            "depth_min_m >= depth_rank".into(),
            Some(
                json!({"op": ">=", "args": [{"property": "depth_min_m"}, {"property": "depth_rank"}]}),
            ),
            Box::new(move |p| match (n(p, "depth_min_m"), n(p, "depth_rank")) {
                (Some(a), Some(b)) => a >= b,
                _ => false,
            }),
        ),
        (
            "TRUE AND NOT FALSE".into(),
            Some(json!({"op": "and", "args": [true, {"op": "not", "args": [false]}]})),
            Box::new(|_| true),
        ),
    ];
    let mut nonempty = 0;
    for (text, js, pred) in &cases {
        let want = oracle(&feats, pred);
        if !want.is_empty() && want.len() < feats.len() {
            nonempty += 1;
        }
        let (mut got, matched) = all_ids(&s, "flood", &format!("filter={}", enc(text)));
        assert_eq!(matched as usize, want.len(), "{text}");
        got.sort();
        assert_eq!(got, want, "{text}");
        if let Some(js) = js {
            let (mut g2, m2) = all_ids(
                &s,
                "flood",
                &format!("filter-lang=cql2-json&filter={}", enc(&js.to_string())),
            );
            g2.sort();
            assert_eq!((g2, m2), (want.clone(), want.len() as u64), "{js}");
        }
    }
    assert!(
        nonempty >= 6,
        "the fixture must make most cases discriminating"
    );
}

/// /conf/basic-spatial-functions/… (21-065r2) and /conf/filter/filter-crs-param (19-079r2):
/// S_INTERSECTS with a polygon, a point, a bbox and a line selects what shapely selects, ANDed
/// with an attribute test too; the same point given in EPSG:4326 (lat/lon) and in JGD2011 zone V
/// (northing first, as EPSG orders the axes; converted by pyproj) selects the same features.
#[test]
fn s_intersects_agrees_with_shapely_in_every_filter_crs() {
    let s = Server::start(sample_db());
    let all = s.get("/datasets/flood.geojson").json();
    let bb = s.get("/ogc/collections/flood").json()["extent"]["spatial"]["bbox"][0].clone();
    let (x0, y0, x1, y1) = (
        bb[0].as_f64().unwrap(),
        bb[1].as_f64().unwrap(),
        bb[2].as_f64().unwrap(),
        bb[3].as_f64().unwrap(),
    );
    let (w, h) = (x1 - x0, y1 - y0);
    let (cx, cy) = (x0 + w * 0.45, y0 + h * 0.55);
    let poly = format!(
        "POLYGON(({a} {b}, {c} {b}, {c2} {d}, {a} {d2}, {a} {b}))",
        a = x0 + w * 0.2,
        b = y0 + h * 0.2,
        c = x0 + w * 0.7,
        c2 = x0 + w * 0.6,
        d = y0 + h * 0.75,
        d2 = y0 + h * 0.6
    );
    let line = format!("LINESTRING({} {}, {} {})", x0, cy, x1, cy + h * 0.1);
    let bbox = format!("BBOX({}, {}, {}, {})", cx, cy, cx + w * 0.1, cy + h * 0.1);
    let point = format!("POINT({cx} {cy})");
    let mut cases = vec![];
    for g in [&poly, &line, &bbox, &point] {
        cases.push((format!("S_INTERSECTS(geometry, {g})"), g.clone(), None));
    }
    cases.push((
        format!("depth_rank >= 4 AND S_INTERSECTS(geometry, {poly})"),
        poly.clone(),
        Some(4),
    ));
    // A thin diagonal sliver: its box holds many zones it does not touch, so a bbox-only
    // answer cannot pass (the last list of the script is that bbox-only answer).
    let sliver = format!(
        "POLYGON(({} {}, {} {}, {} {}, {} {}))",
        x0 + w * 0.05,
        y0 + h * 0.05,
        x0 + w * 0.95,
        y0 + h * 0.93,
        x0 + w * 0.93,
        y0 + h * 0.95,
        x0 + w * 0.05,
        y0 + h * 0.05
    );
    cases.push((
        format!("S_INTERSECTS(geometry, {sliver})"),
        sliver.clone(),
        None,
    ));
    let script = r#"
import json, sys
from shapely import wkt
from shapely.geometry import shape, box
d = json.load(sys.stdin)
fc, cases = d['fc'], d['cases']
out = []
for g, minrank in cases:
    if g.startswith('BBOX'):
        g = box(*[float(x) for x in g[5:-1].split(',')])
    else:
        g = wkt.loads(g)
    out.append(sorted(f['id'] for f in fc['features']
        if shape(f['geometry']).intersects(g)
        and (minrank is None or (f['properties']['depth_rank'] or 0) >= minrank)))
env = g.envelope
out.append(sorted(f['id'] for f in fc['features'] if box(*shape(f['geometry']).bounds).intersects(env)))
print(json.dumps(out))
"#;
    let input =
        json!({"fc": all, "cases": cases.iter().map(|c| json!([c.1, c.2])).collect::<Vec<_>>()});
    let truth: Vec<Vec<i64>> =
        serde_json::from_str(&py(script, input.to_string().as_bytes())).unwrap();
    for ((text, _, _), want) in cases.iter().zip(&truth) {
        let (mut got, matched) = all_ids(&s, "flood", &format!("filter={}", enc(text)));
        got.sort();
        assert_eq!(matched as usize, want.len(), "{text}");
        assert_eq!(&got, want, "{text}");
    }
    assert!(truth[0].len() > 1 && truth[4].len() < truth[0].len());
    assert!(
        !truth[5].is_empty() && truth[5].len() < truth[6].len(),
        "the sliver must discriminate exact from bbox-only: {} vs {}",
        truth[5].len(),
        truth[6].len()
    );
    assert!(!truth[3].is_empty(), "the point must fall in a zone");

    // The same point, as EPSG:4326 (lat lon) and as zone V metres.
    let want = &truth[3];
    let lat_lon = format!("S_INTERSECTS(geometry, POINT({cy} {cx}))");
    let (mut got, _) = all_ids(
        &s,
        "flood",
        &format!(
            "filter={}&filter-crs={}",
            enc(&lat_lon),
            enc("http://www.opengis.net/def/crs/EPSG/0/4326")
        ),
    );
    got.sort();
    assert_eq!(&got, want);
    let xy = py(
        &format!(
            "from pyproj import Transformer\nt=Transformer.from_crs(6668,6673,always_xy=True)\nx,y=t.transform({cx},{cy})\nprint(repr(x),repr(y))"
        ),
        b"",
    );
    let (ex, ny) = xy.trim().split_once(' ').unwrap();
    let (mut got, _) = all_ids(
        &s,
        "flood",
        &format!(
            "filter={}&filter-crs={}",
            // EPSG orders the plane zones' axes northing, easting (as QGIS sends them).
            enc(&format!("S_INTERSECTS(geometry, POINT({ny} {ex}))")),
            enc("http://www.opengis.net/def/crs/EPSG/0/6673")
        ),
    );
    got.sort();
    assert_eq!(&got, want, "zone V point northing {ny}, easting {ex}");
}

/// Malformed filters, unknown properties, type mismatches and unsupported functions are 400s in
/// the one error shape, naming where and what was expected (/conf/filter/… error handling;
/// A.7.1 of 21-065r2 expects POINT(90 180) in CRS84 to fail). Limits: 413 past 16 KiB, 400 past
/// the nesting depth.
#[test]
fn refused_filters_say_where_and_what() {
    let s = Server::start(sample_db());
    let cases: Vec<(String, u16, Vec<&str>)> = vec![
        (
            "depth_rank >= 4 AN x = 1".into(),
            400,
            vec!["character 17", "AN", "AND, OR"],
        ),
        (
            "river_name = 'open".into(),
            400,
            vec!["character 14", "closing '"],
        ),
        (
            "nope = 1".into(),
            400,
            vec!["character 1", "unknown property \"nope\"", "depth_rank"],
        ),
        (
            "depth_rank = 'four'".into(),
            400,
            vec!["character 14", "cannot compare a number with a string"],
        ),
        (
            "S_WITHIN(geometry, POINT(133 34))".into(),
            400,
            vec!["S_WITHIN", "not supported"],
        ),
        (
            "ACCENTI(river_name) = 'a'".into(),
            400,
            vec!["ACCENTI", "not supported"],
        ),
        (
            "S_INTERSECTS(geometry, POINT(90 180))".into(),
            400,
            vec!["outside lon"],
        ),
        ("depth_rank = NULL".into(), 400, vec!["IS NULL"]),
        (
            format!("{}depth_rank = 1{}", "(".repeat(100), ")".repeat(100)),
            400,
            vec!["too complex"],
        ),
        (
            format!("river_name = '{}'", "x".repeat(17 * 1024)),
            413,
            vec!["16384"],
        ),
    ];
    for (f, status, needles) in cases {
        let r = s.get(&format!("/ogc/collections/flood/items?filter={}", enc(&f)));
        assert_eq!(r.status, status, "{}: {}", &f[..f.len().min(60)], r.text());
        let j = r.json();
        assert_eq!(j["ok"], false);
        assert_eq!(j["status"], status);
        let msg = j["error"].as_str().unwrap();
        for n in needles {
            assert!(msg.contains(n), "{msg:?} lacks {n:?}");
        }
    }
    for (q, needle) in [
        (
            "filter-lang=cql-text&filter=depth_rank%3D1",
            "cql2-text or cql2-json",
        ),
        ("filter-crs=EPSG:2451&filter=depth_rank%3D1", "filter-crs"),
        (
            "filter-lang=cql2-json&filter=%7B%22op%22%3A%22%3D%22%7D",
            "JSON /",
        ),
        ("sortby=colour", "sortby: unknown property \"colour\""),
        (
            "properties=depth_rank,colour",
            "properties: unknown property \"colour\"",
        ),
        ("filter=depth_rank%3D1&filter=depth_rank%3D2", "given twice"),
    ] {
        let r = s.get(&format!("/ogc/collections/flood/items?{q}"));
        assert_eq!(r.status, 400, "{q}: {}", r.text());
        let msg = r.json()["error"].as_str().unwrap().to_string();
        assert!(msg.contains(needle), "{q}: {msg}");
    }
}

/// Features Core /conf/core/fc-limit-response, /conf/core/fc-response and
/// /conf/core/fc-links (17-069r4) on a filtered, sorted page; `sortby` is stable (ties in fid
/// order), pages of a sorted filter join into the whole sorted list; `properties` selects.
#[test]
fn core_responses_sortby_and_properties_on_filtered_pages() {
    let s = Server::start(sample_db());
    let feats = download(&s, "flood");
    let f = enc("depth_rank >= 2");
    let j = items(
        &s,
        "flood",
        &format!("filter={f}&limit=5&sortby=-depth_rank,%2Bdepth_min_m"),
    );
    // fc-response
    assert_eq!(j["type"], "FeatureCollection");
    assert!(j["timeStamp"].as_str().unwrap().ends_with('Z'));
    // fc-limit-response
    assert_eq!(j["numberReturned"].as_u64(), Some(5));
    assert_eq!(j["features"].as_array().unwrap().len(), 5);
    // fc-links: self and next carry the filter and the sort.
    for rel in ["self", "next"] {
        let l = link(&j, rel).unwrap();
        assert!(l.contains("filter=") && l.contains("sortby="), "{rel}: {l}");
    }
    // The whole sorted list, page by page, equals the oracle's order.
    let (got, matched) = all_ids(
        &s,
        "flood",
        &format!("filter={f}&sortby=-depth_rank,%2Bdepth_min_m"),
    );
    let mut want: Vec<(i64, f64, i64)> = feats
        .iter()
        .filter(|x| {
            x["properties"]["depth_rank"]
                .as_i64()
                .is_some_and(|d| d >= 2)
        })
        .map(|x| {
            let p = &x["properties"];
            (
                p["depth_rank"].as_i64().unwrap(),
                p["depth_min_m"].as_f64().unwrap_or(f64::INFINITY),
                x["id"].as_i64().unwrap(),
            )
        })
        .collect();
    want.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.total_cmp(&b.1)).then(a.2.cmp(&b.2)));
    assert_eq!(matched as usize, want.len());
    assert_eq!(got, want.iter().map(|w| w.2).collect::<Vec<_>>());

    // Ties keep fid order: sorting by a constant column is the fid order.
    let (by_hazard, _) = all_ids(&s, "flood", "sortby=hazard");
    let mut fid_order = by_hazard.clone();
    fid_order.sort();
    assert_eq!(by_hazard, fid_order);

    let j = items(&s, "flood", "limit=3&properties=river_name,depth_rank");
    for f in j["features"].as_array().unwrap() {
        let keys: BTreeSet<&str> = f["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, BTreeSet::from(["river_name", "depth_rank"]));
        assert!(f["geometry"].is_object());
    }
    assert!(link(&j, "next").unwrap().contains("properties=river_name"));
}

/// A TCP proxy in front of the server that records the request line of every request (GDAL and
/// QGIS keep connections alive, so every `GET … HTTP/1.1` line on the way up is read).
struct Recorder {
    base: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    fn start(upstream: &str) -> Recorder {
        let up = upstream.trim_start_matches("http://").to_string();
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", l.local_addr().unwrap());
        let lines = Arc::new(Mutex::new(Vec::new()));
        let rec = lines.clone();
        std::thread::spawn(move || {
            for c in l.incoming() {
                let Ok(client) = c else { break };
                let Ok(server) = TcpStream::connect(&up) else {
                    break;
                };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let rec = rec.clone();
                std::thread::spawn(move || {
                    let mut r = BufReader::new(client);
                    let mut w = server;
                    let mut line = Vec::new();
                    loop {
                        line.clear();
                        match r.read_until(b'\n', &mut line) {
                            Ok(0) | Err(_) => break,
                            Ok(_) => {}
                        }
                        let t = String::from_utf8_lossy(&line);
                        if t.starts_with("GET ") || t.starts_with("POST ") {
                            rec.lock().unwrap().push(t.trim().to_string());
                        }
                        if w.write_all(&line).is_err() {
                            break;
                        }
                    }
                    let _ = w.shutdown(std::net::Shutdown::Write);
                });
                std::thread::spawn(move || {
                    let (mut s2, mut c2) = (s2, c2);
                    let mut buf = [0u8; 65536];
                    loop {
                        match s2.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                if c2.write_all(&buf[..n]).is_err() {
                                    break;
                                }
                            }
                        }
                    }
                    let _ = c2.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        Recorder { base, lines }
    }

    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.lines.lock().unwrap())
    }
}

fn ogr_fids(out: &std::process::Output) -> Vec<i64> {
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: Vec<i64> = text
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("id (String) = ")
                .or_else(|| l.trim().strip_prefix("id (Integer64) = "))
                .or_else(|| l.trim().strip_prefix("id (Integer) = "))
        })
        .filter_map(|x| x.trim().parse().ok())
        .collect();
    if v.is_empty() {
        v = text
            .lines()
            .filter_map(|l| l.strip_prefix("OGRFeature("))
            .filter_map(|l| l.split("):").nth(1))
            .filter_map(|x| x.trim().parse().ok())
            .collect();
    }
    v.sort();
    v
}

/// GDAL's OAPIF driver (`ogrinfo` and `ogr2ogr`, `-where` and `-spat`) reads filtered
/// collections with the right features. The recorder shows what it sends: GDAL 3.6 never reads
/// /conformance; it pushes a filter down only when the OpenAPI items parameters offer the
/// pre-standard `filter-lang=cql-text` (or property=value parameters), so against the CQL2
/// classes it filters on the client, and pushes `-spat` down as `bbox=`. The test checks the
/// features either way and prints the requests.
#[test]
fn gdal_where_and_spat_read_the_right_features() {
    let s = Server::start(sample_db());
    let feats = download(&s, "flood");
    let rec = Recorder::start(&s.base);
    let url = format!("OAPIF:{}/ogc", rec.base);
    let want = oracle(&feats, |p| p["depth_rank"].as_i64().is_some_and(|d| d >= 4));
    assert!(!want.is_empty() && want.len() < feats.len());
    let out = Command::new("ogrinfo")
        .args([
            "-ro",
            "-al",
            "-q",
            "-where",
            "depth_rank >= 4",
            &url,
            "flood",
        ])
        .output()
        .expect("ogrinfo");
    assert_eq!(ogr_fids(&out), want);
    let sent = rec.take();
    let pushed = sent.iter().any(|l| l.contains("filter="));
    eprintln!(
        "GDAL -where requests (filter pushed down: {pushed}):\n{}",
        sent.join("\n")
    );

    // -spat: a box of the middle of the city, checked by shapely.
    let bb = s.get("/ogc/collections/flood").json()["extent"]["spatial"]["bbox"][0].clone();
    let f = |i: usize| bb[i].as_f64().unwrap();
    let (w, h) = (f(2) - f(0), f(3) - f(1));
    let spat = [
        f(0) + w * 0.3,
        f(1) + h * 0.3,
        f(0) + w * 0.6,
        f(1) + h * 0.6,
    ];
    let all = s.get("/datasets/flood.geojson").json();
    let truth: Vec<i64> = serde_json::from_str(&py(
        &format!(
            "import json,sys\nfrom shapely.geometry import shape, box\nb=box({},{},{},{})\nfc=json.load(sys.stdin)\nprint(json.dumps(sorted(f['id'] for f in fc['features'] if shape(f['geometry']).intersects(b) and (f['properties']['depth_rank'] or 0) >= 4)))",
            spat[0], spat[1], spat[2], spat[3]
        ),
        all.to_string().as_bytes(),
    ))
    .unwrap();
    let sp: Vec<String> = spat.iter().map(|x| x.to_string()).collect();
    let out = Command::new("ogrinfo")
        .args(["-ro", "-al", "-q", "-where", "depth_rank >= 4", "-spat"])
        .args(&sp)
        .args([&url, "flood"])
        .output()
        .unwrap();
    assert_eq!(ogr_fids(&out), truth);
    assert!(!truth.is_empty());
    let sent = rec.take();
    assert!(sent.iter().any(|l| l.contains("bbox=")), "{sent:?}");
    eprintln!("GDAL -where -spat requests:\n{}", sent.join("\n"));

    // ogr2ogr writes the same selection to a file.
    let d = tmp();
    let dst = d.path().join("deep.geojson");
    let o = Command::new("ogr2ogr")
        .args([
            "-f",
            "GeoJSON",
            dst.to_str().unwrap(),
            &url,
            "flood",
            "-where",
            "depth_rank >= 4",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let written: Value = serde_json::from_slice(&std::fs::read(&dst).unwrap()).unwrap();
    assert_eq!(written["features"].as_array().unwrap().len(), want.len());
    // And with -spat: the box goes to the server as bbox=, the copy holds shapely's answer.
    let dst = d.path().join("deep-middle.geojson");
    let o = Command::new("ogr2ogr")
        .args(["-f", "GeoJSON", dst.to_str().unwrap(), &url, "flood"])
        .args(["-where", "depth_rank >= 4", "-spat"])
        .args(&sp)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let written: Value = serde_json::from_slice(&std::fs::read(&dst).unwrap()).unwrap();
    assert_eq!(written["features"].as_array().unwrap().len(), truth.len());
    assert!(rec.take().iter().any(|l| l.contains("bbox=")));
}

/// OWSLib's `Features.collection_items` passes `filter` and `filter-lang` through as query
/// parameters; the filtered collection it reads is the oracle's.
#[test]
fn owslib_reads_a_filtered_collection() {
    let s = Server::start(sample_db());
    let feats = download(&s, "flood");
    let want = oracle(&feats, |p| {
        p["depth_rank"]
            .as_i64()
            .is_some_and(|d| (2..=4).contains(&d))
    });
    let script = format!(
        r#"
import json
from owslib.ogcapi.features import Features
w = Features('{base}/ogc')
ids, off = [], 0
while True:
    page = w.collection_items('flood', limit=200, offset=off, filter='depth_rank BETWEEN 2 AND 4', **{{'filter-lang': 'cql2-text'}})
    ids += [f['id'] for f in page['features']]
    off += len(page['features'])
    if not page['features'] or off >= page['numberMatched']:
        break
q = w.collection_queryables('flood')
print(json.dumps({{'ids': sorted(ids), 'matched': page['numberMatched'], 'geom': 'geometry' in q['properties']}}))
"#,
        base = s.base
    );
    let j: Value = serde_json::from_str(&py(&script, b"")).unwrap();
    let got: Vec<i64> = serde_json::from_value(j["ids"].clone()).unwrap();
    assert_eq!(got, want);
    assert_eq!(j["matched"].as_u64(), Some(want.len() as u64));
    assert_eq!(j["geom"], true);
}

/// What QGIS (src/providers/wfs/oapif) sends once the four classes plus advanced comparison,
/// CASEI and basic spatial functions are declared: the expression compiled to CQL2 text with
/// quoted identifiers and parenthesised terms, encoded as QUrlQuery does (FullyEncoded), then
/// `&filter-lang=cql2-text`, the view's `bbox`, and the next links followed.
#[test]
fn the_requests_qgis_sends_are_answered_exactly() {
    let s = Server::start(sample_db());
    let feats = download(&s, "flood");
    let bb = s.get("/ogc/collections/flood").json()["extent"]["spatial"]["bbox"][0].clone();
    let f = |i: usize| bb[i].as_f64().unwrap();
    // QUrlQuery::toString(QUrl::FullyEncoded) keeps sub-delimiters and encodes the rest.
    let qurl = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~!$'()*,;:@/?".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    let river = feats
        .iter()
        .find_map(|f| f["properties"]["river_name"].as_str())
        .unwrap()
        .to_string();
    let mid: String = river.chars().skip(1).take(1).collect();
    type Case = (String, Box<dyn Fn(&Value) -> bool>);
    let m2 = mid.clone();
    let cases: Vec<Case> = vec![
        // "depth_rank" >= 4 AND intersects_bbox($geometry, geom_from_wkt('POLYGON(…)'))
        (
            format!(
                "((\"depth_rank\" >= 4) AND S_INTERSECTS(geometry,BBOX({},{},{},{})))",
                f(0) - 1.0,
                f(1) - 1.0,
                f(2) + 1.0,
                f(3) + 1.0
            ),
            Box::new(|p| p["depth_rank"].as_i64().is_some_and(|d| d >= 4)),
        ),
        // "river_name" ILIKE '%x%'
        (
            format!("(CASEI(\"river_name\") LIKE CASEI('%{mid}%'))"),
            Box::new(move |p| {
                p["river_name"]
                    .as_str()
                    .is_some_and(|r| r.to_lowercase().contains(&m2.to_lowercase()))
            }),
        ),
        // "depth_rank" IN (1, 6) / NOT BETWEEN / IS NOT
        (
            "(\"depth_rank\" IN (1,6) OR (\"depth_max_m\" IS NOT NULL))".into(),
            Box::new(|p| {
                p["depth_rank"].as_i64().is_some_and(|d| d == 1 || d == 6)
                    || !p["depth_max_m"].is_null()
            }),
        ),
        (
            "(NOT (\"depth_rank\" NOT BETWEEN 2 AND 3))".into(),
            Box::new(|p| {
                p["depth_rank"]
                    .as_i64()
                    .is_some_and(|d| (2..=3).contains(&d))
            }),
        ),
    ];
    for (cql, pred) in &cases {
        let want = oracle(&feats, pred);
        assert!(!want.is_empty(), "{cql}");
        // The first page as QGIS asks for it, then its next links.
        let first = format!(
            "/ogc/collections/flood/items?limit=1000&filter={}&filter-lang=cql2-text&bbox={},{},{},{}",
            qurl(cql),
            f(0),
            f(1),
            f(2),
            f(3)
        );
        let mut path = first;
        let mut got = Vec::new();
        let mut matched = None;
        loop {
            let r = s.get(&path);
            assert_eq!(r.status, 200, "{cql}: {}", r.text());
            let j = r.json();
            matched.get_or_insert(j["numberMatched"].as_u64().unwrap());
            got.extend(ids(&j));
            match link(&j, "next") {
                Some(n) => path = n.strip_prefix(&s.base).unwrap().to_string(),
                None => break,
            }
        }
        got.sort();
        assert_eq!(got, want, "{cql}");
        assert_eq!(matched, Some(want.len() as u64));
        // featureCount(): limit=1 and the filter, numberMatched read.
        let c = items(
            &s,
            "flood",
            &format!("limit=1&filter={}&filter-lang=cql2-text", qurl(cql)),
        );
        assert_eq!(c["numberMatched"].as_u64(), Some(want.len() as u64));
    }
}
