//! The seeds each target's corpus starts from, written by our own code: the sample city's files
//! in the layouts cities hand over (trimmed, so a run spends its time on structure rather than
//! on long files), layer images and tile sets from the store's own writers, and filters and
//! CKAN queries of the forms clients send.

use crate::{
    flood_features, seed_tiles, stored_key, upload_prefix, CQL2_JSON, CQL2_TEXT, PART_SEPARATOR,
    SHAPEFILE_PARTS, TILE_REVISION,
};
use machimap::dataset::DatasetId;
use machimap::index::{image, tileset};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Largest seed file kept whole; longer ones are trimmed (CSV, GeoJSON) or left out.
const MAX_SEED: usize = 256 << 10;

/// Write the seeds of `target` into `dir`.
pub fn write(target: &str, dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let seeds = match target {
        "upload_csv" => sample_uploads(&["csv"], trim_csv)?,
        "upload_geojson" => sample_uploads(&["geojson", "json"], trim_geojson)?,
        "upload_shapefile_zip" => shapefile_zips()?,
        "upload_shapefile" => loose_shapefiles()?,
        "layer_image" => layer_images()?,
        "tile_set" => tile_sets()?,
        "cql2_text" => with_crs_bytes(CQL2_TEXT),
        "cql2_json" => with_crs_bytes(CQL2_JSON),
        "ckan_query" => CKAN.iter().map(|q| q.as_bytes().to_vec()).collect(),
        _ => Vec::new(),
    };
    for (i, s) in seeds.iter().enumerate() {
        std::fs::write(dir.join(format!("seed-{i:03}")), s)?;
    }
    Ok(())
}

fn other(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// The sample city written once per process into a temporary folder: (dataset, file).
fn sample_files() -> std::io::Result<Vec<(DatasetId, PathBuf)>> {
    let dir = crate::scratch().join("sample");
    let m = machimap_sample::generate(
        &dir,
        &machimap_sample::SampleOptions {
            scale: 0,
            progress: false,
        },
    )
    .map_err(other)?;
    Ok(m.files
        .into_iter()
        .filter_map(|(id, files)| Some((DatasetId::from_str(&id).ok()?, files)))
        .flat_map(|(d, files)| files.into_iter().map(move |f| (d, f)))
        .collect())
}

/// The sample files with one of `exts`, each through `trim`, prefixed with its dataset's byte.
fn sample_uploads(
    exts: &[&str],
    trim: fn(Vec<u8>) -> Option<Vec<u8>>,
) -> std::io::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for (d, f) in sample_files()? {
        let ext = f
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if !exts.contains(&ext.as_str()) {
            continue;
        }
        if let Some(body) = trim(std::fs::read(&f)?) {
            let mut s = vec![upload_prefix(d)];
            s.extend(body);
            out.push(s);
        }
    }
    Ok(out)
}

/// The header and the first rows of a CSV, in its own encoding.
fn trim_csv(b: Vec<u8>) -> Option<Vec<u8>> {
    let mut end = 0;
    for (n, i) in b
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == b'\n')
        .map(|(i, _)| i)
        .enumerate()
    {
        end = i + 1;
        if n >= 24 {
            break;
        }
    }
    Some(if end == 0 { b } else { b[..end].to_vec() })
}

/// A GeoJSON FeatureCollection with only its first features (members such as `crs` kept).
fn trim_geojson(b: Vec<u8>) -> Option<Vec<u8>> {
    let mut v: serde_json::Value = serde_json::from_slice(&b).ok()?;
    if let Some(f) = v.get_mut("features").and_then(|f| f.as_array_mut()) {
        f.truncate(4);
    }
    let out = serde_json::to_vec(&v).ok()?;
    (out.len() <= MAX_SEED).then_some(out)
}

fn keep_small(b: Vec<u8>) -> Option<Vec<u8>> {
    (b.len() <= MAX_SEED).then_some(b)
}

/// The sample city's Shapefile zips and a small one of two wards (the sample's are longer
/// than an input may be, so only the small one reaches the DBF whole in the loose target).
fn shapefile_zips() -> std::io::Result<Vec<Vec<u8>>> {
    let mut out = sample_uploads(&["zip"], keep_small)?;
    let mut small = vec![upload_prefix(DatasetId::Wards)];
    small.extend(crate::shared::small_shapefile_zip(crate::scratch())?);
    out.push(small);
    Ok(out)
}

/// The parts of each seed Shapefile zip, joined as the loose target reads them.
fn loose_shapefiles() -> std::io::Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for s in shapefile_zips()? {
        let (prefix, zip) = s.split_at(1);
        let mut parts: Vec<Vec<u8>> = vec![Vec::new(); SHAPEFILE_PARTS.len()];
        for (ext, b) in crate::shared::unzip(zip)? {
            if let Some(k) = SHAPEFILE_PARTS.iter().position(|p| *p == ext) {
                parts[k] = b;
            }
        }
        let mut s = prefix.to_vec();
        for (k, p) in parts.iter().enumerate() {
            if k > 0 {
                s.extend_from_slice(PART_SEPARATOR);
            }
            s.extend_from_slice(p);
        }
        out.push(s);
    }
    Ok(out)
}

/// Layer images of a few flood zones, as the store writes them.
fn layer_images() -> std::io::Result<Vec<Vec<u8>>> {
    let db = crate::scratch().join("seed-image.duckdb");
    let k = stored_key();
    let mut out = Vec::new();
    for n in [3, 40] {
        image::write(&db, &k, &flood_features(n)).map_err(other)?;
        out.push(std::fs::read(image::path_for(&db, &k))?);
    }
    Ok(out)
}

/// Tile sets of a few tiles, as the store writes them.
fn tile_sets() -> std::io::Result<Vec<Vec<u8>>> {
    let db = crate::scratch().join("seed-tiles.duckdb");
    let k = stored_key();
    let tiles = seed_tiles();
    tileset::write(&db, &k, TILE_REVISION, tiles).map_err(other)?;
    Ok(vec![std::fs::read(tileset::path_for(&db, &k))?])
}

fn with_crs_bytes(texts: &[&str]) -> Vec<Vec<u8>> {
    texts
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let mut s = vec![(i % 4) as u8];
            s.extend_from_slice(t.as_bytes());
            s
        })
        .collect()
}

/// `q`, `fq` and `sort` of `package_search`, one per line.
const CKAN: &[&str] = &[
    "防災\ntags:防災 AND res_format:CSV\nname asc",
    "\n-res_format:GeoJSON\nmetadata_modified desc",
    "避難所\nmetadata_modified:[2025-04-06T00:00:00Z TO *]\n",
    "\norganization:339997 OR name:\"shelters\"\nname asc, metadata_modified desc",
    "title:避難*\n+tags:(洪水 OR 津波)\nscore desc",
];
