//! Shapefile reading: machimap's own reader (`machimap::shp`) against the `shapefile` + `dbase`
//! crates, on files our own writer makes (no third-party data):
//!
//! * `estat`: an e-Stat 小地域（町丁・字）boundary file, 150 records, the 35 attribute columns
//!   of the 2020 layout (KEY_CODE, PREF, CITY, S_NAME, ...), CP932 text, a `.prj`, no `.cpg`
//!   and no language driver byte, as e-Stat ships;
//! * `ksj`: a 国土数値情報 A33（土砂災害警戒区域）style file, 80 records, every polygon with
//!   holes, some with two shells;
//! * `large`: 100,000 polygons (one in ten with a hole), four columns.
//!
//! Both sides read the same loose `.shp`/`.shx`/`.dbf` to the same result (MultiPolygons and
//! decoded attribute values, checked equal before timing). The crates are timed twice: with
//! dbase's own CP932 (encoding_rs, which replaces invalid bytes with U+FFFD) and with the
//! strict decoding we need — dbase 0.8 takes no decoder of ours (its `Encoding` trait cannot be
//! implemented outside the crate, see ARCHITECTURE.md), so the strict path reads text as
//! windows-1252 (a byte-to-char bijection), encodes it back and decodes the bytes as CP932
//! without replacement. Prints the median of N runs, the ratio crates ÷
//! machimap, and the peak heap of one run (a counting global allocator over the system one).
//!
//! Then the malformed files: a deleted `.dbf` record, a `.dbf` one record short, invalid CP932
//! bytes, no `.cpg`, a shell wound counter-clockwise, a hole stored after another shell, a
//! truncated `.shp` — what each reader does with each.
//!
//! `cargo bench -p machimap-shp --bench shp` (release profile). Not a test: nothing here asserts a time. The
//! decision and the figures are in ARCHITECTURE.md, "Shapefile and DBF: own reader or crates".
#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use encoding_rs::{SHIFT_JIS, WINDOWS_1252};
use geo::{Contains, Coord, Geometry, LineString, MultiPolygon, Point, Polygon};
use machimap_shp::{DbfField, DbfFieldKind, DbfValue, OutEncoding};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

// ------------------------------------------------------------------ peak heap

struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = CURRENT.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

#[allow(
    unsafe_code,
    reason = "a global allocator is an unsafe trait; this one counts bytes"
)]
// SAFETY: every call goes to the system allocator unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged to the system allocator.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

// ------------------------------------------------------------------ the common result

