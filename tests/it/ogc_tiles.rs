//! OGC API – Tiles Part 1 over real HTTP on the sample city, as its abstract test suite (and
//! the OGC test engine, ets-ogcapi-tiles10) walks it: from the landing page and the collections
//! to the tile set lists, the tile set metadata and the tile template; tiles inside the limits
//! answer, outside them 404. A tile under the OGC template is the `/tiles/…` tile, byte for
//! byte, with the same ETag. The MapLibre style over these URLs resolves to tiles.

use crate::support::*;
use machimap::tiles::coord::tile_for;
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Stdio};

const MVT: &str = "application/vnd.mapbox-vector-tile";
const REL_TILESETS: &str = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector";

fn rel<'a>(v: &'a Value, rel: &str) -> Vec<&'a Value> {
    v["links"]
        .as_array()
        .map(|ls| ls.iter().filter(|l| l["rel"] == rel).collect())
        .unwrap_or_default()
}

fn path_of(s: &Server, href: &str) -> String {
    href.strip_prefix(&s.base)
        .unwrap_or_else(|| panic!("link {href} is not under {}", s.base))
        .to_string()
}

/// Decode a tile with mapbox_vector_tile (PyPI) and print `layer count` lines; `checks` runs
/// after decoding with the tile in `t`.
fn py_tile(tile: &[u8], checks: &str) -> String {
    let script = format!(
        "import sys, mapbox_vector_tile\nt = mapbox_vector_tile.decode(sys.stdin.buffer.read(), default_options={{'y_coord_down': True}})\n{checks}\n"
    );
    let mut c = Command::new("python3")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 with mapbox-vector-tile");
    c.stdin.take().unwrap().write_all(tile).unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

/// Walk one tile set as the ATS does: every link of its list entry answers JSON
/// (`/conf/tilesets-list/…`), its metadata has limits and a templated `item` link with
/// `{tileMatrix}`, `{tileRow}` and `{tileCol}` (`/conf/core/tc-tilematrix-definition`,
/// `tc-tilerow-definition`, `tc-tilecol-definition`); the tile at (first matrix, its
/// maxTileRow, its minTileCol) answers an MVT (`/conf/core/tc-success`) and the row below it
/// 404 (`/conf/core/tc-error`). Returns the metadata and the template.
fn walk_tileset(s: &Server, list_path: &str) -> (Value, String) {
    let list = s.get(list_path);
    assert_eq!(list.status, 200, "{list_path}");
    let list = list.json();
    let sets = list["tilesets"].as_array().unwrap();
    assert_eq!(sets.len(), 1, "{list_path}");
    let entry = &sets[0];
    assert_eq!(entry["dataType"], "vector");
    assert_eq!(
        entry["tileMatrixSetURI"],
        "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
    );
    for l in entry["links"].as_array().unwrap() {
        let r = s.get(&path_of(s, l["href"].as_str().unwrap()));
        assert_eq!(r.status, 200, "{l}");
        assert!(r
            .header("content-type")
            .unwrap()
            .starts_with("application/json"));
    }
    let meta_path = path_of(s, rel(entry, "self")[0]["href"].as_str().unwrap());
    let meta = s.get(&meta_path).json();
    assert_eq!(meta["dataType"], "vector");
    assert_eq!(meta["crs"], "http://www.opengis.net/def/crs/EPSG/0/3857");
    let item = rel(&meta, "item");
    assert_eq!(item.len(), 1);
    assert_eq!(item[0]["type"], MVT);
    assert_eq!(item[0]["templated"], true);
    let template = item[0]["href"].as_str().unwrap().to_string();
    for p in ["{tileMatrix}", "{tileRow}", "{tileCol}"] {
        assert!(template.contains(p), "{template}");
    }
    let tms = rel(
        &meta,
        "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
    );
    assert_eq!(
        s.get(&path_of(s, tms[0]["href"].as_str().unwrap())).status,
        200
    );
    let limits = meta["tileMatrixSetLimits"].as_array().unwrap();
    assert_eq!(limits.len(), 17, "tile matrices 0–16");
    let fill = |m: &Value, row: u64, col: u64| {
        path_of(
            s,
            &template
                .replace("{tileMatrix}", m.as_str().unwrap())
                .replace("{tileRow}", &row.to_string())
                .replace("{tileCol}", &col.to_string()),
        )
    };
    for l in [&limits[0], &limits[12], &limits[16]] {
        let (m, max_row, min_col) = (
            &l["tileMatrix"],
            l["maxTileRow"].as_u64().unwrap(),
            l["minTileCol"].as_u64().unwrap(),
        );
        let ok = s.get(&fill(m, max_row, min_col));
        assert!(ok.status == 200 || ok.status == 204, "{}", ok.text());
        if ok.status == 200 {
            assert_eq!(ok.header("content-type"), Some(MVT));
        }
        let below = s.get(&fill(m, max_row + 1, min_col));
        assert_eq!(below.status, 404, "{}", below.text());
        let left = s.get(&fill(m, max_row, min_col.wrapping_sub(1)));
        assert!(left.status == 404 || left.status == 400);
    }
    // Not tile addresses: 400; tile matrices the set does not have: 404.
    let m = &limits[12]["tileMatrix"];
    let bad = template
        .replace("{tileMatrix}", "abc")
        .replace("{tileRow}", "0")
        .replace("{tileCol}", "0");
    assert_eq!(s.get(&path_of(s, &bad)).status, 400);
    let deep = fill(&Value::from("25"), 0, 0);
    assert_eq!(s.get(&deep).status, 404);
    let beyond = fill(&Value::from("17"), 0, 0);
    assert_eq!(
        s.get(&beyond).status,
        404,
        "z17 is past the limits (overzoom)"
    );
    let _ = m;
    (meta, template)
}

/// Tiles ATS `/conf/core/tc-op` and the tile set classes: the landing page links the dataset
/// tile sets (`/conf/dataset-tilesets`), every collection with geometry links its own
/// (`/conf/geodata-tilesets`); the tile matrix set definition is WebMercatorQuad's.
#[test]
fn tile_sets_from_the_landing_page_and_every_collection() {
    let s = Server::start(sample_db());
    let conf = s.get("/ogc/conformance").json();
    let classes: Vec<&str> = conf["conformsTo"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for c in [
        "core",
        "tileset",
        "tilesets-list",
        "geodata-tilesets",
        "dataset-tilesets",
        "mvt",
        "oas30",
    ] {
        let uri = format!("http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/{c}");
        assert!(classes.contains(&uri.as_str()), "{uri}");
    }
    let land = s.get("/ogc").json();
    let ts = rel(&land, REL_TILESETS);
    assert_eq!(ts.len(), 1);
    let (meta, _) = walk_tileset(&s, &path_of(&s, ts[0]["href"].as_str().unwrap()));
    let ids: Vec<&str> = meta["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    for d in ["wards", "flood", "roads", "shelters", "wards_label"] {
        assert!(ids.contains(&d), "{ids:?}");
    }
    assert!(!ids.contains(&"stockpile"), "no geometry, no tiles");
    let cols = s.get("/ogc/collections").json();
    let mut walked = 0;
    for c in cols["collections"].as_array().unwrap() {
        let links = rel(c, REL_TILESETS);
        match c["id"].as_str().unwrap() {
            "stockpile" | "shelter_status" => assert!(links.is_empty()),
            id => {
                let (meta, template) =
                    walk_tileset(&s, &path_of(&s, links[0]["href"].as_str().unwrap()));
                assert!(template.contains(&format!("/collections/{id}/tiles/")));
                assert_eq!(meta["layers"][0]["id"], id);
                let props = &meta["layers"][0]["propertiesSchema"]["properties"];
                assert!(props.as_object().unwrap().len() > 3);
                walked += 1;
            }
        }
    }
    assert!(walked >= 6);
    // The definition: WebMercatorQuad as registered (origin, sizes, scales).
    let list = s.get("/ogc/tileMatrixSets").json();
    let href = list["tileMatrixSets"][0]["links"][0]["href"]
        .as_str()
        .unwrap();
    let d = s.get(&path_of(&s, href)).json();
    assert_eq!(d["id"], "WebMercatorQuad");
    let m = d["tileMatrices"].as_array().unwrap();
    assert_eq!(m.len(), 25);
    assert!((m[0]["scaleDenominator"].as_f64().unwrap() - 559_082_264.028_717).abs() < 1e-3);
    assert_eq!(
        m[0]["pointOfOrigin"][0].as_f64().unwrap(),
        -20_037_508.342_789_244
    );
    assert_eq!(s.get("/ogc/tileMatrixSets/WorldCRS84Quad").status, 404);
    assert_eq!(s.get("/ogc/tiles/WorldCRS84Quad").status, 404);
    assert_eq!(s.get("/ogc/collections/stockpile/tiles").status, 404);
    assert_eq!(s.get("/ogc/collections/parks/tiles").status, 404);
}

/// `/conf/core/tc-success` with `/conf/mvt` content: a tile under the OGC template
/// (`{tileMatrix}/{tileRow}/{tileCol}` = z/y/x) is the `/tiles/{ids}/{z}/{x}/{y}.mvt` tile —
/// the same bytes, ETag and caching — for one collection and for the dataset composite; its
/// features lie in the tile (decoded by mapbox-vector-tile); a swapped row and column is not
/// the same tile.
#[test]
fn ogc_tiles_are_the_same_bytes_and_etag_as_tiles() {
    let s = Server::start(sample_db());
    let all_ids: Vec<String> = {
        let meta = s.get("/ogc/tiles/WebMercatorQuad").json();
        meta["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["id"].as_str().unwrap().to_string())
            .filter(|id| !id.ends_with("_label"))
            .collect()
    };
    let composite = all_ids.join(",");
    for z in [12u8, 14, 15] {
        let t = tile_for(133.93, 34.60, z);
        for (ogc, plain) in [
            (
                format!(
                    "/ogc/collections/flood/tiles/WebMercatorQuad/{z}/{}/{}",
                    t.y, t.x
                ),
                format!("/tiles/flood/{z}/{}/{}.mvt", t.x, t.y),
            ),
            (
                format!("/ogc/tiles/WebMercatorQuad/{z}/{}/{}", t.y, t.x),
                format!("/tiles/{composite}/{z}/{}/{}.mvt", t.x, t.y),
            ),
        ] {
            for enc in [None, Some("gzip")] {
                let h: Vec<(&str, &str)> = enc
                    .map(|e| vec![("Accept-Encoding", e)])
                    .unwrap_or_default();
                // Either may be asked first: the other is a cache hit of the same entry.
                let a = s.get_with(&ogc, &h);
                let b = s.get_with(&plain, &h);
                assert_eq!(a.status, 200, "{ogc}: {}", a.text());
                assert_eq!(b.status, 200, "{plain}");
                assert!(a.body == b.body, "{ogc} and {plain} differ");
                assert!(a.body.len() > 50, "{ogc}: an empty tile proves nothing");
                for h in ["etag", "content-type", "content-encoding", "cache-control"] {
                    assert_eq!(a.header(h), b.header(h), "{ogc} {h}");
                }
                let etag = a.header("etag").unwrap().to_string();
                let again = s.get_with(&ogc, &[("If-None-Match", &etag)]);
                assert_eq!(again.status, 304);
            }
            let raw = s.get(&ogc).body;
            let out = py_tile(
                &raw,
                "ext = 4096\nfor name, l in t.items():\n    for f in l['features']:\n        g = f['geometry']\n        def pts(c):\n            if isinstance(c[0], (int, float)):\n                yield c\n            else:\n                for x in c:\n                    yield from pts(x)\n        for x, y in pts(g['coordinates']):\n            assert -512 <= x <= ext + 512 and -512 <= y <= ext + 512, (name, x, y)\nprint(' '.join(sorted(t)))",
            );
            assert!(out.contains("flood"), "{ogc}: {out}");
        }
        // Row and column swapped: another tile (outside the limits, or other bytes).
        if t.x != t.y {
            let swapped = s.get(&format!(
                "/ogc/collections/flood/tiles/WebMercatorQuad/{z}/{}/{}",
                t.x, t.y
            ));
            let right = s.get(&format!("/tiles/flood/{z}/{}/{}.mvt", t.x, t.y));
            assert!(swapped.status == 404 || swapped.body != right.body);
        }
    }
}

/// The MapLibre style over the OGC URLs: its vector source's tile template resolves, and the
/// tiles it names carry the source-layers its layers draw.
#[test]
fn the_ogc_style_resolves_to_tiles() {
    let s = Server::start(sample_db());
    let land = s.get("/ogc").json();
    let href = rel(&land, "stylesheet")[0]["href"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s.get(&path_of(&s, &href));
    assert_eq!(r.status, 200);
    let style = r.json();
    assert_eq!(style["version"], 8);
    let src = &style["sources"]["machimap"];
    let template = src["tiles"][0].as_str().unwrap();
    assert!(
        template.ends_with("/ogc/tiles/WebMercatorQuad/{z}/{y}/{x}"),
        "{template}"
    );
    let maxz = src["maxzoom"].as_u64().unwrap() as u8;
    let t = tile_for(133.93, 34.60, 14.min(maxz));
    let url = template
        .replace("{z}", &t.z.to_string())
        .replace("{x}", &t.x.to_string())
        .replace("{y}", &t.y.to_string());
    let tile = s.get(&path_of(&s, &url));
    assert_eq!(tile.status, 200, "{url}");
    assert_eq!(tile.header("content-type"), Some(MVT));
    let names = py_tile(&tile.body, "print(' '.join(sorted(t)))");
    let in_tile: Vec<&str> = names.split_whitespace().collect();
    let drawn: Vec<&str> = style["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["source"] == "machimap")
        .filter_map(|l| l["source-layer"].as_str())
        .collect();
    // Every published layer the style draws is in the city-centre tile.
    let meta = s.get("/ogc/tiles/WebMercatorQuad").json();
    let published: Vec<&str> = meta["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["id"].as_str())
        .collect();
    let mut checked = 0;
    for l in &drawn {
        if published.contains(l) && !["landslide", "tsunami", "storm_surge"].contains(l) {
            assert!(in_tile.contains(l), "{l} not in {in_tile:?}");
            checked += 1;
        }
    }
    assert!(checked >= 3, "{drawn:?} {in_tile:?}");
}

/// GDAL's OGCAPI driver (3.6, Debian 12) on the landing page lists every collection as a
/// subdataset. Opening one (`OGCAPI:…/ogc/collections/flood`) reads the collection, its tile
/// set list, the tile set and the WebMercatorQuad definition, then gives up without a message
/// (also with a pure TMS 1.0 definition served in its place), so GDAL 3.6 does not read these
/// vector tiles; the OAPIF driver reads the same collections (`ogc::gdal_ogrinfo_…`).
#[test]
fn gdal_ogcapi_driver_lists_the_collections() {
    let s = Server::start(sample_db());
    let out = Command::new("ogrinfo")
        .args(["-ro", "-so", "-q", &format!("OGCAPI:{}/ogc", s.base)])
        .output()
        .expect("ogrinfo");
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!(
        "ogrinfo OGCAPI:/ogc → {}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success());
    assert!(text.contains("flood"), "{text}");
}
