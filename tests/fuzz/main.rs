//! Randomised testing of every file parser a clerk's upload reaches (CSV in UTF-8 and CP932,
//! GeoJSON, zipped and loose Shapefile with DBF and .prj), each followed by its dataset's
//! normaliser, as an upload is. A mutational fuzzer: valid seed files written by our own
//! code, then bytes flipped, inserted, deleted, duplicated and spliced, plus structured attack
//! inputs. For every input: no panic, and the memory the parse holds at its peak stays within
//! ten times the input's size (plus a fixed allowance for PROJ and the readers' buffers).
//!
//! `cargo test --test fuzz` runs a short fixed-seed pass (what CI runs); `scripts/fuzz` runs
//! each target for a set time with a fresh seed (`FUZZ_SECS`, `FUZZ_SEED`).
//! The stored layer images and tile sets, CKAN search queries and CQL2 filters are mutated the
//! same way. The coverage-guided fuzzer over the same parsers (libFuzzer, `crates/fuzz`) needs
//! a nightly toolchain and its own build, so it runs from `scripts/fuzz` only; this driver runs
//! in the ordinary `cargo test`.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the fuzz run reports what it tried"
)]

use machimap::dataset::DatasetId;
use machimap::report::Report;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

// The counting allocator and the stored files' seeds, shared with the coverage-guided targets.
#[path = "../../crates/fuzz/src/shared.rs"]
mod shared;
use shared::{measure, Counting, FIXED_ALLOWANCE};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// One fuzz target: seed files of one format, the dataset whose normaliser follows.
struct Target {
    name: &'static str,
    ext: &'static str,
    dataset: DatasetId,
    seeds: Vec<Vec<u8>>,
    /// Most bytes held per input byte beyond the fixed allowance: 10 for the streaming
    /// readers; shelters wait whole for their merge across files (bounded in count by
    /// `kinds::shelters::MAX_RECORDS`), so a list of minimal rows holds more per byte.
    budget: usize,
}

/// What one run found.
#[derive(Default, Debug)]
struct Stats {
    inputs: u64,
    panics: Vec<String>,
    worst_ratio: f64,
    over_budget: Vec<String>,
}

fn parse_once(path: &Path, name: &str, dataset: DatasetId) {
    let mut report = Report::new(name);
    let mut norm = machimap::kinds::normalizer(dataset, Default::default());
    let mut rows = 0u64;
    let r = machimap::read::read(path, name, None, &mut report, &mut |src, f, rep| {
        norm.feature(src, f, rep, &mut |_| rows += 1);
        std::ops::ControlFlow::Continue(())
    });
    if r.is_ok() {
        norm.finish(&mut report, &mut |_| rows += 1);
    }
    std::hint::black_box((rows, report.errors));
}

/// Parse `bytes` as a file of `t`, checking for panics and memory. Loose Shapefiles write
/// their sibling files next to `.shp`.
fn check(t: &Target, dir: &Path, files: &[(&str, &[u8])], st: &mut Stats) {
    let mut main: Option<PathBuf> = None;
    let mut total = 0usize;
    for (ext, bytes) in files {
        let p = dir.join(format!("in.{ext}"));
        std::fs::write(&p, bytes).expect("write input");
        total += bytes.len();
        if main.is_none() {
            main = Some(p);
        }
    }
    let Some(path) = main else { return };
    let (res, held) = measure(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            parse_once(&path, "in", t.dataset)
        }))
    });
    st.inputs += 1;
    if let Err(e) = res {
        let msg = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        let keep = dir.join(format!("panic-{}.{}", st.panics.len(), t.ext));
        let _ = std::fs::copy(&path, &keep);
        st.panics.push(format!(
            "{}: {msg} (input kept at {})",
            t.name,
            keep.display()
        ));
    }
    let ratio = held.saturating_sub(FIXED_ALLOWANCE) as f64 / total.max(1) as f64;
    st.worst_ratio = st.worst_ratio.max(ratio);
    if held > FIXED_ALLOWANCE + t.budget * total {
        let keep = dir.join(format!("memory-{}.{}", st.over_budget.len(), t.ext));
        let _ = std::fs::copy(&path, &keep);
        st.over_budget.push(format!(
            "{}: {total} bytes held {held} bytes (input kept at {})",
            t.name,
            keep.display()
        ));
    }
}

