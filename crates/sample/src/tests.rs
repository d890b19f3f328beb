//! Tests of the sample generator: the planar partition, the hazard bands,
//! every output file's format and cross-references, determinism and the
//! streamed benchmark layer.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;
use std::sync::OnceLock;

use encoding_rs::SHIFT_JIS;
use geo::{
    Area, BooleanOps, Contains, Coord, Geodesic, Length, LineString, Point, Polygon, Validation,
};
use serde_json::Value;

use super::geometry::{signed_area, P};
use super::hazards::{self, Hazards, MAXIMUM, PLANNED};
use super::wards::{self, City};
use super::*;

struct Fixture {
    city: City,
    hz: Hazards,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let city = City::build(SEED);
        let hz = hazards::build(&city.frame, SEED ^ 0x10);
        Fixture { city, hz }
    })
}

fn key(p: P) -> (u64, u64) {
    (p.x.to_bits(), p.y.to_bits())
}

fn vertex_set(polys: &[Polygon]) -> HashSet<(u64, u64)> {
    polys
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|r| r.0.iter().map(|&c| key(c)))
        .collect()
}

fn overlap_area(a: &Polygon, b: &Polygon) -> f64 {
    a.intersection(b).unsigned_area()
}

fn assert_oriented(p: &Polygon, what: &str) {
    assert!(
        signed_area(&p.exterior().0) > 0.0,
        "{what}: exterior must be counter-clockwise"
    );
    for h in p.interiors() {
        assert!(signed_area(&h.0) < 0.0, "{what}: holes must be clockwise");
    }
}

#[test]
fn check_digit_of_city_code() {
    let d: Vec<u32> = "33999".bytes().map(|b| (b - b'0') as u32).collect();
    let s: u32 = d.iter().zip([6, 5, 4, 3, 2]).map(|(a, w)| a * w).sum();
    assert_eq!(format!("33999{}", (11 - s % 11) % 10), CITY_CODE);
}

