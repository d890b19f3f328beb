//! `machimap ingest` on generated fixtures: every reader, every kind, repairs and rejections,
//! exit codes, and that a rejected upload leaves the published version alone.

use crate::support::*;
use machimap::shp::{self, DbfField, DbfFieldKind, DbfValue, OutEncoding};
use std::path::Path;

/// The 39 columns of the current 03 指定緊急避難場所一覧.
const G3: &str = "全国地方公共団体コード,ID,名称,名称_カナ,名称_英字,所在地_全国地方公共団体コード,町字ID,所在地_連結表記,所在地_都道府県,所在地_市区町村,所在地_町字,所在地_番地以下,建物名等(方書),緯度,経度,標高,電話番号,内線番号,連絡先メールアドレス,連絡先FormURL,連絡先備考（その他、SNSなど）,郵便番号,市区町村コード,地方公共団体名,災害種別_洪水,災害種別_崖崩れ、土石流及び地滑り,災害種別_高潮,災害種別_地震,災害種別_津波,災害種別_大規模な火事,災害種別_内水氾濫,災害種別_火山現象,指定避難所との重複,想定収容人数,対象となる町会・自治会,URL,画像,画像_ライセンス,備考";

fn g3_row(
    code: &str,
    id: &str,
    name: &str,
    lat: &str,
    lon: &str,
    flood: &str,
    cap: &str,
) -> String {
    format!(
        "{code},{id},{name},テスト,Test,339997,0001000,岡山県サンプル市桜台一丁目1-1,岡山県,サンプル市,桜台一丁目,1-1,,{lat},{lon},12.5,086-000-0000,,,,,7000001,339997,岡山県サンプル市,{flood},,,1,,1,,,1,{cap},桜台町内会,,,,"
    )
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("write fixture");
}

fn shelters_csv(dir: &Path, rows: &[String], name: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    let mut text = String::from(G3);
    text.push_str("\r\n");
    for r in rows {
        text.push_str(r);
        text.push_str("\r\n");
    }
    write(&p, &sjis(&text));
    p
}

#[test]
fn cp932_shelters_published_then_bad_upload_rejected_without_touching_it() {
    let d = tmp();
    let db = d.path().join("m.duckdb");
    let good = shelters_csv(
        d.path(),
        &[
            g3_row(
                "339997",
                "S1",
                "桜台小学校",
                "34.6100",
                "133.9200",
                "1",
                "300",
            ),
            g3_row(
                "339997",
                "S2",
                "川端公民館",
                "34.6200",
                "133.9300",
                "",
                "80",
            ),
        ],
        "good.csv",
    );
    let (code, v) = ingest_json(&db, "shelters", &[&good], &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["outcome"]["status"], "published");
    assert_eq!(v["outcome"]["rows"], 2);
    assert_eq!(v["report"]["encoding"], "Shift_JIS (CP932)");
    assert!(
        v["report"]["layout"]
            .as_str()
            .unwrap()
            .starts_with("03 指定緊急避難場所一覧"),
        "{v:#}"
    );

    // Two bad rows: a wrong check digit (row 2) and an unreadable flag (row 4).
    let bad2 = g3_row(
        "339990",
        "S1",
        "桜台小学校",
        "34.6100",
        "133.9200",
        "1",
        "300",
    );
    let bad4 = g3_row(
        "339997",
        "S3",
        "北山公園",
        "34.6300",
        "133.9100",
        "多分",
        "50",
    );
    let bad = shelters_csv(
        d.path(),
        &[
            bad2,
            g3_row("339997", "S2", "川端公民館", "34.62", "133.93", "", "80"),
            bad4,
        ],
        "bad.csv",
    );
    let (code, v) = ingest_json(&db, "shelters", &[&bad], &[]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["outcome"]["status"], "rejected");
    let cd = issues(&v, "LG_CODE_CHECK_DIGIT");
    assert_eq!(cd.len(), 1);
    assert_eq!(cd[0]["loc"], serde_json::json!({"kind": "row", "n": 2}));
    assert_eq!(cd[0]["column"], "全国地方公共団体コード");
    assert_eq!(cd[0]["value"], "339990");
    assert!(cd[0]["message_ja"].as_str().unwrap().contains("339997"));
    let fl = issues(&v, "VALUE_INVALID_FLAG");
    assert_eq!(fl.len(), 1);
    assert_eq!(fl[0]["loc"]["n"], 4);
    assert_eq!(fl[0]["column"], "災害種別_洪水");

    // Still version 1, two rows.
    let out = run(&[
        "versions",
        "--db",
        db.to_str().unwrap(),
        "--dataset",
        "shelters",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].starts_with("shelters\t1\tpublished\t"), "{text}");

    // The same file again makes no new version.
    let (code, v) = ingest_json(&db, "shelters", &[&good], &[]);
    assert_eq!(code, 0);
    assert_eq!(v["outcome"]["status"], "unchanged");
}

