use super::*;
use crate::crs::{Crs, Transformer};
use crate::read::Format;
use crate::report::Loc;
use geo::{wkt, Geometry};

#[test]
fn bands() {
    assert_eq!(parse_band("0.3m以上1.0m未満"), Some((0.3, Some(1.0))));
    assert_eq!(
        parse_band("１．０ｍ以上２．０ｍ未満"),
        Some((1.0, Some(2.0)))
    );
    assert_eq!(parse_band("10.0m以上"), Some((10.0, None)));
    assert_eq!(parse_band("0.5m未満"), Some((0.0, Some(0.5))));
    assert_eq!(parse_band("0.01m以上0.3m未満"), Some((0.01, Some(0.3))));
    assert_eq!(parse_band("1m以上2m未満"), Some((1.0, Some(2.0))));
    assert_eq!(parse_band("1.0～2.0m"), Some((1.0, Some(2.0))));
    assert_eq!(parse_band("深い"), None);
    assert_eq!(parse_band("3m以上1m未満"), None);
    assert_eq!(band_label(0.5, Some(3.0)), "0.5m以上3m未満");
    assert_eq!(band_label(0.0, Some(0.3)), "0.3m未満");
    assert_eq!(band_label(20.0, None), "20m以上");
}

fn run(d: DatasetId, props: &[(&str, &str)]) -> (Vec<Row>, Report) {
    let src = SourceInfo {
        file: "h.geojson".into(),
        format: Format::GeoJson,
        fields: vec![],
        transformer: Transformer::new(Crs::from_epsg(6668).unwrap()).unwrap(),
    };
    let f = RawFeature {
        loc: Loc::Feature(7),
        props: props
            .iter()
            .map(|(k, v)| (k.to_string(), Some(v.to_string())))
            .collect(),
        geometry: Some(Geometry::from(
            wkt!(POLYGON((133.9 34.6,133.91 34.6,133.91 34.61,133.9 34.6))),
        )),
        derived: 0,
    };
    let mut h = Hazards::new(d);
    let mut report = Report::new("h.geojson");
    let mut rows = vec![];
    h.feature(&src, f, &mut report, &mut |r| rows.push(r));
    (rows, report)
}

#[test]
fn a31a_both_scenarios() {
    let (rows, _) = run(
        DatasetId::Flood,
        &[
            ("A31a_201", "8806010001"),
            ("A31a_202", "サンプル川"),
            ("A31a_205", "2"),
        ],
    );
    let v = &rows[0].values;
    assert_eq!(v[1], Val::Text(SCENARIO_MAX.into()));
    assert_eq!(v[2], Val::Int(2));
    assert_eq!(
        (v[3].clone(), v[4].clone()),
        (Val::Float(0.5), Val::Float(3.0))
    );
    assert_eq!(v[10], Val::Text("サンプル川".into()));
    let (rows, _) = run(DatasetId::Flood, &[("A31a_105", "6")]);
    assert_eq!(rows[0].values[1], Val::Text(SCENARIO_PLAN.into()));
    assert_eq!(rows[0].values[4], Val::Null);
    let (rows, report) = run(DatasetId::Flood, &[("A31a_105", "9")]);
    assert!(rows.is_empty());
    assert_eq!(
        report
            .issues
            .iter()
            .find(|i| i.code == "VALUE_INVALID_CODE")
            .unwrap()
            .column
            .as_deref(),
        Some("A31a_105")
    );
}

