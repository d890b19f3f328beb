//! What the two fuzzers share — the mutational driver in `tests/fuzz` (it includes this file
//! with `#[path]`) and the coverage-guided targets of this crate: the counting allocator that
//! checks each input's memory, the seeds (the stored files' key, features and tiles, filters),
//! and how a stored tile set, a CQL2 filter and a CKAN query are exercised.

use machimap::catalog::{build_catalog, Catalog, Publisher};
use machimap::dataset::{DatasetId, Val};
use machimap::filter::{self, FilterCrs, Lang, Queryables};
use machimap::index::image::Key;
use machimap::index::tileset::{TileBytes, TileSet};
use machimap::index::{Feature, Layer, Snapshot};
use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Counts live heap bytes and their peak, so each input's memory can be checked.
pub struct Counting;

/// Heap bytes live now.
pub static LIVE: AtomicUsize = AtomicUsize::new(0);
/// The most live at once since [`PEAK`] was last set.
pub static PEAK: AtomicUsize = AtomicUsize::new(0);

#[allow(unsafe_code, reason = "a global allocator is an unsafe trait")]
// SAFETY: every call is forwarded to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        // SAFETY: the caller's layout, passed on unchanged.
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        // SAFETY: `p` came from `System` with this layout (every allocation here does).
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        // SAFETY: as `dealloc`; the new size is the caller's.
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new > l.size() {
                let now = LIVE.fetch_add(new - l.size(), Ordering::Relaxed) + new - l.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(l.size() - new, Ordering::Relaxed);
            }
        }
        q
    }
}

/// Fixed allowance per input: PROJ's context and proj.db, the readers' buffers.
pub const FIXED_ALLOWANCE: usize = 16 << 20;

/// Run `f` and say what it gave and the most heap it held at once beyond what was live before.
pub fn measure<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let out = f();
    (out, PEAK.load(Ordering::Relaxed).saturating_sub(base))
}

/// The key every stored-file input is written and read as.
pub fn stored_key() -> Key {
    Key {
        dataset: DatasetId::Flood,
        version: 7,
        created_at: "2026-12-05T00:00:00Z".into(),
        source_sha256: "ab".repeat(32),
    }
}

/// Flood zones on a grid with the dataset's columns filled in turn (text, numbers, flags and
/// NULLs), every third with a hole: what the stored-file seeds hold and the filters run on.
pub fn flood_features(n: u32) -> Vec<Feature> {
    let cols = DatasetId::Flood.columns();
    (0..n)
        .map(|i| {
            let (x, y) = (
                133.9 + f64::from(i % 20) * 0.001,
                34.6 + f64::from(i / 20) * 0.001,
            );
            let outer = geo::LineString::from(vec![
                (x, y),
                (x + 0.0008, y),
                (x + 0.0008, y + 0.0008),
                (x, y + 0.0008),
                (x, y),
            ]);
            let holes = if i % 3 == 0 {
                vec![geo::LineString::from(vec![
                    (x + 0.0004, y + 0.0001),
                    (x + 0.0006, y + 0.0001),
                    (x + 0.0006, y + 0.0003),
                    (x + 0.0004, y + 0.0001),
                ])]
            } else {
                vec![]
            };
            let values: Vec<Val> = cols
                .iter()
                .enumerate()
                .map(|(c, col)| match (c + i as usize) % 4 {
                    0 => Val::Null,
                    1 if col.name.ends_with("_rank") => Val::Int(i64::from(i % 7)),
                    1 => Val::text(format!("川{i}")),
                    2 => Val::Float(f64::from(i) / 4.0),
                    _ => Val::Bool(i % 2 == 0),
                })
                .collect();
            Feature {
                fid: i64::from(i) + 1,
                values: values.into(),
                geom: Some(geo::Geometry::Polygon(geo::Polygon::new(outer, holes))),
                bbox: Some([x, y, x + 0.0008, y + 0.0008]),
                label: Some([x + 0.0002, y + 0.0002]),
            }
        })
        .collect()
}

/// A few tiles of a row at zoom 12, as a stored tile set holds them.
pub fn seed_tiles() -> Vec<TileBytes> {
    (0..20u32)
        .map(|i| {
            (
                (12u8, 3600 + i, 1620),
                100 + i as usize,
                vec![i as u8; 30 + i as usize],
            )
        })
        .collect()
}

/// The members of a zip as (lower-case extension, bytes), in order.
pub fn unzip(bytes: &[u8]) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    use std::io::Read;
    let other = |e: zip::result::ZipError| std::io::Error::other(e.to_string());
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(other)?;
    let mut out = Vec::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).map_err(other)?;
        let ext = f
            .name()
            .rsplit('.')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let mut b = Vec::new();
        f.read_to_end(&mut b)?;
        out.push((ext, b));
    }
    Ok(out)
}

