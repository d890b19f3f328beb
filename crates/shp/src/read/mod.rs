//! Reading a shapefile (`.shp` + `.shx` + `.dbf` + `.prj` + `.cpg`) into
//! [`geo`] geometries and typed attributes.
//!
//! Everything is held in memory and checked byte by byte: malformed input
//! gives a located [`ShpError`], never a panic.

use std::path::Path;

use encoding_rs::{Encoding, SHIFT_JIS, UTF_8};
use geo::{Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

use super::dbf::{DbfField, DbfTable, DbfValue};
use super::zipsafe::{SafeZip, ZipLimits};
use super::ShpError;

/// Which rule decided the text encoding of the `.dbf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EncodingSource {
    /// The `.cpg` file (its trimmed content).
    Cpg(String),
    /// The dBASE language driver id byte (`0x13` or `0x7B` = CP932).
    LanguageDriver(u8),
    /// Neither said anything and every text field is valid UTF-8.
    DetectedUtf8,
    /// Neither said anything and some text is not UTF-8: CP932 assumed.
    AssumedCp932,
}

/// What the headers say about the shapefile.
#[derive(Debug, Clone)]
pub struct ShapefileInfo {
    /// Path inside the zip without extension (or the file stem for loose files).
    pub entry_stem: String,
    /// ESRI shape type code of the `.shp` header (0, 1, 3, 5, 8, 11, ... 28).
    pub shape_type: u32,
    /// The `.prj` text (WKT), if present.
    pub prj: Option<String>,
    /// Text encoding of the `.dbf` (`SHIFT_JIS` is CP932 in encoding_rs).
    pub encoding: &'static Encoding,
    pub encoding_source: EncodingSource,
    /// Attribute columns, aligned with [`ShpRecord::attributes`].
    pub fields: Vec<DbfField>,
    /// Number of records in the `.dbf` header, deleted records included.
    pub record_count: usize,
    /// `[xmin, ymin, xmax, ymax]` from the `.shp` header.
    pub bbox: [f64; 4],
    /// Non-fatal remarks in English: unrecognised `.cpg` text, skipped
    /// field types, unusable `.shx` (records then read sequentially).
    pub warnings: Vec<String>,
}

/// A repair applied while reading one record. `ring` is the 0-based part
/// number inside the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RepairNote {
    /// The ring's last point differed from its first; it was closed.
    RingClosed { ring: usize },
    /// The ring was counter-clockwise but is a shell (all rings of the
    /// polygon were counter-clockwise; nesting decided by containment).
    WindingFixed { ring: usize },
    /// A hole (counter-clockwise ring) inside no shell was made a shell.
    OrphanHoleAsShell { ring: usize },
    /// A non-null shape with no usable part (no points, degenerate rings).
    EmptyShape,
}

/// One record: geometry plus attributes.
#[derive(Debug, Clone, PartialEq)]
pub struct ShpRecord {
    /// 1-based record number, the same in the `.shp` and the `.dbf`.
    pub index: usize,
    /// `None` for a null shape (or an empty one, see [`RepairNote::EmptyShape`]).
    pub geometry: Option<Geometry<f64>>,
    /// Aligned with [`ShapefileInfo::fields`].
    pub attributes: Vec<DbfValue>,
    pub notes: Vec<RepairNote>,
}

/// An opened shapefile, ready to stream its records.
pub struct ShapefileReader {
    info: ShapefileInfo,
    shp_file: String,
    shp: Vec<u8>,
    /// Byte offset of each record header in `shp`, record 1 first.
    offsets: Vec<usize>,
    /// Sequential reading hit a truncated record right after `offsets`.
    tail_error: Option<String>,
    dbf: DbfTable,
}

impl std::fmt::Debug for ShapefileReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShapefileReader")
            .field("info", &self.info)
            .field("shp_file", &self.shp_file)
            .field("records", &self.offsets.len())
            .finish()
    }
}

/// The raw parts found for one shapefile.
struct Parts {
    stem: String,
    shp: (String, Vec<u8>),
    shx: Option<(String, Vec<u8>)>,
    dbf: (String, Vec<u8>),
    prj: Option<Vec<u8>>,
    cpg: Option<Vec<u8>>,
}

