//! dBASE III table (`.dbf`) reading and writing.
//!
//! Reading accepts the dBASE III family header versions (`0x03`, `0x83`,
//! `0x8B`, Visual FoxPro `0x30`...), ignores memo files, keeps deleted
//! records counted (so record numbers stay aligned with the `.shp`) and
//! decodes text in the encoding decided by the caller. Character (`C`),
//! numeric (`N`, `F`), date (`D`) and logical (`L`) fields are supported;
//! other field types (memo, binary FoxPro types) are skipped with a warning.

use std::borrow::Cow;

use encoding_rs::{Encoding, SHIFT_JIS, UTF_8};

use super::ShpError;

/// The type of a dBASE field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DbfFieldKind {
    /// `C`: text, left-justified, padded with spaces.
    Character,
    /// `N`: number as right-justified ASCII text.
    Numeric,
    /// `F`: number as right-justified ASCII text (same as `N` in practice).
    Float,
    /// `D`: date as `YYYYMMDD`, always 8 bytes.
    Date,
    /// `L`: logical `T`/`F`/`?`, always 1 byte.
    Logical,
}

impl DbfFieldKind {
    /// The dBASE type letter.
    pub fn code(self) -> u8 {
        match self {
            DbfFieldKind::Character => b'C',
            DbfFieldKind::Numeric => b'N',
            DbfFieldKind::Float => b'F',
            DbfFieldKind::Date => b'D',
            DbfFieldKind::Logical => b'L',
        }
    }

    fn from_code(code: u8) -> Option<DbfFieldKind> {
        match code.to_ascii_uppercase() {
            b'C' => Some(DbfFieldKind::Character),
            b'N' => Some(DbfFieldKind::Numeric),
            b'F' => Some(DbfFieldKind::Float),
            b'D' => Some(DbfFieldKind::Date),
            b'L' => Some(DbfFieldKind::Logical),
            _ => None,
        }
    }
}

/// One column of the attribute table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DbfField {
    /// Field name, at most 10 bytes once encoded.
    pub name: String,
    pub kind: DbfFieldKind,
    /// Width in bytes (forced to 8 for dates and 1 for logicals when writing).
    pub length: u8,
    /// Digits after the decimal point (numeric fields only).
    pub decimals: u8,
}

impl DbfField {
    pub fn new(name: impl Into<String>, kind: DbfFieldKind, length: u8, decimals: u8) -> Self {
        DbfField {
            name: name.into(),
            kind,
            length,
            decimals,
        }
    }
}

/// One attribute value.
#[derive(Debug, Clone, PartialEq)]
pub enum DbfValue {
    /// Blank field (dBASE cannot tell an empty text from a missing one).
    Null,
    Text(String),
    Int(i64),
    Float(f64),
    /// `YYYY-MM-DD`.
    Date(String),
    Bool(bool),
}

impl DbfValue {
    /// The value as display text: `None` for `Null` and blank text, numbers
    /// without a trailing `.0` when integral, booleans as `true`/`false`.
    pub fn to_text(&self) -> Option<String> {
        match self {
            DbfValue::Null => None,
            DbfValue::Text(s) => {
                if s.trim().is_empty() {
                    None
                } else {
                    Some(s.clone())
                }
            }
            DbfValue::Int(i) => Some(i.to_string()),
            DbfValue::Float(f) => Some(format_float(*f)),
            DbfValue::Date(d) => Some(d.clone()),
            DbfValue::Bool(b) => Some(b.to_string()),
        }
    }

    /// True for [`DbfValue::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, DbfValue::Null)
    }
}

fn format_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e15 {
        // Integral and exactly representable as i64: no ".0".
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

// ---------------------------------------------------------------- reading

/// One column as stored in the file.
#[derive(Debug, Clone)]
struct Column {
    name_raw: Vec<u8>,
    type_code: u8,
    /// Offset inside the record (the deletion flag is byte 0).
    offset: usize,
    length: usize,
    decimals: u8,
}

/// A parsed `.dbf` held in memory.
pub(crate) struct DbfTable {
    file: String,
    data: Vec<u8>,
    record_count: usize,
    header_len: usize,
    record_len: usize,
    ldid: u8,
    columns: Vec<Column>,
    /// Columns kept (index into `columns`) with their kind, aligned with `fields`.
    used: Vec<(usize, DbfFieldKind)>,
    fields: Vec<DbfField>,
    encoding: &'static Encoding,
}

const KNOWN_VERSIONS: [u8; 12] = [
    0x03, 0x04, 0x05, 0x30, 0x31, 0x32, 0x43, 0x63, 0x83, 0x8B, 0xCB, 0xF5,
];

fn le_u16(data: &[u8], at: usize) -> Option<u16> {
    let b = data.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([*b.first()?, *b.get(1)?]))
}