#[test]
fn repairs_are_warnings_with_the_repaired_value() {
    let d = tmp();
    let db = d.path().join("m.duckdb");
    let mut row = g3_row(
        "33999",
        "S1",
        "桜台小学校",
        "３４．６１",
        "133.92",
        "○",
        "３００",
    );
    row = row.replacen(",1,,1,,,1,", ",有,,0,,,1,", 1);
    // Latitude/longitude swapped in the second row.
    let swapped = g3_row("339997", "S2", "川端公民館", "133.93", "34.62", "", "80");
    let p = d.path().join("bom.csv");
    let text = format!("\u{FEFF}{G3}\r\n{row}\r\n{swapped}\r\n");
    write(&p, text.as_bytes());
    let (code, v) = ingest_json(&db, "shelters", &[&p], &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["report"]["encoding"], "UTF-8 (BOM付き / with BOM)");
    for c in [
        "BOM_REMOVED",
        "LG_CODE_CHECK_DIGIT_ADDED",
        "FULLWIDTH_NORMALIZED",
        "FLAG_NORMALIZED",
        "LATLON_SWAPPED",
    ] {
        assert!(!issues(&v, c).is_empty(), "no {c}: {v:#}");
    }
    let lz = issues(&v, "LG_CODE_CHECK_DIGIT_ADDED");
    assert_eq!(lz[0]["repaired"], "339997");
    let sw = issues(&v, "LATLON_SWAPPED");
    assert_eq!(sw[0]["loc"]["n"], 3);
}

#[test]
fn g1_2019_layout_utf8() {
    let d = tmp();
    let db = d.path().join("m.duckdb");
    let p = d.path().join("g1.csv");
    let text = "NO,名称,名称_カナ,住所,方書,緯度,経度,標高,電話番号,内線番号,市区町村コード,都道府県名,市区町村名,災害種別_洪水,災害種別_崖崩れ、土石流及び地滑り,災害種別_高潮,災害種別_地震,災害種別_津波,災害種別_大規模な火事,災害種別_内水氾濫,災害種別_火山現象,指定避難所との重複,想定収容人数,対象となる町会・自治会,URL,備考\n\
1,旧桜台小学校,キュウサクラダイショウガッコウ,岡山県サンプル市桜台1-1,,34.61,133.92,10,086-000-0001,,33999,岡山県,サンプル市,1,,,1,,,,,1,250,,,\n";
    write(&p, text.as_bytes());
    let (code, v) = ingest_json(&db, "shelters", &[&p], &[]);
    assert_eq!(code, 0, "{v:#}");
    assert!(
        v["report"]["layout"].as_str().unwrap().contains("2019"),
        "{v:#}"
    );
    assert_eq!(v["outcome"]["rows"], 1);
}

