//! Normalisers: one per dataset kind, turning [`RawFeature`]s of any accepted layout into rows of
//! the canonical table (columns in [`crate::dataset`]), with every repair and rejection reported.
//!
//! Layouts are recognised by header names, never by column position.

pub mod addresses;
pub mod aliases;
pub mod hazard;
pub mod roads;
pub mod shelters;
pub mod stockpile;
pub mod wards;

use crate::dataset::{DatasetId, Kind, Val};
use crate::read::{RawFeature, SourceInfo};
use crate::report::{code, issue, Report};
use crate::text::{self, DateRepair, LgCode, LgRepair};
use geo::Geometry;
use std::collections::HashMap;

/// One normalised record, ready for the store.
#[derive(Debug, Clone)]
pub struct Row {
    /// Natural key (ward code, shelter ID, route number); the store keeps a stable integer
    /// feature id per key across versions. `None`: ids follow the source order.
    pub key: Option<String>,
    /// Values of the dataset's columns, in [`DatasetId::columns`] order.
    pub values: Vec<Val>,
    /// Geometry in JGD2011 lon/lat.
    pub geometry: Option<Geometry<f64>>,
    /// The source record's properties as JSON, kept so nothing the city sent is lost.
    pub raw: String,
}

/// What a normaliser may need from the published store.
#[derive(Debug, Default, Clone)]
pub struct Context {
    /// Published shelters: ID → fid and 共通ID → fid, for linking stockpile rows.
    pub shelters_by_id: HashMap<String, i64>,
    /// See `shelters_by_id`.
    pub shelters_by_common_id: HashMap<String, i64>,
}

/// Receives finished rows.
pub type Out<'a> = dyn FnMut(Row) + 'a;

/// A dataset normaliser.
pub trait Normalizer {
    /// One source record.
    fn feature(&mut self, src: &SourceInfo, f: RawFeature, report: &mut Report, out: &mut Out<'_>);
    /// All files read: emit buffered rows (dissolved wards, joined roads, merged shelters).
    fn finish(&mut self, report: &mut Report, out: &mut Out<'_>);
}

/// The normaliser for a dataset.
pub fn normalizer(dataset: DatasetId, ctx: Context) -> Box<dyn Normalizer> {
    match dataset.kind() {
        Kind::Ward => Box::new(wards::Wards::default()),
        Kind::Hazard => Box::new(hazard::Hazards::new(dataset)),
        Kind::Road => Box::new(roads::Roads::default()),
        Kind::Shelter => Box::new(shelters::Shelters::default()),
        Kind::Stockpile => Box::new(stockpile::Stockpile::new(ctx)),
        Kind::Address => Box::new(addresses::Addresses::default()),
    }
}

/// Typed access to one record's cells, reporting repairs and errors at the record's location.
pub struct Cells<'a> {
    /// The source file.
    pub src: &'a SourceInfo,
    /// The record.
    pub f: &'a RawFeature,
    /// The report.
    pub report: &'a mut Report,
    /// Errors recorded through this accessor: the row is rejected when > 0.
    pub errors: u32,
}

impl<'a> Cells<'a> {
    /// Accessor for `f`.
    pub fn new(src: &'a SourceInfo, f: &'a RawFeature, report: &'a mut Report) -> Self {
        Cells {
            src,
            f,
            report,
            errors: 0,
        }
    }

    fn push(&mut self, b: crate::report::IssueBuilder) {
        if b_is_error(&b) {
            self.errors += 1;
        }
        let file = self.src.file.clone();
        self.report.push_in(&file, b.at(self.f.loc));
    }