/// One attribute value as both sides give it (numbers as f64: dbase has no integers).
#[derive(Debug, Clone, PartialEq)]
enum Val {
    Null,
    Text(String),
    Num(f64),
    Date(String),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
struct Row {
    geom: Option<MultiPolygon<f64>>,
    vals: Vec<Val>,
}

// ------------------------------------------------------------------ machimap's reader

fn read_ours(shp: &Path) -> Result<Vec<Row>, String> {
    let reader = machimap_shp::open_files(shp).map_err(|e| format!("{e} ({})", e.code()))?;
    let mut rows = Vec::with_capacity(reader.info().record_count);
    for rec in reader.records() {
        let rec = rec.map_err(|e| format!("{} ({})", e, e.code()))?;
        let geom = match rec.geometry {
            None => None,
            Some(Geometry::Polygon(p)) => Some(MultiPolygon::new(vec![p])),
            Some(Geometry::MultiPolygon(mp)) => Some(mp),
            Some(other) => return Err(format!("unexpected geometry {other:?}")),
        };
        let vals = rec
            .attributes
            .into_iter()
            .map(|v| match v {
                DbfValue::Null => Val::Null,
                DbfValue::Text(s) => Val::Text(s),
                DbfValue::Int(i) => Val::Num(i as f64),
                DbfValue::Float(f) => Val::Num(f),
                DbfValue::Date(d) => Val::Date(d),
                DbfValue::Bool(b) => Val::Bool(b),
            })
            .collect();
        rows.push(Row { geom, vals });
    }
    Ok(rows)
}

/// What machimap's reader reports besides the rows: the encoding rule and the repair notes.
fn ours_remarks(shp: &Path) -> String {
    let Ok(reader) = machimap_shp::open_files(shp) else {
        return String::new();
    };
    let source = format!(" (encoding: {:?}", reader.info().encoding_source);
    let notes: Vec<String> = reader
        .records()
        .filter_map(Result::ok)
        .filter(|r| !r.notes.is_empty())
        .map(|r| format!("record {}: {:?}", r.index, r.notes))
        .collect();
    if notes.is_empty() {
        format!("{source})")
    } else {
        format!("{source}; {})", notes.join(", "))
    }
}

// ------------------------------------------------------------------ the crates

/// Text decoding on the crates' side.
#[derive(Clone, Copy, PartialEq)]
enum CrateText {
    /// dbase's CP932 (encoding_rs with replacement characters).
    Lossy,
    /// windows-1252 passthrough, then CP932 without replacement (an error on invalid bytes).
    Strict,
    /// Whatever `shapefile::Reader::from_path` decides (`.cpg`, else the LDID, else UTF-8).
    Default,
}

/// The fields of one record in file order (dbase's own `Record` is a HashMap).
struct Attrs(Vec<dbase::FieldValue>);

impl dbase::ReadableRecord for Attrs {
    fn read_using<S, M>(it: &mut dbase::FieldIterator<S, M>) -> Result<Self, dbase::FieldError>
    where
        S: Read + Seek,
        M: Read + Seek,
    {
        let mut vals = Vec::new();
        for field in it {
            vals.push(field?.value);
        }
        Ok(Attrs(vals))
    }
}

fn strict_cp932(passthrough: &str) -> Option<String> {
    let (bytes, _, unmappable) = WINDOWS_1252.encode(passthrough);
    if unmappable {
        return None;
    }
    SHIFT_JIS
        .decode_without_bom_handling_and_without_replacement(&bytes)
        .map(Cow::into_owned)
}

fn read_crates(shp: &Path, text: CrateText) -> Result<Vec<Row>, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let mut reader = if text == CrateText::Default {
        shapefile::Reader::from_path(shp).map_err(|e| err(&e))?
    } else {
        let shapes = shapefile::ShapeReader::from_path(shp).map_err(|e| err(&e))?;
        let enc = match text {
            CrateText::Strict => dbase::encoding::EncodingRs::from(WINDOWS_1252),
            _ => dbase::encoding::EncodingRs::from(SHIFT_JIS),
        };
        let dbf = dbase::ReaderBuilder::new()
            .with_encoding(enc)
            .with_options(dbase::ReadingOptions::default().character_trim(dbase::TrimOption::End))
            .build(std::io::BufReader::new(
                std::fs::File::open(shp.with_extension("dbf")).map_err(|e| err(&e))?,
            ))
            .map_err(|e| err(&e))?;
        shapefile::Reader::new(shapes, dbf)
    };
    let mut rows = Vec::new();
    for (i, item) in reader
        .iter_shapes_and_records_as::<shapefile::Shape, Attrs>()
        .enumerate()
    {
        let (shape, Attrs(fields)) = item.map_err(|e| err(&e))?;
        let geom = match shape {
            shapefile::Shape::NullShape => None,
            shapefile::Shape::Polygon(p) => {
                Some(MultiPolygon::<f64>::try_from(p).map_err(|e| err(&e))?)
            }
            other => return Err(format!("unexpected shape {other}")),
        };
        let mut vals = Vec::with_capacity(fields.len());
        for (f, v) in fields.into_iter().enumerate() {
            use dbase::FieldValue as F;
            vals.push(match v {
                F::Character(None)
                | F::Numeric(None)
                | F::Float(None)
                | F::Date(None)
                | F::Logical(None) => Val::Null,
                F::Character(Some(s)) if text == CrateText::Strict => match strict_cp932(&s) {
                    Some(s) => Val::Text(s),
                    None => {
                        return Err(format!(
                            "pair {}, field {}: text is not CP932",
                            i + 1,
                            f + 1
                        ))
                    }
                },
                F::Character(Some(s)) => Val::Text(s),
                F::Numeric(Some(n)) => Val::Num(n),
                F::Float(Some(n)) => Val::Num(f64::from(n)),
                F::Date(Some(d)) => {
                    Val::Date(format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()))
                }
                F::Logical(Some(b)) => Val::Bool(b),
                other => return Err(format!("unexpected field value {other:?}")),
            });
        }
        rows.push(Row { geom, vals });
    }
    Ok(rows)
}