/// One random change to `b`.
fn mutate(rng: &mut StdRng, b: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    const INTERESTING: &[&[u8]] = &[
        b"\"",
        b",",
        b"\n",
        b"\r\n",
        b"[",
        b"]",
        b"{",
        b"}",
        b"-1",
        b"1e308",
        b"NaN",
        b"\xff\xff\xff\xff",
        b"\x00\x00\x00\x00",
        b"\xef\xbb\xbf",
        b"\x82\xa0",
        b"\xe3\x81",
        b"99999999999999999999",
        b"\"coordinates\":[[[",
        b"null",
    ];
    let n = b.len();
    match rng.gen_range(0..7) {
        0 if n > 0 => {
            let i = rng.gen_range(0..n);
            b[i] ^= 1 << rng.gen_range(0..8);
        }
        1 if n > 0 => {
            let i = rng.gen_range(0..n);
            b[i] = rng.gen();
        }
        2 => {
            let i = rng.gen_range(0..=n);
            let s = INTERESTING[rng.gen_range(0..INTERESTING.len())];
            b.splice(i..i, s.iter().copied());
        }
        3 if n > 1 => {
            let i = rng.gen_range(0..n);
            let len = rng.gen_range(1..=(n - i).min(64));
            b.drain(i..i + len);
        }
        4 if n > 1 => {
            // Duplicate a slice (repeated records, nested arrays).
            let i = rng.gen_range(0..n);
            let len = rng.gen_range(1..=(n - i).min(256));
            let piece: Vec<u8> = b[i..i + len].to_vec();
            let at = rng.gen_range(0..=n);
            for _ in 0..rng.gen_range(1..8) {
                b.splice(at..at, piece.iter().copied());
            }
        }
        5 if !seeds.is_empty() => {
            // Splice in part of another seed.
            let o = &seeds[rng.gen_range(0..seeds.len())];
            if !o.is_empty() && n > 0 {
                let i = rng.gen_range(0..o.len());
                let at = rng.gen_range(0..n);
                b.truncate(at);
                b.extend_from_slice(&o[i..]);
            }
        }
        _ if n > 4 => {
            // Overwrite a 4-byte little-endian integer (Shapefile/DBF lengths and counts).
            let i = rng.gen_range(0..n - 4);
            let v: u32 = match rng.gen_range(0..4) {
                0 => 0,
                1 => u32::MAX,
                2 => rng.gen_range(0..1 << 20),
                _ => rng.gen(),
            };
            b[i..i + 4].copy_from_slice(&v.to_le_bytes());
        }
        _ => b.push(rng.gen()),
    }
}

fn sjis(s: &str) -> Vec<u8> {
    encoding_rs::SHIFT_JIS.encode(s).0.into_owned()
}

fn csv_seeds() -> Vec<Vec<u8>> {
    let g3 = "全国地方公共団体コード,ID,名称,名称_カナ,所在地_連結表記,緯度,経度,災害種別_洪水,災害種別_津波,指定避難所との重複,想定収容人数\r\n\
339997,A1,桜台小学校,サクラダイ,架空市桜台1-2-3,34.661234,133.921234,1,,1,\"50,700 \"\r\n\
339997,A2,川端公園,カワバタ,架空市川端2-1,34.65,133.91,○,△,,16人\r\n";
    let list = "施設名,所在地,開設される災害の種類（地震・津波）,開設される災害の種類（風水害）,緯度,経度\n\
東中学校,架空市東町3-1,○,,34.6612,133.9301\n";
    vec![g3.as_bytes().to_vec(), sjis(g3), sjis(list)]
}

