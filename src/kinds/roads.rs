//! Road ledger (道路台帳): route attributes from the 調書 (usually a Shift_JIS CSV) joined by
//! 路線番号 to route lines (GeoJSON or Shapefile), or one file holding both. The length computed
//! from the geometry is checked against 実延長.

use super::{Cells, Normalizer, Out, Row};
use crate::dataset::Val;
use crate::read::{RawFeature, SourceInfo};
use crate::report::{code, issue, Loc, Report};
use geo::{Geodesic, Geometry, Length, LineString, MultiLineString};
use std::collections::HashMap;

const NO_KEYS: &[&str] = &["路線番号", "路線No", "路線NO", "route_no"];
const NAME_KEYS: &[&str] = &["路線名", "route_name"];
const CLASS_KEYS: &[&str] = &[
    "道路種別",
    "市道の区分",
    "種別",
    "road_class",
    "緊急輸送道路区分",
    "緊急輸送路区分",
    "緊急輸送道路の区分",
    "区分",
];
const START_KEYS: &[&str] = &["起点", "start_point"];
const END_KEYS: &[&str] = &["終点", "end_point"];
const LEN_KEYS: &[&str] = &["実延長", "length_m"];
const WIDTH_KEYS: &[&str] = &["幅員", "平均幅員", "幅員(平均)", "width_m"];
const DATE_KEYS: &[&str] = &["認定年月日", "認定日", "certified_on"];
const NOTE_KEYS: &[&str] = &["備考", "note"];

struct Ledger {
    file: String,
    loc: Loc,
    values: Vec<Val>,
    raw: String,
}

struct Line {
    file: String,
    loc: Loc,
    geometry: Geometry<f64>,
}

/// Collects ledger rows and lines, joins them in `finish`.
#[derive(Default)]
pub struct Roads {
    ledger: Vec<(String, Ledger)>,
    ledger_index: HashMap<String, usize>,
    lines: HashMap<String, Vec<Line>>,
    line_order: Vec<String>,
    header_reported: bool,
}

/// 1級 / 2級 / その他 from the ways ledgers write it; 緊急輸送道路1次 / 2次 / 3次 for the
/// emergency transport routes (緊急輸送道路) prefectures publish as lines without a ledger.
pub fn road_class(s: &str) -> Option<&'static str> {
    let n = crate::text::nfkc(s).0;
    let n = n
        .replace("一級", "1級")
        .replace("二級", "2級")
        .replace("第一次", "1次")
        .replace("第二次", "2次")
        .replace("第三次", "3次")
        .replace("一次", "1次")
        .replace("二次", "2次")
        .replace("三次", "3次");
    if n.contains("1次") {
        return Some("緊急輸送道路1次");
    } else if n.contains("2次") {
        return Some("緊急輸送道路2次");
    } else if n.contains("3次") {
        return Some("緊急輸送道路3次");
    }
    if n.contains("1級") {
        Some("1級")
    } else if n.contains("2級") {
        Some("2級")
    } else if n.contains("その他") || n == "他" {
        Some("その他")
    } else {
        None
    }
}

impl Normalizer for Roads {
    fn feature(
        &mut self,
        src: &SourceInfo,
        f: RawFeature,
        report: &mut Report,
        _out: &mut Out<'_>,
    ) {
        let mut c = Cells::new(src, &f, report);
        let Some(route_no) = c.text(NO_KEYS).map(|v| crate::text::nfkc(&v).0) else {
            if !self.header_reported && !NO_KEYS.iter().any(|k| f.has(k)) {
                self.header_reported = true;
                c.report(issue(code::COLUMN_MISSING).column("路線番号").expected(
                    "路線番号・路線名・道路種別・起点・終点・実延長・幅員・認定年月日の列",
                    "columns 路線番号, 路線名, 道路種別, 起点, 終点, 実延長, 幅員, 認定年月日",
                ));
            } else if NO_KEYS.iter().any(|k| f.has(k)) {
                c.report(issue(code::VALUE_REQUIRED).column("路線番号"));
            }
            return;
        };
        let is_ledger = NAME_KEYS.iter().any(|k| f.has(k)) && CLASS_KEYS.iter().any(|k| f.has(k));
        if is_ledger {
            let name = c.required_text(NAME_KEYS);
            let class = match c.find(CLASS_KEYS) {
                None => {
                    c.report(issue(code::VALUE_REQUIRED).column("道路種別"));
                    None
                }
                Some((k, v)) => match road_class(&v) {
                    Some(cl) => Some(cl),
                    None => {
                        c.report(
                            issue(code::VALUE_INVALID_CODE)
                                .column(k)
                                .value(v)
                                .expected(
                                    "1級・2級・その他、または緊急輸送道路の1次・2次・3次",
                                    "1級, 2級 or その他, or an emergency transport route tier 1次, 2次, 3次",
                                ),
                        );
                        None
                    }
                },
            };
            let length = c.number(LEN_KEYS);
            let width = c.number(WIDTH_KEYS);
            let date = c.date(DATE_KEYS);
            let values = vec![
                Val::text(route_no.clone()),
                Val::opt_text(name),
                Val::opt_text(class.map(str::to_string)),
                Val::opt_text(c.text(START_KEYS)),
                Val::opt_text(c.text(END_KEYS)),
                length.map_or(Val::Null, Val::Float),
                Val::Null, // geom_length_m, filled in finish
                width.map_or(Val::Null, Val::Float),
                Val::opt_text(date),
                Val::opt_text(c.text(NOTE_KEYS)),
            ];
            if let Some(&i) = self.ledger_index.get(&route_no) {
                let first = &self.ledger[i].1;
                c.report(
                    issue(code::DUPLICATE_ID)
                        .column("路線番号")
                        .value(route_no.clone())
                        .detail(
                            format!("{}と重複", loc_text(first.loc)),
                            format!("same as {:?}", first.loc),
                        ),
                );
            }
            if c.errors == 0 {
                self.ledger_index
                    .insert(route_no.clone(), self.ledger.len());
                self.ledger.push((
                    route_no.clone(),
                    Ledger {
                        file: src.file.clone(),
                        loc: f.loc,
                        values,
                        raw: f.raw_json(),
                    },
                ));
            }
        }
        if let Some(g) = f.geometry.clone() {
            match g {
                Geometry::LineString(_) | Geometry::MultiLineString(_) => {
                    if !self.lines.contains_key(&route_no) {
                        self.line_order.push(route_no.clone());
                    }
                    self.lines.entry(route_no).or_default().push(Line {
                        file: src.file.clone(),
                        loc: f.loc,
                        geometry: g,
                    });
                }
                other => c.report(
                    issue(code::GEOMETRY_WRONG_TYPE)
                        .value(crate::geom::type_name(&other))
                        .expected(
                            "LineString / MultiLineString",
                            "LineString or MultiLineString",
                        ),
                ),
            }
        } else if !is_ledger {
            c.report(issue(code::GEOMETRY_MISSING));
        }
    }