// ------------------------------------------------------------------ fixtures

const KANJI: &[char] = &[
    '青', '赤', '白', '東', '西', '南', '北', '上', '下', '中', '新', '本', '高', '松', '竹', '梅',
    '森', '林', '川', '山', '田', '野', '原', '島', '浜', '岡', '谷', '沢', '宮', '寺', '石', '花',
];

fn name(rng: &mut StdRng) -> String {
    let a = KANJI[rng.gen_range(0..KANJI.len())];
    let b = KANJI[rng.gen_range(0..KANJI.len())];
    format!("{a}{b}")
}

/// A star-shaped ring around `c` (radius between `r_min` and `r_max`), closed.
fn star(rng: &mut StdRng, c: Coord<f64>, r_min: f64, r_max: f64, n: usize) -> LineString<f64> {
    let mut pts: Vec<Coord<f64>> = (0..n)
        .map(|k| {
            let t = std::f64::consts::TAU * k as f64 / n as f64;
            let r = rng.gen_range(r_min..r_max);
            Coord {
                x: ((c.x + r * t.cos()) * 1e7).round() / 1e7,
                y: ((c.y + r * t.sin()) * 1e7).round() / 1e7,
            }
        })
        .collect();
    pts.push(pts[0]);
    LineString::new(pts)
}

struct Fixture {
    geoms: Vec<Geometry<f64>>,
    fields: Vec<DbfField>,
    records: Vec<Vec<DbfValue>>,
}

const PRJ_JGD2011: &str = "GEOGCS[\"GCS_JGD_2011\",DATUM[\"D_JGD_2011\",SPHEROID[\"GRS_1980\",6378137.0,298.257222101]],PRIMEM[\"Greenwich\",0.0],UNIT[\"Degree\",0.0174532925199433]]";

