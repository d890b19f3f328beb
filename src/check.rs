//! `machimap check --db FILE`: is a database folder whole? For operators after a crash, a
//! power cut or a full disk, and for the kill soak (`scripts/kill-soak`, `tests/it/kill.rs`),
//! which runs it after every SIGKILL.
//!
//! It reads, never repairs (servers and the next write do: see each finding), and opens the
//! database read-only, so it can run beside a server. What it checks:
//! - every version recorded in `versions` has exactly its recorded rows, a discarded one none,
//!   and no rows belong to an unrecorded version (a torn version);
//! - `current` points at a recorded, published, complete version;
//! - every JSON-lines file of `{db}.admin/` parses line by line; only a torn *last* line is
//!   tolerated (a warning: readers skip it and say so, the next append cuts it off —
//!   [`crate::admin::jsonl`]);
//! - every layer image and tile set in `{db}.layers/` of a recorded version is whole (a file
//!   of another version key is a warning: servers ignore it and write it again);
//! - the download counts file parses;
//! - temporary files of killed writers (warnings: servers sweep them at start).

use crate::dataset::DatasetId;
use crate::index::{image, tileset};
use crate::store::Store;
use std::collections::BTreeMap;
use std::path::Path;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Data is lost, torn or unreadable: the folder is not whole.
    Error,
    /// Tolerated and repaired by the next start or write (a torn last log line, a stale file).
    Warning,
}

/// One thing found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finding {
    /// Error or warning.
    pub level: Level,
    /// What and where, for a person.
    pub what: String,
}

/// What a check saw.
#[derive(Debug, Default, serde::Serialize)]
pub struct CheckReport {
    /// Versions recorded, over all datasets.
    pub versions: usize,
    /// Published datasets.
    pub published: usize,
    /// Records read from the admin files.
    pub admin_records: usize,
    /// Layer images and tile sets read.
    pub layer_files: usize,
    /// Problems, errors first.
    pub findings: Vec<Finding>,
}

impl CheckReport {
    fn error(&mut self, what: String) {
        self.findings.push(Finding {
            level: Level::Error,
            what,
        });
    }
    fn warn(&mut self, what: String) {
        self.findings.push(Finding {
            level: Level::Warning,
            what,
        });
    }
    /// Number of errors.
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|f| f.level == Level::Error)
            .count()
    }
    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.findings.len() - self.errors()
    }
    /// One line per finding, then a summary line.
    pub fn render_text(&self, db: &Path) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let l = match f.level {
                Level::Error => "エラー / error",
                Level::Warning => "警告 / warning",
            };
            out.push_str(&format!("{l}: {}\n", f.what));
        }
        out.push_str(&format!(
            "{}: {} versions, {} published, {} admin records, {} layer files: {}\n",
            db.display(),
            self.versions,
            self.published,
            self.admin_records,
            self.layer_files,
            if self.errors() == 0 {
                format!("ok ({} warnings)", self.warnings())
            } else {
                format!("{} errors, {} warnings", self.errors(), self.warnings())
            }
        ));
        out
    }
}

/// Check the database `db` and the files beside it.
pub fn check(db: &Path) -> CheckReport {
    let mut r = CheckReport::default();
    match Store::open_read_only_retrying(db, std::time::Duration::from_secs(30)) {
        Ok(store) => check_store(&store, &mut r),
        Err(e) => r.error(format!("{}: cannot open the database: {e}", db.display())),
    }
    check_admin(&crate::admin::admin_dir(db), &mut r);
    check_downloads(db, &mut r);
    r.findings.sort_by_key(|f| f.level != Level::Error);
    r
}

/// A recorded version: (status, recorded rows, created_at, source digest).
type Recorded = (String, i64, String, String);

fn check_store(store: &Store, r: &mut CheckReport) {
    let db = store.path();
    let mut keys: BTreeMap<(DatasetId, i64), image::Key> = BTreeMap::new();
    for d in DatasetId::ALL {
        let recorded = match recorded_versions(store, d) {
            Ok(v) => v,
            Err(e) => {
                r.error(format!("{d}: cannot read its versions: {e}"));
                continue;
            }
        };
        let actual = match rows_by_version(store, d) {
            Ok(v) => v,
            Err(e) => {
                r.error(format!("{d}: cannot count its rows: {e}"));
                continue;
            }
        };
        r.versions += recorded.len();
        for (v, (status, rows, created_at, sha)) in &recorded {
            let have = actual.get(v).copied().unwrap_or(0);
            let want = if status == "discarded" { 0 } else { *rows };
            if have != want {
                r.error(format!(
                    "{d} v{v} ({status}): {have} rows stored, its record says {want} (a torn version)"
                ));
            }
            keys.insert(
                (d, *v),
                image::Key {
                    dataset: d,
                    version: *v,
                    created_at: created_at.clone(),
                    source_sha256: sha.clone(),
                },
            );
        }
        for (v, n) in &actual {
            if !recorded.contains_key(v) {
                r.error(format!(
                    "{d}: {n} rows of version {v}, which has no record (a torn version)"
                ));
            }
        }
        match store.current(d) {
            Ok(None) => {}
            Ok(Some(v)) => {
                r.published += 1;
                match recorded.get(&v) {
                    None => r.error(format!("{d}: published version {v} has no record")),
                    Some((status, ..)) if status != "published" => r.error(format!(
                        "{d}: published version {v} is recorded as {status}"
                    )),
                    Some(_) => {}
                }
            }
            Err(e) => r.error(format!("{d}: cannot read its published version: {e}")),
        }
    }
    check_layers(db, &keys, r);
}

