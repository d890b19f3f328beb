//! A published version's layer in one file beside the database (`{db}.layers/{dataset}-v{N}.layer`),
//! so that a server starts without DuckDB.
//!
//! Turning a million DuckDB rows into features was most of a large server's start (result
//! copies, value conversion, DuckDB's own buffers on top of ours at the peak). A version never
//! changes once written, so the first process that loads it from DuckDB (the publishing command
//! does so at once) writes what it loaded here, and every later start, every replica and every
//! refresh reads this file instead: values stored once per distinct row, geometry as WKB, in
//! chunks that the loading threads read side by side.
//!
//! The file is a cache of the database, never the record: it names the version it holds (dataset,
//! number, creation time, source digest) and a file that does not match, or cannot be read to
//! its end, is ignored and written again from DuckDB.
//!
//! Layout (little-endian): `MMLAYER1`, key (dataset, version, created_at, source_sha256),
//! column count, distinct rows, feature count; chunks of features (fid, row, flags, bbox,
//! label, WKB); the chunk table (offset, count, CRC-32); the table's offset, the CRC-32 of the
//! header and of the table, and `MMLAYEND`. Every section is checked before it is parsed.

use super::{Feature, Pool};
use crate::dataset::{DatasetId, Val};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const MAGIC: &[u8; 8] = b"MMLAYER1";
const END: &[u8; 8] = b"MMLAYEND";
/// Features per chunk: the unit the loading threads share out.
const CHUNK: usize = 16_384;

/// Why an image could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    /// Reading or writing the file failed (including a missing file).
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The file is not an image of the wanted version, or is damaged.
    #[error("not a usable layer image: {0}")]
    Invalid(String),
}

fn invalid(m: impl Into<String>) -> ImageError {
    ImageError::Invalid(m.into())
}

/// What identifies a stored version: an image is used only if all of it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// Dataset.
    pub dataset: DatasetId,
    /// Version number.
    pub version: i64,
    /// When the version was written.
    pub created_at: String,
    /// Digest of its sources.
    pub source_sha256: String,
}

impl Key {
    /// That a file's recorded key is this one (images and tile sets record it the same way).
    pub(crate) fn check(
        &self,
        dataset: &str,
        version: i64,
        created_at: &str,
        source_sha256: &str,
    ) -> Result<(), ImageError> {
        let wanted = (
            self.dataset.as_str(),
            self.version,
            self.created_at.as_str(),
            self.source_sha256.as_str(),
        );
        if (dataset, version, created_at, source_sha256) == wanted {
            Ok(())
        } else {
            Err(invalid(format!(
                "holds {dataset} v{version} of {created_at}, not the wanted one"
            )))
        }
    }
}

/// Where the image of `key` lives for the database `db`.
pub fn path_for(db: &Path, key: &Key) -> PathBuf {
    dir_for(db).join(format!("{}-v{}.layer", key.dataset, key.version))
}

pub(crate) fn dir_for(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".layers");
    PathBuf::from(s)
}

/// Write `features` (fid order) as the image of `key` for the database `db`, atomically (a
/// temporary file renamed into place).
pub fn write(db: &Path, key: &Key, features: &[Feature]) -> Result<(), ImageError> {
    write_chunked(db, key, features, CHUNK)
}

fn write_chunked(
    db: &Path,
    key: &Key,
    features: &[Feature],
    chunk: usize,
) -> Result<(), ImageError> {
    replace_version_file(db, key, "layer", |file| {
        write_to(file, key, features, chunk)
    })
}

/// Write `{db}.layers/{dataset}-v{N}.{ext}` through `write` into a temporary file of its own
/// (never shared with another writer, in this process or another), on disk before it takes the
/// final name: a torn file must never look whole.
pub(crate) fn replace_version_file(
    db: &Path,
    key: &Key,
    ext: &str,
    write: impl FnOnce(&mut File) -> Result<(), ImageError>,
) -> Result<(), ImageError> {
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = dir_for(db);
    std::fs::create_dir_all(&dir)?;
    let name = format!("{}-v{}.{ext}", key.dataset, key.version);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}-{seq}-{nanos}.tmp", std::process::id()));
    let res = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .map_err(ImageError::from)
        .and_then(|mut f| {
            write(&mut f)?;
            f.sync_all()?;
            Ok(std::fs::rename(&tmp, dir.join(&name))?)
        });
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// Whether the process `pid` still runs: this process does; elsewhere `/proc/{pid}` says so
/// where there is a `/proc`, and without one every process is taken as running (its files are
/// then left to [`TEMP_STALE`]).
fn process_running(pid: u32) -> bool {
    pid == std::process::id()
        || !Path::new("/proc/self").exists()
        || Path::new("/proc").join(pid.to_string()).exists()
}