    fn finish(&mut self, report: &mut Report, out: &mut Out<'_>) {
        let mut used = std::collections::HashSet::new();
        for (route_no, l) in std::mem::take(&mut self.ledger) {
            let Some(lines) = self.lines.get(&route_no) else {
                report.push_in(
                    &l.file,
                    issue(code::ROUTE_WITHOUT_GEOMETRY)
                        .at(l.loc)
                        .column("路線番号")
                        .value(route_no.clone()),
                );
                continue;
            };
            used.insert(route_no.clone());
            let mut parts: Vec<LineString<f64>> = Vec::new();
            for line in lines {
                match &line.geometry {
                    Geometry::LineString(ls) => parts.push(ls.clone()),
                    Geometry::MultiLineString(m) => parts.extend(m.0.iter().cloned()),
                    _ => {}
                }
            }
            let glen: f64 = parts.iter().map(|p| Geodesic.length(p)).sum();
            let geometry = if parts.len() == 1 {
                Geometry::LineString(parts.remove(0))
            } else {
                Geometry::MultiLineString(MultiLineString(parts))
            };
            let mut values = l.values;
            values[6] = Val::Float((glen * 100.0).round() / 100.0);
            if let Val::Float(recorded) = values[5] {
                if recorded > 0.0 && ((glen - recorded) / recorded).abs() > 0.05 {
                    report.push_in(
                        &l.file,
                        issue(code::LENGTH_MISMATCH)
                            .at(l.loc)
                            .column("実延長")
                            .value(crate::dataset::fmt_float(recorded))
                            .detail(
                                format!(
                                    "図形の延長 {:.1} m（差 {:+.1}%）",
                                    glen,
                                    (glen - recorded) / recorded * 100.0
                                ),
                                format!(
                                    "geometry length {:.1} m ({:+.1} %)",
                                    glen,
                                    (glen - recorded) / recorded * 100.0
                                ),
                            ),
                    );
                }
            }
            report.records_accepted += 1;
            out(Row {
                key: Some(route_no),
                values,
                geometry: Some(geometry),
                raw: l.raw,
            });
        }
        for route_no in std::mem::take(&mut self.line_order) {
            if used.contains(&route_no) {
                continue;
            }
            if let Some(lines) = self.lines.get(&route_no) {
                for line in lines {
                    report.push_in(
                        &line.file,
                        issue(code::GEOMETRY_WITHOUT_ROUTE)
                            .at(line.loc)
                            .column("路線番号")
                            .value(route_no.clone()),
                    );
                }
            }
        }
        if report.records_accepted == 0 && !report.rejected() {
            report.push(issue(code::NO_RECORDS));
        }
    }
}