#[test]
fn wards_tile_the_land_without_gaps_or_overlaps() {
    let c = &fixture().city;
    let all: Vec<usize> = (0..c.part.cells.len()).collect();
    let land = c.part.region_polygons(&all, |_| true);
    assert_eq!(land.len(), 1, "the mainland is one polygon");
    assert!(land[0].interiors().is_empty());
    assert!(land[0].is_valid());
    // The same layout City::build used (same seed), for its islands.
    let layout = super::geometry::layout_wards(&c.part, &c.frame, SEED.wrapping_add(2));
    let islands: f64 = layout.islands.iter().map(|(_, p)| p.unsigned_area()).sum();
    assert_eq!(layout.islands.len(), 3);
    let land_area = land[0].unsigned_area() + islands;
    let ward_area: f64 = c.wards.iter().map(|w| w.area()).sum();
    assert!(
        (ward_area - land_area).abs() < 1.0,
        "ward areas {ward_area} vs land {land_area}"
    );
    // About 100 km² of land.
    assert!((80e6..130e6).contains(&land_area), "{land_area}");

    for w in &c.wards {
        for p in &w.parts {
            assert!(p.is_valid(), "{}: {:?}", w.name, p.validation_errors());
        }
    }
    // Pairwise overlaps of neighbours (a sample) are nil.
    let mut checked = 0;
    for (i, w) in c.wards.iter().enumerate().step_by(3) {
        for j in c.neighbours(i) {
            for a in &w.parts {
                for b in &c.wards[j].parts {
                    let o = overlap_area(a, b);
                    assert!(o < 1.0, "{} ∩ {} = {o} m²", w.name, c.wards[j].name);
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 100);
}

#[test]
fn neighbouring_wards_share_boundaries_vertex_for_vertex() {
    let c = &fixture().city;
    let sets: Vec<HashSet<(u64, u64)>> = c.wards.iter().map(|w| vertex_set(&w.parts)).collect();
    let mut shared_edges = 0;
    for e in &c.part.edges {
        let (Some(l), Some(r)) = (e.left, e.right) else {
            continue;
        };
        let (wl, wr) = (c.cell_ward[l], c.cell_ward[r]);
        if wl == wr {
            continue;
        }
        shared_edges += 1;
        for &p in &e.pts {
            assert!(sets[wl].contains(&key(p)) && sets[wr].contains(&key(p)));
        }
    }
    assert!(shared_edges > 300, "{shared_edges}");
}

#[test]
fn wards_have_codes_names_and_parts() {
    let c = &fixture().city;
    let n = c.wards.len();
    assert!((145..=155).contains(&n), "{n} wards");
    let split = c.wards.iter().filter(|w| w.parts.len() == 2).count();
    assert!((5..=8).contains(&split), "{split} split wards");
    assert!(c.wards.iter().all(|w| w.parts.len() <= 2));
    let keys: BTreeSet<String> = c.wards.iter().map(|w| w.key_code()).collect();
    assert_eq!(keys.len(), n, "KEY_CODE unique");
    let names: BTreeSet<&str> = c.wards.iter().map(|w| w.name.as_str()).collect();
    assert_eq!(names.len(), n, "S_NAME unique");
    for w in &c.wards {
        let k = w.key_code();
        assert!(k.len() == 11 && k.starts_with("33999") && k.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(w.chome > 0, w.name.ends_with("丁目"));
        assert!(!SHIFT_JIS.encode(&w.name).2, "{} not CP932", w.name);
    }
    assert!(c.wards.iter().filter(|w| w.jinko == 0).count() >= 2);
    let pop: i64 = c.wards.iter().map(|w| w.jinko).sum();
    assert!((50_000..400_000).contains(&pop), "{pop}");

    let feats = wards::estat_features(c);
    assert_eq!(feats.len(), n + split);
    let fields = wards::estat_fields();
    assert_eq!(fields.len(), 15);
    for (_, rec) in &feats {
        assert_eq!(rec.len(), fields.len());
    }
    let e2 = feats
        .iter()
        .filter(|(_, r)| r[7] == machimap_shp::DbfValue::Text("E2".into()))
        .count();
    assert_eq!(e2, split);
}

#[test]
fn flood_bands_nest_and_share_boundaries() {
    let hz = &fixture().hz;
    for scen in [PLANNED, MAXIMUM] {
        let polys: Vec<&hazards::FloodPoly> =
            hz.flood.iter().filter(|f| f.scenario == scen).collect();
        let ranks: BTreeSet<u8> = polys.iter().map(|f| f.rank).collect();
        assert_eq!(ranks, (1..=6).collect(), "scenario {scen}");
        assert!(
            polys.iter().any(|f| !f.poly.interiors().is_empty()),
            "holes"
        );
        for f in &polys {
            assert!(
                f.poly.is_valid(),
                "rank {}: {:?}",
                f.rank,
                f.poly.validation_errors()
            );
            assert_oriented(&f.poly, "flood");
        }
        for (i, a) in polys.iter().enumerate() {
            for b in &polys[i + 1..] {
                let o = overlap_area(&a.poly, &b.poly);
                assert!(
                    o < 1.0,
                    "scenario {scen} ranks {} and {} overlap by {o}",
                    a.rank,
                    b.rank
                );
            }
        }
        // The band of rank k and the band of rank k+1 share the whole curve
        // between them.
        for k in 1..6u8 {
            let a = vertex_set(&[polys
                .iter()
                .find(|f| f.rank == k)
                .expect("rank")
                .poly
                .clone()]);
            let b = vertex_set(&[polys
                .iter()
                .find(|f| f.rank == k + 1)
                .expect("rank")
                .poly
                .clone()]);
            let shared = a.intersection(&b).count();
            assert!(shared > 300, "ranks {k}/{} share {shared} vertices", k + 1);
        }
    }
    // 想定最大規模 covers more than 計画規模.
    let area = |s| -> f64 {
        hz.flood
            .iter()
            .filter(|f| f.scenario == s)
            .map(|f| f.poly.unsigned_area())
            .sum()
    };
    assert!(area(MAXIMUM) > 1.3 * area(PLANNED));
}

#[test]
fn coastal_bands_nest_and_share_boundaries() {
    let hz = &fixture().hz;
    for (what, bands) in [("tsunami", &hz.tsunami), ("surge", &hz.surge)] {
        for b in bands.iter() {
            assert!(
                b.poly.is_valid(),
                "{what}: {:?}",
                b.poly.validation_errors()
            );
            assert_oriented(&b.poly, what);
        }
        for (i, a) in bands.iter().enumerate() {
            for b in &bands[i + 1..] {
                assert!(overlap_area(&a.poly, &b.poly) < 1.0, "{what} overlap");
                if a.section == b.section && b.band == a.band + 1 {
                    let shared = vertex_set(std::slice::from_ref(&a.poly))
                        .intersection(&vertex_set(std::slice::from_ref(&b.poly)))
                        .count();
                    assert!(shared > 50, "{what}: {shared}");
                }
            }
        }
    }
    // Storm surge reaches further inland than the tsunami.
    let reach = |bands: &[hazards::BandPoly]| -> f64 {
        bands
            .iter()
            .flat_map(|b| b.poly.exterior().0.iter().map(|c| c.y))
            .fold(f64::MIN, f64::max)
    };
    assert!(reach(&hz.surge) > reach(&hz.tsunami) + 500.0);
}

#[test]
fn landslide_red_zones_lie_inside_their_yellow_zone() {
    let hz = &fixture().hz;
    let n = hz.landslide.len();
    assert!((70..=95).contains(&n), "{n} zones");
    let phen: BTreeSet<u8> = hz.landslide.iter().map(|z| z.phenomenon).collect();
    assert_eq!(phen, [1, 2, 3].into());
    let classes: BTreeSet<u8> = hz.landslide.iter().map(|z| z.class).collect();
    assert!(classes.contains(&1) && classes.contains(&2) && classes.contains(&3));
    for z in &hz.landslide {
        assert!(z.poly.is_valid());
        if let Some(p) = z.parent {
            assert!(hz.landslide[p].poly.contains(&z.poly));
            assert!(hz.landslide[p].has_red);
        }
    }
    // Yellow zones do not overlap each other.
    let yellow: Vec<&Polygon> = hz
        .landslide
        .iter()
        .filter(|z| z.parent.is_none())
        .map(|z| &z.poly)
        .collect();
    for (i, a) in yellow.iter().enumerate() {
        for b in &yellow[i + 1..] {
            assert!(overlap_area(a, b) < 1.0);
        }
    }
}

// ---------------------------------------------------------------------------
// Output files.

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).expect("file written")
}

fn json(dir: &Path, name: &str) -> Value {
    serde_json::from_slice(&read(dir, name)).expect("valid JSON")
}

fn cp932(bytes: &[u8]) -> String {
    let (s, had_errors) = SHIFT_JIS.decode_without_bom_handling(bytes);
    assert!(!had_errors, "not valid CP932");
    s.into_owned()
}

fn utf8_bom(bytes: &[u8]) -> String {
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "BOM");
    String::from_utf8(bytes[3..].to_vec()).expect("UTF-8")
}

fn parse_csv(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("csv record").iter().map(str::to_string).collect())
        .collect()
}