#[test]
fn a31a_duration_and_collapse_families() {
    // 30 浸水継続時間.
    let (rows, report) = run(
        DatasetId::Flood,
        &[
            ("A31a_301", "8806010001"),
            ("A31a_302", "サンプル川"),
            ("A31a_305", "4"),
        ],
    );
    assert!(!report.rejected(), "{}", report.render_text());
    let v = &rows[0].values;
    assert_eq!(v[13], Val::Text(FAMILY_DURATION.into()));
    assert_eq!(v[14], Val::Int(4));
    assert_eq!(
        (v[1].clone(), v[2].clone(), v[3].clone()),
        (Val::Null, Val::Null, Val::Null)
    );
    assert_eq!(v[10], Val::Text("サンプル川".into()));
    // An unknown class: kept, NULL, warned with column and value.
    let (rows, report) = run(DatasetId::Flood, &[("A31a_305", "9")]);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].values[14], Val::Null);
    let w = report
        .issues
        .iter()
        .find(|i| i.code == "VALUE_UNREAD_KEPT")
        .unwrap();
    assert_eq!(
        (w.column.as_deref(), w.value.as_deref()),
        (Some("A31a_305"), Some("9"))
    );
    // 41 / 42 家屋倒壊等氾濫想定区域.
    for (code, want) in [
        ("1", Val::Int(1)),
        ("2", Val::Int(2)),
        ("3", Val::Int(3)),
        ("7", Val::Null),
    ] {
        let (rows, report) = run(
            DatasetId::Flood,
            &[("A31a_402", "サンプル川"), ("A31a_405", code)],
        );
        assert_eq!(rows.len(), 1, "{code}");
        assert_eq!(rows[0].values[13], Val::Text(FAMILY_COLLAPSE.into()));
        assert_eq!(rows[0].values[15], want, "{code}");
        assert_eq!(
            report.count(code::VALUE_UNREAD_KEPT),
            u64::from(code == "7")
        );
    }
    // Inland flooding takes the same families.
    let (rows, _) = run(DatasetId::InlandFlood, &[("A31a_305", "2")]);
    assert_eq!(rows[0].values[14], Val::Int(2));
    // The depth families say so.
    let (rows, _) = run(DatasetId::Flood, &[("A31a_205", "2")]);
    assert_eq!(rows[0].values[13], Val::Text(FAMILY_DEPTH.into()));
    // Old A31 第2–3版 groups, with the code in _x01.
    let (rows, _) = run(DatasetId::Flood, &[("A31_301", "5"), ("A31_302", "X川")]);
    assert_eq!(
        (rows[0].values[13].clone(), rows[0].values[14].clone()),
        (Val::Text(FAMILY_DURATION.into()), Val::Int(5))
    );
    assert_eq!(rows[0].values[9], Val::Null);
    let (rows, _) = run(
        DatasetId::Flood,
        &[("A31_401", "9900000001"), ("A31_405", "2")],
    );
    assert_eq!(rows[0].values[15], Val::Int(2));
    assert_eq!(rows[0].values[9], Val::Text("9900000001".into()));
}

#[test]
fn collapse_type_from_the_file_name_only_when_the_record_is_silent() {
    assert_eq!(collapse_of_file_name("A31a-41-23_5339.geojson"), Some(1));
    assert_eq!(collapse_of_file_name("A31a_42_33.shp"), Some(2));
    assert_eq!(collapse_of_file_name("A31a_41_42.shp"), None);
    assert_eq!(collapse_of_file_name("flood241.geojson"), None);
}

#[test]
fn generic_duration_and_collapse_columns() {
    for (text, class) in [
        ("3", Some(3)),
        ("12時間未満", Some(1)),
        ("１２時間以上２４時間未満", Some(2)),
        ("1日～3日", Some(3)),
        ("3日以上1週間未満", Some(4)),
        ("1週間以上2週間未満", Some(5)),
        ("4週間以上", Some(7)),
        ("2日以上5日未満", None),
        ("長い", None),
        ("8", None),
    ] {
        assert_eq!(parse_duration(text), class, "{text}");
    }
    assert_eq!(parse_collapse("氾濫流"), CollapseValue::Type(1));
    assert_eq!(parse_collapse("河岸侵食"), CollapseValue::Type(2));
    assert_eq!(parse_collapse("氾濫流・河岸侵食"), CollapseValue::Type(3));
    assert_eq!(parse_collapse("なし"), CollapseValue::No);
    assert_eq!(parse_collapse("0"), CollapseValue::No);
    assert_eq!(parse_collapse("倒壊"), CollapseValue::Unreadable);
    // A duration-only file: family duration, no depth warning.
    let (rows, report) = run(
        DatasetId::Flood,
        &[("浸水継続時間", "1日～3日"), ("河川名", "東川")],
    );
    assert_eq!(rows[0].values[13], Val::Text(FAMILY_DURATION.into()));
    assert_eq!(rows[0].values[14], Val::Int(3));
    assert_eq!(
        report.count(code::DEPTH_UNKNOWN),
        0,
        "{}",
        report.render_text()
    );
    // A collapse-only file.
    let (rows, _) = run(DatasetId::Flood, &[("家屋倒壊等氾濫想定区域", "河岸侵食")]);
    assert_eq!(
        (rows[0].values[13].clone(), rows[0].values[15].clone()),
        (Val::Text(FAMILY_COLLAPSE.into()), Val::Int(2))
    );
    // An unreadable collapse value: a collapse zone of unknown type, warned.
    let (rows, report) = run(DatasetId::Flood, &[("collapse", "不明")]);
    assert_eq!(
        (rows[0].values[13].clone(), rows[0].values[15].clone()),
        (Val::Text(FAMILY_COLLAPSE.into()), Val::Null)
    );
    assert_eq!(report.count(code::VALUE_UNREAD_KEPT), 1);
    // Depth with duration and collapse in one row: a depth row carrying both.
    let (rows, _) = run(
        DatasetId::Flood,
        &[
            ("浸水深", "0.5m以上3.0m未満"),
            ("duration", "5"),
            ("collapse", "1"),
        ],
    );
    let v = &rows[0].values;
    assert_eq!(
        (v[13].clone(), v[14].clone(), v[15].clone()),
        (Val::Text(FAMILY_DEPTH.into()), Val::Int(5), Val::Int(1))
    );
    // A tsunami file is a depth file whatever its columns.
    let (rows, _) = run(DatasetId::Tsunami, &[("浸水深", "1m以上2m未満")]);
    assert_eq!(rows[0].values[13], Val::Text(FAMILY_DEPTH.into()));
    let (rows, _) = run(DatasetId::Landslide, &[("A33_001", "1"), ("A33_002", "1")]);
    assert_eq!(rows[0].values[13], Val::Null);
}