fn geojson_seeds() -> Vec<Vec<u8>> {
    let mut polys = String::from("{\"type\":\"FeatureCollection\",\"features\":[");
    for i in 0..50 {
        let x = 133.9 + i as f64 * 0.001;
        if i > 0 {
            polys.push(',');
        }
        polys.push_str(&format!(
            "{{\"type\":\"Feature\",\"properties\":{{\"A31a_201\":\"85053000{i}\",\"A31a_205\":{},\"river\":\"旭川\"}},\
             \"geometry\":{{\"type\":\"Polygon\",\"coordinates\":[[[{x},34.6],[{},34.6],[{},34.601],[{x},34.601],[{x},34.6]]]}}}}",
            1 + i % 5,
            x + 0.001,
            x + 0.001
        ));
    }
    polys.push_str("]}");
    let points = "{\"type\":\"FeatureCollection\",\"crs\":{\"type\":\"name\",\"properties\":{\"name\":\"urn:ogc:def:crs:EPSG::6668\"}},\
\"features\":[{\"type\":\"Feature\",\"properties\":{\"NAME\":\"北公園\",\"ITEM004\":\"1\"},\"geometry\":{\"type\":\"Point\",\"coordinates\":[133.93,34.6,0]}}]}";
    vec![polys.into_bytes(), points.as_bytes().to_vec()]
}

/// A zipped Shapefile of wards in plane zone V (CP932 DBF with its language driver byte).
fn shapefile_zip(dir: &Path) -> Vec<u8> {
    shared::small_shapefile_zip(dir).expect("write the seed shapefile")
}

/// The members of a zip, by extension.
fn unzip(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    shared::unzip(bytes).expect("seed zip")
}

/// Inputs built to make a parser hold much more than it reads.
fn attacks() -> Vec<(&'static str, DatasetId, usize, Vec<u8>)> {
    let n = 300_000;
    let geo = |coords: String| {
        format!(
            "{{\"type\":\"FeatureCollection\",\"features\":[{{\"type\":\"Feature\",\"properties\":{{}},\
             \"geometry\":{{\"type\":\"MultiPolygon\",\"coordinates\":{coords}}}}}]}}"
        )
        .into_bytes()
    };
    vec![
        (
            "geojson",
            DatasetId::Flood,
            10,
            geo(format!("[{}[]]", "[],".repeat(n))),
        ),
        (
            "geojson",
            DatasetId::Flood,
            10,
            geo(format!("[{}[[[0,0]]]]", "[[[0,0]]],".repeat(n))),
        ),
        (
            "geojson",
            DatasetId::Flood,
            10,
            geo(format!("[[[{}[0,0]]]]", "[0,0],".repeat(n))),
        ),
        (
            "csv",
            DatasetId::Shelters,
            10,
            format!("{}名称\n{}x\n", "a,".repeat(200_000), ",".repeat(200_000)).into_bytes(),
        ),
        (
            "csv",
            DatasetId::Shelters,
            32,
            // Many rows, each buffered for the merge across files: a realistic row width.
            format!(
                "ID,名称,所在地_連結表記,緯度,経度,災害種別_洪水,災害種別_津波,想定収容人数,電話番号\n{}",
                (0..50_000)
                    .map(|i| format!("A{i},桜台小学校{i},架空市桜台1-2-3,34.6,133.9,1,,350,086-000-0000\n"))
                    .collect::<String>()
            )
            .into_bytes(),
        ),
    ]
}