fn loc_text(l: Loc) -> String {
    match l {
        Loc::Row(n) => format!("{n}行目"),
        Loc::Feature(n) => format!("{n}番目の地物"),
        Loc::File => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crs::{Crs, Transformer};
    use crate::read::Format;
    use geo::wkt;

    fn src(name: &str) -> SourceInfo {
        SourceInfo {
            file: name.into(),
            format: Format::Csv,
            fields: vec![],
            transformer: Transformer::new(Crs::from_epsg(6668).unwrap()).unwrap(),
        }
    }

    fn feat(n: u64, props: &[(&str, &str)], g: Option<Geometry<f64>>) -> RawFeature {
        RawFeature {
            loc: Loc::Row(n),
            props: props
                .iter()
                .map(|(k, v)| (k.to_string(), Some(v.to_string())))
                .collect(),
            geometry: g,
            derived: 0,
        }
    }

    #[test]
    fn ledger_joins_lines_and_checks_length() {
        let mut r = Roads::default();
        let mut report = Report::new("roads");
        let mut rows = vec![];
        let csv = src("roads.csv");
        let gj = src("roads.geojson");
        // ~0.01° of longitude at 34.6°N is about 916 m.
        r.feature(
            &csv,
            feat(
                2,
                &[
                    ("路線番号", "1-01"),
                    ("路線名", "市道桜台線"),
                    ("道路種別", "１級"),
                    ("実延長", "916"),
                    ("幅員", "6.5"),
                    ("認定年月日", "昭和60年4月1日"),
                ],
                None,
            ),
            &mut report,
            &mut |x| rows.push(x),
        );
        r.feature(
            &csv,
            feat(
                3,
                &[
                    ("路線番号", "2-05"),
                    ("路線名", "市道川端線"),
                    ("道路種別", "2級"),
                    ("実延長", "1200"),
                ],
                None,
            ),
            &mut report,
            &mut |x| rows.push(x),
        );
        r.feature(
            &csv,
            feat(
                4,
                &[
                    ("路線番号", "3-112"),
                    ("路線名", "市道北山線"),
                    ("道路種別", "その他"),
                ],
                None,
            ),
            &mut report,
            &mut |x| rows.push(x),
        );
        r.feature(
            &gj,
            feat(
                1,
                &[("路線番号", "1-01")],
                Some(wkt!(LINESTRING(133.90 34.60,133.91 34.60)).into()),
            ),
            &mut report,
            &mut |x| rows.push(x),
        );
        r.feature(
            &gj,
            feat(
                2,
                &[("路線番号", "2-05")],
                Some(wkt!(LINESTRING(133.90 34.61,133.91 34.61)).into()),
            ),
            &mut report,
            &mut |x| rows.push(x),
        );
        r.feature(
            &gj,
            feat(
                3,
                &[("路線番号", "9-99")],
                Some(wkt!(LINESTRING(133.90 34.62,133.91 34.62)).into()),
            ),
            &mut report,
            &mut |x| rows.push(x),
        );
        r.finish(&mut report, &mut |x| rows.push(x));
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].values[2], Val::Text("1級".into()));
        assert_eq!(rows[0].values[8], Val::Text("1985-04-01".into()));
        let Val::Float(len) = rows[0].values[6] else {
            panic!()
        };
        assert!((len - 916.0).abs() < 5.0, "{len}");
        assert_eq!(
            report.count(code::LENGTH_MISMATCH),
            1,
            "2-05 is 916 m drawn, 1200 m recorded"
        );
        assert_eq!(report.count(code::WAREKI_CONVERTED), 1);
        assert_eq!(report.count(code::ROUTE_WITHOUT_GEOMETRY), 1);
        assert_eq!(report.count(code::GEOMETRY_WITHOUT_ROUTE), 1);
        assert!(report.rejected());
    }

    #[test]
    fn classes() {
        assert_eq!(road_class("幹線1級市町村道"), Some("1級"));
        assert_eq!(road_class("二級"), Some("2級"));
        assert_eq!(road_class("その他市道"), Some("その他"));
        assert_eq!(road_class("国道"), None);
    }

    #[test]
    fn emergency_transport_routes_without_a_ledger_are_roads_of_their_tier() {
        assert_eq!(road_class("第1次緊急輸送道路"), Some("緊急輸送道路1次"));
        assert_eq!(road_class("２次"), Some("緊急輸送道路2次"));
        assert_eq!(road_class("第三次緊急輸送道路"), Some("緊急輸送道路3次"));
        assert_eq!(road_class("1級市道"), Some("1級"));
        let mut n = Roads::default();
        let mut report = Report::new("kinkyu.geojson");
        let mut rows = Vec::new();
        let f = feat(
            1,
            &[
                ("路線番号", "R2"),
                ("路線名", "国道2号"),
                ("区分", "第1次緊急輸送道路"),
            ],
            Some(wkt!(LINESTRING(133.90 34.66, 133.92 34.66)).into()),
        );
        n.feature(&src("kinkyu.geojson"), f, &mut report, &mut |r| {
            rows.push(r)
        });
        n.finish(&mut report, &mut |r| rows.push(r));
        assert!(!report.rejected(), "{}", report.render_text());
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].values[1], Val::text("国道2号"));
        assert_eq!(rows[0].values[2], Val::text("緊急輸送道路1次"));
        assert_eq!(rows[0].values[5], Val::Null);
        assert!(matches!(rows[0].values[6], Val::Float(x) if x > 1000.0));
    }
}