/// A temporary file older than this is a killed writer's whatever its process id says (a
/// reused id, or a system without `/proc`).
pub const TEMP_STALE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// Remove from `dir` the temporary files of writers that were killed before they renamed them
/// into place: the files `writer` recognises (returning the writing process's id) whose
/// process is gone, or that are older than [`TEMP_STALE`]. A writer that is still running
/// keeps its file. Returns how many were removed.
pub fn sweep_temp_files(dir: &Path, writer: impl Fn(&str) -> Option<u32>) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = writer(&name) else { continue };
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > TEMP_STALE);
        if (old || !process_running(pid)) && std::fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    if removed > 0 {
        tracing::info!(
            "removed {removed} temporary file(s) of killed writers in {}",
            dir.display()
        );
    }
    removed
}

/// The writing process of a temporary file in `{db}.layers/`: `.{file}.{pid}-{seq}-{nanos}.tmp`
/// (layer images and tile sets being written) or `.probe-{pid}` (a writability probe).
pub fn layers_temp_writer(name: &str) -> Option<u32> {
    if let Some(pid) = name.strip_prefix(".probe-") {
        return pid.parse().ok();
    }
    let inner = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (_, tail) = inner.rsplit_once('.')?;
    tail.split('-').next()?.parse().ok()
}

/// Remove the temporary files of killed writers in `{db}.layers/` (see [`sweep_temp_files`]).
pub fn sweep_temp(db: &Path) -> usize {
    sweep_temp_files(&dir_for(db), layers_temp_writer)
}

/// Remove the files of `key.dataset`'s other versions (images and tile sets) beside `db`.
///
/// Only the publishing side calls this, after writing the files of the version it published:
/// a server never removes a file, so a slow server writing an old version's file cannot take
/// the new version's away. A server still reading a removed file keeps its open handle.
pub fn prune(db: &Path, key: &Key) -> std::io::Result<()> {
    sweep_temp(db);
    let prefix = format!("{}-v", key.dataset);
    let mine = format!("{}-v{}.", key.dataset, key.version);
    let dir = dir_for(db);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for e in entries.flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        let ours = n.ends_with(".layer") || n.ends_with(".tiles");
        if ours && n.starts_with(&prefix) && !n.starts_with(&mine) {
            let _ = std::fs::remove_file(e.path());
        }
    }
    Ok(())
}