/// Opens a zip holding exactly one shapefile (possibly in a sub-folder).
pub fn open_zip(path: &Path, limits: &ZipLimits) -> Result<ShapefileReader, ShpError> {
    let mut zip = SafeZip::open(path, limits)?;
    let zip_path = zip.path().to_string();

    // (position in zip.entries, stem, lower-case extension)
    let named: Vec<(usize, String, String)> = zip
        .entries
        .iter()
        .enumerate()
        .filter(|(_, e)| !e.ignored)
        .filter_map(|(pos, e)| {
            let (stem, ext) = split_ext(&e.name)?;
            Some((pos, stem.to_string(), ext.to_ascii_lowercase()))
        })
        .collect();
    let shps: Vec<&(usize, String, String)> = named.iter().filter(|(_, _, x)| x == "shp").collect();
    let (shp_pos, stem) = match shps.as_slice() {
        [] => {
            let stem = named
                .iter()
                .find(|(_, _, x)| x == "dbf" || x == "shx")
                .map(|(_, s, _)| s.clone())
                .unwrap_or_else(|| file_stem_of(path));
            return Err(ShpError::MissingPart {
                path: zip_path,
                stem,
                part: "shp",
            });
        }
        [one] => (one.0, one.1.clone()),
        many => {
            let mut stems: Vec<String> = many.iter().map(|(_, s, _)| s.clone()).collect();
            stems.sort();
            stems.dedup();
            return Err(ShpError::SeveralShapefiles {
                path: zip_path,
                stems,
            });
        }
    };
    let stem_lower = stem.to_lowercase();
    let sibling = |ext: &str| -> Option<usize> {
        let matches: Vec<&(usize, String, String)> = named
            .iter()
            .filter(|(_, s, x)| x == ext && s.to_lowercase() == stem_lower)
            .collect();
        matches
            .iter()
            .find(|(_, s, _)| *s == stem)
            .or_else(|| matches.first())
            .map(|(pos, _, _)| *pos)
    };
    let dbf_pos = sibling("dbf").ok_or_else(|| ShpError::MissingPart {
        path: zip_path.clone(),
        stem: stem.clone(),
        part: "dbf",
    })?;
    let shx_pos = sibling("shx");
    let prj_pos = sibling("prj");
    let cpg_pos = sibling("cpg");

    let mut read = |pos: usize| -> Result<(String, Vec<u8>), ShpError> {
        let name = zip
            .entries
            .get(pos)
            .map(|e| e.name.clone())
            .unwrap_or_default();
        Ok((name, zip.read(pos)?))
    };
    let shp = read(shp_pos)?;
    let dbf = read(dbf_pos)?;
    let shx = shx_pos.map(&mut read).transpose()?;
    let prj = prj_pos.map(&mut read).transpose()?.map(|(_, b)| b);
    let cpg = cpg_pos.map(&mut read).transpose()?.map(|(_, b)| b);
    build(Parts {
        stem,
        shp,
        shx,
        dbf,
        prj,
        cpg,
    })
}

