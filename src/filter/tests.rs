use super::*;
use crate::dataset::{DatasetId, HAZARD_COLUMNS};
use geo::{Polygon, Rect};
use std::sync::Arc;

/// Hazard features: a grid of unit squares at (i, 0) with depth_rank = i % 7 (0 → NULL),
/// river_name alternating, scenario NULL for every third.
fn layer() -> Layer {
    let n = HAZARD_COLUMNS.len();
    let col = |name: &str| HAZARD_COLUMNS.iter().position(|c| c.name == name).unwrap();
    let feats = (0..20)
        .map(|i| {
            let mut v = vec![Val::Null; n];
            v[col("depth_rank")] = if i % 7 == 0 {
                Val::Null
            } else {
                Val::Int(i % 7)
            };
            v[col("river_name")] = Val::text(if i % 2 == 0 { "Asahi川" } else { "YOSHII川" });
            v[col("scenario")] = if i % 3 == 0 {
                Val::Null
            } else {
                Val::text("L2")
            };
            v[col("depth_min_m")] = Val::Float(i as f64 / 2.0);
            v[col("designated")] = if i % 4 == 0 {
                Val::Null
            } else {
                Val::Bool(i % 2 == 0)
            };
            let p: Polygon<f64> = Rect::new((i as f64, 0.0), (i as f64 + 0.9, 0.9)).to_polygon();
            Feature {
                fid: i + 1,
                values: Arc::from(v),
                geom: Some(Geometry::Polygon(p)),
                bbox: Some([i as f64, 0.0, i as f64 + 0.9, 0.9]),
                label: None,
            }
        })
        .collect();
    Layer::from_features(DatasetId::Flood, 1, feats)
}

fn q() -> Queryables<'static> {
    Queryables {
        columns: HAZARD_COLUMNS,
        geometry: true,
    }
}

fn fids(l: &Layer, text: &str) -> Vec<i64> {
    let f =
        compile(text, Lang::Text, FilterCrs::CRS84, q()).unwrap_or_else(|e| panic!("{text}: {e}"));
    f.select(l, None)
        .into_iter()
        .map(|i| l.features[i as usize].fid)
        .collect()
}

/// The same selection by a plain Rust predicate over the fixture, as the oracle.
fn oracle(l: &Layer, p: impl Fn(i64) -> bool) -> Vec<i64> {
    l.features
        .iter()
        .map(|f| f.fid)
        .filter(|&fid| p(fid - 1))
        .collect()
}

#[test]
fn comparisons_follow_sql_null_semantics() {
    let l = layer();
    assert_eq!(fids(&l, "depth_rank >= 4"), oracle(&l, |i| i % 7 >= 4));
    // NULL is neither < 4 nor >= 4, and NOT of unknown stays unknown.
    assert_eq!(
        fids(&l, "NOT depth_rank >= 4"),
        oracle(&l, |i| i % 7 != 0 && i % 7 < 4)
    );
    assert_eq!(fids(&l, "depth_rank IS NULL"), oracle(&l, |i| i % 7 == 0));
    assert_eq!(
        fids(&l, "depth_rank IS NOT NULL OR scenario IS NULL"),
        oracle(&l, |i| i % 7 != 0 || i % 3 == 0)
    );
    assert_eq!(
        fids(&l, "depth_rank <> 3"),
        oracle(&l, |i| i % 7 != 0 && i % 7 != 3)
    );
    // A boolean flag that is unknown is never read as false.
    assert_eq!(
        fids(&l, "designated = false"),
        oracle(&l, |i| i % 4 != 0 && i % 2 == 1)
    );
    assert_eq!(
        fids(&l, "depth_min_m < 2.5 AND TRUE"),
        oracle(&l, |i| (i as f64) / 2.0 < 2.5)
    );
    assert_eq!(
        fids(&l, "FALSE OR depth_rank = 1"),
        oracle(&l, |i| i % 7 == 1)
    );
}

