//! The evacuation decision through the real CLI ingest and HTTP: fixtures in the KSJ A31a
//! layouts of every family (10, 20, 30, 41, 42), made here over the sample city's wards, give
//! for every combination of collapse zone × depth rank × duration class × 1/2/3 storeys the
//! action the national guidance gives; `no_data` against `outside`, staff coverage set by the
//! CLI; designated shelters inside the zone kept and marked; status and crowding.

use crate::support::*;
use geo::{BoundingRect, Contains, Point};
use machimap::admin::status::{ShelterState, StatusEvent};
use machimap::store::Store;
use std::path::Path;

const RIVER: &str = "サンプル川";
const RIVER_CODE: &str = "8806010001";
const RIVER2: &str = "東川";

/// The guidance's action, written out (not computed by machimap): leave in any collapse zone,
/// when the duration passes 3 days (class 4+), or when the depth rank passes what the storeys
/// stand above (rank 1 < 0.5 m: any home; rank 2 < 3 m: 2 storeys; rank 3 < 5 m: 3 storeys;
/// ranks 4–6 never on 1–3 storeys).
fn guidance(collapse: u8, rank: i64, class: i64, floors: i64) -> &'static str {
    if collapse != 0 || class >= 4 || rank > floors {
        "leave"
    } else {
        "upper_floor"
    }
}

fn fc(features: Vec<serde_json::Value>) -> String {
    serde_json::json!({"type": "FeatureCollection", "features": features}).to_string()
}

fn square(cx: f64, cy: f64, h: f64, props: serde_json::Value) -> serde_json::Value {
    serde_json::json!({"type": "Feature", "properties": props, "geometry": {"type": "Polygon",
        "coordinates": [[[cx - h, cy - h], [cx + h, cy - h], [cx + h, cy + h], [cx - h, cy + h], [cx - h, cy - h]]]}})
}

fn a31a(g: u8, river: &str, code: &str, value: serde_json::Value) -> serde_json::Value {
    let k = |n: u8| format!("A31a_{g}0{n}");
    serde_json::json!({
        k(1): code, k(2): river, k(3): "33", k(4): "サンプル県", k(5): value,
    })
}

fn hazard<'a>(j: &'a serde_json::Value, h: &str) -> &'a serde_json::Value {
    j["hazards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["hazard"] == h)
        .unwrap()
}

/// The published wards: (code, geometry).
fn wards(s: &Server) -> Vec<(String, geo::Geometry<f64>)> {
    let v = s.get("/datasets/wards.geojson").json();
    v["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let g: geojson::Geometry = serde_json::from_value(f["geometry"].clone()).unwrap();
            (
                f["properties"]["code"].as_str().unwrap().to_string(),
                geo::Geometry::<f64>::try_from(g).unwrap(),
            )
        })
        .collect()
}

fn ward_at(wards: &[(String, geo::Geometry<f64>)], x: f64, y: f64) -> Option<String> {
    wards
        .iter()
        .find(|(_, g)| g.contains(&Point::new(x, y)))
        .map(|(c, _)| c.clone())
}

/// (fid, lon, lat, capacity) of published shelters designated for `hazard`.
fn shelters_for(db: &Path, hazard: &str) -> Vec<(i64, f64, f64, i64)> {
    let store = Store::open(db).unwrap();
    let mut st = store
        .conn()
        .prepare(&format!(
            "SELECT fid, lon, lat, coalesce(capacity, 0) FROM shelters
             WHERE version = (SELECT version FROM current WHERE dataset = 'shelters')
               AND \"{hazard}\" ORDER BY fid"
        ))
        .unwrap();
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    rows
}

/// Wait until `f` holds for the server's answers (it polls the store once a second).
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..100 {
        if f() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    panic!("{what}: not seen within 20 s");
}