#[test]
fn zone_v_shapefile_with_prj_lands_in_okayama() {
    let d = tmp();
    let db = d.path().join("m.duckdb");
    let zip = d.path().join("wards.zip");
    // A 1 km square around (x=−40 km, y=−150 km) in zone V: about 133.9°E, 34.65°N.
    let sq = |x0: f64, y0: f64| -> geo::Geometry<f64> {
        geo::Polygon::new(
            geo::LineString::from(vec![
                (x0, y0),
                (x0, y0 + 1000.0),
                (x0 + 1000.0, y0 + 1000.0),
                (x0 + 1000.0, y0),
                (x0, y0),
            ]),
            vec![],
        )
        .into()
    };
    let fields = vec![
        DbfField {
            name: "KEY_CODE".into(),
            kind: DbfFieldKind::Character,
            length: 11,
            decimals: 0,
        },
        DbfField {
            name: "PREF".into(),
            kind: DbfFieldKind::Character,
            length: 2,
            decimals: 0,
        },
        DbfField {
            name: "CITY".into(),
            kind: DbfFieldKind::Character,
            length: 3,
            decimals: 0,
        },
        DbfField {
            name: "S_NAME".into(),
            kind: DbfFieldKind::Character,
            length: 40,
            decimals: 0,
        },
        DbfField {
            name: "JINKO".into(),
            kind: DbfFieldKind::Numeric,
            length: 7,
            decimals: 0,
        },
    ];
    let rec = |k: &str, n: &str, p: i64| {
        vec![
            DbfValue::Text(k.into()),
            DbfValue::Text("33".into()),
            DbfValue::Text("999".into()),
            DbfValue::Text(n.into()),
            DbfValue::Int(p),
        ]
    };
    let prj = r#"PROJCS["JGD_2011_Japan_Zone_5",GEOGCS["GCS_JGD_2011",DATUM["D_JGD_2011",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",0.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",134.3333333333333],PARAMETER["Scale_Factor",0.9999],PARAMETER["Latitude_Of_Origin",36.0],UNIT["Meter",1.0]]"#;
    shp::write_zip(
        &zip,
        "r2ka33999",
        &[sq(-40000.0, -150000.0), sq(-39000.0, -150000.0)],
        &fields,
        &[
            rec("33999000101", "桜台一丁目", 120),
            rec("33999000102", "桜台二丁目", 80),
        ],
        Some(prj),
        OutEncoding::Cp932 {
            ldid: true,
            cpg: false,
        },
    )
    .expect("write shapefile");
    let (code, v) = ingest_json(&db, "wards", &[&zip], &[]);
    assert_eq!(code, 0, "{v:#}");
    assert!(v["report"]["crs"]
        .as_str()
        .unwrap()
        .starts_with("EPSG:6673"));
    assert!(
        v["report"]["encoding"].as_str().unwrap().contains("0x13"),
        "{v:#}"
    );
    // Version bbox in lon/lat.
    let store = machimap::store::Store::open(&db).unwrap();
    let vs = store.versions(machimap::dataset::DatasetId::Wards).unwrap();
    let b = vs[0].bbox.unwrap();
    assert!(
        b[0] > 133.8 && b[2] < 134.0 && b[1] > 34.6 && b[3] < 34.7,
        "{b:?}"
    );
    let name: String = store
        .conn()
        .query_row(
            "SELECT name FROM wards WHERE code = '33999000102'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(name, "桜台二丁目");
    drop(store);

    // Without the .prj: refused, with the way out in the message.
    let zip2 = d.path().join("noprj.zip");
    shp::write_zip(
        &zip2,
        "w",
        &[sq(-40000.0, -150000.0)],
        &fields,
        &[rec("33999000101", "x", 1)],
        None,
        OutEncoding::Cp932 {
            ldid: true,
            cpg: false,
        },
    )
    .unwrap();
    let (code, v) = ingest_json(&db, "wards", &[&zip2], &[]);
    assert_eq!(code, 1);
    assert_eq!(issues(&v, "CRS_MISSING").len(), 1);
    // …and accepted when the CRS is given.
    let (code, _) = ingest_json(&db, "wards", &[&zip2], &["--crs", "EPSG:6673"]);
    assert_eq!(code, 0);
}

#[test]
fn truncated_zip_is_rejected() {
    let d = tmp();
    let db = d.path().join("m.duckdb");
    let src = crate::support::sample_dir().join("landslide_A33.zip");
    let bytes = std::fs::read(&src).expect("sample zip");
    let cut = d.path().join("cut.zip");
    write(&cut, &bytes[..bytes.len() / 2]);
    let (code, v) = ingest_json(&db, "landslide", &[&cut], &[]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(issues(&v, "ARCHIVE_REFUSED").len(), 1, "{v:#}");
}

#[test]
fn legacy_crs_geojson_and_polygon_repair() {
    let d = tmp();
    let db = d.path().join("m.duckdb");
    let p = d.path().join("surge.geojson");
    // A bow-tie in zone V metres, with the legacy crs member.
    let gj = r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::6673"}},
      "features":[{"type":"Feature","properties":{"A49_003":"０．５ｍ以上３ｍ未満"},
      "geometry":{"type":"Polygon","coordinates":[[[-40000,-150000],[-39000,-149000],[-39000,-150000],[-40000,-149000],[-40000,-150000]]]}}]}"#;
    write(&p, gj.as_bytes());
    let (code, v) = ingest_json(&db, "storm_surge", &[&p], &[]);
    assert_eq!(code, 0, "{v:#}");
    assert!(v["report"]["crs"]
        .as_str()
        .unwrap()
        .starts_with("EPSG:6673"));
    assert_eq!(issues(&v, "POLYGON_REPAIRED").len(), 1);
    assert_eq!(
        issues(&v, "FULLWIDTH_NORMALIZED")[0]["repaired"],
        "0.5m以上3m未満"
    );
}

#[test]
fn stockpile_unknown_shelter_and_wareki() {
    let d = tmp();
    let db = d.path().join("m.duckdb");
    let good = shelters_csv(
        d.path(),
        &[g3_row(
            "339997",
            "S1",
            "桜台小学校",
            "34.61",
            "133.92",
            "1",
            "300",
        )],
        "s.csv",
    );
    assert_eq!(ingest_json(&db, "shelters", &[&good], &[]).0, 0);
    let p = d.path().join("stock.csv");
    let text = "全国地方公共団体コード,ID,避難所_共通ID,避難所_ID,保管場所名称,保管場所種別,品目分類,品名,規格,数量,単位,賞味期限,更新年月日,備考\r\n\
339997,K1,,S1,桜台小学校,避難所,飲料水,飲料水,500ml,240,本,令和9年3月31日,2026-04-01,\r\n\
339997,K2,,S9,どこか,避難所,食料,アルファ米,,100,食,2028-01-01,2026-04-01,\r\n";
    write(&p, &sjis(text));
    let (code, v) = ingest_json(&db, "stockpile", &[&p], &[]);
    assert_eq!(code, 1, "{v:#}");
    let u = issues(&v, "UNKNOWN_SHELTER");
    assert_eq!(u.len(), 1);
    assert_eq!(u[0]["loc"]["n"], 3);
    assert_eq!(issues(&v, "WAREKI_CONVERTED")[0]["repaired"], "2027-03-31");
}

#[test]
fn usage_errors_exit_2() {
    let d = tmp();
    let db = d.path().join("m.duckdb");
    let out = run(&[
        "ingest",
        "--db",
        db.to_str().unwrap(),
        "--dataset",
        "parks",
        "x.csv",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&[
        "ingest",
        "--db",
        db.to_str().unwrap(),
        "--dataset",
        "wards",
        "/nonexistent.zip",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&[
        "ingest",
        "--db",
        db.to_str().unwrap(),
        "--dataset",
        "wards",
        "--crs",
        "EPSG:32654",
        "x.zip",
    ]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn no_publish_stages_and_publish_moves_the_pointer() {
    let d = tmp();
    let db = d.path().join("m.duckdb");
    let a = shelters_csv(
        d.path(),
        &[g3_row(
            "339997",
            "S1",
            "桜台小学校",
            "34.61",
            "133.92",
            "1",
            "300",
        )],
        "a.csv",
    );
    let b = shelters_csv(
        d.path(),
        &[
            g3_row("339997", "S1", "桜台小学校", "34.61", "133.92", "1", "300"),
            g3_row("339997", "S2", "川端公民館", "34.62", "133.93", "", "80"),
        ],
        "b.csv",
    );
    assert_eq!(ingest_json(&db, "shelters", &[&a], &[]).0, 0);
    let (code, v) = ingest_json(&db, "shelters", &[&b], &["--no-publish"]);
    assert_eq!(code, 0);
    assert_eq!(v["outcome"]["status"], "staged");
    let store = machimap::store::Store::open(&db).unwrap();
    assert_eq!(
        store
            .current(machimap::dataset::DatasetId::Shelters)
            .unwrap(),
        Some(1)
    );
    drop(store);
    let out = run(&[
        "publish",
        "--db",
        db.to_str().unwrap(),
        "--dataset",
        "shelters",
        "--version",
        "2",
    ]);
    assert!(out.status.success());
    let store = machimap::store::Store::open(&db).unwrap();
    assert_eq!(
        store
            .current(machimap::dataset::DatasetId::Shelters)
            .unwrap(),
        Some(2)
    );
    // The shelter kept its feature id across versions.
    let fids: Vec<i64> = {
        let mut st = store
            .conn()
            .prepare("SELECT fid FROM shelters WHERE id = 'S1' ORDER BY version")
            .unwrap();
        st.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(fids.len(), 2);
    assert_eq!(fids[0], fids[1]);
}
