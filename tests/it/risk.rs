//! `/api/risk` over HTTP on the sample city: depth ranges per scenario, plain sentences in three
//! languages, shelters designated for the hazard and outside its zone, and input errors.

use crate::support::*;
use geo::{Contains, Geometry, Point};

/// Polygons of the sample flood file with their A31a rank property.
fn flood_polygons() -> Vec<(serde_json::Value, Geometry<f64>)> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sample_dir().join("flood_A31a.geojson")).unwrap())
            .unwrap();
    v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let g: geojson::Geometry = serde_json::from_value(f["geometry"].clone()).unwrap();
            (
                f["properties"].clone(),
                Geometry::<f64>::try_from(g).unwrap(),
            )
        })
        .collect()
}

/// A point inside the 想定最大規模 rank-3 (3–5 m) polygon, found on a grid.
fn rank3_point() -> Point<f64> {
    let polys = flood_polygons();
    let (_, g) = polys
        .iter()
        .find(|(p, _)| p["A31a_205"] == 3)
        .expect("rank 3 polygon");
    let b = geo::BoundingRect::bounding_rect(g).unwrap();
    for i in 1..200 {
        for j in 1..200 {
            let p = Point::new(
                b.min().x + (b.max().x - b.min().x) * f64::from(i) / 200.0,
                b.min().y + (b.max().y - b.min().y) * f64::from(j) / 200.0,
            );
            if g.contains(&p) {
                return p;
            }
        }
    }
    panic!("no point found");
}

#[test]
fn flooded_point_gets_depth_action_and_safe_shelters() {
    let s = Server::start(sample_db());
    let p = rank3_point();
    let r = s.get(&format!("/api/risk?lat={}&lon={}&lang=ja", p.y(), p.x()));
    assert_eq!(r.status, 200);
    let j = r.json();
    let flood = j["hazards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hazard"] == "flood")
        .unwrap();
    assert_eq!(flood["in_zone"], true);
    let max = flood["zones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["scenario"] == "想定最大規模")
        .unwrap();
    assert_eq!(max["depth_min_m"], 3.0);
    assert_eq!(max["depth_max_m"], 5.0);
    assert_eq!(max["depth_rank"], 3);
    let msg = flood["message"].as_str().unwrap();
    assert!(
        msg.contains("3m以上5m未満") && msg.contains("避難"),
        "{msg}"
    );
    // Suggested shelters are designated for floods and not inside any flood zone.
    let polys = flood_polygons();
    let shelters = flood["shelters"].as_array().unwrap();
    assert!(!shelters.is_empty());
    let mut last = 0.0;
    for sh in shelters {
        let pt = Point::new(sh["lon"].as_f64().unwrap(), sh["lat"].as_f64().unwrap());
        assert!(
            polys.iter().all(|(_, g)| !g.contains(&pt)),
            "{} is in a flood zone",
            sh["name"]
        );
        let d = sh["distance_m"].as_f64().unwrap();
        assert!(d >= last);
        last = d;
        assert!(sh["stock"]["items"].as_u64().unwrap() > 0, "{sh}");
        assert!(sh["stock"]["water"].as_f64().unwrap() > 0.0);
        assert!(msg.contains(sh["name"].as_str().unwrap()) || shelters.len() > 2);
    }
    let en = s
        .get(&format!("/api/risk?lat={}&lon={}&lang=en", p.y(), p.x()))
        .json();
    assert!(
        en["summary"].as_str().unwrap().contains("3 to 5 m"),
        "{}",
        en["summary"]
    );
    let easy = s
        .get(&format!("/api/risk?lat={}&lon={}&lang=easy", p.y(), p.x()))
        .json();
    assert!(easy["summary"].as_str().unwrap().contains("にげて"));
}

#[test]
fn point_outside_every_zone() {
    let s = Server::start(sample_db());
    // Tokyo station: far from サンプル市.
    let j = s.get("/api/risk?lat=35.681&lon=139.767&lang=en").json();
    for h in j["hazards"].as_array().unwrap() {
        assert_eq!(h["in_zone"], false, "{h}");
        // No map covers Tokyo: unknown, not "no risk".
        assert_eq!(h["coverage"], "no_data", "{h}");
        assert!(h["decision"].is_null(), "{h}");
        // The sample city publishes no inland-flooding map: nothing can be said there.
        assert_eq!(h["data_available"], h["hazard"] != "inland_flood", "{h}");
        assert!(h["shelters"].as_array().unwrap().is_empty());
    }
    assert!(j["hazards"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["hazard"] == "inland_flood"));
    assert!(j["summary"]
        .as_str()
        .unwrap()
        .contains("No hazard map covers this point"));
    let near = j["nearest_shelters"].as_array().unwrap();
    assert_eq!(near.len(), 3);
    assert!(near[0]["distance_m"].as_f64().unwrap() > 500_000.0);
}

#[test]
fn risk_input_errors() {
    let s = Server::start(sample_db());
    for q in [
        "",
        "?lat=34.6",
        "?lon=133.9",
        "?lat=abc&lon=133.9",
        "?lat=91&lon=133.9",
        "?lat=34.6&lon=181",
        "?lat=34.6&lon=133.9&lang=fr",
        "?lat=NaN&lon=133.9",
    ] {
        let r = s.get(&format!("/api/risk{q}"));
        assert_eq!(r.status, 400, "{q}: {}", r.text());
        assert_eq!(r.json()["code"], "bad_request");
    }
}

/// The five added languages answer in their own words (place names stay Japanese), `lang` wins
/// over `Accept-Language`, and without `lang` the header chooses (with `Vary`).
#[test]
fn risk_in_the_added_languages_and_by_accept_language() {
    let s = Server::start(sample_db());
    let p = rank3_point();
    let q = format!("/api/risk?lat={}&lon={}", p.y(), p.x());
    for (lang, word) in [
        ("zh-Hans", "预计此处"),
        ("zh-Hant", "淹水"),
        ("ko", "침수"),
        ("vi", "ngập"),
        ("pt", "água"),
    ] {
        let j = s.get(&format!("{q}&lang={lang}")).json();
        assert_eq!(j["lang"], lang);
        let flood = j["hazards"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["hazard"] == "flood")
            .unwrap();
        let msg = flood["message"].as_str().unwrap();
        assert!(msg.contains(word), "{lang}: {msg}");
        assert!(!msg.contains('{'), "{lang}: {msg}");
        let dec = flood["decision"]["text"].as_str().unwrap();
        assert!(!dec.is_empty() && !dec.contains('{'), "{lang}: {dec}");
        // Shelter names are not translated: the Japanese name is in the message.
        if let Some(first) = flood["shelters"].as_array().unwrap().first() {
            assert!(
                msg.contains(first["name"].as_str().unwrap()),
                "{lang}: {msg}"
            );
        }
    }
    let r = s.get_with(&q, &[("accept-language", "fr, zh-TW;q=0.8, en;q=0.5")]);
    assert_eq!(r.json()["lang"], "zh-Hant");
    assert!(r.header("vary").unwrap_or("").contains("Accept-Language"));
    let r = s.get_with(&format!("{q}&lang=ko"), &[("accept-language", "pt-BR")]);
    assert_eq!(r.json()["lang"], "ko");
    assert!(!r.header("vary").unwrap_or("").contains("Accept-Language"));
    let r = s.get_with(&q, &[("accept-language", "de")]);
    assert_eq!(r.json()["lang"], "ja");
}
