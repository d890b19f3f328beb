//! `machimap export-site`: the public site as static files any web server, object storage or
//! CDN can serve, so the hazard map keeps working when machimap cannot (a typhoon's traffic, a
//! failed server, a database being restored), and as one zip for a shelter's PC.
//!
//! A release holds the resident map (`index.html` in static mode, `assets/`, `styles/`), every
//! published layer in `data/tiles.pmtiles` (read with range requests), the risk data
//! (`risk/{hazard}/zones.json`, the cells and their list `cells.json`, see `machimap_risk::cells`; the page answers with
//! `machimap_risk` compiled to WebAssembly, the code `/api/risk` runs), `data/shelters.json`
//! with stock, `data/status.json` (the status staff last set), `data/shelters/{fid}.json` (the
//! shelter detail as `/api/shelters/{fid}` answers it), `data/search.json`, the downloads
//! (`datasets/{id}.csv|.geojson`), the catalog (`catalog/index.html`, `catalog.jsonld`) and
//! `manifest.json` naming the data versions.
//!
//! **Invariant:** readers never see half of two exports. Each export is written into a new
//! folder under `{out}/releases/` (whole by itself: the offline pack is one). The web server
//! serves `{out}`: its `index.html` is the release's page with `<base href="releases/{name}/">`,
//! so a page reads every file from the release it was loaded with, and it is replaced by one
//! rename once the release is in place; the link `{out}/current` (stable download addresses)
//! likewise. The two newest releases are kept, so a page loaded just before a switch goes on
//! reading its own.

use crate::catalog::{self, Publisher};
use crate::export::{self, Format};
use crate::index::Snapshot;
use crate::risk::{self, SnapshotSource};
use machimap_risk::cells::{self, Kind};
use machimap_risk::{Hazard, Source, Zone};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What an export needs besides the snapshot.
#[derive(Debug, Clone)]
pub struct Options {
    /// The folder releases and the `current` link go to.
    pub out: PathBuf,
    /// Where the site will be served (links in the catalog and DCAT); the site itself only
    /// uses relative links, so it works under any path.
    pub base_url: String,
    /// The built resident map (`web/dist`), with `risk.wasm` from `scripts/build-web`.
    pub web_dir: PathBuf,
    /// Publisher, city code and licence (catalog, downloads).
    pub publisher: Publisher,
    /// Smallest and largest zoom of the tile archive.
    pub zooms: (u8, u8),
    /// Also write the release as one zip (the offline pack).
    pub zip: Option<PathBuf>,
}

/// What an export wrote.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Stats {
    /// The release folder.
    pub release: PathBuf,
    /// Files written.
    pub files: u64,
    /// Bytes written (the release folder).
    pub bytes: u64,
    /// Bytes of the tile archive.
    pub tile_bytes: u64,
    /// Bytes of the risk cells and zone tables.
    pub risk_bytes: u64,
    /// Risk cell files.
    pub risk_cells: u64,
}

/// An export that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SiteError {
    /// File system.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The tile archive.
    #[error("{0}")]
    Tiles(#[from] crate::tiles::pmtiles::PmtilesError),
    /// The resident map is not built.
    #[error("住民向けマップがビルドされていません（{0} がありません）。`bash scripts/build-web` を実行してください / the resident map is not built (no {0}): run `bash scripts/build-web`")]
    NotBuilt(String),
    /// JSON.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// The zip.
    #[error("{0}")]
    Zip(#[from] zip::result::ZipError),
}

/// Largest number of shapes in one risk cell before the grid is refined (up to level
/// [`MAX_LEVEL`]): a phone fetches one cell per hazard for each point it asks about.
const CELL_SHAPES: usize = 2_000;
const MIN_LEVEL: u8 = 6;
const MAX_LEVEL: u8 = 12;

fn write_file(path: &Path, bytes: &[u8], stats: &mut Stats) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, bytes)?;
    stats.files += 1;
    stats.bytes += bytes.len() as u64;
    Ok(())
}

/// Write a layer's download file, counting it; its size and SHA-256.
fn write_download(
    layer: &crate::index::Layer,
    format: Format,
    path: &Path,
    stats: &mut Stats,
) -> Result<export::Digest, SiteError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut w = export::DigestWriter::new(std::io::BufWriter::new(std::fs::File::create(path)?));
    export::write_download(layer, format, &mut w)?;
    let (mut file, digest) = w.finish();
    file.flush()?;
    stats.files += 1;
    stats.bytes += digest.size;
    Ok(digest)
}

