//! PMTiles v3 archives: every layer of the published snapshot pre-rendered into one file that
//! object storage or a CDN can serve as a static fallback (HTTP range requests), and a reader
//! so `serve` can answer from such a file too.
//!
//! Layout written: 127-byte header, root directory, JSON metadata, leaf directories, tile data
//! (clustered: tiles in tile-id order). Directories are gzip-compressed; tiles are gzip-compressed
//! MVT. Identical tiles (e.g. open sea) are stored once; runs of them use run lengths.

use super::coord::TileCoord;
use super::encode::put_varint;
use super::render::render_layers;
use crate::index::{Layer, Snapshot};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;

/// Errors of reading or writing an archive.
#[derive(Debug, thiserror::Error)]
pub enum PmtilesError {
    /// File system.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// Not a PMTiles v3 file, or a damaged one.
    #[error("not a valid PMTiles v3 archive: {0}")]
    Format(String),
    /// Nothing to export.
    #[error("nothing is published with geometry; ingest and publish a dataset first")]
    Empty,
}

const HEADER_LEN: usize = 127;
/// The root directory must end within the first 16 KiB, so one range request gets both.
const ROOT_BUDGET: usize = 16_384 - HEADER_LEN;
const COMPRESSION_GZIP: u8 = 2;
const TILE_TYPE_MVT: u8 = 1;

/// The PMTiles tile id of z/x/y: tiles of lower zooms first, then the Hilbert curve order.
pub fn tile_id(z: u8, x: u64, y: u64) -> u64 {
    let base: u64 = (0..z).map(|i| 1u64 << (2 * i)).sum();
    let n = 1u64 << z;
    let (mut x, mut y) = (x, y);
    let mut d = 0u64;
    let mut s = n / 2;
    while s > 0 {
        let rx = u64::from(x & s > 0);
        let ry = u64::from(y & s > 0);
        d += s * s * ((3 * rx) ^ ry);
        if ry == 0 {
            if rx == 1 {
                x = n - 1 - x;
                y = n - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s /= 2;
    }
    base + d
}

/// One directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// First tile id.
    pub tile_id: u64,
    /// Offset in the tile data section (or the leaf directory section for run_length 0).
    pub offset: u64,
    /// Bytes.
    pub length: u32,
    /// Number of consecutive tile ids with these bytes; 0 marks a leaf directory.
    pub run_length: u32,
}

/// An unsigned LEB128 varint at `pos` (PMTiles directories; also protobuf, as in MVT).
pub(crate) fn read_varint(b: &[u8], pos: &mut usize) -> Result<u64, PmtilesError> {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let byte = *b
            .get(*pos)
            .ok_or_else(|| PmtilesError::Format("directory ends inside a varint".into()))?;
        *pos += 1;
        if shift > 63 {
            return Err(PmtilesError::Format("varint too long".into()));
        }
        v |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Ok(v);
        }
        shift += 7;
    }
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = e.write_all(b);
    e.finish().unwrap_or_default()
}

fn gunzip(b: &[u8]) -> Result<Vec<u8>, PmtilesError> {
    let mut out = Vec::new();
    GzDecoder::new(b)
        .read_to_end(&mut out)
        .map_err(|e| PmtilesError::Format(format!("gzip: {e}")))?;
    Ok(out)
}

/// Serialize and gzip a directory.
fn write_dir(entries: &[Entry]) -> Vec<u8> {
    let mut b = Vec::with_capacity(entries.len() * 8);
    put_varint(&mut b, entries.len() as u64);
    let mut last = 0;
    for e in entries {
        put_varint(&mut b, e.tile_id - last);
        last = e.tile_id;
    }
    for e in entries {
        put_varint(&mut b, u64::from(e.run_length));
    }
    for e in entries {
        put_varint(&mut b, u64::from(e.length));
    }
    for (i, e) in entries.iter().enumerate() {
        if i > 0 && e.offset == entries[i - 1].offset + u64::from(entries[i - 1].length) {
            put_varint(&mut b, 0);
        } else {
            put_varint(&mut b, e.offset + 1);
        }
    }
    gzip(&b)
}

/// Parse a gzipped directory.
fn read_dir(gz: &[u8]) -> Result<Vec<Entry>, PmtilesError> {
    let b = gunzip(gz)?;
    let mut p = 0;
    let n = read_varint(&b, &mut p)? as usize;
    if n > b.len() {
        return Err(PmtilesError::Format(
            "directory entry count too large".into(),
        ));
    }
    let mut es = vec![
        Entry {
            tile_id: 0,
            offset: 0,
            length: 0,
            run_length: 0
        };
        n
    ];
    let mut last = 0u64;
    for e in es.iter_mut() {
        last += read_varint(&b, &mut p)?;
        e.tile_id = last;
    }
    for e in es.iter_mut() {
        e.run_length = read_varint(&b, &mut p)? as u32;
    }
    for e in es.iter_mut() {
        e.length = read_varint(&b, &mut p)? as u32;
    }
    for i in 0..n {
        let v = read_varint(&b, &mut p)?;
        es[i].offset = if v == 0 && i > 0 {
            es[i - 1].offset + u64::from(es[i - 1].length)
        } else {
            v.saturating_sub(1)
        };
    }
    Ok(es)
}

