//! Coverage-guided fuzzing of machimap's parsers with libFuzzer (`cargo fuzz`, nightly).
//!
//! Each target in `fuzz_targets/` is a thin `fuzz_target!` over one function here, so the
//! targets share one way of turning bytes into an upload, a stored file or a query, and one
//! memory check. The seeds every run starts from are written by our own code at start-up
//! (the sample city, layer images and tile sets written by the store's writers, filters and
//! CKAN queries of the forms clients send) into the corpus folder `scripts/fuzz` names in
//! `MACHIMAP_FUZZ_SEEDS`; libFuzzer reads that folder after the seeds are written.
//!
//! The mutational driver in `tests/fuzz` runs in the ordinary `cargo test` (CI); this crate
//! needs a nightly toolchain and cargo-fuzz and rebuilds DuckDB with coverage flags, so it runs
//! from `scripts/fuzz` only.

use machimap::catalog::Catalog;
use machimap::dataset::DatasetId;
use machimap::filter::{FilterCrs, Lang};
use machimap::index::image;
use machimap::index::tileset;
use machimap::index::Layer;
use machimap::report::Report;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

pub mod seeds;
mod shared;

use shared::{ckan_catalog, measure, read_tile_set, run_cql2, FIXED_ALLOWANCE};
pub use shared::{
    flood_features, seed_tiles, stored_key, Counting, CQL2_JSON, CQL2_TEXT, TILE_REVISION,
};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Run `f` on an input of `size` bytes and panic — which libFuzzer reports as a crash and
/// saves — when the heap it held at its peak passes `budget` bytes per input byte beyond the
/// fixed allowance.
pub fn within_budget<T>(what: &str, size: usize, budget: usize, f: impl FnOnce() -> T) -> T {
    let (out, held) = measure(f);
    let allowed = FIXED_ALLOWANCE + budget * size.max(1);
    assert!(
        held <= allowed,
        "{what}: an input of {size} bytes held {held} bytes at its peak (allowed {allowed})"
    );
    out
}

/// A folder of this process for the files an input is written to (the readers take paths,
/// as an upload's staged file is read).
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let d = base.join(format!("machimap-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("scratch folder");
        d
    })
}

/// The dataset an upload input is for: its first byte picks one, so one target reaches every
/// dataset's normaliser.
fn dataset_of(b: u8) -> DatasetId {
    DatasetId::ALL[usize::from(b) % DatasetId::ALL.len()]
}

fn dataset_byte(d: DatasetId) -> u8 {
    DatasetId::ALL.iter().position(|x| *x == d).unwrap_or(0) as u8
}

/// Bytes held per input byte: the streaming readers hold at most ten; shelter lists wait whole
/// for their merge across files (bounded in count by `kinds::shelters::MAX_RECORDS`).
fn budget_for(d: DatasetId) -> usize {
    match d {
        DatasetId::Shelters | DatasetId::Stockpile => 32,
        _ => 10,
    }
}

/// Read `path` as an upload of `dataset` and run its normaliser, as ingest does.
fn parse_upload(path: &Path, dataset: DatasetId) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut report = Report::new(&name);
    let mut norm = machimap::kinds::normalizer(dataset, Default::default());
    let mut rows = 0u64;
    let r = machimap::read::read(path, &name, None, &mut report, &mut |src, f, rep| {
        norm.feature(src, f, rep, &mut |_| rows += 1);
        std::ops::ControlFlow::Continue(())
    });
    if r.is_ok() {
        norm.finish(&mut report, &mut |_| rows += 1);
    }
    std::hint::black_box((rows, report.errors));
}

/// An upload of one file: byte 0 picks the dataset, the rest is the file, named with `ext`
/// (`csv`, `geojson`, `zip`).
pub fn upload(ext: &str, data: &[u8]) {
    let Some((&d, body)) = data.split_first() else {
        return;
    };
    let dataset = dataset_of(d);
    let path = scratch().join(format!("upload.{ext}"));
    if std::fs::write(&path, body).is_err() {
        return;
    }
    within_budget(ext, body.len(), budget_for(dataset), || {
        parse_upload(&path, dataset)
    });
}

/// The parts of a loose Shapefile, in the order a [`shapefile`] input holds them.
pub const SHAPEFILE_PARTS: [&str; 5] = ["shp", "shx", "dbf", "prj", "cpg"];

/// What separates the parts of a [`shapefile`] input.
pub const PART_SEPARATOR: &[u8] = b"\n@@machimap-part@@\n";

