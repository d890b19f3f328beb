//! Download counts per dataset and format — a KPI cities report — kept beside the database in
//! `{db}.downloads.json` so they survive restarts and replicas can be summed.
//!
//! The file is replaced whole, never written in place: one writer at a time writes a temp file
//! of its own, syncs it, renames it over the old one and syncs the folder, so a crash leaves
//! either the old counts or the new ones. The last good file read at start is kept as
//! `{db}.downloads.json.bak`; a file that does not parse is set aside (never overwritten) and
//! the counts go on from that copy, with a warning, rather than silently from zero.

use crate::dataset::DatasetId;
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

type Counts = BTreeMap<String, BTreeMap<String, u64>>;

/// Counter of downloads by (dataset, format).
#[derive(Debug)]
pub struct Downloads {
    /// The counts, and how many changes they have had since start.
    counts: Mutex<(Counts, u64)>,
    /// Held while the file is written; holds the number of changes the file has.
    writer: Mutex<u64>,
    file: Option<PathBuf>,
}

/// Why the counts file could not be read.
#[derive(Debug, thiserror::Error)]
enum LoadError {
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0} is not a counts file (torn or damaged?): {1}")]
    Parse(PathBuf, serde_json::Error),
}

fn with_suffix(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn read_counts(file: &Path) -> Result<Option<Counts>, LoadError> {
    match std::fs::read(file) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| LoadError::Parse(file.to_path_buf(), e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(LoadError::Io(file.to_path_buf(), e)),
    }
}

/// Write `bytes` to `file` atomically: a temp file unique to this writer in the same folder,
/// synced, renamed over `file`, then the folder synced so the rename itself is durable.
fn write_atomic(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let tmp = with_suffix(
        file,
        &format!(
            ".{}.{}.tmp",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ),
    );
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, file)?;
        if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Not every platform can open a folder for syncing; the rename is done anyway.
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The counts of `file` at start: the file, else (missing or damaged) its last good copy.
fn load(file: &Path) -> Counts {
    let bak = with_suffix(file, ".bak");
    match read_counts(file) {
        Ok(Some(c)) => {
            // The last good copy, for the day the file is found damaged.
            if let Ok(b) = serde_json::to_vec_pretty(&c) {
                if let Err(e) = write_atomic(&bak, &b) {
                    tracing::warn!("cannot keep a copy of {}: {e}", file.display());
                }
            }
            c
        }
        Ok(None) => Counts::default(),
        Err(e) => {
            // Set the damaged file aside, so the next count does not overwrite it.
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let aside = with_suffix(file, &format!(".damaged-{stamp}"));
            let moved = std::fs::rename(file, &aside).is_ok();
            let from_bak = read_counts(&bak).ok().flatten();
            tracing::warn!(
                "download counts: {e}; {}{}",
                if moved {
                    format!("kept as {}; ", aside.display())
                } else {
                    String::new()
                },
                if from_bak.is_some() {
                    format!("counting on from the last good copy {}", bak.display())
                } else {
                    "no good copy: counting on from zero".to_string()
                }
            );
            from_bak.unwrap_or_default()
        }
    }
}

impl Downloads {
    /// Counts stored beside `db` (loaded if the file exists).
    pub fn beside(db: &Path) -> Downloads {
        let file = with_suffix(db, ".downloads.json");
        // Temp files of writers killed before their rename: `{file}.{pid}.{seq}.tmp`.
        if let (Some(dir), Some(name)) = (file.parent(), file.file_name()) {
            let prefix = format!("{}.", name.to_string_lossy());
            let dir = if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            };
            crate::index::image::sweep_temp_files(dir, |n| {
                let mid = n.strip_prefix(&prefix)?.strip_suffix(".tmp")?;
                let mid = mid.strip_prefix("bak.").unwrap_or(mid);
                mid.split('.').next()?.parse().ok()
            });
        }
        Downloads {
            counts: Mutex::new((load(&file), 0)),
            writer: Mutex::new(0),
            file: Some(file),
        }
    }

    /// Count one download of `dataset` as `format` (`csv`, `geojson`, `ogc`…) and write the
    /// counts file. Blocks on file I/O: call it from a blocking thread.
    pub fn count(&self, dataset: DatasetId, format: &str) {
        {
            let Ok(mut c) = self.counts.lock() else {
                return;
            };
            *c.0.entry(dataset.to_string())
                .or_default()
                .entry(format.to_string())
                .or_insert(0) += 1;
            c.1 += 1;
        }
        self.persist();
    }

    /// Write the counts if the file does not have the latest yet. The counts are read while
    /// the writer lock is held, so the last write is always of the newest counts.
    fn persist(&self) {
        let Some(f) = &self.file else { return };
        let Ok(mut written) = self.writer.lock() else {
            return;
        };
        let (changes, bytes) = match self.counts.lock() {
            Ok(c) => (c.1, serde_json::to_vec_pretty(&c.0)),
            Err(_) => return,
        };
        if changes <= *written {
            return; // a writer before us already wrote these counts
        }
        match bytes
            .map_err(std::io::Error::other)
            .and_then(|b| write_atomic(f, &b))
        {
            Ok(()) => *written = changes,
            Err(e) => tracing::warn!("cannot write {}: {e}", f.display()),
        }
    }

    /// Downloads of `dataset` by format.
    pub fn of(&self, dataset: DatasetId) -> BTreeMap<String, u64> {
        self.counts
            .lock()
            .ok()
            .and_then(|c| c.0.get(dataset.as_str()).cloned())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts_file(db: &Path) -> PathBuf {
        with_suffix(db, ".downloads.json")
    }

    #[test]
    fn concurrent_counts_leave_one_whole_file_with_every_count() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("c.duckdb");
        let d = std::sync::Arc::new(Downloads::beside(&db));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let d = d.clone();
                std::thread::spawn(move || {
                    for _ in 0..25 {
                        d.count(DatasetId::Shelters, "csv");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let on_disk: Counts =
            serde_json::from_slice(&std::fs::read(counts_file(&db)).unwrap()).unwrap();
        assert_eq!(on_disk["shelters"]["csv"], 200);
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "temp files left behind: {left:?}");
        // And they are read back at the next start.
        assert_eq!(Downloads::beside(&db).of(DatasetId::Shelters)["csv"], 200);
    }

    #[test]
    fn temp_files_of_killed_writers_are_swept_at_start() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("d.duckdb");
        // pid 4294967295 never runs (above any pid_max); this process's own file stays.
        let dead = dir.path().join("d.duckdb.downloads.json.4294967295.0.tmp");
        let dead_bak = dir
            .path()
            .join("d.duckdb.downloads.json.bak.4294967295.3.tmp");
        let live = dir.path().join(format!(
            "d.duckdb.downloads.json.{}.9.tmp",
            std::process::id()
        ));
        let other = dir.path().join("other.downloads.json.4294967295.0.tmp");
        for f in [&dead, &dead_bak, &live, &other] {
            std::fs::write(f, b"{").unwrap();
        }
        let d = Downloads::beside(&db);
        assert!(
            !dead.exists() && !dead_bak.exists(),
            "killed writers' files swept"
        );
        assert!(live.exists(), "a running writer's file is kept");
        assert!(other.exists(), "another database's files are not ours");
        d.count(DatasetId::Wards, "csv");
        assert_eq!(Downloads::beside(&db).of(DatasetId::Wards)["csv"], 1);
    }

    #[test]
    fn a_damaged_file_is_set_aside_and_the_last_good_copy_used() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("d.duckdb");
        let d = Downloads::beside(&db);
        for _ in 0..5 {
            d.count(DatasetId::Wards, "geojson");
        }
        drop(d);
        // A restart keeps the good file as the copy of last resort.
        assert_eq!(Downloads::beside(&db).of(DatasetId::Wards)["geojson"], 5);
        let f = counts_file(&db);
        let good = std::fs::read(&f).unwrap();
        std::fs::write(&f, &good[..good.len() / 2]).unwrap(); // torn
        let d = Downloads::beside(&db);
        assert_eq!(
            d.of(DatasetId::Wards).get("geojson"),
            Some(&5),
            "a torn file is not read as zero counts"
        );
        let aside: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".damaged-"))
            .collect();
        assert_eq!(aside.len(), 1, "the damaged file is kept for a person");
        d.count(DatasetId::Wards, "geojson");
        assert_eq!(Downloads::beside(&db).of(DatasetId::Wards)["geojson"], 6);
    }
}