fn le_u32(data: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = data.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

impl DbfTable {
    /// Parses the header and field descriptors. `file` names the file in errors.
    pub(crate) fn parse(file: String, data: Vec<u8>) -> Result<DbfTable, ShpError> {
        let bad = |detail: String| ShpError::BadHeader {
            file: file.clone(),
            detail,
        };
        if data.len() < 32 {
            return Err(bad(format!(
                "the file has {} bytes, fewer than the 32-byte dBASE header",
                data.len()
            )));
        }
        let version = data.first().copied().unwrap_or(0);
        if !KNOWN_VERSIONS.contains(&version) {
            return Err(bad(format!("unknown dBASE version byte 0x{version:02X}")));
        }
        let record_count = le_u32(&data, 4).unwrap_or(0) as usize;
        let header_len = le_u16(&data, 8).unwrap_or(0) as usize;
        let record_len = le_u16(&data, 10).unwrap_or(0) as usize;
        let ldid = data.get(29).copied().unwrap_or(0);
        if header_len < 32 || header_len > data.len() {
            return Err(bad(format!(
                "header length {header_len} is outside the file ({} bytes)",
                data.len()
            )));
        }
        if record_len == 0 {
            return Err(bad("record length is 0".to_string()));
        }
        let mut columns = Vec::new();
        let mut pos = 32usize;
        let mut offset = 1usize;
        while let Some(d) = data.get(pos..pos + 32).filter(|_| pos + 32 <= header_len) {
            let first = d.first().copied().unwrap_or(0x0D);
            if first == 0x0D || first == 0x00 {
                break;
            }
            let name_area = d.get(..11).unwrap_or(&[]);
            let name_end = name_area
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(name_area.len());
            let name_raw = name_area.get(..name_end).unwrap_or(&[]).to_vec();
            let type_code = d.get(11).copied().unwrap_or(0);
            let len_lo = d.get(16).copied().unwrap_or(0) as usize;
            let dec = d.get(17).copied().unwrap_or(0);
            // Clipper/FoxPro store long character widths' high byte in "decimals".
            let (length, decimals) = if type_code.eq_ignore_ascii_case(&b'C') {
                (len_lo | ((dec as usize) << 8), 0)
            } else {
                (len_lo, dec)
            };
            columns.push(Column {
                name_raw,
                type_code,
                offset,
                length,
                decimals,
            });
            offset += length;
            pos += 32;
        }
        if offset > record_len {
            return Err(bad(format!(
                "record length {record_len} is smaller than the fields' total width {offset}"
            )));
        }
        Ok(DbfTable {
            file,
            data,
            record_count,
            header_len,
            record_len,
            ldid,
            columns,
            used: Vec::new(),
            fields: Vec::new(),
            encoding: UTF_8,
        })
    }

    pub(crate) fn file(&self) -> &str {
        &self.file
    }

    /// Number of records declared in the header (deleted ones included).
    pub(crate) fn record_count(&self) -> usize {
        self.record_count
    }

    /// The language driver id byte (offset 29).
    pub(crate) fn ldid(&self) -> u8 {
        self.ldid
    }

    /// Records actually present in the bytes (at most the declared count).
    fn available_records(&self) -> usize {
        let body = self.data.len().saturating_sub(self.header_len);
        (body / self.record_len).min(self.record_count)
    }

    fn record_bytes(&self, index0: usize) -> Option<&[u8]> {
        let start = index0
            .checked_mul(self.record_len)?
            .checked_add(self.header_len)?;
        let end = start.checked_add(self.record_len)?;
        self.data.get(start..end)
    }

    /// True when every character field of every record is valid UTF-8
    /// (pure ASCII counts as UTF-8).
    pub(crate) fn character_data_is_utf8(&self) -> bool {
        let char_cols: Vec<&Column> = self
            .columns
            .iter()
            .filter(|c| c.type_code.eq_ignore_ascii_case(&b'C'))
            .collect();
        if char_cols.is_empty() {
            return true;
        }
        for i in 0..self.available_records() {
            let Some(rec) = self.record_bytes(i) else {
                break;
            };
            if rec.is_ascii() {
                continue;
            }
            for col in &char_cols {
                let raw = rec.get(col.offset..col.offset + col.length).unwrap_or(&[]);
                let (trimmed, full) = trim_padding(raw);
                if decode_strict(UTF_8, trimmed, full).is_none() {
                    return false;
                }
            }
        }
        true
    }

    /// Fixes the text encoding, decodes field names and returns the fields
    /// plus warnings about skipped columns.
    pub(crate) fn set_encoding(&mut self, encoding: &'static Encoding) -> Vec<String> {
        self.encoding = encoding;
        let mut warnings = Vec::new();
        self.used.clear();
        self.fields.clear();
        for (i, col) in self.columns.iter().enumerate() {
            let name = decode_name(encoding, &col.name_raw);
            match DbfFieldKind::from_code(col.type_code) {
                Some(kind) => {
                    self.used.push((i, kind));
                    self.fields.push(DbfField {
                        name,
                        kind,
                        length: u8::try_from(col.length).unwrap_or(u8::MAX),
                        decimals: col.decimals,
                    });
                }
                None => warnings.push(format!(
                    "field '{}' of type '{}' is not supported and was skipped",
                    name,
                    char::from(col.type_code).escape_default()
                )),
            }
        }
        warnings
    }

    pub(crate) fn fields(&self) -> &[DbfField] {
        &self.fields
    }

    /// Reads record `record` (1-based). `Ok(None)` when the record is deleted.
    pub(crate) fn record(&self, record: usize) -> Result<Option<Vec<DbfValue>>, ShpError> {
        let rec = record
            .checked_sub(1)
            .and_then(|i| self.record_bytes(i))
            .ok_or_else(|| ShpError::BadRecord {
                file: self.file.clone(),
                record,
                detail: "the .dbf file ends before this record (truncated file)".to_string(),
            })?;
        if rec.first() == Some(&b'*') {
            return Ok(None);
        }
        let mut values = Vec::with_capacity(self.used.len());
        for (field_pos, &(col_idx, kind)) in self.used.iter().enumerate() {
            let (Some(col), Some(field)) = (self.columns.get(col_idx), self.fields.get(field_pos))
            else {
                continue;
            };
            let raw = rec.get(col.offset..col.offset + col.length).unwrap_or(&[]);
            values.push(self.parse_value(kind, col, raw, record, &field.name)?);
        }
        Ok(Some(values))
    }

    fn parse_value(
        &self,
        kind: DbfFieldKind,
        col: &Column,
        raw: &[u8],
        record: usize,
        field: &str,
    ) -> Result<DbfValue, ShpError> {
        let bad = |detail: String| ShpError::DbfBad {
            file: self.file.clone(),
            record,
            field: field.to_string(),
            detail,
        };
        match kind {
            DbfFieldKind::Character => {
                let (trimmed, full) = trim_padding(raw);
                if trimmed.is_empty() {
                    return Ok(DbfValue::Null);
                }
                match decode_strict(self.encoding, trimmed, full) {
                    Some(s) => Ok(DbfValue::Text(s.into_owned())),
                    None => Err(bad(format!(
                        "text is not valid {} (bytes {})",
                        encoding_label(self.encoding),
                        hex_preview(trimmed)
                    ))),
                }
            }
            DbfFieldKind::Numeric | DbfFieldKind::Float => {
                let text = ascii_trimmed(raw).ok_or_else(|| {
                    bad(format!("number is not ASCII text ({})", hex_preview(raw)))
                })?;
                if text.is_empty() || text.bytes().all(|b| b == b'*') {
                    return Ok(DbfValue::Null);
                }
                parse_number(text, col.decimals)
                    .ok_or_else(|| bad(format!("'{text}' is not a number")))
            }
            DbfFieldKind::Date => {
                let text = ascii_trimmed(raw)
                    .ok_or_else(|| bad(format!("date is not ASCII text ({})", hex_preview(raw))))?;
                if text.is_empty() || text == "00000000" {
                    return Ok(DbfValue::Null);
                }
                parse_date_compact(text)
                    .map(DbfValue::Date)
                    .ok_or_else(|| bad(format!("'{text}' is not a valid date (expected YYYYMMDD)")))
            }
            DbfFieldKind::Logical => {
                let text = ascii_trimmed(raw).unwrap_or("");
                match text {
                    "" | "?" => Ok(DbfValue::Null),
                    "T" | "t" | "Y" | "y" => Ok(DbfValue::Bool(true)),
                    "F" | "f" | "N" | "n" => Ok(DbfValue::Bool(false)),
                    other => Err(bad(format!(
                        "'{}' is not a logical value (expected T, F, Y, N or ?)",
                        other.escape_default()
                    ))),
                }
            }
        }
    }
}

/// Strips trailing spaces and NULs. The flag tells whether the field was
/// completely filled (no padding at all), the only case where a writer may
/// have cut a multi-byte character in half.
fn trim_padding(raw: &[u8]) -> (&[u8], bool) {
    let end = raw
        .iter()
        .rposition(|&b| b != b' ' && b != 0)
        .map_or(0, |p| p + 1);
    (raw.get(..end).unwrap_or(&[]), end == raw.len())
}

fn ascii_trimmed(raw: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(raw).ok()?;
    if !s.is_ascii() {
        return None;
    }
    Some(s.trim_matches(|c: char| c == ' ' || c == '\0'))
}

/// Strict decoding. The one leniency: when the field was full, an incomplete
/// character at its very end (a writer truncating by bytes) is dropped.
pub(crate) fn decode_strict<'a>(
    encoding: &'static Encoding,
    bytes: &'a [u8],
    full: bool,
) -> Option<Cow<'a, str>> {
    if encoding == UTF_8 {
        return match std::str::from_utf8(bytes) {
            Ok(s) => Some(Cow::Borrowed(s)),
            Err(e) if full && e.error_len().is_none() => bytes
                .get(..e.valid_up_to())
                .and_then(|b| std::str::from_utf8(b).ok())
                .map(Cow::Borrowed),
            Err(_) => None,
        };
    }
    if let Some(s) = encoding.decode_without_bom_handling_and_without_replacement(bytes) {
        return Some(s);
    }
    if full && encoding == SHIFT_JIS {
        if let Some((&last, head)) = bytes.split_last() {
            if matches!(last, 0x81..=0x9F | 0xE0..=0xFC) {
                return encoding.decode_without_bom_handling_and_without_replacement(head);
            }
        }
    }
    None
}