/// e-Stat 2020 小地域 layout: 35 columns, CP932, one 町丁・字 per record.
fn estat(n: usize, seed: u64) -> Fixture {
    use DbfFieldKind::{Character as C, Numeric as N};
    let layout: [(&str, DbfFieldKind, u8, u8); 35] = [
        ("KEY_CODE", C, 11, 0),
        ("PREF", C, 2, 0),
        ("CITY", C, 3, 0),
        ("S_AREA", C, 6, 0),
        ("PREF_NAME", C, 12, 0),
        ("CITY_NAME", C, 16, 0),
        ("S_NAME", C, 96, 0),
        ("KIGO_E", C, 2, 0),
        ("HCODE", N, 4, 0),
        ("AREA", N, 12, 3),
        ("PERIMETER", N, 12, 3),
        ("R2KAxx_", N, 9, 0),
        ("R2KAxx_ID", N, 9, 0),
        ("KEN", C, 2, 0),
        ("KEN_NAME", C, 12, 0),
        ("SITYO_NAME", C, 16, 0),
        ("GST_NAME", C, 32, 0),
        ("CSS_NAME", C, 32, 0),
        ("KIHON1", C, 4, 0),
        ("DUMMY1", C, 1, 0),
        ("KIHON2", C, 2, 0),
        ("KEYCODE1", C, 9, 0),
        ("KEYCODE2", C, 9, 0),
        ("AREA_MAX_F", C, 1, 0),
        ("KIGO_D", C, 2, 0),
        ("N_KEN", C, 2, 0),
        ("N_CITY", C, 3, 0),
        ("KIGO_I", C, 1, 0),
        ("MOJI", C, 64, 0),
        ("KBSUM", N, 4, 0),
        ("JINKO", N, 9, 0),
        ("SETAI", N, 9, 0),
        ("X_CODE", N, 12, 7),
        ("Y_CODE", N, 12, 7),
        ("KCODE1", C, 7, 0),
    ];
    let fields = layout
        .iter()
        .map(|&(name, kind, len, dec)| DbfField::new(name, kind, len, dec))
        .collect();
    let mut rng = StdRng::seed_from_u64(seed);
    let (cols, cell) = (15usize, 0.01);
    let mut geoms = Vec::with_capacity(n);
    let mut records = Vec::with_capacity(n);
    for i in 0..n {
        let c = Coord {
            x: 133.9 + cell * (i % cols) as f64,
            y: 34.6 + cell * (i / cols) as f64,
        };
        let vertices = rng.gen_range(150..600);
        let shell = star(&mut rng, c, 0.3 * cell, 0.5 * cell, vertices);
        let holes = if i % 25 == 7 {
            vec![star(&mut rng, c, 0.05 * cell, 0.1 * cell, 40)]
        } else {
            vec![]
        };
        let main = Polygon::new(shell, holes);
        let geom = if i % 12 == 5 {
            // An island off the corner.
            let island_c = Coord {
                x: c.x + 0.44 * cell,
                y: c.y + 0.44 * cell,
            };
            let island = star(&mut rng, island_c, 0.03 * cell, 0.05 * cell, 30);
            Geometry::MultiPolygon(MultiPolygon::new(vec![main, Polygon::new(island, vec![])]))
        } else {
            Geometry::Polygon(main)
        };
        geoms.push(geom);
        let town = name(&mut rng);
        let chome = i % 5 + 1;
        let s_area = format!("{:04}{:02}", 10 + i / 5, chome);
        let t = |s: &str| DbfValue::Text(s.to_string());
        let jinko = rng.gen_range(0..5000i64);
        records.push(vec![
            t(&format!("33101{s_area}")),
            t("33"),
            t("101"),
            t(&s_area),
            t("岡山県"),
            t("岡山市北区"),
            t(&format!("{town}町{chome}丁目")),
            t("E1"),
            DbfValue::Int(8101),
            DbfValue::Float(rng.gen_range(10_000.0..900_000.0f64).round() / 1000.0 * 1000.0),
            DbfValue::Float((rng.gen_range(500.0..9000.0f64) * 1000.0).round() / 1000.0),
            DbfValue::Int(i as i64 + 1),
            DbfValue::Int(i as i64 + 1),
            t("33"),
            t("岡山県"),
            DbfValue::Null,
            t("岡山市"),
            t("北区"),
            t(&format!("{:04}", 10 + i / 5)),
            t("-"),
            t(&format!("{chome:02}")),
            t(&format!("{:04}{chome:02}", 10 + i / 5)),
            t(&format!("{:04}{chome:02}", 10 + i / 5)),
            t(if i % 12 == 5 { "1" } else { "0" }),
            DbfValue::Null,
            t("33"),
            t("101"),
            DbfValue::Null,
            t(&format!("{town}町{chome}丁目")),
            DbfValue::Int(rng.gen_range(1..30)),
            DbfValue::Int(jinko),
            DbfValue::Int(jinko / 2),
            DbfValue::Float((c.x * 1e7).round() / 1e7),
            DbfValue::Float((c.y * 1e7).round() / 1e7),
            t(&format!("{:04}-{chome:02}", 10 + i / 5)),
        ]);
    }
    Fixture {
        geoms,
        fields,
        records,
    }
}