fn write_to(
    file: &mut File,
    key: &Key,
    features: &[Feature],
    chunk: usize,
) -> Result<(), ImageError> {
    let mut w = Counting {
        inner: BufWriter::with_capacity(1 << 20, file),
        pos: 0,
        crc: crc32fast::Hasher::new(),
    };
    w.put(MAGIC)?;
    w.str(key.dataset.as_str())?;
    w.put(&key.version.to_le_bytes())?;
    w.str(&key.created_at)?;
    w.str(&key.source_sha256)?;
    let ncols = key.dataset.columns().len();
    w.put(&(ncols as u32).to_le_bytes())?;
    // Distinct rows, by the address of the shared row (loading interned them).
    let mut rows: Vec<&[Val]> = Vec::new();
    let mut row_of: HashMap<*const Val, u32> = HashMap::new();
    let mut refs = Vec::with_capacity(features.len());
    for f in features {
        if f.values.len() != ncols {
            return Err(invalid(format!(
                "feature {} has {} values",
                f.fid,
                f.values.len()
            )));
        }
        let r = *row_of.entry(f.values.as_ptr()).or_insert_with(|| {
            rows.push(&f.values);
            rows.len() as u32 - 1
        });
        refs.push(r);
    }
    w.put(&(rows.len() as u32).to_le_bytes())?;
    for row in &rows {
        for v in row.iter() {
            match v {
                Val::Null => w.put(&[0])?,
                Val::Int(i) => {
                    w.put(&[1])?;
                    w.put(&i.to_le_bytes())?;
                }
                Val::Float(x) => {
                    w.put(&[2])?;
                    w.put(&x.to_le_bytes())?;
                }
                Val::Text(s) => {
                    w.put(&[3])?;
                    w.str(s)?;
                }
                Val::Bool(b) => w.put(&[4, u8::from(*b)])?,
            }
        }
    }
    w.put(&(features.len() as u64).to_le_bytes())?;
    let header_crc = w.take_crc();
    let mut table: Vec<(u64, u32, u32)> = Vec::new();
    for (ci, part) in features.chunks(chunk).enumerate() {
        let at = w.pos;
        for (f, &row) in part.iter().zip(&refs[ci * chunk..]) {
            w.put(&f.fid.to_le_bytes())?;
            w.put(&row.to_le_bytes())?;
            let flags = u8::from(f.bbox.is_some())
                | u8::from(f.label.is_some()) << 1
                | u8::from(f.geom.is_some()) << 2;
            w.put(&[flags])?;
            for x in f.bbox.iter().flatten().chain(f.label.iter().flatten()) {
                w.put(&x.to_le_bytes())?;
            }
            if let Some(g) = &f.geom {
                let wkb = crate::geom::to_wkb(g);
                w.put(&(wkb.len() as u32).to_le_bytes())?;
                w.put(&wkb)?;
            }
        }
        table.push((at, part.len() as u32, w.take_crc()));
    }
    let table_at = w.pos;
    w.put(&(table.len() as u32).to_le_bytes())?;
    for (off, n, crc) in &table {
        w.put(&off.to_le_bytes())?;
        w.put(&n.to_le_bytes())?;
        w.put(&crc.to_le_bytes())?;
    }
    let table_crc = w.take_crc();
    w.put(&table_at.to_le_bytes())?;
    w.put(&header_crc.to_le_bytes())?;
    w.put(&table_crc.to_le_bytes())?;
    w.put(END)?;
    w.inner.flush()?;
    Ok(())
}

/// A writer that knows its position and checksums each section (CRC-32).
struct Counting<W: Write> {
    inner: W,
    pos: u64,
    crc: crc32fast::Hasher,
}

impl<W: Write> Counting<W> {
    fn put(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.pos += b.len() as u64;
        self.crc.update(b);
        self.inner.write_all(b)
    }
    fn str(&mut self, s: &str) -> std::io::Result<()> {
        self.put(&(s.len() as u32).to_le_bytes())?;
        self.put(s.as_bytes())
    }
    /// The checksum of what was written since the last call.
    fn take_crc(&mut self) -> u32 {
        std::mem::take(&mut self.crc).finalize()
    }
}

/// Footer: chunk table offset, header CRC, table CRC, end mark.
const FOOTER: u64 = 8 + 4 + 4 + 8;

/// Bytes `[from, to)` of `file`, checked against `crc` (positional reads: the loading threads
/// share one open file, which stays readable even if the name is removed meanwhile).
fn section(file: &File, from: u64, to: u64, crc: u32, buf: &mut Vec<u8>) -> Result<(), ImageError> {
    if to < from {
        return Err(invalid("sections out of order"));
    }
    buf.clear();
    buf.resize((to - from) as usize, 0);
    file.read_exact_at(buf, from)?;
    if crc32fast::hash(buf) != crc {
        return Err(invalid(format!("checksum mismatch in bytes {from}..{to}")));
    }
    Ok(())
}