/// Root directory and leaf directories for `entries` (root within the 16 KiB budget).
fn build_dirs(entries: &[Entry]) -> (Vec<u8>, Vec<u8>) {
    let root = write_dir(entries);
    if root.len() <= ROOT_BUDGET {
        return (root, Vec::new());
    }
    let mut leaf_size = 4096usize;
    loop {
        let mut leaves = Vec::new();
        let mut root_entries = Vec::new();
        for chunk in entries.chunks(leaf_size) {
            let d = write_dir(chunk);
            root_entries.push(Entry {
                tile_id: chunk[0].tile_id,
                offset: leaves.len() as u64,
                length: d.len() as u32,
                run_length: 0,
            });
            leaves.extend_from_slice(&d);
        }
        let root = write_dir(&root_entries);
        if root.len() <= ROOT_BUDGET {
            return (root, leaves);
        }
        leaf_size *= 2;
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportStats {
    /// Tiles with content (addressed tiles).
    pub tiles: u64,
    /// Distinct tile contents stored.
    pub contents: u64,
    /// Archive size in bytes.
    pub bytes: u64,
}

fn e7(v: f64) -> i32 {
    (v * 1e7).round() as i32
}

/// The datasets of an archive: every published layer with geometry, in id order (the same
/// composite the map requests), except `addresses`: a lookup table for the address search, not
/// a map layer (a city's hundreds of thousands of house points would fill every tile).
pub fn layers_with_geometry(snap: &Snapshot) -> Vec<&Layer> {
    snap.layers
        .values()
        .filter(|l| l.dataset.is_map_layer())
        .map(|l| l.as_ref())
        .collect()
}

/// The zooms an exported archive holds unless the command says otherwise: a whole city from
/// zoom 5 to street level at 14, where maps overzoom the vector tiles.
pub const DEFAULT_ZOOMS: (u8, u8) = (5, 14);

/// The deepest zoom an export writes (beyond it an archive grows fourfold a zoom for no detail
/// the data has).
pub const MAX_EXPORT_ZOOM: u8 = 18;

/// Write every tile from `minzoom` to `maxzoom` over the published data into `out`.
pub fn export(
    snap: &Snapshot,
    out: &Path,
    minzoom: u8,
    maxzoom: u8,
    mut progress: impl FnMut(u64, u64),
) -> Result<ExportStats, PmtilesError> {
    let layers = layers_with_geometry(snap);
    let bbox = layers
        .iter()
        .filter_map(|l| l.bbox)
        .reduce(crate::geom::union_bbox)
        .ok_or(PmtilesError::Empty)?;
    let mut coords = Vec::new();
    for z in minzoom..=maxzoom {
        for TileCoord { z, x, y } in super::coord::TileRange::covering(bbox, z).tiles() {
            coords.push((tile_id(z, u64::from(x), u64::from(y)), z, x, y));
        }
    }
    coords.sort_unstable();
    let total = coords.len() as u64;
    let mut data = Vec::new();
    let mut entries: Vec<Entry> = Vec::new();
    let mut seen: HashMap<Vec<u8>, (u64, u32)> = HashMap::new();
    let mut contents = 0u64;
    for (i, (id, z, x, y)) in coords.iter().enumerate() {
        if i % 256 == 0 {
            progress(i as u64, total);
        }
        let coord = TileCoord::new(u32::from(*z), u64::from(*x), u64::from(*y))
            .map_err(|e| PmtilesError::Format(e.to_string()))?;
        let raw = render_layers(&layers, coord);
        if is_empty_tile(&raw) {
            continue;
        }
        let gz = gzip(&raw);
        let (offset, length) = match seen.get(&gz) {
            Some(&(o, l)) => (o, l),
            None => {
                let o = data.len() as u64;
                let l = gz.len() as u32;
                data.extend_from_slice(&gz);
                contents += 1;
                seen.insert(gz, (o, l));
                (o, l)
            }
        };
        if let Some(last) = entries.last_mut() {
            if last.offset == offset
                && last.length == length
                && last.tile_id + u64::from(last.run_length) == *id
            {
                last.run_length += 1;
                continue;
            }
        }
        entries.push(Entry {
            tile_id: *id,
            offset,
            length,
            run_length: 1,
        });
    }
    progress(total, total);
    let tiles: u64 = entries.iter().map(|e| u64::from(e.run_length)).sum();
    let (root, leaves) = build_dirs(&entries);
    let vector_layers: Vec<serde_json::Value> = layers
        .iter()
        .flat_map(|l| {
            let fields: serde_json::Map<String, serde_json::Value> = l
                .columns()
                .iter()
                .map(|c| (c.name.to_string(), serde_json::json!(c.doc)))
                .collect();
            let mut v = vec![serde_json::json!({
                "id": l.dataset.as_str(), "fields": fields,
                "minzoom": minzoom, "maxzoom": maxzoom,
                "description": l.dataset.title_en()})];
            if matches!(
                l.dataset.kind(),
                crate::dataset::Kind::Ward | crate::dataset::Kind::Hazard
            ) {
                v.push(
                    serde_json::json!({"id": format!("{}_label", l.dataset), "fields": {},
                    "minzoom": minzoom, "maxzoom": maxzoom}),
                );
            }
            v
        })
        .collect();
    let versions: Vec<String> = layers.iter().map(|l| l.version_tag()).collect();
    let meta = serde_json::json!({
        "name": "machimap",
        "format": "pbf",
        "type": "overlay",
        "description": "Published layers of machimap, one source-layer per dataset",
        "version": versions.join(","),
        "attribution": "machimap",
        "vector_layers": vector_layers,
    });
    let meta = gzip(meta.to_string().as_bytes());

    let root_off = HEADER_LEN as u64;
    let meta_off = root_off + root.len() as u64;
    let leaf_off = meta_off + meta.len() as u64;
    let data_off = leaf_off + leaves.len() as u64;
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.extend_from_slice(b"PMTiles");
    h.push(3);
    for v in [
        root_off,
        root.len() as u64,
        meta_off,
        meta.len() as u64,
        leaf_off,
        leaves.len() as u64,
        data_off,
        data.len() as u64,
        tiles,
        entries.len() as u64,
        contents,
    ] {
        h.extend_from_slice(&v.to_le_bytes());
    }
    h.extend_from_slice(&[
        1,
        COMPRESSION_GZIP,
        COMPRESSION_GZIP,
        TILE_TYPE_MVT,
        minzoom,
        maxzoom,
    ]);
    for v in [e7(bbox[0]), e7(bbox[1]), e7(bbox[2]), e7(bbox[3])] {
        h.extend_from_slice(&v.to_le_bytes());
    }
    h.push(minzoom.max(maxzoom.saturating_sub(2)).min(maxzoom));
    h.extend_from_slice(&e7((bbox[0] + bbox[2]) / 2.0).to_le_bytes());
    h.extend_from_slice(&e7((bbox[1] + bbox[3]) / 2.0).to_le_bytes());
    debug_assert_eq!(h.len(), HEADER_LEN);

    // Write beside the target and rename, so a reader never sees half a file.
    let tmp = out.with_extension("pmtiles.partial");
    {
        let mut f = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
        for part in [&h[..], &root, &meta, &leaves, &data] {
            f.write_all(part)?;
        }
        f.flush()?;
        f.get_ref().sync_all()?;
    }
    std::fs::rename(&tmp, out)?;
    Ok(ExportStats {
        tiles,
        contents,
        bytes: data_off + data.len() as u64,
    })
}

/// A tile with no features: every layer empty (the renderer still names the layers).
pub(crate) fn is_empty_tile(raw: &[u8]) -> bool {
    // An MVT layer with features contains field 2 (features) inside field 3 (layers); rather
    // than decode, compare with the tile rendered from nothing, which only names layers.
    // Features are the only length-delimited field 2 entries, tagged 0x12 inside a layer.
    let mut p = 0;
    while p < raw.len() {
        // Each top-level entry is a layer: tag 0x1a, length, body.
        if raw[p] != 0x1a {
            return false;
        }
        p += 1;
        let Ok(len) = read_varint(raw, &mut p) else {
            return false;
        };
        let end = p + len as usize;
        if end > raw.len() {
            return false;
        }
        let mut q = p;
        while q < end {
            let tag = raw[q];
            q += 1;
            match tag & 7 {
                0 => {
                    if read_varint(&raw[..end], &mut q).is_err() {
                        return false;
                    }
                }
                2 => {
                    if tag >> 3 == 2 {
                        return false; // a feature
                    }
                    let Ok(l) = read_varint(&raw[..end], &mut q) else {
                        return false;
                    };
                    q += l as usize;
                }
                _ => return false,
            }
        }
        p = end;
    }
    true
}

/// An archive opened for reading: header fields and the root directory in memory, leaves read
/// when needed.
#[derive(Debug)]
pub struct Archive {
    bytes: Vec<u8>,
    root: Vec<Entry>,
    leaf_off: u64,
    data_off: u64,
    /// Smallest zoom.
    pub minzoom: u8,
    /// Largest zoom.
    pub maxzoom: u8,
    /// The JSON metadata.
    pub metadata: serde_json::Value,
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

impl Archive {
    /// Open and check an archive (read whole into memory: city archives are small).
    pub fn open(path: &Path) -> Result<Archive, PmtilesError> {
        let bytes = std::fs::read(path)?;
        if bytes.len() < HEADER_LEN || &bytes[..7] != b"PMTiles" || bytes[7] != 3 {
            return Err(PmtilesError::Format(format!(
                "{}: no PMTiles v3 header",
                path.display()
            )));
        }
        let slice = |off: u64, len: u64| -> Result<&[u8], PmtilesError> {
            let (o, l) = (off as usize, len as usize);
            bytes
                .get(o..o.saturating_add(l))
                .ok_or_else(|| PmtilesError::Format("section outside the file".into()))
        };
        if bytes[97] != COMPRESSION_GZIP || bytes[98] != COMPRESSION_GZIP {
            return Err(PmtilesError::Format(
                "only gzip-compressed archives are read".into(),
            ));
        }
        let root = read_dir(slice(u64_at(&bytes, 8), u64_at(&bytes, 16))?)?;
        let metadata =
            serde_json::from_slice(&gunzip(slice(u64_at(&bytes, 24), u64_at(&bytes, 32))?)?)
                .map_err(|e| PmtilesError::Format(format!("metadata: {e}")))?;
        Ok(Archive {
            leaf_off: u64_at(&bytes, 40),
            data_off: u64_at(&bytes, 56),
            minzoom: bytes[100],
            maxzoom: bytes[101],
            root,
            metadata,
            bytes,
        })
    }

    fn find(entries: &[Entry], id: u64) -> Option<Entry> {
        let i = match entries.binary_search_by_key(&id, |e| e.tile_id) {
            Ok(i) => i,
            Err(0) => return None,
            Err(i) => i - 1,
        };
        let e = entries[i];
        if e.run_length == 0 || id < e.tile_id + u64::from(e.run_length) {
            Some(e)
        } else {
            None
        }
    }

    /// The uncompressed MVT of z/x/y, or `None` where the archive has no tile.
    pub fn tile(&self, z: u8, x: u64, y: u64) -> Result<Option<Vec<u8>>, PmtilesError> {
        let id = tile_id(z, x, y);
        let mut dir = std::borrow::Cow::Borrowed(&self.root[..]);
        for _ in 0..4 {
            let Some(e) = Self::find(&dir, id) else {
                return Ok(None);
            };
            let at = |base: u64| -> Result<&[u8], PmtilesError> {
                let o = (base + e.offset) as usize;
                self.bytes
                    .get(o..o + e.length as usize)
                    .ok_or_else(|| PmtilesError::Format("entry outside the file".into()))
            };
            if e.run_length > 0 {
                return Ok(Some(gunzip(at(self.data_off)?)?));
            }
            dir = std::borrow::Cow::Owned(read_dir(at(self.leaf_off)?)?);
        }
        Err(PmtilesError::Format("directories nest too deep".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_ids_follow_the_specification() {
        // Values from the PMTiles v3 specification's examples.
        assert_eq!(tile_id(0, 0, 0), 0);
        assert_eq!(tile_id(1, 0, 0), 1);
        assert_eq!(tile_id(1, 0, 1), 2);
        assert_eq!(tile_id(1, 1, 1), 3);
        assert_eq!(tile_id(1, 1, 0), 4);
        assert_eq!(tile_id(2, 0, 0), 5);
    }

    #[test]
    fn directories_round_trip() {
        let es: Vec<Entry> = (0..5000u64)
            .map(|i| Entry {
                tile_id: i * 3 + 1,
                offset: i * 100,
                length: 100,
                run_length: 1 + (i % 3) as u32,
            })
            .collect();
        assert_eq!(read_dir(&write_dir(&es)).unwrap(), es);
        let (root, leaves) = build_dirs(&es);
        assert!(root.len() <= ROOT_BUDGET);
        let _ = leaves;
    }

    #[test]
    fn empty_tiles_are_recognised() {
        let mut t = mvt::Tile::new(4096);
        let l = t.create_layer("flood");
        t.add_layer(l).unwrap();
        assert!(is_empty_tile(&t.to_bytes().unwrap()));
        let mut t = mvt::Tile::new(4096);
        let l = t.create_layer("flood");
        let g = mvt::GeomEncoder::new(mvt::GeomType::Point)
            .point(1.0, 1.0)
            .unwrap()
            .encode()
            .unwrap();
        let f = l.into_feature(g);
        t.add_layer(f.into_layer()).unwrap();
        assert!(!is_empty_tile(&t.to_bytes().unwrap()));
    }
}
