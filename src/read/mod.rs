//! Readers: CSV, GeoJSON and zipped Shapefile into one stream of [`RawFeature`]s.
//!
//! A reader detects what it can (encoding, CRS, header), records it in the report, converts
//! geometry to JGD2011 lon/lat, and hands each record to a sink one at a time, so a million
//! polygons never sit in memory at once. Problems go into the report with their location; a
//! reader only stops early when the file cannot be read at all ([`Fatal`]).

pub mod csv;
pub mod geojson;
pub mod shapefile;

use crate::crs::{self, Crs, Transformer};
use crate::report::{code, issue, Loc, Report};
use geo::{Geometry, MapCoordsInPlace, Point};
use std::ops::ControlFlow;
use std::path::Path;

/// Input formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values.
    Csv,
    /// GeoJSON (RFC 7946, plus the legacy `crs` member).
    GeoJson,
    /// Zipped ESRI Shapefile.
    ShapefileZip,
    /// A loose `.shp` with its sibling files.
    Shapefile,
}

impl Format {
    /// Name for reports.
    pub fn label(self) -> &'static str {
        match self {
            Format::Csv => "CSV",
            Format::GeoJson => "GeoJSON",
            Format::ShapefileZip => "Shapefile (ZIP)",
            Format::Shapefile => "Shapefile",
        }
    }
}

/// Reading stopped; the reason is already in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fatal;

/// What is known about a source file once its header has been read.
#[derive(Debug)]
pub struct SourceInfo {
    /// File name as shown to the clerk.
    pub file: String,
    /// Format.
    pub format: Format,
    /// Header names in file order (CSV, DBF); empty for GeoJSON.
    pub fields: Vec<String>,
    /// Transformation of this file's coordinates, including CSV latitude/longitude columns.
    pub transformer: Transformer,
}

impl SourceInfo {
    /// Header names (NFKC): the CSV/DBF header, else the feature's property keys; with the
    /// standard columns a column mapping filled (the record's derived cells) first.
    pub fn header_names(&self, f: &RawFeature) -> Vec<String> {
        if self.fields.is_empty() {
            f.props
                .iter()
                .map(|(k, _)| crate::text::nfkc_header(k))
                .collect()
        } else {
            f.derived_keys()
                .chain(self.fields.iter().map(String::as_str))
                .map(crate::text::nfkc_header)
                .collect()
        }
    }
}

/// One record: properties as text (None = empty or null) and an optional geometry already in
/// JGD2011 lon/lat.
#[derive(Debug, Clone, Default)]
pub struct RawFeature {
    /// Row or feature number.
    pub loc: Loc,
    /// Properties in source order.
    pub props: Vec<(String, Option<String>)>,
    /// Geometry in JGD2011 lon/lat.
    pub geometry: Option<Geometry<f64>>,
    /// The first `derived` properties were added by a column mapping (the clerk's reading of
    /// the file's cells); they are looked up first and are not part of [`Self::raw_json`].
    pub derived: usize,
}

impl RawFeature {
    /// Put `cells` in front of the record's own, as derived cells.
    pub fn prepend_derived(&mut self, cells: Vec<(String, Option<String>)>) {
        let n = cells.len();
        self.props.splice(0..0, cells);
        self.derived += n;
    }

    /// Names of the derived cells (standard columns a mapping filled).
    pub fn derived_keys(&self) -> impl Iterator<Item = &str> {
        self.props[..self.derived.min(self.props.len())]
            .iter()
            .map(|(k, _)| k.as_str())
    }

    /// The value of `key` (exact header name), None when absent or empty.
    /// Header names are compared after NFKC, so `名称_英字` matches a header written `名称＿英字`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.slot(key)
            .and_then(|(_, v)| v.as_deref())
            .filter(|v| !v.trim().is_empty())
    }

    fn slot(&self, key: &str) -> Option<&(String, Option<String>)> {
        self.props.iter().find(|(k, _)| k == key).or_else(|| {
            if key.is_ascii() {
                return None;
            }
            let n = crate::text::nfkc_header(key);
            self.props.iter().find(|(k, _)| *k == n)
        })
    }

    /// True when the record has a column named `key` (even if empty).
    pub fn has(&self, key: &str) -> bool {
        self.slot(key).is_some()
    }

    /// The first of `keys` present with a value, and which key it was.
    pub fn get_any<'k>(&self, keys: &[&'k str]) -> Option<(&'k str, &str)> {
        keys.iter().find_map(|k| self.get(k).map(|v| (*k, v)))
    }

    /// The properties as a JSON object, kept as `raw` so nothing the city sent is lost.
    pub fn raw_json(&self) -> String {
        let m: serde_json::Map<String, serde_json::Value> = self.props
            [self.derived.min(self.props.len())..]
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_ref().map_or(serde_json::Value::Null, |s| {
                        serde_json::Value::String(s.clone())
                    }),
                )
            })
            .collect();
        serde_json::Value::Object(m).to_string()
    }
}

/// Receives records one at a time; `Break` stops the reader before the next record (an upload
/// refused for its time budget must not keep a thread parsing the rest of its files).
pub type Sink<'a> = dyn FnMut(&SourceInfo, RawFeature, &mut Report) -> ControlFlow<()> + 'a;

