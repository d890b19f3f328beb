//! Output helpers: CSV in the encodings municipalities really use, and a
//! small streaming GeoJSON writer.
//!
//! The GeoJSON writer is hand-rolled rather than built on `geojson` /
//! `serde_json::Value` because (a) the benchmark layer must stream a million
//! features without holding them, (b) coordinates must be written with a
//! fixed number of decimals (7 for degrees, 3 for metres) and (c) property
//! order should follow the national schema (A31a_101 … 105), which a JSON
//! map would sort. Strings still go through `serde_json` for escaping.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use encoding_rs::SHIFT_JIS;
use geo::{LineString, Polygon};

use super::geometry::P;
use super::SampleError;

/// Wraps an I/O error with the path it happened on.
pub fn io_err(path: &Path) -> impl FnOnce(io::Error) -> SampleError + '_ {
    move |source| SampleError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Serialises rows as CSV with CRLF terminators, quoting only where needed
/// (comma, quote, line break), as Excel does.
pub fn csv_text(rows: &[Vec<String>], file: &str) -> Result<String, SampleError> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .flexible(true)
        .from_writer(Vec::new());
    for r in rows {
        w.write_record(r).map_err(|source| SampleError::Csv {
            file: file.to_string(),
            source,
        })?;
    }
    let bytes = w.into_inner().map_err(|e| SampleError::Io {
        path: file.into(),
        source: e.into_error(),
    })?;
    String::from_utf8(bytes).map_err(|e| SampleError::Io {
        path: file.into(),
        source: io::Error::new(io::ErrorKind::InvalidData, e),
    })
}

/// Encodes text as CP932 (Shift_JIS as Windows writes it), refusing any
/// character CP932 cannot represent instead of writing `?`.
pub fn to_cp932(text: &str, file: &str) -> Result<Vec<u8>, SampleError> {
    let (bytes, _, had_errors) = SHIFT_JIS.encode(text);
    if had_errors {
        let ch = text
            .chars()
            .find(|c| SHIFT_JIS.encode(&c.to_string()).2)
            .unwrap_or('\u{FFFD}');
        return Err(SampleError::Unmappable {
            file: file.to_string(),
            ch,
        });
    }
    Ok(bytes.into_owned())
}

/// Writes bytes to `path`.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), SampleError> {
    std::fs::write(path, bytes).map_err(io_err(path))
}

/// Writes text as UTF-8 with a byte-order mark.
pub fn write_utf8_bom(path: &Path, text: &str) -> Result<(), SampleError> {
    let mut bytes = Vec::with_capacity(text.len() + 3);
    bytes.extend_from_slice(b"\xEF\xBB\xBF");
    bytes.extend_from_slice(text.as_bytes());
    write_file(path, &bytes)
}

/// Appends `v` with exactly `decimals` digits after the point. Much faster
/// than `format!("{:.7}")` and identical for the magnitudes used here.
pub fn push_fixed(buf: &mut Vec<u8>, v: f64, decimals: u32) {
    let p = 10u64.pow(decimals);
    let n = (v * p as f64).round() as i64;
    if n < 0 {
        buf.push(b'-');
    }
    let n = n.unsigned_abs();
    push_u64(buf, n / p);
    if decimals > 0 {
        buf.push(b'.');
        let frac = n % p;
        let mut digits = [b'0'; 20];
        let mut f = frac;
        for i in (0..decimals as usize).rev() {
            digits[i] = b'0' + (f % 10) as u8;
            f /= 10;
        }
        buf.extend_from_slice(&digits[..decimals as usize]);
    }
}

/// Appends an unsigned integer in decimal.
pub fn push_u64(buf: &mut Vec<u8>, mut n: u64) {
    let mut tmp = [0u8; 20];
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&tmp[i..]);
}

/// A property value.
#[derive(Debug, Clone, Copy)]
pub enum Prop<'a> {
    Str(&'a str),
    Int(i64),
}

/// Appends a JSON string literal.
pub fn push_json_str(buf: &mut Vec<u8>, s: &str) {
    // Writing into a Vec cannot fail; serde_json only errors on I/O here.
    serde_json::to_writer(&mut *buf, s).expect("serialising a str into a Vec cannot fail");
}

/// Appends `{"k":v,…}`.
pub fn push_props(buf: &mut Vec<u8>, props: &[(&str, Prop)]) {
    buf.push(b'{');
    for (i, (k, v)) in props.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        push_json_str(buf, k);
        buf.push(b':');
        match v {
            Prop::Str(s) => push_json_str(buf, s),
            Prop::Int(n) => {
                if *n < 0 {
                    buf.push(b'-');
                }
                push_u64(buf, n.unsigned_abs());
            }
        }
    }
    buf.push(b'}');
}

/// Appends `[[x,y],…]`.
pub fn push_ring(buf: &mut Vec<u8>, ring: &LineString, decimals: u32) {
    buf.push(b'[');
    for (i, c) in ring.0.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        push_pos(buf, *c, decimals);
    }
    buf.push(b']');
}

/// Appends `[x,y]`.
pub fn push_pos(buf: &mut Vec<u8>, c: P, decimals: u32) {
    buf.push(b'[');
    push_fixed(buf, c.x, decimals);
    buf.push(b',');
    push_fixed(buf, c.y, decimals);
    buf.push(b']');
}