/// 国土数値情報 A33 layout; every zone has holes, one in five has two shells.
fn ksj(n: usize) -> Fixture {
    use DbfFieldKind::{Character as C, Numeric as N};
    let fields = vec![
        DbfField::new("A33_001", N, 1, 0),
        DbfField::new("A33_002", N, 1, 0),
        DbfField::new("A33_003", C, 2, 0),
        DbfField::new("A33_004", C, 20, 0),
        DbfField::new("A33_005", C, 60, 0),
        DbfField::new("A33_006", C, 80, 0),
        DbfField::new("A33_007", C, 10, 0),
        DbfField::new("A33_008", N, 1, 0),
    ];
    let mut rng = StdRng::seed_from_u64(33);
    let (cols, cell) = (10usize, 0.004);
    let mut geoms = Vec::with_capacity(n);
    let mut records = Vec::with_capacity(n);
    let zone = |rng: &mut StdRng, c: Coord<f64>, size: f64| {
        let vertices = rng.gen_range(100..300);
        let shell = star(rng, c, 0.3 * size, 0.45 * size, vertices);
        let holes = (0..rng.gen_range(1..=4))
            .map(|k| {
                let t = std::f64::consts::TAU * k as f64 / 4.0;
                let hc = Coord {
                    x: c.x + 0.15 * size * t.cos(),
                    y: c.y + 0.15 * size * t.sin(),
                };
                let n = rng.gen_range(12..40);
                star(rng, hc, 0.04 * size, 0.08 * size, n)
            })
            .collect();
        Polygon::new(shell, holes)
    };
    for i in 0..n {
        let c = Coord {
            x: 133.95 + cell * (i % cols) as f64,
            y: 34.65 + cell * (i / cols) as f64,
        };
        let geom = if i % 5 == 2 {
            let off = cell / 4.0;
            Geometry::MultiPolygon(MultiPolygon::new(vec![
                zone(&mut rng, Coord { x: c.x - off, ..c }, cell / 2.0),
                zone(&mut rng, Coord { x: c.x + off, ..c }, cell / 2.0),
            ]))
        } else {
            Geometry::Polygon(zone(&mut rng, c, cell))
        };
        geoms.push(geom);
        let base = name(&mut rng);
        let phenomenon = (i % 3 + 1) as i64;
        let kind = ["", "急傾斜地の崩壊", "土石流", "地すべり"][phenomenon as usize];
        records.push(vec![
            DbfValue::Int(phenomenon),
            DbfValue::Int((i % 2 + 1) as i64),
            DbfValue::Text("33".into()),
            DbfValue::Text(format!(
                "33101-{}-{:03}",
                ["", "K", "D", "J"][phenomenon as usize],
                i
            )),
            DbfValue::Text(format!("{base}{kind}{i}")),
            DbfValue::Text(format!("岡山市北区{base}町{}丁目", i % 4 + 1)),
            DbfValue::Text(format!(
                "{}/{}/{}",
                rng.gen_range(2005..=2023),
                rng.gen_range(1..=12),
                rng.gen_range(1..=28)
            )),
            DbfValue::Int(i64::from(i % 7 == 0)),
        ]);
    }
    Fixture {
        geoms,
        fields,
        records,
    }
}

/// Many small polygons (building-footprint sized), one in ten with a hole.
fn large(n: usize) -> Fixture {
    use DbfFieldKind::{Character as C, Numeric as N};
    let fields = vec![
        DbfField::new("KEY_CODE", C, 11, 0),
        DbfField::new("S_NAME", C, 40, 0),
        DbfField::new("AREA", N, 12, 3),
        DbfField::new("JINKO", N, 7, 0),
    ];
    let mut rng = StdRng::seed_from_u64(100_000);
    let (cols, cell) = (400usize, 0.0005);
    let mut geoms = Vec::with_capacity(n);
    let mut records = Vec::with_capacity(n);
    for i in 0..n {
        let c = Coord {
            x: 133.8 + cell * (i % cols) as f64,
            y: 34.5 + cell * (i / cols) as f64,
        };
        let vertices = rng.gen_range(5..16);
        let shell = star(&mut rng, c, 0.3 * cell, 0.45 * cell, vertices);
        let holes = if i % 10 == 3 {
            vec![star(&mut rng, c, 0.05 * cell, 0.1 * cell, 4)]
        } else {
            vec![]
        };
        geoms.push(Geometry::Polygon(Polygon::new(shell, holes)));
        records.push(vec![
            DbfValue::Text(format!("33101{i:06}")),
            DbfValue::Text(format!("{}町{}丁目", name(&mut rng), i % 9 + 1)),
            DbfValue::Float((rng.gen_range(10.0..900.0f64) * 1000.0).round() / 1000.0),
            DbfValue::Int(rng.gen_range(0..50)),
        ]);
    }
    Fixture {
        geoms,
        fields,
        records,
    }
}