fn run(secs: Option<f64>, iterations: u64, seed: u64) -> Stats {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut st = Stats::default();
    let mut rng = StdRng::seed_from_u64(seed);
    // Warm up PROJ and the readers once, outside the measured inputs.
    for t in targets(dir.path()) {
        for s in &t.seeds {
            check(&t, dir.path(), &[(t.ext, s)], &mut Stats::default());
        }
    }
    for (i, (ext, ds, budget, bytes)) in attacks().into_iter().enumerate() {
        let t = Target {
            name: "attack",
            ext,
            dataset: ds,
            seeds: vec![],
            budget,
        };
        let t0 = Instant::now();
        let before = st.worst_ratio;
        st.worst_ratio = 0.0;
        check(&t, dir.path(), &[(ext, &bytes)], &mut st);
        println!(
            "attack {i} ({ext}, {} bytes): {:.1} s, held/size beyond the allowance {:.2}",
            bytes.len(),
            t0.elapsed().as_secs_f64(),
            st.worst_ratio
        );
        st.worst_ratio = st.worst_ratio.max(before);
    }
    // Inputs the fuzzer once found over budget or panicking, kept as regression cases
    // (tests/fuzz/cases/NAME.EXT; the extension names the format).
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz/cases");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&cases)
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    found.sort();
    for p in found {
        let ext = match p.extension().and_then(|e| e.to_str()) {
            Some("zip") => "zip",
            Some("csv") => "csv",
            Some("geojson") => "geojson",
            _ => continue,
        };
        let bytes = std::fs::read(&p).expect("read case");
        let t = Target {
            name: "case",
            ext,
            dataset: if ext == "zip" {
                DatasetId::Wards
            } else {
                DatasetId::Flood
            },
            seeds: vec![],
            budget: 10,
        };
        let before = st.over_budget.len() + st.panics.len();
        check(&t, dir.path(), &[(ext, &bytes)], &mut st);
        if st.over_budget.len() + st.panics.len() > before {
            println!("case {} fails again", p.display());
        }
    }
    let shp_members = unzip(&shapefile_zip(dir.path()));
    for t in targets(dir.path()) {
        let start = Instant::now();
        let mut i = 0u64;
        loop {
            if done(secs, start, i, iterations) {
                break;
            }
            i += 1;
            let mut b = t.seeds[rng.gen_range(0..t.seeds.len())].clone();
            for _ in 0..rng.gen_range(1..6) {
                mutate(&mut rng, &mut b, &t.seeds);
            }
            check(&t, dir.path(), &[(t.ext, &b)], &mut st);
        }
        println!("{}: {i} inputs", t.name);
    }
    // Loose Shapefile: one of .shp/.shx/.dbf/.prj changed at a time.
    let start = Instant::now();
    let mut i = 0u64;
    let t = Target {
        name: "shapefile-loose",
        ext: "shp",
        dataset: DatasetId::Wards,
        seeds: vec![],
        budget: 10,
    };
    loop {
        if done(secs, start, i, iterations) {
            break;
        }
        i += 1;
        let which = rng.gen_range(0..shp_members.len());
        let mut files: Vec<(String, Vec<u8>)> = shp_members.clone();
        for _ in 0..rng.gen_range(1..4) {
            mutate(&mut rng, &mut files[which].1, &[]);
        }
        // .shp first: it is the path read.
        files.sort_by_key(|(e, _)| e != "shp");
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(e, b)| (e.as_str(), b.as_slice()))
            .collect();
        check(&t, dir.path(), &refs, &mut st);
    }
    println!("shapefile-loose: {i} inputs");
    if !st.panics.is_empty() || !st.over_budget.is_empty() {
        // Keep the inputs that failed for a look.
        let kept = dir.keep();
        println!("failing inputs kept in {}", kept.display());
    }
    st
}

/// A target's run is over: its time is up (`FUZZ_SECS`), or else its inputs are counted out.
fn done(secs: Option<f64>, start: Instant, inputs: u64, iterations: u64) -> bool {
    match secs {
        Some(s) => start.elapsed() >= Duration::from_secs_f64(s),
        None => inputs >= iterations,
    }
}

fn targets(dir: &Path) -> Vec<Target> {
    vec![
        Target {
            name: "csv",
            ext: "csv",
            dataset: DatasetId::Shelters,
            seeds: csv_seeds(),
            budget: 32,
        },
        Target {
            name: "geojson",
            ext: "geojson",
            dataset: DatasetId::Flood,
            seeds: geojson_seeds(),
            budget: 10,
        },
        Target {
            name: "shapefile-zip",
            ext: "zip",
            dataset: DatasetId::Wards,
            seeds: vec![shapefile_zip(dir)],
            budget: 10,
        },
    ]
}

