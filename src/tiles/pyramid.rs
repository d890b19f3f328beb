//! The overview zooms of a large layer drawn once, at publish, into its tile set
//! ([`crate::index::tileset`]).
//!
//! On a million flood zones a z12 tile holds tens of thousands of polygons and costs ~20 ms to
//! draw, a z13 tile ~15 ms, a z14 tile ~5 ms; a z16 tile under 1 ms. The data only changes at a
//! publish, so drawing those zooms on every cache miss is waste: they are drawn here, in
//! parallel. Zooms are drawn from 0 down and stored when their tiles average at least
//! [`HEAVY_BYTES`] of MVT; the first zooms are often light (every polygon below a pixel) and
//! cheap. Once past the heavy band, each tile splits in four, so drawing stops at the first
//! zoom predicted (a quarter of the zoom above) to fall under the bar. The zooms below stay on
//! demand: there the tiles are small and cheap, and their number (×4 per zoom) would make the
//! file and the publish grow without end.
//!
//! A tile served from the set is byte for byte the tile [`render_layers`] draws for the layer
//! alone; only single-layer requests use it (composites are drawn as before).

use super::coord::{TileCoord, TileRange};
use super::render::render_layers;
use crate::index::image::ImageError;
use crate::index::{tileset, Layer};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Revision of the drawing code (render, encode, gzip), stored in each tile set: bump it with
/// any change that draws different bytes for the same data, so that no server answers from
/// a set drawn by another revision (tiles from a set and tiles drawn on demand must be equal,
/// as they share ETags).
pub const REVISION: u32 = 1;

/// Layers with fewer features are drawn on demand only: their tiles take a millisecond.
pub const MIN_FEATURES: usize = 50_000;
/// A zoom is stored at publish when its tiles average this much MVT (about 2 ms of drawing and
/// compressing each).
pub const HEAVY_BYTES: usize = 16 * 1024;
/// Never past this zoom, whatever the data.
const MAX_ZOOM: u8 = 16;
/// Nor a zoom with more tiles than this over the layer's extent.
const MAX_TILES_PER_ZOOM: u64 = 40_000;

/// What a build drew.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Built {
    /// Tiles stored (non-empty).
    pub tiles: usize,
    /// Deepest zoom stored.
    pub max_zoom: Option<u8>,
    /// Uncompressed and stored (gzip) bytes.
    pub raw_bytes: usize,
    /// Stored bytes.
    pub gzip_bytes: usize,
}

/// Draw the heavy zooms of `layer` and write them as its tile set beside `db`, if the layer is
/// large enough to need it (see the module). `threads` draw side by side.
pub fn build(
    db: &Path,
    layer: &Layer,
    threads: usize,
    give_up: &(dyn Fn() -> bool + Sync),
) -> Result<Built, ImageError> {
    build_with(
        db,
        layer,
        threads,
        MIN_FEATURES,
        HEAVY_BYTES,
        MAX_ZOOM,
        give_up,
    )
}

fn build_with(
    db: &Path,
    layer: &Layer,
    threads: usize,
    min_features: usize,
    heavy: usize,
    max_zoom: u8,
    give_up: &(dyn Fn() -> bool + Sync),
) -> Result<Built, ImageError> {
    let mut built = Built::default();
    let Some(bbox) = layer.bbox.filter(|_| layer.features.len() >= min_features) else {
        return Ok(built);
    };
    let mut out = Vec::new();
    let mut heavy_seen = false;
    for z in 0..=max_zoom {
        if give_up() {
            return Err(ImageError::Invalid(
                "given up: the version is no longer served".into(),
            ));
        }
        let range = TileRange::covering(bbox, z);
        if range.count() > MAX_TILES_PER_ZOOM {
            break;
        }
        let coords: Vec<TileCoord> = range.tiles().collect();
        let next = AtomicUsize::new(0);
        let drawn = crate::index::concat_parallel(threads.max(1), |_| {
            let mut mine: Vec<tileset::TileBytes> = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&c) = coords.get(i) else { break };
                let raw = render_layers(&[layer], c);
                if super::pmtiles::is_empty_tile(&raw) {
                    continue;
                }
                mine.push(((c.z, c.x, c.y), raw.len(), super::cache::gzip(&raw)));
            }
            Ok::<_, std::convert::Infallible>(mine)
        });
        let tiles = match drawn {
            Ok(t) => t,
            Err(never) => match never {},
        };
        let raw: usize = tiles.iter().map(|t| t.1).sum();
        let mean = if tiles.is_empty() {
            0
        } else {
            raw / tiles.len()
        };
        if mean >= heavy {
            heavy_seen = true;
            built.tiles += tiles.len();
            built.raw_bytes += raw;
            built.gzip_bytes += tiles.iter().map(|t| t.2.len()).sum::<usize>();
            built.max_zoom = Some(z);
            out.extend(tiles);
        } else if heavy_seen {
            break;
        }
        // Past the heavy band, each tile splits in four: stop before drawing a zoom whose
        // tiles would average under the bar.
        if heavy_seen && mean / 4 < heavy {
            break;
        }
    }
    tileset::write(db, &layer.key(), REVISION, out)?;
    Ok(built)
}

