//! Writing geometries and attributes as a zipped shapefile.
//!
//! The whole shapefile is built in memory first, so invalid input is
//! refused before any file is created.

use std::io::Write;
use std::path::Path;

use encoding_rs::{SHIFT_JIS, UTF_8};
use geo::{Coord, Geometry, LineString, Polygon};

use super::dbf::{write_dbf, DbfField, DbfValue};
use super::read::signed_area2;
use super::ShpError;

/// Text encoding of the written `.dbf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutEncoding {
    /// CP932 (Shift_JIS as Windows writes it). `ldid` sets the language
    /// driver byte to `0x13`; `cpg` adds a `.cpg` file saying `CP932`.
    Cp932 { ldid: bool, cpg: bool },
    /// UTF-8; `cpg` adds a `.cpg` file saying `UTF-8` (recommended: old
    /// readers assume the system code page otherwise).
    Utf8 { cpg: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Point,
    MultiPoint,
    Line,
    Polygon,
}

impl Family {
    fn label(self) -> &'static str {
        match self {
            Family::Point => "points",
            Family::MultiPoint => "multipoints",
            Family::Line => "lines",
            Family::Polygon => "polygons",
        }
    }
}

fn kind_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "Point",
        Geometry::Line(_) => "Line",
        Geometry::LineString(_) => "LineString",
        Geometry::Polygon(_) => "Polygon",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
        Geometry::Rect(_) => "Rect",
        Geometry::Triangle(_) => "Triangle",
    }
}

/// The shape content of one geometry, before encoding.
enum Shape {
    Null,
    Point(Coord<f64>),
    MultiPoint(Vec<Coord<f64>>),
    Parts {
        polygon: bool,
        parts: Vec<Vec<Coord<f64>>>,
    },
}

fn close(mut ring: Vec<Coord<f64>>) -> Vec<Coord<f64>> {
    if let (Some(&first), Some(&last)) = (ring.first(), ring.last()) {
        if first != last {
            ring.push(first);
        }
    }
    ring
}

/// Rings of one polygon, ESRI-oriented: shell clockwise, holes counter-clockwise.
fn polygon_rings(p: &Polygon<f64>, out: &mut Vec<Vec<Coord<f64>>>) {
    if p.exterior().0.is_empty() {
        return;
    }
    let mut shell = close(p.exterior().0.clone());
    if signed_area2(&shell) > 0.0 {
        shell.reverse();
    }
    out.push(shell);
    for hole in p.interiors() {
        if hole.0.is_empty() {
            continue;
        }
        let mut h = close(hole.0.clone());
        if signed_area2(&h) < 0.0 {
            h.reverse();
        }
        out.push(h);
    }
}

fn line_parts<'a>(lines: impl Iterator<Item = &'a LineString<f64>>) -> Vec<Vec<Coord<f64>>> {
    lines
        .filter(|l| l.0.len() >= 2)
        .map(|l| l.0.clone())
        .collect()
}

/// Converts a geometry; `Ok((None, Shape::Null))` for empty geometries.
fn to_shape(g: &Geometry<f64>, record: usize) -> Result<(Option<Family>, Shape), ShpError> {
    let parts = |polygon: bool, parts: Vec<Vec<Coord<f64>>>| {
        if parts.is_empty() {
            (None, Shape::Null)
        } else {
            let fam = if polygon {
                Family::Polygon
            } else {
                Family::Line
            };
            (Some(fam), Shape::Parts { polygon, parts })
        }
    };
    Ok(match g {
        Geometry::Point(p) => (Some(Family::Point), Shape::Point(p.0)),
        Geometry::MultiPoint(mp) => {
            if mp.0.is_empty() {
                (None, Shape::Null)
            } else {
                (
                    Some(Family::MultiPoint),
                    Shape::MultiPoint(mp.0.iter().map(|p| p.0).collect()),
                )
            }
        }
        Geometry::Line(l) => parts(false, vec![vec![l.start, l.end]]),
        Geometry::LineString(l) => parts(false, line_parts(std::iter::once(l))),
        Geometry::MultiLineString(ml) => parts(false, line_parts(ml.0.iter())),
        Geometry::Polygon(p) => {
            let mut rings = Vec::new();
            polygon_rings(p, &mut rings);
            parts(true, rings)
        }
        Geometry::MultiPolygon(mp) => {
            let mut rings = Vec::new();
            for p in &mp.0 {
                polygon_rings(p, &mut rings);
            }
            parts(true, rings)
        }
        Geometry::Rect(r) => {
            let mut rings = Vec::new();
            polygon_rings(&r.to_polygon(), &mut rings);
            parts(true, rings)
        }
        Geometry::Triangle(t) => {
            let mut rings = Vec::new();
            polygon_rings(&t.to_polygon(), &mut rings);
            parts(true, rings)
        }
        Geometry::GeometryCollection(_) => {
            return Err(ShpError::UnsupportedGeometry {
                record,
                kind: kind_name(g),
            })
        }
    })
}

