//! Wards (町丁・字): e-Stat 小地域 (KEY_CODE, S_NAME, JINKO, SETAI), 国土数値情報 N03, or a plain
//! file with a code and a name. Parts sharing a code (e-Stat KIGO_E E1/E2, N03 islands) are
//! dissolved into one feature.

use super::{Cells, Normalizer, Out, Row};
use crate::dataset::Val;
use crate::read::{RawFeature, SourceInfo};
use crate::report::{code, issue, Report};
use geo::{BooleanOps, Geometry, MultiPolygon};
use std::collections::HashMap;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    Estat,
    N03,
    Generic,
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Layout::Estat => "estat",
            Layout::N03 => "n03",
            Layout::Generic => "generic",
        }
    }
}

const CODE_KEYS: &[&str] = &[
    "code",
    "CODE",
    "コード",
    "町丁目コード",
    "町字コード",
    "area_code",
    "地区コード",
];
const NAME_KEYS: &[&str] = &["name", "NAME", "名称", "町丁目名", "町字名", "地区名"];
const KANA_KEYS: &[&str] = &[
    "name_kana",
    "kana",
    "読み",
    "よみ",
    "ふりがな",
    "カナ",
    "名称_カナ",
];
const POP_KEYS: &[&str] = &["population", "人口", "総人口"];
const HH_KEYS: &[&str] = &["households", "世帯数"];
const CITY_KEYS: &[&str] = &["city_code", "全国地方公共団体コード", "市区町村コード"];

struct Acc {
    code: String,
    name: Option<String>,
    kana: Option<String>,
    city_code: Option<String>,
    pops: Vec<i64>,
    hhs: Vec<i64>,
    parts: Vec<MultiPolygon<f64>>,
    raws: Vec<String>,
    layout: Layout,
}

/// Buffers ward parts by code and dissolves them in `finish`.
#[derive(Default)]
pub struct Wards {
    order: Vec<String>,
    by_code: HashMap<String, Acc>,
    layout_reported: bool,
}

fn detect(f: &RawFeature) -> Option<Layout> {
    if f.has("KEY_CODE") {
        Some(Layout::Estat)
    } else if f.has("N03_007") {
        Some(Layout::N03)
    } else if CODE_KEYS.iter().any(|k| f.has(k)) && NAME_KEYS.iter().any(|k| f.has(k)) {
        Some(Layout::Generic)
    } else {
        None
    }
}

