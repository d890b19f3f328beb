//! Whole-dataset downloads over real HTTP: the 03 layout byte conventions, CP932 for Excel, the
//! round trip (a standard-layout CSV ingested and downloaded again gives the same records, field
//! for field), GeoJSON, gzip, ETags and errors.

use crate::support::*;
use std::collections::BTreeMap;
use std::io::Read;

const HEADERS_03: &str = "全国地方公共団体コード,ID,名称,名称_カナ,名称_英字,所在地_全国地方公共団体コード,町字ID,所在地_連結表記,所在地_都道府県,所在地_市区町村,所在地_町字,所在地_番地以下,建物名等(方書),緯度,経度,標高,電話番号,内線番号,連絡先メールアドレス,連絡先FormURL,連絡先備考（その他、SNSなど）,郵便番号,市区町村コード,地方公共団体名,災害種別_洪水,災害種別_崖崩れ、土石流及び地滑り,災害種別_高潮,災害種別_地震,災害種別_津波,災害種別_大規模な火事,災害種別_内水氾濫,災害種別_火山現象,指定避難所との重複,想定収容人数,対象となる町会・自治会,URL,画像,画像_ライセンス,備考";

/// Records of a CSV (UTF-8, BOM stripped) as header → value maps, keyed by `key`.
fn records(text: &str, key: &str) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let h = r.headers().unwrap().clone();
    let mut out = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.unwrap();
        let m: BTreeMap<String, String> = h
            .iter()
            .zip(rec.iter())
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        out.insert(m[key].clone(), m);
    }
    out
}

/// Same value: equal text, or equal numbers (`43.0643100` and `43.06431` are one latitude).
fn same(a: &str, b: &str) -> bool {
    a == b || matches!((a.parse::<f64>(), b.parse::<f64>()), (Ok(x), Ok(y)) if (x - y).abs() < 1e-9)
}

#[test]
fn shelters_csv_is_the_03_layout() {
    let s = Server::start(sample_db());
    let r = s.get("/datasets/shelters.csv");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(
        r.header("content-disposition"),
        Some("attachment; filename=\"339997_evacuation_space.csv\"")
    );
    assert!(r.body.starts_with("\u{feff}".as_bytes()), "BOM");
    let text = r.text();
    let body = text.trim_start_matches('\u{feff}');
    let first = body.split("\r\n").next().unwrap();
    assert_eq!(first, HEADERS_03);
    assert_eq!(first.split(',').count(), 39);
    assert!(body.ends_with("\r\n"));
    assert_eq!(
        body.matches('\n').count(),
        body.matches("\r\n").count(),
        "CRLF only"
    );
    // Flags are 1 or empty.
    let recs = records(&text, "ID");
    assert!(!recs.is_empty());
    for rec in recs.values() {
        for (k, v) in rec {
            if k.starts_with("災害種別_") || k == "指定避難所との重複" {
                assert!(v.is_empty() || v == "1", "{k}={v:?}");
            }
        }
    }
}

#[test]
fn standard_csv_round_trips_field_for_field() {
    let dir = tmp();
    let src = sample_dir().join("shelters_339997_evacuation_space.csv");
    let db1 = dir.path().join("one.duckdb");
    let (code, v) = ingest_json(&db1, "shelters", &[&src], &[]);
    assert_eq!(code, 0, "{v:#}");
    let s1 = Server::start(&db1);
    let got = s1.get("/datasets/shelters.csv");
    assert_eq!(got.status, 200);
    let original = machimap::text::decode(&std::fs::read(&src).unwrap())
        .expect("sample decodes")
        .0;
    let want = records(&original, "ID");
    let have = records(&got.text(), "ID");
    assert_eq!(want.len(), have.len());
    let mut compared = 0;
    for (id, w) in &want {
        let h = have.get(id).unwrap_or_else(|| panic!("record {id} lost"));
        for (k, wv) in w {
            let hv = h
                .get(k)
                .unwrap_or_else(|| panic!("column {k} lost in the download"));
            assert!(
                same(wv, hv),
                "record {id}, {k}: sent {wv:?}, downloaded {hv:?}"
            );
            compared += 1;
        }
    }
    assert!(compared > want.len() * 30, "{compared}");

    // And the downloaded file, ingested again, downloads byte for byte the same.
    let again = dir.path().join("again.csv");
    std::fs::write(&again, &got.body).unwrap();
    let db2 = dir.path().join("two.duckdb");
    let (code, v) = ingest_json(&db2, "shelters", &[&again], &[]);
    assert_eq!(code, 0, "{v:#}");
    let s2 = Server::start(&db2);
    assert_eq!(s2.get("/datasets/shelters.csv").body, got.body);
}