fn ring(v: &Value) -> Vec<P> {
    v.as_array()
        .expect("ring")
        .iter()
        .map(|c| Coord {
            x: c[0].as_f64().expect("x"),
            y: c[1].as_f64().expect("y"),
        })
        .collect()
}

fn polygon(v: &Value) -> Polygon {
    let rings: Vec<Vec<P>> = v.as_array().expect("rings").iter().map(ring).collect();
    Polygon::new(
        LineString::from(rings[0].clone()),
        rings[1..]
            .iter()
            .map(|r| LineString::from(r.clone()))
            .collect(),
    )
}

/// Checks ring closure and RFC 7946 winding; returns the vertex count.
fn check_polygon_feature(f: &Value) -> usize {
    let g = &f["geometry"];
    assert_eq!(g["type"], "Polygon");
    let mut n = 0;
    for (i, r) in g["coordinates"]
        .as_array()
        .expect("rings")
        .iter()
        .enumerate()
    {
        let pts = ring(r);
        assert!(
            pts.len() >= 4 && pts[0] == pts[pts.len() - 1],
            "closed ring"
        );
        let a = signed_area(&pts);
        assert!(
            if i == 0 { a > 0.0 } else { a < 0.0 },
            "winding of ring {i}"
        );
        n += pts.len();
    }
    n
}