/// A zipped Shapefile of wards in plane zone V (CP932 DBF with its language driver byte).
pub fn small_shapefile_zip(dir: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use machimap::shp::{DbfField, DbfFieldKind, DbfValue, OutEncoding};
    let sq = |x: f64, y: f64| -> geo::Geometry<f64> {
        geo::Geometry::Polygon(geo::Polygon::new(
            geo::LineString::from(vec![
                (x, y),
                (x + 500.0, y),
                (x + 500.0, y + 500.0),
                (x, y + 500.0),
                (x, y),
            ]),
            vec![],
        ))
    };
    let fields = vec![
        DbfField::new("KEY_CODE", DbfFieldKind::Character, 11, 0),
        DbfField::new("PREF", DbfFieldKind::Character, 2, 0),
        DbfField::new("CITY", DbfFieldKind::Character, 3, 0),
        DbfField::new("S_NAME", DbfFieldKind::Character, 40, 0),
        DbfField::new("JINKO", DbfFieldKind::Numeric, 9, 0),
    ];
    let rec = |k: &str, n: &str, p: i64| {
        vec![
            DbfValue::Text(k.into()),
            DbfValue::Text("33".into()),
            DbfValue::Text("999".into()),
            DbfValue::Text(n.into()),
            DbfValue::Int(p),
        ]
    };
    let prj = r#"PROJCS["JGD_2011_Japan_Zone_5",GEOGCS["GCS_JGD_2011",DATUM["D_JGD_2011",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",0.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",134.3333333333333],PARAMETER["Scale_Factor",0.9999],PARAMETER["Latitude_Of_Origin",36.0],UNIT["Meter",1.0]]"#;
    let zip = dir.join("seed.zip");
    machimap::shp::write_zip(
        &zip,
        "r2ka33999",
        &[sq(-40000.0, -150000.0), sq(-39000.0, -150000.0)],
        &fields,
        &[
            rec("33999000101", "桜台一丁目", 120),
            rec("33999000102", "桜台二丁目", 80),
        ],
        Some(prj),
        OutEncoding::Cp932 {
            ldid: true,
            cpg: false,
        },
    )
    .map_err(|e| std::io::Error::other(e.to_string()))?;
    std::fs::read(&zip)
}

/// The drawing revision stored tile sets are written and opened with.
pub const TILE_REVISION: u32 = 3;

/// Open the tile set of `db` and read the seed tiles' positions and a few past them: each
/// read fails cleanly or gives bytes.
pub fn read_tile_set(db: &Path) {
    if let Ok(ts) = TileSet::open(db, &stored_key(), TILE_REVISION) {
        for i in 0..24u32 {
            let _ = ts.get(12, 3600 + i, 1620);
        }
    }
}

/// Filters of the forms QGIS, GDAL and people write (cql2-text), over [`flood_features`].
pub const CQL2_TEXT: &[&str] = &[
    "depth_rank >= 4 AND S_INTERSECTS(geometry, POLYGON((133.90 34.60, 133.95 34.60, 133.95 34.65, 133.90 34.60)))",
    "river_name LIKE '川%' OR scenario IS NULL",
    "NOT (depth_rank BETWEEN 2 AND 3) AND scenario IN ('L1', 'L2')",
    "CASEI(river_name) = CASEI('川3') AND S_INTERSECTS(geometry, BBOX(133.9, 34.6, 133.92, 34.62))",
    "depth_min_m < depth_max_m",
    "S_INTERSECTS(geometry, POINT(133.9005 34.6005))",
    "depth_rank=5",
    "-depth_rank",
    "river_name,depth_rank",
];

/// Filters in cql2-json, as POSTed or sent by OWSLib.
pub const CQL2_JSON: &[&str] = &[
    r#"{"op":"and","args":[{"op":">=","args":[{"property":"depth_rank"},4]},{"op":"s_intersects","args":[{"property":"geometry"},{"type":"Polygon","coordinates":[[[133.9,34.6],[133.95,34.6],[133.95,34.65],[133.9,34.6]]]}]}]}"#,
    r#"{"op":"like","args":[{"property":"river_name"},"川%"]}"#,
    r#"{"op":"between","args":[{"property":"depth_rank"},2,3]}"#,
    r#"{"op":"in","args":[{"property":"scenario"},["L1","L2"]]}"#,
    r#"{"op":"isNull","args":[{"property":"scenario"}]}"#,
    r#"{"op":"s_intersects","args":[{"property":"geometry"},{"bbox":[133.9,34.6,133.92,34.62]}]}"#,
    r#"{"op":"not","args":[{"op":"=","args":[{"op":"casei","args":[{"property":"river_name"}]},{"op":"casei","args":["川3"]}]}]}"#,
];

fn flood_queryables() -> Queryables<'static> {
    Queryables {
        columns: DatasetId::Flood.columns(),
        geometry: true,
    }
}

/// `text` as a CQL2 filter in `lang` with literals in `crs`, against the flood collection's
/// queryables; when it compiles, run over `l` and sorted by `text` read as a `sortby`; and
/// `text` read as `properties`. An answer or a 400's error: only panics and memory count.
pub fn run_cql2(text: &str, lang: Lang, crs: FilterCrs, l: &Layer) {
    let keys = filter::parse_sortby(text, flood_queryables());
    if let Ok(f) = filter::compile(text, lang, crs, flood_queryables()) {
        let mut idx = f.select(l, None);
        if let Ok(keys) = &keys {
            filter::sort(l, &mut idx, keys);
        }
        std::hint::black_box((idx, f.envelope()));
    }
    let _ = filter::parse_properties(text, flood_queryables());
}

/// A catalog of one empty layer per dataset, each published on a day of its own: what CKAN
/// queries are run against.
pub fn ckan_catalog() -> Catalog {
    let mut snap = Snapshot::default();
    for (i, d) in DatasetId::ALL.into_iter().enumerate() {
        let mut l = Layer::from_features(d, i as i64 + 1, Vec::new());
        l.published_at = format!("2026-04-{:02}T10:00:00Z", i + 1);
        l.created_at = l.published_at.clone();
        snap.layers.insert(d, Arc::new(l));
    }
    build_catalog(
        &snap,
        &Publisher::default(),
        "http://x",
        &|_| Default::default(),
        &|_, _| None,
    )
}