impl Normalizer for Wards {
    fn feature(
        &mut self,
        src: &SourceInfo,
        f: RawFeature,
        report: &mut Report,
        _out: &mut Out<'_>,
    ) {
        let Some(layout) = detect(&f) else {
            if !self.layout_reported {
                self.layout_reported = true;
                report.push_in(
                    &src.file,
                    issue(code::HEADER_UNRECOGNIZED).at(f.loc).expected(
                        "e-Stat小地域（KEY_CODE, S_NAME）、国土数値情報N03（N03_007）、またはcodeとnameの列",
                        "e-Stat small areas (KEY_CODE, S_NAME), KSJ N03 (N03_007), or code and name columns",
                    ),
                );
            }
            return;
        };
        if !self.layout_reported {
            self.layout_reported = true;
            report.layout = Some(layout.name().into());
            report.push_in(&src.file, issue(code::LAYOUT_DETECTED).value(layout.name()));
        }
        let mut c = Cells::new(src, &f, report);
        let (code_v, name, kana, city, pop, hh) = match layout {
            Layout::Estat => {
                let city = match (c.text(&["PREF"]), c.text(&["CITY"])) {
                    (Some(p), Some(ci)) => Some(format!("{p:0>2}{ci:0>3}")),
                    _ => None,
                };
                let city =
                    city.and_then(|c5| crate::text::check_digit(&c5).map(|d| format!("{c5}{d}")));
                (
                    c.required_text(&["KEY_CODE"]),
                    c.text(&["S_NAME"]),
                    None,
                    city,
                    c.int(&["JINKO"]),
                    c.int(&["SETAI"]),
                )
            }
            Layout::N03 => {
                let code5 = c.required_text(&["N03_007"]);
                let city = c.lg_code(&["N03_007"]);
                let name = match (c.text(&["N03_004"]), c.text(&["N03_005"])) {
                    (Some(a), Some(b)) => Some(format!("{a}{b}")),
                    (a, b) => a.or(b),
                };
                (code5, name, None, city, None, None)
            }
            Layout::Generic => (
                c.required_text(CODE_KEYS),
                c.required_text(NAME_KEYS),
                c.text(KANA_KEYS),
                c.lg_code(CITY_KEYS),
                c.int(POP_KEYS),
                c.int(HH_KEYS),
            ),
        };
        if let Some(v) = &code_v {
            let (n, _) = crate::text::nfkc(v);
            if !n.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-') {
                c.report(
                    issue(code::VALUE_INVALID_CODE)
                        .column(if layout == Layout::Estat {
                            "KEY_CODE"
                        } else {
                            "code"
                        })
                        .value(v.clone())
                        .expected("半角英数字のコード", "an alphanumeric code"),
                );
            }
        }
        let geometry = c.polygon(f.geometry.clone());
        if c.errors > 0 {
            return;
        }
        let (Some(code_v), Some(g)) = (code_v, geometry) else {
            return;
        };
        let code_v = crate::text::nfkc(&code_v).0;
        let mp = match g {
            Geometry::Polygon(p) => MultiPolygon(vec![p]),
            Geometry::MultiPolygon(m) => m,
            _ => return,
        };
        let acc = self.by_code.entry(code_v.clone()).or_insert_with(|| {
            self.order.push(code_v.clone());
            Acc {
                code: code_v.clone(),
                name: None,
                kana: None,
                city_code: None,
                pops: vec![],
                hhs: vec![],
                parts: vec![],
                raws: vec![],
                layout,
            }
        });
        acc.name = acc.name.take().or(name);
        acc.kana = acc.kana.take().or(kana);
        acc.city_code = acc.city_code.take().or(city);
        acc.pops.extend(pop);
        acc.hhs.extend(hh);
        acc.parts.push(mp);
        acc.raws.push(f.raw_json());
    }

    fn finish(&mut self, report: &mut Report, out: &mut Out<'_>) {
        for code_v in std::mem::take(&mut self.order) {
            let Some(acc) = self.by_code.remove(&code_v) else {
                continue;
            };
            let parts = acc.parts.len();
            let geometry = if parts == 1 {
                acc.parts.into_iter().next().map(MultiPolygon::into)
            } else {
                report.push(
                    issue(code::PARTS_DISSOLVED)
                        .column(if acc.layout == Layout::Estat {
                            "KEY_CODE"
                        } else {
                            "code"
                        })
                        .value(acc.code.clone())
                        .detail(format!("{parts}個の図形"), format!("{parts} parts")),
                );
                let mut it = acc.parts.into_iter();
                let first = it.next().unwrap_or_else(|| MultiPolygon(vec![]));
                Some(it.fold(first, |a, b| a.union(&b)).into())
            };
            let geometry = geometry.map(|g: Geometry<f64>| match g {
                Geometry::MultiPolygon(m) if m.0.len() == 1 => {
                    Geometry::Polygon(m.0.into_iter().next().expect("one polygon"))
                }
                g => g,
            });
            report.records_accepted += 1;
            out(Row {
                key: Some(acc.code.clone()),
                values: vec![
                    Val::text(acc.code),
                    Val::opt_text(acc.name),
                    Val::opt_text(acc.kana),
                    Val::opt_text(acc.city_code),
                    total(&acc.pops),
                    total(&acc.hhs),
                    Val::Int(parts as i64),
                    Val::text(acc.layout.name()),
                ],
                geometry,
                raw: if acc.raws.len() == 1 {
                    acc.raws.into_iter().next().unwrap_or_default()
                } else {
                    format!("[{}]", acc.raws.join(","))
                },
            });
        }
    }
}