/// Guess the format from the name, then from the first bytes.
pub fn detect_format(path: &Path) -> Option<Format> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "csv" | "txt" | "tsv" => return Some(Format::Csv),
        "geojson" | "json" => return Some(Format::GeoJson),
        "zip" => return Some(Format::ShapefileZip),
        "shp" => return Some(Format::Shapefile),
        _ => {}
    }
    let mut head = [0u8; 4];
    use std::io::Read;
    let n = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    match &head[..n] {
        [b'P', b'K', 3, 4] => Some(Format::ShapefileZip),
        [b'{', ..] | [0xEF, 0xBB, 0xBF, b'{'] => Some(Format::GeoJson),
        _ => Some(Format::Csv),
    }
}

/// Read one file and hand its records to `sink`. `name` is how the clerk knows the file;
/// `crs_override` replaces whatever the file says (`--crs`).
pub fn read(
    path: &Path,
    name: &str,
    crs_override: Option<Crs>,
    report: &mut Report,
    sink: &mut Sink<'_>,
) -> Result<(), Fatal> {
    let Some(format) = detect_format(path) else {
        report.push_in(
            name,
            issue(code::IO_ERROR).detail("開けません", "cannot open"),
        );
        return Err(Fatal);
    };
    report.format = Some(format.label().to_string());
    match format {
        Format::Csv => csv::read(path, name, crs_override, report, sink),
        Format::GeoJson => geojson::read(path, name, crs_override, report, sink),
        Format::ShapefileZip | Format::Shapefile => {
            shapefile::read(path, name, format, crs_override, report, sink)
        }
    }
}

/// Build the transformer for a CRS, reporting what was detected (and approximations).
pub(crate) fn transformer_for(
    crs: Crs,
    how: &str,
    name: &str,
    report: &mut Report,
) -> Result<Transformer, Fatal> {
    report.crs = Some(crs.label());
    report.push_in(
        name,
        issue(code::CRS_DETECTED)
            .value(crs.label())
            .detail(how.to_string(), how.to_string()),
    );
    if crs.approximate() {
        report.push_in(name, issue(code::CRS_APPROXIMATE).value(crs.label()));
    }
    Transformer::new(crs).map_err(|e| {
        report.push_in(
            name,
            issue(code::CRS_UNSUPPORTED)
                .value(crs.label())
                .detail(e.to_string(), e.to_string()),
        );
        Fatal
    })
}

/// Bring a geometry into JGD2011 lon/lat and check it lies in Japan. Coordinates outside Japan
/// that fall inside once x and y are exchanged are exchanged back, with a warning.
pub(crate) fn place_geometry(
    src: &SourceInfo,
    loc: Loc,
    mut g: Geometry<f64>,
    report: &mut Report,
) -> Option<Geometry<f64>> {
    if let Err(e) = src.transformer.geometry(&mut g) {
        report.push_in(
            &src.file,
            issue(code::CRS_UNSUPPORTED)
                .at(loc)
                .detail(e.to_string(), e.to_string()),
        );
        return None;
    }
    let Some([x0, y0, x1, y1]) = crate::geom::bbox(&g) else {
        report.push_in(&src.file, issue(code::GEOMETRY_MISSING).at(loc));
        return None;
    };
    if crs::in_japan(x0, y0) && crs::in_japan(x1, y1) {
        return Some(g);
    }
    if src.transformer.is_identity() && crs::in_japan(y0, x0) && crs::in_japan(y1, x1) {
        g.map_coords_in_place(|c| geo::Coord { x: c.y, y: c.x });
        report.push_in(
            &src.file,
            issue(code::LATLON_SWAPPED)
                .at(loc)
                .value(format!("{x0:.6}, {y0:.6}"))
                .repaired(format!("{y0:.6}, {x0:.6}")),
        );
        return Some(g);
    }
    report.push_in(
        &src.file,
        issue(code::COORD_OUTSIDE_JAPAN)
            .at(loc)
            .value(format!("{x0:.6}, {y0:.6} – {x1:.6}, {y1:.6}"))
            .expected(
                "日本国内の経度122〜154度・緯度20〜46度（座標系の指定を確認してください）",
                "longitude 122–154, latitude 20–46 (check the CRS)",
            ),
    );
    None
}

/// A point from CSV latitude and longitude columns, with the swap repair and range check.
pub fn point_from_latlon(
    src: &SourceInfo,
    loc: Loc,
    lat: f64,
    lon: f64,
    columns: (&str, &str),
    report: &mut Report,
) -> Option<Point<f64>> {
    let (lon, lat) = match src.transformer.point(lon, lat) {
        Ok(p) => p,
        Err(e) => {
            report.push_in(
                &src.file,
                issue(code::CRS_UNSUPPORTED)
                    .at(loc)
                    .detail(e.to_string(), e.to_string()),
            );
            return None;
        }
    };
    if crs::in_japan(lon, lat) {
        return Some(Point::new(lon, lat));
    }
    if crs::in_japan(lat, lon) {
        report.push_in(
            &src.file,
            issue(code::LATLON_SWAPPED)
                .at(loc)
                .column(format!("{}/{}", columns.0, columns.1))
                .value(format!("緯度 lat {lat}, 経度 lon {lon}"))
                .repaired(format!("緯度 lat {lon}, 経度 lon {lat}")),
        );
        return Some(Point::new(lat, lon));
    }
    report.push_in(
        &src.file,
        issue(code::COORD_OUTSIDE_JAPAN)
            .at(loc)
            .column(format!("{}/{}", columns.0, columns.1))
            .value(format!("緯度 lat {lat}, 経度 lon {lon}"))
            .expected(
                "緯度20〜46・経度122〜154の十進数",
                "decimal latitude 20–46 and longitude 122–154",
            ),
    );
    None
}
