//! Real cities' files (issue 13): layouts that were stored silently wrong or wrongly refused,
//! generated here in their real shape and ingested by the real executable into a real DuckDB
//! file: N03 with 5-digit codes and 所属未定地, e-Stat 小地域 2015 in CP932 without `.cpg` on
//! JGD2000, district polygons with generic field names, prefectural landslide and depth-band
//! files, zones without depth, and 3-D coordinates.

use crate::support::*;
use machimap::shp::{self, DbfField, DbfFieldKind, DbfValue, OutEncoding};
use machimap::store::Store;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Zone V (Okayama) of JGD2011 as an ESRI .prj.
const PRJ_ZONE5: &str = r#"PROJCS["JGD_2011_Japan_Zone_5",GEOGCS["GCS_JGD_2011",DATUM["D_JGD_2011",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",0.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",134.3333333333333],PARAMETER["Scale_Factor",0.9999],PARAMETER["Latitude_Of_Origin",36.0],UNIT["Meter",1.0]]"#;

/// JGD2000 geographic, as e-Stat's 2015 boundary files carry it.
const PRJ_JGD2000: &str = r#"GEOGCS["GCS_JGD_2000",DATUM["D_JGD_2000",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;

fn text_field(name: &str, length: u8) -> DbfField {
    DbfField::new(name, DbfFieldKind::Character, length, 0)
}

fn num_field(name: &str, length: u8) -> DbfField {
    DbfField::new(name, DbfFieldKind::Numeric, length, 0)
}

fn t(s: &str) -> DbfValue {
    DbfValue::Text(s.into())
}

/// A square polygon of side `d` at (x, y).
fn square(x: f64, y: f64, d: f64) -> geo::Geometry<f64> {
    geo::Polygon::new(
        geo::LineString::from(vec![(x, y), (x, y + d), (x + d, y + d), (x + d, y), (x, y)]),
        vec![],
    )
    .into()
}

/// A square as GeoJSON coordinates, with a third (height) value on every position.
fn square_json_z(x: f64, y: f64, d: f64) -> serde_json::Value {
    serde_json::json!([[
        [x, y, 12.5],
        [x + d, y, 12.5],
        [x + d, y + d, 13.0],
        [x, y + d, 13.0],
        [x, y, 12.5]
    ]])
}

fn feature_collection(features: Vec<serde_json::Value>) -> String {
    serde_json::json!({"type": "FeatureCollection", "features": features}).to_string()
}

fn polygon_feature(props: serde_json::Value, coords: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"type": "Feature", "properties": props,
        "geometry": {"type": "Polygon", "coordinates": coords}})
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("write fixture");
}

/// A property of a stored `raw` JSON object.
fn raw_prop(raw: &Option<String>, key: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(raw.as_deref()?).ok()?;
    v[key].as_str().map(str::to_string)
}

