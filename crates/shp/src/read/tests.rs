use super::super::write::write_zip;
use super::super::{DbfField, DbfFieldKind, DbfValue, OutEncoding};
use super::*;
use geo::{coord, line_string, point, polygon};
use std::io::Write;
use zip::write::SimpleFileOptions;

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn name_field() -> Vec<DbfField> {
    vec![
        DbfField::new("NAME", DbfFieldKind::Character, 20, 0),
        DbfField::new("CODE", DbfFieldKind::Numeric, 6, 0),
    ]
}

fn rows(names: &[&str]) -> Vec<Vec<DbfValue>> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| vec![DbfValue::Text(n.to_string()), DbfValue::Int(i as i64 + 1)])
        .collect()
}

fn read_all(path: &Path) -> (ShapefileInfo, Vec<ShpRecord>) {
    let r = open_zip(path, &ZipLimits::default()).unwrap();
    let info = r.info().clone();
    let recs = r.records().collect::<Result<Vec<_>, _>>().unwrap();
    (info, recs)
}

fn zip_entries(path: &Path, entries: &[(&str, &[u8])]) {
    let f = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    for (name, data) in entries {
        z.start_file(*name, SimpleFileOptions::default()).unwrap();
        z.write_all(data).unwrap();
    }
    z.finish().unwrap();
}

/// Reads back the members of a zip written by `write_zip`.
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

/// A valid shapefile zip with two points, as (name, bytes) members.
fn sample_members(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let p = dir.join("sample.zip");
    let geoms = vec![
        Geometry::Point(point!(x: 1.0, y: 2.0)),
        Geometry::Point(point!(x: 3.0, y: 4.0)),
    ];
    write_zip(
        &p,
        "sample",
        &geoms,
        &name_field(),
        &rows(&["a", "b"]),
        None,
        OutEncoding::Utf8 { cpg: true },
    )
    .unwrap();
    unzip(&p)
}

fn rezip(path: &Path, members: &[(String, Vec<u8>)]) {
    let refs: Vec<(&str, &[u8])> = members
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    zip_entries(path, &refs);
}

/// Hand-made polygon .shp/.shx: each record is a list of parts.
fn raw_polygons(records: &[Vec<Vec<(f64, f64)>>]) -> (Vec<u8>, Vec<u8>) {
    let mut body = Vec::new();
    let mut index = Vec::new();
    for (i, parts) in records.iter().enumerate() {
        let npts: usize = parts.iter().map(|p| p.len()).sum();
        let mut c = Vec::new();
        c.extend_from_slice(&5u32.to_le_bytes());
        c.extend_from_slice(&[0u8; 32]);
        c.extend_from_slice(&(parts.len() as u32).to_le_bytes());
        c.extend_from_slice(&(npts as u32).to_le_bytes());
        let mut start = 0u32;
        for p in parts {
            c.extend_from_slice(&start.to_le_bytes());
            start += p.len() as u32;
        }
        for p in parts {
            for (x, y) in p {
                c.extend_from_slice(&x.to_le_bytes());
                c.extend_from_slice(&y.to_le_bytes());
            }
        }
        let offset = 100 + body.len();
        index.extend_from_slice(&((offset / 2) as i32).to_be_bytes());
        index.extend_from_slice(&((c.len() / 2) as i32).to_be_bytes());
        body.extend_from_slice(&((i + 1) as i32).to_be_bytes());
        body.extend_from_slice(&((c.len() / 2) as i32).to_be_bytes());
        body.extend_from_slice(&c);
    }
    let header = |len: usize| {
        let mut h = Vec::new();
        h.extend_from_slice(&9994i32.to_be_bytes());
        h.extend_from_slice(&[0u8; 20]);
        h.extend_from_slice(&((len / 2) as i32).to_be_bytes());
        h.extend_from_slice(&1000i32.to_le_bytes());
        h.extend_from_slice(&5i32.to_le_bytes());
        h.extend_from_slice(&[0u8; 64]);
        h
    };
    let mut shp = header(100 + body.len());
    shp.extend_from_slice(&body);
    let mut shx = header(100 + index.len());
    shx.extend_from_slice(&index);
    (shp, shx)
}

