//! Zipped (or loose) ESRI Shapefile through [`crate::shp`]: CRS from the `.prj`, text encoding
//! from the `.cpg` or the DBF language driver, records streamed.

use super::{place_geometry, transformer_for, Fatal, Format, RawFeature, Sink, SourceInfo};
use crate::crs::{self, Crs};
use crate::report::{code, issue, Loc, Report};
use crate::shp::{self, EncodingSource, RepairNote, ShpError, ZipLimits};
use std::path::Path;

/// Read a shapefile (zip or loose `.shp`).
pub fn read(
    path: &Path,
    name: &str,
    format: Format,
    crs_override: Option<Crs>,
    report: &mut Report,
    sink: &mut Sink<'_>,
) -> Result<(), Fatal> {
    let opened = match format {
        Format::Shapefile => shp::open_files(path),
        _ => shp::open_zip(path, &ZipLimits::default()),
    };
    let reader = opened.map_err(|e| {
        report.push_in(name, shp_issue(&e, Loc::File));
        Fatal
    })?;
    let info = reader.info();
    let stem = info.entry_stem.clone();
    let prj = info.prj.clone();
    let field_names: Vec<String> = info.fields.iter().map(|f| f.name.clone()).collect();
    let member = |ext: &str| format!("{name}/{stem}.{ext}");
    let enc_label = match &info.encoding_source {
        EncodingSource::Cpg(s) => format!("{} (.cpg: {s})", info.encoding.name()),
        EncodingSource::LanguageDriver(b) => {
            format!(
                "{} (DBF言語ドライバ / language driver 0x{b:02X})",
                info.encoding.name()
            )
        }
        EncodingSource::DetectedUtf8 => "UTF-8 (判定 / detected)".to_string(),
        EncodingSource::AssumedCp932 => "Shift_JIS (CP932) (判定 / detected)".to_string(),
    };
    report.encoding = Some(enc_label.clone());
    report.push_in(
        &member("dbf"),
        issue(code::ENCODING_DETECTED).value(enc_label),
    );
    let (crs, how) = match (crs_override, &prj) {
        (Some(c), _) => (c, "--crs".to_string()),
        (None, Some(wkt)) => match crs::identify_wkt(wkt) {
            Ok(c) => (c, ".prj".to_string()),
            Err(e) => {
                report.push_in(
                    &member("prj"),
                    issue(code::CRS_UNSUPPORTED)
                        .value(wkt.chars().take(120).collect::<String>())
                        .detail(e.to_string(), e.to_string())
                        .expected(
                            "JGD2011/JGD2000/旧日本測地系の経緯度・平面直角座標系、WGS 84、Webメルカトル（または --crs で指定）",
                            "JGD2011/JGD2000/Tokyo geographic or plane zones, WGS 84, Web Mercator (or give --crs)",
                        ),
                );
                return Err(Fatal);
            }
        },
        (None, None) => {
            report.push_in(
                &member("prj"),
                issue(code::CRS_MISSING).expected(
                    ".prjファイルを付けるか、--crs EPSG:6673 のように指定してください",
                    "add the .prj file or give --crs, e.g. --crs EPSG:6673",
                ),
            );
            return Err(Fatal);
        }
    };
    let transformer = transformer_for(crs, &how, name, report)?;
    let src = SourceInfo {
        file: member("shp"),
        format,
        fields: field_names.clone(),
        transformer,
    };
    for rec in reader.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                report.push_in(name, shp_issue(&e, Loc::File));
                // One bad record says the file is damaged: stop here.
                return Err(Fatal);
            }
        };
        let loc = Loc::Feature(rec.index as u64);
        report.records_read += 1;
        for n in &rec.notes {
            let b = match n {
                RepairNote::RingClosed { .. } => issue(code::RING_CLOSED),
                RepairNote::WindingFixed { .. } => issue(code::RING_WINDING_FIXED),
                RepairNote::OrphanHoleAsShell { .. } => issue(code::RING_WINDING_FIXED).detail(
                    "外側の輪郭に含まれない穴を外側の輪郭として扱いました",
                    "a hole outside every shell was made a shell",
                ),
                RepairNote::EmptyShape => continue,
            };
            report.push_in(&src.file, b.at(loc));
        }
        let geometry = match rec.geometry {
            None => None,
            Some(g) => match place_geometry(&src, loc, g, report) {
                Some(g) => Some(g),
                None => continue,
            },
        };
        let props = field_names
            .iter()
            .zip(rec.attributes.iter())
            .map(|(f, v)| (f.clone(), v.to_text()))
            .collect();
        let flow = sink(
            &src,
            RawFeature {
                loc,
                props,
                geometry,
                derived: 0,
            },
            report,
        );
        if flow.is_break() {
            return Ok(());
        }
    }
    Ok(())
}

fn shp_issue(e: &ShpError, loc: Loc) -> crate::report::IssueBuilder {
    let c = e.code();
    let base = if c.starts_with("ZIP") {
        issue(code::ARCHIVE_REFUSED)
    } else {
        issue(code::SHAPEFILE_INVALID)
    };
    base.at(loc).value(c).detail(e.message_ja(), e.to_string())
}
