//! Zipped ESRI Shapefile reader and writer (machimap's own codec; re-exported as
//! `machimap::shp`).
//!
//! Municipal open data in Japan is mostly published as a zip holding one
//! shapefile (`.shp` geometry, `.shx` index, `.dbf` attributes, `.prj`
//! coordinate system, sometimes `.cpg` code page). This crate reads such a
//! zip (or a loose `.shp` with its siblings) into [`geo`] geometries and typed
//! attribute values, and writes the same format back.
//!
//! The codec is our own rather than a third-party shapefile crate because we
//! need:
//!
//! * exact code-page handling: the `.cpg` file, the dBASE language driver id
//!   (LDID, byte 29 of the `.dbf`, `0x13` = CP932) and, when neither says
//!   anything, detection (valid UTF-8 everywhere → UTF-8, otherwise CP932).
//!   Which rule decided is reported in [`ShapefileInfo::encoding_source`];
//! * located errors: every [`ShpError`] names the file (the entry name inside
//!   the zip), the 1-based record and the field where relevant, and has a
//!   stable [`ShpError::code`] and a Japanese message for clerks
//!   ([`ShpError::message_ja`]);
//! * safe extraction of untrusted uploads ([`ZipLimits`]): path traversal,
//!   symlinks, too many entries, too much data and compression-ratio bombs are
//!   refused before or while decompressing, never by panicking.
//!
//! Reading is streaming over in-memory buffers: [`open_zip`] / [`open_files`]
//! validate the headers, decide the encoding and return a
//! [`ShapefileReader`] whose [`ShapefileReader::records`] yields one
//! [`ShpRecord`] (or one located error) per shape. Polygon rings are
//! assembled by ESRI rules (clockwise = shell, counter-clockwise = hole) with
//! small repairs reported as [`RepairNote`]s.
//!
//! Writing ([`write_zip`]) produces `stem.shp/.shx/.dbf` (+ `.prj`, `.cpg`)
//! in a new zip, in CP932 or UTF-8 ([`OutEncoding`]), with polygon rings
//! re-oriented to the ESRI convention whatever the input winding.

mod dbf;
mod read;
mod write;
mod zipsafe;

pub use dbf::{DbfField, DbfFieldKind, DbfValue};
pub use read::{
    open_files, open_zip, EncodingSource, RepairNote, ShapefileInfo, ShapefileReader, ShpRecord,
};
pub use write::{write_zip, OutEncoding};
pub use zipsafe::{ZipLimits, ZIP_MAX_ENTRIES, ZIP_MAX_RATIO, ZIP_MAX_TOTAL_MB};