fn raw_polygon_zip(dir: &Path, records: &[Vec<Vec<(f64, f64)>>]) -> std::path::PathBuf {
    let (shp, shx) = raw_polygons(records);
    let fields = vec![DbfField::new("ID", DbfFieldKind::Numeric, 4, 0)];
    let vals: Vec<Vec<DbfValue>> = (0..records.len())
        .map(|i| vec![DbfValue::Int(i as i64 + 1)])
        .collect();
    let dbf = super::super::dbf::write_dbf("raw.dbf", &fields, &vals, UTF_8, 0).unwrap();
    let p = dir.join("raw.zip");
    zip_entries(
        &p,
        &[("raw.shp", &shp), ("raw.shx", &shx), ("raw.dbf", &dbf)],
    );
    p
}

fn err_of(path: &Path, limits: &ZipLimits) -> ShpError {
    match open_zip(path, limits) {
        Ok(_) => panic!("{} was accepted", path.display()),
        Err(e) => e,
    }
}

// ------------------------------------------------------ round trips

#[test]
fn points_round_trip() {
    let d = tmp();
    let p = d.path().join("pts.zip");
    let geoms = vec![
        Geometry::Point(point!(x: 139.6917, y: 35.6895)),
        Geometry::Point(point!(x: -1.5, y: 0.25)),
    ];
    write_zip(
        &p,
        "pts",
        &geoms,
        &name_field(),
        &rows(&["tokyo", "x"]),
        None,
        OutEncoding::Utf8 { cpg: true },
    )
    .unwrap();
    let (info, recs) = read_all(&p);
    assert_eq!(info.shape_type, 1);
    assert_eq!(info.entry_stem, "pts");
    assert_eq!(info.record_count, 2);
    assert_eq!(info.bbox, [-1.5, 0.25, 139.6917, 35.6895]);
    assert_eq!(info.fields, name_field());
    assert_eq!(info.prj, None);
    assert_eq!(recs.len(), 2);
    assert_eq!(recs[0].index, 1);
    assert_eq!(recs[0].geometry, Some(geoms[0].clone()));
    assert_eq!(recs[1].geometry, Some(geoms[1].clone()));
    assert_eq!(
        recs[0].attributes,
        vec![DbfValue::Text("tokyo".into()), DbfValue::Int(1)]
    );
    assert!(recs[0].notes.is_empty());
}

#[test]
fn lines_round_trip() {
    let d = tmp();
    let p = d.path().join("lines.zip");
    let l1 = line_string![(x: 0.0, y: 0.0), (x: 1.0, y: 1.0), (x: 2.0, y: 0.5)];
    let l2 = line_string![(x: 5.0, y: 5.0), (x: 6.0, y: 6.0)];
    let geoms = vec![
        Geometry::LineString(l1.clone()),
        Geometry::MultiLineString(MultiLineString::new(vec![l1.clone(), l2.clone()])),
    ];
    write_zip(
        &p,
        "lines",
        &geoms,
        &name_field(),
        &rows(&["a", "b"]),
        None,
        OutEncoding::Utf8 { cpg: false },
    )
    .unwrap();
    let (info, recs) = read_all(&p);
    assert_eq!(info.shape_type, 3);
    assert_eq!(info.bbox, [0.0, 0.0, 6.0, 6.0]);
    assert_eq!(recs[0].geometry, Some(Geometry::LineString(l1.clone())));
    assert_eq!(
        recs[1].geometry,
        Some(Geometry::MultiLineString(MultiLineString::new(vec![
            l1, l2
        ])))
    );
}

