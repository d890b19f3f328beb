//! Tiles of a published version rendered at publish (`{db}.layers/{dataset}-v{N}.tiles`): the
//! overview zooms of a large layer, where one tile holds thousands of polygons and costs 5–25 ms
//! to draw, are drawn once when the version is published rather than on every cache miss.
//! Which tiles go in is decided by `tiles::pyramid`; this module only stores and finds them.
//!
//! Like the layer image ([`super::image`]) the file holds the key of its version and is
//! checked (CRC-32 of the index and of every tile, each tile's gzip length against its MVT
//! length) before it is used. It also holds the revision of the drawing code that made it: a
//! machimap that draws differently ignores the file, so tiles from the file and tiles drawn on
//! demand are always the same bytes. A file that does not match is ignored and the tiles are
//! drawn on demand as before.
//!
//! Layout (little-endian): `MMTILES1`, key, the drawing revision, tile count, index entries (z u8, x u32, y u32,
//! offset u64, gzip length u32, raw length u32, CRC-32 u32) in (z, x, y) order, CRC-32 of all
//! that, then the tiles (gzip) back to back.

use super::image::{replace_version_file, ImageError, Key};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"MMTILES1";
const ENTRY: usize = 1 + 4 + 4 + 8 + 4 + 4 + 4;
/// No stored tile is larger than this uncompressed (tiles are capped at 500 KB).
const MAX_RAW: u32 = 16 << 20;

/// One stored tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    zxy: (u8, u32, u32),
    offset: u64,
    len: u32,
    raw_len: u32,
    crc: u32,
}

/// A version's stored tiles, open for reading (the index in memory, the tiles on disk).
#[derive(Debug)]
pub struct TileSet {
    file: File,
    entries: Vec<Entry>,
    /// Highest zoom with a stored tile.
    pub max_zoom: u8,
}

/// A stored tile: gzip-compressed MVT and the length of the MVT.
#[derive(Debug)]
pub struct StoredTile {
    /// The tile, gzip-compressed.
    pub gzip: Vec<u8>,
    /// Its uncompressed length.
    pub raw_len: usize,
}

/// A tile to store: z/x/y, the length of its MVT, and the MVT gzip-compressed.
pub type TileBytes = ((u8, u32, u32), usize, Vec<u8>);

/// Where the tiles of `key` live for the database `db`.
pub fn path_for(db: &Path, key: &Key) -> PathBuf {
    super::image::dir_for(db).join(format!("{}-v{}.tiles", key.dataset, key.version))
}

/// Write `tiles` (z, x, y, raw length, gzip bytes) as the tile set of `key` drawn by the
/// drawing code's `revision`, atomically.
pub fn write(
    db: &Path,
    key: &Key,
    revision: u32,
    mut tiles: Vec<TileBytes>,
) -> Result<(), ImageError> {
    tiles.sort_by_key(|t| t.0);
    tiles.dedup_by_key(|t| t.0);
    replace_version_file(db, key, "tiles", |w| {
        let mut head = Vec::new();
        head.extend_from_slice(MAGIC);
        for s in [key.dataset.as_str(), &key.created_at, &key.source_sha256] {
            head.extend_from_slice(&(s.len() as u32).to_le_bytes());
            head.extend_from_slice(s.as_bytes());
        }
        head.extend_from_slice(&key.version.to_le_bytes());
        head.extend_from_slice(&revision.to_le_bytes());
        head.extend_from_slice(&(tiles.len() as u32).to_le_bytes());
        let data_at = (head.len() + tiles.len() * ENTRY + 4) as u64;
        let mut off = data_at;
        for ((z, x, y), raw_len, gz) in &tiles {
            head.push(*z);
            head.extend_from_slice(&x.to_le_bytes());
            head.extend_from_slice(&y.to_le_bytes());
            head.extend_from_slice(&off.to_le_bytes());
            head.extend_from_slice(&(gz.len() as u32).to_le_bytes());
            head.extend_from_slice(&(*raw_len as u32).to_le_bytes());
            head.extend_from_slice(&crc32fast::hash(gz).to_le_bytes());
            off += gz.len() as u64;
        }
        let crc = crc32fast::hash(&head);
        let mut w = BufWriter::with_capacity(1 << 20, w);
        w.write_all(&head)?;
        w.write_all(&crc.to_le_bytes())?;
        for (_, _, gz) in &tiles {
            w.write_all(gz)?;
        }
        Ok(w.flush()?)
    })
}

fn invalid(m: impl Into<String>) -> ImageError {
    ImageError::Invalid(m.into())
}

