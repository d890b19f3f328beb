//! Hazard zones: flood (KSJ A31a 第4.0版, A31 第2–3版, A31 第1.1版), landslide (A33), tsunami (A40),
//! storm surge (A49), and a generic form for each. All four share one schema, so one colour ramp
//! and one risk query serve them all. Raw attributes are kept in `raw`.

use super::{Cells, Normalizer, Out, Row};
use crate::dataset::{fmt_float, DatasetId, Val};
use crate::read::{RawFeature, SourceInfo};
use crate::report::{code, issue, Report};

/// 想定最大規模 (L2).
pub const SCENARIO_MAX: &str = "想定最大規模";
/// 計画規模 (L1).
pub const SCENARIO_PLAN: &str = "計画規模";

/// KSJ water_depth_code 1–6 → depth range in metres (upper bound exclusive, None = open).
pub fn depth_range(rank: i64) -> Option<(f64, Option<f64>)> {
    Some(match rank {
        1 => (0.0, Some(0.5)),
        2 => (0.5, Some(3.0)),
        3 => (3.0, Some(5.0)),
        4 => (5.0, Some(10.0)),
        5 => (10.0, Some(20.0)),
        6 => (20.0, None),
        _ => return None,
    })
}

/// A31 第1.1版 codes 11–15 and 21–27.
fn a31_v1_range(code: i64) -> Option<(f64, Option<f64>)> {
    Some(match code {
        11 | 21 => (0.0, Some(0.5)),
        12 | 22 => (0.5, Some(1.0)),
        13 | 23 => (1.0, Some(2.0)),
        14 => (2.0, Some(5.0)),
        15 | 27 => (5.0, None),
        24 => (2.0, Some(3.0)),
        25 => (3.0, Some(4.0)),
        26 => (4.0, Some(5.0)),
        _ => return None,
    })
}

/// Text label of a band, e.g. `0.5m以上3m未満`, `20m以上`.
pub fn band_label(min: f64, max: Option<f64>) -> String {
    match (min, max) {
        (m, Some(x)) if m <= 0.0 => format!("{}m未満", fmt_float(x)),
        (m, Some(x)) => format!("{}m以上{}m未満", fmt_float(m), fmt_float(x)),
        (m, None) => format!("{}m以上", fmt_float(m)),
    }
}

/// Parse a free-text depth band as prefectures write them (A40, A49): after NFKC,
/// `0.3m以上1.0m未満`, `5m以上`, `0.5m未満`, `1.0〜2.0m`, `0.01m以上0.3m未満`.
pub fn parse_band(s: &str) -> Option<(f64, Option<f64>)> {
    let (n, _) = crate::text::nfkc(s);
    let n = n.replace([' ', 'ｍ', 'M'], "m").replace("メートル", "m");
    let mut nums = Vec::new();
    let mut cur = String::new();
    for ch in n.chars().chain(std::iter::once(' ')) {
        if ch.is_ascii_digit() || (ch == '.' && !cur.is_empty()) {
            cur.push(ch);
        } else if !cur.is_empty() {
            nums.push(cur.parse::<f64>().ok()?);
            cur.clear();
        }
    }
    let ge = n.contains("以上") || n.contains("超");
    let lt = n.contains("未満") || n.contains("以下");
    let range = n.contains('~') || n.contains('〜') || n.contains('-') || n.contains('～');
    match (nums.as_slice(), ge, lt) {
        ([a, b], _, _) if (ge && lt) || range => (a < b).then_some((*a, Some(*b))),
        ([b], false, true) => Some((0.0, Some(*b))),
        ([a], true, false) => Some((*a, None)),
        _ => None,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    A31a,
    A31v2,
    A31v1,
    A33,
    A40,
    A49,
    Generic,
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Layout::A31a => "a31a",
            Layout::A31v2 => "a31_v2",
            Layout::A31v1 => "a31_v1",
            Layout::A33 => "a33",
            Layout::A40 => "a40",
            Layout::A49 => "a49",
            Layout::Generic => "generic",
        }
    }
    fn fits(self, d: DatasetId) -> bool {
        match self {
            Layout::A31a | Layout::A31v2 | Layout::A31v1 => d == DatasetId::Flood,
            Layout::A33 => d == DatasetId::Landslide,
            Layout::A40 => d == DatasetId::Tsunami,
            Layout::A49 => d == DatasetId::StormSurge,
            Layout::Generic => true,
        }
    }
}