/// Opens a loose `.shp` with its siblings `.shx`, `.dbf`, `.prj`, `.cpg` in
/// the same folder (extensions matched case-insensitively).
pub fn open_files(shp_path: &Path) -> Result<ShapefileReader, ShpError> {
    let shown = shp_path.display().to_string();
    let io = |path: &Path, source: std::io::Error| ShpError::Io {
        path: path.display().to_string(),
        source,
    };
    let stem = shp_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let shp = std::fs::read(shp_path).map_err(|e| io(shp_path, e))?;
    let dir = match shp_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let mut siblings: Vec<(String, String, std::path::PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(|e| io(&dir, e))? {
        let entry = entry.map_err(|e| io(&dir, e))?;
        let p = entry.path();
        let (Some(s), Some(x)) = (p.file_stem(), p.extension()) else {
            continue;
        };
        siblings.push((
            s.to_string_lossy().into_owned(),
            x.to_string_lossy().to_ascii_lowercase(),
            p,
        ));
    }
    let stem_lower = stem.to_lowercase();
    let find = |ext: &str| -> Option<std::path::PathBuf> {
        let all: Vec<_> = siblings
            .iter()
            .filter(|(s, x, _)| x == ext && s.to_lowercase() == stem_lower)
            .collect();
        all.iter()
            .find(|(s, _, _)| *s == stem)
            .or_else(|| all.first())
            .map(|(_, _, p)| p.clone())
    };
    let load = |p: std::path::PathBuf| -> Result<(String, Vec<u8>), ShpError> {
        let bytes = std::fs::read(&p).map_err(|e| io(&p, e))?;
        Ok((p.display().to_string(), bytes))
    };
    let dbf = find("dbf").ok_or_else(|| ShpError::MissingPart {
        path: shown.clone(),
        stem: stem.clone(),
        part: "dbf",
    })?;
    let dbf = load(dbf)?;
    let shx = find("shx").map(load).transpose()?;
    let prj = find("prj").map(load).transpose()?.map(|(_, b)| b);
    let cpg = find("cpg").map(load).transpose()?.map(|(_, b)| b);
    build(Parts {
        stem,
        shp: (shown, shp),
        shx,
        dbf,
        prj,
        cpg,
    })
}

fn file_stem_of(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `dir/name.ext` -> (`dir/name`, `ext`); `None` without an extension.
fn split_ext(name: &str) -> Option<(&str, &str)> {
    let base_start = name.rfind('/').map_or(0, |p| p + 1);
    let dot = name.rfind('.')?;
    if dot <= base_start {
        return None;
    }
    Some((name.get(..dot)?, name.get(dot + 1..)?))
}

/// Encoding named by a `.cpg` file; `None` when not recognised.
fn cpg_encoding(text: &str) -> Option<&'static Encoding> {
    let t = text.trim().to_ascii_lowercase();
    match t.as_str() {
        "utf-8" | "utf8" | "65001" | "cp65001" => Some(UTF_8),
        "cp932" | "sjis" | "shift_jis" | "shift-jis" | "932" | "windows-31j" | "ms932"
        | "ansi 932" => Some(SHIFT_JIS),
        _ => Encoding::for_label(t.as_bytes()).filter(|e| *e == UTF_8 || *e == SHIFT_JIS),
    }
}

/// Encoding named by a dBASE language driver id; only the ids we are sure of.
fn ldid_encoding(ldid: u8) -> Option<&'static Encoding> {
    match ldid {
        0x13 | 0x7B => Some(SHIFT_JIS),
        _ => None,
    }
}

fn decode_small_text(bytes: &[u8]) -> String {
    let text = match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => SHIFT_JIS.decode_without_bom_handling(bytes).0.into_owned(),
    };
    text.trim_start_matches('\u{feff}')
        .trim_matches(|c: char| c.is_whitespace() || c == '\0')
        .to_string()
}

fn be_i32(data: &[u8], at: usize) -> Option<i32> {
    let b: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(i32::from_be_bytes(b))
}

fn le_u32(data: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

fn le_f64(data: &[u8], at: usize) -> Option<f64> {
    let b: [u8; 8] = data.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(f64::from_le_bytes(b))
}

const SUPPORTED_TYPES: [u32; 13] = [0, 1, 3, 5, 8, 11, 13, 15, 18, 21, 23, 25, 28];

/// Checks a `.shp`/`.shx` main header; returns (declared length in bytes, shape type, bbox).
fn parse_main_header(file: &str, data: &[u8]) -> Result<(Option<usize>, u32, [f64; 4]), ShpError> {
    let bad = |detail: String| ShpError::BadHeader {
        file: file.to_string(),
        detail,
    };
    if data.len() < 100 {
        return Err(bad(format!(
            "the file has {} bytes, fewer than the 100-byte header",
            data.len()
        )));
    }
    let code = be_i32(data, 0).unwrap_or(0);
    if code != 9994 {
        return Err(bad(format!("file code is {code}, expected 9994")));
    }
    let declared = be_i32(data, 24)
        .and_then(|w| usize::try_from(w).ok())
        .and_then(|w| w.checked_mul(2));
    let shape_type = le_u32(data, 32).unwrap_or(u32::MAX);
    let mut bbox = [0.0; 4];
    for (i, v) in bbox.iter_mut().enumerate() {
        *v = le_f64(data, 36 + 8 * i).unwrap_or(0.0);
    }
    Ok((declared, shape_type, bbox))
}

/// Record offsets from a `.shx`; `Err(why)` when the index is unusable.
fn shx_offsets(file: &str, data: &[u8]) -> Result<Vec<usize>, String> {
    parse_main_header(file, data).map_err(|e| e.to_string())?;
    let n = (data.len() - 100) / 8;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let words = be_i32(data, 100 + 8 * i).unwrap_or(-1);
        // An invalid offset is kept as "beyond the file" and reported on that record.
        let bytes = usize::try_from(words)
            .ok()
            .and_then(|w| w.checked_mul(2))
            .unwrap_or(usize::MAX);
        out.push(bytes);
    }
    Ok(out)
}