fn copy_dir(from: &Path, to: &Path, stats: &mut Stats) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type()?.is_dir() {
            copy_dir(&src, &dst, stats)?;
        } else {
            stats.bytes += std::fs::copy(&src, &dst)?;
            stats.files += 1;
        }
    }
    Ok(())
}

/// A zone or coverage shape on its way into the cells its box meets.
struct Shape<'a> {
    kind: Kind,
    fid: i64,
    zone: u32,
    bbox: [f64; 4],
    geom: &'a geo::Geometry<f64>,
}

/// Write the risk data of one hazard: its zone table and the cells; returns the grid level.
fn write_risk(snap: &Snapshot, h: Hazard, dir: &Path, stats: &mut Stats) -> Result<u8, SiteError> {
    let d = risk::dataset(h);
    let Some(l) = snap.layer(d) else {
        return Ok(MIN_LEVEL);
    };
    // Zones with equal properties share one row of the table (a million flood polygons have
    // a few hundred distinct rows).
    let mut table: Vec<Zone> = Vec::new();
    let mut index: BTreeMap<String, u32> = BTreeMap::new();
    let mut shapes: Vec<Shape> = Vec::new();
    for f in &l.features {
        let (Some(g), Some(b)) = (f.geom.as_ref(), f.bbox) else {
            continue;
        };
        let mut z = risk::zone_of(f, l);
        z.fid = 0;
        let key = serde_json::to_string(&z)?;
        let next = table.len() as u32;
        let i = *index.entry(key).or_insert_with(|| {
            table.push(z);
            next
        });
        shapes.push(Shape {
            kind: Kind::Zone,
            fid: f.fid,
            zone: i,
            bbox: b,
            geom: g,
        });
    }
    let cover = crate::coverage::shapes(snap, d);
    for (fid, g) in &cover {
        if let Some(r) = geo::BoundingRect::bounding_rect(g) {
            let b = [r.min().x, r.min().y, r.max().x, r.max().y];
            shapes.push(Shape {
                kind: Kind::Coverage,
                fid: *fid,
                zone: 0,
                bbox: b,
                geom: g,
            });
        }
    }
    // The coarsest level whose fullest cell holds at most CELL_SHAPES shapes.
    let mut level = MIN_LEVEL;
    loop {
        let mut counts: std::collections::HashMap<(i64, i64), usize> = Default::default();
        for s in &shapes {
            for c in cells::cells_of_bbox(s.bbox, level) {
                *counts.entry(c).or_default() += 1;
            }
        }
        if level >= MAX_LEVEL || counts.values().all(|&n| n <= CELL_SHAPES) {
            break;
        }
        level += 1;
    }
    let mut files: BTreeMap<(i64, i64), Vec<u8>> = BTreeMap::new();
    for s in &shapes {
        for c in cells::cells_of_bbox(s.bbox, level) {
            let buf = files.entry(c).or_insert_with(cells::header);
            cells::push(buf, s.kind, s.fid, s.zone, s.geom);
        }
    }
    let hdir = dir.join(h.as_str());
    let zones = serde_json::to_vec(&table)?;
    write_file(&hdir.join("zones.json"), &zones, stats)?;
    stats.risk_bytes += zones.len() as u64;
    // Which cells exist, so the page asks only for those (no 404 for open country).
    let names: Vec<String> = files.keys().map(|&c| cells::name(c)).collect();
    let list = serde_json::to_vec(&names)?;
    write_file(&hdir.join("cells.json"), &list, stats)?;
    stats.risk_bytes += list.len() as u64;
    for (c, bytes) in files {
        write_file(&hdir.join(cells::file_name(c)), &bytes, stats)?;
        stats.risk_bytes += bytes.len() as u64;
        stats.risk_cells += 1;
    }
    Ok(level)
}

fn write_json(path: &Path, v: &impl serde::Serialize, stats: &mut Stats) -> Result<(), SiteError> {
    write_file(path, &serde_json::to_vec(v)?, stats)?;
    Ok(())
}