/// Everything that can go wrong reading or writing a shapefile.
///
/// `path` is the zip or file on disk; `file` is the entry name inside the zip
/// (or the file path for loose files); `record` is 1-based, as clerks count.
#[derive(Debug, thiserror::Error)]
pub enum ShpError {
    /// Operating-system I/O error on a file on disk.
    #[error("I/O error on {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The zip structure is corrupt (bad header, bad checksum, bad data).
    #[error("{path}: not a valid zip archive: {detail}")]
    ZipInvalid { path: String, detail: String },
    /// The zip ends early (e.g. an interrupted upload or download).
    #[error("{path}: zip archive is truncated: {detail}")]
    ZipTruncated { path: String, detail: String },
    /// More entries than [`ZipLimits::max_entries`].
    #[error("{path}: zip has {entries} entries, more than the limit of {max}")]
    ZipTooManyEntries {
        path: String,
        entries: usize,
        max: usize,
    },
    /// Uncompressed data over [`ZipLimits::max_total_uncompressed`]
    /// (`entry` is `None` when the declared total is over the limit).
    #[error("{path}: {} uncompresses to more than {limit} bytes", entry.as_deref().map(|e| format!("entry '{e}'")).unwrap_or_else(|| "the archive".to_string()))]
    ZipTooLarge {
        path: String,
        entry: Option<String>,
        limit: u64,
    },
    /// Compression ratio of an entry over [`ZipLimits::max_ratio`] (zip bomb).
    #[error("{path}: entry '{entry}' has a compression ratio over {max_ratio} ({uncompressed} bytes from {compressed})")]
    ZipRatio {
        path: String,
        entry: String,
        uncompressed: u64,
        compressed: u64,
        max_ratio: u64,
    },
    /// An entry name escapes the extraction folder (`..`, absolute, drive letter).
    #[error("{path}: entry '{entry}' has an unsafe path")]
    ZipUnsafePath { path: String, entry: String },
    /// A symbolic-link entry.
    #[error("{path}: entry '{entry}' is a symbolic link, which is refused")]
    ZipLink { path: String, entry: String },
    /// An entry that cannot be read: encrypted, or an unsupported compression method.
    #[error("{path}: entry '{entry}' cannot be read: {detail}")]
    ZipUnsupported {
        path: String,
        entry: String,
        detail: String,
    },
    /// A mandatory part of the shapefile is missing (`part` is "shp", "shx" or "dbf").
    #[error("{path}: the .{part} file of shapefile '{stem}' is missing")]
    MissingPart {
        path: String,
        stem: String,
        part: &'static str,
    },
    /// The zip holds more than one shapefile.
    #[error("{path}: the zip holds several shapefiles ({}); exactly one is expected", stems.join(", "))]
    SeveralShapefiles { path: String, stems: Vec<String> },
    /// A file header (.shp, .shx or .dbf) is malformed.
    #[error("{file}: bad header: {detail}")]
    BadHeader { file: String, detail: String },
    /// One record is malformed or truncated.
    #[error("{file}: record {record}: {detail}")]
    BadRecord {
        file: String,
        record: usize,
        detail: String,
    },
    /// A shape type code this crate does not handle (e.g. 31, MultiPatch).
    #[error("{file}{}: unsupported shape type {code}", record.map(|r| format!(": record {r}")).unwrap_or_default())]
    UnsupportedShapeType {
        file: String,
        record: Option<usize>,
        code: u32,
    },
    /// A dBASE value is invalid (bad date, bad number, undecodable text, value too long...).
    #[error("{file}: record {record}, field {field}: {detail}")]
    DbfBad {
        file: String,
        record: usize,
        field: String,
        detail: String,
    },
    /// The .shp and .dbf do not hold the same number of records.
    #[error("{shp_file} has {shp} records but {dbf_file} has {dbf}")]
    RecordCountMismatch {
        shp_file: String,
        shp: usize,
        dbf_file: String,
        dbf: usize,
    },
    /// Writer: geometries of different families in one shapefile.
    #[error("record {record}: geometry is {found} but the shapefile holds {expected}")]
    MixedGeometry {
        record: usize,
        expected: &'static str,
        found: &'static str,
    },
    /// Writer: a geometry kind a shapefile cannot hold (e.g. GeometryCollection).
    #[error("record {record}: {kind} cannot be written to a shapefile")]
    UnsupportedGeometry { record: usize, kind: &'static str },
    /// Writer: a field definition is invalid (name too long, bad length...).
    #[error("field '{field}': {detail}")]
    InvalidField { field: String, detail: String },
    /// Writer: other invalid arguments (bad stem, too much data...).
    #[error("invalid input: {detail}")]
    InvalidInput { detail: String },
}

impl ShpError {
    /// Stable machine-readable code, e.g. `"ZIP_TRUNCATED"`.
    pub fn code(&self) -> &'static str {
        match self {
            ShpError::Io { .. } => "IO",
            ShpError::ZipInvalid { .. } => "ZIP_INVALID",
            ShpError::ZipTruncated { .. } => "ZIP_TRUNCATED",
            ShpError::ZipTooManyEntries { .. } => "ZIP_TOO_MANY_ENTRIES",
            ShpError::ZipTooLarge { .. } => "ZIP_TOO_LARGE",
            ShpError::ZipRatio { .. } => "ZIP_RATIO",
            ShpError::ZipUnsafePath { .. } => "ZIP_UNSAFE_PATH",
            ShpError::ZipLink { .. } => "ZIP_LINK",
            ShpError::ZipUnsupported { .. } => "ZIP_UNSUPPORTED",
            ShpError::MissingPart { .. } => "MISSING_PART",
            ShpError::SeveralShapefiles { .. } => "SEVERAL_SHAPEFILES",
            ShpError::BadHeader { .. } => "BAD_HEADER",
            ShpError::BadRecord { .. } => "BAD_RECORD",
            ShpError::UnsupportedShapeType { .. } => "UNSUPPORTED_SHAPE_TYPE",
            ShpError::DbfBad { .. } => "DBF_BAD",
            ShpError::RecordCountMismatch { .. } => "RECORD_COUNT_MISMATCH",
            ShpError::MixedGeometry { .. } => "MIXED_GEOMETRY",
            ShpError::UnsupportedGeometry { .. } => "UNSUPPORTED_GEOMETRY",
            ShpError::InvalidField { .. } => "INVALID_FIELD",
            ShpError::InvalidInput { .. } => "INVALID_INPUT",
        }
    }

