//! OGC API – Features over real HTTP on the sample city: the resources, paging, bbox and
//! property filters checked against the whole-dataset download, every error case, and two real
//! clients reading every collection: GDAL's OAPIF driver (ogrinfo) and OWSLib.

use crate::support::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;

fn count(s: &Server, d: &str) -> u64 {
    s.get("/healthz").json()["datasets"][d]["features"]
        .as_u64()
        .unwrap_or_else(|| panic!("{d} not published"))
}

fn link<'a>(v: &'a Value, rel: &str) -> Option<&'a str> {
    v["links"]
        .as_array()?
        .iter()
        .find(|l| l["rel"] == rel)
        .and_then(|l| l["href"].as_str())
}

fn path_of(s: &Server, href: &str) -> String {
    href.strip_prefix(&s.base)
        .unwrap_or_else(|| panic!("link {href} is not under {}", s.base))
        .to_string()
}

/// Mirrors OGC 17-069r4 (Features – Part 1: Core) abstract tests /conf/core/root-op and
/// root-success (the landing page's links), api-definition-op and -success, conformance-op and
/// -success, fc-md-op, fc-md-success, fc-md-links and fc-md-extent (the collections and one
/// collection), and OGC 19-079r2 /conf/queryables/get-queryables-response.
#[test]
fn landing_conformance_collections_and_queryables() {
    let s = Server::start(sample_db());
    let land = s.get("/ogc");
    assert_eq!(land.status, 200);
    let land = land.json();
    for rel in ["self", "service-desc", "conformance", "data"] {
        assert!(link(&land, rel).is_some(), "landing lacks {rel}");
    }
    let conf = s.get("/ogc/conformance").json();
    let classes: Vec<&str> = conf["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(classes.contains(&"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"));
    assert!(classes.contains(&"http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"));
    assert!(
        !classes.iter().any(|c| c.ends_with("/conf/html")),
        "no HTML is offered"
    );

    let api = s.get("/ogc/api");
    assert_eq!(api.status, 200);
    assert!(api.header("content-type").unwrap().contains("openapi"));
    let api = api.json();
    let limit = api["paths"]["/ogc/collections/{collectionId}/items"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap()
        .clone();
    assert!(limit["schema"]["maximum"].as_u64().unwrap() >= 1000);

    let cols = s.get("/ogc/collections").json();
    let ids: BTreeSet<&str> = cols["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    let want: BTreeSet<&str> = [
        "wards",
        "flood",
        "landslide",
        "tsunami",
        "storm_surge",
        "roads",
        "shelters",
        "stockpile",
        "addresses",
        "shelter_status",
    ]
    .into();
    assert_eq!(ids, want);

    let flood = s.get("/ogc/collections/flood").json();
    let bb = flood["extent"]["spatial"]["bbox"][0].as_array().unwrap();
    assert!(bb[0].as_f64().unwrap() > 133.8 && bb[2].as_f64().unwrap() < 134.1);
    assert!(link(&flood, "items")
        .unwrap()
        .ends_with("/ogc/collections/flood/items"));
    // stockpile is a collection without geometry: no spatial extent.
    let st = s.get("/ogc/collections/stockpile").json();
    assert!(st["extent"].is_null());

    let q = s.get("/ogc/collections/shelters/queryables");
    assert_eq!(q.header("content-type"), Some("application/schema+json"));
    let q = q.json();
    assert_eq!(q["type"], "object");
    assert_eq!(q["properties"]["capacity"]["type"], "integer");
    assert_eq!(q["properties"]["tsunami"]["type"], "boolean");
}

/// Mirrors 17-069r4 /conf/core/fc-op, fc-limit-definition and fc-limit-response (a limit above
/// the maximum is served as the maximum), fc-response, fc-numberMatched, fc-numberReturned and
/// fc-links (next and prev visit every feature once).
#[test]
fn paging_visits_every_feature_once() {
    let s = Server::start(sample_db());
    let total = count(&s, "flood");
    let mut path = "/ogc/collections/flood/items?limit=7".to_string();
    let mut seen = BTreeSet::new();
    let mut pages = 0;
    loop {
        let r = s.get(&path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.header("content-type"), Some("application/geo+json"));
        let j = r.json();
        assert_eq!(j["numberMatched"].as_u64(), Some(total));
        let feats = j["features"].as_array().unwrap();
        assert_eq!(j["numberReturned"].as_u64(), Some(feats.len() as u64));
        for f in feats {
            assert!(
                seen.insert(f["id"].as_i64().unwrap()),
                "duplicate {}",
                f["id"]
            );
            assert_eq!(f["type"], "Feature");
            // Depth zones have a band; the A31a duration and collapse zones do not.
            let p = &f["properties"];
            assert_eq!(p["depth_label"].is_string(), p["family"] == "depth", "{p}");
        }
        if pages > 0 {
            assert!(link(&j, "prev").is_some());
        }
        pages += 1;
        match link(&j, "next") {
            Some(n) => path = path_of(&s, n),
            None => break,
        }
    }
    assert_eq!(seen.len() as u64, total);
    assert!(pages >= 2);
    // Limits above the maximum are served as the maximum, not refused.
    let big = s.get("/ogc/collections/flood/items?limit=99999999").json();
    assert_eq!(big["numberReturned"].as_u64(), Some(total.min(10_000)));
}

/// Mirrors 17-069r4 /conf/core/fc-bbox-definition and fc-bbox-response, with the whole-dataset
/// download as the oracle.
#[test]
fn bbox_and_property_filters_agree_with_the_full_download() {
    let s = Server::start(sample_db());
    let all = s.get("/datasets/flood.geojson").json();
    let feats = all["features"].as_array().unwrap();
    // Brute force: features with depth_rank 3.
    let rank3: BTreeSet<i64> = feats
        .iter()
        .filter(|f| f["properties"]["depth_rank"] == 3)
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    assert!(!rank3.is_empty());
    let j = s
        .get("/ogc/collections/flood/items?depth_rank=3&limit=10000")
        .json();
    let got: BTreeSet<i64> = j["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    assert_eq!(got, rank3);
    assert_eq!(j["numberMatched"].as_u64(), Some(rank3.len() as u64));
    // Text filters too, with percent-encoded Japanese.
    let scen = feats[0]["properties"]["scenario"]
        .as_str()
        .unwrap()
        .to_string();
    let n_scen = feats
        .iter()
        .filter(|f| f["properties"]["scenario"] == scen.as_str())
        .count();
    let enc: String = scen.bytes().map(|b| format!("%{b:02X}")).collect();
    let j = s
        .get(&format!(
            "/ogc/collections/flood/items?scenario={enc}&limit=1"
        ))
        .json();
    assert_eq!(j["numberMatched"].as_u64(), Some(n_scen as u64));
    assert!(link(&j, "next").unwrap().contains("scenario="));

    // A bbox over the western half of the city: every returned feature touches it (checked with
    // shapely, an independent geometry engine), and those left out do not.
    let bbox = [133.80, 34.50, 133.915, 34.70];
    let b = bbox.map(|x| x.to_string()).join(",");
    let j = s
        .get(&format!(
            "/ogc/collections/flood/items?bbox={b}&limit=10000"
        ))
        .json();
    let inside: BTreeSet<i64> = j["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    assert!(!inside.is_empty() && inside.len() < feats.len());
    let script = format!(
        "import json,sys\nfrom shapely.geometry import shape, box\nb=box({},{},{},{})\nfc=json.load(sys.stdin)\nprint(json.dumps(sorted(f['id'] for f in fc['features'] if shape(f['geometry']).intersects(b))))",
        bbox[0], bbox[1], bbox[2], bbox[3]
    );
    let out = py(&script, &serde_json::to_vec(&all).unwrap());
    let truth: BTreeSet<i64> = serde_json::from_str(&out).unwrap();
    assert_eq!(inside, truth);
}

fn py(script: &str, stdin: &[u8]) -> String {
    use std::io::Write;
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

/// Mirrors 17-069r4 /conf/core/f-op, f-success and f-links.
#[test]
fn single_features_and_collections_without_geometry() {
    let s = Server::start(sample_db());
    let first = s.get("/ogc/collections/shelters/items?limit=1").json();
    let id = first["features"][0]["id"].as_i64().unwrap();
    let f = s.get(&format!("/ogc/collections/shelters/items/{id}"));
    assert_eq!(f.status, 200);
    let f = f.json();
    assert_eq!(f["id"], id);
    assert_eq!(f["geometry"]["type"], "Point");
    assert!(link(&f, "self").unwrap().ends_with(&format!("/items/{id}")));
    assert!(link(&f, "collection").is_some());
    let st = s.get("/ogc/collections/stockpile/items?limit=3").json();
    assert_eq!(st["features"][0]["geometry"], Value::Null);
    assert!(st["features"][0]["properties"]["item"].is_string());
}

/// Mirrors 17-069r4 /conf/core/query-param-invalid and query-param-unknown (400), and
/// /conf/core/http (404 for resources that do not exist).
#[test]
fn errors_are_json_with_the_right_status() {
    let s = Server::start(sample_db());
    for (path, status) in [
        ("/ogc/collections/parks", 404),
        ("/ogc/collections/parks/items", 404),
        ("/ogc/collections/flood/items/999999999", 404),
        ("/ogc/collections/flood/items/abc", 404),
        ("/ogc/collections/flood/items?limit=0", 400),
        ("/ogc/collections/flood/items?limit=-5", 400),
        ("/ogc/collections/flood/items?limit=ten", 400),
        ("/ogc/collections/flood/items?offset=-1", 400),
        ("/ogc/collections/flood/items?bbox=1,2,3", 400),
        ("/ogc/collections/flood/items?bbox=a,b,c,d", 400),
        ("/ogc/collections/flood/items?bbox=133,35,134,34", 400),
        ("/ogc/collections/flood/items?bbox-crs=EPSG:3857", 400),
        ("/ogc/collections/flood/items?colour=red", 400),
        ("/ogc/collections/flood/items?depth_rank=deep", 400),
        ("/ogc/collections/shelters/items?tsunami=maybe", 400),
        ("/ogc/collections?f=html", 406),
        ("/ogc/conformance?x=1", 400),
    ] {
        let r = s.get(path);
        assert_eq!(r.status, status, "{path}: {}", r.text());
        let j = r.json();
        assert_eq!(j["ok"], false, "{path}");
        assert!(!j["error"].as_str().unwrap().is_empty());
    }
}

#[test]
fn gdal_ogrinfo_reads_every_collection() {
    let s = Server::start(sample_db());
    let url = format!("OAPIF:{}/ogc", s.base);
    let out = Command::new("ogrinfo")
        .args(["-ro", "-so", "-q", &url])
        .output()
        .expect("ogrinfo (Debian gdal-bin; scripts/test installs it)");
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{listing}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for d in [
        "wards",
        "flood",
        "landslide",
        "tsunami",
        "storm_surge",
        "roads",
        "shelters",
        "stockpile",
    ] {
        assert!(listing.contains(d), "ogrinfo does not list {d}:\n{listing}");
    }
    for d in ["wards", "flood", "roads", "shelters", "stockpile"] {
        // -al reads every feature, following our next links.
        let out = Command::new("ogrinfo")
            .args(["-ro", "-al", "-q", "-oo", "PAGE_SIZE=40", &url, d])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{d}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let n = text.matches("OGRFeature(").count() as u64;
        assert_eq!(n, count(&s, d), "ogrinfo read {n} features of {d}");
    }
}

#[test]
fn owslib_reads_every_collection() {
    let s = Server::start(sample_db());
    let script = format!(
        r#"
import json
from owslib.ogcapi.features import Features
w = Features('{base}/ogc')
out = {{}}
conf = w.conformance()
assert any(c.endswith('/conf/core') for c in conf['conformsTo'])
for c in w.collections()['collections']:
    cid = c['id']
    n, off = 0, 0
    while True:
        page = w.collection_items(cid, limit=1000, offset=off)
        k = len(page['features'])
        n += k
        off += k
        if k == 0 or off >= page['numberMatched']:
            break
    out[cid] = [n, page['numberMatched'], len(w.collection_queryables(cid)['properties'])]
print(json.dumps(out))
"#,
        base = s.base
    );
    let out = py(&script, b"");
    let j: Value = serde_json::from_str(&out).unwrap();
    for d in [
        "wards",
        "flood",
        "landslide",
        "tsunami",
        "storm_surge",
        "roads",
        "shelters",
        "stockpile",
    ] {
        let total = count(&s, d);
        assert_eq!(j[d][0].as_u64(), Some(total), "{d}: {j}");
        assert_eq!(j[d][1].as_u64(), Some(total), "{d}: {j}");
        assert!(j[d][2].as_u64().unwrap() > 3);
    }
}

#[test]
fn shelter_status_is_a_collection_too() {
    let d = tmp();
    let db = sample_db_copy(d.path());
    // Two statuses as the console writes them (append-only JSON lines beside the database).
    let s0 = Server::start(&db);
    let first = s0.get("/ogc/collections/shelters/items?limit=2").json();
    let fids: Vec<i64> = first["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    drop(s0);
    let mut dir = db.as_os_str().to_owned();
    dir.push(".admin");
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let lines = format!(
        "{{\"fid\":{},\"status\":\"full\",\"evacuees\":42,\"at\":\"2026-12-01T00:00:00Z\",\"by\":\"t\"}}\n{{\"fid\":{},\"status\":\"closed\",\"evacuees\":null,\"at\":\"2026-12-01T00:01:00Z\",\"by\":\"t\"}}\n",
        fids[0], fids[1]
    );
    std::fs::write(dir.join("shelter_status.jsonl"), lines).unwrap();
    let s = Server::start(&db);
    let cols = s.get("/ogc/collections").json();
    assert!(cols["collections"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["id"] == "shelter_status"));
    let c = s.get("/ogc/collections/shelter_status").json();
    assert!(link(&c, "items")
        .unwrap()
        .ends_with("/ogc/collections/shelter_status/items"));
    let items = s.get("/ogc/collections/shelter_status/items").json();
    assert_eq!(items["numberMatched"], 2);
    let f0 = items["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == fids[0])
        .unwrap()
        .clone();
    assert_eq!(f0["properties"]["status"], "full");
    assert_eq!(f0["properties"]["status_ja"], "満員");
    assert_eq!(f0["properties"]["evacuees"], 42);
    assert_eq!(f0["geometry"]["type"], "Point");
    assert!(link(&items, "self")
        .unwrap()
        .contains("/collections/shelter_status/items"));
    let closed = s
        .get("/ogc/collections/shelter_status/items?status=closed")
        .json();
    assert_eq!(closed["numberMatched"], 1);
    let one = s.get(&format!(
        "/ogc/collections/shelter_status/items/{}",
        fids[1]
    ));
    assert_eq!(one.status, 200);
    assert_eq!(one.json()["properties"]["status_ja"], "閉鎖");
    let q = s.get("/ogc/collections/shelter_status/queryables").json();
    assert_eq!(q["properties"]["evacuees"]["type"], "integer");
    assert_eq!(
        s.get("/ogc/collections/shelter_status/items?colour=red")
            .status,
        400
    );
}
