//! Inland flooding (内水氾濫) as a hazard of its own: its own dataset, tiles and collection,
//! and a risk answer that sends residents to the sites designated for inland flooding, not to
//! those designated only for river floods.

use crate::support::*;

#[test]
fn inland_flooding_is_its_own_hazard_with_its_own_shelters() {
    let d = tmp();
    let db = d.path().join("m.duckdb");
    // Two sites outside the zone: one designated for inland flooding, one for river floods only.
    let shelters = d.path().join("339997_evacuation_space.csv");
    std::fs::write(
        &shelters,
        "全国地方公共団体コード,ID,名称,所在地_連結表記,緯度,経度,災害種別_洪水,災害種別_内水氾濫\n\
339997,S1,高台公民館,架空市高台1,34.680,133.920,,1\n\
339997,S2,川向こう小学校,架空市川向1,34.640,133.920,1,\n",
    )
    .unwrap();
    let (code, v) = ingest_json(&db, "shelters", &[&shelters], &[]);
    assert_eq!(code, 0, "{v:#}");
    // A city's inland-flooding map: depth as a Japanese text band, no KSJ codes.
    let zone = d.path().join("naisui.geojson");
    std::fs::write(
        &zone,
        r#"{"type":"FeatureCollection","features":[{"type":"Feature",
            "properties":{"浸水深":"0.5~1.0m未満の区域"},
            "geometry":{"type":"Polygon","coordinates":[[[133.915,34.655],[133.925,34.655],[133.925,34.665],[133.915,34.665],[133.915,34.655]]]}}]}"#,
    )
    .unwrap();
    let (code, v) = ingest_json(&db, "inland_flood", &[&zone], &[]);
    assert_eq!(code, 0, "{v:#}");
    assert_eq!(v["outcome"]["status"], "published", "{v:#}");

    let s = Server::start(&db);
    let items = s.get("/ogc/collections/inland_flood/items").json();
    assert_eq!(items["features"].as_array().unwrap().len(), 1, "{items:#}");
    let t = machimap::tiles::coord::tile_for(133.92, 34.66, 14);
    assert_eq!(
        s.get(&format!("/tiles/inland_flood/14/{}/{}.mvt", t.x, t.y))
            .status,
        200
    );

    let j = s.get("/api/risk?lat=34.66&lon=133.92&lang=ja").json();
    let hz = j["hazards"].as_array().unwrap();
    let inland = hz
        .iter()
        .find(|h| h["hazard"] == "inland_flood")
        .expect("inland flooding answered");
    assert_eq!(inland["in_zone"], true, "{inland:#}");
    assert!(
        inland["message"].as_str().unwrap().contains("内水"),
        "{inland:#}"
    );
    let names: Vec<&str> = inland["shelters"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names, ["高台公民館"], "{inland:#}");
    // River flooding is not mapped here: no data, not "no risk".
    let flood = hz.iter().find(|h| h["hazard"] == "flood").unwrap();
    assert_eq!(flood["data_available"], false);
    let en = s.get("/api/risk?lat=34.66&lon=133.92&lang=en").json();
    let inland_en = en["hazards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hazard"] == "inland_flood")
        .unwrap()
        .clone();
    assert_eq!(inland_en["title"], "Inland flooding");
}
