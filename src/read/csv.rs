//! CSV as municipalities export it: UTF-8 with or without BOM or Shift_JIS, CRLF, quoted
//! newlines, Excel's trailing empty columns and rows.

use super::{transformer_for, Fatal, Format, RawFeature, Sink, SourceInfo};
use crate::crs::{Crs, STORE_EPSG};
use crate::report::{code, issue, Loc, Report};
use crate::text::{self, TextEncoding};
use std::path::Path;

/// Read a CSV file. Latitude/longitude columns are interpreted by the dataset's normaliser; the
/// CRS (JGD2011 unless `--crs` says otherwise) travels in the [`SourceInfo`].
pub fn read(
    path: &Path,
    name: &str,
    crs_override: Option<Crs>,
    report: &mut Report,
    sink: &mut Sink<'_>,
) -> Result<(), Fatal> {
    let bytes = std::fs::read(path).map_err(|e| {
        report.push_in(
            name,
            issue(code::IO_ERROR).detail(e.to_string(), e.to_string()),
        );
        Fatal
    })?;
    let (textbuf, enc) = match text::decode(&bytes) {
        Ok(v) => v,
        Err(e) => {
            report.push_in(
                name,
                issue(code::ENCODING_INVALID).at(Loc::Row(e.line)).expected(
                    "UTF-8（BOMあり・なし）またはShift_JIS",
                    "UTF-8 (with or without BOM) or Shift_JIS",
                ),
            );
            return Err(Fatal);
        }
    };
    report.encoding = Some(enc.label().to_string());
    report.push_in(name, issue(code::ENCODING_DETECTED).value(enc.label()));
    if enc == TextEncoding::Utf8Bom {
        report.push_in(name, issue(code::BOM_REMOVED));
    }
    let crs = match crs_override {
        Some(c) => c,
        None => Crs::from_epsg(STORE_EPSG).map_err(|_| Fatal)?,
    };
    let how = if crs_override.is_some() {
        "--crs"
    } else {
        "CSVの緯度経度はJGD2011 / CSV lat-lon taken as JGD2011"
    };
    let transformer = transformer_for(crs, how, name, report)?;
    read_text(&textbuf, name, transformer, report, sink)
}

/// Most columns a CSV may have: the widest published layouts have under a hundred, and every
/// record holds one cell per column, so 200,000 columns would cost far more than the file.
pub const MAX_COLUMNS: usize = 2000;

/// Parse decoded CSV text (split out so tests can feed strings).
pub fn read_text(
    textbuf: &str,
    name: &str,
    transformer: crate::crs::Transformer,
    report: &mut Report,
    sink: &mut Sink<'_>,
) -> Result<(), Fatal> {
    let mut rdr = ::csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(textbuf.as_bytes());
    let mut records = rdr.records();
    // Header: the first record that is not blank.
    let mut excel_row = 0u64;
    let header = loop {
        match records.next() {
            None => {
                report.push_in(name, issue(code::NO_RECORDS));
                return Err(Fatal);
            }
            Some(Err(e)) => {
                report.push_in(name, malformed(&e));
                return Err(Fatal);
            }
            Some(Ok(r)) => {
                excel_row = self::excel_row(textbuf, &r, excel_row);
                if r.iter().all(|c| c.trim().is_empty()) {
                    continue;
                }
                break r;
            }
        }
    };
    if header.len() > MAX_COLUMNS {
        report.push_in(
            name,
            issue(code::CSV_MALFORMED).at(Loc::Row(excel_row)).detail(
                format!("見出しが{}列あります（上限{MAX_COLUMNS}列）", header.len()),
                format!("{} header columns (at most {MAX_COLUMNS})", header.len()),
            ),
        );
        return Err(Fatal);
    }
    let mut fields: Vec<String> = header.iter().map(text::nfkc_header).collect();
    let mut trailing = 0;
    while fields.last().is_some_and(|f| f.is_empty()) {
        fields.pop();
        trailing += 1;
    }
    if trailing > 0 {
        report.push_in(
            name,
            issue(code::TRAILING_COLUMNS_IGNORED)
                .at(Loc::Row(excel_row))
                .detail(format!("{trailing}列"), format!("{trailing} columns")),
        );
    }
    // An unnamed header cell in the middle (seen in published files of the national layout):
    // the column is named by its position, so its values are kept with the record and the
    // named columns around it are read as usual.
    let empty: Vec<usize> = (0..fields.len())
        .filter(|&i| fields[i].is_empty())
        .collect();
    for &i in &empty {
        let mut n = format!("列{}", i + 1);
        while fields.contains(&n) {
            n.push('_');
        }
        fields[i] = n;
    }
    if !empty.is_empty() {
        let list = empty
            .iter()
            .map(|i| (i + 1).to_string())
            .collect::<Vec<_>>()
            .join(", ");
        report.push_in(
            name,
            issue(code::HEADER_EMPTY_NAMED)
                .at(Loc::Row(excel_row))
                .value(
                    empty
                        .iter()
                        .map(|&i| fields[i].clone())
                        .collect::<Vec<_>>()
                        .join(", "),
                )
                .detail(format!("{list}列目"), format!("column {list}")),
        );
    }
    let src = SourceInfo {
        file: name.to_string(),
        format: Format::Csv,
        fields: fields.clone(),
        transformer,
    };
    let mut blank = 0u64;
    let mut first_blank = None;
    for rec in records {
        let r = match rec {
            Ok(r) => r,
            Err(e) => {
                report.push_in(name, malformed(&e));
                return Err(Fatal);
            }
        };
        let row = self::excel_row(textbuf, &r, excel_row);
        excel_row = row;
        if r.iter().all(|c| c.trim().is_empty()) {
            blank += 1;
            first_blank.get_or_insert(row);
            continue;
        }
        if r.len() > fields.len() && r.iter().skip(fields.len()).any(|c| !c.trim().is_empty()) {
            report.push_in(
                name,
                issue(code::CSV_MALFORMED).at(Loc::Row(row)).detail(
                    format!(
                        "見出しは{}列ですが、この行には{}列の値があります",
                        fields.len(),
                        r.len()
                    ),
                    format!(
                        "{} header columns but {} values in this row",
                        fields.len(),
                        r.len()
                    ),
                ),
            );
            continue;
        }
        let props = fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let v = r.get(i).map(str::trim).filter(|v| !v.is_empty());
                (f.clone(), v.map(str::to_string))
            })
            .collect();
        report.records_read += 1;
        let flow = sink(
            &src,
            RawFeature {
                loc: Loc::Row(row),
                props,
                geometry: None,
                derived: 0,
            },
            report,
        );
        if flow.is_break() {
            return Ok(());
        }
    }
    if blank > 0 {
        report.push_in(
            name,
            issue(code::EMPTY_ROWS_SKIPPED)
                .at(Loc::Row(first_blank.unwrap_or(0)))
                .detail(format!("{blank}行"), format!("{blank} rows")),
        );
    }
    Ok(())
}

