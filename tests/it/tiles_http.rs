//! Vector tiles over real HTTP, decoded by an independent decoder (PyPI mapbox-vector-tile with
//! shapely): valid geometry, features where they belong, shared ward edges kept, caching headers,
//! errors, and a publish that changes exactly its own dataset's tiles.

use crate::support::*;
use machimap::tiles::coord::tile_for;
use std::io::Write;
use std::process::{Command, Stdio};

/// Decode a tile with mapbox_vector_tile and run `checks` (Python) on it; returns its stdout.
fn py_tile(tile: &[u8], checks: &str) -> String {
    let script = format!(
        "import sys, json, mapbox_vector_tile\nfrom shapely.geometry import shape\nfrom shapely.ops import unary_union\nt = mapbox_vector_tile.decode(sys.stdin.buffer.read(), default_options={{'y_coord_down': True}})\n{checks}\n"
    );
    let mut child = Command::new("python3")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 with mapbox-vector-tile (scripts/test installs it)");
    child.stdin.take().unwrap().write_all(tile).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python check failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn city_tile(z: u8) -> (u32, u32) {
    // The middle of サンプル市.
    let t = tile_for(133.93, 34.60, z);
    (t.x, t.y)
}

#[test]
fn tilejson_describes_layers_and_versioned_urls() {
    let s = Server::start(sample_db());
    let r = s.get("/tiles/flood,wards.json");
    assert_eq!(r.status, 200);
    let j = r.json();
    assert_eq!(j["tilejson"], "3.0.0");
    let url = j["tiles"][0].as_str().unwrap();
    assert!(
        url.starts_with(&format!(
            "{}/tiles/wards,flood/{{z}}/{{x}}/{{y}}.mvt?v=wards-v1,flood-v1",
            s.base
        )),
        "{url}"
    );
    let ids: Vec<&str> = j["vector_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    // Layers in the canonical (catalog) order, whatever order the URL named them in.
    assert_eq!(ids, vec!["wards", "wards_label", "flood", "flood_label"]);
    assert_eq!(j["vector_layers"][2]["fields"]["depth_rank"], "Number");
    let b = j["bounds"].as_array().unwrap();
    assert!(b[0].as_f64().unwrap() > 133.8 && b[2].as_f64().unwrap() < 134.1);
    assert!(j["minzoom"].as_u64().unwrap() < j["maxzoom"].as_u64().unwrap());
    // Behind a proxy the configured base URL is used.
    let p = Server::start_with(
        sample_db(),
        &["--base-url", "https://data.example.lg.jp/map/"],
    );
    let j = p.get("/tiles/shelters.json").json();
    assert!(j["tiles"][0]
        .as_str()
        .unwrap()
        .starts_with("https://data.example.lg.jp/map/tiles/shelters/"));
}

#[test]
fn tiles_decode_valid_with_ids_and_labels_inside_their_polygons() {
    let s = Server::start(sample_db());
    for z in [12u8, 13, 14, 15] {
        let (x, y) = city_tile(z);
        let r = s.get(&format!(
            "/tiles/wards,flood,shelters,roads/{z}/{x}/{y}.mvt"
        ));
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("content-type"),
            Some("application/vnd.mapbox-vector-tile")
        );
        assert!(
            r.body.len() < 500 * 1024,
            "z{z} tile is {} bytes",
            r.body.len()
        );
        let out = py_tile(
            &r.body,
            r#"
assert set(t) >= {'wards', 'wards_label', 'flood'}, sorted(t)
for name, layer in t.items():
    assert layer['extent'] == 4096
    for f in layer['features']:
        assert isinstance(f['id'], int) and f['id'] > 0, (name, f.get('id'))
        g = shape(f['geometry'])
        assert g.is_valid or g.buffer(0).area > 0.99 * g.area, (name, f['id'], g.wkt[:200])
polys = {f['id']: shape(f['geometry']) for f in t['wards']['features']}
inside = 0
for f in t['wards_label']['features']:
    p = shape(f['geometry'])
    assert f['id'] in polys, f['id']
    assert polys[f['id']].buffer(2).contains(p), (f['id'], p.wkt)
    inside += 1
print(inside, len(t['wards']['features']))
"#,
        );
        let mut it = out.split_whitespace().map(|v| v.parse::<usize>().unwrap());
        let (labels, wards) = (it.next().unwrap(), it.next().unwrap());
        assert!(
            wards > 0 && labels > 0,
            "z{z}: {wards} wards, {labels} labels"
        );
    }
}

#[test]
fn shared_ward_edges_stay_shared_after_simplification() {
    let s = Server::start(sample_db());
    for z in [11u8, 12, 13, 14] {
        let (x, y) = city_tile(z);
        let r = s.get(&format!("/tiles/wards/{z}/{x}/{y}.mvt"));
        assert_eq!(r.status, 200);
        let out = py_tile(
            &r.body,
            r#"
polys = [shape(f['geometry']).buffer(0) for f in t['wards']['features']]
u = unary_union(polys)
overlap = sum(p.area for p in polys) - u.area
holes = sum(len(list(g.interiors)) for g in (u.geoms if hasattr(u, 'geoms') else [u]))
print(len(polys), overlap, holes)
"#,
        );
        let v: Vec<f64> = out.split_whitespace().map(|v| v.parse().unwrap()).collect();
        assert!(v[0] > 3.0, "z{z}: only {} wards", v[0]);
        // No overlaps (slivers) and no gaps (holes inside the union) between neighbours.
        assert!(v[1].abs() < 1.0, "z{z}: overlap {} units²", v[1]);
        assert_eq!(v[2], 0.0, "z{z}: {} gaps between wards", v[2]);
    }
}

#[test]
fn caching_headers_compression_and_304() {
    let s = Server::start(sample_db());
    let (x, y) = city_tile(14);
    let path = format!("/tiles/flood/14/{x}/{y}.mvt");
    let plain = s.get(&path);
    assert_eq!(plain.status, 200);
    assert_eq!(plain.header("vary"), Some("Accept-Encoding"));
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.header("cache-control"), Some("public, max-age=60"));
    let etag = plain.header("etag").unwrap().to_string();
    // Browsers take both: tiles come gzipped (faster and smaller than fast brotli on MVT).
    let both = s.get_with(&path, &[("Accept-Encoding", "gzip, deflate, br")]);
    assert_eq!(both.header("content-encoding"), Some("gzip"));
    let br = s.get_with(&path, &[("Accept-Encoding", "br")]);
    assert_eq!(br.header("content-encoding"), Some("br"));
    assert!(br.body.len() < plain.body.len());
    let gz = s.get_with(&path, &[("Accept-Encoding", "gzip")]);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let mut d = flate2::read::GzDecoder::new(&gz.body[..]);
    let mut raw = Vec::new();
    std::io::Read::read_to_end(&mut d, &mut raw).unwrap();
    assert_eq!(raw, plain.body);
    let nm = s.get_with(&path, &[("If-None-Match", &etag)]);
    assert_eq!(nm.status, 304);
    assert!(nm.body.is_empty());
    let imm = s.get(&format!("{path}?v=flood-v1"));
    assert_eq!(
        imm.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    // CORS for browsers on other origins.
    let c = s.get_with(&path, &[("Origin", "https://example.org")]);
    assert_eq!(c.header("access-control-allow-origin"), Some("*"));
    // Served from the cache the second time.
    let m = s.get("/metrics").text();
    let hits: u64 = m
        .lines()
        .find(|l| l.starts_with("machimap_tile_cache_hits_total"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap();
    assert!(hits >= 4, "{m}");
    assert!(m.contains(
        "machimap_http_requests_total{route=\"/tiles/{ids}/{z}/{x}/{file}\",status=\"200\"}"
    ));
    assert!(m.contains("machimap_http_request_duration_seconds_bucket"));
}

/// `--cors-origin` with a list: a listed origin is named back (tiles drawn and cached, JSON),
/// any other gets no `Access-Control-Allow-Origin`, and the answer varies on `Origin` so a
/// shared cache keeps them apart.
#[test]
fn cors_with_a_list_of_origins_answers_only_those() {
    let s = Server::start_with(sample_db(), &["--cors-origin", "https://city.example"]);
    let (x, y) = city_tile(14);
    let path = format!("/tiles/flood/14/{x}/{y}.mvt");
    let varies_on_origin = |r: &Resp| {
        r.headers
            .get_all("vary")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|v| v.trim().eq_ignore_ascii_case("origin"))
    };
    for (what, path) in [
        ("tile, drawn", path.as_str()),
        ("tile, cached", path.as_str()),
        ("risk", "/api/risk?lat=34.6&lon=133.93"),
    ] {
        let ok = s.get_with(path, &[("Origin", "https://city.example")]);
        assert_eq!(ok.status, 200, "{what}");
        assert_eq!(
            ok.header("access-control-allow-origin"),
            Some("https://city.example"),
            "{what}"
        );
        assert!(varies_on_origin(&ok), "{what}");
        let other = s.get_with(path, &[("Origin", "https://elsewhere.example")]);
        assert_eq!(other.status, 200, "{what}");
        assert_eq!(other.header("access-control-allow-origin"), None, "{what}");
        assert_eq!(
            other.header("x-content-type-options"),
            Some("nosniff"),
            "{what}"
        );
    }
}

#[test]
fn tile_errors_are_json_and_never_500() {
    let s = Server::start(sample_db());
    for (path, status) in [
        ("/tiles/flood/23/0/0.mvt", 400),
        // A column past the zoom's last one: no such tile (the API description says 404).
        ("/tiles/flood/2/4/0.mvt", 404),
        ("/tiles/flood/a/0/0.mvt", 400),
        ("/tiles/flood/1/0/-1.mvt", 400),
        ("/tiles/flood/1/0/0.png", 404),
        ("/tiles/parks/1/0/0.mvt", 404),
        ("/tiles/stockpile/1/0/0.mvt", 404),
        ("/tiles/flood,flood/1/0/0.mvt", 400),
        ("/tiles/parks.json", 404),
        ("/tiles/flood.xml", 404),
        ("/nope", 404),
    ] {
        let r = s.get(path);
        assert_eq!(r.status, status, "{path}: {}", r.text());
        let j = r.json();
        assert_eq!(j["ok"], false, "{path}");
        assert_eq!(j["status"], status, "{path}");
        assert!(!j["error"].as_str().unwrap().is_empty());
    }
    // An empty tile far from the data is fine.
    let r = s.get("/tiles/flood/10/0/0.mvt");
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
}

#[test]
fn publish_changes_that_datasets_tiles_only_without_restart() {
    let d = tmp();
    let db = sample_db_copy(d.path());
    let s = Server::start(&db);
    let (x, y) = city_tile(13);
    let flood_path = format!("/tiles/flood/13/{x}/{y}.mvt");
    let wards_path = format!("/tiles/wards/13/{x}/{y}.mvt");
    let f1 = s.get(&flood_path);
    let w1 = s.get(&wards_path);
    let (fe, we) = (
        f1.header("etag").unwrap().to_string(),
        w1.header("etag").unwrap().to_string(),
    );
    // A new flood version: the 想定最大規模 features only.
    let src: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sample_dir().join("flood_A31a.geojson")).unwrap())
            .unwrap();
    let mut fc = src.clone();
    let feats: Vec<serde_json::Value> = src["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"].get("A31a_205").is_some())
        .cloned()
        .collect();
    fc["features"] = serde_json::Value::Array(feats);
    let p = d.path().join("flood_l2.geojson");
    std::fs::write(&p, serde_json::to_vec(&fc).unwrap()).unwrap();
    let (code, v) = ingest_json(&db, "flood", &[&p], &[]);
    assert_eq!(code, 0, "{v:#}");
    // The server notices within a few seconds.
    let mut ok = false;
    for _ in 0..100 {
        if s.get("/healthz").json()["datasets"]["flood"]["version"] == 2 {
            ok = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(ok, "new flood version not picked up");
    let f2 = s.get_with(&flood_path, &[("If-None-Match", &fe)]);
    assert_eq!(f2.status, 200, "flood tile must change");
    assert_ne!(f2.header("etag").unwrap(), fe);
    assert_ne!(f2.body, f1.body);
    let w2 = s.get_with(&wards_path, &[("If-None-Match", &we)]);
    assert_eq!(w2.status, 304, "wards tile must not change");
    let tj = s.get("/tiles/flood,wards.json").json();
    assert!(tj["tiles"][0]
        .as_str()
        .unwrap()
        .ends_with("?v=wards-v1,flood-v2"));
}

#[test]
fn tiles_drawn_at_publish_are_sent_in_place_of_a_draw_and_a_damaged_one_is_drawn() {
    use machimap::dataset::DatasetId;
    let dir = tmp();
    let db = sample_db_copy(dir.path());
    let key = {
        let store = machimap::store::Store::open(&db).unwrap();
        let v = store.versions(DatasetId::Flood).unwrap().pop().unwrap();
        machimap::index::image::Key {
            dataset: DatasetId::Flood,
            version: v.version,
            created_at: v.created_at,
            source_sha256: v.source_sha256,
        }
    };
    // A set holding, for one tile, bytes no draw gives: a server that sends them read the set.
    let (x, y) = city_tile(14);
    let path = format!("/tiles/flood/14/{x}/{y}.mvt");
    let marker = b"stored at publish, not drawn".to_vec();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&marker).unwrap();
    let gz = gz.finish().unwrap();
    let write_set = |gz: &[u8]| {
        machimap::index::tileset::write(
            &db,
            &key,
            machimap::tiles::pyramid::REVISION,
            vec![((14, x, y), marker.len(), gz.to_vec())],
        )
        .unwrap()
    };
    write_set(&gz);
    let s = Server::start(&db);
    let zipped = s.get_with(&path, &[("Accept-Encoding", "gzip")]);
    assert_eq!(zipped.status, 200);
    assert_eq!(zipped.header("content-encoding"), Some("gzip"));
    assert_eq!(
        zipped.body, gz,
        "gzip clients get the stored bytes as they are"
    );
    // Again, now from the cache (answered before routing): the same bytes.
    let cached = s.get_with(&path, &[("Accept-Encoding", "gzip")]);
    assert_eq!(cached.body, gz);
    let plain = s.get(&path);
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.body, marker, "other clients get them decompressed");
    let etag = plain.header("etag").unwrap().to_string();
    assert_eq!(zipped.header("etag"), Some(etag.as_str()));
    let again = s.get_with(&path, &[("If-None-Match", &etag)]);
    assert_eq!(again.status, 304);
    // Drawing on demand: the real tile under the same validator (a set and a draw of the same
    // revision are the same bytes, so they share it).
    let d = Server::start_with(&db, &["--draw-on-demand"]);
    let drawn = d.get(&path);
    assert_eq!(drawn.status, 200);
    assert_eq!(drawn.header("etag"), Some(etag.as_str()));
    assert!(drawn.body.len() > 100 && drawn.body != marker);
    drop((s, d));
    // A tile whose bytes no longer match their checksum is drawn instead.
    let mut bad = gz.clone();
    let n = bad.len();
    bad[n / 2] ^= 0x55;
    write_set(&gz);
    let file = machimap::index::tileset::path_for(&db, &key);
    let mut bytes = std::fs::read(&file).unwrap();
    let at = bytes.len() - gz.len();
    bytes[at..].copy_from_slice(&bad);
    std::fs::write(&file, &bytes).unwrap();
    let s = Server::start(&db);
    assert_eq!(s.get(&path).body, drawn.body);
}