/// Walks the `.shp` record headers. Returns the offsets and, when the file
/// ends inside a record (or before its declared length), a description.
fn scan_sequential(shp: &[u8], declared: Option<usize>) -> (Vec<usize>, Option<String>) {
    // A header length below 100 is nonsense: ignore it rather than read nothing.
    let declared = declared.filter(|&d| d >= 100);
    let end = declared.map_or(shp.len(), |d| d.min(shp.len()));
    let mut offsets = Vec::new();
    let mut pos = 100usize;
    while pos < end {
        let Some(words) = be_i32(shp, pos + 4).filter(|_| pos + 8 <= end) else {
            return (
                offsets,
                Some(format!(
                    "the file ends at byte {} inside the record header at byte {pos}",
                    shp.len()
                )),
            );
        };
        let Some(len) = usize::try_from(words).ok().and_then(|w| w.checked_mul(2)) else {
            return (
                offsets,
                Some(format!("negative content length {words} at byte {pos}")),
            );
        };
        let next = pos.saturating_add(8).saturating_add(len);
        if next > shp.len() {
            return (
                offsets,
                Some(format!(
                    "the record needs {} bytes from byte {pos} but the file ends at byte {} (truncated file)",
                    8 + len,
                    shp.len()
                )),
            );
        }
        offsets.push(pos);
        pos = next;
    }
    if declared.is_some_and(|d| d > shp.len()) {
        return (
            offsets,
            Some(format!(
                "the header declares {} bytes but the file has only {} (truncated file)",
                declared.unwrap_or(0),
                shp.len()
            )),
        );
    }
    (offsets, None)
}