fn decode_name(encoding: &'static Encoding, raw: &[u8]) -> String {
    let (trimmed, _) = trim_padding(raw);
    let trimmed = match trimmed.iter().position(|&b| b != b' ') {
        Some(p) => trimmed.get(p..).unwrap_or(&[]),
        None => &[],
    };
    if let Some(s) = decode_strict(encoding, trimmed, false) {
        return s.into_owned();
    }
    let other = if encoding == UTF_8 { SHIFT_JIS } else { UTF_8 };
    if let Some(s) = decode_strict(other, trimmed, false) {
        return s.into_owned();
    }
    encoding.decode_without_bom_handling(trimmed).0.into_owned()
}

fn encoding_label(encoding: &'static Encoding) -> &'static str {
    if encoding == SHIFT_JIS {
        "CP932 (Shift_JIS)"
    } else {
        encoding.name()
    }
}

fn hex_preview(bytes: &[u8]) -> String {
    let mut s: String = bytes
        .iter()
        .take(16)
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ");
    if bytes.len() > 16 {
        s.push_str(" ...");
    }
    s
}

fn parse_number(text: &str, decimals: u8) -> Option<DbfValue> {
    let integral_syntax = !text.contains(['.', 'e', 'E', ',']);
    if decimals == 0 && integral_syntax {
        if let Ok(i) = text.parse::<i64>() {
            return Some(DbfValue::Int(i));
        }
    }
    let normalized: Cow<str> = if text.contains(',') && !text.contains('.') {
        Cow::Owned(text.replace(',', "."))
    } else {
        Cow::Borrowed(text)
    };
    let f: f64 = normalized.parse().ok()?;
    if !f.is_finite() {
        return None;
    }
    Some(DbfValue::Float(f))
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => {
            29
        }
        2 => 28,
        _ => 0,
    }
}

