//! The whole sample city through `machimap ingest`: every dataset kind, in the formats a city
//! hands over, lands with the detections and repairs the sample was built to exercise.

use crate::support::*;
use machimap::dataset::DatasetId;
use machimap::store::Store;

#[test]
fn sample_city_ingests_completely() {
    let s = sample_dir();
    let d = tmp();
    let db = d.path().join("m.duckdb");
    let ingest = |ds: &str, files: &[&str]| {
        let paths: Vec<std::path::PathBuf> = files.iter().map(|f| s.join(f)).collect();
        let refs: Vec<&std::path::Path> = paths.iter().map(|p| p.as_path()).collect();
        let (code, v) = ingest_json(&db, ds, &refs, &[]);
        assert_eq!(code, 0, "{ds}: {v:#}");
        assert_eq!(v["outcome"]["status"], "published", "{ds}");
        v
    };
    let wards = ingest("wards", &["wards_r2ka33999.zip"]);
    assert!(wards["report"]["encoding"]
        .as_str()
        .unwrap()
        .contains("0x13"));
    assert!(wards["report"]["crs"]
        .as_str()
        .unwrap()
        .starts_with("EPSG:6673"));
    let n = wards["outcome"]["rows"].as_i64().unwrap();
    assert!((130..=170).contains(&n), "{n} wards");
    assert!(!issues(&wards, "PARTS_DISSOLVED").is_empty());

    let flood = ingest("flood", &["flood_A31a.geojson"]);
    assert_eq!(flood["report"]["layout"], "a31a");
    let land = ingest("landslide", &["landslide_A33.zip"]);
    assert!(
        land["report"]["encoding"]
            .as_str()
            .unwrap()
            .contains(".cpg"),
        "{land:#}"
    );
    let tsu = ingest("tsunami", &["tsunami_A40.geojson"]);
    assert!(!issues(&tsu, "FULLWIDTH_NORMALIZED").is_empty());
    let surge = ingest("storm_surge", &["storm_surge_A49.geojson"]);
    assert!(surge["report"]["crs"]
        .as_str()
        .unwrap()
        .starts_with("EPSG:6673"));
    let roads = ingest("roads", &["roads_ledger.csv", "roads_lines.geojson"]);
    assert_eq!(issues(&roads, "LENGTH_MISMATCH").len(), 2, "{roads:#}");
    assert!(!issues(&roads, "WAREKI_CONVERTED").is_empty());
    assert!(!issues(&roads, "TRAILING_COLUMNS_IGNORED").is_empty());
    let sh = ingest(
        "shelters",
        &[
            "shelters_339997_evacuation_space.csv",
            "shelters_gsi_33999_1.csv",
        ],
    );
    let n = sh["outcome"]["rows"].as_i64().unwrap();
    assert!((50..=70).contains(&n), "{n} shelters");
    let st = ingest("stockpile", &["stockpile.csv"]);
    let n = st["outcome"]["rows"].as_i64().unwrap();
    assert!((1300..=1700).contains(&n), "{n} stockpile rows");

    let store = Store::open(&db).unwrap();
    // Both flood scenarios, ranks 1–6 each.
    let ranks: Vec<(String, i64)> = {
        let mut q = store
            .conn()
            .prepare("SELECT scenario, count(DISTINCT depth_rank) FROM flood WHERE version = 1 GROUP BY 1 ORDER BY 1")
            .unwrap();
        q.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(
        ranks,
        vec![("想定最大規模".to_string(), 6), ("計画規模".to_string(), 6)]
    );
    // Everything lies in the fictional city on the Okayama coast.
    for d in [
        DatasetId::Wards,
        DatasetId::Flood,
        DatasetId::Landslide,
        DatasetId::Tsunami,
        DatasetId::StormSurge,
        DatasetId::Roads,
        DatasetId::Shelters,
    ] {
        let b = store.versions(d).unwrap()[0].bbox.unwrap();
        assert!(
            b[0] > 133.8 && b[2] < 134.05 && b[1] > 34.5 && b[3] < 34.7,
            "{d}: {b:?}"
        );
    }
    // Shelters merged with the GSI 指定避難所 file carry a 共通ID and both designations.
    let both: i64 = store
        .conn()
        .query_row("SELECT count(*) FROM shelters WHERE common_id IS NOT NULL AND is_shelter AND is_emergency_site", [], |r| r.get(0))
        .unwrap();
    assert!(both > 5, "{both}");
    // Every stockpile row is linked to a shelter.
    let orphans: i64 = store
        .conn()
        .query_row(
            "SELECT count(*) FROM stockpile WHERE shelter_fid IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0);
}
