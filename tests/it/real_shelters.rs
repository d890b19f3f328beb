//! Shelter lists in the layouts cities really publish (fixtures written here in those layouts),
//! ingested by the real CLI into a real DuckDB file and read back through the server; and the
//! column mapping done once: refused → mapped → published → the next upload of the same layout
//! published with no mapping given.

use crate::support::*;
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write fixture");
    p
}

/// Shelters served by the OGC API, by name.
fn served(db: &Path) -> std::collections::HashMap<String, serde_json::Value> {
    let s = Server::start(db);
    let r = s.get("/ogc/collections/shelters/items?limit=1000");
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| {
            (
                f["properties"]["name"].as_str().unwrap_or("").to_string(),
                f.clone(),
            )
        })
        .collect()
}

#[test]
fn shelter_list_families_are_stored_and_served_as_their_users_expect() {
    let d = tmp();
    let db = d.path().join("m.duckdb");
    // 避難所一覧 in Shift_JIS, hazards in 開設される災害の種類（…） columns, units in values.
    let opening = write(
        d.path(),
        "避難所一覧.csv",
        &sjis(
            "施設名,所在地,電話番号,開設される災害の種類（地震・津波）,開設される災害の種類（風水害）,\
開設される災害の種類（土砂災害）,UTMポイント,面積（㎡）,緯度,経度,収容人数\r\n\
東中学校,サンプル市東町3-1,086-000-0001,○,○,,53SNU123456,2400,34.6612,133.9301,300人\r\n\
西公民館,サンプル市西町1-2,086-000-0002,○,,△,53SNU123457,800,34.6502,133.8901,80人\r\n",
        ),
    );
    // 津波避難ビル: only name, address, coordinates, telephone; 経度 before 緯度.
    let refuge = write(
        d.path(),
        "津波避難ビル一覧.csv",
        "名称,住所,経度,緯度,電話番号\n港ビル,サンプル市港町1-1,133.9401,34.6012,086-000-0003\n"
            .as_bytes(),
    );
    let (code, v) = ingest_json(&db, "shelters", &[&opening, &refuge], &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["outcome"]["status"], "published", "{v:#}");
    assert_eq!(v["report"]["records_accepted"], 3);

    let by = served(&db);
    let east = &by["東中学校"]["properties"];
    assert_eq!(east["address"], "サンプル市東町3-1");
    assert_eq!(east["earthquake"], true);
    assert_eq!(east["tsunami"], true);
    assert_eq!(east["flood"], true);
    assert_eq!(east["inland_flood"], true);
    assert_eq!(east["landslide"], false);
    assert_eq!(east["is_shelter"], true);
    assert_eq!(east["capacity"], 300);
    let west = &by["西公民館"]["properties"];
    // △ survives as conditional: neither true nor false.
    assert_eq!(west["landslide"], serde_json::Value::Null, "{west:#}");
    assert_eq!(west["conditional"], "landslide");
    assert_eq!(west["flood"], false);
    let coords = &by["西公民館"]["geometry"]["coordinates"];
    assert_eq!(coords[0].as_f64(), Some(133.8901));
    assert_eq!(coords[1].as_f64(), Some(34.6502));
    let port = &by["港ビル"]["properties"];
    assert_eq!(port["tsunami"], true);
    assert_eq!(port["is_emergency_site"], true);
    assert_eq!(port["lat"].as_f64(), Some(34.6012));
    assert_eq!(port["lon"].as_f64(), Some(133.9401));
    assert_eq!(issues(&v, "TSUNAMI_FROM_LIST").len(), 1);
}

