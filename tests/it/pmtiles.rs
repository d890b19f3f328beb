//! PMTiles export read back by an independent reader (PyPI `pmtiles`): header, metadata and
//! every tile, each equal byte for byte to what the server sends for the same composite.

use crate::support::*;
use sha2::{Digest, Sha256};

#[test]
fn export_is_read_by_pmtiles_and_matches_the_server_tile_for_tile() {
    let d = tmp();
    let out = d.path().join("city.pmtiles");
    let o = run(&[
        "export-pmtiles",
        "--db",
        sample_db().to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--minzoom",
        "8",
        "--maxzoom",
        "14",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let script = format!(
        r#"
import json, gzip, hashlib
from pmtiles.reader import Reader, MmapSource, all_tiles
with open({path:?}, 'rb') as f:
    r = Reader(MmapSource(f))
    h = r.header()
    m = r.metadata()
    tiles = []
    for (z, x, y), data in all_tiles(MmapSource(f)):
        tiles.append([z, x, y, hashlib.sha256(gzip.decompress(data)).hexdigest()])
print(json.dumps({{"minzoom": h["min_zoom"], "maxzoom": h["max_zoom"], "tile_type": str(h["tile_type"]),
    "layers": [l["id"] for l in m["vector_layers"]], "tiles": tiles}}))
"#,
        path = out.to_str().unwrap()
    );
    let o = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j["minzoom"], 8);
    assert_eq!(j["maxzoom"], 14);
    assert!(
        j["tile_type"].as_str().unwrap().contains("MVT"),
        "{}",
        j["tile_type"]
    );
    let ids: Vec<&str> = j["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l.as_str())
        .filter(|l| !l.ends_with("_label"))
        .collect();
    assert_eq!(ids.len(), 7, "{ids:?}");
    let tiles = j["tiles"].as_array().unwrap();
    assert!(tiles.len() > 20, "{} tiles", tiles.len());
    let s = Server::start(sample_db());
    let composite = ids.join(",");
    let mut zooms = std::collections::BTreeSet::new();
    for t in tiles {
        let (z, x, y) = (
            t[0].as_u64().unwrap(),
            t[1].as_u64().unwrap(),
            t[2].as_u64().unwrap(),
        );
        zooms.insert(z);
        let r = s.get(&format!("/tiles/{composite}/{z}/{x}/{y}.mvt"));
        assert_eq!(r.status, 200);
        assert_eq!(
            format!("{:x}", Sha256::digest(&r.body)),
            t[3].as_str().unwrap(),
            "tile {z}/{x}/{y} differs from the server's"
        );
    }
    assert_eq!(zooms.len(), 7, "every zoom 8–14 has tiles");

    // `serve --pmtiles` answers from the archive with the same bytes.
    let p = Server::start_with(sample_db(), &["--pmtiles", out.to_str().unwrap()]);
    for t in tiles.iter().step_by(7) {
        let (z, x, y) = (
            t[0].as_u64().unwrap(),
            t[1].as_u64().unwrap(),
            t[2].as_u64().unwrap(),
        );
        let r = p.get(&format!("/pmtiles/{z}/{x}/{y}.mvt"));
        assert_eq!(r.status, 200);
        assert_eq!(
            format!("{:x}", Sha256::digest(&r.body)),
            t[3].as_str().unwrap()
        );
    }
    assert_eq!(
        p.get("/pmtiles/3/0/0.mvt").status,
        204,
        "outside the archive"
    );
    assert_eq!(p.get("/pmtiles/99/0/0.mvt").status, 400);
    assert_eq!(
        s.get("/pmtiles/8/0/0.mvt").status,
        404,
        "no archive configured"
    );
}