/// Rows of `sql` as text columns (NULL as None).
fn query(db: &Path, sql: &str) -> Vec<Vec<Option<String>>> {
    let store = Store::open(db).expect("open store");
    let mut st = store.conn().prepare(sql).expect("prepare");
    let n = st.column_count();
    let rows = st
        .query_map([], |r| {
            (0..n)
                .map(|i| r.get::<_, Option<String>>(i))
                .collect::<Result<Vec<_>, _>>()
        })
        .expect("query")
        .map(|r| r.expect("row"))
        .collect();
    rows
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

// ---------------------------------------------------------------------------------------------
// Boundaries

#[test]
fn n03_five_digit_codes_designated_cities_and_shozoku_mitei() {
    let d = tmp();
    let db = d.path().join("m.duckdb");
    let p = d.path().join("N03-20240101_13.geojson");
    let f = |props: serde_json::Value, x: f64| {
        serde_json::json!({"type": "Feature", "properties": props,
            "geometry": {"type": "Polygon", "coordinates": [[[x, 35.6], [x + 0.01, 35.6], [x + 0.01, 35.61], [x, 35.61], [x, 35.6]]]}})
    };
    let gj = feature_collection(vec![
        f(
            serde_json::json!({"N03_001": "東京都", "N03_002": null, "N03_003": null, "N03_004": "中央区", "N03_005": null, "N03_007": "13102"}),
            139.77,
        ),
        f(
            serde_json::json!({"N03_001": "北海道", "N03_002": "石狩振興局", "N03_003": "札幌市", "N03_004": "中央区", "N03_007": "01101"}),
            139.80,
        ),
        f(
            serde_json::json!({"N03_001": "静岡県", "N03_002": null, "N03_003": null, "N03_004": "静岡市", "N03_005": "葵区", "N03_007": "22101"}),
            139.82,
        ),
        // 所属未定地: no code by nature.
        f(
            serde_json::json!({"N03_001": "東京都", "N03_002": null, "N03_003": null, "N03_004": "所属未定地", "N03_007": null}),
            139.84,
        ),
    ]);
    write(&p, gj.as_bytes());
    let (code, v) = ingest_json(&db, "wards", &[&p], &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["report"]["layout"], "n03");
    let kept = issues(&v, "CODE_MISSING_KEPT");
    assert_eq!(kept.len(), 1, "{v:#}");
    assert_eq!(kept[0]["loc"]["n"], 4);
    assert_eq!(kept[0]["severity"], "warning");
    assert!(issues(&v, "LG_CODE_ZERO_RESTORED").is_empty(), "{v:#}");
    let rows = query(
        &db,
        "SELECT code, name, city_code, source_layout FROM wards ORDER BY fid",
    );
    assert_eq!(
        rows,
        vec![
            vec![s("13102"), s("中央区"), s("131024"), s("n03")],
            vec![s("01101"), s("札幌市中央区"), s("011011"), s("n03")],
            vec![s("22101"), s("静岡市葵区"), s("221015"), s("n03")],
            vec![None, s("所属未定地"), None, s("n03")],
        ]
    );
}

fn estat_2015_fields() -> Vec<DbfField> {
    vec![
        text_field("KEY_CODE", 11),
        text_field("KEN", 2),
        text_field("KEN_NAME", 12),
        text_field("GST_NAME", 20),
        text_field("CSS_NAME", 20),
        text_field("MOJI", 60),
        text_field("KIGO_E", 2),
        num_field("JINKO", 7),
        num_field("SETAI", 7),
    ]
}

#[test]
fn estat_2015_cp932_without_cpg_on_jgd2000_and_2020_still_read() {
    let d = tmp();
    let db = d.path().join("m.duckdb");
    let zip = d.path().join("h27ka33101.zip");
    let rec = |key: &str, moji: &str, kigo: &str, p: i64| {
        vec![
            t(key),
            t("33"),
            t("岡山県"),
            t("岡山市"),
            t("北区"),
            t(moji),
            t(kigo),
            DbfValue::Int(p),
            DbfValue::Int(p / 2),
        ]
    };
    shp::write_zip(
        &zip,
        "h27ka33101",
        &[
            square(133.90, 34.65, 0.01),
            square(133.91, 34.65, 0.01),
            square(133.95, 34.60, 0.001),
            square(133.92, 34.65, 0.01),
        ],
        &estat_2015_fields(),
        &[
            rec("33101001001", "丸の内一丁目", "", 300),
            rec("331010020", "野田屋町", "E1", 150),
            rec("331010020", "野田屋町", "E2", 150),
            rec("33101003002", "表町二丁目", "", 80),
        ],
        Some(PRJ_JGD2000),
        OutEncoding::Cp932 {
            ldid: false,
            cpg: false,
        },
    )
    .expect("write shapefile");
    let (code, v) = ingest_json(&db, "wards", &[&zip], &[]);
    assert_eq!(code, 0, "{v:#}");
    assert!(
        v["report"]["crs"]
            .as_str()
            .unwrap()
            .starts_with("EPSG:4612"),
        "{v:#}"
    );
    assert_eq!(
        v["report"]["encoding"], "Shift_JIS (CP932) (判定 / detected)",
        "{v:#}"
    );
    assert_eq!(v["outcome"]["rows"], 3);
    let rows = query(
        &db,
        "SELECT code, name, city_code, CAST(population AS VARCHAR), CAST(parts AS VARCHAR) FROM wards ORDER BY code",
    );
    assert_eq!(
        rows,
        vec![
            vec![
                s("33101001001"),
                s("丸の内一丁目"),
                s("331015"),
                s("300"),
                s("1")
            ],
            vec![s("331010020"), s("野田屋町"), s("331015"), s("150"), s("2")],
            vec![
                s("33101003002"),
                s("表町二丁目"),
                s("331015"),
                s("80"),
                s("1")
            ],
        ]
    );

    // The 2020 layout (PREF, CITY, S_NAME) in the same encoding keeps working.
    let zip20 = d.path().join("r2ka33101.zip");
    shp::write_zip(
        &zip20,
        "r2ka33101",
        &[square(133.90, 34.65, 0.01)],
        &[
            text_field("KEY_CODE", 11),
            text_field("PREF", 2),
            text_field("CITY", 3),
            text_field("S_NAME", 60),
            num_field("JINKO", 7),
        ],
        &[vec![
            t("33101001001"),
            t("33"),
            t("101"),
            t("丸の内一丁目"),
            DbfValue::Int(310),
        ]],
        Some(PRJ_JGD2000),
        OutEncoding::Cp932 {
            ldid: false,
            cpg: false,
        },
    )
    .expect("write shapefile");
    let (code, v) = ingest_json(&db, "wards", &[&zip20], &[]);
    assert_eq!(code, 0, "{v:#}");
    let rows = query(
        &db,
        "SELECT code, name, city_code FROM wards WHERE version = 2",
    );
    assert_eq!(
        rows,
        vec![vec![s("33101001001"), s("丸の内一丁目"), s("331015")]]
    );
}

#[test]
fn district_polygons_with_generic_fields_refused_with_what_was_found() {
    let d = tmp();
    let db = d.path().join("m.duckdb");
    let zip = d.path().join("jichikai.zip");
    shp::write_zip(
        &zip,
        "jichikai",
        &[
            square(-40000.0, -150000.0, 500.0),
            square(-39500.0, -150000.0, 500.0),
        ],
        &[
            num_field("SAUID", 6),
            text_field("SAFIELD000", 40),
            text_field("SAFIELD001", 20),
        ],
        &[
            vec![DbfValue::Int(1), t("桜台第一町内会"), t("桜台小学校区")],
            vec![DbfValue::Int(2), t("桜台第二町内会"), t("桜台小学校区")],
        ],
        Some(PRJ_ZONE5),
        OutEncoding::Cp932 {
            ldid: true,
            cpg: false,
        },
    )
    .expect("write shapefile");
    let (code, v) = ingest_json(&db, "wards", &[&zip], &[]);
    assert_eq!(code, 1, "{v:#}");
    assert_eq!(v["outcome"]["status"], "rejected");
    let h = issues(&v, "HEADER_UNRECOGNIZED");
    assert_eq!(h.len(), 1, "{v:#}");
    assert_eq!(h[0]["file"], "jichikai.zip/jichikai.shp");
    for lang in ["message_ja", "message_en"] {
        let m = h[0][lang].as_str().unwrap();
        for want in [
            "SAUID=1",
            "SAFIELD000=桜台第一町内会",
            "SAFIELD001=桜台小学校区",
            "KEY_CODE",
            "N03_007",
        ] {
            assert!(m.contains(want), "{lang} lacks {want}: {m}");
        }
    }
    let ja = h[0]["message_ja"].as_str().unwrap();
    assert!(
        ja.contains("足りない列") && ja.contains("地区のコード") && ja.contains("地区の名称"),
        "{ja}"
    );
    let en = h[0]["message_en"].as_str().unwrap();
    assert!(
        en.contains("Missing") && en.contains("an area code") && en.contains("an area name"),
        "{en}"
    );

    // Mapped once (this column is the code, that one the name): stored, names decoded, in
    // plane zone V metres brought to lon/lat; the next file of the same layout needs nothing.
    let mapping = d.path().join("mapping.json");
    write(
        &mapping,
        r#"{"columns": {"SAUID": "地区コード", "SAFIELD000": "地区名"}}"#.as_bytes(),
    );
    let m = mapping.display().to_string();
    let (code, v) = ingest_json(&db, "wards", &[&zip], &["--mapping", &m]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["outcome"]["status"], "published", "{v:#}");
    let rows = query(&db, "SELECT code, name FROM wards ORDER BY code");
    assert_eq!(
        rows,
        vec![
            vec![s("1"), s("桜台第一町内会")],
            vec![s("2"), s("桜台第二町内会")]
        ]
    );
    let store = Store::open(&db).unwrap();
    let b = store.versions(machimap::dataset::DatasetId::Wards).unwrap()[0]
        .bbox
        .unwrap();
    assert!(
        b[0] > 133.8 && b[2] < 134.0 && b[1] > 34.6 && b[3] < 34.7,
        "{b:?}"
    );
    drop(store);
    let next = d.path().join("jichikai_2027.zip");
    shp::write_zip(
        &next,
        "jichikai",
        &[
            square(-40000.0, -150000.0, 500.0),
            square(-39500.0, -150000.0, 500.0),
            square(-39000.0, -150000.0, 500.0),
        ],
        &[
            num_field("SAUID", 6),
            text_field("SAFIELD000", 40),
            text_field("SAFIELD001", 20),
        ],
        &[
            vec![DbfValue::Int(1), t("桜台第一町内会"), t("桜台小学校区")],
            vec![DbfValue::Int(2), t("桜台第二町内会"), t("桜台小学校区")],
            vec![DbfValue::Int(3), t("桜台第三町内会"), t("桜台小学校区")],
        ],
        Some(PRJ_ZONE5),
        OutEncoding::Cp932 {
            ldid: true,
            cpg: false,
        },
    )
    .expect("write shapefile");
    let (code, v) = ingest_json(&db, "wards", &[&next], &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["outcome"]["status"], "published", "{v:#}");
    assert_eq!(v["report"]["files"][0]["mapping_source"], "saved", "{v:#}");
    assert_eq!(
        query(&db, "SELECT count(*)::VARCHAR FROM wards WHERE version = 2")[0][0],
        s("3")
    );
}

// ---------------------------------------------------------------------------------------------
// Hazards

#[test]
fn prefectural_landslide_zones_with_text_kubun_and_wareki_dates() {
    let d = tmp();
    let db = d.path().join("m.duckdb");
    let zip = d.path().join("dosha_kuiki.zip");
    let rec =
        |no: &str, kubun: &str, gensho: &str, date: &str| vec![t(no), t(kubun), t(gensho), t(date)];
    shp::write_zip(
        &zip,
        "dosha_kuiki",
        &[
            square(-40000.0, -150000.0, 200.0),
            square(-39800.0, -150000.0, 100.0),
            square(-39000.0, -150000.0, 200.0),
            square(-38000.0, -150000.0, 200.0),
        ],
        &[
            text_field("kuiki_no", 12),
            text_field("kubun", 30),
            text_field("genshoname", 30),
            text_field("kokuji_ymd", 20),
        ],
        &[
            rec("A-001", "警戒区域", "地滑り", "平成30年3月30日"),
            rec("A-001R", "特別警戒区域", "土石流", "令和2年5月1日"),
            rec("B-007", "警戒区域", "急傾斜地の崩壊", "R3.4.1"),
            rec("C-010", "警戒区域（指定前）", "土石流", ""),
        ],
        Some(PRJ_ZONE5),
        OutEncoding::Cp932 {
            ldid: false,
            cpg: true,
        },
    )
    .expect("write shapefile");
    let (code, v) = ingest_json(&db, "landslide", &[&zip], &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["report"]["layout"], "generic");
    let ld = issues(&v, "LAYOUT_DETECTED");
    let m = ld[0]["message_en"].as_str().unwrap();
    assert!(
        m.contains("kubun → zone_class") && m.contains("genshoname → phenomenon"),
        "{m}"
    );
    let rows = query(
        &db,
        "SELECT CAST(phenomenon AS VARCHAR), CAST(zone_class AS VARCHAR), CAST(designated AS VARCHAR), \
         depth_min_m::VARCHAR, raw FROM landslide ORDER BY fid",
    );
    let rows: Vec<Vec<Option<String>>> = rows
        .into_iter()
        .map(|mut r| {
            let raw = r.pop().flatten();
            r.push(raw_prop(&raw, "kokuji_ymd"));
            r
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            vec![s("3"), s("1"), s("true"), None, s("平成30年3月30日")],
            vec![s("2"), s("2"), s("true"), None, s("令和2年5月1日")],
            vec![s("1"), s("1"), s("true"), None, s("R3.4.1")],
            vec![s("2"), s("3"), s("false"), None, None],
        ]
    );
}

#[test]
fn japanese_depth_bands_map_onto_rank_and_band_raw_kept() {
    let d = tmp();
    let db = d.path().join("m.duckdb");
    let p = d.path().join("shinsui.geojson");
    let bands = [
        "0.3m未満の区域",
        "０．３～０．５ｍ未満の区域",
        "0.5〜1.0m未満",
        "1.0~3.0m未満の区域",
        "3.0~5.0m",
        "5.0～10.0m",
        "10.0~20.0m",
        "20.0m以上",
        "不明",
    ];
    let feats = bands
        .iter()
        .enumerate()
        .map(|(i, b)| {
            polygon_feature(
                serde_json::json!({"OBJECTID": i + 1, "SHINSUI": b}),
                square_json_z(133.90 + 0.01 * i as f64, 34.60, 0.005),
            )
        })
        .collect();
    write(&p, feature_collection(feats).as_bytes());
    let (code, v) = ingest_json(&db, "flood", &[&p], &[]);
    assert_eq!(code, 0, "{v:#}");
    let unread = issues(&v, "VALUE_UNREAD_KEPT");
    assert_eq!(unread.len(), 1, "{v:#}");
    assert_eq!(
        (
            &unread[0]["column"],
            &unread[0]["value"],
            &unread[0]["loc"]["n"]
        ),
        (
            &serde_json::json!("SHINSUI"),
            &serde_json::json!("不明"),
            &serde_json::json!(9)
        )
    );
    let rows = query(
        &db,
        "SELECT CAST(depth_rank AS VARCHAR), depth_min_m::VARCHAR, depth_max_m::VARCHAR, depth_label, \
         raw FROM flood ORDER BY fid",
    );
    let want = [
        (s("1"), s("0.0"), s("0.3"), s("0.3m未満")),
        (s("1"), s("0.3"), s("0.5"), s("0.3m以上0.5m未満")),
        (s("2"), s("0.5"), s("1.0"), s("0.5m以上1m未満")),
        (s("2"), s("1.0"), s("3.0"), s("1m以上3m未満")),
        (s("3"), s("3.0"), s("5.0"), s("3m以上5m未満")),
        (s("4"), s("5.0"), s("10.0"), s("5m以上10m未満")),
        (s("5"), s("10.0"), s("20.0"), s("10m以上20m未満")),
        (s("6"), s("20.0"), None, s("20m以上")),
        (None, None, None, None),
    ];
    assert_eq!(rows.len(), want.len());
    for ((r, w), b) in rows.iter().zip(want).zip(bands) {
        assert_eq!(
            (r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone()),
            w,
            "{b}"
        );
        assert_eq!(
            raw_prop(&r[4], "SHINSUI").as_deref(),
            Some(b),
            "raw keeps the original text"
        );
    }
}

#[test]
fn tsunami_extent_without_depth_and_3d_coordinates_says_depth_unknown() {
    let d = tmp();
    let db = d.path().join("m.duckdb");
    let p = d.path().join("tsunami_shinsui_kuiki.geojson");
    write(
        &p,
        feature_collection(vec![polygon_feature(
            serde_json::json!({"OBJECTID": 1, "名称": "津波浸水想定区域"}),
            square_json_z(133.90, 34.60, 0.02),
        )])
        .as_bytes(),
    );
    let (code, v) = ingest_json(&db, "tsunami", &[&p], &[]);
    assert_eq!(code, 0, "{v:#}");
    let du = issues(&v, "DEPTH_UNKNOWN");
    assert_eq!(du.len(), 1, "{v:#}");
    assert_eq!(du[0]["loc"]["kind"], "file");
    let rows = query(
        &db,
        "SELECT depth_rank::VARCHAR, depth_min_m::VARCHAR, depth_max_m::VARCHAR, depth_label, \
         round(minx, 4)::VARCHAR, round(maxy, 4)::VARCHAR FROM tsunami",
    );
    assert_eq!(
        rows,
        vec![vec![None, None, None, None, s("133.9"), s("34.62")]]
    );
    let srv = Server::start(&db);
    for (lang, want) in [
        ("ja", "浸水深は不明"),
        ("en", "unknown depth"),
        ("easy", "わかりません"),
    ] {
        let r = srv.get(&format!("/api/risk?lat=34.61&lon=133.91&lang={lang}"));
        assert_eq!(r.status, 200);
        let j = r.json();
        let ts = j["hazards"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["hazard"] == "tsunami")
            .unwrap()
            .clone();
        assert_eq!(ts["in_zone"], true, "{j:#}");
        let m = ts["message"].as_str().unwrap();
        assert!(m.contains(want), "{lang}: {m}");
    }
}

/// Rewrite a 2-D polygon or point `.shp` as PolygonZ (15) / PointZ (11), with Z and M values,
/// and its `.shx` to match.
fn to_z(shp2: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let be = |b: &[u8], at: usize| i32::from_be_bytes(b[at..at + 4].try_into().unwrap());
    let le = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let mut body = Vec::new();
    let mut index = Vec::new();
    let mut pos = 100;
    let mut z_type = 0u32;
    while pos < shp2.len() {
        let n = be(shp2, pos);
        let len = be(shp2, pos + 4) as usize * 2;
        let c = &shp2[pos + 8..pos + 8 + len];
        let mut out = Vec::new();
        match le(c, 0) {
            1 => {
                z_type = 11;
                out.extend_from_slice(&11u32.to_le_bytes());
                out.extend_from_slice(&c[4..20]);
                out.extend_from_slice(&42.0f64.to_le_bytes());
                out.extend_from_slice(&0.0f64.to_le_bytes());
            }
            5 => {
                z_type = 15;
                let points = le(c, 40) as usize;
                out.extend_from_slice(&15u32.to_le_bytes());
                out.extend_from_slice(&c[4..]);
                for (lo, hi) in [(10.0f64, 10.0 + points as f64), (0.0, 0.0)] {
                    out.extend_from_slice(&lo.to_le_bytes());
                    out.extend_from_slice(&hi.to_le_bytes());
                    for i in 0..points {
                        let v = if hi > 0.0 { 10.0 + i as f64 } else { 0.0 };
                        out.extend_from_slice(&v.to_le_bytes());
                    }
                }
            }
            other => panic!("shape type {other}"),
        }
        index.extend_from_slice(&(((100 + body.len()) / 2) as i32).to_be_bytes());
        index.extend_from_slice(&((out.len() / 2) as i32).to_be_bytes());
        body.extend_from_slice(&n.to_be_bytes());
        body.extend_from_slice(&((out.len() / 2) as i32).to_be_bytes());
        body.extend_from_slice(&out);
        pos += 8 + len;
    }
    let header = |total: usize| {
        let mut h = shp2[..100].to_vec();
        h[24..28].copy_from_slice(&((total / 2) as i32).to_be_bytes());
        h[32..36].copy_from_slice(&z_type.to_le_bytes());
        h
    };
    let mut shp = header(100 + body.len());
    shp.extend_from_slice(&body);
    let mut shx = header(100 + index.len());
    shx.extend_from_slice(&index);
    (shp, shx)
}

/// Write a 2-D shapefile zip, then the same with Z coordinates at `out`.
fn write_zip_z(
    out: &Path,
    stem: &str,
    geoms: &[geo::Geometry<f64>],
    fields: &[DbfField],
    rows: &[Vec<DbfValue>],
    prj: &str,
) {
    let flat: PathBuf = out.with_extension("2d.zip");
    shp::write_zip(
        &flat,
        stem,
        geoms,
        fields,
        rows,
        Some(prj),
        OutEncoding::Utf8 { cpg: true },
    )
    .expect("write shapefile");
    let mut z = zip::ZipArchive::new(std::fs::File::open(&flat).unwrap()).unwrap();
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..z.len() {
        let mut e = z.by_index(i).unwrap();
        let mut b = Vec::new();
        e.read_to_end(&mut b).unwrap();
        members.push((e.name().to_string(), b));
    }
    let shp2 = members
        .iter()
        .find(|(n, _)| n.ends_with(".shp"))
        .map(|(_, b)| b.clone())
        .unwrap();
    let (shp3, shx3) = to_z(&shp2);
    let mut w = zip::ZipWriter::new(std::fs::File::create(out).unwrap());
    for (n, b) in members {
        let b = if n.ends_with(".shp") {
            shp3.clone()
        } else if n.ends_with(".shx") {
            shx3.clone()
        } else {
            b
        };
        w.start_file(n, zip::write::SimpleFileOptions::default())
            .unwrap();
        w.write_all(&b).unwrap();
    }
    w.finish().unwrap();
}

#[test]
fn polygon_z_shapefile_accepted_with_z_dropped() {
    let d = tmp();
    let db = d.path().join("m.duckdb");
    let zip = d.path().join("takashio.zip");
    write_zip_z(
        &zip,
        "takashio",
        &[
            square(-40000.0, -150000.0, 500.0),
            square(-39500.0, -150000.0, 500.0),
        ],
        &[text_field("SHINSUI", 30)],
        &[vec![t("3.0~5.0m")], vec![t("0.5m未満")]],
        PRJ_ZONE5,
    );
    let (code, v) = ingest_json(&db, "storm_surge", &[&zip], &[]);
    assert_eq!(code, 0, "{v:#}");
    let rows = query(
        &db,
        "SELECT depth_min_m::VARCHAR, depth_max_m::VARCHAR, (minx > 133.8 AND maxx < 134.0 AND miny > 34.6 AND maxy < 34.7)::VARCHAR FROM storm_surge ORDER BY fid",
    );
    assert_eq!(
        rows,
        vec![
            vec![s("3.0"), s("5.0"), s("true")],
            vec![s("0.0"), s("0.5"), s("true")],
        ]
    );
}

#[test]
fn point_z_shapefile_read_with_z_dropped() {
    let d = tmp();
    let zip = d.path().join("points.zip");
    write_zip_z(
        &zip,
        "points",
        &[geo::Point::new(-40000.0, -150000.0).into()],
        &[text_field("NAME", 20)],
        &[vec![t("a")]],
        PRJ_ZONE5,
    );
    let mut report = machimap::report::Report::new("points.zip");
    let mut got = Vec::new();
    machimap::read::read(&zip, "points.zip", None, &mut report, &mut |_, f, _| {
        got.push(f);
        std::ops::ControlFlow::Continue(())
    })
    .expect("read");
    assert!(!report.rejected(), "{}", report.render_text());
    assert_eq!(got.len(), 1);
    let Some(geo::Geometry::Point(p)) = got[0].geometry else {
        panic!("{:?}", got[0].geometry)
    };
    assert!(
        (p.x() - 133.9).abs() < 0.1 && (p.y() - 34.65).abs() < 0.1,
        "{p:?}"
    );
}