/// Write a new release of the static site from `snap` with the shelter status `status`, and
/// make it the current one.
pub fn export(
    snap: &Snapshot,
    status: &risk::Statuses,
    opts: &Options,
) -> Result<Stats, SiteError> {
    let template = opts.web_dir.join("index.html");
    let wasm = opts.web_dir.join("risk.wasm");
    for need in [&template, &wasm] {
        if !need.is_file() {
            return Err(SiteError::NotBuilt(need.display().to_string()));
        }
    }
    let releases = opts.out.join("releases");
    std::fs::create_dir_all(&releases)?;
    let now = crate::admin::now_iso();
    let name = format!(
        "{}-{}",
        now.replace([':', '-'], "").replace('Z', ""),
        std::process::id()
    );
    let tmp = releases.join(format!(".{name}.partial"));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp)?;
    let mut stats = Stats {
        release: releases.join(&name),
        files: 0,
        bytes: 0,
        tile_bytes: 0,
        risk_bytes: 0,
        risk_cells: 0,
    };

    // The map: its files as built, and the page in static mode.
    for sub in ["assets", "styles"] {
        let from = opts.web_dir.join(sub);
        if from.is_dir() {
            copy_dir(&from, &tmp.join(sub), &mut stats)?;
        }
    }
    let mut config = crate::page::config(snap, "ja", &opts.publisher.name, false, None);
    config["static"] = serde_json::json!({ "exported_at": now, "release": name });
    let html = crate::views::site::render_index(
        &std::fs::read_to_string(&template)?,
        machimap_risk::Lang::Ja,
        &config,
    );
    write_file(&tmp.join("index.html"), html.as_bytes(), &mut stats)?;
    stats.bytes += std::fs::copy(&wasm, tmp.join("risk.wasm"))?;
    stats.files += 1;
    // The service worker, at the root so it keeps the whole site for a phone that goes offline.
    let sw = opts.web_dir.join("sw.js");
    if sw.is_file() {
        stats.bytes += std::fs::copy(&sw, tmp.join("sw.js"))?;
        stats.files += 1;
    }

    // Tiles.
    std::fs::create_dir_all(tmp.join("data"))?;
    let t = crate::tiles::pmtiles::export(
        snap,
        &tmp.join("data/tiles.pmtiles"),
        opts.zooms.0,
        opts.zooms.1,
        |_, _| {},
    )?;
    stats.tile_bytes = t.bytes;
    stats.bytes += t.bytes;
    stats.files += 1;

    // Risk: cells per hazard, shelters with the hazards whose zones hold them, status.
    let src = SnapshotSource::new(snap);
    let mut hazards = BTreeMap::new();
    for h in Hazard::ALL {
        if let Some(p) = src.published_at(h) {
            let level = write_risk(snap, h, &tmp.join("risk"), &mut stats)?;
            hazards.insert(
                h.as_str(),
                serde_json::json!({"published_at": p, "level": level}),
            );
        }
    }
    let shelters: Vec<machimap_risk::Shelter> = src
        .shelters()
        .iter()
        .map(|s| {
            let mut s = s.clone();
            s.in_zone = Hazard::ALL
                .into_iter()
                .filter(|&h| src.shelter_in_zone(h, &s))
                .collect();
            s
        })
        .collect();
    write_json(&tmp.join("data/shelters.json"), &shelters, &mut stats)?;
    write_json(
        &tmp.join("data/status.json"),
        &risk::statuses(status),
        &mut stats,
    )?;
    for s in &shelters {
        if let Some(v) = crate::search::shelter_detail(snap, s.fid) {
            write_json(
                &tmp.join(format!("data/shelters/{}.json", s.fid)),
                &v,
                &mut stats,
            )?;
        }
    }
    let search = crate::search::SearchIndex::build(snap).entries_json();
    write_json(&tmp.join("data/search.json"), &search, &mut stats)?;

    // Downloads and the catalog.
    let base = opts.base_url.trim_end_matches('/');
    // Written and hashed in one pass: the catalog's digests are of these very files.
    let mut digests = std::collections::HashMap::new();
    for (d, l) in &snap.layers {
        let mut formats = vec![(Format::Csv, "csv")];
        if d.has_geometry() {
            formats.push((Format::GeoJson, "geojson"));
        }
        for (f, ext) in formats {
            let path = tmp.join(format!("datasets/{d}.{ext}"));
            digests.insert((*d, f), write_download(l, f, &path, &mut stats)?);
        }
    }
    // Downloads are linked through `current`: addresses that stay the same from release to
    // release, as harvesters expect.
    let mut cat = catalog::build_catalog(
        snap,
        &opts.publisher,
        &format!("{base}/current"),
        &|_| BTreeMap::new(),
        &|l, f| {
            Some(
                digests
                    .get(&(l.dataset, f))
                    .cloned()
                    .unwrap_or_else(|| export::digest(l, f)),
            )
        },
    );
    // Only the files are here: no OGC API and no tile service on a static host.
    for e in &mut cat.entries {
        e.resources.retain(|r| r.kind.is_download());
    }
    write_file(
        &tmp.join("catalog/index.html"),
        crate::views::catalog::html(&cat, catalog::Lang::Ja).as_bytes(),
        &mut stats,
    )?;
    write_json(
        &tmp.join("catalog.jsonld"),
        &catalog::dcat(&cat),
        &mut stats,
    )?;

    let manifest = serde_json::json!({
        "generator": "machimap export-site",
        "exported_at": now,
        "release": name,
        "base_url": base,
        "datasets": config["datasets"],
        "tiles": {"url": "data/tiles.pmtiles", "minzoom": opts.zooms.0, "maxzoom": opts.zooms.1},
        "risk": {"hazards": hazards},
    });
    write_json(&tmp.join("manifest.json"), &manifest, &mut stats)?;

    if let Some(zip) = &opts.zip {
        write_zip(&tmp, zip)?;
    }
    // Publish: the release under its name; then the root page, which pins it (`<base>`), and
    // the service worker, each replaced in one rename; then the `current` link (downloads).
    std::fs::rename(&tmp, &stats.release)?;
    let root_html = crate::views::site::pin_release(&html, &name);
    replace_file(&opts.out.join("index.html"), root_html.as_bytes())?;
    if sw.is_file() {
        replace_file(&opts.out.join("sw.js"), &std::fs::read(&sw)?)?;
    }
    let link_tmp = opts.out.join(format!(".current.{}", std::process::id()));
    let _ = std::fs::remove_file(&link_tmp);
    std::os::unix::fs::symlink(Path::new("releases").join(&name), &link_tmp)?;
    std::fs::rename(&link_tmp, opts.out.join("current"))?;
    prune(&releases, &name)?;
    Ok(stats)
}