#[test]
fn stockpile_roads_and_wards_round_trip() {
    let dir = tmp();
    let s = Server::start(sample_db());
    let db = dir.path().join("rt.duckdb");
    // Shelters first: stockpile rows link to them.
    let sh = sample_dir().join("shelters_339997_evacuation_space.csv");
    let gsi = sample_dir().join("shelters_gsi_33999_1.csv");
    assert_eq!(ingest_json(&db, "shelters", &[&sh, &gsi], &[]).0, 0);
    let stock = s.get("/datasets/stockpile.csv");
    assert_eq!(stock.status, 200);
    let f = dir.path().join("stockpile.csv");
    std::fs::write(&f, &stock.body).unwrap();
    let (code, v) = ingest_json(&db, "stockpile", &[&f], &[]);
    assert_eq!(code, 0, "{v:#}");
    let s2 = Server::start(&db);
    let back = s2.get("/datasets/stockpile.csv");
    assert_eq!(
        records(&back.text(), "ID"),
        records(&stock.text(), "ID"),
        "stockpile changed on the round trip"
    );
    for (d, first, key) in [
        (
            "stockpile",
            "全国地方公共団体コード,ID,避難所_共通ID,避難所_ID,保管場所名称",
            "ID",
        ),
        (
            "roads",
            "路線番号,路線名,道路種別,起点,終点,実延長,幅員,認定年月日,備考,計測延長",
            "路線番号",
        ),
        (
            "wards",
            "地域コード,町丁字名,町丁字名_カナ,全国地方公共団体コード,人口,世帯数",
            "地域コード",
        ),
    ] {
        let r = s.get(&format!("/datasets/{d}.csv"));
        assert_eq!(r.status, 200);
        assert_eq!(
            r.header("content-disposition"),
            Some(format!("attachment; filename=\"339997_{d}.csv\"").as_str())
        );
        assert!(
            r.text().trim_start_matches('\u{feff}').starts_with(first),
            "{d}"
        );
        let n = s.get("/healthz").json()["datasets"][d]["features"]
            .as_u64()
            .unwrap();
        assert_eq!(records(&r.text(), key).len() as u64, n, "{d}");
    }
}

#[test]
fn cp932_for_excel_holds_the_same_records() {
    let s = Server::start(sample_db());
    let utf8 = s.get("/datasets/shelters.csv");
    let sj = s.get("/datasets/shelters.csv?encoding=cp932");
    assert_eq!(sj.status, 200);
    assert_eq!(
        sj.header("content-type"),
        Some("text/csv; charset=Shift_JIS")
    );
    assert!(!sj.body.starts_with(&[0xEF, 0xBB, 0xBF]), "no BOM in CP932");
    let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&sj.body);
    assert!(!bad, "valid CP932");
    assert_eq!(text, utf8.text().trim_start_matches('\u{feff}'));
    assert_ne!(sj.header("etag"), utf8.header("etag"));
}

#[test]
fn geojson_gzip_etag_and_canonical_layout() {
    let s = Server::start(sample_db());
    let r = s.get("/datasets/wards.geojson");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/geo+json"));
    let j = r.json();
    let n = s.get("/healthz").json()["datasets"]["wards"]["features"]
        .as_u64()
        .unwrap();
    assert_eq!(j["features"].as_array().unwrap().len() as u64, n);
    assert!(j["features"][0]["id"].is_i64());
    assert!(j["features"][0]["properties"]["population"].is_i64());

    let gz = s.get_with("/datasets/wards.geojson", &[("Accept-Encoding", "gzip")]);
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert!(gz.body.len() < r.body.len() / 2);
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&gz.body[..])
        .read_to_end(&mut plain)
        .unwrap();
    assert_eq!(plain, r.body);

    let etag = r.header("etag").unwrap().to_string();
    let nm = s.get_with("/datasets/wards.geojson", &[("If-None-Match", &etag)]);
    assert_eq!(nm.status, 304);
    assert!(nm.body.is_empty());

    let c = s.get("/datasets/flood.csv?layout=canonical");
    let t = c.text();
    let head = t
        .trim_start_matches('\u{feff}')
        .split("\r\n")
        .next()
        .unwrap()
        .to_string();
    assert!(head.starts_with("fid,hazard,scenario,depth_rank"), "{head}");
    assert!(head.ends_with("label_lat,label_lon"), "{head}");
    // Hazards have no Japanese layout: the standard CSV is the canonical one.
    assert!(s.get("/datasets/flood.csv").text().contains("depth_label"));
}

#[test]
fn download_errors_and_counts() {
    let dir = tmp();
    let db = sample_db_copy(dir.path());
    let s = Server::start(&db);
    for (path, status) in [
        ("/datasets/parks.csv", 404),
        ("/datasets/stockpile.geojson", 404),
        ("/datasets/shelters.xlsx", 404),
        ("/datasets/shelters", 404),
        ("/datasets/shelters.csv?encoding=latin1", 400),
        ("/datasets/shelters.csv?layout=wide", 400),
        ("/datasets/shelters.csv?x=1", 400),
        ("/datasets/wards.geojson?encoding=cp932", 400),
    ] {
        let r = s.get(path);
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert_eq!(r.json()["ok"], false);
    }
    for _ in 0..3 {
        assert_eq!(s.get("/datasets/shelters.csv").status, 200);
    }
    assert_eq!(s.get("/datasets/roads.geojson").status, 200);
    let mut f = db.as_os_str().to_owned();
    f.push(".downloads.json");
    let counts: serde_json::Value =
        serde_json::from_slice(&std::fs::read(std::path::PathBuf::from(f)).unwrap()).unwrap();
    assert_eq!(counts["shelters"]["csv"], 3);
    assert_eq!(counts["roads"]["geojson"], 1);
}