#[test]
fn polygons_with_holes_and_multipolygons_round_trip() {
    let d = tmp();
    let p = d.path().join("poly.zip");
    // Input deliberately in OGC winding (exterior CCW, hole CW).
    let with_hole = polygon!(
        exterior: [(x: 0.0, y: 0.0), (x: 10.0, y: 0.0), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0), (x: 0.0, y: 0.0)],
        interiors: [[(x: 2.0, y: 2.0), (x: 2.0, y: 4.0), (x: 4.0, y: 4.0), (x: 4.0, y: 2.0), (x: 2.0, y: 2.0)]],
    );
    let island = polygon![(x: 20.0, y: 20.0), (x: 21.0, y: 20.0), (x: 21.0, y: 21.0)];
    let multi = MultiPolygon::new(vec![with_hole.clone(), island.clone()]);
    let geoms = vec![
        Geometry::Polygon(with_hole.clone()),
        Geometry::MultiPolygon(multi),
    ];
    write_zip(
        &p,
        "poly",
        &geoms,
        &name_field(),
        &rows(&["a", "b"]),
        None,
        OutEncoding::Utf8 { cpg: true },
    )
    .unwrap();
    let (info, recs) = read_all(&p);
    assert_eq!(info.shape_type, 5);
    assert!(recs.iter().all(|r| r.notes.is_empty()), "{recs:?}");
    let Some(Geometry::Polygon(got)) = &recs[0].geometry else {
        panic!("expected a polygon, got {:?}", recs[0].geometry);
    };
    assert_eq!(got.interiors().len(), 1);
    // Shells are written clockwise, holes counter-clockwise.
    assert!(signed_area2(&got.exterior().0) < 0.0);
    assert!(signed_area2(&got.interiors()[0].0) > 0.0);
    assert_eq!(geo::Area::unsigned_area(got), 96.0);
    let Some(Geometry::MultiPolygon(mp)) = &recs[1].geometry else {
        panic!("expected a multipolygon, got {:?}", recs[1].geometry);
    };
    assert_eq!(mp.0.len(), 2);
    assert_eq!(mp.0[0].interiors().len(), 1);
    assert_eq!(mp.0[1].interiors().len(), 0);
    assert_eq!(geo::Area::unsigned_area(mp), 96.5);
    assert!(geo::Contains::contains(&mp.0[1], &point!(x: 20.7, y: 20.2)));
}

#[test]
fn null_geometry_and_prj_are_carried() {
    let d = tmp();
    let p = d.path().join("prj.zip");
    let wkt = "GEOGCS[\"JGD2011\",DATUM[\"Japanese_Geodetic_Datum_2011\",SPHEROID[\"GRS_1980\",6378137.0,298.257222101]],PRIMEM[\"Greenwich\",0.0],UNIT[\"Degree\",0.0174532925199433]]";
    let geoms = vec![
        Geometry::Point(point!(x: 1.0, y: 1.0)),
        Geometry::MultiPoint(MultiPoint::new(vec![])),
    ];
    write_zip(
        &p,
        "prj",
        &geoms,
        &name_field(),
        &rows(&["a", "b"]),
        Some(wkt),
        OutEncoding::Utf8 { cpg: true },
    )
    .unwrap();
    let (info, recs) = read_all(&p);
    assert_eq!(info.prj.as_deref(), Some(wkt));
    assert_eq!(recs[1].geometry, None);
    assert_eq!(recs[1].attributes[0], DbfValue::Text("b".into()));
}

const JP: [&str; 2] = ["千代田区丸の内", "髙島屋・ｶﾅ"];

fn jp_round_trip(enc: OutEncoding) -> (ShapefileInfo, Vec<ShpRecord>) {
    let d = tmp();
    let p = d.path().join("jp.zip");
    let geoms = vec![
        Geometry::Point(point!(x: 1.0, y: 1.0)),
        Geometry::Point(point!(x: 2.0, y: 2.0)),
    ];
    let fields = vec![
        DbfField::new("名称", DbfFieldKind::Character, 30, 0),
        DbfField::new("CODE", DbfFieldKind::Numeric, 6, 0),
    ];
    write_zip(&p, "jp", &geoms, &fields, &rows(&JP), None, enc).unwrap();
    let (info, recs) = read_all(&p);
    assert_eq!(info.fields[0].name, "名称");
    for (r, text) in recs.iter().zip(JP) {
        assert_eq!(r.attributes[0], DbfValue::Text(text.to_string()));
    }
    (info, recs)
}

#[test]
fn cp932_via_ldid_only() {
    let (info, _) = jp_round_trip(OutEncoding::Cp932 {
        ldid: true,
        cpg: false,
    });
    assert_eq!(info.encoding, SHIFT_JIS);
    assert_eq!(info.encoding_source, EncodingSource::LanguageDriver(0x13));
}

#[test]
fn cp932_via_cpg_only() {
    let (info, _) = jp_round_trip(OutEncoding::Cp932 {
        ldid: false,
        cpg: true,
    });
    assert_eq!(info.encoding, SHIFT_JIS);
    assert_eq!(info.encoding_source, EncodingSource::Cpg("CP932".into()));
}