const A31A_KEYS: [[&str; 5]; 2] = [
    ["A31a_101", "A31a_102", "A31a_103", "A31a_104", "A31a_105"],
    ["A31a_201", "A31a_202", "A31a_203", "A31a_204", "A31a_205"],
];
const A31_KEYS: [[&str; 5]; 2] = [
    ["A31_101", "A31_102", "A31_103", "A31_104", "A31_105"],
    ["A31_201", "A31_202", "A31_203", "A31_204", "A31_205"],
];
const RANK_KEYS: &[&str] = &["depth_rank", "rank", "浸水深ランク", "ランク"];
const BAND_KEYS: &[&str] = &["depth_band", "depth", "浸水深", "浸水深の区分", "区分"];
const MIN_KEYS: &[&str] = &["depth_min_m", "depth_min"];
const MAX_KEYS: &[&str] = &["depth_max_m", "depth_max"];
const SCEN_KEYS: &[&str] = &["scenario", "想定規模", "シナリオ"];
const PHEN_KEYS: &[&str] = &["phenomenon", "現象", "現象の種類"];
const ZONE_KEYS: &[&str] = &["zone_class", "区域区分"];

fn detect(f: &RawFeature) -> Layout {
    let has_prefix = |p: &str| f.props.iter().any(|(k, _)| k.starts_with(p));
    if has_prefix("A31a_1") || has_prefix("A31a_2") || has_prefix("A31a_3") || has_prefix("A31a_4")
    {
        Layout::A31a
    } else if f.has("A31_001") {
        Layout::A31v1
    } else if has_prefix("A31_") {
        Layout::A31v2
    } else if f.has("A33_001") {
        Layout::A33
    } else if f.has("A40_003") {
        Layout::A40
    } else if f.has("A49_003") {
        Layout::A49
    } else {
        Layout::Generic
    }
}

/// Normaliser for one hazard dataset. Streams: each feature becomes a row at once.
pub struct Hazards {
    dataset: DatasetId,
    reported: Option<Layout>,
    wrong_kind_reported: bool,
}

impl Hazards {
    /// Normaliser for `dataset` (flood, landslide, tsunami or storm_surge).
    pub fn new(dataset: DatasetId) -> Self {
        Hazards {
            dataset,
            reported: None,
            wrong_kind_reported: false,
        }
    }
}

struct Attrs {
    scenario: Option<String>,
    rank: Option<i64>,
    band: Option<(f64, Option<f64>)>,
    phenomenon: Option<i64>,
    zone_class: Option<i64>,
    river_code: Option<String>,
    river_name: Option<String>,
    zone_name: Option<String>,
}