fn bbox_of<'a>(coords: impl Iterator<Item = &'a Coord<f64>>) -> [f64; 4] {
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    for c in coords {
        b = [b[0].min(c.x), b[1].min(c.y), b[2].max(c.x), b[3].max(c.y)];
    }
    b
}

fn push_f64s(out: &mut Vec<u8>, values: &[f64]) {
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
}

fn count_u32(n: usize, what: &str) -> Result<u32, ShpError> {
    u32::try_from(n).map_err(|_| ShpError::InvalidInput {
        detail: format!("too many {what} ({n}) for one shape"),
    })
}

/// Record content (shape type + data) and its bbox (`None` for null shapes).
fn encode_shape(
    shape: &Shape,
    multipoint_file: bool,
) -> Result<(Vec<u8>, Option<[f64; 4]>), ShpError> {
    let mut c = Vec::new();
    match shape {
        Shape::Null => {
            c.extend_from_slice(&0u32.to_le_bytes());
            Ok((c, None))
        }
        Shape::Point(p) if !multipoint_file => {
            c.extend_from_slice(&1u32.to_le_bytes());
            push_f64s(&mut c, &[p.x, p.y]);
            Ok((c, Some([p.x, p.y, p.x, p.y])))
        }
        Shape::Point(p) => encode_multipoint(std::slice::from_ref(p)),
        Shape::MultiPoint(pts) => encode_multipoint(pts),
        Shape::Parts { polygon, parts } => {
            let bbox = bbox_of(parts.iter().flatten());
            let npoints: usize = parts.iter().map(Vec::len).sum();
            c.extend_from_slice(&(if *polygon { 5u32 } else { 3u32 }).to_le_bytes());
            push_f64s(&mut c, &bbox);
            c.extend_from_slice(&count_u32(parts.len(), "parts")?.to_le_bytes());
            c.extend_from_slice(&count_u32(npoints, "points")?.to_le_bytes());
            let mut start = 0usize;
            for part in parts {
                c.extend_from_slice(&count_u32(start, "points")?.to_le_bytes());
                start += part.len();
            }
            for p in parts.iter().flatten() {
                push_f64s(&mut c, &[p.x, p.y]);
            }
            Ok((c, Some(bbox)))
        }
    }
}

fn encode_multipoint(pts: &[Coord<f64>]) -> Result<(Vec<u8>, Option<[f64; 4]>), ShpError> {
    let bbox = bbox_of(pts.iter());
    let mut c = Vec::with_capacity(40 + 16 * pts.len());
    c.extend_from_slice(&8u32.to_le_bytes());
    push_f64s(&mut c, &bbox);
    c.extend_from_slice(&count_u32(pts.len(), "points")?.to_le_bytes());
    for p in pts {
        push_f64s(&mut c, &[p.x, p.y]);
    }
    Ok((c, Some(bbox)))
}