#[test]
fn utf8_detected_without_cpg() {
    let (info, _) = jp_round_trip(OutEncoding::Utf8 { cpg: false });
    assert_eq!(info.encoding, UTF_8);
    assert_eq!(info.encoding_source, EncodingSource::DetectedUtf8);
}

#[test]
fn utf8_via_cpg() {
    let (info, _) = jp_round_trip(OutEncoding::Utf8 { cpg: true });
    assert_eq!(info.encoding_source, EncodingSource::Cpg("UTF-8".into()));
}

#[test]
fn cp932_assumed_when_nothing_says() {
    let (info, _) = jp_round_trip(OutEncoding::Cp932 {
        ldid: false,
        cpg: false,
    });
    assert_eq!(info.encoding, SHIFT_JIS);
    assert_eq!(info.encoding_source, EncodingSource::AssumedCp932);
}

#[test]
fn unknown_cpg_falls_through_with_a_warning() {
    let d = tmp();
    let mut members = sample_members(d.path());
    for (name, data) in members.iter_mut() {
        if name.ends_with(".cpg") {
            *data = b"KLINGON-1\r\n".to_vec();
        }
    }
    let p = d.path().join("cpg.zip");
    rezip(&p, &members);
    let (info, _) = read_all(&p);
    assert_eq!(info.encoding_source, EncodingSource::DetectedUtf8);
    assert!(info.warnings.iter().any(|w| w.contains("KLINGON-1")));
    assert_eq!(cpg_encoding(" shift_jis "), Some(SHIFT_JIS));
    assert_eq!(cpg_encoding("65001"), Some(UTF_8));
    assert_eq!(cpg_encoding("Windows-31J"), Some(SHIFT_JIS));
    assert_eq!(cpg_encoding("1252"), None);
}

#[test]
fn loose_files_with_upper_case_extensions() {
    let d = tmp();
    for (name, data) in sample_members(d.path()) {
        let upper = name.replace(".shp", ".SHP").replace(".dbf", ".DBF");
        std::fs::write(d.path().join(upper), data).unwrap();
    }
    let r = open_files(&d.path().join("sample.SHP")).unwrap();
    assert_eq!(r.info().entry_stem, "sample");
    assert_eq!(
        r.info().encoding_source,
        EncodingSource::Cpg("UTF-8".into())
    );
    let recs: Vec<_> = r.records().collect::<Result<_, _>>().unwrap();
    assert_eq!(recs.len(), 2);
    assert_eq!(
        recs[1].geometry,
        Some(Geometry::Point(point!(x: 3.0, y: 4.0)))
    );
}

#[test]
fn subfolder_macosx_and_missing_shx_are_handled() {
    let d = tmp();
    let members = sample_members(d.path());
    let mut moved: Vec<(String, Vec<u8>)> = members
        .into_iter()
        .filter(|(n, _)| !n.ends_with(".shx"))
        .map(|(n, b)| (format!("データ/{n}"), b))
        .collect();
    moved.push(("__MACOSX/データ/._sample.shp".into(), b"junk".to_vec()));
    moved.push(("データ/.hidden.shp".into(), b"junk".to_vec()));
    let p = d.path().join("sub.zip");
    rezip(&p, &moved);
    let (info, recs) = read_all(&p);
    assert_eq!(info.entry_stem, "データ/sample");
    assert!(info.warnings.iter().any(|w| w.contains("no .shx")));
    assert_eq!(recs.len(), 2);
    assert_eq!(
        recs[0].geometry,
        Some(Geometry::Point(point!(x: 1.0, y: 2.0)))
    );
}

#[test]
fn deleted_dbf_record_skips_the_shape() {
    let d = tmp();
    let mut members = sample_members(d.path());
    for (name, data) in members.iter_mut() {
        if name.ends_with(".dbf") {
            let header_len = u16::from_le_bytes([data[8], data[9]]) as usize;
            data[header_len] = b'*';
        }
    }
    let p = d.path().join("del.zip");
    rezip(&p, &members);
    let (info, recs) = read_all(&p);
    assert_eq!(info.record_count, 2);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].index, 2);
    assert_eq!(
        recs[0].geometry,
        Some(Geometry::Point(point!(x: 3.0, y: 4.0)))
    );
    assert_eq!(recs[0].attributes[0], DbfValue::Text("b".into()));
}

// ------------------------------------------------------ ring repairs