fn build(parts: Parts) -> Result<ShapefileReader, ShpError> {
    let Parts {
        stem,
        shp: (shp_file, shp),
        shx,
        dbf: (dbf_file, dbf_bytes),
        prj,
        cpg,
    } = parts;
    let mut warnings = Vec::new();

    let (declared, shape_type, bbox) = parse_main_header(&shp_file, &shp)?;
    if !SUPPORTED_TYPES.contains(&shape_type) {
        return Err(ShpError::UnsupportedShapeType {
            file: shp_file,
            record: None,
            code: shape_type,
        });
    }

    let mut dbf = DbfTable::parse(dbf_file, dbf_bytes)?;

    // Encoding: .cpg, then LDID, then detection.
    let mut decided: Option<(&'static Encoding, EncodingSource)> = None;
    if let Some(bytes) = &cpg {
        let text = decode_small_text(bytes);
        match cpg_encoding(&text) {
            Some(enc) => decided = Some((enc, EncodingSource::Cpg(text))),
            None => warnings.push(format!(
                "the .cpg file says '{text}', which is not a recognised code page; the encoding was decided from the data"
            )),
        }
    }
    if decided.is_none() {
        let ldid = dbf.ldid();
        if let Some(enc) = ldid_encoding(ldid) {
            decided = Some((enc, EncodingSource::LanguageDriver(ldid)));
        }
    }
    let (encoding, encoding_source) = match decided {
        Some(d) => d,
        None if dbf.character_data_is_utf8() => (UTF_8, EncodingSource::DetectedUtf8),
        None => (SHIFT_JIS, EncodingSource::AssumedCp932),
    };
    warnings.extend(dbf.set_encoding(encoding));

    // Record locations: .shx when usable, else sequential.
    let (offsets, tail_error) = match &shx {
        Some((shx_file, shx_bytes)) => match shx_offsets(shx_file, shx_bytes) {
            Ok(o) => (o, None),
            Err(why) => {
                warnings.push(format!(
                    "the .shx index is unusable ({why}); records were located by reading the .shp sequentially"
                ));
                scan_sequential(&shp, declared)
            }
        },
        None => {
            warnings.push(
                "no .shx index; records were located by reading the .shp sequentially".to_string(),
            );
            scan_sequential(&shp, declared)
        }
    };
    let shp_count = offsets.len();
    let dbf_count = dbf.record_count();
    let consistent = match tail_error {
        None => shp_count == dbf_count,
        // The truncated record is reported when reached.
        Some(_) => shp_count < dbf_count,
    };
    if !consistent {
        return Err(ShpError::RecordCountMismatch {
            shp_file,
            shp: shp_count,
            dbf_file: dbf.file().to_string(),
            dbf: dbf_count,
        });
    }

    let info = ShapefileInfo {
        entry_stem: stem,
        shape_type,
        prj: prj.map(|b| decode_small_text(&b)).filter(|s| !s.is_empty()),
        encoding,
        encoding_source,
        fields: dbf.fields().to_vec(),
        record_count: dbf_count,
        bbox,
        warnings,
    };
    Ok(ShapefileReader {
        info,
        shp_file,
        shp,
        offsets,
        tail_error,
        dbf,
    })
}

impl ShapefileReader {
    /// What the headers say: encoding, fields, shape type, bbox, `.prj`.
    pub fn info(&self) -> &ShapefileInfo {
        &self.info
    }

    /// Streams the records in file order. Deleted `.dbf` records (and their
    /// shapes) are skipped, so indexes may jump. Each item is one record or
    /// one located error; after an error that means the file is truncated,
    /// the iteration ends.
    pub fn records(self) -> impl Iterator<Item = Result<ShpRecord, ShpError>> {
        let total = self.info.record_count;
        Records {
            reader: self,
            next: 1,
            total,
            done: false,
        }
    }
}

struct Records {
    reader: ShapefileReader,
    next: usize,
    total: usize,
    done: bool,
}

impl Iterator for Records {
    type Item = Result<ShpRecord, ShpError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if self.done || self.next > self.total {
                return None;
            }
            let index = self.next;
            self.next += 1;
            let r = &self.reader;
            let attributes = match r.dbf.record(index) {
                Ok(Some(values)) => values,
                Ok(None) => continue,
                Err(e) => {
                    if matches!(e, ShpError::BadRecord { .. }) {
                        self.done = true;
                    }
                    return Some(Err(e));
                }
            };
            let bad = |detail: String| ShpError::BadRecord {
                file: r.shp_file.clone(),
                record: index,
                detail,
            };
            let parsed = match r.offsets.get(index - 1) {
                Some(&offset) => r.parse_record_at(offset, index),
                None => {
                    self.done = true;
                    let why = r
                        .tail_error
                        .clone()
                        .unwrap_or_else(|| "no shape for this record".to_string());
                    Err(bad(why))
                }
            };
            return Some(parsed.map(|(geometry, notes)| ShpRecord {
                index,
                geometry,
                attributes,
                notes,
            }));
        }
    }
}

type Parsed = (Option<Geometry<f64>>, Vec<RepairNote>);

enum ShapeError {
    Bad(String),
    Unsupported(u32),
}

impl ShapefileReader {
    fn parse_record_at(&self, offset: usize, index: usize) -> Result<Parsed, ShpError> {
        let bad = |detail: String| ShpError::BadRecord {
            file: self.shp_file.clone(),
            record: index,
            detail,
        };
        let len = self.shp.len();
        if offset < 100 || offset.checked_add(8).is_none_or(|e| e > len) {
            return Err(bad(format!(
                "the record header at byte {offset} is outside the file ({len} bytes; truncated file or bad .shx)"
            )));
        }
        let words = be_i32(&self.shp, offset + 4).unwrap_or(-1);
        let content_len = usize::try_from(words)
            .ok()
            .and_then(|w| w.checked_mul(2))
            .ok_or_else(|| bad(format!("negative content length {words}")))?;
        let start = offset + 8;
        let content = start
            .checked_add(content_len)
            .and_then(|end| self.shp.get(start..end))
            .ok_or_else(|| {
                bad(format!(
                    "the record needs {content_len} bytes from byte {start} but the file ends at byte {len} (truncated file)"
                ))
            })?;
        parse_shape(content).map_err(|e| match e {
            ShapeError::Bad(detail) => bad(detail),
            ShapeError::Unsupported(code) => ShpError::UnsupportedShapeType {
                file: self.shp_file.clone(),
                record: Some(index),
                code,
            },
        })
    }
}