fn valid_ymd(y: u32, m: u32, d: u32) -> bool {
    (1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m)
}

/// `YYYYMMDD` -> `YYYY-MM-DD`, validated.
fn parse_date_compact(text: &str) -> Option<String> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: u32 = text.get(0..4)?.parse().ok()?;
    let m: u32 = text.get(4..6)?.parse().ok()?;
    let d: u32 = text.get(6..8)?.parse().ok()?;
    valid_ymd(y, m, d).then(|| format!("{y:04}-{m:02}-{d:02}"))
}

/// `YYYY-MM-DD` (or `YYYYMMDD`) -> `YYYYMMDD`, validated.
fn date_to_compact(text: &str) -> Option<String> {
    let t = text.trim();
    let compact: String = if t.len() == 10 && t.get(4..5) == Some("-") && t.get(7..8) == Some("-") {
        format!("{}{}{}", t.get(0..4)?, t.get(5..7)?, t.get(8..10)?)
    } else {
        t.to_string()
    };
    parse_date_compact(&compact).map(|_| compact)
}

// ---------------------------------------------------------------- writing

/// Encodes `text` strictly, keeping whole characters only, at most `max`
/// bytes. `Err(c)` names a character the encoding cannot represent.
pub(crate) fn encode_truncated(
    encoding: &'static Encoding,
    text: &str,
    max: usize,
) -> Result<Vec<u8>, char> {
    if text.is_ascii() && (encoding == UTF_8 || encoding == SHIFT_JIS) {
        return Ok(text
            .as_bytes()
            .get(..max.min(text.len()))
            .unwrap_or(&[])
            .to_vec());
    }
    let mut out = Vec::with_capacity(max.min(text.len() * 2));
    for c in text.chars() {
        let mut buf = [0u8; 4];
        let s: &str = c.encode_utf8(&mut buf);
        let (bytes, _, had_errors) = encoding.encode(s);
        if had_errors {
            return Err(c);
        }
        if out.len() + bytes.len() > max {
            break;
        }
        out.extend_from_slice(&bytes);
    }
    Ok(out)
}