const SQUARE_CW: [(f64, f64); 5] = [
    (0.0, 0.0),
    (0.0, 10.0),
    (10.0, 10.0),
    (10.0, 0.0),
    (0.0, 0.0),
];
const HOLE_CCW: [(f64, f64); 5] = [(2.0, 2.0), (4.0, 2.0), (4.0, 4.0), (2.0, 4.0), (2.0, 2.0)];

#[test]
fn unclosed_ring_is_closed() {
    let d = tmp();
    let open_ring = SQUARE_CW[..4].to_vec();
    let p = raw_polygon_zip(d.path(), &[vec![open_ring]]);
    let (_, recs) = read_all(&p);
    assert_eq!(recs[0].notes, vec![RepairNote::RingClosed { ring: 0 }]);
    let Some(Geometry::Polygon(poly)) = &recs[0].geometry else {
        panic!("{:?}", recs[0].geometry);
    };
    assert_eq!(poly.exterior().0.len(), 5);
    assert_eq!(poly.exterior().0.first(), poly.exterior().0.last());
    assert_eq!(geo::Area::unsigned_area(poly), 100.0);
}

#[test]
fn all_ccw_rings_are_fixed_by_containment() {
    let d = tmp();
    let outer_ccw: Vec<(f64, f64)> = SQUARE_CW.iter().rev().copied().collect();
    let far_ccw = vec![
        (20.0, 20.0),
        (21.0, 20.0),
        (21.0, 21.0),
        (20.0, 21.0),
        (20.0, 20.0),
    ];
    let p = raw_polygon_zip(
        d.path(),
        &[
            vec![outer_ccw.clone()],
            vec![HOLE_CCW.to_vec(), outer_ccw, far_ccw],
        ],
    );
    let (_, recs) = read_all(&p);
    assert_eq!(recs[0].notes, vec![RepairNote::WindingFixed { ring: 0 }]);
    assert!(matches!(recs[0].geometry, Some(Geometry::Polygon(_))));
    // Hole listed first, before its shell: still assigned to it.
    assert_eq!(
        recs[1].notes,
        vec![
            RepairNote::WindingFixed { ring: 1 },
            RepairNote::WindingFixed { ring: 2 }
        ]
    );
    let Some(Geometry::MultiPolygon(mp)) = &recs[1].geometry else {
        panic!("{:?}", recs[1].geometry);
    };
    assert_eq!(mp.0.len(), 2);
    assert_eq!(mp.0[0].exterior().0[0], coord! {x: 0.0, y: 0.0});
    assert_eq!(mp.0[0].interiors().len(), 1);
    assert_eq!(mp.0[1].interiors().len(), 0);
    assert_eq!(geo::Area::unsigned_area(mp), 97.0);
}

#[test]
fn orphan_hole_becomes_a_shell_and_holes_go_to_smallest_shell() {
    let d = tmp();
    let big: Vec<(f64, f64)> = vec![
        (-50.0, -50.0),
        (-50.0, 50.0),
        (50.0, 50.0),
        (50.0, -50.0),
        (-50.0, -50.0),
    ];
    let orphan = vec![
        (100.0, 100.0),
        (101.0, 100.0),
        (101.0, 101.0),
        (100.0, 100.0),
    ];
    let p = raw_polygon_zip(
        d.path(),
        &[vec![big, SQUARE_CW.to_vec(), HOLE_CCW.to_vec(), orphan]],
    );
    let (_, recs) = read_all(&p);
    assert_eq!(
        recs[0].notes,
        vec![RepairNote::OrphanHoleAsShell { ring: 3 }]
    );
    let Some(Geometry::MultiPolygon(mp)) = &recs[0].geometry else {
        panic!("{:?}", recs[0].geometry);
    };
    assert_eq!(mp.0.len(), 3);
    assert_eq!(
        mp.0[0].interiors().len(),
        0,
        "hole goes to the smaller shell"
    );
    assert_eq!(mp.0[1].interiors().len(), 1);
    assert_eq!(mp.0[2].exterior().0[0], coord! {x: 100.0, y: 100.0});
}

