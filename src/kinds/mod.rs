//! Normalisers: one per dataset kind, turning [`RawFeature`]s of any accepted layout into rows of
//! the canonical table (columns in [`crate::dataset`]), with every repair and rejection reported.
//!
//! Layouts are recognised by header names, never by column position.

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

    /// A number; full-width digits repaired with a warning, anything else an error.
    pub fn number(&mut self, keys: &[&'static str]) -> Option<f64> {
        let (k, v) = self.find(keys)?;
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

    /// A 全国地方公共団体コード: lost zeros and missing check digits repaired, a wrong check digit an error.
    pub fn lg_code(&mut self, keys: &[&'static str]) -> Option<String> {
        let (k, v) = self.find(keys)?;
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