/// The tests of this binary take turns: the allocator's counts are process-wide.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn parsers_survive_mutated_and_hostile_files() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let secs = std::env::var("FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok());
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261202);
    let iterations = std::env::var("FUZZ_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    // Quiet: the expected panics of a bug are caught and listed, not printed one by one.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let st = run(secs, iterations, seed);
    std::panic::set_hook(hook);
    println!(
        "fuzz seed {seed}: {} inputs, {} panics, {} over the memory budget, worst held/size beyond the fixed allowance {:.2}",
        st.inputs,
        st.panics.len(),
        st.over_budget.len(),
        st.worst_ratio
    );
    assert!(st.panics.is_empty(), "panics:\n{}", st.panics.join("\n"));
    assert!(
        st.over_budget.is_empty(),
        "over budget:\n{}",
        st.over_budget.join("\n")
    );
}

/// Inputs that are not upload files: the layer image and tile set files a server reads at
/// start (written by us, but a torn or damaged one must be refused, never followed), and the
/// CKAN `package_search` query (`q`, `fq`, `sort`), which any anonymous client sends.
mod stored_and_queries {
    use super::{check_bytes, mutate, Stats};
    use machimap::catalog::{run_action, Params};
    use machimap::dataset::DatasetId;
    use machimap::index::image::{self, Key};
    use machimap::index::tileset;
    use machimap::index::{Feature, Layer};
    use rand::rngs::StdRng;
    use rand::Rng;
    use serde_json::json;
    use std::path::Path;

    fn key() -> Key {
        super::shared::stored_key()
    }

    fn features() -> Vec<Feature> {
        super::shared::flood_features(40)
    }

    /// Mutated layer images: reading one either fails or returns features; never a panic,
    /// never memory out of proportion to the file.
    pub fn images(dir: &Path, rng: &mut StdRng, n: u64, st: &mut Stats) {
        let db = dir.join("img.duckdb");
        let k = key();
        image::write(&db, &k, &features()).expect("write image");
        mutated_file(&image::path_for(&db, &k), "layer-image", rng, n, st, || {
            let _ = image::read(&db, &k, 2);
        });
    }

    /// Replace the file at `path` by `n` mutations of what it holds now, calling `read` on
    /// each.
    fn mutated_file(
        path: &Path,
        name: &str,
        rng: &mut StdRng,
        n: u64,
        st: &mut Stats,
        read: impl Fn(),
    ) {
        let seed = std::fs::read(path).expect("read the seed file");
        for _ in 0..n {
            let mut b = seed.clone();
            for _ in 0..rng.gen_range(1..4) {
                mutate(rng, &mut b, &[]);
            }
            std::fs::write(path, &b).expect("write input");
            check_bytes(name, b.len(), 10, st, &read);
        }
    }

    /// Mutated tile sets: opening and reading every entry fails cleanly or gives bytes.
    pub fn tilesets(dir: &Path, rng: &mut StdRng, n: u64, st: &mut Stats) {
        let db = dir.join("ts.duckdb");
        let k = key();
        let tiles = super::shared::seed_tiles();
        tileset::write(&db, &k, super::shared::TILE_REVISION, tiles).expect("write tile set");
        mutated_file(&tileset::path_for(&db, &k), "tile-set", rng, n, st, || {
            super::shared::read_tile_set(&db)
        });
    }

    const QUERIES: &[&str] = &[
        "tags:防災 AND res_format:CSV",
        "-res_format:GeoJSON",
        "metadata_modified:[2025-04-06T00:00:00Z TO *]",
        "organization:339997 OR name:\"shelters\"",
        "title:避難* +tags:(洪水 OR 津波)",
        "name asc, metadata_modified desc",
        "",
    ];