#[test]
fn generated_files_are_coherent() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let m = generate(dir, &SampleOptions::default()).expect("generate");
    let ids: Vec<&str> = m.files.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "wards",
            "flood",
            "landslide",
            "tsunami",
            "storm_surge",
            "roads",
            "shelters",
            "stockpile",
            "addresses"
        ]
    );
    for (_, files) in &m.files {
        for f in files {
            assert!(f.is_file(), "{f:?}");
        }
    }
    assert_eq!(m.files[5].1.len(), 2);
    assert!(m.files[5].1[0].to_string_lossy().ends_with(".csv"));
    // Flood: the depth file and the A31a 30 / 41 / 42 families, drawn on the maximum scenario.
    assert_eq!(m.files[1].1.len(), 4);
    let depth = json(dir, files::FLOOD);
    let max: Vec<i64> = depth["features"]
        .as_array()
        .expect("features")
        .iter()
        .filter_map(|f| f["properties"]["A31a_205"].as_i64())
        .collect();
    for (name, key) in [
        (files::FLOOD_DURATION, "A31a_305"),
        (files::FLOOD_COLLAPSE_FLOW, "A31a_405"),
        (files::FLOOD_COLLAPSE_BANK, "A31a_405"),
    ] {
        let v = json(dir, name);
        let codes: Vec<i64> = v["features"]
            .as_array()
            .expect("features")
            .iter()
            .map(|f| f["properties"][key].as_i64().expect("code"))
            .collect();
        let want: Vec<i64> = match name {
            files::FLOOD_DURATION => max.iter().map(|&r| r.clamp(1, 6)).collect(),
            files::FLOOD_COLLAPSE_FLOW => max.iter().filter(|&&r| r >= 4).map(|_| 1).collect(),
            _ => max.iter().filter(|&&r| r == 6).map(|_| 2).collect(),
        };
        assert_eq!(codes, want, "{name}");
        assert!(!codes.is_empty(), "{name}");
    }
    assert_eq!(m.files[6].1.len(), 2);

    let readme = String::from_utf8(read(dir, files::README)).expect("UTF-8");
    assert!(
        readme.contains("架空")
            && readme.contains("FICTIONAL")
            && readme.contains(files::STOCKPILE)
            && readme.contains(files::FLOOD_COLLAPSE_BANK)
    );

    let hazard_vertices = check_hazard_files(dir);
    assert!(
        (40_000..=60_000).contains(&hazard_vertices),
        "{hazard_vertices} hazard vertices"
    );
    check_shapefiles(dir);
    check_roads(dir);
    let (shelter_ids, common) = check_shelters(dir);
    check_stockpile(dir, &shelter_ids, &common);
}