/// The spreadsheet row of a record: blank lines count as rows, quoted newlines do not. The csv
/// crate positions a record just after the previous record's last field, so the line breaks
/// between there and the record's first byte are the previous terminator plus any blank lines.
fn excel_row(textbuf: &str, r: &::csv::StringRecord, prev_row: u64) -> u64 {
    let start = r.position().map_or(0, |p| p.byte() as usize);
    let breaks = textbuf
        .as_bytes()
        .get(start..)
        .unwrap_or_default()
        .iter()
        .take_while(|&&b| b == b'\r' || b == b'\n')
        .filter(|&&b| b == b'\n')
        .count() as u64;
    let blank = if prev_row == 0 {
        breaks
    } else {
        breaks.saturating_sub(1)
    };
    prev_row + 1 + blank
}

fn malformed(e: &::csv::Error) -> crate::report::IssueBuilder {
    let line = e.position().map_or(0, |p| p.line());
    issue(code::CSV_MALFORMED)
        .at(Loc::Row(line))
        .detail(e.to_string(), e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crs::Transformer;

    fn run(text: &str) -> (Vec<RawFeature>, Report) {
        let mut report = Report::new("t.csv");
        let mut out = Vec::new();
        let t = Transformer::new(Crs::from_epsg(6668).unwrap()).unwrap();
        let _ = read_text(text, "t.csv", t, &mut report, &mut |_, f, _| {
            out.push(f);
            std::ops::ControlFlow::Continue(())
        });
        (out, report)
    }

    #[test]
    fn excel_export_with_trailing_columns_blank_rows_and_quoted_newline() {
        let (rows, report) = run(
            "名称,住所,,\r\nA小学校,\"桜台1-2\r\n別棟\",,\r\n,,,\r\n\r\nB公園,\"川端町, 3\",,\r\n",
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].get("住所"), Some("桜台1-2\r\n別棟"));
        assert_eq!(rows[0].loc, Loc::Row(2));
        // Row 3 is ",,,", row 4 the empty line, so B公園 is row 5 as Excel shows it.
        assert_eq!(rows[1].loc, Loc::Row(5));
        assert_eq!(rows[1].get("住所"), Some("川端町, 3"));
        assert_eq!(report.count(code::TRAILING_COLUMNS_IGNORED), 1);
        assert_eq!(report.count(code::EMPTY_ROWS_SKIPPED), 1);
        assert!(!report.rejected());
    }

    #[test]
    fn extra_values_beyond_header_are_an_error() {
        let (rows, report) = run("a,b\n1,2,3\n");
        assert!(rows.is_empty());
        assert!(report.rejected());
        assert_eq!(
            report
                .issues
                .iter()
                .find(|i| i.code == "CSV_MALFORMED")
                .unwrap()
                .loc,
            Loc::Row(2)
        );
    }

    #[test]
    fn header_names_are_width_normalised() {
        let (rows, _) = run("名称_英字,災害種別_洪水\nx,1\n");
        assert_eq!(rows[0].get("名称_英字"), Some("x"));
        let (rows, _) = run("ＩＤ,名称\n1,x\n");
        assert_eq!(rows[0].get("ID"), Some("1"));
    }

    #[test]
    fn empty_file_is_rejected() {
        let (_, report) = run("\r\n\r\n");
        assert_eq!(report.count(code::NO_RECORDS), 1);
    }

    #[test]
    fn a_header_of_too_many_columns_is_refused_before_any_record() {
        let body = format!(
            "{}名称\n{}x\n",
            "a,".repeat(MAX_COLUMNS),
            ",".repeat(MAX_COLUMNS)
        );
        let (rows, report) = run(&body);
        assert!(rows.is_empty());
        assert_eq!(report.count(code::CSV_MALFORMED), 1);
        assert!(
            report.render_text().contains("2001"),
            "{}",
            report.render_text()
        );
    }
}