/// Geometry accepted by [`GeoJsonWriter::feature`].
#[derive(Debug, Clone, Copy)]
pub enum Geom<'a> {
    Polygon(&'a Polygon),
    LineString(&'a LineString),
    MultiLineString(&'a [LineString]),
}

/// Streams a FeatureCollection, one feature per line.
pub struct GeoJsonWriter<W: Write> {
    w: W,
    decimals: u32,
    count: usize,
    buf: Vec<u8>,
}

impl GeoJsonWriter<BufWriter<File>> {
    /// Creates `path` and writes the collection header.
    pub fn create(
        path: &Path,
        name: &str,
        crs: Option<&str>,
        decimals: u32,
    ) -> Result<Self, SampleError> {
        let f = File::create(path).map_err(io_err(path))?;
        GeoJsonWriter::new(BufWriter::with_capacity(1 << 20, f), name, crs, decimals)
            .map_err(io_err(path))
    }
}

impl<W: Write> GeoJsonWriter<W> {
    /// `crs` is a legacy named CRS (`urn:ogc:def:crs:EPSG::6673`); RFC 7946
    /// files pass `None`.
    pub fn new(mut w: W, name: &str, crs: Option<&str>, decimals: u32) -> io::Result<Self> {
        let mut head = Vec::new();
        head.extend_from_slice(b"{\"type\":\"FeatureCollection\",\"name\":");
        push_json_str(&mut head, name);
        if let Some(crs) = crs {
            head.extend_from_slice(b",\"crs\":{\"type\":\"name\",\"properties\":{\"name\":");
            push_json_str(&mut head, crs);
            head.extend_from_slice(b"}}");
        }
        head.extend_from_slice(b",\"features\":[\n");
        w.write_all(&head)?;
        Ok(GeoJsonWriter {
            w,
            decimals,
            count: 0,
            buf: Vec::with_capacity(4096),
        })
    }

    /// Writes one feature.
    pub fn feature(&mut self, props: &[(&str, Prop)], geom: Geom) -> io::Result<()> {
        self.buf.clear();
        let d = self.decimals;
        let buf = &mut self.buf;
        if self.count > 0 {
            buf.extend_from_slice(b",\n");
        }
        buf.extend_from_slice(b"{\"type\":\"Feature\",\"properties\":");
        push_props(buf, props);
        buf.extend_from_slice(b",\"geometry\":{\"type\":");
        match geom {
            Geom::Polygon(p) => {
                buf.extend_from_slice(b"\"Polygon\",\"coordinates\":[");
                push_ring(buf, p.exterior(), d);
                for h in p.interiors() {
                    buf.push(b',');
                    push_ring(buf, h, d);
                }
                buf.push(b']');
            }
            Geom::LineString(l) => {
                buf.extend_from_slice(b"\"LineString\",\"coordinates\":");
                push_ring(buf, l, d);
            }
            Geom::MultiLineString(ls) => {
                buf.extend_from_slice(b"\"MultiLineString\",\"coordinates\":[");
                for (i, l) in ls.iter().enumerate() {
                    if i > 0 {
                        buf.push(b',');
                    }
                    push_ring(buf, l, d);
                }
                buf.push(b']');
            }
        }
        buf.extend_from_slice(b"}}");
        self.count += 1;
        self.w.write_all(&self.buf)
    }

    /// Writes pre-serialised feature bytes (used by the benchmark layer,
    /// which builds its own lines). `line` must not start with a comma.
    pub fn raw_feature(&mut self, line: &[u8]) -> io::Result<()> {
        if self.count > 0 {
            self.w.write_all(b",\n")?;
        }
        self.count += 1;
        self.w.write_all(line)
    }

    /// Closes the collection and flushes.
    pub fn finish(mut self) -> io::Result<W> {
        self.w.write_all(b"\n]}\n")?;
        self.w.flush()?;
        Ok(self.w)
    }
}

/// Maps every vertex of a polygon (e.g. plane metres → lon/lat).
pub fn map_polygon(p: &Polygon, f: impl Fn(P) -> P) -> Polygon {
    let ring = |r: &LineString| LineString::from(r.0.iter().map(|&c| f(c)).collect::<Vec<_>>());
    Polygon::new(ring(p.exterior()), p.interiors().iter().map(ring).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_formatting_matches_std() {
        for &v in &[
            133.9123456789,
            -0.00000004,
            0.0,
            34.25,
            -155_321.123_4,
            1e-8,
            999.99999996,
        ] {
            for d in [0u32, 3, 6, 7] {
                let mut b = Vec::new();
                push_fixed(&mut b, v, d);
                let mine = String::from_utf8(b).expect("ascii");
                let std = format!("{:.*}", d as usize, v);
                let std = if std
                    .trim_start_matches('-')
                    .chars()
                    .all(|c| c == '0' || c == '.')
                {
                    std.trim_start_matches('-').to_string()
                } else {
                    std
                };
                assert_eq!(mine, std, "{v} {d}");
            }
        }
    }

    #[test]
    fn cp932_refuses_unmappable() {
        assert!(to_cp932("桜台一丁目", "x").is_ok());
        assert!(matches!(
            to_cp932("😀", "x"),
            Err(SampleError::Unmappable { ch: '😀', .. })
        ));
    }

    #[test]
    fn csv_quotes_like_excel() {
        let rows = vec![
            vec!["a".to_string(), "b,c".to_string(), "".to_string()],
            vec!["x\ny".to_string(), "q\"".to_string(), "".to_string()],
        ];
        let t = csv_text(&rows, "t").expect("csv");
        assert_eq!(t, "a,\"b,c\",\r\n\"x\ny\",\"q\"\"\",\r\n");
    }
}
