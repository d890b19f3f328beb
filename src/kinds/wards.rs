//! Wards (町丁・字): e-Stat 小地域 (KEY_CODE, S_NAME, JINKO, SETAI), 国土数値情報 N03, or a plain
//! file with a code and a name. Parts sharing a code (e-Stat KIGO_E E1/E2, N03 islands) are
//! dissolved into one feature.

use super::{Cells, Normalizer, Out, Row};
use crate::dataset::Val;
use crate::read::{RawFeature, SourceInfo};
use crate::report::{code, issue, Report};
use crate::text::{LgCode, LgRepair};
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
    code: Option<String>,
    name: Option<String>,
    kana: Option<String>,
    city_code: Option<String>,
    pops: Vec<i64>,
    hhs: Vec<i64>,
    parts: Vec<MultiPolygon<f64>>,
    raws: Vec<String>,
    layout: Layout,
}

/// Buffers ward parts by code and dissolves them in `finish`. N03 areas without a code
/// (所属未定地) are kept one row each.
#[derive(Default)]
pub struct Wards {
    order: Vec<String>,
    by_code: HashMap<String, Acc>,
    layout_reported: bool,
    uncoded: u64,
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

/// The refusal of a file in no known layout: the columns found with the first record's values,
/// and the canonical columns missing.
fn unrecognized(f: &RawFeature) -> crate::report::IssueBuilder {
    let found: Vec<String> = f
        .props
        .iter()
        .take(40)
        .map(|(k, v)| {
            let v = v.as_deref().map(str::trim).unwrap_or("");
            let short: String = v.chars().take(24).collect();
            let more = if v.chars().count() > 24 { "…" } else { "" };
            format!("{k}={short}{more}")
        })
        .collect();
    let found = if found.is_empty() {
        "—".to_string()
    } else {
        found.join(", ")
    };
    let mut missing_ja = Vec::new();
    let mut missing_en = Vec::new();
    if !CODE_KEYS.iter().any(|k| f.has(k)) {
        missing_ja.push(format!("地区のコード（{}）", CODE_KEYS.join("・")));
        missing_en.push(format!("an area code ({})", CODE_KEYS.join(", ")));
    }
    if !NAME_KEYS.iter().any(|k| f.has(k)) {
        missing_ja.push(format!("地区の名称（{}）", NAME_KEYS.join("・")));
        missing_en.push(format!("an area name ({})", NAME_KEYS.join(", ")));
    }
    issue(code::HEADER_UNRECOGNIZED)
        .at(f.loc)
        .value(found.clone())
        .detail(
            format!(
                "見つかった列と1件目の値: {found}。足りない列: {}",
                missing_ja.join("、")
            ),
            format!(
                "columns found, with the first record's values: {found}. Missing: {}",
                missing_en.join("; ")
            ),
        )
        .expected(
            format!(
                "e-Stat小地域（KEY_CODE と S_NAME または MOJI）、国土数値情報N03（N03_007）、または{}の列",
                missing_ja.join("と")
            ),
            format!(
                "e-Stat small areas (KEY_CODE with S_NAME or MOJI), KSJ N03 (N03_007), or columns for {}",
                missing_en.join(" and ")
            ),
        )
}

/// N03 name: designated cities carry the city in `N03_003` (older files: ward in `N03_004`) or in
/// `N03_004` with the ward in `N03_005` (2024 files); a 郡 in `N03_003` is not part of the name.
fn n03_name(c: &Cells<'_>) -> Option<String> {
    let city = c.text(&["N03_003"]).filter(|s| s.ends_with('市'));
    let mut name = String::new();
    for part in [city, c.text(&["N03_004"]), c.text(&["N03_005"])]
        .into_iter()
        .flatten()
    {
        if part.starts_with(&name) {
            name = part;
        } else if !name.ends_with(&part) {
            name.push_str(&part);
        }
    }
    (!name.is_empty()).then_some(name)
}

/// `N03_007`: the 5-digit code of the municipality (no check digit, by definition). Returns the
/// ward code (5 digits) and the 6-digit city code.
fn n03_code(c: &mut Cells<'_>) -> Option<(String, String)> {
    let (k, v) = c.find(&["N03_007"])?;
    match crate::text::lg_code5(&v) {
        LgCode::Ok(c6, rep) => {
            let c5 = c6[..5].to_string();
            match rep {
                LgRepair::None | LgRepair::FullWidth => {}
                LgRepair::ZeroRestored => c.report(
                    issue(code::LG_CODE_ZERO_RESTORED)
                        .column(k)
                        .value(v)
                        .repaired(c5.clone()),
                ),
                LgRepair::CheckDigitAdded => c.report(
                    issue(code::LG_CODE_CHECK_DIGIT_ADDED)
                        .column(k)
                        .value(v)
                        .repaired(c6.clone()),
                ),
            }
            Some((c5, c6))
        }
        LgCode::BadCheckDigit { expected } => {
            c.report(
                issue(code::LG_CODE_CHECK_DIGIT)
                    .column(k)
                    .value(v)
                    .expected(
                        format!("5桁の行政区域コード（{} ではありませんか）", &expected[..5]),
                        format!("the 5-digit area code (did you mean {}?)", &expected[..5]),
                    ),
            );
            None
        }
        LgCode::Invalid => {
            c.report(issue(code::LG_CODE_INVALID).column(k).value(v).expected(
                "半角数字5桁の行政区域コード（例: 13102）",
                "the 5-digit area code, e.g. 13102",
            ));
            None
        }
    }
}

/// e-Stat: the city code from `PREF`+`CITY` (2020 layout), else from the first five digits of
/// `KEY_CODE` (2015 layout: `KEN`, no `PREF`/`CITY`).
fn estat_city(c: &Cells<'_>, key: Option<&str>) -> Option<String> {
    let c5 = match (c.text(&["PREF"]), c.text(&["CITY"])) {
        (Some(p), Some(ci)) => format!("{p:0>2}{ci:0>3}"),
        _ => {
            let k = key?;
            if k.len() < 5 || !k.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            k[..5].to_string()
        }
    };
    if !matches!(c5.get(..2).and_then(|p| p.parse::<u8>().ok()), Some(1..=47)) {
        return None;
    }
    crate::text::check_digit(&c5).map(|d| format!("{c5}{d}"))
}

/// A `KEY_CODE` stored as a number loses the zero of prefectures 01–09: restored when the
/// prefecture column (`PREF`, or `KEN` in 2015 files) says so.
fn estat_key(c: &mut Cells<'_>, key: String) -> String {
    let Some(p) = c.text(&["PREF", "KEN"]).map(|p| format!("{p:0>2}")) else {
        return key;
    };
    let padded = format!("0{key}");
    if !key.starts_with(&p) && padded.starts_with(&p) && p.starts_with('0') {
        c.report(
            issue(code::LG_CODE_ZERO_RESTORED)
                .column("KEY_CODE")
                .value(key)
                .repaired(padded.clone()),
        );
        return padded;
    }
    key
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
                report.push_in(&src.file, unrecognized(&f));
            }
            return;
        };
        if !self.layout_reported {
            self.layout_reported = true;
            report.layout = Some(layout.name().into());
            let b = issue(code::LAYOUT_DETECTED).value(layout.name());
            let b = if layout == Layout::Estat && !f.has("S_NAME") && f.has("MOJI") {
                b.detail(
                    "2015年以前の様式: 名称はMOJI、市区町村コードはKEY_CODEの先頭5桁から",
                    "2015-or-earlier layout: names from MOJI, city codes from the first five digits of KEY_CODE",
                )
            } else {
                b
            };
            report.push_in(&src.file, b);
        }
        let mut c = Cells::new(src, &f, report);
        let (code_v, name, kana, city, pop, hh) = match layout {
            Layout::Estat => {
                let key = c.required_text(&["KEY_CODE"]).map(|k| {
                    let k = crate::text::nfkc(&k).0;
                    estat_key(&mut c, k)
                });
                let city = estat_city(&c, key.as_deref());
                (
                    key,
                    c.text(&["S_NAME", "MOJI"]),
                    None,
                    city,
                    c.int(&["JINKO"]),
                    c.int(&["SETAI"]),
                )
            }
            Layout::N03 => {
                let name = n03_name(&c);
                let (code5, city) = match c.text(&["N03_007"]) {
                    Some(_) => match n03_code(&mut c) {
                        Some((c5, c6)) => (Some(c5), Some(c6)),
                        None => (None, None),
                    },
                    None => (None, None),
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
        let Some(g) = geometry else {
            return;
        };
        let code_v = code_v.map(|v| crate::text::nfkc(&v).0);
        if code_v.is_none() {
            if layout != Layout::N03 || c.text(&["N03_007"]).is_some() {
                return;
            }
            // N03 所属未定地 and the like: an area with no code is still an area.
            c.report(
                issue(code::CODE_MISSING_KEPT)
                    .column("N03_007")
                    .value(name.clone().unwrap_or_default()),
            );
        }
        if name.is_none() && layout != Layout::Generic {
            c.report(issue(code::NAME_MISSING).column(match layout {
                Layout::Estat if f.has("MOJI") && !f.has("S_NAME") => "MOJI",
                Layout::Estat => "S_NAME",
                _ => "N03_004",
            }));
        }
        let mp = match g {
            Geometry::Polygon(p) => MultiPolygon(vec![p]),
            Geometry::MultiPolygon(m) => m,
            _ => return,
        };
        let slot = match &code_v {
            Some(v) => v.clone(),
            None => {
                self.uncoded += 1;
                format!("\u{0}uncoded-{}", self.uncoded)
            }
        };
        let acc = self.by_code.entry(slot.clone()).or_insert_with(|| {
            self.order.push(slot.clone());
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
        let mut uncoded_names: HashMap<String, u32> = HashMap::new();
        for slot in std::mem::take(&mut self.order) {
            let Some(acc) = self.by_code.remove(&slot) else {
                continue;
            };
            // Areas without a code keep their feature id across versions by name and order.
            let key = acc.code.clone().or_else(|| {
                let name = acc.name.clone().unwrap_or_default();
                let n = uncoded_names.entry(name.clone()).or_insert(0);
                *n += 1;
                Some(format!("no-code:{name}#{n}"))
            });
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
                        .value(acc.code.clone().unwrap_or_default())
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
                key,
                values: vec![
                    Val::opt_text(acc.code),
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

    fn sq(x: f64, y: f64) -> Geometry<f64> {
        use geo::MapCoords;
        let p: geo::Polygon<f64> = wkt!(POLYGON((0. 0.,0.01 0.,0.01 0.01,0. 0.01,0. 0.)));
        p.map_coords(|c| geo::Coord {
            x: c.x + x,
            y: c.y + y,
        })
        .into()
    }

    #[test]
    fn n03_codes_are_five_digits_names_follow_the_layout() {
        let mut w = Wards::default();
        let mut report = Report::new("N03.geojson");
        let mut rows = vec![];
        let s = src();
        let feats: &[&[(&str, &str)]] = &[
            &[
                ("N03_001", "東京都"),
                ("N03_004", "中央区"),
                ("N03_007", "13102"),
            ],
            // Older layout: designated city in N03_003, ward in N03_004.
            &[
                ("N03_001", "北海道"),
                ("N03_002", "石狩振興局"),
                ("N03_003", "札幌市"),
                ("N03_004", "中央区"),
                ("N03_007", "01101"),
            ],
            // 2024 layout: city in N03_004, ward in N03_005.
            &[
                ("N03_001", "静岡県"),
                ("N03_004", "静岡市"),
                ("N03_005", "葵区"),
                ("N03_007", "22101"),
            ],
            // A 郡 is not part of a town's name.
            &[
                ("N03_001", "岡山県"),
                ("N03_003", "久米郡"),
                ("N03_004", "美咲町"),
                ("N03_007", "33666"),
            ],
            &[
                ("N03_001", "北海道"),
                ("N03_004", "所属未定地"),
                ("N03_007", ""),
            ],
            &[("N03_001", "岡山県"), ("N03_004", "所属未定地")],
        ];
        for (n, p) in feats.iter().enumerate() {
            let mut p = p.to_vec();
            if !p.iter().any(|(k, _)| *k == "N03_007") {
                p.push(("N03_007", ""));
            }
            let g = sq(n as f64, 0.0);
            w.feature(&s, feat(n as u64 + 1, &p, g), &mut report, &mut |r| {
                rows.push(r)
            });
        }
        w.finish(&mut report, &mut |r| rows.push(r));
        assert!(!report.rejected(), "{}", report.render_text());
        let got: Vec<(Val, Val, Val)> = rows
            .iter()
            .map(|r| {
                (
                    r.values[0].clone(),
                    r.values[1].clone(),
                    r.values[3].clone(),
                )
            })
            .collect();
        let t = |s: &str| Val::Text(s.into());
        assert_eq!(
            got,
            vec![
                (t("13102"), t("中央区"), t("131024")),
                (t("01101"), t("札幌市中央区"), t("011011")),
                (t("22101"), t("静岡市葵区"), t("221015")),
                (t("33666"), t("美咲町"), t("336661")),
                (Val::Null, t("所属未定地"), Val::Null),
                (Val::Null, t("所属未定地"), Val::Null),
            ]
        );
        assert_ne!(rows[4].key, rows[5].key);
        assert!(rows[4].key.as_deref().unwrap().contains("所属未定地"));
        assert_eq!(report.count(code::CODE_MISSING_KEPT), 2);
        assert_eq!(report.count(code::LG_CODE_ZERO_RESTORED), 0);
    }

    #[test]
    fn n03_code_that_lost_its_zero() {
        let mut w = Wards::default();
        let mut report = Report::new("N03.geojson");
        let mut rows = vec![];
        let p = [("N03_004", "札幌市中央区"), ("N03_007", "1101")];
        w.feature(&src(), feat(1, &p, sq(0.0, 0.0)), &mut report, &mut |r| {
            rows.push(r)
        });
        w.finish(&mut report, &mut |r| rows.push(r));
        assert_eq!(rows[0].values[0], Val::Text("01101".into()));
        assert_eq!(rows[0].values[3], Val::Text("011011".into()));
        assert_eq!(report.count(code::LG_CODE_ZERO_RESTORED), 1);
    }

    #[test]
    fn estat_2015_layout_names_from_moji_city_from_key_code() {
        let mut w = Wards::default();
        let mut report = Report::new("h27ka13101.zip");
        let mut rows = vec![];
        let s = src();
        let base = [
            ("KEN", "13"),
            ("KEN_NAME", "東京都"),
            ("GST_NAME", "千代田区"),
            ("JINKO", "120"),
            ("SETAI", "60"),
        ];
        for (n, (key, moji)) in [
            ("13101001001", "丸の内一丁目"),
            ("131010020", "大手町"),
            ("1310100300", ""),
        ]
        .iter()
        .enumerate()
        {
            let mut p = base.to_vec();
            p.push(("KEY_CODE", key));
            p.push(("MOJI", moji));
            w.feature(
                &s,
                feat(n as u64 + 1, &p, sq(n as f64, 0.0)),
                &mut report,
                &mut |r| rows.push(r),
            );
        }
        w.finish(&mut report, &mut |r| rows.push(r));
        assert!(!report.rejected(), "{}", report.render_text());
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].values[1], Val::Text("丸の内一丁目".into()));
        assert_eq!(rows[1].values[0], Val::Text("131010020".into()));
        assert_eq!(rows[1].values[1], Val::Text("大手町".into()));
        for r in &rows {
            assert_eq!(r.values[3], Val::Text("131016".into()));
            assert_eq!(r.values[4], Val::Int(120));
        }
        assert_eq!(rows[2].values[1], Val::Null);
        assert_eq!(report.count(code::NAME_MISSING), 1);
    }

    #[test]
    fn estat_key_code_that_lost_its_zero() {
        let mut w = Wards::default();
        let mut report = Report::new("w.zip");
        let mut rows = vec![];
        let p = [
            ("KEY_CODE", "1101001001"),
            ("KEN", "01"),
            ("MOJI", "大通西一丁目"),
        ];
        w.feature(&src(), feat(1, &p, sq(0.0, 0.0)), &mut report, &mut |r| {
            rows.push(r)
        });
        w.finish(&mut report, &mut |r| rows.push(r));
        assert_eq!(rows[0].values[0], Val::Text("01101001001".into()));
        assert_eq!(rows[0].values[3], Val::Text("011011".into()));
        assert_eq!(report.count(code::LG_CODE_ZERO_RESTORED), 1);
    }

    #[test]
    fn unknown_layout_refusal_lists_columns_and_what_is_missing() {
        let mut w = Wards::default();
        let mut report = Report::new("jichikai.zip");
        let mut rows = vec![];
        let p = [
            ("SAUID", "12"),
            ("SAFIELD000", "桜台第一町内会"),
            ("SAFIELD001", ""),
        ];
        w.feature(&src(), feat(1, &p, sq(0.0, 0.0)), &mut report, &mut |r| {
            rows.push(r)
        });
        w.finish(&mut report, &mut |r| rows.push(r));
        assert!(rows.is_empty() && report.rejected());
        let i = &report
            .issues
            .iter()
            .find(|i| i.code == "HEADER_UNRECOGNIZED")
            .unwrap();
        assert_eq!(i.file, "w.zip/r2ka.shp");
        for m in [&i.message_ja, &i.message_en] {
            assert!(
                m.contains("SAUID=12") && m.contains("SAFIELD000=桜台第一町内会"),
                "{m}"
            );
            assert!(m.contains("KEY_CODE") && m.contains("N03_007"), "{m}");
        }
        assert!(i.message_ja.contains("地区のコード") && i.message_ja.contains("地区の名称"));
        assert!(i.message_en.contains("an area code") && i.message_en.contains("an area name"));
    }
}