#[test]
fn advanced_comparison_and_casei() {
    let l = layer();
    assert_eq!(
        fids(&l, "depth_rank BETWEEN 2 AND 4"),
        oracle(&l, |i| (2..=4).contains(&(i % 7)))
    );
    assert_eq!(
        fids(&l, "depth_rank NOT BETWEEN 2 AND 4"),
        oracle(&l, |i| i % 7 != 0 && !(2..=4).contains(&(i % 7)))
    );
    assert_eq!(
        fids(&l, "depth_rank IN (1, 6)"),
        oracle(&l, |i| i % 7 == 1 || i % 7 == 6)
    );
    assert_eq!(
        fids(&l, "depth_rank NOT IN (1, 6)"),
        oracle(&l, |i| i % 7 != 0 && i % 7 != 1 && i % 7 != 6)
    );
    assert_eq!(
        fids(&l, "river_name LIKE 'Asa%'"),
        oracle(&l, |i| i % 2 == 0)
    );
    assert_eq!(fids(&l, "river_name LIKE 'asa%'"), Vec::<i64>::new());
    assert_eq!(
        fids(&l, "CASEI(river_name) LIKE CASEI('asa%')"),
        oracle(&l, |i| i % 2 == 0)
    );
    assert_eq!(
        fids(&l, "CASEI(river_name) = CASEI('yoshii川')"),
        oracle(&l, |i| i % 2 == 1)
    );
    assert_eq!(
        fids(&l, "river_name NOT LIKE '_OSHII%'"),
        oracle(&l, |i| i % 2 == 0)
    );
    assert_eq!(fids(&l, "river_name LIKE '%川'"), oracle(&l, |_| true));
}

#[test]
fn like_matcher() {
    let m = |s: &str, p: &str| like(s, &like_pattern(p, false));
    assert!(m("abc", "a%c") && m("abc", "%") && m("", "%") && m("a%c", r"a\%c"));
    assert!(!m("abc", r"a\%c") && !m("abc", "a_") && m("abc", "a__") && m("aaab", "%a%b"));
    assert!(!m("ab", "%a%c%") && m("xaxbxc", "%a%b%c"));
}

#[test]
fn property_property() {
    let l = layer();
    // depth_min_m = i/2, depth_rank = i%7.
    assert_eq!(
        fids(&l, "depth_min_m > depth_rank"),
        oracle(&l, |i| i % 7 != 0 && (i as f64) / 2.0 > (i % 7) as f64)
    );
}

#[test]
fn spatial_uses_the_tree_and_exact_geometry() {
    let l = layer();
    let f = compile(
        "depth_rank >= 1 AND S_INTERSECTS(geometry, POLYGON((2.95 0.5, 5.5 0.5, 5.5 0.6, 2.95 0.5)))",
        Lang::Text,
        FilterCrs::CRS84,
        q(),
    )
    .unwrap();
    let env = f.envelope().unwrap();
    assert_eq!(env, [2.95, 0.5, 5.5, 0.6]);
    let got: Vec<i64> = f
        .select(&l, None)
        .into_iter()
        .map(|i| l.features[i as usize].fid)
        .collect();
    // The thin triangle touches squares 2 (its x≤2.9 misses), 3, 4, 5 (x from 5 to 5.5).
    assert_eq!(got, vec![4, 5, 6]);
    assert_eq!(fids(&l, "S_INTERSECTS(geometry, POINT(7.5 0.5))"), vec![8]);
    assert_eq!(
        fids(&l, "S_INTERSECTS(geometry, POINT(7.95 0.5))"),
        Vec::<i64>::new()
    );
    assert_eq!(
        fids(&l, "S_INTERSECTS(geometry, BBOX(0.95, 0, 2.95, 1))"),
        vec![2, 3]
    );
    assert_eq!(
        fids(&l, "S_INTERSECTS(geometry, LINESTRING(9.5 -1, 9.5 2))"),
        vec![10]
    );
    assert_eq!(
        fids(
            &l,
            "S_INTERSECTS(geometry, MULTIPOINT((1.5 0.5), (11.5 0.5)))"
        ),
        vec![2, 12]
    );
    // An OR of two boxes still prefilters by their union; NOT does not.
    let f = compile(
        "S_INTERSECTS(geometry, POINT(1.5 0.5)) OR S_INTERSECTS(geometry, POINT(3.5 0.5))",
        Lang::Text,
        FilterCrs::CRS84,
        q(),
    )
    .unwrap();
    assert_eq!(f.envelope(), Some([1.5, 0.5, 3.5, 0.5]));
    let f = compile(
        "NOT S_INTERSECTS(geometry, POINT(1.5 0.5))",
        Lang::Text,
        FilterCrs::CRS84,
        q(),
    )
    .unwrap();
    assert_eq!(f.envelope(), None);
    assert_eq!(f.select(&l, None).len(), 19);
}