/// A grid of `n` unit squares (clockwise shells), each with a small counter-clockwise hole;
/// with `ccw` every ring is counter-clockwise (the all-CCW path).
fn grid_parts(n: usize, ccw: bool) -> Vec<Vec<Coord<f64>>> {
    let side = (n as f64).sqrt().ceil() as usize;
    let mut parts = Vec::new();
    for k in 0..n {
        let (x, y) = ((k % side) as f64 * 2.0, (k / side) as f64 * 2.0);
        let mut shell = vec![
            coord! {x: x, y: y},
            coord! {x: x, y: y + 1.0},
            coord! {x: x + 1.0, y: y + 1.0},
            coord! {x: x + 1.0, y: y},
            coord! {x: x, y: y},
        ];
        if ccw {
            shell.reverse();
        }
        let hole = vec![
            coord! {x: x + 0.25, y: y + 0.25},
            coord! {x: x + 0.75, y: y + 0.25},
            coord! {x: x + 0.75, y: y + 0.75},
            coord! {x: x + 0.25, y: y + 0.75},
            coord! {x: x + 0.25, y: y + 0.25},
        ];
        parts.push(shell);
        parts.push(hole);
    }
    parts
}

#[test]
fn ring_assembly_tests_only_nearby_rings() {
    // 4,000 shells with a hole each: the old pass tested every hole against every shell
    // (16 million containment tests); the R-tree hands each hole only the shells whose box
    // meets its own.
    for ccw in [false, true] {
        let n = 4_000;
        INSIDE_TESTS.with(|c| c.set(0));
        let (geometry, notes) = assemble_polygon(grid_parts(n, ccw));
        let tests = INSIDE_TESTS.with(|c| c.get());
        assert!(
            tests <= 4 * n as u64,
            "ccw={ccw}: {tests} containment tests"
        );
        let Some(Geometry::MultiPolygon(mp)) = geometry else {
            panic!("ccw={ccw}: not a multipolygon");
        };
        assert_eq!(mp.0.len(), n);
        assert!(mp.0.iter().all(|p| p.interiors().len() == 1), "ccw={ccw}");
        let fixed = notes
            .iter()
            .filter(|n| matches!(n, RepairNote::WindingFixed { .. }))
            .count();
        assert_eq!(fixed, if ccw { n } else { 0 });
    }
}

#[test]
fn empty_polygon_is_none_with_note() {
    let d = tmp();
    let p = raw_polygon_zip(d.path(), &[vec![]]);
    let (_, recs) = read_all(&p);
    assert_eq!(recs[0].geometry, None);
    assert_eq!(recs[0].notes, vec![RepairNote::EmptyShape]);
}

// ------------------------------------------------------ refusals

#[test]
fn truncated_zip_is_refused() {
    let d = tmp();
    let good = d.path().join("good.zip");
    write_zip(
        &good,
        "t",
        &[Geometry::Point(point!(x: 1.0, y: 1.0))],
        &name_field(),
        &rows(&["a"]),
        None,
        OutEncoding::Utf8 { cpg: true },
    )
    .unwrap();
    let bytes = std::fs::read(&good).unwrap();
    let cut = d.path().join("cut.zip");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = err_of(&cut, &ZipLimits::default());
    assert_eq!(e.code(), "ZIP_TRUNCATED", "{e}");
    assert!(e.message_ja().contains("途中で切れています"));
    let junk = d.path().join("junk.zip");
    std::fs::write(&junk, b"this is not a zip at all").unwrap();
    assert_eq!(err_of(&junk, &ZipLimits::default()).code(), "ZIP_INVALID");
}

#[test]
fn traversal_entry_is_refused() {
    let d = tmp();
    let p = d.path().join("evil.zip");
    zip_entries(&p, &[("ok.txt", b"x"), ("../evil.shp", b"x")]);
    let e = err_of(&p, &ZipLimits::default());
    match &e {
        ShpError::ZipUnsafePath { entry, .. } => assert_eq!(entry, "../evil.shp"),
        other => panic!("expected ZipUnsafePath, got {other:?}"),
    }
    let p2 = d.path().join("evil2.zip");
    zip_entries(&p2, &[("a\\..\\..\\evil.shp", b"x")]);
    assert_eq!(err_of(&p2, &ZipLimits::default()).code(), "ZIP_UNSAFE_PATH");
}