    /// First present key among `keys` and its raw value.
    pub fn find(&self, keys: &[&'static str]) -> Option<(&'static str, String)> {
        self.f.get_any(keys).map(|(k, v)| (k, v.trim().to_string()))
    }

    /// Text as given (trimmed), or None.
    pub fn text(&self, keys: &[&'static str]) -> Option<String> {
        self.find(keys).map(|(_, v)| v)
    }

    /// Required text: an error when empty.
    pub fn required_text(&mut self, keys: &[&'static str]) -> Option<String> {
        let v = self.text(keys);
        if v.is_none() {
            self.push(issue(code::VALUE_REQUIRED).column(keys[0]));
        }
        v
    }

    /// A number; full-width digits repaired with a warning, a unit written in the value
    /// (`16人`, `9ｍ`, `3階`, `120㎡`) removed with a warning, anything else an error.
    pub fn number(&mut self, keys: &[&'static str]) -> Option<f64> {
        let (k, v) = self.find(keys)?;
        if text::parse_number(&v).is_none() {
            if let Some(n) = strip_unit(&v).and_then(|s| text::parse_number(&s).map(|x| x.0)) {
                self.push(
                    issue(code::UNIT_REMOVED)
                        .column(k)
                        .value(v.clone())
                        .repaired(crate::dataset::fmt_float(n)),
                );
                return Some(n);
            }
        }
        match text::parse_number(&v) {
            Some((n, changed)) => {
                if changed {
                    self.push(
                        issue(code::FULLWIDTH_NORMALIZED)
                            .column(k)
                            .value(v.clone())
                            .repaired(crate::dataset::fmt_float(n)),
                    );
                }
                Some(n)
            }
            None => {
                self.push(
                    issue(code::VALUE_INVALID_NUMBER)
                        .column(k)
                        .value(v)
                        .expected("半角の数値（例: 120）", "a number, e.g. 120"),
                );
                None
            }
        }
    }

    /// A whole number (an integral float is accepted).
    pub fn int(&mut self, keys: &[&'static str]) -> Option<i64> {
        let n = self.number(keys)?;
        if n.fract() != 0.0 {
            let (k, v) = self.find(keys)?;
            self.push(
                issue(code::VALUE_INVALID_NUMBER)
                    .column(k)
                    .value(v)
                    .expected("整数", "a whole number"),
            );
            return None;
        }
        Some(n as i64)
    }

    /// A date as `YYYY-MM-DD`; 和暦 and other forms repaired with a warning.
    pub fn date(&mut self, keys: &[&'static str]) -> Option<String> {
        let (k, v) = self.find(keys)?;
        match text::parse_date(&v) {
            Some((d, DateRepair::None)) => Some(d),
            Some((d, r)) => {
                let c = if r == DateRepair::Wareki {
                    code::WAREKI_CONVERTED
                } else {
                    code::DATE_REFORMATTED
                };
                self.push(issue(c).column(k).value(v).repaired(d.clone()));
                Some(d)
            }
            None => {
                self.push(issue(code::VALUE_INVALID_DATE).column(k).value(v).expected(
                    "YYYY-MM-DD（例: 2024-04-01）または和暦（令和6年4月1日）",
                    "YYYY-MM-DD (e.g. 2024-04-01) or a Japanese-era date",
                ));
                None
            }
        }
    }

    /// A 1/empty flag; `0`, `○`, `有` and the like repaired with a warning.
    pub fn flag(&mut self, keys: &[&'static str]) -> bool {
        let Some((k, v)) = self.find(keys) else {
            return false;
        };
        match text::parse_flag(&v) {
            Some((b, false)) => b,
            Some((b, true)) => {
                self.push(
                    issue(code::FLAG_NORMALIZED)
                        .column(k)
                        .value(v)
                        .repaired(if b { "1" } else { "" }),
                );
                b
            }
            None => {
                self.push(issue(code::VALUE_INVALID_FLAG).column(k).value(v).expected(
                    "「1」（該当）または空欄（該当なし）",
                    "1 (yes) or empty (no)",
                ));
                false
            }
        }
    }

    /// A yes / no / conditional flag read from every column named by `keys` (a file may give
    /// one hazard several columns, e.g. `flood_L1` and `flood_L2`, or a grouped 避難所一覧
    /// column): yes if any says yes, else conditional if any says so, else no if any column
    /// is there. Loose spellings are repaired with a warning; anything else is an error.
    pub fn flag_any(&mut self, keys: &[&'static str]) -> Flag {
        let mut cells: Vec<(&'static str, String)> = Vec::new();
        let mut present = false;
        for &k in keys {
            let nk = text::nfkc_header(k);
            for (h, v) in &self.f.props {
                if *h != k && *h != nk {
                    continue;
                }
                present = true;
                if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
                    cells.push((k, v.to_string()));
                }
            }
        }
        let mut out = if present { Flag::No } else { Flag::Absent };
        for (k, v) in cells {
            let f = match parse_flag3(&v) {
                Some((f, false)) => f,
                Some((f, true)) => {
                    let (c, rep) = match f {
                        Flag::Yes => (code::FLAG_NORMALIZED, "1"),
                        Flag::Conditional => (code::FLAG_CONDITIONAL, "△"),
                        _ => (code::FLAG_NORMALIZED, ""),
                    };
                    self.push(issue(c).column(k).value(v).repaired(rep));
                    f
                }
                None => {
                    self.push(issue(code::VALUE_INVALID_FLAG).column(k).value(v).expected(
                        "「1」（該当）、空欄（該当なし）、○／×、有／無、△（条件付き）など",
                        "1 (yes) or empty (no); also ○/×, 有/無, True/False, Yes/No, △ (conditional)",
                    ));
                    continue;
                }
            };
            out = match (out, f) {
                (Flag::Yes, _) | (_, Flag::Yes) => Flag::Yes,
                (Flag::Conditional, _) | (_, Flag::Conditional) => Flag::Conditional,
                _ => Flag::No,
            };
        }
        out
    }

    /// A 全国地方公共団体コード: lost zeros and missing check digits repaired, a wrong check digit an error.
    pub fn lg_code(&mut self, keys: &[&'static str]) -> Option<String> {
        let (k, v) = self.find(keys)?;
        // `13102` may be 013102 (a 6-digit code that lost its zero) or 131024 (a 5-digit code
        // without its check digit): the record's own prefecture decides, else the clerk.
        if let Some((zero, check)) = text::lg_code_readings(&v) {
            let mentions = |code: &str| {
                text::pref_name(code).is_some_and(|p| {
                    self.f
                        .props
                        .iter()
                        .any(|(_, val)| val.as_deref().is_some_and(|x| x.contains(p)))
                })
            };
            let chosen = match (mentions(&zero), mentions(&check)) {
                (true, false) => Some((zero.clone(), code::LG_CODE_ZERO_RESTORED)),
                (false, true) => Some((check.clone(), code::LG_CODE_CHECK_DIGIT_ADDED)),
                _ => None,
            };
            return match chosen {
                Some((c, why)) => {
                    self.push(issue(why).column(k).value(v).repaired(c.clone()));
                    Some(c)
                }
                None => {
                    self.push(issue(code::LG_CODE_AMBIGUOUS).column(k).value(v).expected(
                        format!(
                            "6桁のコード: {zero}（{}）か {check}（{}）か。6桁で書くか、住所に都道府県名を入れてください",
                            text::pref_name(&zero).unwrap_or("?"),
                            text::pref_name(&check).unwrap_or("?")
                        ),
                        format!(
                            "the 6-digit code: {zero} ({}) or {check} ({}); write it with 6 digits, or put the prefecture in the address",
                            text::pref_name(&zero).unwrap_or("?"),
                            text::pref_name(&check).unwrap_or("?")
                        ),
                    ));
                    None
                }
            };
        }
        match text::lg_code(&v) {
            LgCode::Ok(c, LgRepair::None) => Some(c),
            LgCode::Ok(c, r) => {
                let code = match r {
                    LgRepair::ZeroRestored => code::LG_CODE_ZERO_RESTORED,
                    LgRepair::CheckDigitAdded => code::LG_CODE_CHECK_DIGIT_ADDED,
                    _ => code::FULLWIDTH_NORMALIZED,
                };
                self.push(issue(code).column(k).value(v).repaired(c.clone()));
                Some(c)
            }
            LgCode::BadCheckDigit { expected } => {
                self.push(
                    issue(code::LG_CODE_CHECK_DIGIT)
                        .column(k)
                        .value(v)
                        .expected(
                            format!("検査数字の正しい6桁のコード（{expected} ではありませんか）"),
                            format!("6 digits with a valid check digit (did you mean {expected}?)"),
                        ),
                );
                None
            }
            LgCode::Invalid => {
                self.push(
                    issue(code::LG_CODE_INVALID)
                        .column(k)
                        .value(v)
                        .expected("半角数字6桁（例: 339997）", "6 digits, e.g. 339997"),
                );
                None
            }
        }
    }

    /// The record's geometry as a valid polygon or multipolygon: missing, wrong type and
    /// unrepairable geometry are errors; a rebuilt (self-intersecting) polygon is a warning.
    pub fn polygon(&mut self, g: Option<Geometry<f64>>) -> Option<Geometry<f64>> {
        let Some(g) = g else {
            self.push(issue(code::GEOMETRY_MISSING));
            return None;
        };
        match crate::geom::normalize_polygonal(g) {
            Ok((g, rep)) => {
                if rep.rebuilt {
                    self.push(issue(code::POLYGON_REPAIRED));
                }
                Some(g)
            }
            Err(e @ crate::geom::PolygonError::WrongType(_)) => {
                self.push(
                    issue(code::GEOMETRY_WRONG_TYPE)
                        .detail(e.to_string(), e.to_string())
                        .expected("Polygon / MultiPolygon", "Polygon or MultiPolygon"),
                );
                None
            }
            Err(e) => {
                self.push(issue(code::GEOMETRY_INVALID).detail(e.to_string(), e.to_string()));
                None
            }
        }
    }

    /// Record an arbitrary issue at this record.
    pub fn report(&mut self, b: crate::report::IssueBuilder) {
        self.push(b);
    }
}

fn b_is_error(b: &crate::report::IssueBuilder) -> bool {
    b.severity() == crate::report::Severity::Error
}

/// Bool to a flag value.
pub fn flag_val(b: bool) -> Val {
    Val::Bool(b)
}

/// A designation flag as files write it: not only yes and no. `△` (conditional: e.g. only
/// some floors, only some hazards' scales) must survive as such, never become "no".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flag {
    /// Designated.
    Yes,
    /// Not designated (or the cell is empty).
    No,
    /// Designated with a condition (△, 条件付).
    Conditional,
    /// The file has no such column.
    Absent,
}

/// A flag cell: `1`/empty and the loose spellings [`text::parse_flag`] knows, plus the
/// vocabularies of real lists (`Yes`/`No`, `はい`/`いいえ`, dashes for no, `△` for
/// conditional). The bool says whether the value was written other than `1`.
pub fn parse_flag3(s: &str) -> Option<(Flag, bool)> {
    let (n, _) = text::nfkc(s);
    match n.trim() {
        "△" | "▲" | "▽" | "条件付" | "条件付き" | "一部" | "一部可" => {
            Some((Flag::Conditional, true))
        }
        "\u{2212}" | "ー" | "‐" | "―" | "–" | "—" | "No" | "NO" | "no" | "いいえ" | "不可"
        | "非該当" | "対象外" | "✖" | "✗" => Some((Flag::No, true)),
        "Yes" | "YES" | "yes" | "はい" | "該当" | "対象" => Some((Flag::Yes, true)),
        _ => text::parse_flag(s).map(|(b, r)| (if b { Flag::Yes } else { Flag::No }, r)),
    }
}

/// `16人` → `16`: the value without a unit real lists write after numbers, None when there is
/// no such unit. NFKC has already turned `ｍ` into `m` and `㎡` into `m2`.
fn strip_unit(v: &str) -> Option<String> {
    const UNITS: &[&str] = &[
        "平方メートル",
        "メートル",
        "階建て",
        "階建",
        "人",
        "名",
        "m2",
        "m²",
        "m",
        "M",
        "階",
    ];
    let (n, _) = text::nfkc(v.trim());
    UNITS.iter().find_map(|u| {
        let rest = n.strip_suffix(u)?.trim_end();
        (!rest.is_empty()).then(|| rest.to_string())
    })
}

/// Every header of a file with the value of the first record, for a report that must say
/// which columns were found: `施設=桜台小学校, X座標=-31234.5, …` (long values shortened).
pub fn headers_with_samples(names: &[String], f: &RawFeature) -> String {
    let mut out = Vec::new();
    for n in names.iter().take(40) {
        let sample = f
            .props
            .iter()
            .find(|(k, _)| text::nfkc_header(k) == *n)
            .and_then(|(_, v)| v.as_deref())
            .map(|v| {
                let v: String = v.chars().take(24).collect();
                v
            });
        out.push(match sample {
            Some(v) => format!("{n}={v}"),
            None => format!("{n}=（空）"),
        });
    }
    let mut s = out.join(", ");
    if names.len() > 40 {
        s.push_str(&format!(", …（全{}列）", names.len()));
    }
    s
}