impl TileSet {
    /// Open the tile set of `key` for the database `db`, if drawn by the drawing code's
    /// `revision`.
    pub fn open(db: &Path, key: &Key, revision: u32) -> Result<TileSet, ImageError> {
        let mut file = File::open(path_for(db, key))?;
        let len = file.metadata()?.len();
        let mut fixed = [0u8; 8];
        file.read_exact(&mut fixed)?;
        if &fixed != MAGIC {
            return Err(invalid("not a machimap tile set"));
        }
        let mut head = fixed.to_vec();
        let mut texts = Vec::new();
        for _ in 0..3 {
            let mut n = [0u8; 4];
            file.read_exact(&mut n)?;
            head.extend_from_slice(&n);
            let n = u32::from_le_bytes(n) as u64;
            if n > 4096 {
                return Err(invalid("key text too long"));
            }
            let mut b = vec![0u8; n as usize];
            file.read_exact(&mut b)?;
            head.extend_from_slice(&b);
            texts.push(String::from_utf8_lossy(&b).into_owned());
        }
        let mut vn = [0u8; 16];
        file.read_exact(&mut vn)?;
        head.extend_from_slice(&vn);
        let version = i64::from_le_bytes(vn[..8].try_into().unwrap_or_default());
        let drawn_by = u32::from_le_bytes(vn[8..12].try_into().unwrap_or_default());
        let count = u32::from_le_bytes(vn[12..].try_into().unwrap_or_default()) as usize;
        key.check(&texts[0], version, &texts[1], &texts[2])?;
        if drawn_by != revision {
            return Err(invalid(format!(
                "drawn by revision {drawn_by} of the tile code, this is {revision}"
            )));
        }
        if (head.len() + count * ENTRY + 4) as u64 > len {
            return Err(invalid("index runs past the end"));
        }
        let mut index = vec![0u8; count * ENTRY + 4];
        file.read_exact(&mut index)?;
        head.extend_from_slice(&index[..count * ENTRY]);
        let crc = u32::from_le_bytes(index[count * ENTRY..].try_into().unwrap_or_default());
        if crc32fast::hash(&head) != crc {
            return Err(invalid("index checksum mismatch"));
        }
        let u32_at =
            |b: &[u8], i: usize| u32::from_le_bytes(b[i..i + 4].try_into().unwrap_or_default());
        let entries: Vec<Entry> = index[..count * ENTRY]
            .chunks_exact(ENTRY)
            .map(|e| Entry {
                zxy: (e[0], u32_at(e, 1), u32_at(e, 5)),
                offset: u64::from_le_bytes(e[9..17].try_into().unwrap_or_default()),
                len: u32_at(e, 17),
                raw_len: u32_at(e, 21),
                crc: u32_at(e, 25),
            })
            .collect();
        if entries.windows(2).any(|w| w[0].zxy >= w[1].zxy)
            || entries.iter().any(|e| {
                e.offset.saturating_add(u64::from(e.len)) > len || e.raw_len > MAX_RAW || e.len < 18
            })
        {
            return Err(invalid("index out of order or past the end"));
        }
        Ok(TileSet {
            file,
            max_zoom: entries.last().map_or(0, |e| e.zxy.0),
            entries,
        })
    }

    /// Read every stored tile and check it (`machimap check`): the first damaged one, if any.
    pub fn all_whole(&self) -> Result<(), ImageError> {
        for e in &self.entries {
            let (z, x, y) = e.zxy;
            if let Some(Err(err)) = self.get(z, x, y) {
                return Err(err);
            }
        }
        Ok(())
    }

    /// Number of stored tiles.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether no tile is stored.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The stored tile z/x/y, if it is stored. A read error or a checksum mismatch is an
    /// error: the caller draws the tile instead.
    pub fn get(&self, z: u8, x: u32, y: u32) -> Option<Result<StoredTile, ImageError>> {
        let i = self
            .entries
            .binary_search_by_key(&(z, x, y), |e| e.zxy)
            .ok()?;
        let e = self.entries[i];
        let mut gzip = vec![0u8; e.len as usize];
        Some(
            self.file
                .read_exact_at(&mut gzip, e.offset)
                .map_err(ImageError::from)
                .and_then(|()| {
                    // gzip ends with the length of what it holds (mod 2^32).
                    let isize = gzip.len().checked_sub(4).map(|i| {
                        u32::from_le_bytes([gzip[i], gzip[i + 1], gzip[i + 2], gzip[i + 3]])
                    });
                    if crc32fast::hash(&gzip) == e.crc && isize == Some(e.raw_len) {
                        Ok(StoredTile {
                            gzip,
                            raw_len: e.raw_len as usize,
                        })
                    } else {
                        Err(invalid(format!("tile {z}/{x}/{y}: checksum mismatch")))
                    }
                }),
        )
    }
}