/// The features stored in the image of `key` for the database `db`, in fid order, read on
/// `threads` threads.
pub fn read(db: &Path, key: &Key, threads: usize) -> Result<Vec<Feature>, ImageError> {
    let file = File::open(path_for(db, key))?;
    let len = file.metadata()?.len();
    if len < FOOTER + 8 {
        return Err(invalid("too short"));
    }
    let mut foot = [0u8; FOOTER as usize];
    file.read_exact_at(&mut foot, len - FOOTER)?;
    if &foot[16..] != END {
        return Err(invalid("no end mark (an unfinished write?)"));
    }
    let word = |a: usize, b: usize| {
        foot[a..b]
            .iter()
            .rev()
            .fold(0u64, |x, &y| x << 8 | u64::from(y))
    };
    let (table_at, header_crc, table_crc) = (word(0, 8), word(8, 12) as u32, word(12, 16) as u32);
    if table_at >= len - FOOTER {
        return Err(invalid("chunk table outside the file"));
    }
    let mut buf = Vec::new();
    section(&file, table_at, len - FOOTER, table_crc, &mut buf)?;
    let mut r = Reader::new(&buf[..]);
    let nchunks = r.u32()? as usize;
    // An entry takes 16 bytes of the table: a count the table cannot hold is refused before
    // anything is sized by it (a 10 kB file claiming a million chunks took 24 MB; found by
    // crates/fuzz).
    if nchunks.saturating_mul(16) > buf.len() {
        return Err(invalid(format!(
            "{nchunks} chunks in a table of {} bytes",
            buf.len()
        )));
    }
    let mut chunks: Vec<(u64, usize, u32)> = Vec::with_capacity(nchunks);
    for _ in 0..nchunks {
        chunks.push((r.u64()?, r.u32()? as usize, r.u32()?));
    }
    // Header: key, columns, rows, feature count.
    let header_end = chunks.first().map_or(table_at, |c| c.0);
    if header_end > table_at {
        return Err(invalid("chunk outside the file"));
    }
    section(&file, 0, header_end, header_crc, &mut buf)?;
    let mut r = Reader::new(&buf[..]);
    if &r.array::<8>()? != MAGIC {
        return Err(invalid("not a machimap layer image"));
    }
    let found = (r.string()?, r.i64()?, r.string()?, r.string()?);
    key.check(&found.0, found.1, &found.2, &found.3)?;
    let ncols = r.u32()? as usize;
    if ncols != key.dataset.columns().len() {
        return Err(invalid(format!("{ncols} columns")));
    }
    let nrows = r.u32()? as usize;
    let mut pool = Pool::default();
    // A row takes at least a tag byte per column of the header.
    let mut rows: Vec<Arc<[Val]>> = Vec::with_capacity(nrows.min(buf.len() / ncols.max(1)));
    let mut vals = Vec::with_capacity(ncols);
    for _ in 0..nrows {
        vals.clear();
        for _ in 0..ncols {
            vals.push(match r.u8()? {
                0 => Val::Null,
                1 => Val::Int(r.i64()?),
                2 => Val::Float(r.f64()?),
                3 => Val::Text(pool.text(&r.string()?)),
                4 => Val::Bool(r.u8()? != 0),
                t => return Err(invalid(format!("value tag {t}"))),
            });
        }
        rows.push(pool.row(&vals));
    }
    let n = r.u64()? as usize;
    if chunks.iter().map(|c| c.1).sum::<usize>() != n {
        return Err(invalid("chunk counts do not add up"));
    }
    // Chunks shared out in contiguous runs of about equal feature counts, one thread each:
    // (offset, count, bytes, crc).
    let threads = threads.clamp(1, chunks.len().max(1));
    let per = n.div_ceil(threads).max(1);
    let mut runs: Vec<Vec<(u64, usize, u64, u32)>> = vec![Vec::new(); threads];
    let mut seen = 0usize;
    for (i, &(off, count, crc)) in chunks.iter().enumerate() {
        let end = chunks.get(i + 1).map_or(table_at, |c| c.0);
        // A feature takes at least 13 bytes (fid, row, flags): no count larger than its chunk
        // can hold reaches an allocation.
        if end < off || (count as u64).saturating_mul(13) > end - off {
            return Err(invalid("chunks out of order or counts too large"));
        }
        runs[(seen / per).min(threads - 1)].push((off, count, end - off, crc));
        seen += count;
    }
    let out = super::concat_parallel(threads, |t| {
        let run = &runs[t];
        // The first run's vector becomes the layer's: sized for all of it.
        let cap = if t == 0 {
            n
        } else {
            run.iter().map(|c| c.1).sum()
        };
        read_run(&file, run, &rows, cap)
    })?;
    if !out.windows(2).all(|w| w[0].fid < w[1].fid) {
        return Err(invalid("features not in fid order"));
    }
    Ok(out)
}