impl Hazards {
    fn attrs(&self, layout: Layout, c: &mut Cells<'_>) -> Attrs {
        let mut a = Attrs {
            scenario: None,
            rank: None,
            band: None,
            phenomenon: None,
            zone_class: None,
            river_code: None,
            river_name: None,
            zone_name: None,
        };
        fn rank_in(c: &mut Cells<'_>, key: &'static str, a: &mut Attrs) {
            if let Some(r) = c.int(&[key]) {
                match depth_range(r) {
                    Some(b) => {
                        a.rank = Some(r);
                        a.band = Some(b);
                    }
                    None => c.report(
                        issue(code::VALUE_INVALID_CODE)
                            .column(key)
                            .value(r.to_string())
                            .expected("浸水深ランク1〜6", "water depth rank 1–6"),
                    ),
                }
            } else if c.find(&[key]).is_none() {
                c.report(issue(code::VALUE_REQUIRED).column(key));
            }
        }
        match layout {
            Layout::A31a | Layout::A31v2 => {
                let p = if layout == Layout::A31a {
                    "A31a_"
                } else {
                    "A31_"
                };
                let fam = ["1", "2", "3", "4"]
                    .into_iter()
                    .find(|d| {
                        c.f.props
                            .iter()
                            .any(|(k, _)| k.starts_with(&format!("{p}{d}")))
                    })
                    .unwrap_or("1");
                if fam == "3" || fam == "4" {
                    c.report(
                        issue(code::HEADER_UNRECOGNIZED)
                            .value(format!("{p}{fam}xx"))
                            .detail(
                                "浸水継続時間・家屋倒壊等氾濫想定区域は浸水深の区域ではありません",
                                "flood duration and house-collapse zones are not depth zones",
                            ),
                    );
                    return a;
                }
                a.scenario = Some(
                    if fam == "1" {
                        SCENARIO_PLAN
                    } else {
                        SCENARIO_MAX
                    }
                    .into(),
                );
                let table = match (layout, fam) {
                    (Layout::A31a, "1") => &A31A_KEYS[0],
                    (Layout::A31a, _) => &A31A_KEYS[1],
                    (_, "1") => &A31_KEYS[0],
                    _ => &A31_KEYS[1],
                };
                let k = |n: usize| -> &'static str { table[n - 1] };
                a.river_code = c.text(&[k(1)]);
                a.river_name = c.text(&[k(2)]);
                // Some A31 第2–3版 files carry the rank in _101 instead of _105: decide by value shape.
                let rank_key = if c.text(&[k(5)]).is_some() {
                    k(5)
                } else if c.text(&[k(1)]).is_some_and(|v| v.len() <= 2) {
                    a.river_code = None;
                    k(1)
                } else {
                    k(5)
                };
                rank_in(c, rank_key, &mut a);
            }
            Layout::A31v1 => {
                if let Some(v) = c.int(&["A31_001"]) {
                    match a31_v1_range(v) {
                        Some(b) => a.band = Some(b),
                        None => c.report(
                            issue(code::VALUE_INVALID_CODE)
                                .column("A31_001")
                                .value(v.to_string())
                                .expected("11〜15 または 21〜27", "11–15 or 21–27"),
                        ),
                    }
                }
            }
            Layout::A33 => {
                a.phenomenon = c.int(&["A33_001"]);
                a.zone_class = c.int(&["A33_002"]);
                a.zone_name = c.text(&["A33_005"]).or_else(|| c.text(&["A33_004"]));
            }
            Layout::A40 | Layout::A49 => {
                let key = if layout == Layout::A40 {
                    "A40_003"
                } else {
                    "A49_003"
                };
                self.band_from_text(c, &[key], &mut a);
            }
            Layout::Generic => {
                a.scenario = c.text(SCEN_KEYS).map(|s| normalize_scenario(&s));
                if self.dataset == DatasetId::Landslide {
                    a.phenomenon = c.int(PHEN_KEYS);
                    a.zone_class = c.int(ZONE_KEYS);
                } else if let Some((k, _)) = c.find(RANK_KEYS) {
                    rank_in(c, k, &mut a);
                } else if c.find(MIN_KEYS).is_some() {
                    let min = c.number(MIN_KEYS);
                    let max = c.number(MAX_KEYS);
                    a.band = min.map(|m| (m, max));
                } else if c.find(BAND_KEYS).is_some() {
                    self.band_from_text(c, BAND_KEYS, &mut a);
                } else {
                    c.report(issue(code::COLUMN_MISSING).expected(
                        "depth_rank（1〜6）、depth_min_m/depth_max_m、または浸水深の区分の列",
                        "depth_rank (1–6), depth_min_m/depth_max_m, or a depth band column",
                    ));
                }
            }
        }
        if self.dataset == DatasetId::Landslide {
            if let Some(p) = a.phenomenon {
                if !(1..=3).contains(&p) {
                    c.report(
                        issue(code::VALUE_INVALID_CODE)
                            .column(if layout == Layout::A33 {
                                "A33_001"
                            } else {
                                "phenomenon"
                            })
                            .value(p.to_string())
                            .expected(
                                "1 急傾斜地の崩壊・2 土石流・3 地滑り",
                                "1 steep slope, 2 debris flow, 3 landslide",
                            ),
                    );
                }
            } else {
                c.report(
                    issue(code::VALUE_REQUIRED).column(if layout == Layout::A33 {
                        "A33_001"
                    } else {
                        "phenomenon"
                    }),
                );
            }
            match a.zone_class {
                Some(1..=4) => {}
                Some(z) => c.report(
                    issue(code::VALUE_INVALID_CODE)
                        .column(if layout == Layout::A33 {
                            "A33_002"
                        } else {
                            "zone_class"
                        })
                        .value(z.to_string())
                        .expected("1〜4（1 警戒区域・2 特別警戒区域・3/4 指定前）", "1–4"),
                ),
                None => c.report(
                    issue(code::VALUE_REQUIRED).column(if layout == Layout::A33 {
                        "A33_002"
                    } else {
                        "zone_class"
                    }),
                ),
            }
        }
        a
    }