/// The 100-byte header shared by `.shp` and `.shx`.
fn main_header(file_len: usize, shape_type: u32, bbox: [f64; 4]) -> Result<Vec<u8>, ShpError> {
    let words = i32::try_from(file_len / 2).map_err(|_| ShpError::InvalidInput {
        detail: format!("{file_len} bytes is over the 4 GiB limit of a shapefile"),
    })?;
    let mut h = Vec::with_capacity(100);
    h.extend_from_slice(&9994i32.to_be_bytes());
    h.extend_from_slice(&[0u8; 20]);
    h.extend_from_slice(&words.to_be_bytes());
    h.extend_from_slice(&1000i32.to_le_bytes());
    h.extend_from_slice(&shape_type.to_le_bytes());
    push_f64s(&mut h, &bbox);
    push_f64s(&mut h, &[0.0; 4]); // Z and M ranges
    Ok(h)
}

/// Builds the `.shp` and `.shx` bytes and returns the shape type.
fn build_shp(geoms: &[Geometry<f64>]) -> Result<(Vec<u8>, Vec<u8>, u32), ShpError> {
    let mut shapes = Vec::with_capacity(geoms.len());
    let mut family: Option<(Family, usize)> = None;
    for (i, g) in geoms.iter().enumerate() {
        let record = i + 1;
        let (fam, shape) = to_shape(g, record)?;
        if let Some(f) = fam {
            family = match family {
                None => Some((f, record)),
                Some((have, _)) if have == f => family,
                // Points and multipoints share a file as multipoints.
                Some((Family::Point | Family::MultiPoint, first))
                    if matches!(f, Family::Point | Family::MultiPoint) =>
                {
                    Some((Family::MultiPoint, first))
                }
                Some((have, _)) => {
                    return Err(ShpError::MixedGeometry {
                        record,
                        expected: have.label(),
                        found: kind_name(g),
                    })
                }
            };
        }
        shapes.push(shape);
    }
    let shape_type = match family.map(|(f, _)| f) {
        None => 0,
        Some(Family::Point) => 1,
        Some(Family::Line) => 3,
        Some(Family::Polygon) => 5,
        Some(Family::MultiPoint) => 8,
    };
    let multipoint_file = shape_type == 8;

    let mut body = Vec::new();
    let mut index = Vec::with_capacity(8 * shapes.len());
    let mut bbox: Option<[f64; 4]> = None;
    for (i, shape) in shapes.iter().enumerate() {
        let (content, b) = encode_shape(shape, multipoint_file)?;
        if let Some(b) = b {
            bbox = Some(match bbox {
                None => b,
                Some(a) => [
                    a[0].min(b[0]),
                    a[1].min(b[1]),
                    a[2].max(b[2]),
                    a[3].max(b[3]),
                ],
            });
        }
        let too_big = || ShpError::InvalidInput {
            detail: "the shapes are over the 4 GiB limit of a shapefile".to_string(),
        };
        let offset_words = i32::try_from((100 + body.len()) / 2).map_err(|_| too_big())?;
        let len_words = i32::try_from(content.len() / 2).map_err(|_| too_big())?;
        let number = i32::try_from(i + 1).map_err(|_| too_big())?;
        index.extend_from_slice(&offset_words.to_be_bytes());
        index.extend_from_slice(&len_words.to_be_bytes());
        body.extend_from_slice(&number.to_be_bytes());
        body.extend_from_slice(&len_words.to_be_bytes());
        body.extend_from_slice(&content);
    }
    let bbox = bbox.unwrap_or([0.0; 4]);
    let mut shp = main_header(100 + body.len(), shape_type, bbox)?;
    shp.extend_from_slice(&body);
    let mut shx = main_header(100 + index.len(), shape_type, bbox)?;
    shx.extend_from_slice(&index);
    Ok((shp, shx, shape_type))
}

fn check_stem(stem: &str) -> Result<(), ShpError> {
    let bad = stem.is_empty()
        || stem.starts_with('.')
        || stem.contains(['/', '\\', ':', '\0'])
        || stem.chars().any(char::is_control);
    if bad {
        return Err(ShpError::InvalidInput {
            detail: format!("'{stem}' is not a usable file name stem"),
        });
    }
    Ok(())
}