fn recorded_versions(store: &Store, d: DatasetId) -> duckdb::Result<BTreeMap<i64, Recorded>> {
    let mut st = store.conn().prepare(
        "SELECT version, status, row_count, strftime(created_at, '%Y-%m-%dT%H:%M:%SZ'),
                source_sha256
         FROM versions WHERE dataset = ?",
    )?;
    let rows = st.query_map(duckdb::params![d.as_str()], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            (row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?),
        ))
    })?;
    rows.collect()
}

fn rows_by_version(store: &Store, d: DatasetId) -> duckdb::Result<BTreeMap<i64, i64>> {
    let mut st = store.conn().prepare(&format!(
        "SELECT version, count(*) FROM \"{d}\" GROUP BY version"
    ))?;
    let rows = st.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?;
    rows.collect()
}

/// Layer images and tile sets: whole if their version is recorded with that key.
fn check_layers(db: &Path, keys: &BTreeMap<(DatasetId, i64), image::Key>, r: &mut CheckReport) {
    let dir = image::dir_for(db);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for name in names {
        let path = dir.join(&name);
        if image::layers_temp_writer(&name).is_some() {
            r.warn(format!(
                "{}: temporary file of a killed writer (removed at the next start)",
                path.display()
            ));
            continue;
        }
        let (stem, is_image) = if let Some(s) = name.strip_suffix(".layer") {
            (s, true)
        } else if let Some(s) = name.strip_suffix(".tiles") {
            (s, false)
        } else {
            continue;
        };
        let parsed = stem
            .rsplit_once("-v")
            .and_then(|(d, v)| Some((d.parse::<DatasetId>().ok()?, v.parse::<i64>().ok()?)));
        let Some(key) = parsed.and_then(|k| keys.get(&k)) else {
            r.warn(format!(
                "{}: of no recorded version (never read)",
                path.display()
            ));
            continue;
        };
        r.layer_files += 1;
        let res = if is_image {
            image::read(db, key, 1).map(|_| ())
        } else {
            tileset::TileSet::open(db, key, crate::tiles::pyramid::REVISION)
                .and_then(|t| t.all_whole())
        };
        match res {
            Ok(()) => {}
            // Another key or drawing revision: servers ignore it and write it again.
            Err(image::ImageError::Invalid(m))
                if m.contains("not the wanted") || m.contains("revision") =>
            {
                r.warn(format!(
                    "{}: {m} (ignored and written again)",
                    path.display()
                ))
            }
            Err(e) => r.error(format!("{}: damaged: {e}", path.display())),
        }
    }
}

/// Every line of every `.jsonl` file in `dir` parses as JSON; a torn last line is a warning.
fn check_admin(dir: &Path, r: &mut CheckReport) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<_> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    for path in files {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                r.error(format!("{}: cannot read: {e}", path.display()));
                continue;
            }
        };
        let ended = bytes.last().is_none_or(|b| *b == b'\n');
        let lines: Vec<&[u8]> = bytes.split(|b| *b == b'\n').collect();
        // `split` yields an empty piece after the final newline.
        let last = lines.len().saturating_sub(if ended { 2 } else { 1 });
        for (i, line) in lines.iter().enumerate() {
            if line.is_empty() {
                continue;
            }
            match serde_json::from_slice::<serde_json::Value>(line) {
                Ok(v) if v.is_object() => r.admin_records += 1,
                _ if i == last && !ended => r.warn(format!(
                    "{} line {}: torn last line of {} bytes (a write cut short; readers skip it, the next write removes it)",
                    path.display(),
                    i + 1,
                    line.len()
                )),
                _ => r.error(format!(
                    "{} line {}: not a JSON record",
                    path.display(),
                    i + 1
                )),
            }
        }
    }
}

/// The download counts file parses (a torn one would be set aside at start).
fn check_downloads(db: &Path, r: &mut CheckReport) {
    let mut name = db.as_os_str().to_owned();
    name.push(".downloads.json");
    let file = std::path::PathBuf::from(name);
    match std::fs::read(&file) {
        Ok(b) => {
            if serde_json::from_slice::<serde_json::Value>(&b).is_err() {
                r.error(format!("{}: not JSON (torn?)", file.display()));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => r.error(format!("{}: cannot read: {e}", file.display())),
    }
    let (Some(dir), Some(fname)) = (file.parent(), file.file_name()) else {
        return;
    };
    let prefix = format!("{}.", fname.to_string_lossy());
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.starts_with(&prefix) && n.ends_with(".tmp") {
                r.warn(format!(
                    "{}: temporary file of a killed writer (removed at the next start)",
                    e.path().display()
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_lines_torn_last_is_a_warning_torn_inside_an_error() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("x.duckdb.admin");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.jsonl"), b"{\"a\":1}\n{\"a\":2}\n{\"a\"").unwrap();
        std::fs::write(dir.join("b.jsonl"), b"{\"a\":1}\n{\"a\n{\"a\":2}\n").unwrap();
        std::fs::write(dir.join("c.jsonl"), b"{\"a\":1}\n").unwrap();
        let mut r = CheckReport::default();
        check_admin(&dir, &mut r);
        assert_eq!(r.admin_records, 5);
        assert_eq!(r.errors(), 1, "{:?}", r.findings);
        assert_eq!(r.warnings(), 1, "{:?}", r.findings);
        assert!(r
            .findings
            .iter()
            .any(|f| f.level == Level::Error && f.what.contains("b.jsonl line 2")));
        assert!(r
            .findings
            .iter()
            .any(|f| f.level == Level::Warning && f.what.contains("a.jsonl line 3")));
    }
}