/// Returns the total vertex count of the four hazard layers.
fn check_hazard_files(dir: &Path) -> usize {
    let fx = fixture();
    let mut total = 0;

    let flood = json(dir, files::FLOOD);
    assert!(flood.get("crs").is_none(), "RFC 7946: no crs member");
    let mut ranks: BTreeMap<&str, BTreeSet<i64>> = BTreeMap::new();
    for f in flood["features"].as_array().expect("features") {
        total += check_polygon_feature(f);
        let p = &f["properties"];
        let s = if p.get("A31a_105").is_some() {
            "1"
        } else {
            "2"
        };
        assert_eq!(p[format!("A31a_{s}01")], names::RIVER_CODE);
        assert_eq!(p[format!("A31a_{s}02")], "サンプル川");
        assert_eq!(p[format!("A31a_{s}03")], "33");
        assert_eq!(p[format!("A31a_{s}04")], "岡山県");
        let r = p[format!("A31a_{s}05")].as_i64().expect("integer rank");
        ranks.entry(s).or_default().insert(r);
        assert_eq!(p.as_object().expect("props").len(), 5);
        let lon = f["geometry"]["coordinates"][0][0][0].as_f64().expect("lon");
        let lat = f["geometry"]["coordinates"][0][0][1].as_f64().expect("lat");
        assert!((133.85..133.99).contains(&lon) && (34.55..34.67).contains(&lat));
    }
    let all: BTreeSet<i64> = (1..=6).collect();
    assert_eq!(ranks["1"], all);
    assert_eq!(ranks["2"], all);
    // At most 7 decimals (about 1 cm), as written.
    for f in flood["features"].as_array().expect("features") {
        for r in f["geometry"]["coordinates"].as_array().expect("rings") {
            for c in r
                .as_array()
                .expect("ring")
                .iter()
                .flat_map(|c| c.as_array().expect("pos"))
            {
                let t = c.to_string();
                assert!(t.split('.').nth(1).map_or(0, str::len) <= 7, "{t}");
            }
        }
    }

    let ts = json(dir, files::TSUNAMI);
    let mut texts = BTreeSet::new();
    for f in ts["features"].as_array().expect("features") {
        total += check_polygon_feature(f);
        assert_eq!(f["properties"]["A40_001"], "岡山県");
        assert_eq!(f["properties"]["A40_002"], 33);
        texts.insert(
            f["properties"]["A40_003"]
                .as_str()
                .expect("text")
                .to_string(),
        );
    }
    assert!(texts.iter().any(|t| t.contains('．')) && texts.iter().any(|t| t.contains('.')));

    let ss = json(dir, files::STORM_SURGE);
    assert_eq!(
        ss["crs"]["properties"]["name"],
        "urn:ogc:def:crs:EPSG::6673"
    );
    for f in ss["features"].as_array().expect("features") {
        total += check_polygon_feature(f);
        assert_eq!(f["properties"]["A49_002"], "33");
        let c = &f["geometry"]["coordinates"][0][0];
        let (x, y) = (c[0].as_f64().expect("x"), c[1].as_f64().expect("y"));
        assert!((-45_000.0..-30_000.0).contains(&x), "easting first: {x}");
        assert!(
            (-160_000.0..-145_000.0).contains(&y),
            "northing second: {y}"
        );
    }
    assert!(ss["features"][0]["properties"]["A49_003"]
        .as_str()
        .is_some());

    total += fx
        .hz
        .landslide
        .iter()
        .map(|z| z.poly.exterior().0.len())
        .sum::<usize>();
    total
}

/// Reads both zipped shapefiles back with the project's own codec.
fn check_shapefiles(dir: &Path) {
    use machimap_shp::{open_zip, EncodingSource, ZipLimits};
    let fx = fixture();

    let r = open_zip(&dir.join(files::WARDS), &ZipLimits::default()).expect("wards zip");
    let info = r.info().clone();
    assert_eq!(info.entry_stem, "r2ka33999");
    assert!(matches!(
        info.encoding_source,
        EncodingSource::LanguageDriver(0x13)
    ));
    assert_eq!(info.prj.as_deref(), Some(PRJ_ZONE5));
    let names: Vec<&str> = info.fields.iter().map(|f| f.name.as_str()).collect();
    let expected: Vec<String> = wards::estat_fields().into_iter().map(|f| f.name).collect();
    assert_eq!(names, expected);
    let recs: Vec<_> = r.records().collect::<Result<_, _>>().expect("records");
    let split = fx.city.wards.iter().filter(|w| w.parts.len() > 1).count();
    assert_eq!(recs.len(), fx.city.wards.len() + split);
    let mut area = 0.0;
    for rec in &recs {
        let key = rec.attributes[0].to_text().expect("KEY_CODE");
        assert!(key.len() == 11 && key.starts_with("33999"));
        assert!(rec.attributes[6].to_text().is_some(), "S_NAME");
        area += rec.attributes[9]
            .to_text()
            .expect("AREA")
            .parse::<f64>()
            .expect("number");
        let g = rec.geometry.as_ref().expect("geometry");
        let rect = geo::BoundingRect::bounding_rect(g).expect("non-empty");
        assert!(
            rect.min().x < -30_000.0 && rect.max().y < -140_000.0,
            "plane metres, x = easting"
        );
    }
    let expected_area: f64 = fx.city.wards.iter().map(|w| w.area()).sum();
    assert!((area - expected_area).abs() < 10.0);
    assert!(recs
        .iter()
        .any(|r| r.attributes[7].to_text().as_deref() == Some("E2")));

    let r = open_zip(&dir.join(files::LANDSLIDE), &ZipLimits::default()).expect("landslide zip");
    let info = r.info().clone();
    assert!(matches!(&info.encoding_source, EncodingSource::Cpg(c) if c == "CP932"));
    assert_eq!(info.prj.as_deref(), Some(PRJ_JGD2011));
    let recs: Vec<_> = r.records().collect::<Result<_, _>>().expect("records");
    assert_eq!(recs.len(), fx.hz.landslide.len());
    let mut unknown_dates = 0;
    for rec in &recs {
        assert_eq!(rec.attributes.len(), 8);
        assert_eq!(rec.attributes[2].to_text().as_deref(), Some("33"));
        assert!(rec.attributes[5]
            .to_text()
            .expect("所在地")
            .starts_with("サンプル市"));
        if rec.attributes[6].to_text().as_deref() == Some("9999/1/1") {
            unknown_dates += 1;
        }
        let g = rec.geometry.as_ref().expect("geometry");
        let rect = geo::BoundingRect::bounding_rect(g).expect("non-empty");
        assert!((133.85..133.99).contains(&rect.min().x) && (34.55..34.67).contains(&rect.min().y));
    }
    assert!(unknown_dates >= 2);
}