/// Open the tile set of `layer` beside `db` and set it on the layer, if there is one drawn by
/// this revision for this version; true if the layer has one now.
pub fn attach(db: &Path, layer: &Layer) -> bool {
    if layer.tileset.get().is_some() {
        return true;
    }
    match tileset::TileSet::open(db, &layer.key(), REVISION) {
        Ok(t) => {
            let _ = layer.tileset.set(t);
            true
        }
        Err(ImageError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(e) => {
            tracing::warn!(
                "{}: tiles drawn at publish not used: {e}",
                layer.version_tag()
            );
            false
        }
    }
}

/// Draw and attach the tile set of `layer` unless it is small or already has one; `give_up` is
/// asked between zooms. The folder must be writable: a read-only replica does not spend
/// minutes drawing tiles it cannot keep.
pub fn ensure(
    db: &Path,
    layer: &Layer,
    threads: usize,
    give_up: &(dyn Fn() -> bool + Sync),
) -> Result<Option<Built>, ImageError> {
    if layer.features.len() < MIN_FEATURES || attach(db, layer) {
        return Ok(None);
    }
    let dir = crate::index::image::dir_for(db);
    std::fs::create_dir_all(&dir)?;
    let probe = dir.join(format!(".probe-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    let _ = std::fs::remove_file(&probe);
    let built = build(db, layer, threads, give_up)?;
    attach(db, layer);
    Ok(Some(built))
}

/// After a publish: write the layer image of `d`'s published version (if missing), draw its
/// heavy zooms (if large and not drawn yet), and remove the files of its other versions, so
/// that servers start and serve from files.
pub fn prepare(
    store: &crate::store::Store,
    d: crate::dataset::DatasetId,
) -> anyhow::Result<Option<Built>> {
    let Some(layer) = crate::index::load_layer(store, d)? else {
        return Ok(None);
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let built = ensure(store.path(), &layer, threads, &|| false)?;
    crate::index::image::prune(store.path(), &layer.key())?;
    Ok(built)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::load_layer;

    #[test]
    fn tiles_drawn_at_publish_equal_tiles_drawn_on_demand_and_stop_where_tiles_get_light() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::index::flood_fixture(dir.path());
        let layer = load_layer(&store, crate::dataset::DatasetId::Flood)
            .unwrap()
            .unwrap();
        let db = store.path();
        // The sample city's flood layer is small: a higher bar stores fewer zooms, and a low
        // one makes it "large" and "heavy" down to the cap.
        let light = build_with(db, &layer, 2, 1, 4000, 9, &|| false).unwrap();
        let built = build_with(db, &layer, 3, 1, 300, 9, &|| false).unwrap();
        assert!(light.tiles < built.tiles, "{light:?} {built:?}");
        assert!(built.tiles > 3, "{built:?}");
        let max = built.max_zoom.unwrap();
        assert_eq!(max, 9, "{built:?}");
        let set = tileset::TileSet::open(db, &layer.key(), REVISION).unwrap();
        assert_eq!(set.len(), built.tiles);
        assert_eq!(set.max_zoom, max);
        // Every stored tile is the on-demand tile; every non-empty tile of the drawn zooms is
        // stored; the zoom below is not.
        let bbox = layer.bbox.unwrap();
        let mut checked = 0;
        for z in 0..=max + 1 {
            for TileCoord { z, x, y } in TileRange::covering(bbox, z).tiles() {
                let raw = render_layers(&[&layer], TileCoord { z, x, y });
                match set.get(z, x, y) {
                    Some(t) => {
                        let t = t.unwrap();
                        let c = super::super::cache::CachedTile::from_gzip(
                            t.gzip,
                            t.raw_len,
                            String::new(),
                        );
                        assert_eq!(c.raw().as_ref(), &raw[..], "{z}/{x}/{y}");
                        checked += 1;
                    }
                    None => assert!(
                        z > max || super::super::pmtiles::is_empty_tile(&raw),
                        "{z}/{x}/{y} missing"
                    ),
                }
            }
        }
        assert_eq!(checked, built.tiles);
        // A new load finds the set; another revision's set is not used; a damaged tile is an
        // error, not a wrong tile.
        let again = load_layer(&store, crate::dataset::DatasetId::Flood)
            .unwrap()
            .unwrap();
        assert!(again.tileset.get().is_none());
        assert!(attach(db, &again));
        assert_eq!(again.tileset.get().map(|t| t.len()), Some(built.tiles));
        let e = tileset::TileSet::open(db, &layer.key(), REVISION + 1).unwrap_err();
        assert!(e.to_string().contains("revision"), "{e}");
        let path = tileset::path_for(db, &layer.key());
        let mut bytes = std::fs::read(&path).unwrap();
        let n = bytes.len();
        bytes[n - 10] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        let set = tileset::TileSet::open(db, &layer.key(), REVISION).unwrap();
        let errors = (0..=max)
            .flat_map(|z| TileRange::covering(bbox, z).tiles())
            .filter_map(|c| set.get(c.z, c.x, c.y))
            .filter(|r| {
                r.as_ref()
                    .is_err_and(|e| e.to_string().contains("checksum"))
            })
            .count();
        assert_eq!(errors, 1);
        // A build that is told to give up stops and writes nothing.
        std::fs::remove_file(&path).unwrap();
        assert!(build_with(db, &layer, 2, 1, 300, 9, &|| true).is_err());
        assert!(!path.exists());
        // A small layer gets no set under the real bar.
        assert_eq!(ensure(db, &layer, 2, &|| false).unwrap(), None);
    }
}