/// Write a file whole under a temporary name, then rename it over `path` (readers see the old
/// file or the new one).
fn replace_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Keep the two newest releases (the current one and the one before, which a reader who
/// loaded its page a moment ago may still be reading) and remove older ones.
fn prune(releases: &Path, current: &str) -> std::io::Result<()> {
    let mut names: Vec<String> = std::fs::read_dir(releases)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    let keep: Vec<&String> = names.iter().rev().take(2).collect();
    for n in &names {
        if !keep.contains(&n) && n != current {
            std::fs::remove_dir_all(releases.join(n))?;
        }
    }
    Ok(())
}

/// The offline pack: the release as one zip, with how to serve it.
fn write_zip(dir: &Path, out: &Path) -> Result<(), SiteError> {
    let tmp = out.with_extension("zip.partial");
    let file = std::fs::File::create(&tmp)?;
    let mut z = zip::ZipWriter::new(file);
    let deflate = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    // Tiles are gzipped already.
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    z.start_file("README.txt", deflate)?;
    z.write_all(README_TXT.as_bytes())?;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d)?.filter_map(|e| e.ok()).collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            if e.file_type()?.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p
                .strip_prefix(dir)
                .map_err(|e| std::io::Error::other(e.to_string()))?
                .to_string_lossy()
                .replace('\\', "/");
            let opts = if rel.ends_with(".pmtiles") || rel.ends_with(".gz") || rel.ends_with(".br")
            {
                stored
            } else {
                deflate
            };
            z.start_file(rel, opts)?;
            std::io::copy(&mut std::fs::File::open(&p)?, &mut z)?;
        }
    }
    z.finish()?;
    std::fs::rename(&tmp, out)?;
    Ok(())
}

const README_TXT: &str = "\
machimap オフライン版 / offline copy of the hazard map

展開したフォルダで次を実行し、ブラウザで http://localhost:8000/ を開きます。
In the unzipped folder run the line below, then open http://localhost:8000/ in a browser.

    python3 -m http.server 8000

避難所の開設状況は書き出した時点のものです。/ Shelter status is as of the export.
";