fn check_roads(dir: &Path) {
    let bytes = read(dir, files::ROADS_CSV);
    assert!(!bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = cp932(&bytes);
    assert!(
        text.starts_with("路線番号,路線名,道路種別,起点,終点,実延長,幅員,認定年月日,備考,,\r\n")
    );
    assert!(text.ends_with(",,\r\n\r\n"), "trailing blank line");
    let rows = parse_csv(&text);
    let body: Vec<&Vec<String>> = rows[1..].iter().filter(|r| r.len() > 1).collect();
    assert_eq!(body.len(), 40);
    for r in &body {
        assert_eq!(r.len(), 11);
        assert!(r[9].is_empty() && r[10].is_empty());
        assert!(["1級", "2級", "その他"].contains(&r[2].as_str()));
        assert!(r[3].starts_with("サンプル市") && r[3].ends_with('番'));
    }
    let numbers: BTreeSet<&str> = body.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(numbers.len(), 40);
    assert!(body.iter().filter(|r| r[7].contains('年')).count() >= 4);
    assert!(body
        .iter()
        .any(|r| r[7].chars().any(|c| ('０'..='９').contains(&c))));
    assert!(body.iter().any(|r| r[8].contains(',')));
    assert!(body.iter().any(|r| r[8].contains('\n')));

    let lines = json(dir, files::ROADS_LINES);
    let feats = lines["features"].as_array().expect("features");
    assert_eq!(feats.len(), 40);
    let mut off = 0;
    for f in feats {
        let no = f["properties"]["路線番号"].as_str().expect("number");
        let row = body.iter().find(|r| r[0] == no).expect("route in ledger");
        assert_eq!(f["properties"]["路線名"], row[1].as_str());
        let g = &f["geometry"];
        let parts: Vec<Value> = match g["type"].as_str() {
            Some("LineString") => vec![g["coordinates"].clone()],
            Some("MultiLineString") => g["coordinates"].as_array().expect("parts").clone(),
            other => panic!("{other:?}"),
        };
        let len: f64 = parts
            .iter()
            .map(|p| Geodesic.length(&LineString::from(ring(p))))
            .sum();
        let recorded: f64 = row[5].parse().expect("integer length");
        let ratio = recorded / len;
        if (ratio - 1.0).abs() > 0.02 {
            assert!(
                (ratio - 1.0).abs() > 0.07 && (ratio - 1.0).abs() < 0.13,
                "{no}: {ratio}"
            );
            off += 1;
        }
    }
    assert_eq!(off, 2, "exactly two routes disagree on purpose");
    assert!(feats
        .iter()
        .any(|f| f["geometry"]["type"] == "MultiLineString"));
}

/// Returns the 03 IDs and the 共通ID of each 指定避難所 (03 ID → 共通ID).
fn check_shelters(dir: &Path) -> (BTreeSet<String>, BTreeMap<String, String>) {
    let bytes = read(dir, files::SHELTERS_03);
    assert!(!bytes.starts_with(b"\xEF\xBB\xBF"), "no BOM");
    let text = cp932(&bytes);
    assert!(text.contains("\r\n") && !text.replace("\r\n", "").contains('\n'));
    let rows = parse_csv(&text);
    assert_eq!(rows[0], shelters::HEADER_03.map(String::from).to_vec());
    assert_eq!(rows[0].len(), 39);
    let body = &rows[1..];
    assert!((55..=65).contains(&body.len()), "{}", body.len());

    // Flood polygons (lon/lat) from the file, to check the flags against.
    let flood: Vec<Polygon> = json(dir, files::FLOOD)["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| polygon(&f["geometry"]["coordinates"]))
        .collect();
    let tsunami: Vec<Polygon> = json(dir, files::TSUNAMI)["features"]
        .as_array()
        .expect("features")
        .iter()
        .map(|f| polygon(&f["geometry"]["coordinates"]))
        .collect();
    let col = |name: &str| rows[0].iter().position(|h| h == name).expect("column");
    let mut ids = BTreeSet::new();
    let mut dup = BTreeSet::new();
    let mut flooded = 0;
    let mut flood_flagged = 0;
    for r in body {
        assert_eq!(r.len(), 39);
        assert_eq!(r[0], CITY_CODE);
        assert!(r[1].starts_with("339997-") && r[1].len() == 11);
        assert!(ids.insert(r[1].clone()), "unique ID");
        assert!(
            r[3].chars().all(|c| ('\u{30A0}'..='\u{30FF}').contains(&c)),
            "{}",
            r[3]
        );
        assert!(r[4].is_ascii());
        assert!(r[7].starts_with("岡山県サンプル市"));
        assert_eq!(r[col("市区町村コード")], CITY_CODE);
        let lat: f64 = r[13].parse().expect("lat");
        let lon: f64 = r[14].parse().expect("lon");
        assert_eq!(r[13].split('.').nth(1).map(str::len), Some(6));
        assert!((34.55..34.67).contains(&lat) && (133.85..133.99).contains(&lon));
        for c in 24..=32 {
            assert!(r[c].is_empty() || r[c] == "1", "flag {}", rows[0][c]);
        }
        let cap: u32 = r[33].parse().expect("capacity");
        assert!((50..=1500).contains(&cap));
        let p = Point::new(lon, lat);
        if flood.iter().any(|f| f.contains(&p)) {
            flooded += 1;
            assert!(r[24].is_empty(), "{} lies in a flood zone", r[2]);
        }
        if r[24] == "1" {
            flood_flagged += 1;
        }
        if tsunami.iter().any(|f| f.contains(&p)) {
            assert!(r[28].is_empty(), "{} lies in a tsunami zone", r[2]);
        }
        if r[32] == "1" {
            dup.insert(r[1].clone());
        }
    }
    assert!(
        flooded >= 3 && flood_flagged >= 10,
        "{flooded} {flood_flagged}"
    );
    assert!(dup.len() >= 10);

    let gsi = utf8_bom(&read(dir, files::SHELTERS_GSI));
    let grows = parse_csv(&gsi);
    assert_eq!(
        grows[0].join(","),
        "NO,共通ID,施設・場所名,住所,指定緊急避難場所との住所同一,その他市町村長が必要と認める事項,受入対象者,緯度,経度,備考"
    );
    assert_eq!(grows.len() - 1, dup.len());
    let mut common = BTreeMap::new();
    let mut welfare = 0;
    for g in &grows[1..] {
        let cid = &g[1];
        assert_eq!(cid.len(), 14);
        assert!(cid.starts_with("E33999") && cid.ends_with('1'));
        assert_eq!(&cid[11..12], "1");
        if &cid[12..13] == "2" {
            welfare += 1;
        }
        // Matching 03 row by name and address.
        let r = body
            .iter()
            .find(|r| r[2] == g[2] && r[7] == g[3])
            .expect("03 row");
        let serial: u32 = cid[6..11].parse().expect("serial");
        assert_eq!(
            Ok(serial),
            r[1][7..].parse::<u32>(),
            "facility serial = 03 serial"
        );
        common.insert(r[1].clone(), cid.clone());
    }
    assert_eq!(welfare, 1);
    (ids, common)
}

fn check_stockpile(dir: &Path, ids: &BTreeSet<String>, common: &BTreeMap<String, String>) {
    let bytes = read(dir, files::STOCKPILE);
    let text = utf8_bom(&bytes);
    assert!(text.ends_with("\r\n"));
    let rows = parse_csv(&text);
    assert_eq!(rows[0], shelters::STOCK_HEADER.map(String::from).to_vec());
    let body = &rows[1..];
    assert!((1300..=1800).contains(&body.len()), "{} rows", body.len());
    let mut row_ids = BTreeSet::new();
    let mut per: BTreeMap<&str, usize> = BTreeMap::new();
    let mut stores = 0;
    let iso = |s: &str| s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-';
    for r in body {
        assert_eq!(r.len(), 14);
        assert_eq!(r[0], CITY_CODE);
        assert!(row_ids.insert(r[1].clone()));
        assert!(ids.contains(&r[3]), "unknown shelter {}", r[3]);
        match common.get(&r[3]) {
            Some(c) => assert_eq!(&r[2], c),
            None => assert!(r[2].is_empty()),
        }
        assert!(["避難所", "備蓄倉庫"].contains(&r[5].as_str()));
        if r[5] == "備蓄倉庫" {
            stores += 1;
        }
        assert!([
            "食料",
            "飲料水",
            "生活必需品",
            "衛生用品",
            "資機材",
            "医薬品"
        ]
        .contains(&r[6].as_str()));
        let q: i64 = r[9].parse().expect("integer quantity");
        assert!(q >= 1);
        if r[6] == "食料" || r[6] == "飲料水" {
            assert!(iso(&r[11]), "expiry {}", r[11]);
        }
        if r[6] == "資機材" && r[7] != "カセットボンベ" {
            assert!(r[11].is_empty());
        }
        assert!(iso(&r[12]));
        *per.entry(r[3].as_str()).or_default() += 1;
    }
    assert!(stores > 0);
    assert_eq!(per.len(), ids.len(), "every shelter has stock");
}

#[test]
fn output_is_deterministic_and_scale_streams_n_features() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    let opts = SampleOptions {
        scale: 1000,
        progress: false,
    };
    let ma = generate(a.path(), &opts).expect("generate");
    generate(b.path(), &opts).expect("generate");
    let (last_id, last_files) = ma.files.last().expect("entries");
    assert_eq!(last_id, "flood");
    assert_eq!(ma.files.len(), 10);
    assert!(last_files[0].ends_with("flood_scale_1000.geojson"));
    let mut names: Vec<_> = std::fs::read_dir(a.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    names.sort();
    assert!(names.len() >= 12);
    for n in &names {
        let x = std::fs::read(a.path().join(n)).expect("read");
        let y = std::fs::read(b.path().join(n)).expect("read");
        assert!(x == y, "{n:?} differs between runs");
    }

    let v: Value =
        serde_json::from_slice(&std::fs::read(&last_files[0]).expect("read")).expect("JSON");
    let feats = v["features"].as_array().expect("features");
    assert_eq!(feats.len(), 1000);
    let mut ranks = [BTreeSet::new(), BTreeSet::new()];
    let mut holes = 0;
    for f in feats {
        check_polygon_feature(f);
        let ext = f["geometry"]["coordinates"][0]
            .as_array()
            .expect("ring")
            .len();
        assert!((21..=61).contains(&ext), "{ext} vertices");
        if f["geometry"]["coordinates"]
            .as_array()
            .expect("rings")
            .len()
            > 1
        {
            holes += 1;
        }
        let p = &f["properties"];
        let (s, r) = match p.get("A31a_105") {
            Some(r) => (0, r),
            None => (1, &p["A31a_205"]),
        };
        assert_eq!(p.as_object().expect("props").len(), 5);
        ranks[s].insert(r.as_i64().expect("rank"));
        let c = &f["geometry"]["coordinates"][0][0];
        let (lon, lat) = (c[0].as_f64().expect("lon"), c[1].as_f64().expect("lat"));
        assert!((133.3..=134.4).contains(&lon) && (34.4..=35.3).contains(&lat));
    }
    assert!(holes > 50);
    assert_eq!(ranks[0], (1..=6).collect());
    assert_eq!(ranks[1], (1..=6).collect());
}

#[test]
fn scale_writer_handles_tiny_counts() {
    let t = tempfile::tempdir().expect("tempdir");
    for n in [1usize, 7] {
        let p = t.path().join(format!("s{n}.geojson"));
        scale::write(&p, n, false, 1).expect("write");
        let v: Value = serde_json::from_slice(&std::fs::read(&p).expect("read")).expect("JSON");
        assert_eq!(v["features"].as_array().expect("features").len(), n);
    }
}