    /// The message in Japanese, for the clerks who upload the data.
    pub fn message_ja(&self) -> String {
        match self {
            ShpError::Io { path, source } => {
                format!("ファイル {path} の読み書きに失敗しました（{source}）。")
            }
            ShpError::ZipInvalid { path, detail } => {
                format!("{path} は正しいZIPファイルではありません（{detail}）。")
            }
            ShpError::ZipTruncated { path, .. } => format!(
                "{path} は途中で切れています。アップロードまたはダウンロードをやり直してください。"
            ),
            ShpError::ZipTooManyEntries { path, entries, max } => format!(
                "{path} には {entries} 個のファイルが入っています。上限は {max} 個です。"
            ),
            ShpError::ZipTooLarge { path, entry, limit } => match entry {
                Some(e) => format!(
                    "{path} 内の「{e}」は展開すると大きすぎます（上限 {limit} バイト）。"
                ),
                None => format!("{path} は展開すると大きすぎます（上限 {limit} バイト）。"),
            },
            ShpError::ZipRatio {
                path,
                entry,
                max_ratio,
                ..
            } => format!(
                "{path} 内の「{entry}」は圧縮率が異常に高いため（{max_ratio} 倍超）、安全のため読み込みません。"
            ),
            ShpError::ZipUnsafePath { path, entry } => format!(
                "{path} 内の「{entry}」は危険なパス（上位フォルダや絶対パス）を含むため、読み込みません。"
            ),
            ShpError::ZipLink { path, entry } => format!(
                "{path} 内の「{entry}」はシンボリックリンクのため、読み込みません。"
            ),
            ShpError::ZipUnsupported {
                path,
                entry,
                detail,
            } => format!(
                "{path} 内の「{entry}」を読めません（{detail}）。パスワードなしの通常のZIPで作り直してください。"
            ),
            ShpError::MissingPart { path, stem, part } => format!(
                "{path} にシェープファイル「{stem}」の .{part} ファイルがありません。"
            ),
            ShpError::SeveralShapefiles { path, stems } => format!(
                "{path} に複数のシェープファイル（{}）が入っています。1つのZIPに1つだけ入れてください。",
                stems.join("、")
            ),
            ShpError::BadHeader { file, detail } => {
                format!("{file} のヘッダーが壊れています（{detail}）。")
            }
            ShpError::BadRecord {
                file,
                record,
                detail,
            } => format!("{file} の {record} 件目のデータが壊れています（{detail}）。"),
            ShpError::UnsupportedShapeType { file, record, code } => match record {
                Some(r) => format!(
                    "{file} の {r} 件目は対応していない図形の種類（コード {code}）です。"
                ),
                None => format!("{file} は対応していない図形の種類（コード {code}）です。"),
            },
            ShpError::DbfBad {
                file,
                record,
                field,
                detail,
            } => format!(
                "{file} の {record} 件目、項目「{field}」の値が正しくありません（{detail}）。"
            ),
            ShpError::RecordCountMismatch {
                shp_file,
                shp,
                dbf_file,
                dbf,
            } => format!(
                "図形（{shp_file}: {shp} 件）と属性（{dbf_file}: {dbf} 件）の件数が一致しません。"
            ),
            ShpError::MixedGeometry {
                record,
                expected,
                found,
            } => format!(
                "{record} 件目の図形（{found}）が他の図形（{expected}）と種類が異なります。1つのシェープファイルには同じ種類の図形しか入れられません。"
            ),
            ShpError::UnsupportedGeometry { record, kind } => {
                format!("{record} 件目の図形（{kind}）はシェープファイルに書き出せません。")
            }
            ShpError::InvalidField { field, detail } => {
                format!("項目「{field}」の定義が正しくありません（{detail}）。")
            }
            ShpError::InvalidInput { detail } => format!("入力が正しくありません（{detail}）。"),
        }
    }
}