fn need(content: &[u8], bytes: u64, what: &str) -> Result<(), ShapeError> {
    if (content.len() as u64) < bytes {
        return Err(ShapeError::Bad(format!(
            "{what} needs {bytes} bytes but the record holds {}",
            content.len()
        )));
    }
    Ok(())
}

fn read_points(content: &[u8], at: usize, n: usize) -> Result<Vec<Coord<f64>>, ShapeError> {
    let mut pts = Vec::with_capacity(n);
    for i in 0..n {
        let base = at + 16 * i;
        match (le_f64(content, base), le_f64(content, base + 8)) {
            (Some(x), Some(y)) => pts.push(Coord { x, y }),
            _ => return Err(ShapeError::Bad(format!("point {i} is outside the record"))),
        }
    }
    Ok(pts)
}

fn parse_shape(content: &[u8]) -> Result<Parsed, ShapeError> {
    let Some(shape_type) = le_u32(content, 0) else {
        // A zero-length record is tolerated as a null shape.
        return if content.is_empty() {
            Ok((None, Vec::new()))
        } else {
            Err(ShapeError::Bad(
                "the record is shorter than its shape type".into(),
            ))
        };
    };
    match shape_type {
        0 => Ok((None, Vec::new())),
        1 | 11 | 21 => {
            need(content, 20, "a point")?;
            let p = read_points(content, 4, 1)?;
            match p.first() {
                Some(c) => Ok((Some(Geometry::Point(Point(*c))), Vec::new())),
                None => Err(ShapeError::Bad("a point without coordinates".into())),
            }
        }
        8 | 18 | 28 => {
            need(content, 40, "a multipoint header")?;
            let n = le_u32(content, 36).unwrap_or(0);
            need(content, 40 + 16 * u64::from(n), "the multipoint's points")?;
            let pts = read_points(content, 40, n as usize)?;
            if pts.is_empty() {
                return Ok((None, vec![RepairNote::EmptyShape]));
            }
            let mp = MultiPoint::new(pts.into_iter().map(Point).collect());
            Ok((Some(Geometry::MultiPoint(mp)), Vec::new()))
        }
        3 | 13 | 23 | 5 | 15 | 25 => {
            need(content, 44, "a polyline/polygon header")?;
            let num_parts = le_u32(content, 36).unwrap_or(0);
            let num_points = le_u32(content, 40).unwrap_or(0);
            let points_at = 44 + 4 * u64::from(num_parts);
            need(
                content,
                points_at + 16 * u64::from(num_points),
                &format!("{num_parts} parts and {num_points} points"),
            )?;
            let mut starts = Vec::with_capacity(num_parts as usize);
            for k in 0..num_parts as usize {
                starts.push(le_u32(content, 44 + 4 * k).unwrap_or(u32::MAX) as usize);
            }
            let pts = read_points(content, points_at as usize, num_points as usize)?;
            let mut parts: Vec<Vec<Coord<f64>>> = Vec::with_capacity(starts.len());
            for (k, &s) in starts.iter().enumerate() {
                let e = starts.get(k + 1).copied().unwrap_or(num_points as usize);
                let slice = pts.get(s..e).ok_or_else(|| {
                    ShapeError::Bad(format!(
                        "part {k} spans points {s}..{e}, outside 0..{num_points}"
                    ))
                })?;
                parts.push(slice.to_vec());
            }
            if matches!(shape_type, 3 | 13 | 23) {
                Ok(assemble_lines(parts))
            } else {
                Ok(assemble_polygon(parts))
            }
        }
        other => Err(ShapeError::Unsupported(other)),
    }
}

fn assemble_lines(parts: Vec<Vec<Coord<f64>>>) -> Parsed {
    let mut lines: Vec<LineString<f64>> = parts
        .into_iter()
        .filter(|p| p.len() >= 2)
        .map(LineString::new)
        .collect();
    match lines.len() {
        0 => (None, vec![RepairNote::EmptyShape]),
        1 => (lines.pop().map(Geometry::LineString), Vec::new()),
        _ => (
            Some(Geometry::MultiLineString(MultiLineString::new(lines))),
            Vec::new(),
        ),
    }
}