    /// Mutated `q`, `fq` and `sort` of `package_search`: an answer or a validation error.
    pub fn ckan_queries(rng: &mut StdRng, n: u64, st: &mut Stats) {
        let cat = super::shared::ckan_catalog();
        let seeds: Vec<Vec<u8>> = QUERIES.iter().map(|q| q.as_bytes().to_vec()).collect();
        for _ in 0..n {
            let mut fields = Vec::new();
            for _ in 0..3 {
                let mut b = seeds[rng.gen_range(0..seeds.len())].clone();
                for _ in 0..rng.gen_range(1..6) {
                    mutate(rng, &mut b, &seeds);
                }
                fields.push(String::from_utf8_lossy(&b).into_owned());
            }
            let size = fields.iter().map(String::len).sum();
            let params: Params =
                json!({"q": fields[0], "fq": fields[1], "sort": fields[2], "rows": "5"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
            check_bytes("ckan-query", size, 10, st, || {
                let _ = run_action(&cat, "package_search", &params);
            });
        }
    }

    /// Mutated CQL2 filters (text and JSON) and `sortby`: compiled against the flood
    /// queryables and, when they compile, run over a layer; an answer or a 400's error.
    pub fn cql2_filters(rng: &mut StdRng, n: u64, st: &mut Stats) {
        use super::shared::{run_cql2, CQL2_JSON, CQL2_TEXT};
        use machimap::filter::{FilterCrs, Lang};
        let l = Layer::from_features(DatasetId::Flood, 1, features());
        let seeds: Vec<Vec<u8>> = CQL2_TEXT
            .iter()
            .chain(CQL2_JSON)
            .map(|q| q.as_bytes().to_vec())
            .collect();
        for _ in 0..n {
            let mut b = seeds[rng.gen_range(0..seeds.len())].clone();
            for _ in 0..rng.gen_range(1..6) {
                mutate(rng, &mut b, &seeds);
            }
            let text = String::from_utf8_lossy(&b).into_owned();
            let lang = if text.starts_with('{') {
                Lang::Json
            } else {
                Lang::Text
            };
            check_bytes("cql2", text.len(), 64, st, || {
                run_cql2(&text, lang, FilterCrs::CRS84, &l)
            });
        }
    }
}

/// Run `f` on an input of `size` bytes, counting a panic or memory held past `budget` per byte
/// (beyond the fixed allowance) against `st`.
fn check_bytes(name: &str, size: usize, budget: usize, st: &mut Stats, f: impl FnOnce()) {
    let (res, held) = measure(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
    st.inputs += 1;
    if let Err(e) = res {
        let msg = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        st.panics.push(format!("{name}: {msg}"));
    }
    let ratio = held.saturating_sub(FIXED_ALLOWANCE) as f64 / size.max(1) as f64;
    st.worst_ratio = st.worst_ratio.max(ratio);
    if held > FIXED_ALLOWANCE + budget * size.max(1) {
        st.over_budget
            .push(format!("{name}: {size} bytes held {held} bytes"));
    }
}

#[test]
fn stored_files_and_catalog_queries_survive_mutation() {
    let _turn = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20261205u64);
    let n = match std::env::var("FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
    {
        // About as many inputs as the upload targets get in the same time.
        Some(secs) => (secs * 2000.0) as u64,
        None => 400,
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rng = StdRng::seed_from_u64(seed);
    let mut st = Stats::default();
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    stored_and_queries::images(dir.path(), &mut rng, n, &mut st);
    stored_and_queries::tilesets(dir.path(), &mut rng, n, &mut st);
    stored_and_queries::ckan_queries(&mut rng, n, &mut st);
    stored_and_queries::cql2_filters(&mut rng, n, &mut st);
    std::panic::set_hook(hook);
    println!(
        "fuzz seed {seed}: {} stored-file and query inputs, {} panics, {} over the memory budget",
        st.inputs,
        st.panics.len(),
        st.over_budget.len()
    );
    assert!(st.panics.is_empty(), "panics:\n{}", st.panics.join("\n"));
    assert!(
        st.over_budget.is_empty(),
        "over budget:\n{}",
        st.over_budget.join("\n")
    );
}