    fn band_from_text(&self, c: &mut Cells<'_>, keys: &[&'static str], a: &mut Attrs) {
        match c.find(keys) {
            None => c.report(issue(code::VALUE_REQUIRED).column(keys[0])),
            Some((k, v)) => match parse_band(&v) {
                Some(b) => {
                    if crate::text::nfkc(&v).1 {
                        c.report(
                            issue(code::FULLWIDTH_NORMALIZED)
                                .column(k)
                                .value(v.clone())
                                .repaired(band_label(b.0, b.1)),
                        );
                    }
                    a.band = Some(b);
                }
                None => c.report(
                    issue(code::DEPTH_BAND_UNPARSEABLE)
                        .column(k)
                        .value(v)
                        .expected(
                            "「0.5m以上3.0m未満」「5m以上」「0.3m未満」の形",
                            "forms like 0.5m以上3.0m未満, 5m以上, 0.3m未満",
                        ),
                ),
            },
        }
    }
}

fn normalize_scenario(s: &str) -> String {
    let n = crate::text::nfkc(s).0;
    if n.contains("最大") || n.eq_ignore_ascii_case("L2") {
        SCENARIO_MAX.into()
    } else if n.contains("計画") || n.eq_ignore_ascii_case("L1") {
        SCENARIO_PLAN.into()
    } else {
        n
    }
}

impl Normalizer for Hazards {
    fn feature(&mut self, src: &SourceInfo, f: RawFeature, report: &mut Report, out: &mut Out<'_>) {
        let layout = detect(&f);
        if !layout.fits(self.dataset) {
            if !self.wrong_kind_reported {
                self.wrong_kind_reported = true;
                report.push_in(
                    &src.file,
                    issue(code::HEADER_UNRECOGNIZED)
                        .at(f.loc)
                        .value(layout.name())
                        .detail(
                            format!(
                                "{}のファイルに見えます。データセットの選択を確認してください",
                                layout.name()
                            ),
                            format!(
                                "this looks like a {} file; check the dataset chosen",
                                layout.name()
                            ),
                        )
                        .expected(
                            format!("{}のファイル", self.dataset.title_ja()),
                            format!("a {} file", self.dataset.title_en()),
                        ),
                );
            } else {
                report.errors += 1;
            }
            return;
        }
        if self.reported != Some(layout) {
            self.reported = Some(layout);
            report.layout = Some(layout.name().into());
            report.push_in(&src.file, issue(code::LAYOUT_DETECTED).value(layout.name()));
        }
        let mut c = Cells::new(src, &f, report);
        let a = self.attrs(layout, &mut c);
        let geometry = c.polygon(f.geometry.clone());
        if c.errors > 0 {
            return;
        }
        let designated = a.zone_class.map(|z| z <= 2);
        let label = a.band.map(|(m, x)| band_label(m, x));
        report.records_accepted += 1;
        out(Row {
            key: None,
            values: vec![
                Val::text(self.dataset.as_str()),
                Val::opt_text(a.scenario),
                a.rank.map_or(Val::Null, Val::Int),
                a.band.map_or(Val::Null, |b| Val::Float(b.0)),
                a.band.and_then(|b| b.1).map_or(Val::Null, Val::Float),
                Val::opt_text(label),
                a.phenomenon.map_or(Val::Null, Val::Int),
                a.zone_class.map_or(Val::Null, Val::Int),
                designated.map_or(Val::Null, Val::Bool),
                Val::opt_text(a.river_code),
                Val::opt_text(a.river_name),
                Val::opt_text(a.zone_name),
                Val::text(layout.name()),
            ],
            geometry,
            raw: f.raw_json(),
        });
    }

    fn finish(&mut self, report: &mut Report, _out: &mut Out<'_>) {
        if report.records_read > 0 && report.records_accepted == 0 && !report.rejected() {
            report.push(issue(code::NO_RECORDS));
        }
    }
}

#[cfg(test)]
mod tests {
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
}