/// Twice the signed area: positive = counter-clockwise (x right, y up).
pub(crate) fn signed_area2(ring: &[Coord<f64>]) -> f64 {
    ring.windows(2)
        .map(|w| match w {
            [a, b] => a.x * b.y - b.x * a.y,
            _ => 0.0,
        })
        .sum()
}

#[derive(PartialEq)]
enum Location {
    Inside,
    Outside,
    Boundary,
}

/// Even-odd test of `p` against a closed ring, with boundary detection.
fn locate(p: Coord<f64>, ring: &[Coord<f64>]) -> Location {
    let mut inside = false;
    for w in ring.windows(2) {
        let [a, b] = w else { continue };
        let cross = (b.x - a.x) * (p.y - a.y) - (b.y - a.y) * (p.x - a.x);
        if cross == 0.0
            && p.x >= a.x.min(b.x)
            && p.x <= a.x.max(b.x)
            && p.y >= a.y.min(b.y)
            && p.y <= a.y.max(b.y)
        {
            return Location::Boundary;
        }
        if (a.y > p.y) != (b.y > p.y) {
            let x = a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y);
            if p.x < x {
                inside = !inside;
            }
        }
    }
    if inside {
        Location::Inside
    } else {
        Location::Outside
    }
}

struct Ring {
    part: usize,
    coords: Vec<Coord<f64>>,
    area2: f64,
    bbox: [f64; 4],
}