/// Writes the fixture with machimap's writer (CP932, no LDID, no `.cpg`, a `.prj`) and
/// extracts it to `dir/stem.*`; returns the `.shp` path.
fn write(dir: &Path, stem: &str, f: &Fixture) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir");
    let zip_path = dir.join(format!("{stem}.zip"));
    machimap_shp::write_zip(
        &zip_path,
        stem,
        &f.geoms,
        &f.fields,
        &f.records,
        Some(PRJ_JGD2011),
        OutEncoding::Cp932 {
            ldid: false,
            cpg: false,
        },
    )
    .expect("write_zip");
    let mut zip =
        zip::ZipArchive::new(std::fs::File::open(&zip_path).expect("open zip")).expect("read zip");
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).expect("entry");
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).expect("inflate");
        std::fs::write(dir.join(entry.name()), bytes).expect("extract");
    }
    std::fs::remove_file(&zip_path).expect("rm zip");
    dir.join(format!("{stem}.shp"))
}

// ------------------------------------------------------------------ timing

struct Timing {
    median_ms: f64,
    peak_mb: f64,
}

/// Median time and peak heap of each reader; the readers take turns within each run, so that
/// a change in the machine's load falls on all of them alike.
fn time<const K: usize>(
    runs: usize,
    mut readers: [&mut dyn FnMut() -> Vec<Row>; K],
) -> [Timing; K] {
    let mut ms = vec![Vec::with_capacity(runs); K];
    for run in 0..=runs {
        for (k, f) in readers.iter_mut().enumerate() {
            let t = Instant::now();
            std::hint::black_box(f());
            // Run 0 warms the page cache and the allocator.
            if run > 0 {
                ms[k].push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    std::array::from_fn(|k| {
        ms[k].sort_by(f64::total_cmp);
        let base = CURRENT.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let rows = readers[k]();
        let peak = PEAK.load(Ordering::Relaxed).saturating_sub(base);
        drop(rows);
        Timing {
            median_ms: ms[k][runs / 2],
            peak_mb: peak as f64 / (1024.0 * 1024.0),
        }
    })
}

fn bench(label: &str, shp: &Path, runs: usize) {
    let ours = read_ours(shp).expect("machimap reads the fixture");
    let lossy = read_crates(shp, CrateText::Lossy).expect("the crates read the fixture");
    let strict = read_crates(shp, CrateText::Strict).expect("the crates read the fixture");
    assert_eq!(ours, lossy, "{label}: same rows (crates, lossy CP932)");
    assert_eq!(ours, strict, "{label}: same rows (crates, strict CP932)");
    let bytes: u64 = ["shp", "shx", "dbf"]
        .iter()
        .map(|x| std::fs::metadata(shp.with_extension(x)).map_or(0, |m| m.len()))
        .sum();
    let vertices: usize = ours
        .iter()
        .filter_map(|r| r.geom.as_ref())
        .flat_map(|mp| mp.0.iter())
        .map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
        .sum();
    let [t_ours, t_lossy, t_strict] = time(
        runs,
        [
            &mut || read_ours(shp).expect("ours"),
            &mut || read_crates(shp, CrateText::Lossy).expect("lossy"),
            &mut || read_crates(shp, CrateText::Strict).expect("strict"),
        ],
    );
    println!(
        "| {label} | {} records, {} fields, {vertices} vertices, {:.1} MB | {:.2} ms, {:.1} MB | {:.2} ms, {:.1} MB | {:.2} | {:.2} ms, {:.1} MB | {:.2} |",
        ours.len(),
        ours.first().map_or(0, |r| r.vals.len()),
        bytes as f64 / (1024.0 * 1024.0),
        t_ours.median_ms,
        t_ours.peak_mb,
        t_lossy.median_ms,
        t_lossy.peak_mb,
        t_lossy.median_ms / t_ours.median_ms,
        t_strict.median_ms,
        t_strict.peak_mb,
        t_strict.median_ms / t_ours.median_ms,
    );
}

// ------------------------------------------------------------------ malformed files

fn le_u16(b: &[u8], at: usize) -> usize {
    usize::from(u16::from_le_bytes([b[at], b[at + 1]]))
}

fn be_i32(b: &[u8], at: usize) -> usize {
    i32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
}

/// Byte offset of record `k` (0-based) in the `.dbf`, and of field `name` inside a record.
fn dbf_layout(dbf: &[u8], name: &str) -> (usize, usize, usize) {
    let (header, reclen) = (le_u16(dbf, 8), le_u16(dbf, 10));
    let mut offset = 1;
    let mut at = 32;
    while dbf[at] != 0x0D {
        let n = &dbf[at..at + 11];
        let n = &n[..n.iter().position(|&b| b == 0).unwrap_or(11)];
        if n == name.as_bytes() {
            break;
        }
        offset += usize::from(dbf[at + 16]);
        at += 32;
    }
    (header, reclen, offset)
}

/// Offset of record `k` (0-based) in the `.shp`, from the `.shx`.
fn shp_offset(shx: &[u8], k: usize) -> usize {
    be_i32(shx, 100 + 8 * k) * 2
}

fn patch(path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(path).expect("read");
    f(&mut bytes);
    std::fs::write(path, bytes).expect("write");
}

/// Expected attributes by the first vertex of each geometry.
type Expected = HashMap<(u64, u64), Vec<Val>>;

fn key(mp: &MultiPolygon<f64>) -> Option<(u64, u64)> {
    let c = mp.0.first()?.exterior().0.first()?;
    Some((c.x.to_bits(), c.y.to_bits()))
}

/// What one reader made of one file, in a table cell (paths shown relative to `root`).
fn describe(root: &Path, result: Result<Vec<Row>, String>, exp: &Expected, n: usize) -> String {
    let rows = match result {
        Err(e) => {
            let prefix = format!("{}/", root.display());
            return format!("error: {}", e.replace(&prefix, ""));
        }
        Ok(rows) => rows,
    };
    let (mut misaligned, mut wrong, mut holes_out) = (0, 0, 0);
    for r in &rows {
        let Some(mp) = &r.geom else { continue };
        match key(mp).and_then(|k| exp.get(&k)) {
            Some(exp) if exp.first() != r.vals.first() => misaligned += 1,
            Some(exp) if exp != &r.vals => wrong += 1,
            _ => {}
        }
        for p in &mp.0 {
            let shell = Polygon::new(p.exterior().clone(), vec![]);
            holes_out += p
                .interiors()
                .iter()
                .filter(|h| !shell.contains(&Point(h.0[0])))
                .count();
        }
    }
    let mut out = format!("{} of {n} records", rows.len());
    for (n, what) in [
        (misaligned, "paired with another record's attributes"),
        (wrong, "with wrong attribute values"),
        (holes_out, "holes outside their shell"),
    ] {
        if n > 0 {
            out.push_str(&format!("; {n} {what}"));
        }
    }
    if rows.len() == n && misaligned + wrong + holes_out == 0 {
        out.push_str(", all correct");
    }
    out
}

fn malformed(root: &Path) {
    const N: usize = 10;
    let base = estat(N, 5);
    let good = write(&root.join("good"), "m", &base);
    let rows = read_ours(&good).expect("good file");
    let expected: Expected = rows
        .iter()
        .filter_map(|r| Some((key(r.geom.as_ref()?)?, r.vals.clone())))
        .collect();
    let case = |dir: &str, f: &Fixture, damage: &dyn Fn(&Path)| -> PathBuf {
        let shp = write(&root.join(dir), "m", f);
        damage(&shp);
        shp
    };
    let mut shuffled = estat(N, 5);
    if let Geometry::Polygon(a) = shuffled.geoms[2].clone() {
        // Shell A, then a small shell B off its corner, then A's hole: ESRI allows any ring
        // order, and only containment says which shell a hole belongs to.
        let centre = Coord {
            x: 133.9 + 0.01 * 2.0,
            y: 34.6,
        };
        let mut rng = StdRng::seed_from_u64(9);
        let hole = star(&mut rng, centre, 0.0005, 0.001, 20);
        let corner = Coord {
            x: centre.x + 0.0044,
            y: centre.y - 0.0044,
        };
        let other_shell = star(&mut rng, corner, 0.0003, 0.0005, 20);
        shuffled.geoms[2] = Geometry::MultiPolygon(MultiPolygon::new(vec![
            Polygon::new(a.exterior().clone(), vec![]),
            Polygon::new(other_shell, vec![hole]),
        ]));
    }
    let cases: Vec<(&str, PathBuf, usize)> = vec![
        (
            "deleted .dbf record (4 of 10 flagged `*`)",
            case("deleted", &base, &|shp| {
                patch(&shp.with_extension("dbf"), |b| {
                    let (h, l, _) = dbf_layout(b, "");
                    b[h + 3 * l] = b'*';
                })
            }),
            N - 1,
        ),
        (
            ".dbf one record short (10 shapes, 9 rows)",
            case("short", &base, &|shp| {
                patch(&shp.with_extension("dbf"), |b| {
                    let (h, l, _) = dbf_layout(b, "");
                    b[4..8].copy_from_slice(&((N - 1) as u32).to_le_bytes());
                    b.truncate(h + (N - 1) * l);
                    b.push(0x1A);
                })
            }),
            N,
        ),
        (
            "invalid CP932 byte (0xFF in record 3's S_NAME)",
            case("badtext", &base, &|shp| {
                patch(&shp.with_extension("dbf"), |b| {
                    let (h, l, off) = dbf_layout(b, "S_NAME");
                    b[h + 2 * l + off + 2] = 0xFF;
                })
            }),
            N,
        ),
        (
            "no .cpg, no language driver byte (as e-Stat ships)",
            case("nocpg", &base, &|_| {}),
            N,
        ),
        (
            "shell wound counter-clockwise (record 2)",
            case("ccw", &base, &|shp| {
                let shx = std::fs::read(shp.with_extension("shx")).expect("shx");
                patch(shp, |b| {
                    let c = shp_offset(&shx, 1) + 8;
                    let parts = le_u32(b, c + 36);
                    let points = le_u32(b, c + 40);
                    let at = c + 44 + 4 * parts;
                    let mut pts: Vec<[u8; 16]> = (0..points)
                        .map(|k| b[at + 16 * k..at + 16 * k + 16].try_into().expect("16"))
                        .collect();
                    pts.reverse();
                    for (k, p) in pts.iter().enumerate() {
                        b[at + 16 * k..at + 16 * k + 16].copy_from_slice(p);
                    }
                })
            }),
            N,
        ),
        (
            "hole stored after another shell (record 3: A, B, hole of A)",
            case("holeorder", &shuffled, &|_| {}),
            N,
        ),
        (
            "truncated .shp (cut inside record 10, .shx intact)",
            case("truncated", &base, &|shp| {
                let shx = std::fs::read(shp.with_extension("shx")).expect("shx");
                patch(shp, |b| b.truncate(shp_offset(&shx, N - 1) + 8 + 20))
            }),
            N,
        ),
    ];

    println!();
    println!("| malformed file | machimap::shp | shapefile + dbase, dbase's CP932 | shapefile + dbase, strict CP932 | `shapefile::Reader::from_path` defaults |");
    println!("| --- | --- | --- | --- | --- |");
    for (what, shp, n) in &cases {
        let exp = &expected;
        println!(
            "| {what} | {}{} | {} | {} | {} |",
            describe(root, read_ours(shp), exp, *n),
            ours_remarks(shp),
            describe(root, read_crates(shp, CrateText::Lossy), exp, *n),
            describe(root, read_crates(shp, CrateText::Strict), exp, *n),
            describe(root, read_crates(shp, CrateText::Default), exp, *n),
        );
    }
}

fn le_u32(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
}

fn main() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let estat_shp = write(&root.join("estat"), "r2ka33101", &estat(150, 1));
    let ksj_shp = write(&root.join("ksj"), "A33-22_33", &ksj(80));
    let large_shp = write(&root.join("large"), "large", &large(100_000));

    println!("| file | size | machimap::shp (median, peak heap) | shapefile + dbase, dbase's CP932 | ratio | shapefile + dbase, strict CP932 | ratio |");
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    bench("e-Stat 小地域", &estat_shp, 51);
    bench("KSJ A33", &ksj_shp, 51);
    bench("100k polygons", &large_shp, 7);

    malformed(root);
}