/// Features of consecutive chunks `(offset, count, bytes, crc)`, each read whole and checked.
fn read_run(
    file: &File,
    run: &[(u64, usize, u64, u32)],
    rows: &[Arc<[Val]>],
    capacity: usize,
) -> Result<Vec<Feature>, ImageError> {
    let mut out = Vec::with_capacity(capacity);
    if run.is_empty() {
        return Ok(out);
    }
    let mut buf = Vec::new();
    for &(off, count, bytes, crc) in run {
        section(file, off, off + bytes, crc, &mut buf)?;
        let mut r = Reader::new(&buf[..]);
        for _ in 0..count {
            let fid = r.i64()?;
            let row = r.u32()? as usize;
            let values = rows
                .get(row)
                .ok_or_else(|| invalid(format!("feature {fid}: row {row} of {}", rows.len())))?
                .clone();
            let flags = r.u8()?;
            let bbox = if flags & 1 != 0 {
                Some([r.f64()?, r.f64()?, r.f64()?, r.f64()?])
            } else {
                None
            };
            let label = if flags & 2 != 0 {
                Some([r.f64()?, r.f64()?])
            } else {
                None
            };
            let geom = if flags & 4 != 0 {
                let len = r.u32()? as usize;
                let wkb = r.bytes(len)?;
                Some(
                    crate::geom::from_wkb(wkb)
                        .map_err(|e| invalid(format!("feature {fid}: {e}")))?,
                )
            } else {
                None
            };
            out.push(Feature {
                fid,
                values,
                geom,
                bbox,
                label,
            });
        }
        if !r.0.is_empty() {
            return Err(invalid("chunk longer than its features"));
        }
    }
    Ok(out)
}