#[test]
fn symlink_entry_is_refused() {
    let d = tmp();
    let members = sample_members(d.path());
    let p = d.path().join("link.zip");
    let f = std::fs::File::create(&p).unwrap();
    let mut z = zip::ZipWriter::new(f);
    for (name, data) in members.iter().filter(|(n, _)| !n.ends_with(".prj")) {
        z.start_file(name.as_str(), SimpleFileOptions::default())
            .unwrap();
        z.write_all(data).unwrap();
    }
    z.add_symlink("sample.prj", "/etc/passwd", SimpleFileOptions::default())
        .unwrap();
    z.finish().unwrap();
    match err_of(&p, &ZipLimits::default()) {
        ShpError::ZipLink { entry, .. } => assert_eq!(entry, "sample.prj"),
        other => panic!("expected ZipLink, got {other:?}"),
    }
}

#[test]
fn ratio_bomb_is_refused() {
    let d = tmp();
    let p = d.path().join("bomb.zip");
    let f = std::fs::File::create(&p).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let opts = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .compression_level(Some(1));
    z.start_file("bomb.shp", opts).unwrap();
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..50 {
        z.write_all(&zeros).unwrap();
    }
    z.start_file("bomb.dbf", opts).unwrap();
    z.write_all(b"x").unwrap();
    z.finish().unwrap();
    match err_of(&p, &ZipLimits::default()) {
        ShpError::ZipRatio {
            entry,
            uncompressed,
            max_ratio,
            ..
        } => {
            assert_eq!(entry, "bomb.shp");
            assert_eq!(uncompressed, 50 << 20);
            assert_eq!(max_ratio, 200);
        }
        other => panic!("expected ZipRatio, got {other:?}"),
    }
}

#[test]
fn entry_lying_about_its_size_is_stopped_while_reading() {
    let d = tmp();
    let p = d.path().join("liar.zip");
    let f = std::fs::File::create(&p).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    z.start_file("liar.shp", opts).unwrap();
    z.write_all(&vec![7u8; 300_000]).unwrap();
    z.start_file("liar.dbf", opts).unwrap();
    z.write_all(b"x").unwrap();
    z.finish().unwrap();
    // Patch the declared uncompressed size of liar.shp (local and central headers).
    let mut bytes = std::fs::read(&p).unwrap();
    let small = 1000u32.to_le_bytes();
    bytes[22..26].copy_from_slice(&small);
    let cd = bytes
        .windows(4)
        .position(|w| w == [0x50, 0x4b, 0x01, 0x02])
        .unwrap();
    bytes[cd + 24..cd + 28].copy_from_slice(&small);
    std::fs::write(&p, &bytes).unwrap();
    let e = err_of(&p, &ZipLimits::default());
    assert!(matches!(e.code(), "ZIP_INVALID"), "{e:?}");
    assert!(e.to_string().contains("declared size"), "{e}");
}

#[test]
fn too_many_entries_and_total_size_are_refused() {
    let d = tmp();
    let p = d.path().join("many.zip");
    let names: Vec<String> = (0..1001).map(|i| format!("f{i}.txt")).collect();
    let entries: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b""[..])).collect();
    zip_entries(&p, &entries);
    match err_of(&p, &ZipLimits::default()) {
        ShpError::ZipTooManyEntries { entries, max, .. } => {
            assert_eq!((entries, max), (1001, 1000));
        }
        other => panic!("expected ZipTooManyEntries, got {other:?}"),
    }
    let d2 = tmp();
    let members = sample_members(d2.path());
    let p2 = d2.path().join("small.zip");
    rezip(&p2, &members);
    let tight = ZipLimits {
        max_total_uncompressed: 100,
        ..ZipLimits::default()
    };
    assert_eq!(err_of(&p2, &tight).code(), "ZIP_TOO_LARGE");
}

#[test]
fn two_shapefiles_are_refused() {
    let d = tmp();
    let members = sample_members(d.path());
    let mut both = members.clone();
    both.extend(members.into_iter().map(|(n, b)| (format!("other/{n}"), b)));
    let p = d.path().join("two.zip");
    rezip(&p, &both);
    match err_of(&p, &ZipLimits::default()) {
        ShpError::SeveralShapefiles { stems, .. } => {
            assert_eq!(
                stems,
                vec!["other/sample".to_string(), "sample".to_string()]
            );
        }
        other => panic!("expected SeveralShapefiles, got {other:?}"),
    }
}