/// Today's date as (years since 1900, month, day), UTC.
fn today() -> (u8, u8, u8) {
    let d = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    (
        u8::try_from((i32::from(d.year()) - 1900).clamp(0, 255)).unwrap_or(0),
        u8::try_from(d.month()).unwrap_or(1),
        u8::try_from(d.day()).unwrap_or(1),
    )
}

/// The effective (length, decimals) written for a field, after validation.
fn checked_layout(field: &DbfField) -> Result<(usize, u8), ShpError> {
    let bad = |detail: String| ShpError::InvalidField {
        field: field.name.clone(),
        detail,
    };
    match field.kind {
        DbfFieldKind::Character => {
            if field.length == 0 || field.length == 255 {
                return Err(bad(format!(
                    "character width {} is outside 1..=254",
                    field.length
                )));
            }
            Ok((field.length as usize, 0))
        }
        DbfFieldKind::Numeric | DbfFieldKind::Float => {
            if field.length == 0 || field.length > 32 {
                return Err(bad(format!(
                    "numeric width {} is outside 1..=32",
                    field.length
                )));
            }
            if field.decimals > 0 && u16::from(field.decimals) + 2 > u16::from(field.length) {
                return Err(bad(format!(
                    "{} decimals do not fit in width {}",
                    field.decimals, field.length
                )));
            }
            Ok((field.length as usize, field.decimals))
        }
        DbfFieldKind::Date => Ok((8, 0)),
        DbfFieldKind::Logical => Ok((1, 0)),
    }
}

/// Serialises a complete `.dbf` (header, descriptors, records, EOF marker).
/// `file` names the output in errors; `ldid` goes to byte 29.
pub(crate) fn write_dbf(
    file: &str,
    fields: &[DbfField],
    records: &[Vec<DbfValue>],
    encoding: &'static Encoding,
    ldid: u8,
) -> Result<Vec<u8>, ShpError> {
    let mut layouts = Vec::with_capacity(fields.len());
    let mut names: Vec<[u8; 11]> = Vec::with_capacity(fields.len());
    let mut seen: Vec<String> = Vec::new();
    for field in fields {
        let bad = |detail: String| ShpError::InvalidField {
            field: field.name.clone(),
            detail,
        };
        if field.name.is_empty() || field.name.contains('\0') {
            return Err(bad("a field name must be non-empty text".to_string()));
        }
        let encoded = encode_truncated(encoding, &field.name, usize::MAX).map_err(|c| {
            bad(format!(
                "character '{c}' cannot be written in {}",
                encoding_label(encoding)
            ))
        })?;
        if encoded.len() > 10 {
            return Err(bad(format!(
                "the name takes {} bytes; dBASE allows 10",
                encoded.len()
            )));
        }
        let folded = field.name.to_uppercase();
        if seen.contains(&folded) {
            return Err(bad("duplicate field name".to_string()));
        }
        seen.push(folded);
        let mut name = [0u8; 11];
        for (slot, b) in name.iter_mut().zip(encoded.iter()) {
            *slot = *b;
        }
        names.push(name);
        layouts.push(checked_layout(field)?);
    }

    let header_len = 32 + 32 * fields.len() + 1;
    let record_len = 1 + layouts.iter().map(|(l, _)| *l).sum::<usize>();
    let header_len16 = u16::try_from(header_len).map_err(|_| ShpError::InvalidInput {
        detail: format!("{} fields are too many for a dBASE header", fields.len()),
    })?;
    let record_len16 = u16::try_from(record_len).map_err(|_| ShpError::InvalidInput {
        detail: format!("records of {record_len} bytes are too wide for dBASE (65535 max)"),
    })?;
    let count32 = u32::try_from(records.len()).map_err(|_| ShpError::InvalidInput {
        detail: format!("{} records are too many for dBASE", records.len()),
    })?;

    let mut out = Vec::with_capacity(header_len + record_len * records.len() + 1);
    let (yy, mm, dd) = today();
    out.extend_from_slice(&[0x03, yy, mm, dd]);
    out.extend_from_slice(&count32.to_le_bytes());
    out.extend_from_slice(&header_len16.to_le_bytes());
    out.extend_from_slice(&record_len16.to_le_bytes());
    out.extend_from_slice(&[0u8; 17]); // bytes 12..=28
    out.push(ldid); // byte 29
    out.extend_from_slice(&[0u8; 2]);
    for ((field, name), (len, dec)) in fields.iter().zip(&names).zip(&layouts) {
        out.extend_from_slice(name);
        out.push(field.kind.code());
        out.extend_from_slice(&[0u8; 4]);
        out.push(u8::try_from(*len).unwrap_or(u8::MAX));
        out.push(*dec);
        out.extend_from_slice(&[0u8; 14]);
    }
    out.push(0x0D);

    for (i, values) in records.iter().enumerate() {
        let record = i + 1;
        if values.len() != fields.len() {
            return Err(ShpError::DbfBad {
                file: file.to_string(),
                record,
                field: String::new(),
                detail: format!("{} values given for {} fields", values.len(), fields.len()),
            });
        }
        out.push(b' ');
        for ((field, value), (len, dec)) in fields.iter().zip(values).zip(&layouts) {
            let cell = format_cell(field, value, *len, *dec, encoding).map_err(|detail| {
                ShpError::DbfBad {
                    file: file.to_string(),
                    record,
                    field: field.name.clone(),
                    detail,
                }
            })?;
            out.extend_from_slice(&cell);
        }
    }
    out.push(0x1A);
    Ok(out)
}