/// Reads little-endian fields from a checked section, never past its end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn new(b: &'a [u8]) -> Self {
        Reader(b)
    }
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], ImageError> {
        if n > self.0.len() {
            return Err(invalid("a field runs past its section"));
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], ImageError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, ImageError> {
        Ok(self.array::<1>()?[0])
    }
    fn u32(&mut self) -> Result<u32, ImageError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, ImageError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn i64(&mut self) -> Result<i64, ImageError> {
        Ok(i64::from_le_bytes(self.array()?))
    }
    fn f64(&mut self) -> Result<f64, ImageError> {
        Ok(f64::from_le_bytes(self.array()?))
    }
    fn string(&mut self) -> Result<String, ImageError> {
        let n = self.u32()? as usize;
        let b = self.bytes(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| invalid("text is not UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_files_of_killed_writers_are_swept() {
        let d = tempfile::tempdir().unwrap();
        let db = d.path().join("t.duckdb");
        let dir = dir_for(&db);
        std::fs::create_dir_all(&dir).unwrap();
        let me = std::process::id();
        let dead = dir.join(".flood-v2.layer.4294967295-0-123.tmp");
        let dead_probe = dir.join(".probe-4294967295");
        let live = dir.join(format!(".flood-v2.tiles.{me}-1-5.tmp"));
        let whole = dir.join("flood-v2.layer");
        for f in [&dead, &dead_probe, &live, &whole] {
            std::fs::write(f, b"x").unwrap();
        }
        assert_eq!(layers_temp_writer("flood-v2.layer"), None);
        assert_eq!(sweep_temp(&db), 2);
        assert!(!dead.exists() && !dead_probe.exists());
        assert!(live.exists() && whole.exists());
    }
    use crate::index::{load_features, load_layer};
    use crate::store::Store;

    /// A store with the sample city's flood layer published, and the layer's key.
    fn flood_store(dir: &Path) -> (Store, Key) {
        let store = crate::index::flood_fixture(dir);
        let v = store.versions(DatasetId::Flood).unwrap().pop().unwrap();
        let key = Key {
            dataset: DatasetId::Flood,
            version: v.version,
            created_at: v.created_at,
            source_sha256: v.source_sha256,
        };
        (store, key)
    }

    fn same(a: &[Feature], b: &[Feature]) {
        assert_eq!(a.len(), b.len());
        for (x, y) in a.iter().zip(b) {
            assert_eq!(
                (x.fid, &x.values, &x.geom, x.bbox, x.label),
                (y.fid, &y.values, &y.geom, y.bbox, y.label)
            );
        }
    }

    #[test]
    fn an_image_reads_back_equal_to_the_database_on_any_number_of_threads() {
        let dir = tempfile::tempdir().unwrap();
        let (store, key) = flood_store(dir.path());
        let db = store.path().to_path_buf();
        let from_db = load_features(&store, key.dataset, key.version).unwrap();
        assert!(from_db.len() > 10, "{} features", from_db.len());
        // Small chunks, so that several threads each read several.
        write_chunked(&db, &key, &from_db, 3).unwrap();
        for threads in [1, 2, 3, 64] {
            let back = read(&db, &key, threads).unwrap();
            same(&from_db, &back);
            // Equal rows come back as one shared allocation.
            for a in &back {
                for b in &back {
                    assert_eq!(a.values == b.values, Arc::ptr_eq(&a.values, &b.values));
                }
            }
        }
        // An empty layer too.
        write(
            &db,
            &Key {
                version: 99,
                ..key.clone()
            },
            &[],
        )
        .unwrap();
        assert!(read(&db, &Key { version: 99, ..key }, 2)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_damaged_torn_or_stale_image_is_refused_and_loading_falls_back_and_rewrites_it() {
        let dir = tempfile::tempdir().unwrap();
        let (store, key) = flood_store(dir.path());
        let db = store.path().to_path_buf();
        // The first load wrote the image.
        let layer = load_layer(&store, key.dataset).unwrap().unwrap();
        let path = path_for(&db, &key);
        let good = std::fs::read(&path).unwrap();
        same(&layer.features, &read(&db, &key, 2).unwrap());

        // One byte changed inside the features: the chunk's checksum catches it.
        let mut bad = good.clone();
        bad[good.len() / 2] ^= 0x40;
        std::fs::write(&path, &bad).unwrap();
        let e = read(&db, &key, 2).unwrap_err().to_string();
        assert!(e.contains("checksum"), "{e}");
        // Cut short (a write that never finished).
        std::fs::write(&path, &good[..good.len() - 3]).unwrap();
        let e = read(&db, &key, 2).unwrap_err().to_string();
        assert!(e.contains("end mark"), "{e}");
        // Another version written under the same number (a database made again).
        std::fs::write(&path, &good).unwrap();
        let other = Key {
            created_at: "2000-01-01T00:00:00Z".into(),
            ..key.clone()
        };
        let e = read(&db, &other, 2).unwrap_err().to_string();
        assert!(e.contains("not the wanted one"), "{e}");

        // A chunk table claiming more chunks than it holds, with its checksum made right (as
        // the coverage-guided fuzzer did): refused before anything is sized by the count.
        let n = good.len();
        let foot = n - FOOTER as usize;
        let table_at = u64::from_le_bytes(good[foot..foot + 8].try_into().unwrap()) as usize;
        let mut table = good[table_at..foot].to_vec();
        table[..4].copy_from_slice(&1_000_000u32.to_le_bytes());
        let mut crafted = good[..table_at].to_vec();
        crafted.extend_from_slice(&table);
        crafted.extend_from_slice(&good[foot..foot + 12]);
        crafted.extend_from_slice(&crc32fast::hash(&table).to_le_bytes());
        crafted.extend_from_slice(END);
        std::fs::write(&path, &crafted).unwrap();
        let e = read(&db, &key, 2).unwrap_err().to_string();
        assert!(e.contains("1000000 chunks in a table of"), "{e}");

        // Loading a damaged image falls back to DuckDB and writes it whole again.
        std::fs::write(&path, &bad).unwrap();
        let again = load_layer(&store, key.dataset).unwrap().unwrap();
        same(&layer.features, &again.features);
        assert_eq!(std::fs::read(&path).unwrap(), good);
    }

    #[test]
    fn a_valid_image_is_what_loading_reads_and_pruning_removes_other_versions_only() {
        let dir = tempfile::tempdir().unwrap();
        let (store, key) = flood_store(dir.path());
        let db = store.path().to_path_buf();
        // An image that differs from the database (no geometry): if loading returns it, the
        // image was read and DuckDB's rows were not.
        let mut features = load_features(&store, key.dataset, key.version).unwrap();
        for f in &mut features {
            f.geom = None;
        }
        write(&db, &key, &features).unwrap();
        let layer = load_layer(&store, key.dataset).unwrap().unwrap();
        assert_eq!(layer.features.len(), features.len());
        assert!(layer.features.iter().all(|f| f.geom.is_none()));
        // Writing another version's image leaves this one (a server writing never removes a
        // file); pruning after the publish removes it and only it.
        let next = Key {
            version: key.version + 1,
            ..key.clone()
        };
        write(&db, &next, &features[..3]).unwrap();
        assert!(path_for(&db, &key).exists());
        std::fs::write(dir_for(&db).join("wards-v1.layer"), b"another dataset").unwrap();
        prune(&db, &next).unwrap();
        assert!(!path_for(&db, &key).exists());
        std::fs::remove_file(dir_for(&db).join("wards-v1.layer")).unwrap();
        assert_eq!(read(&db, &next, 1).unwrap().len(), 3);
        let names: Vec<String> = std::fs::read_dir(dir_for(&db))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec![format!("flood-v{}.layer", next.version)]);
    }
}