/// A loose Shapefile: byte 0 picks the dataset, the rest is `.shp`, `.shx`, `.dbf`, `.prj` and
/// `.cpg` joined by [`PART_SEPARATOR`] (missing parts are missing files), so the mutations
/// reach the record and attribute readers, which a zip's checksums would hide.
pub fn shapefile(data: &[u8]) {
    let Some((&d, body)) = data.split_first() else {
        return;
    };
    let dataset = dataset_of(d);
    let dir = scratch();
    let mut parts = split(body, PART_SEPARATOR).into_iter();
    for ext in SHAPEFILE_PARTS {
        let p = dir.join(format!("loose.{ext}"));
        let _ = match parts.next() {
            Some(b) => std::fs::write(&p, b),
            None => std::fs::remove_file(&p),
        };
    }
    within_budget("shapefile", body.len(), budget_for(dataset), || {
        parse_upload(&dir.join("loose.shp"), dataset)
    });
}

fn split<'a>(mut b: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    while let Some(i) = b.windows(sep.len()).position(|w| w == sep) {
        out.push(&b[..i]);
        b = &b[i + sep.len()..];
    }
    out.push(b);
    out
}

/// Put `data` where the store keeps the file `path_for` names for a database `db_name` in the
/// scratch folder; the database path, or `None` when it cannot be written.
fn stored_file(
    db_name: &str,
    path_for: fn(&Path, &image::Key) -> PathBuf,
    data: &[u8],
) -> Option<PathBuf> {
    let db = scratch().join(db_name);
    let path = path_for(&db, &stored_key());
    if let Some(p) = path.parent() {
        let _ = std::fs::create_dir_all(p);
    }
    std::fs::write(&path, data).ok().map(|()| db)
}

/// A layer image file: reading it fails cleanly or gives features.
pub fn layer_image(data: &[u8]) {
    let Some(db) = stored_file("image.duckdb", image::path_for, data) else {
        return;
    };
    within_budget("layer-image", data.len(), 10, || {
        let _ = image::read(&db, &stored_key(), 1);
    });
}

/// A stored tile set: opening it and reading tiles fails cleanly or gives bytes.
pub fn tile_set(data: &[u8]) {
    let Some(db) = stored_file("tiles.duckdb", tileset::path_for, data) else {
        return;
    };
    within_budget("tile-set", data.len(), 10, || read_tile_set(&db));
}

fn flood_layer() -> &'static Layer {
    static L: OnceLock<Layer> = OnceLock::new();
    L.get_or_init(|| Layer::from_features(DatasetId::Flood, 1, flood_features(200)))
}

/// The CRS a filter input's literals are in, picked by byte 0: CRS84, JGD2011 lon/lat, or a
/// plane-rectangular zone (PROJ brings them to lon/lat).
fn filter_crs(b: u8) -> FilterCrs {
    let uri = match b % 4 {
        0 => "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
        1 => "http://www.opengis.net/def/crs/EPSG/0/6668",
        2 => "http://www.opengis.net/def/crs/EPSG/0/6673",
        _ => "http://www.opengis.net/def/crs/EPSG/0/3857",
    };
    FilterCrs::parse(uri).unwrap_or(FilterCrs::CRS84)
}

/// A CQL2 filter (`lang`), then `sortby` and `properties` from the same text: compiled against
/// the flood collection's queryables and, when it compiles, run over a small layer.
pub fn cql2(lang: Lang, data: &[u8]) {
    let Some((&c, body)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(body) else {
        return;
    };
    within_budget("cql2", text.len(), 64, || {
        run_cql2(text, lang, filter_crs(c), flood_layer())
    });
}

fn catalog() -> &'static Catalog {
    static C: OnceLock<Catalog> = OnceLock::new();
    C.get_or_init(ckan_catalog)
}

/// CKAN `package_search`: the input is `q`, `fq` and `sort` separated by newlines.
pub fn ckan_query(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let (q, fq, sort) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let params: machimap::catalog::Params = [("q", q), ("fq", fq), ("sort", sort), ("rows", "5")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
        .collect();
    within_budget("ckan-query", data.len(), 64, || {
        let _ = machimap::catalog::run_action(catalog(), "package_search", &params);
    });
}

/// Write the seeds of `target` into the folder named by `MACHIMAP_FUZZ_SEEDS`, when set
/// (`scripts/fuzz` sets it to the target's corpus folder before libFuzzer reads it).
pub fn write_seeds(target: &str) {
    let Some(dir) = std::env::var_os("MACHIMAP_FUZZ_SEEDS") else {
        return;
    };
    let dir = PathBuf::from(dir);
    if let Err(e) = seeds::write(target, &dir) {
        eprintln!("fuzz seeds for {target}: {e}");
    }
}

/// Byte 0 of an upload seed for `d` (see [`upload`]).
pub fn upload_prefix(d: DatasetId) -> u8 {
    dataset_byte(d)
}