/// One cell, exactly `len` bytes.
fn format_cell(
    field: &DbfField,
    value: &DbfValue,
    len: usize,
    decimals: u8,
    encoding: &'static Encoding,
) -> Result<Vec<u8>, String> {
    let right_justify = |text: String| -> Result<Vec<u8>, String> {
        if text.len() > len {
            return Err(format!("'{text}' does not fit in width {len}"));
        }
        let mut v = vec![b' '; len - text.len()];
        v.extend_from_slice(text.as_bytes());
        Ok(v)
    };
    if value.is_null() {
        return Ok(vec![b' '; len]);
    }
    match field.kind {
        DbfFieldKind::Character => {
            let text = value.to_text().unwrap_or_default();
            let mut bytes = encode_truncated(encoding, &text, len).map_err(|c| {
                format!(
                    "character '{c}' (U+{:04X}) cannot be written in {}",
                    c as u32,
                    encoding_label(encoding)
                )
            })?;
            bytes.resize(len, b' ');
            Ok(bytes)
        }
        DbfFieldKind::Numeric | DbfFieldKind::Float => {
            let number: f64 = match value {
                DbfValue::Int(i) if decimals == 0 => return right_justify(i.to_string()),
                DbfValue::Int(i) => *i as f64,
                DbfValue::Float(f) => *f,
                DbfValue::Text(s) => {
                    let t = s.trim();
                    if t.is_empty() {
                        return Ok(vec![b' '; len]);
                    }
                    if decimals == 0 {
                        if let Ok(i) = t.parse::<i64>() {
                            return right_justify(i.to_string());
                        }
                    }
                    t.parse::<f64>()
                        .map_err(|_| format!("'{t}' is not a number"))?
                }
                other => return Err(format!("{other:?} cannot be stored in a numeric field")),
            };
            if !number.is_finite() {
                return Err(format!("{number} cannot be stored in dBASE"));
            }
            right_justify(format!("{:.*}", decimals as usize, number))
        }
        DbfFieldKind::Date => match value {
            DbfValue::Date(s) | DbfValue::Text(s) => match date_to_compact(s) {
                Some(c) => Ok(c.into_bytes()),
                None => Err(format!("'{s}' is not a valid date (expected YYYY-MM-DD)")),
            },
            other => Err(format!("{other:?} cannot be stored in a date field")),
        },
        DbfFieldKind::Logical => match value {
            DbfValue::Bool(true) => Ok(vec![b'T']),
            DbfValue::Bool(false) => Ok(vec![b'F']),
            other => Err(format!("{other:?} cannot be stored in a logical field")),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(fields: &[DbfField], records: &[Vec<DbfValue>], enc: &'static Encoding) -> DbfTable {
        let bytes = write_dbf("t.dbf", fields, records, enc, 0).unwrap();
        let mut t = DbfTable::parse("t.dbf".to_string(), bytes).unwrap();
        assert!(t.set_encoding(enc).is_empty());
        t
    }

    #[test]
    fn header_layout_is_exact() {
        let fields = vec![
            DbfField::new("NAME", DbfFieldKind::Character, 10, 0),
            DbfField::new("POP", DbfFieldKind::Numeric, 8, 0),
        ];
        let recs = vec![vec![DbfValue::Text("abc".into()), DbfValue::Int(42)]];
        let b = write_dbf("t.dbf", &fields, &recs, SHIFT_JIS, 0x13).unwrap();
        assert_eq!(b[0], 0x03);
        assert_eq!(u32::from_le_bytes([b[4], b[5], b[6], b[7]]), 1);
        assert_eq!(u16::from_le_bytes([b[8], b[9]]), 32 + 64 + 1);
        assert_eq!(u16::from_le_bytes([b[10], b[11]]), 1 + 10 + 8);
        assert_eq!(b[29], 0x13);
        assert_eq!(&b[32..36], b"NAME");
        assert_eq!(b[32 + 11], b'C');
        assert_eq!(b[32 + 16], 10);
        assert_eq!(b[96], 0x0D);
        let expected = [&b" "[..], b"abc", &[b' '; 7], &[b' '; 6], b"42"].concat();
        assert_eq!(&b[97..97 + 19], &expected[..]);
        assert_eq!(b.len(), 97 + 19 + 1);
        assert_eq!(*b.last().unwrap(), 0x1A);
    }

    #[test]
    fn values_round_trip() {
        let fields = vec![
            DbfField::new("T", DbfFieldKind::Character, 12, 0),
            DbfField::new("I", DbfFieldKind::Numeric, 10, 0),
            DbfField::new("F", DbfFieldKind::Float, 12, 3),
            DbfField::new("D", DbfFieldKind::Date, 8, 0),
            DbfField::new("L", DbfFieldKind::Logical, 1, 0),
        ];
        let recs = vec![
            vec![
                DbfValue::Text("千代田区".into()),
                DbfValue::Int(-12345),
                DbfValue::Float(3.25),
                DbfValue::Date("2024-02-29".into()),
                DbfValue::Bool(true),
            ],
            vec![
                DbfValue::Null,
                DbfValue::Null,
                DbfValue::Null,
                DbfValue::Null,
                DbfValue::Null,
            ],
        ];
        let t = table(&fields, &recs, SHIFT_JIS);
        assert_eq!(t.record_count(), 2);
        assert_eq!(t.record(1).unwrap().unwrap(), recs[0]);
        assert_eq!(t.record(2).unwrap().unwrap(), recs[1]);
        assert_eq!(t.fields()[3].length, 8);
        assert!(t.record(3).is_err());
    }

    #[test]
    fn truncation_keeps_whole_characters() {
        // "あいう" is 2 bytes per char in CP932 and 3 in UTF-8.
        assert_eq!(
            encode_truncated(SHIFT_JIS, "あいう", 5).unwrap(),
            vec![0x82, 0xA0, 0x82, 0xA2]
        );
        assert_eq!(encode_truncated(UTF_8, "あいう", 5).unwrap().len(), 3);
        assert_eq!(encode_truncated(UTF_8, "abcdef", 4).unwrap(), b"abcd");
        assert_eq!(encode_truncated(SHIFT_JIS, "a😀", 10), Err('😀'));
        let fields = vec![DbfField::new("T", DbfFieldKind::Character, 5, 0)];
        let t = table(&fields, &[vec![DbfValue::Text("あいう".into())]], SHIFT_JIS);
        assert_eq!(
            t.record(1).unwrap().unwrap(),
            vec![DbfValue::Text("あい".into())]
        );
    }

    #[test]
    fn byte_truncated_utf8_is_tolerated_only_when_the_field_is_full() {
        let bytes = "あい".as_bytes();
        assert_eq!(decode_strict(UTF_8, &bytes[..5], true).unwrap(), "あ");
        assert!(decode_strict(UTF_8, &bytes[..5], false).is_none());
        assert_eq!(
            decode_strict(SHIFT_JIS, &[0x82, 0xA0, 0x82], true).unwrap(),
            "あ"
        );
        assert!(decode_strict(SHIFT_JIS, &[0x82, 0xA0, 0x82], false).is_none());
    }

    #[test]
    fn numbers_dates_logicals_parse_by_the_rules() {
        assert_eq!(parse_number("42", 0), Some(DbfValue::Int(42)));
        assert_eq!(parse_number("42", 2), Some(DbfValue::Float(42.0)));
        assert_eq!(parse_number("-1.50", 2), Some(DbfValue::Float(-1.5)));
        assert_eq!(parse_number("1,5", 1), Some(DbfValue::Float(1.5)));
        assert_eq!(parse_number("abc", 0), None);
        assert_eq!(
            parse_date_compact("20230131").as_deref(),
            Some("2023-01-31")
        );
        assert_eq!(parse_date_compact("20230230"), None);
        assert_eq!(parse_date_compact("2023013"), None);
        assert_eq!(date_to_compact("2023-12-01").as_deref(), Some("20231201"));

        let fields = vec![
            DbfField::new("N", DbfFieldKind::Numeric, 5, 0),
            DbfField::new("D", DbfFieldKind::Date, 8, 0),
            DbfField::new("L", DbfFieldKind::Logical, 1, 0),
        ];
        let mut bytes = write_dbf("t.dbf", &fields, &[vec![DbfValue::Null; 3]], UTF_8, 0).unwrap();
        let rec = 32 + 32 * 3 + 1;
        bytes[rec + 1..rec + 6].copy_from_slice(b"*****");
        bytes[rec + 14] = b'y';
        let mut t = DbfTable::parse("t.dbf".into(), bytes.clone()).unwrap();
        t.set_encoding(UTF_8);
        assert_eq!(
            t.record(1).unwrap().unwrap(),
            vec![DbfValue::Null, DbfValue::Null, DbfValue::Bool(true)]
        );
        bytes[rec + 6..rec + 14].copy_from_slice(b"20231341");
        let mut t = DbfTable::parse("t.dbf".into(), bytes.clone()).unwrap();
        t.set_encoding(UTF_8);
        match t.record(1) {
            Err(ShpError::DbfBad { record, field, .. }) => {
                assert_eq!(record, 1);
                assert_eq!(field, "D");
            }
            other => panic!("expected DbfBad, got {other:?}"),
        }
        bytes[rec + 6..rec + 14].copy_from_slice(b"        ");
        bytes[rec + 14] = b'x';
        let mut t = DbfTable::parse("t.dbf".into(), bytes).unwrap();
        t.set_encoding(UTF_8);
        assert_eq!(t.record(1).unwrap_err().code(), "DBF_BAD");
    }

    #[test]
    fn deleted_records_read_as_none() {
        let fields = vec![DbfField::new("A", DbfFieldKind::Numeric, 3, 0)];
        let recs = vec![vec![DbfValue::Int(1)], vec![DbfValue::Int(2)]];
        let mut bytes = write_dbf("t.dbf", &fields, &recs, UTF_8, 0).unwrap();
        let first = 32 + 32 + 1;
        bytes[first] = b'*';
        let mut t = DbfTable::parse("t.dbf".into(), bytes).unwrap();
        t.set_encoding(UTF_8);
        assert_eq!(t.record(1).unwrap(), None);
        assert_eq!(t.record(2).unwrap(), Some(vec![DbfValue::Int(2)]));
    }

    #[test]
    fn writer_refuses_bad_input() {
        let long = DbfField::new("ABCDEFGHIJK", DbfFieldKind::Character, 5, 0);
        assert_eq!(
            write_dbf("t.dbf", &[long], &[], UTF_8, 0)
                .unwrap_err()
                .code(),
            "INVALID_FIELD"
        );
        // 4 kanji = 12 bytes in UTF-8, 8 in CP932.
        let jp = DbfField::new("市区町村", DbfFieldKind::Character, 5, 0);
        assert!(write_dbf("t.dbf", std::slice::from_ref(&jp), &[], UTF_8, 0).is_err());
        assert!(write_dbf("t.dbf", &[jp], &[], SHIFT_JIS, 0).is_ok());
        let n = DbfField::new("N", DbfFieldKind::Numeric, 3, 0);
        let err = write_dbf("t.dbf", &[n], &[vec![DbfValue::Int(12345)]], UTF_8, 0).unwrap_err();
        match err {
            ShpError::DbfBad { record, field, .. } => {
                assert_eq!((record, field.as_str()), (1, "N"));
            }
            other => panic!("expected DbfBad, got {other:?}"),
        }
        let c = DbfField::new("C", DbfFieldKind::Character, 5, 0);
        let err = write_dbf(
            "t.dbf",
            &[c],
            &[vec![DbfValue::Text("😀".into())]],
            SHIFT_JIS,
            0,
        )
        .unwrap_err();
        assert_eq!(err.code(), "DBF_BAD");
    }

    #[test]
    fn to_text_rules() {
        assert_eq!(DbfValue::Null.to_text(), None);
        assert_eq!(DbfValue::Text("  ".into()).to_text(), None);
        assert_eq!(DbfValue::Float(12.0).to_text().as_deref(), Some("12"));
        assert_eq!(DbfValue::Float(12.5).to_text().as_deref(), Some("12.5"));
        assert_eq!(DbfValue::Int(-3).to_text().as_deref(), Some("-3"));
        assert_eq!(DbfValue::Bool(true).to_text().as_deref(), Some("true"));
        assert_eq!(
            DbfValue::Date("2020-01-02".into()).to_text().as_deref(),
            Some("2020-01-02")
        );
    }
}