#[test]
fn unrecognised_layout_is_mapped_once_and_the_next_refresh_needs_nothing() {
    let d = tmp();
    let db = d.path().join("m.duckdb");
    let header = "SAUID,SAFIELD001,SAFIELD002,ITEM003,ITEM004,ITEM005\n";
    let first = write(
        d.path(),
        "export_2026_11.csv",
        format!(
            "{header}1,港ビル,サンプル市港町1-1,34.6012,133.9401,可\n\
2,山手の丘,サンプル市山手5,34.7000,133.9500,条件付\n"
        )
        .as_bytes(),
    );
    // Refused, with every column found (and a sample value) and what is missing.
    let (code, v) = ingest_json(&db, "shelters", &[&first], &[]);
    assert_ne!(code, 0);
    assert_eq!(v["outcome"]["status"], "rejected", "{v:#}");
    let e = issues(&v, "HEADER_UNRECOGNIZED");
    assert_eq!(e.len(), 1, "{v:#}");
    let found = e[0]["value"].as_str().unwrap_or("");
    assert!(found.contains("SAFIELD001=港ビル"), "{found}");
    assert!(found.contains("ITEM003=34.6012"), "{found}");
    assert!(e[0]["message_ja"].as_str().unwrap_or("").contains("名称"));
    assert!(e[0]["message_en"]
        .as_str()
        .unwrap_or("")
        .contains("name column"));
    let files = v["report"]["files"].as_array().expect("files in report");
    assert_eq!(files[0]["headers"][1], "SAFIELD001");
    assert_eq!(files[0]["samples"][1], "港ビル");

    // The clerk's mapping, once.
    let mapping = write(
        d.path(),
        "mapping.json",
        r#"{"columns": {"SAUID": "ID", "SAFIELD001": "名称", "SAFIELD002": "住所",
                        "ITEM003": "緯度", "ITEM004": "経度", "ITEM005": "災害種別_津波"},
            "values": {"ITEM005": {"可": "1", "不可": "", "条件付": "△"}}}"#
            .as_bytes(),
    );
    let m = mapping.display().to_string();
    let (code, v) = ingest_json(&db, "shelters", &[&first], &["--mapping", &m]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["outcome"]["status"], "published", "{v:#}");
    assert_eq!(issues(&v, "MAPPING_APPLIED").len(), 1);
    let by = served(&db);
    assert_eq!(by["港ビル"]["properties"]["tsunami"], true);
    assert_eq!(by["港ビル"]["properties"]["id"], "1");
    assert_eq!(
        by["山手の丘"]["properties"]["tsunami"],
        serde_json::Value::Null
    );
    assert_eq!(by["山手の丘"]["properties"]["conditional"], "tsunami");

    // Next month: same layout, new content, no mapping given.
    let second = write(
        d.path(),
        "export_2026_12.csv",
        format!(
            "{header}1,港ビル,サンプル市港町1-1,34.6012,133.9401,可\n\
2,山手の丘,サンプル市山手5,34.7000,133.9500,可\n\
3,浜の塔,サンプル市浜町2,34.5950,133.9600,可\n"
        )
        .as_bytes(),
    );
    let (code, v) = ingest_json(&db, "shelters", &[&second], &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["outcome"]["status"], "published", "{v:#}");
    let applied = issues(&v, "MAPPING_APPLIED");
    assert_eq!(applied.len(), 1, "{v:#}");
    assert_eq!(v["report"]["files"][0]["mapping_source"], "saved");
    let by = served(&db);
    assert_eq!(by.len(), 3);
    assert_eq!(by["浜の塔"]["properties"]["tsunami"], true);
    assert_eq!(by["山手の丘"]["properties"]["tsunami"], true);

    // A mapping that fits none of the files is refused, naming its columns.
    let other = write(
        d.path(),
        "other.json",
        r#"{"columns": {"NOPE": "名称"}}"#.as_bytes(),
    );
    let o = other.display().to_string();
    let (code, v) = ingest_json(&db, "shelters", &[&second], &["--mapping", &o]);
    assert_ne!(code, 0);
    assert_eq!(issues(&v, "MAPPING_UNFIT").len(), 1, "{v:#}");
}