#[test]
fn a31_v2_rank_in_101() {
    let (rows, _) = run(DatasetId::Flood, &[("A31_101", "3"), ("A31_102", "X川")]);
    assert_eq!(rows[0].values[2], Val::Int(3));
}

#[test]
fn a33_and_wrong_dataset() {
    let (rows, _) = run(
        DatasetId::Landslide,
        &[("A33_001", "2"), ("A33_002", "4"), ("A33_005", "北山沢")],
    );
    let v = &rows[0].values;
    assert_eq!(
        (v[6].clone(), v[7].clone(), v[8].clone()),
        (Val::Int(2), Val::Int(4), Val::Bool(false))
    );
    let (rows, report) = run(DatasetId::Flood, &[("A33_001", "2"), ("A33_002", "1")]);
    assert!(rows.is_empty() && report.rejected());
    let (rows, report) = run(DatasetId::Landslide, &[("A33_001", "5"), ("A33_002", "1")]);
    assert!(rows.is_empty());
    assert_eq!(report.count(code::VALUE_INVALID_CODE), 1);
}

#[test]
fn a40_fullwidth_band_and_generic() {
    let (rows, report) = run(
        DatasetId::Tsunami,
        &[("A40_003", "５．０ｍ以上１０．０ｍ未満")],
    );
    assert_eq!(rows[0].values[5], Val::Text("5m以上10m未満".into()));
    assert_eq!(report.count(code::FULLWIDTH_NORMALIZED), 1);
    let (rows, report) = run(DatasetId::StormSurge, &[("A49_003", "とても深い")]);
    assert!(rows.is_empty());
    assert_eq!(report.count(code::DEPTH_BAND_UNPARSEABLE), 1);
    let (rows, _) = run(DatasetId::Flood, &[("depth_rank", "4"), ("scenario", "L2")]);
    assert_eq!(rows[0].values[1], Val::Text(SCENARIO_MAX.into()));
    let (rows, _) = run(
        DatasetId::StormSurge,
        &[("depth_min_m", "1"), ("depth_max_m", "2")],
    );
    assert_eq!(rows[0].values[5], Val::Text("1m以上2m未満".into()));
}

#[test]
fn japanese_text_bands_of_prefectural_files() {
    for (text, band) in [
        ("0.3m未満の区域", (0.0, Some(0.3))),
        ("0.3~0.5m未満の区域", (0.3, Some(0.5))),
        ("０．３～０．５ｍ未満の区域", (0.3, Some(0.5))),
        ("0.3〜0.5m未満の区域", (0.3, Some(0.5))),
        ("0.5~1.0m未満", (0.5, Some(1.0))),
        ("1.0~3.0m未満の区域", (1.0, Some(3.0))),
        ("3.0~5.0m", (3.0, Some(5.0))),
        ("５．０～１０．０ｍ", (5.0, Some(10.0))),
        ("10.0~20.0m", (10.0, Some(20.0))),
        ("20.0m以上", (20.0, None)),
        ("20.0ｍ以上の区域", (20.0, None)),
        ("0.5m以上3.0m未満（1階床上浸水）", (0.5, Some(3.0))),
        ("～0.3m", (0.0, Some(0.3))),
        ("20m～", (20.0, None)),
        ("0.5ー3.0メートル", (0.5, Some(3.0))),
    ] {
        assert_eq!(parse_band(text), Some(band), "{text}");
    }
    assert_eq!(parse_band("1階床上"), None);
    assert_eq!(parse_band("3"), None);
    // Detailed breaks of the national manual fall inside one rank; a band across a break
    // has none.
    assert_eq!(rank_of_band((0.0, Some(0.3))), Some(1));
    assert_eq!(rank_of_band((0.3, Some(0.5))), Some(1));
    assert_eq!(rank_of_band((0.5, Some(1.0))), Some(2));
    assert_eq!(rank_of_band((1.0, Some(3.0))), Some(2));
    assert_eq!(rank_of_band((3.0, Some(5.0))), Some(3));
    assert_eq!(rank_of_band((20.0, None)), Some(6));
    assert_eq!(rank_of_band((2.0, Some(5.0))), None);
    assert_eq!(rank_of_band((5.0, None)), None);
}