/// Writes stem.shp/.shx/.dbf (+ .prj when given, + .cpg when asked) into a new zip at `out`.
///
/// Shape type from the geometries: all Point -> 1; LineString/MultiLineString -> 3;
/// Polygon/MultiPolygon (and Rect, Triangle) -> 5; MultiPoint (or Point mixed with
/// MultiPoint) -> 8. Other mixes -> [`ShpError::MixedGeometry`]. Empty geometries are
/// written as null shapes and do not count for the type; with no non-empty geometry
/// the type is 0.
/// Polygons: outer rings clockwise, holes counter-clockwise, rings closed (ESRI rules),
/// whatever the input winding.
/// `records` must hold one row per geometry, each aligned with `fields`.
/// Texts too long for their field are cut at a character boundary; a character the
/// encoding cannot represent is an error ([`ShpError::DbfBad`]).
pub fn write_zip(
    out: &Path,
    stem: &str,
    geoms: &[Geometry<f64>],
    fields: &[DbfField],
    records: &[Vec<DbfValue>],
    prj: Option<&str>,
    enc: OutEncoding,
) -> Result<(), ShpError> {
    check_stem(stem)?;
    if geoms.len() != records.len() {
        return Err(ShpError::RecordCountMismatch {
            shp_file: format!("{stem}.shp"),
            shp: geoms.len(),
            dbf_file: format!("{stem}.dbf"),
            dbf: records.len(),
        });
    }
    let (encoding, ldid, cpg) = match enc {
        OutEncoding::Cp932 { ldid, cpg } => (
            SHIFT_JIS,
            if ldid { 0x13 } else { 0 },
            cpg.then_some("CP932"),
        ),
        OutEncoding::Utf8 { cpg } => (UTF_8, 0, cpg.then_some("UTF-8")),
    };
    let (shp, shx, _) = build_shp(geoms)?;
    let dbf = write_dbf(&format!("{stem}.dbf"), fields, records, encoding, ldid)?;

    let mut members: Vec<(String, &[u8])> = vec![
        (format!("{stem}.shp"), &shp),
        (format!("{stem}.shx"), &shx),
        (format!("{stem}.dbf"), &dbf),
    ];
    if let Some(p) = prj {
        members.push((format!("{stem}.prj"), p.as_bytes()));
    }
    if let Some(c) = cpg {
        members.push((format!("{stem}.cpg"), c.as_bytes()));
    }

    let shown = out.display().to_string();
    let io = |source: std::io::Error| ShpError::Io {
        path: shown.clone(),
        source,
    };
    let zip_err = |e: zip::result::ZipError| match e {
        zip::result::ZipError::Io(source) => io(source),
        other => io(std::io::Error::other(other)),
    };
    let result = (|| -> Result<(), ShpError> {
        let file = std::fs::File::create(out).map_err(io)?;
        let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(file));
        for (name, data) in &members {
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .unix_permissions(0o644)
                .large_file(data.len() as u64 >= u64::from(u32::MAX));
            zip.start_file(name.as_str(), opts).map_err(zip_err)?;
            zip.write_all(data).map_err(io)?;
        }
        let mut inner = zip.finish().map_err(zip_err)?;
        inner.flush().map_err(io)?;
        Ok(())
    })();
    if result.is_err() {
        // Best effort: do not leave a half-written zip behind.
        let _ = std::fs::remove_file(out);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DbfFieldKind, ZipLimits};
    use geo::{line_string, point, polygon, GeometryCollection, MultiPolygon, Rect};

    fn unzip(path: &Path) -> Vec<(String, Vec<u8>)> {
        let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
        (0..z.len())
            .map(|i| {
                let mut f = z.by_index(i).unwrap();
                let mut v = Vec::new();
                std::io::Read::read_to_end(&mut f, &mut v).unwrap();
                (f.name().to_string(), v)
            })
            .collect()
    }

    fn member<'a>(m: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
        &m.iter().find(|(n, _)| n == name).unwrap().1
    }

    fn be32(b: &[u8], at: usize) -> i32 {
        i32::from_be_bytes(b[at..at + 4].try_into().unwrap())
    }

    fn le32(b: &[u8], at: usize) -> i32 {
        i32::from_le_bytes(b[at..at + 4].try_into().unwrap())
    }

    fn lef(b: &[u8], at: usize) -> f64 {
        f64::from_le_bytes(b[at..at + 8].try_into().unwrap())
    }

    fn one_field() -> Vec<DbfField> {
        vec![DbfField::new("ID", DbfFieldKind::Numeric, 5, 0)]
    }

    fn ids(n: usize) -> Vec<Vec<DbfValue>> {
        (0..n).map(|i| vec![DbfValue::Int(i as i64)]).collect()
    }

    #[test]
    fn shp_and_shx_headers_are_exact() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("h.zip");
        let geoms = vec![
            Geometry::Point(point!(x: 10.0, y: -2.0)),
            Geometry::Point(point!(x: -3.0, y: 7.5)),
        ];
        write_zip(
            &p,
            "h",
            &geoms,
            &one_field(),
            &ids(2),
            Some("PROJCS[...]"),
            OutEncoding::Cp932 {
                ldid: true,
                cpg: true,
            },
        )
        .unwrap();
        let m = unzip(&p);
        let names: Vec<&str> = m.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["h.shp", "h.shx", "h.dbf", "h.prj", "h.cpg"]);
        let shp = member(&m, "h.shp");
        assert_eq!(shp.len(), 100 + 2 * 28);
        assert_eq!(be32(shp, 0), 9994);
        assert_eq!(be32(shp, 24), (shp.len() / 2) as i32);
        assert_eq!(le32(shp, 28), 1000);
        assert_eq!(le32(shp, 32), 1);
        assert_eq!(
            [lef(shp, 36), lef(shp, 44), lef(shp, 52), lef(shp, 60)],
            [-3.0, -2.0, 10.0, 7.5]
        );
        // Record 2 header and content.
        assert_eq!(be32(shp, 128), 2);
        assert_eq!(be32(shp, 132), 10);
        assert_eq!(le32(shp, 136), 1);
        assert_eq!((lef(shp, 140), lef(shp, 148)), (-3.0, 7.5));
        let shx = member(&m, "h.shx");
        assert_eq!(shx.len(), 116);
        assert_eq!(be32(shx, 24), 58);
        assert_eq!(&shx[36..100], &shp[36..100]);
        assert_eq!((be32(shx, 100), be32(shx, 104)), (50, 10));
        assert_eq!((be32(shx, 108), be32(shx, 112)), (64, 10));
        assert_eq!(member(&m, "h.cpg"), b"CP932");
        assert_eq!(member(&m, "h.prj"), b"PROJCS[...]");
        assert_eq!(member(&m, "h.dbf")[29], 0x13);
    }

    #[test]
    fn polygon_rings_are_oriented_whatever_the_input() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("w.zip");
        // Exterior clockwise already, hole clockwise (wrong), both unclosed.
        let poly = Polygon::new(
            LineString::from(vec![(0.0, 0.0), (0.0, 4.0), (4.0, 4.0), (4.0, 0.0)]),
            vec![LineString::from(vec![
                (1.0, 1.0),
                (1.0, 2.0),
                (2.0, 2.0),
                (2.0, 1.0),
            ])],
        );
        // geo closes rings itself; open them again to test our closing.
        let (mut ext, mut holes) = poly.into_inner();
        ext.0.pop();
        holes[0].0.pop();
        let poly = Polygon::new(ext, holes);
        write_zip(
            &p,
            "w",
            &[Geometry::Polygon(poly)],
            &one_field(),
            &ids(1),
            None,
            OutEncoding::Utf8 { cpg: true },
        )
        .unwrap();
        let m = unzip(&p);
        let shp = member(&m, "w.shp");
        assert_eq!(le32(shp, 32), 5);
        let c = 108; // content start of record 1
        assert_eq!(le32(shp, c), 5);
        assert_eq!((le32(shp, c + 36), le32(shp, c + 40)), (2, 10));
        assert_eq!((le32(shp, c + 44), le32(shp, c + 48)), (0, 5));
        let pts: Vec<Coord<f64>> = (0..10)
            .map(|i| Coord {
                x: lef(shp, c + 52 + 16 * i),
                y: lef(shp, c + 60 + 16 * i),
            })
            .collect();
        assert_eq!(pts[0], pts[4], "shell closed");
        assert_eq!(pts[5], pts[9], "hole closed");
        assert!(signed_area2(&pts[0..5]) < 0.0, "shell clockwise");
        assert!(signed_area2(&pts[5..10]) > 0.0, "hole counter-clockwise");
    }

    #[test]
    fn shape_type_follows_the_geometries() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("t.zip");
        let line = Geometry::LineString(line_string![(x: 0.0, y: 0.0), (x: 1.0, y: 1.0)]);
        let poly =
            Geometry::Polygon(polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0)]);
        let pt = Geometry::Point(point!(x: 0.0, y: 0.0));
        let write = |geoms: &[Geometry<f64>]| {
            write_zip(
                &p,
                "t",
                geoms,
                &one_field(),
                &ids(geoms.len()),
                None,
                OutEncoding::Utf8 { cpg: false },
            )
        };
        let shape_type = || le32(member(&unzip(&p), "t.shp"), 32);
        write(&[line.clone(), line.clone()]).unwrap();
        assert_eq!(shape_type(), 3);
        let rect = Geometry::Rect(Rect::new((0.0, 0.0), (2.0, 2.0)));
        let empty = Geometry::MultiPolygon(MultiPolygon::new(vec![]));
        write(&[poly.clone(), rect, empty]).unwrap();
        assert_eq!(shape_type(), 5);
        write(&[pt.clone(), pt.clone()]).unwrap();
        assert_eq!(shape_type(), 1);
        match write(&[pt.clone(), line.clone()]) {
            Err(ShpError::MixedGeometry {
                record,
                expected,
                found,
            }) => assert_eq!((record, expected, found), (2, "points", "LineString")),
            other => panic!("expected MixedGeometry, got {other:?}"),
        }
        let gc = Geometry::GeometryCollection(GeometryCollection::new_from(vec![pt.clone()]));
        std::fs::remove_file(&p).unwrap();
        assert_eq!(write(&[gc]).unwrap_err().code(), "UNSUPPORTED_GEOMETRY");
        // The failed write created no file.
        assert!(!p.exists());
    }

    #[test]
    fn invalid_arguments_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.zip");
        let pt = Geometry::Point(point!(x: 0.0, y: 0.0));
        let enc = OutEncoding::Utf8 { cpg: true };
        let one = std::slice::from_ref(&pt);
        let e = write_zip(&p, "x", one, &one_field(), &ids(2), None, enc).unwrap_err();
        assert_eq!(e.code(), "RECORD_COUNT_MISMATCH");
        for stem in ["", "../x", "a/b", "C:x", ".hidden"] {
            let e = write_zip(&p, stem, &[], &one_field(), &[], None, enc).unwrap_err();
            assert_eq!(e.code(), "INVALID_INPUT", "{stem}");
        }
        let e = write_zip(
            &p,
            "x",
            &[pt],
            &one_field(),
            &[vec![DbfValue::Text("abc".into())]],
            None,
            enc,
        )
        .unwrap_err();
        match e {
            ShpError::DbfBad { record, field, .. } => {
                assert_eq!((record, field.as_str()), (1, "ID"))
            }
            other => panic!("expected DbfBad, got {other:?}"),
        }
        assert!(!p.exists());
    }

    #[test]
    fn empty_shapefile_is_readable() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("e.zip");
        write_zip(
            &p,
            "e",
            &[],
            &one_field(),
            &[],
            None,
            OutEncoding::Utf8 { cpg: true },
        )
        .unwrap();
        let r = crate::open_zip(&p, &ZipLimits::default()).unwrap();
        assert_eq!(r.info().shape_type, 0);
        assert_eq!(r.info().record_count, 0);
        assert_eq!(r.records().count(), 0);
    }
}