#[test]
fn every_combination_through_cli_and_http_and_coverage_and_shelters() {
    let d = tmp();
    let db = sample_db_copy(d.path());
    // Staff status of shelters, in the file the console appends to (written before the server
    // starts; the server reads it at start).
    let flood_sites = shelters_for(&db, "flood");
    let tsunami_sites = shelters_for(&db, "tsunami");
    assert!(flood_sites.len() >= 4 && !tsunami_sites.is_empty());
    let s0 = flood_sites[0];
    let t0 = *tsunami_sites
        .iter()
        .find(|t| t.0 != s0.0)
        .expect("a tsunami site other than s0");
    let status_file = machimap::admin::admin_dir(&db).join("shelter_status.jsonl");
    let ev = |fid: i64, status: ShelterState, evacuees: Option<u32>| StatusEvent {
        fid,
        status,
        evacuees,
        at: "2026-12-05T01:02:03Z".into(),
        by: "test".into(),
    };
    // s0 open at 65 % of capacity (混雑); every other flood site but t0 closed.
    let s0_evacuees = (s0.3 as f64 * 0.65).round() as u32;
    machimap::admin::jsonl::append(
        &status_file,
        &ev(s0.0, ShelterState::Open, Some(s0_evacuees)),
    )
    .unwrap();
    for f in &flood_sites[1..] {
        if f.0 != t0.0 {
            machimap::admin::jsonl::append(&status_file, &ev(f.0, ShelterState::Closed, None))
                .unwrap();
        }
    }
    let s = Server::start(&db);
    let wards = wards(&s);

    // Candidate points on a grid over the wards, away from the two shelters' squares.
    let mut bbox = wards[0].1.bounding_rect().unwrap();
    for (_, g) in &wards {
        let b = g.bounding_rect().unwrap();
        bbox = geo::Rect::new(
            (bbox.min().x.min(b.min().x), bbox.min().y.min(b.min().y)),
            (bbox.max().x.max(b.max().x), bbox.max().y.max(b.max().y)),
        );
    }
    let near = |x: f64, y: f64, p: (f64, f64)| (x - p.0).abs() < 0.006 && (y - p.1).abs() < 0.006;
    let mut candidates = Vec::new();
    let step = 0.0015;
    let mut y = bbox.min().y + step;
    while y < bbox.max().y {
        let mut x = bbox.min().x + step;
        while x < bbox.max().x {
            if ward_at(&wards, x, y).is_some()
                && !near(x, y, (s0.1, s0.2))
                && !near(x, y, (t0.1, t0.2))
            {
                candidates.push((x, y));
            }
            x += step;
        }
        y += step;
    }
    let combos: Vec<(u8, i64, i64)> = (0..3u8)
        .flat_map(|c| (1..=6).flat_map(move |r| (1..=7).map(move |k| (c, r, k))))
        .collect();
    assert_eq!(combos.len(), 126);
    assert!(
        candidates.len() > combos.len() + 40,
        "{} candidate points",
        candidates.len()
    );
    // Spread the cells over the city; the point after them is inside the wards, outside every
    // zone.
    let stride = candidates.len() / (combos.len() + 2);
    let cells: Vec<(f64, f64)> = (0..combos.len() + 2)
        .map(|i| candidates[i * stride])
        .collect();
    let h = 0.0003;
    let (mut f10, mut f20, mut f30, mut f41, mut f42) = (vec![], vec![], vec![], vec![], vec![]);
    for (i, &(c, r, k)) in combos.iter().enumerate() {
        let (x, y) = cells[i];
        f20.push(square(x, y, h, a31a(2, RIVER, RIVER_CODE, r.into())));
        f10.push(square(
            x,
            y,
            h,
            a31a(1, RIVER, RIVER_CODE, (r - 1).max(1).into()),
        ));
        f30.push(square(x, y, h, a31a(3, RIVER, RIVER_CODE, k.into())));
        match c {
            1 => f41.push(square(x, y, h, a31a(4, RIVER, RIVER_CODE, "1".into()))),
            // 河岸侵食: A31a_405 given on half, left empty on the other half (the file's name
            // says 42).
            2 => f42.push(square(
                x,
                y,
                h,
                a31a(
                    4,
                    RIVER,
                    RIVER_CODE,
                    if i % 2 == 0 { "2" } else { "" }.into(),
                ),
            )),
            _ => {}
        }
    }
    // Two rivers at one point: サンプル川 0.5–3 m and 東川 3–5 m (both 想定最大規模).
    let two = cells[combos.len()];
    f20.push(square(
        two.0,
        two.1,
        h,
        a31a(2, RIVER, RIVER_CODE, 2.into()),
    ));
    f20.push(square(
        two.0,
        two.1,
        h,
        a31a(2, RIVER2, "8806010002", 3.into()),
    ));
    f30.push(square(
        two.0,
        two.1,
        h,
        a31a(3, RIVER2, "8806010002", 1.into()),
    ));
    let outside = cells[combos.len() + 1];
    // A flood zone around the first flood-designated shelter.
    f20.push(square(
        s0.1,
        s0.2,
        0.002,
        a31a(2, RIVER, RIVER_CODE, 2.into()),
    ));

    let files: Vec<(String, Vec<serde_json::Value>)> = vec![
        ("A31a_10_33999.geojson".into(), f10),
        ("A31a_20_33999.geojson".into(), f20),
        ("A31a_30_33999.geojson".into(), f30),
        ("A31a_41_33999.geojson".into(), f41),
        ("A31a_42_33999.geojson".into(), f42),
    ];
    let mut paths = Vec::new();
    for (name, feats) in files {
        let p = d.path().join(name);
        std::fs::write(&p, fc(feats)).unwrap();
        paths.push(p);
    }
    let refs: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
    let (code, v) = ingest_json(&db, "flood", &refs, &[]);
    assert_eq!(code, 0, "{v:#}");
    // The empty A31a_405 of the 42 file was read from the file name, not warned.
    assert!(issues(&v, "VALUE_UNREAD_KEPT").is_empty(), "{v:#}");
    // A tsunami zone around a tsunami-designated site.
    let tp = d.path().join("tsunami_A40.geojson");
    std::fs::write(
        &tp,
        fc(vec![square(
            t0.1,
            t0.2,
            0.002,
            serde_json::json!({"A40_001": "サンプル県", "A40_002": 33, "A40_003": "2m以上5m未満"}),
        )]),
    )
    .unwrap();
    let (code, v) = ingest_json(&db, "tsunami", &[&tp], &[]);
    assert_eq!(code, 0, "{v:#}");

    // Every family kept apart in the canonical table.
    {
        // Read-only: the server may be writing the new version's layer image.
        let store =
            Store::open_read_only_retrying(&db, std::time::Duration::from_secs(30)).unwrap();
        let mut st = store
            .conn()
            .prepare(
                "SELECT family, scenario, collapse_type, count(*) FROM flood
                 WHERE version = (SELECT version FROM current WHERE dataset = 'flood')
                 GROUP BY ALL ORDER BY ALL",
            )
            .unwrap();
        let rows: Vec<(String, Option<String>, Option<i64>, i64)> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(
            rows,
            vec![
                ("collapse".into(), None, Some(1), 42),
                ("collapse".into(), None, Some(2), 42),
                ("depth".into(), Some("想定最大規模".into()), None, 126 + 3),
                ("depth".into(), Some("計画規模".into()), None, 126),
                ("duration".into(), None, None, 127),
            ]
        );
    }

    let risk = |x: f64, y: f64, q: &str| -> serde_json::Value {
        let r = s.get(&format!("/api/risk?lat={y}&lon={x}{q}"));
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    };
    eventually("the new flood version served", || {
        hazard(&risk(cells[0].0, cells[0].1, ""), "flood")["coverage"] == "in_zone"
    });

    // Every combination × storeys.
    let mut seen = std::collections::BTreeMap::new();
    for (i, &(c, r, k)) in combos.iter().enumerate() {
        let (x, y) = cells[i];
        for floors in 1..=3 {
            let j = risk(x, y, &format!("&floors={floors}"));
            let f = hazard(&j, "flood");
            let want = guidance(c, r, k, floors);
            let dec = &f["decision"];
            assert_eq!(
                dec["action"], want,
                "collapse {c} rank {r} class {k} floors {floors}: {dec:#}"
            );
            *seen.entry(want).or_insert(0) += 1;
            assert_eq!(f["coverage"], "in_zone");
            assert_eq!(dec["floors"], floors);
            assert_eq!(dec["floors_assumed"], false);
            // Zones per scenario, the duration class, the collapse zones.
            let scen: Vec<&str> = f["zones"]
                .as_array()
                .unwrap()
                .iter()
                .map(|z| z["scenario"].as_str().unwrap())
                .collect();
            assert!(
                scen.contains(&"想定最大規模") && scen.contains(&"計画規模"),
                "{scen:?}"
            );
            assert_eq!(f["duration_zones"][0]["duration_class"], k);
            let cz = f["collapse_zones"].as_array().unwrap();
            assert_eq!(cz.len(), usize::from(c != 0));
            if c != 0 {
                assert_eq!(cz[0]["collapse_type"], i64::from(c));
            }
            // Each reason that decides names the river, where a resident can check it.
            for reason in dec["reasons"].as_array().unwrap() {
                if reason["effect"] != "note" {
                    assert!(reason["text"].as_str().unwrap().contains(RIVER), "{reason}");
                }
            }
            assert!(!dec["text"].as_str().unwrap().is_empty());
        }
    }
    assert!(seen["leave"] > 0 && seen["upper_floor"] > 0, "{seen:?}");

    // Storeys not given: the 2-storey answer, said aloud, in each language.
    let (x, y) = cells[combos.iter().position(|&t| t == (0, 2, 2)).unwrap()];
    for (lang, said) in [
        ("ja", "2階建てと仮定"),
        ("en", "2-storey"),
        ("easy", "2かいだて"),
    ] {
        let j = risk(x, y, &format!("&lang={lang}"));
        let dec = &hazard(&j, "flood")["decision"];
        assert_eq!(dec["action"], "upper_floor");
        assert_eq!(dec["floors_assumed"], true);
        assert_eq!(dec["floors"], 2);
        assert!(
            dec["text"].as_str().unwrap().contains(said),
            "{lang}: {dec:#}"
        );
    }
    for bad in ["0", "100", "two", "-1", "2.5"] {
        let r = s.get(&format!("/api/risk?lat={y}&lon={x}&floors={bad}"));
        assert_eq!(r.status, 400, "floors={bad}");
    }

    // Two rivers: the deeper one decides and is cited.
    let j = risk(two.0, two.1, "&floors=2");
    let f = hazard(&j, "flood");
    assert_eq!(f["decision"]["action"], "leave");
    let rivers: Vec<&str> = f["zones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["river_name"].as_str().unwrap())
        .collect();
    assert!(
        rivers.contains(&RIVER) && rivers.contains(&RIVER2),
        "{rivers:?}"
    );
    assert!(f["decision"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["code"] == "depth_reaches_top" && r["river"] == RIVER2));
    let j = risk(two.0, two.1, "&floors=3");
    assert_eq!(hazard(&j, "flood")["decision"]["action"], "upper_floor");
    assert_eq!(hazard(&j, "flood")["decision"]["refuge_floor"], 3);

    // Inside the wards, outside every zone: `outside`, nothing to do.
    let j = risk(outside.0, outside.1, "&floors=2");
    let f = hazard(&j, "flood");
    assert_eq!(f["coverage"], "outside", "{f:#}");
    assert_eq!(f["decision"]["action"], "none");
    // Far from the city: `no_data`, no decision, said as unknown.
    let j = risk(139.767, 35.681, "");
    let f = hazard(&j, "flood");
    assert_eq!(f["coverage"], "no_data");
    assert!(f["decision"].is_null());
    assert!(
        f["message"].as_str().unwrap().contains("分かりません"),
        "{f}"
    );
    assert!(j["summary"].as_str().unwrap().contains("分かりません"));

    // Staff narrow the flood map's coverage to the ward of the first cell: the point outside
    // the zones in another ward becomes `no_data`; the cell stays `in_zone`.
    let w0 = ward_at(&wards, cells[0].0, cells[0].1).unwrap();
    let outside = cells[combos.len() + 1..]
        .iter()
        .chain(candidates.iter())
        .copied()
        .find(|&(x, y)| {
            ward_at(&wards, x, y).is_some_and(|w| w != w0)
                && hazard(&risk(x, y, ""), "flood")["coverage"] == "outside"
        })
        .unwrap();
    let dbs = db.to_str().unwrap();
    let out = run(&[
        "coverage",
        "set",
        "--db",
        dbs,
        "--dataset",
        "flood",
        "--wards",
        &w0,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eventually("coverage by wards", || {
        hazard(&risk(outside.0, outside.1, ""), "flood")["coverage"] == "no_data"
    });
    assert_eq!(
        hazard(&risk(cells[0].0, cells[0].1, ""), "flood")["coverage"],
        "in_zone"
    );
    // Other hazards keep their default.
    assert_ne!(
        hazard(&risk(outside.0, outside.1, ""), "landslide")["coverage"],
        "no_data"
    );
    // A polygon around the point.
    let poly = d.path().join("area.geojson");
    let (px, py) = outside;
    std::fs::write(
        &poly,
        serde_json::json!({"type": "Polygon", "coordinates": [[[px - 0.01, py - 0.01], [px + 0.01, py - 0.01], [px + 0.01, py + 0.01], [px - 0.01, py + 0.01], [px - 0.01, py - 0.01]]]}).to_string(),
    )
    .unwrap();
    let out = run(&[
        "coverage",
        "set",
        "--db",
        dbs,
        "--dataset",
        "flood",
        "--polygon",
        poly.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eventually("coverage by polygon", || {
        hazard(&risk(px, py, ""), "flood")["coverage"] == "outside"
    });
    // Refused: unknown ward codes, a non-hazard dataset; nothing recorded for them.
    let out = run(&[
        "coverage",
        "set",
        "--db",
        dbs,
        "--dataset",
        "flood",
        "--wards",
        "99999999999",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("99999999999"));
    let out = run(&[
        "coverage",
        "set",
        "--db",
        dbs,
        "--dataset",
        "roads",
        "--default",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&[
        "coverage",
        "set",
        "--db",
        dbs,
        "--dataset",
        "flood",
        "--default",
    ]);
    assert!(out.status.success());
    let out = run(&["coverage", "show", "--db", dbs]);
    let shown = String::from_utf8_lossy(&out.stdout);
    let kinds: Vec<&str> = shown
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(3).unwrap())
        .collect();
    assert_eq!(kinds, vec!["wards", "polygon", "default"], "{shown}");
    let audit = std::fs::read_to_string(machimap::admin::admin_dir(&db).join("audit.jsonl"))
        .unwrap_or_default();
    assert_eq!(audit.matches("coverage_set").count(), 3, "{audit}");

    // Shelters: the designated site inside the flood zone is kept, marked, with its status
    // and crowding; the closed sites are said closed and come after it.
    let (qx, qy) = (s0.1 + 0.0005, s0.2 + 0.0005);
    let j = risk(qx, qy, "&floors=2");
    let f = hazard(&j, "flood");
    assert_eq!(f["coverage"], "in_zone");
    let sh = f["shelters"].as_array().unwrap();
    let first = &sh[0];
    assert_eq!(first["fid"], s0.0, "{sh:#?}");
    assert_eq!(first["in_zone"], true);
    assert!(
        first["zone_note"].as_str().unwrap().contains("上の階"),
        "{first}"
    );
    assert_eq!(first["status"], "open");
    assert_eq!(first["status_text"], "開設");
    assert_eq!(first["evacuees"], s0_evacuees);
    assert_eq!(first["crowding"], "crowded");
    assert_eq!(first["crowding_text"], "混雑");
    assert_eq!(first["status_updated_at"], "2026-12-05T01:02:03Z");
    for later in &sh[1..] {
        if later["fid"] != t0.0 {
            assert_eq!(later["status"], "closed", "{later}");
            assert_eq!(later["status_text"], "閉鎖");
        }
    }
    // Tsunami: the refuge inside the zone is the nearest, first, and minutes matter.
    let j = risk(t0.1 + 0.0005, t0.2 + 0.0005, "");
    let t = hazard(&j, "tsunami");
    assert_eq!(t["decision"]["action"], "leave");
    assert!(t["decision"]["text"].as_str().unwrap().contains("一分一秒"));
    let sh = t["shelters"].as_array().unwrap();
    assert_eq!(sh[0]["fid"], t0.0, "{sh:#?}");
    assert_eq!(sh[0]["in_zone"], true);
    assert!(sh[0]["zone_note"]
        .as_str()
        .unwrap()
        .contains("津波避難ビル"));
    assert_eq!(sh[0]["status"], "not_open");
    assert_eq!(sh[0]["status_text"], "未開設");
    let mut last = 0.0;
    for x in sh {
        let dm = x["distance_m"].as_f64().unwrap();
        if x["status"] != "closed" && x["status"] != "full" {
            assert!(dm >= last);
            last = dm;
        }
    }
}