/// e-Stat repeats a split area's totals on each part; other sources split them. Equal values are
/// taken once, different ones added.
fn total(v: &[i64]) -> Val {
    match v {
        [] => Val::Null,
        [first, rest @ ..] if rest.iter().all(|x| x == first) => Val::Int(*first),
        _ => Val::Int(v.iter().sum()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crs::{Crs, Transformer};
    use crate::read::Format;
    use crate::report::Loc;
    use geo::{wkt, Area};

    fn src() -> SourceInfo {
        SourceInfo {
            file: "w.zip/r2ka.shp".into(),
            format: Format::ShapefileZip,
            fields: vec![],
            transformer: Transformer::new(Crs::from_epsg(6668).unwrap()).unwrap(),
        }
    }

    fn feat(n: u64, props: &[(&str, &str)], g: Geometry<f64>) -> RawFeature {
        RawFeature {
            loc: Loc::Feature(n),
            props: props
                .iter()
                .map(|(k, v)| (k.to_string(), Some(v.to_string())))
                .collect(),
            geometry: Some(g),
            derived: 0,
        }
    }

    #[test]
    fn estat_parts_dissolve_by_key_code() {
        let mut w = Wards::default();
        let mut report = Report::new("w.zip");
        let mut rows = vec![];
        let s = src();
        let a = wkt!(POLYGON((133.90 34.60,133.91 34.60,133.91 34.61,133.90 34.61,133.90 34.60)))
            .into();
        let b = wkt!(POLYGON((133.91 34.60,133.92 34.60,133.92 34.61,133.91 34.61,133.91 34.60)))
            .into();
        let island =
            wkt!(POLYGON((133.95 34.55,133.951 34.55,133.951 34.551,133.95 34.551,133.95 34.55)))
                .into();
        let base = [
            ("PREF", "33"),
            ("CITY", "999"),
            ("S_NAME", "桜台一丁目"),
            ("JINKO", "120"),
            ("SETAI", "50"),
        ];
        let mut p1 = base.to_vec();
        p1.push(("KEY_CODE", "33999000101"));
        let mut p2 = base.to_vec();
        p2.push(("KEY_CODE", "33999000102"));
        w.feature(&s, feat(1, &p1, a), &mut report, &mut |r| rows.push(r));
        w.feature(&s, feat(2, &p2, b), &mut report, &mut |r| rows.push(r));
        w.feature(&s, feat(3, &p1, island), &mut report, &mut |r| rows.push(r));
        w.finish(&mut report, &mut |r| rows.push(r));
        assert_eq!(rows.len(), 2, "{}", report.render_text());
        assert_eq!(rows[0].values[0], Val::Text("33999000101".into()));
        assert_eq!(rows[0].values[3], Val::Text("339997".into()));
        assert_eq!(rows[0].values[4], Val::Int(120));
        assert_eq!(rows[0].values[6], Val::Int(2));
        assert!(matches!(rows[0].geometry, Some(Geometry::MultiPolygon(ref m)) if m.0.len() == 2));
        assert!(matches!(rows[1].geometry, Some(Geometry::Polygon(_))));
        assert_eq!(report.count(code::PARTS_DISSOLVED), 1);
    }

    #[test]
    fn touching_parts_merge_into_one_polygon() {
        let mut w = Wards::default();
        let mut report = Report::new("w.geojson");
        let mut rows = vec![];
        let s = src();
        let a = wkt!(POLYGON((0. 0.,1. 0.,1. 1.,0. 1.,0. 0.))).into();
        let b = wkt!(POLYGON((1. 0.,2. 0.,2. 1.,1. 1.,1. 0.))).into();
        let p = [("code", "A1"), ("name", "川端町")];
        w.feature(&s, feat(1, &p, a), &mut report, &mut |r| rows.push(r));
        w.feature(&s, feat(2, &p, b), &mut report, &mut |r| rows.push(r));
        w.finish(&mut report, &mut |r| rows.push(r));
        let g = rows[0].geometry.as_ref().unwrap();
        assert!(matches!(g, Geometry::Polygon(_)), "{g:?}");
        assert!((g.unsigned_area() - 2.0).abs() < 1e-9);
    }

    #[test]
    fn n03_and_refusals() {
        let mut w = Wards::default();
        let mut report = Report::new("n03.geojson");
        let mut rows = vec![];
        let s = src();
        let a: Geometry<f64> = wkt!(POLYGON((0. 0.,1. 0.,1. 1.,0. 1.,0. 0.))).into();
        w.feature(
            &s,
            feat(
                1,
                &[
                    ("N03_001", "岡山県"),
                    ("N03_004", "岡山市"),
                    ("N03_005", "北区"),
                    ("N03_007", "33101"),
                ],
                a.clone(),
            ),
            &mut report,
            &mut |r| rows.push(r),
        );
        w.feature(
            &s,
            feat(2, &[("N03_007", "33102")], wkt!(POINT(1. 1.)).into()),
            &mut report,
            &mut |r| rows.push(r),
        );
        w.finish(&mut report, &mut |r| rows.push(r));
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].values[1], Val::Text("岡山市北区".into()));
        assert_eq!(report.count(code::GEOMETRY_WRONG_TYPE), 1);
        assert_eq!(report.count(code::LG_CODE_CHECK_DIGIT_ADDED), 2);
    }
}
