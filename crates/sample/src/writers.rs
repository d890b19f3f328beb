//! Output helpers: CSV in the encodings municipalities really use, and GeoJSON
//! FeatureCollections streamed feature by feature (the `geojson` crate's types, serialised by
//! `serde_json`).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use encoding_rs::SHIFT_JIS;
use geo::{LineString, Polygon};
use geojson::{Feature, Geometry, GeometryValue, JsonObject, JsonValue, Position};

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

/// A property value.
#[derive(Debug, Clone, Copy)]
pub enum Prop<'a> {
    Str(&'a str),
    Int(i64),
}

/// Geometry accepted by [`GeoJsonWriter::feature`].
#[derive(Debug, Clone, Copy)]
pub enum Geom<'a> {
    Polygon(&'a Polygon),
    LineString(&'a LineString),
    MultiLineString(&'a [LineString]),
}

/// Streams a FeatureCollection to a file, one feature per line: each feature a
/// [`geojson::Feature`] serialised by `serde_json`, so the benchmark layer never holds more than
/// one. The collection's `name` (and a legacy `crs`) are foreign members.
pub struct GeoJsonWriter {
    w: BufWriter<File>,
    path: PathBuf,
    /// 10^decimals: coordinates are rounded to that many decimals (7 for degrees, about 1 cm;
    /// 3 for metres), as municipal files carry them.
    scale: f64,
    count: usize,
}

impl GeoJsonWriter {
    /// Creates `path` and writes the collection's head. `crs` is a legacy named CRS
    /// (`urn:ogc:def:crs:EPSG::6673`); RFC 7946 files pass `None`.
    pub fn create(
        path: &Path,
        name: &str,
        crs: Option<&str>,
        decimals: i32,
    ) -> Result<Self, SampleError> {
        let f = File::create(path).map_err(io_err(path))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        let head = |w: &mut BufWriter<File>| -> io::Result<()> {
            w.write_all(b"{\"type\":\"FeatureCollection\",\"name\":")?;
            serde_json::to_writer(&mut *w, name)?;
            if let Some(crs) = crs {
                w.write_all(b",\"crs\":{\"type\":\"name\",\"properties\":{\"name\":")?;
                serde_json::to_writer(&mut *w, crs)?;
                w.write_all(b"}}")?;
            }
            w.write_all(b",\"features\":[\n")
        };
        head(&mut w).map_err(io_err(path))?;
        Ok(GeoJsonWriter {
            w,
            path: path.to_path_buf(),
            scale: 10f64.powi(decimals),
            count: 0,
        })
    }

    /// A position rounded to the writer's decimals.
    pub fn position(&self, x: f64, y: f64) -> Position {
        // `+ 0.0` turns a rounded -0 into 0.
        let r = |v: f64| (v * self.scale).round() / self.scale + 0.0;
        Position::from([r(x), r(y)])
    }

    fn line(&self, l: &LineString) -> Vec<Position> {
        l.0.iter().map(|c| self.position(c.x, c.y)).collect()
    }

    /// Writes one feature: `props` in the given order, `geom` rounded to the writer's decimals.
    pub fn feature(&mut self, props: &[(&str, Prop)], geom: Geom) -> Result<(), SampleError> {
        let properties: JsonObject = props
            .iter()
            .map(|&(k, v)| {
                let v = match v {
                    Prop::Str(s) => JsonValue::from(s),
                    Prop::Int(n) => JsonValue::from(n),
                };
                (k.to_string(), v)
            })
            .collect();
        let value = match geom {
            Geom::Polygon(p) => GeometryValue::Polygon {
                coordinates: std::iter::once(p.exterior())
                    .chain(p.interiors())
                    .map(|r| self.line(r))
                    .collect(),
            },
            Geom::LineString(l) => GeometryValue::LineString {
                coordinates: self.line(l),
            },
            Geom::MultiLineString(ls) => GeometryValue::MultiLineString {
                coordinates: ls.iter().map(|l| self.line(l)).collect(),
            },
        };
        self.write(&Feature {
            geometry: Some(Geometry::new(value)),
            properties: Some(properties),
            ..Feature::default()
        })
    }

    /// Writes one feature as it is (its positions made by [`GeoJsonWriter::position`]).
    pub fn write(&mut self, feature: &Feature) -> Result<(), SampleError> {
        let mut one = || -> io::Result<()> {
            if self.count > 0 {
                self.w.write_all(b",\n")?;
            }
            serde_json::to_writer(&mut self.w, feature)?;
            Ok(())
        };
        one().map_err(io_err(&self.path))?;
        self.count += 1;
        Ok(())
    }

    /// Closes the collection and flushes.
    pub fn finish(mut self) -> Result<(), SampleError> {
        let mut end = || -> io::Result<()> {
            self.w.write_all(b"\n]}\n")?;
            self.w.flush()
        };
        end().map_err(io_err(&self.path))
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
    fn geojson_rounds_and_keeps_the_collection_members() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("t.geojson");
        let mut w =
            GeoJsonWriter::create(&p, "t", Some("urn:ogc:def:crs:EPSG::6673"), 3).expect("create");
        let poly = Polygon::new(
            LineString::from(vec![
                (-0.0001, 0.0),
                (10.12345, 0.0),
                (10.12345, -5.5),
                (-0.0001, 0.0),
            ]),
            vec![],
        );
        w.feature(
            &[("b", Prop::Str("x\"y")), ("a", Prop::Int(-3))],
            Geom::Polygon(&poly),
        )
        .expect("feature");
        w.feature(&[], Geom::LineString(poly.exterior()))
            .expect("feature");
        w.finish().expect("finish");
        let text = std::fs::read_to_string(&p).expect("read");
        assert_eq!(text.lines().count(), 4, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(v["name"], "t");
        assert_eq!(v["crs"]["properties"]["name"], "urn:ogc:def:crs:EPSG::6673");
        let f = &v["features"][0];
        assert_eq!(f["properties"]["b"], "x\"y");
        assert_eq!(f["properties"]["a"], -3);
        assert_eq!(
            f["geometry"]["coordinates"][0][1],
            serde_json::json!([10.123, 0.0])
        );
        // -0.0001 rounds to 0, not -0.
        assert_eq!(f["geometry"]["coordinates"][0][0][0].to_string(), "0.0");
        // The geojson crate (an independent reader) reads it.
        let fc: geojson::FeatureCollection = text.parse().expect("FeatureCollection");
        assert_eq!(fc.features.len(), 2);
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