#[test]
fn missing_dbf_is_refused() {
    let d = tmp();
    let members: Vec<_> = sample_members(d.path())
        .into_iter()
        .filter(|(n, _)| !n.ends_with(".dbf"))
        .collect();
    let p = d.path().join("nodbf.zip");
    rezip(&p, &members);
    match err_of(&p, &ZipLimits::default()) {
        ShpError::MissingPart { stem, part, .. } => {
            assert_eq!((stem.as_str(), part), ("sample", "dbf"));
        }
        other => panic!("expected MissingPart, got {other:?}"),
    }
    let p2 = d.path().join("empty.zip");
    zip_entries(&p2, &[("readme.txt", b"hello")]);
    assert_eq!(err_of(&p2, &ZipLimits::default()).code(), "MISSING_PART");
}

#[test]
fn truncated_shp_record_is_located() {
    let d = tmp();
    let mut members = sample_members(d.path());
    for (name, data) in members.iter_mut() {
        if name.ends_with(".shp") {
            // Two 28-byte point records after the header: cut inside the second.
            assert_eq!(data.len(), 156);
            data.truncate(140);
        }
    }
    let p = d.path().join("trunc.zip");
    rezip(&p, &members);
    let recs: Vec<_> = open_zip(&p, &ZipLimits::default())
        .unwrap()
        .records()
        .collect();
    assert_eq!(recs.len(), 2);
    assert!(recs[0].is_ok());
    match &recs[1] {
        Err(ShpError::BadRecord {
            file,
            record,
            detail,
        }) => {
            assert_eq!(file, "sample.shp");
            assert_eq!(*record, 2);
            assert!(detail.contains("truncated"), "{detail}");
        }
        other => panic!("expected BadRecord, got {other:?}"),
    }
    // Without the .shx the same truncation is found sequentially.
    let no_shx: Vec<_> = members
        .into_iter()
        .filter(|(n, _)| !n.ends_with(".shx"))
        .collect();
    rezip(&p, &no_shx);
    let recs: Vec<_> = open_zip(&p, &ZipLimits::default())
        .unwrap()
        .records()
        .collect();
    assert_eq!(recs.len(), 2);
    assert!(matches!(
        &recs[1],
        Err(ShpError::BadRecord { record: 2, .. })
    ));
}

#[test]
fn record_count_mismatch_is_refused() {
    let d = tmp();
    let mut members = sample_members(d.path());
    for (name, data) in members.iter_mut() {
        if name.ends_with(".dbf") {
            data[4] = 3;
        }
    }
    let p = d.path().join("mismatch.zip");
    rezip(&p, &members);
    match err_of(&p, &ZipLimits::default()) {
        ShpError::RecordCountMismatch { shp, dbf, .. } => assert_eq!((shp, dbf), (2, 3)),
        other => panic!("expected RecordCountMismatch, got {other:?}"),
    }
}

#[test]
fn garbage_never_panics() {
    // Corrupt every byte position of a small valid .shp/.shx/.dbf in turn.
    let d = tmp();
    let members = sample_members(d.path());
    let p = d.path().join("fuzz.zip");
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for target in [".shp", ".shx", ".dbf"] {
        let len = members
            .iter()
            .find(|(n, _)| n.ends_with(target))
            .map(|(_, b)| b.len())
            .unwrap();
        for pos in 0..len {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut m = members.clone();
            for (n, b) in m.iter_mut() {
                if n.ends_with(target) {
                    b[pos] = (seed & 0xff) as u8;
                    if seed & 0x100 != 0 {
                        b.truncate(pos + 1);
                    }
                }
            }
            rezip(&p, &m);
            if let Ok(r) = open_zip(&p, &ZipLimits::default()) {
                for _ in r.records() {}
            }
        }
    }
}

#[test]
fn error_codes_and_japanese_messages() {
    let e = ShpError::DbfBad {
        file: "a.dbf".into(),
        record: 7,
        field: "DATE".into(),
        detail: "bad".into(),
    };
    assert_eq!(e.code(), "DBF_BAD");
    assert_eq!(e.to_string(), "a.dbf: record 7, field DATE: bad");
    assert!(e.message_ja().contains("7 件目"));
    assert!(e.message_ja().contains("DATE"));
    let e = ShpError::UnsupportedShapeType {
        file: "x.shp".into(),
        record: None,
        code: 31,
    };
    assert_eq!(e.to_string(), "x.shp: unsupported shape type 31");
}