#[test]
fn generic_flood_text_band_gets_rank_and_label() {
    let (rows, report) = run(DatasetId::Flood, &[("浸水深", "1.0~3.0m未満の区域")]);
    assert!(!report.rejected(), "{}", report.render_text());
    let v = &rows[0].values;
    assert_eq!(v[2], Val::Int(2));
    assert_eq!(
        (v[3].clone(), v[4].clone()),
        (Val::Float(1.0), Val::Float(3.0))
    );
    assert_eq!(v[5], Val::Text("1m以上3m未満".into()));
    assert!(rows[0].raw.contains("1.0~3.0m未満の区域"));
    // Tsunami: no rank (ranks are the flood code list), band kept.
    let (rows, _) = run(DatasetId::Tsunami, &[("SHINSUI", "0.3~0.5m未満の区域")]);
    assert_eq!(rows[0].values[2], Val::Null);
    assert_eq!(rows[0].values[3], Val::Float(0.3));
}

#[test]
fn zones_without_depth_are_kept_as_depth_unknown() {
    let (rows, report) = run(DatasetId::Tsunami, &[("OBJECTID", "1")]);
    assert_eq!(rows.len(), 1, "{}", report.render_text());
    assert!(!report.rejected());
    assert_eq!(report.count(code::DEPTH_UNKNOWN), 1);
    for i in 2..=5 {
        assert_eq!(rows[0].values[i], Val::Null, "column {i}");
    }
    // An unreadable band is kept as unknown with a warning naming column and value.
    let (rows, report) = run(DatasetId::Flood, &[("浸水深", "深い")]);
    assert_eq!(rows.len(), 1);
    assert!(!report.rejected());
    let i = report
        .issues
        .iter()
        .find(|i| i.code == "VALUE_UNREAD_KEPT")
        .unwrap();
    assert_eq!(
        (i.column.as_deref(), i.value.as_deref()),
        (Some("浸水深"), Some("深い"))
    );
    assert_eq!(rows[0].values[3], Val::Null);
    // An upper bound that is not a number does not make an open-ended band.
    let (rows, report) = run(
        DatasetId::Flood,
        &[("depth_min_m", "0.5"), ("depth_max_m", "不明")],
    );
    assert_eq!(rows[0].values[3], Val::Null);
    assert_eq!(report.count(code::VALUE_UNREAD_KEPT), 1);
    // KSJ A40 with an empty band: a zone of unknown depth, not a refusal.
    let (rows, report) = run(DatasetId::Tsunami, &[("A40_003", "")]);
    assert_eq!(rows.len(), 1);
    assert_eq!(report.count(code::DEPTH_UNKNOWN), 1);
}

#[test]
fn prefectural_landslide_text_attributes() {
    for (kubun, gensho, zc, ph) in [
        ("警戒区域", "地滑り", 1, 3),
        ("特別警戒区域", "土石流", 2, 2),
        ("土砂災害警戒区域（指定前）", "急傾斜地の崩壊", 3, 1),
        ("特別警戒区域(指定前)", "地すべり", 4, 3),
        ("ｲｴﾛｰ", "がけ崩れ", 1, 1),
    ] {
        let (rows, report) = run(
            DatasetId::Landslide,
            &[
                ("kubun", kubun),
                ("genshoname", gensho),
                ("kokuji_date", "平成30年3月30日"),
            ],
        );
        assert!(!report.rejected(), "{}", report.render_text());
        let v = &rows[0].values;
        assert_eq!(
            (v[6].clone(), v[7].clone()),
            (Val::Int(ph), Val::Int(zc)),
            "{kubun} {gensho}"
        );
        assert_eq!(v[8], Val::Bool(zc <= 2));
        assert!(rows[0].raw.contains("平成30年3月30日"));
    }
    // Header case and width do not matter; an unknown value is kept as unknown.
    let (rows, report) = run(
        DatasetId::Landslide,
        &[("KUBUN", "その他"), ("GenshoName", "雪崩")],
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(report.count(code::VALUE_UNREAD_KEPT), 2);
    assert_eq!(rows[0].values[6], Val::Null);
    assert_eq!(rows[0].values[8], Val::Null);
    // No attribute at all: still a zone, said once.
    let (rows, report) = run(DatasetId::Landslide, &[("OBJECTID", "4")]);
    assert_eq!(rows.len(), 1);
    assert!(!report.rejected());
    assert_eq!(report.count(code::VALUE_UNREAD_KEPT), 2);
}