#[cfg(test)]
thread_local! {
    /// Containment tests made by this thread's ring assemblies (the quadratic-work check).
    static INSIDE_TESTS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

impl Ring {
    /// True when `self` lies inside `outer` (touching the boundary allowed).
    fn inside(&self, outer: &Ring) -> bool {
        #[cfg(test)]
        INSIDE_TESTS.with(|c| c.set(c.get() + 1));
        let [ax0, ay0, ax1, ay1] = self.bbox;
        let [bx0, by0, bx1, by1] = outer.bbox;
        if ax0 < bx0 || ay0 < by0 || ax1 > bx1 || ay1 > by1 {
            return false;
        }
        for p in &self.coords {
            match locate(*p, &outer.coords) {
                Location::Inside => return true,
                Location::Outside => return false,
                Location::Boundary => {}
            }
        }
        self.area2.abs() <= outer.area2.abs()
    }
}

/// A ring's box in the assembly's R-tree, with the ring's index.
type RingBox = GeomWithData<Rectangle<[f64; 2]>, usize>;

fn envelope_rect(r: &Ring) -> Rectangle<[f64; 2]> {
    Rectangle::from_corners([r.bbox[0], r.bbox[1]], [r.bbox[2], r.bbox[3]])
}

fn envelope(r: &Ring) -> AABB<[f64; 2]> {
    AABB::from_corners([r.bbox[0], r.bbox[1]], [r.bbox[2], r.bbox[3]])
}

/// ESRI ring assembly with repairs, see the module rules.
fn assemble_polygon(parts: Vec<Vec<Coord<f64>>>) -> Parsed {
    let mut notes = Vec::new();
    let mut rings: Vec<Ring> = Vec::new();
    for (part, mut coords) in parts.into_iter().enumerate() {
        let (Some(&first), Some(&last)) = (coords.first(), coords.last()) else {
            continue;
        };
        if first != last {
            coords.push(first);
            notes.push(RepairNote::RingClosed { ring: part });
        }
        if coords.len() < 4 {
            continue;
        }
        let area2 = signed_area2(&coords);
        if area2 == 0.0 || !area2.is_finite() {
            continue;
        }
        let mut bbox = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for c in &coords {
            bbox = [
                bbox[0].min(c.x),
                bbox[1].min(c.y),
                bbox[2].max(c.x),
                bbox[3].max(c.y),
            ];
        }
        rings.push(Ring {
            part,
            coords,
            area2,
            bbox,
        });
    }
    if rings.is_empty() {
        notes.push(RepairNote::EmptyShape);
        return (None, notes);
    }

    // holes_of[s] = holes of ring s; is_shell[i] = role of ring i. Candidate containers come
    // from an R-tree of ring boxes, so a file of many rings costs n log n, not n² (a crafted
    // upload of 100,000 rings must not hold a thread for minutes).
    let n = rings.len();
    let mut is_shell = vec![false; n];
    let mut holes_of: Vec<Vec<usize>> = vec![Vec::new(); n];
    let smallest_container = |i: usize, tree: &RTree<RingBox>| -> Option<usize> {
        let ring = rings.get(i)?;
        tree.locate_in_envelope_intersecting(&envelope(ring))
            .map(|b| b.data)
            .filter(|&j| j != i)
            .filter_map(|j| rings.get(j).map(|r| (j, r)))
            .filter(|(_, outer)| ring.inside(outer))
            .min_by(|(ja, a), (jb, b)| a.area2.abs().total_cmp(&b.area2.abs()).then(ja.cmp(jb)))
            .map(|(j, _)| j)
    };

    if rings.iter().any(|r| r.area2 < 0.0) {
        let shells: Vec<RingBox> = rings
            .iter()
            .enumerate()
            .filter(|(_, r)| r.area2 < 0.0)
            .map(|(i, r)| RingBox::new(envelope_rect(r), i))
            .collect();
        for b in &shells {
            if let Some(flag) = is_shell.get_mut(b.data) {
                *flag = true;
            }
        }
        let tree = RTree::bulk_load(shells);
        for i in 0..n {
            if is_shell.get(i).copied().unwrap_or(true) {
                continue;
            }
            match smallest_container(i, &tree) {
                Some(s) => {
                    if let Some(h) = holes_of.get_mut(s) {
                        h.push(i);
                    }
                }
                None => {
                    if let (Some(flag), Some(r)) = (is_shell.get_mut(i), rings.get(i)) {
                        *flag = true;
                        notes.push(RepairNote::OrphanHoleAsShell { ring: r.part });
                    }
                }
            }
        }
    } else {
        // All counter-clockwise: nesting by containment, largest first.
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| {
            let ka = rings.get(a).map_or(0.0, |r| r.area2.abs());
            let kb = rings.get(b).map_or(0.0, |r| r.area2.abs());
            kb.total_cmp(&ka)
        });
        let mut depth = vec![0usize; n];
        let mut done: RTree<RingBox> = RTree::new();
        for &i in &order {
            let parent = smallest_container(i, &done);
            let d = parent
                .and_then(|p| depth.get(p).copied())
                .map_or(0, |pd| pd + 1);
            if let Some(slot) = depth.get_mut(i) {
                *slot = d;
            }
            match parent {
                Some(p) if d % 2 == 1 => {
                    if let Some(h) = holes_of.get_mut(p) {
                        h.push(i);
                    }
                }
                _ => {
                    if let (Some(flag), Some(r)) = (is_shell.get_mut(i), rings.get(i)) {
                        *flag = true;
                        notes.push(RepairNote::WindingFixed { ring: r.part });
                    }
                }
            }
            if let Some(r) = rings.get(i) {
                done.insert(RingBox::new(envelope_rect(r), i));
            }
        }
        notes.sort_by_key(|n| match n {
            RepairNote::RingClosed { ring } => (0, *ring),
            RepairNote::WindingFixed { ring } => (1, *ring),
            RepairNote::OrphanHoleAsShell { ring } => (2, *ring),
            RepairNote::EmptyShape => (3, 0),
        });
    }

    let mut polygons = Vec::new();
    for (i, ring) in rings.iter().enumerate() {
        if !is_shell.get(i).copied().unwrap_or(false) {
            continue;
        }
        let mut hole_ids = holes_of.get(i).cloned().unwrap_or_default();
        hole_ids.sort_unstable();
        let holes: Vec<LineString<f64>> = hole_ids
            .iter()
            .filter_map(|&h| rings.get(h))
            .map(|r| LineString::new(r.coords.clone()))
            .collect();
        polygons.push(Polygon::new(LineString::new(ring.coords.clone()), holes));
    }
    let geometry = if polygons.len() == 1 {
        polygons.pop().map(Geometry::Polygon)
    } else {
        Some(Geometry::MultiPolygon(MultiPolygon::new(polygons)))
    };
    (geometry, notes)
}

#[cfg(test)]
mod tests;
