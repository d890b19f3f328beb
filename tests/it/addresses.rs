//! Address search end to end: ABR files through `machimap ingest`, served, asked over HTTP.

use crate::support::*;
use std::process::Command;

/// Metres between two lon/lat points (local equirectangular; exact enough at the cm scale).
fn metres(a: (f64, f64), b: (f64, f64)) -> f64 {
    let lat = a.1.to_radians();
    let dx = (a.0 - b.0).to_radians() * 6_378_137.0 * lat.cos();
    let dy = (a.1 - b.1).to_radians() * 6_378_137.0;
    (dx * dx + dy * dy).sqrt()
}

/// PROJ's own answer (pyproj) for (EPSG code, lon, lat) → JGD2011.
fn pyproj(cases: &[(u32, f64, f64)]) -> Vec<(f64, f64)> {
    let input: String = cases
        .iter()
        .map(|(c, x, y)| format!("{c} {x} {y}\n"))
        .collect();
    let script = r#"
import sys
from pyproj import Transformer
for line in sys.stdin:
    code, x, y = line.split()
    t = Transformer.from_crs("EPSG:" + code, "EPSG:6668", always_xy=True)
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
    assert!(out.status.success(), "pyproj failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let mut it = l.split_whitespace().map(|v| v.parse::<f64>().unwrap());
            (it.next().unwrap(), it.next().unwrap())
        })
        .collect()
}

fn q(s: &str) -> String {
    format!("/api/geocode?q={}", form_encode(s))
}

#[test]
fn abr_points_in_mixed_srids_match_pyproj_within_1_cm() {
    let d = tmp();
    // One 町字 per row, each position in its own SRID, as a real mt_town_pos mixes them.
    let towns = [
        ("0001001", "泉町", 6668u32, 133.9212345, 34.6512345),
        ("0002001", "港町", 4612, 133.9312345, 34.6412345),
        ("0003001", "桜台", 4612, 133.8812345, 34.6812345),
        ("0004001", "旭ヶ丘", 6668, 133.8912345, 34.6912345),
    ];
    let mut town = String::from("lg_code,machiaza_id,machiaza_type,pref,city,oaza_cho,oaza_cho_kana,chome,chome_number,rsdt_addr_flg\r\n");
    let mut pos =
        String::from("lg_code,machiaza_id,rsdt_addr_flg,rep_lon,rep_lat,rep_srid,rep_scale\r\n");
    for (id, name, srid, x, y) in &towns {
        town.push_str(&format!(
            "339997,{id},2,岡山県,サンプル市,{name},,一丁目,1,1\r\n"
        ));
        pos.push_str(&format!("339997,{id},1,{x},{y},EPSG:{srid},2500\r\n"));
    }
    let tf = d.path().join("mt_town_city339997.csv");
    let pf = d.path().join("mt_town_pos_city339997.csv");
    std::fs::write(&tf, sjis(&town)).unwrap();
    std::fs::write(&pf, pos.as_bytes()).unwrap();
    let db = d.path().join("a.duckdb");
    let (code, v) = ingest_json(&db, "addresses", &[&tf, &pf], &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["outcome"]["rows"], 4, "{v:#}");
    let want = pyproj(
        &towns
            .iter()
            .map(|(_, _, s, x, y)| (*s, *x, *y))
            .collect::<Vec<_>>(),
    );
    let s = Server::start(&db);
    for ((id, name, srid, ..), w) in towns.iter().zip(&want) {
        let r = s.get(&q(&format!("{name}1丁目")));
        assert_eq!(r.status, 200);
        let j = r.json();
        assert_eq!(j["found"], true, "{j:#}");
        assert_eq!(j["machiaza_id"], *id);
        assert_eq!(j["precision"], "machiaza");
        let got = (j["lon"].as_f64().unwrap(), j["lat"].as_f64().unwrap());
        let m = metres(got, *w);
        assert!(m < 0.01, "{name} EPSG:{srid}: {m} m from pyproj");
    }
}

#[test]
fn geocode_over_http_on_the_sample_city() {
    let book = machimap_sample::address_book();
    let (t, b, rn, p) = book
        .iter()
        .filter(|t| t.rsdt_addr && t.chome > 0)
        .find_map(|t| {
            t.blocks
                .iter()
                .find_map(|b| b.residences.iter().find(|r| r.2).map(|r| (t, b, r.0, r.1)))
        })
        .expect("a residence");
    let s = Server::start(sample_db());
    let r = s.get(&q(&format!(
        "岡山県サンプル市{}{}丁目{}番{}号 ３階",
        t.oaza,
        t.chome,
        machimap_sample::addresses::fullwidth(b.num),
        rn
    )));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    let j = r.json();
    assert_eq!(j["found"], true, "{j:#}");
    assert_eq!(j["precision"], "residence", "{j:#}");
    assert_eq!(j["rest"], "３階", "{j:#}");
    assert!((j["lon"].as_f64().unwrap() - p.x).abs() < 1e-7, "{j:#}");
    assert!((j["lat"].as_f64().unwrap() - p.y).abs() < 1e-7, "{j:#}");
    assert!(j["address"]
        .as_str()
        .unwrap()
        .ends_with(&format!("{}番{}号", b.num, rn)));
    // A house number the data lacks: the block, said so.
    let j = s
        .get(&q(&format!("{}{}-{}-999", t.oaza, t.chome, b.num)))
        .json();
    assert_eq!(j["precision"], "block", "{j:#}");
    assert_eq!(j["rest"], "999");
    assert!((j["lon"].as_f64().unwrap() - b.point.x).abs() < 1e-7);
    // The map's search box asks /api/search: the address comes first, with its precision.
    let j = s
        .get(&format!(
            "/api/search?q={}",
            form_encode(&format!("{}{}丁目{}-{}", t.oaza, t.chome, b.num, rn))
        ))
        .json();
    assert_eq!(j["results"][0]["kind"], "address", "{j:#}");
    assert_eq!(j["results"][0]["precision"], "residence", "{j:#}");
    assert_eq!(j["results"][0]["dataset"], "addresses", "{j:#}");
    assert!((j["results"][0]["lon"].as_f64().unwrap() - p.x).abs() < 1e-7);
    // Nothing of the city: found false, not an error.
    let j = s.get(&q("東京都千代田区永田町1-7-1")).json();
    assert_eq!(j["found"], false, "{j:#}");
    assert_eq!(s.get("/api/geocode?q=").status, 400);
    assert_eq!(s.get(&q(&"あ".repeat(101))).status, 400);
}