#[test]
fn json_and_text_agree() {
    let l = layer();
    let pairs = [
        (
            "depth_rank >= 4",
            r#"{"op":">=","args":[{"property":"depth_rank"},4]}"#,
        ),
        (
            "CASEI(river_name) LIKE 'asa%' AND scenario IS NULL",
            r#"{"op":"and","args":[{"op":"like","args":[{"op":"casei","args":[{"property":"river_name"}]},{"op":"casei","args":["asa%"]}]},{"op":"isNull","args":[{"property":"scenario"}]}]}"#,
        ),
        (
            "S_INTERSECTS(geometry, BBOX(0.95, 0, 2.95, 1))",
            r#"{"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[0.95,0,2.95,1]}]}"#,
        ),
    ];
    for (t, j) in pairs {
        let a = fids(&l, t);
        let f = compile(j, Lang::Json, FilterCrs::CRS84, q()).unwrap();
        let b: Vec<i64> = f
            .select(&l, None)
            .into_iter()
            .map(|i| l.features[i as usize].fid)
            .collect();
        assert_eq!(a, b, "{t}");
        assert!(!a.is_empty(), "{t}");
    }
}

#[test]
fn binding_errors_say_where_and_what() {
    let e = |t: &str| {
        compile(t, Lang::Text, FilterCrs::CRS84, q())
            .unwrap_err()
            .to_string()
    };
    let m = e("depth_rank >= 4 AND nope = 1");
    assert!(
        m.contains("character 21") && m.contains("\"nope\"") && m.contains("depth_rank"),
        "{m}"
    );
    let m = e("depth_rank = 'four'");
    assert!(
        m.contains("character 14") && m.contains("number") && m.contains("string"),
        "{m}"
    );
    let m = e("CASEI(depth_rank) = 'x'");
    assert!(m.contains("CASEI takes a string"), "{m}");
    let m = e("S_INTERSECTS(river_name, POINT(1 2))");
    assert!(m.contains("S_INTERSECTS takes geometries"), "{m}");
    let m = e("depth_rank LIKE '1%'");
    assert!(m.contains("LIKE needs a string"), "{m}");
    let m = e("river_name = DATE('2020-13-01')");
    assert!(m.contains("not a date"), "{m}");
    let m = e("geometry = 1");
    assert!(m.contains("geometry can only be"), "{m}");
    let big = format!("depth_rank IN ({})", vec!["1"; 1200].join(","));
    assert!(matches!(
        compile(&big, Lang::Text, FilterCrs::CRS84, q()),
        Err(FilterError::TooComplex(_))
    ));
    let long = format!("river_name = '{}'", "x".repeat(MAX_FILTER_BYTES));
    assert!(matches!(
        compile(&long, Lang::Text, FilterCrs::CRS84, q()),
        Err(FilterError::TooLong(_))
    ));
    // A collection without geometry has no geometry queryable.
    let e2 = compile(
        "S_INTERSECTS(geometry, POINT(1 2))",
        Lang::Text,
        FilterCrs::CRS84,
        Queryables {
            columns: HAZARD_COLUMNS,
            geometry: false,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e2.contains("unknown property \"geometry\""), "{e2}");
}

#[test]
fn filter_crs_axis_order_and_projection() {
    let l = layer();
    // EPSG:4326 is lat/lon: POINT(0.5 7.5) is lon 7.5, lat 0.5.
    let f = compile(
        "S_INTERSECTS(geometry, POINT(0.5 7.5))",
        Lang::Text,
        FilterCrs::parse("http://www.opengis.net/def/crs/EPSG/0/4326").unwrap(),
        q(),
    )
    .unwrap();
    assert_eq!(f.select(&l, None), vec![7]);
    assert_eq!(
        FilterCrs::parse("http://www.opengis.net/def/crs/OGC/1.3/CRS84").unwrap(),
        FilterCrs::CRS84
    );
    assert!(FilterCrs::parse("http://www.opengis.net/def/crs/EPSG/0/2451").is_err());
    // Zone V (EPSG:6673) origin (36°N, 134°20'E) is (0, 0) in metres, northing first.
    let z5 = FilterCrs::parse("EPSG:6673").unwrap();
    let mut g = Geometry::Point(geo::Point::new(0.0, 1000.0));
    z5.to_lonlat(&mut g, "here").unwrap();
    let Geometry::Point(p) = g else { panic!() };
    assert!(
        (p.y() - 36.0).abs() < 1e-3 && p.x() > 134.0 + 20.0 / 60.0,
        "{p:?}"
    );
}

#[test]
fn sortby_is_stable_with_nulls_last() {
    let l = layer();
    let keys = parse_sortby("-depth_rank, +depth_min_m", q()).unwrap();
    let mut idx: Vec<u32> = (0..l.features.len() as u32).collect();
    sort(&l, &mut idx, &keys);
    let ranks: Vec<Option<i64>> = idx
        .iter()
        .map(|&i| match l.features[i as usize].values[2] {
            Val::Int(n) => Some(n),
            _ => None,
        })
        .collect();
    let mut want = ranks.clone();
    want.sort_by(|a, b| match (a, b) {
        (None, None) => Ordering::Equal,
        (None, _) => Ordering::Greater,
        (_, None) => Ordering::Less,
        (Some(x), Some(y)) => y.cmp(x),
    });
    assert_eq!(ranks, want);
    assert!(ranks.last().unwrap().is_none());
    // Ties by the second key (ascending depth_min_m = ascending fid here).
    let first_six: Vec<i64> = idx
        .iter()
        .take(3)
        .map(|&i| l.features[i as usize].fid)
        .collect();
    assert_eq!(first_six, vec![7, 14, 6]);
    // '+' decoded as a space is ascending.
    assert!(!parse_sortby(" river_name", q()).unwrap()[0].descending);
    assert!(parse_sortby("nope", q()).is_err());
    assert!(parse_sortby("a,,b", q()).is_err());
}

#[test]
fn properties_selection() {
    assert_eq!(
        parse_properties("river_name,depth_rank", q()).unwrap(),
        vec![10, 2]
    );
    assert!(parse_properties("river_name,nope", q())
        .unwrap_err()
        .to_string()
        .contains("nope"));
    assert!(parse_properties("", q()).unwrap().is_empty());
}

#[test]
fn dates_compare_as_dates() {
    use crate::dataset::ROAD_COLUMNS;
    let i = ROAD_COLUMNS
        .iter()
        .position(|c| c.name == "certified_on")
        .unwrap();
    let feats: Vec<Feature> = ["1998-04-01", "2005-12-31", ""]
        .iter()
        .enumerate()
        .map(|(n, d)| {
            let mut v = vec![Val::Null; ROAD_COLUMNS.len()];
            v[i] = Val::text(*d);
            Feature {
                fid: n as i64 + 1,
                values: Arc::from(v),
                geom: None,
                bbox: None,
                label: None,
            }
        })
        .collect();
    let l = Layer::from_features(DatasetId::Roads, 1, feats);
    let q = Queryables {
        columns: ROAD_COLUMNS,
        geometry: true,
    };
    let run = |t: &str| {
        compile(t, Lang::Text, FilterCrs::CRS84, q)
            .unwrap_or_else(|e| panic!("{t}: {e}"))
            .select(&l, None)
    };
    assert_eq!(run("certified_on >= DATE('2000-01-01')"), vec![1]);
    assert_eq!(
        run("certified_on < DATE('2000-01-01') OR certified_on IS NULL"),
        vec![0, 2]
    );
    // A string is not a date: the clerk-visible answer says how to write one.
    let e = compile(
        "certified_on >= '2000-01-01'",
        Lang::Text,
        FilterCrs::CRS84,
        q,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("DATE('YYYY-MM-DD')"), "{e}");
    let e = compile(
        "certified_on = TIMESTAMP('2000-01-01T00:00:00Z')",
        Lang::Text,
        FilterCrs::CRS84,
        q,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("cannot compare a date with a timestamp"), "{e}");
}
