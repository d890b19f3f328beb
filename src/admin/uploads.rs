//! Uploads: files streamed to a private folder, zip archives checked against [`ZipLimits`]
//! before anything is extracted, then ingested as an unpublished (staged) version, so a
//! rejected or discarded upload never touches what is published. Publishing, rolling back and
//! discarding are each one transaction of the store.

use super::{Admin, AdminError, Result, Role};
use crate::dataset::DatasetId;
use crate::dataset::Val;
use crate::ingest;
use crate::kinds::Row;
use crate::report::Report;
use crate::shp::ZipLimits;
use crate::store::{Store, VersionInfo, VersionMeta, WriteOutcome};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long to wait for another process (a command-line ingest) holding the write lock.
const WRITE_WAIT: Duration = Duration::from_secs(30);

/// A private folder for one upload's files, removed when dropped.
///
/// The folder holds an [`OWNER_FILE`] locked (exclusively, `flock`) by the process writing
/// it for as long as the folder lives, with that process's id inside (for people). The lock
/// is the operating system's: it goes when the process does, however it ends, so another
/// process sharing the database folder can tell a live upload from a crash's leftover
/// ([`sweep_uploads`]).
#[derive(Debug)]
pub struct UploadDir {
    /// The folder.
    pub path: PathBuf,
    /// The locked owner file (closed, and so unlocked, after the folder is removed).
    _owner: std::fs::File,
}

/// The lock file inside each upload folder.
pub const OWNER_FILE: &str = ".owner";

impl UploadDir {
    /// A new empty folder under `{db}.admin/uploads/`.
    pub fn new(admin: &Admin) -> Result<UploadDir> {
        let path = admin.dir.join("uploads").join(super::random_hex(12));
        let made = Self::make(&path);
        if made.is_err() {
            // A full disk, say: no folder without an owner is left for the sweep to wait on.
            let _ = std::fs::remove_dir_all(&path);
        }
        // The clerk is told about the uploads folder, not its inner lock file.
        made.map_err(|e| match e {
            AdminError::DiskFull(_) => AdminError::DiskFull(admin.dir.join("uploads")),
            other => other,
        })
    }

    fn make(path: &Path) -> Result<UploadDir> {
        use std::io::Write;
        std::fs::create_dir_all(path).map_err(AdminError::writing(path))?;
        // Locked under another name, then renamed: a sweep never sees the owner file unlocked.
        let tmp = path.join(".owner.new");
        let mut owner = std::fs::File::create(&tmp).map_err(AdminError::writing(&tmp))?;
        owner
            .try_lock()
            .map_err(|e| AdminError::Internal(format!("cannot lock {}: {e}", tmp.display())))?;
        writeln!(owner, "{}", std::process::id()).map_err(AdminError::writing(&tmp))?;
        std::fs::rename(&tmp, path.join(OWNER_FILE)).map_err(AdminError::writing(path))?;
        Ok(UploadDir {
            path: path.to_path_buf(),
            _owner: owner,
        })
    }
}

impl Drop for UploadDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// An upload folder without an owner file older than this is a leftover (the owner file is
/// created a moment after the folder, so a younger one may be an upload starting).
pub const UNOWNED_STALE: Duration = Duration::from_secs(10 * 60);

/// Remove the leftovers of uploads whose process is gone from `{admin dir}/uploads`: folders
/// whose owner file nobody holds locked, and folders without one older than
/// [`UNOWNED_STALE`]. Folders of uploads in progress, in this or another process on the same
/// database folder, are left alone. Returns how many were removed.
pub fn sweep_uploads(admin_dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(admin_dir.join("uploads")) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let path = e.path();
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = std::fs::remove_file(&path);
            continue;
        }
        let leftover = match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path.join(OWNER_FILE))
        {
            // Locked by a live process: an upload in progress. Otherwise its process is gone
            // (held until this folder is removed, so no new owner can take it meanwhile).
            Ok(f) => match f.try_lock() {
                Ok(()) => {
                    let r = std::fs::remove_dir_all(&path).is_ok();
                    drop(f);
                    r
                }
                Err(_) => false,
            },
            Err(_) => {
                let age = e
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok());
                age.is_some_and(|a| a > UNOWNED_STALE) && std::fs::remove_dir_all(&path).is_ok()
            }
        };
        if leftover {
            removed += 1;
        }
    }
    removed
}

/// A file name safe to create in the upload folder: the last path component of what the
/// browser sent, without control characters, at most 120 characters, never empty and never
/// starting with a dot. (It is still user text: pages escape it.)
pub fn safe_file_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let mut s: String = last.chars().filter(|c| !c.is_control()).collect();
    s = s.trim().trim_start_matches('.').to_string();
    if s.chars().count() > 120 {
        let ext: String = Path::new(&s)
            .extension()
            .map(|e| e.to_string_lossy().chars().take(10).collect())
            .unwrap_or_default();
        let stem: String = s.chars().take(100).collect();
        s = if ext.is_empty() {
            stem
        } else {
            format!("{stem}.{ext}")
        };
    }
    if s.is_empty() {
        "upload".into()
    } else {
        s
    }
}

/// Entries at or below this size are not subject to the ratio check (as in `shp`).
const RATIO_MIN_SIZE: u64 = 1024 * 1024;

/// Refuse a zip archive that breaks `limits` or holds unsafe entries, from its directory,
/// before anything is extracted: entry count, declared total size, compression ratio of each
/// entry, `..`/absolute/drive paths and symbolic links. (The shapefile reader enforces the
/// same limits again on the bytes it actually decompresses.) Archives that cannot be read at
/// all are left to the validation report.
pub fn check_archive(path: &Path, name: &str, limits: &ZipLimits) -> Result<()> {
    use std::io::Read;
    let mut head = [0u8; 4];
    let is_zip = name.to_ascii_lowercase().ends_with(".zip")
        || (std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut head))
            .is_ok()
            && head == *b"PK\x03\x04");
    if !is_zip {
        return Ok(());
    }
    let refuse = |code: &str, ja: String, en: String, too_large: bool| AdminError::ArchiveRefused {
        message: format!("{name} [{code}] {ja} / {en}"),
        too_large,
    };
    let Ok(mut z) = std::fs::File::open(path)
        .map_err(|_| ())
        .and_then(|f| zip::ZipArchive::new(std::io::BufReader::new(f)).map_err(|_| ()))
    else {
        return Ok(());
    };
    if z.len() > limits.max_entries {
        return Err(refuse(
            "ZIP_TOO_MANY_ENTRIES",
            format!(
                "ZIPの中のファイルが多すぎます（{}件、上限{}件）",
                z.len(),
                limits.max_entries
            ),
            format!(
                "{} entries, more than the limit of {}",
                z.len(),
                limits.max_entries
            ),
            true,
        ));
    }
    let mut total = 0u64;
    for i in 0..z.len() {
        let Ok(e) = z.by_index_raw(i) else {
            return Ok(());
        };
        let entry = String::from_utf8_lossy(e.name_raw()).into_owned();
        let unified = entry.replace('\\', "/");
        let unsafe_path = unified.starts_with('/')
            || unified.contains('\0')
            || unified.split('/').any(|p| p == ".." || p.contains(':'));
        if unsafe_path {
            return Err(refuse(
                "ZIP_UNSAFE_PATH",
                format!("ZIPの中に安全でないパス「{entry}」があります"),
                format!("entry '{entry}' has an unsafe path"),
                false,
            ));
        }
        if e.unix_mode().is_some_and(|m| m & 0o170000 == 0o120000) {
            return Err(refuse(
                "ZIP_LINK",
                format!("ZIPの中にシンボリックリンク「{entry}」があります"),
                format!("entry '{entry}' is a symbolic link"),
                false,
            ));
        }
        total = total.saturating_add(e.size());
        if total > limits.max_total_uncompressed {
            return Err(refuse(
                "ZIP_TOO_LARGE",
                format!(
                    "展開後の大きさが上限 {} バイトを超えます",
                    limits.max_total_uncompressed
                ),
                format!(
                    "uncompresses to more than {} bytes",
                    limits.max_total_uncompressed
                ),
                true,
            ));
        }
        if e.size() > RATIO_MIN_SIZE
            && e.size() > e.compressed_size().saturating_mul(limits.max_ratio)
        {
            return Err(refuse(
                "ZIP_RATIO",
                format!(
                    "「{entry}」の圧縮率が高すぎます（{}バイトが{}バイトに圧縮、上限{}倍）。ZIP爆弾の疑いがあります",
                    e.size(),
                    e.compressed_size(),
                    limits.max_ratio
                ),
                format!(
                    "entry '{entry}' has a compression ratio over {} ({} bytes from {})",
                    limits.max_ratio,
                    e.size(),
                    e.compressed_size()
                ),
                true,
            ));
        }
    }
    Ok(())
}

/// What became of an upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Staged {
    /// Stored as a new unpublished version.
    Staged {
        /// Version.
        version: i64,
        /// Rows.
        rows: i64,
    },
    /// The same files as an existing version (published, or staged and not yet decided):
    /// no new version.
    Unchanged {
        /// That version.
        version: i64,
        /// Whether it is the published one.
        published: bool,
    },
    /// The report has errors: nothing stored.
    Rejected,
}

/// SHA-256 of the files as the store records it (see `ingest`).
pub fn sources_sha256(paths: &[PathBuf]) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut hashes = Vec::new();
    for p in paths {
        hashes.push(ingest::sha256_file(p)?);
    }
    Ok(if hashes.len() == 1 {
        hashes.remove(0)
    } else {
        hex::encode(Sha256::digest(hashes.join("\n").as_bytes()))
    })
}

/// Ingest `paths` as a staged version of `dataset`, unless the same files are already the
/// published version or a staged one. With `publish`, the new version (or the staged one with
/// the same files) is also published, in the same transaction as it is written (or one
/// transaction of its own). Returns the outcome, the report and what this call published, if
/// anything: a staged version older than the published one is a rollback, refused unless
/// `role` is admin (see [`publish`]).
///
/// The files are read, normalised and validated without the database lock ([`Admin::db_lock`]
/// and DuckDB's write lock), into a file of rows beside the upload, within the parse budget
/// ([`super::AdminConfig::parse_budget`]); the lock is held a moment before (to look for the
/// same files and read what the normaliser needs) and while the validated rows are appended
/// as the new version, so the dashboard and the publish poll never wait for a parse.
pub fn stage(
    admin: &Admin,
    dataset: DatasetId,
    paths: &[PathBuf],
    actor: &str,
    role: Role,
    publish: bool,
    mapping: Option<&crate::mapping::Mapping>,
) -> Result<(Staged, Report, Option<PublishKind>)> {
    let sha = sources_sha256(paths)?;
    // With a mapping the same files are a new reading of them, not "unchanged".
    let check_same = mapping.is_none();
    let (ctx, mappings) = {
        let _g = admin.lock_db();
        let mut store = Store::open_retrying(&admin.db, WRITE_WAIT)?;
        if check_same {
            if let Some(done) = same_files(&mut store, dataset, &sha, actor, role, publish)? {
                return Ok(done);
            }
        }
        (
            store.context()?,
            ingest::Mappings::load(&store, dataset, mapping.cloned())?,
        )
    };
    let names = ingest::file_names(paths);
    let (spool, report) = parse(admin, dataset, paths, &names, ctx, mappings.clone())?;
    if report.rejected() {
        return Ok((Staged::Rejected, report, None));
    }
    let _g = admin.lock_db();
    let mut store = Store::open_retrying(&admin.db, WRITE_WAIT)?;
    // The same files may have been stored meanwhile (two uploads at once).
    if check_same {
        if let Some(done) = same_files(&mut store, dataset, &sha, actor, role, publish)? {
            return Ok(done);
        }
    }
    let meta = VersionMeta {
        source_names: names,
        source_sha256: sha,
        created_by: actor.into(),
    };
    let (written, report) =
        store.write_version(dataset, &meta, publish, |out| spool.replay(report, out))?;
    if let WriteOutcome::Stored { version, .. } = &written {
        mappings.save_given(&store, dataset, &report, actor, *version)?;
    }
    drop(store);
    Ok(match written {
        WriteOutcome::Rejected => (Staged::Rejected, report, None),
        // A new version is newer than any: publishing it is never a rollback.
        WriteOutcome::Stored {
            version,
            rows,
            published,
        } => (
            Staged::Staged { version, rows },
            report,
            published.then_some(PublishKind::Publish),
        ),
    })
}

/// If the files hashing to `sha` are already the published version or a staged one: that
/// outcome (publishing the staged one when asked and allowed).
fn same_files(
    store: &mut Store,
    dataset: DatasetId,
    sha: &str,
    actor: &str,
    role: Role,
    publish: bool,
) -> Result<Option<(Staged, Report, Option<PublishKind>)>> {
    let cur = store.current(dataset)?;
    let Some(v) = store
        .versions(dataset)?
        .into_iter()
        .find(|v| v.source_sha256 == sha && (Some(v.version) == cur || v.status == "staged"))
    else {
        return Ok(None);
    };
    let published = Some(v.version) == cur;
    let mut report = Report::new(v.source_names.replace(';', ", "));
    report.push(
        crate::report::issue(crate::report::code::LAYOUT_DETECTED).detail(
            format!(
                "{}版{}と同じファイルです。新しい版は作りません",
                if published {
                    "公開中の"
                } else {
                    "未公開の"
                },
                v.version
            ),
            format!(
                "same files as {} version {}: no new version",
                if published { "published" } else { "staged" },
                v.version
            ),
        ),
    );
    let publish_now = publish && !published && v.status == "staged";
    let mut did = None;
    if publish_now {
        let kind = publish_kind(cur, v.version);
        if kind == PublishKind::Rollback && role != Role::Admin {
            return Err(rollback_refused(v.version, cur));
        }
        store.publish(dataset, v.version, actor)?;
        did = Some(kind);
    }
    Ok(Some((
        Staged::Unchanged {
            version: v.version,
            published,
        },
        report,
        did,
    )))
}

/// The validated rows of an upload, in a file of their own in an upload folder (removed with
/// it), read back into the store's transaction.
struct Spool {
    _dir: UploadDir,
    path: PathBuf,
    rows: u64,
}

impl Spool {
    /// Emit the rows to `out`; `report` (the parse's) is returned with an error added if the
    /// file cannot be read back whole, so a short version is never stored.
    fn replay(&self, mut report: Report, out: &mut dyn FnMut(Row)) -> Report {
        let fail = |report: &mut Report, e: String| {
            report.push(crate::report::issue(crate::report::code::IO_ERROR).detail(
                format!("検査済みの行を読み戻せません: {e}"),
                format!("cannot read the checked rows back: {e}"),
            ));
        };
        let mut r = match std::fs::File::open(&self.path) {
            Ok(f) => std::io::BufReader::new(f),
            Err(e) => {
                fail(&mut report, e.to_string());
                return report;
            }
        };
        let mut n = 0u64;
        loop {
            match read_row(&mut r) {
                Ok(Some(row)) => {
                    n += 1;
                    out(row);
                }
                Ok(None) => break,
                Err(e) => {
                    fail(&mut report, e.to_string());
                    return report;
                }
            }
        }
        if n != self.rows {
            fail(
                &mut report,
                format!("{n} rows of {} / {n}行（{}行のうち）", self.rows, self.rows),
            );
        }
        report
    }
}

/// Read, normalise and validate `paths` as `dataset` on a thread of its own, the rows going to
/// a [`Spool`]. Waits at most the parse budget: over it, the upload is refused (the thread
/// stops storing rows and ends with the files).
fn parse(
    admin: &Admin,
    dataset: DatasetId,
    paths: &[PathBuf],
    names: &[String],
    ctx: crate::kinds::Context,
    mappings: ingest::Mappings,
) -> Result<(Spool, Report)> {
    use std::sync::atomic::{AtomicBool, Ordering};
    let budget = admin.config.parse_budget;
    let dir = UploadDir::new(admin)?;
    let path = dir.path.join("rows.bin");
    let cancel = std::sync::Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel();
    let (paths, names, file, stop) = (paths.to_vec(), names.to_vec(), path.clone(), cancel.clone());
    std::thread::Builder::new()
        .name("upload-parse".into())
        .spawn(move || {
            let res = (|| -> std::io::Result<(Report, u64)> {
                test_parse_gate();
                let mut w = std::io::BufWriter::new(std::fs::File::create(&file)?);
                let (mut rows, mut err) = (0u64, None);
                let report = ingest::produce(
                    dataset,
                    &paths,
                    &names,
                    None,
                    ctx,
                    &mappings,
                    Some(&stop),
                    &mut |_: u64| {},
                    &mut |row: Row| {
                        if err.is_some() || stop.load(Ordering::Relaxed) {
                            return;
                        }
                        match write_row(&mut w, &row) {
                            Ok(()) => rows += 1,
                            Err(e) => err = Some(e),
                        }
                    },
                );
                if let Some(e) = err {
                    return Err(e);
                }
                std::io::Write::flush(&mut w)?;
                Ok((report, rows))
            })();
            let _ = tx.send(res);
        })?;
    match rx.recv_timeout(budget) {
        Ok(Ok((report, rows))) => Ok((
            Spool {
                _dir: dir,
                path,
                rows,
            },
            report,
        )),
        Ok(Err(e)) => Err(AdminError::writing(&path)(e)),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            cancel.store(true, Ordering::Relaxed);
            Err(AdminError::TooSlow(budget.as_secs_f64()))
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(AdminError::Internal(
            "reading the upload failed (the reading thread stopped)".into(),
        )),
    }
}

/// Test hook: while the file named by `MACHIMAP_TEST_PARSE_GATE` exists (at most a minute),
/// an upload's parse waits before reading, as a long parse would.
fn test_parse_gate() {
    let Some(gate) = std::env::var_os("MACHIMAP_TEST_PARSE_GATE") else {
        return;
    };
    let start = std::time::Instant::now();
    while Path::new(&gate).exists() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn put_bytes(w: &mut impl std::io::Write, b: &[u8]) -> std::io::Result<()> {
    w.write_all(&(b.len() as u64).to_le_bytes())?;
    w.write_all(b)
}

/// One row of a [`Spool`]: key, values, geometry (WKB), raw properties.
fn write_row(w: &mut impl std::io::Write, r: &Row) -> std::io::Result<()> {
    match &r.key {
        None => w.write_all(&[0])?,
        Some(k) => {
            w.write_all(&[1])?;
            put_bytes(w, k.as_bytes())?;
        }
    }
    w.write_all(&(r.values.len() as u32).to_le_bytes())?;
    for v in &r.values {
        match v {
            Val::Null => w.write_all(&[0])?,
            Val::Int(i) => {
                w.write_all(&[1])?;
                w.write_all(&i.to_le_bytes())?;
            }
            Val::Float(f) => {
                w.write_all(&[2])?;
                w.write_all(&f.to_le_bytes())?;
            }
            Val::Text(t) => {
                w.write_all(&[3])?;
                put_bytes(w, t.as_bytes())?;
            }
            Val::Bool(b) => w.write_all(&[4, u8::from(*b)])?,
        }
    }
    match &r.geometry {
        None => w.write_all(&[0])?,
        Some(g) => {
            w.write_all(&[1])?;
            put_bytes(w, &crate::geom::to_wkb(g))?;
        }
    }
    put_bytes(w, r.raw.as_bytes())
}

fn get_u8(r: &mut impl std::io::Read) -> std::io::Result<u8> {
    let mut b = [0u8; 1];
    r.read_exact(&mut b)?;
    Ok(b[0])
}

fn get_8(r: &mut impl std::io::Read) -> std::io::Result<[u8; 8]> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b)?;
    Ok(b)
}

fn get_bytes(r: &mut impl std::io::Read) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let n = u64::from_le_bytes(get_8(r)?);
    let mut b = Vec::new();
    r.take(n).read_to_end(&mut b)?;
    if b.len() as u64 != n {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    Ok(b)
}

fn get_text(r: &mut impl std::io::Read) -> std::io::Result<String> {
    String::from_utf8(get_bytes(r)?)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

/// The next row of a [`Spool`], `None` at its end.
fn read_row(r: &mut impl std::io::Read) -> std::io::Result<Option<Row>> {
    use std::io::{Error, ErrorKind};
    let first = match get_u8(r) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    };
    let key = match first {
        0 => None,
        _ => Some(get_text(r)?),
    };
    let mut n = [0u8; 4];
    r.read_exact(&mut n)?;
    let n = u32::from_le_bytes(n);
    let mut values = Vec::with_capacity(n.min(1024) as usize);
    for _ in 0..n {
        values.push(match get_u8(r)? {
            0 => Val::Null,
            1 => Val::Int(i64::from_le_bytes(get_8(r)?)),
            2 => Val::Float(f64::from_le_bytes(get_8(r)?)),
            3 => Val::Text(get_text(r)?.into()),
            4 => Val::Bool(get_u8(r)? != 0),
            t => {
                return Err(Error::new(
                    ErrorKind::InvalidData,
                    format!("bad value tag {t}"),
                ))
            }
        });
    }
    let geometry = match get_u8(r)? {
        0 => None,
        _ => Some(
            crate::geom::from_wkb(&get_bytes(r)?)
                .map_err(|e| Error::new(ErrorKind::InvalidData, e))?,
        ),
    };
    let raw = get_text(r)?;
    Ok(Some(Row {
        key,
        values,
        geometry,
        raw,
    }))
}

/// Facts about one version, read under the lock.
pub fn version_info(admin: &Admin, dataset: DatasetId, version: i64) -> Result<VersionInfo> {
    versions(admin, dataset)?
        .into_iter()
        .find(|v| v.version == version)
        .ok_or_else(|| AdminError::NotFound(format!("{dataset} has no version {version}")))
}

/// Every version of every dataset (one connection), newest first.
pub fn all_versions(admin: &Admin) -> Result<Vec<(DatasetId, Vec<VersionInfo>)>> {
    let _g = admin.lock_db();
    let store = Store::open_read_only_retrying(&admin.db, WRITE_WAIT)?;
    let mut out = Vec::new();
    for d in DatasetId::ALL {
        out.push((d, store.versions(d)?));
    }
    Ok(out)
}

/// Every version of `dataset`, newest first.
pub fn versions(admin: &Admin, dataset: DatasetId) -> Result<Vec<VersionInfo>> {
    let _g = admin.lock_db();
    let store = Store::open_read_only_retrying(&admin.db, WRITE_WAIT)?;
    Ok(store.versions(dataset)?)
}

/// The stored validation report of a version (JSON), if any.
pub fn stored_report(
    admin: &Admin,
    dataset: DatasetId,
    version: i64,
) -> Result<Option<serde_json::Value>> {
    let _g = admin.lock_db();
    let store = Store::open_read_only_retrying(&admin.db, WRITE_WAIT)?;
    let r: Option<String> = store
        .conn()
        .query_row(
            "SELECT report FROM versions WHERE dataset = ? AND version = ?",
            duckdb::params![dataset.as_str(), version],
            |r| r.get(0),
        )
        .ok()
        .flatten();
    Ok(r.and_then(|s| serde_json::from_str(&s).ok()))
}

/// Why a version may be published by whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishKind {
    /// A staged version never published (editors).
    Publish,
    /// A version published before (admins).
    Rollback,
}

/// What making `version` current is, the published version being `cur`: going back to an
/// older version is a rollback, whether that version was published before or only staged.
pub fn publish_kind(cur: Option<i64>, version: i64) -> PublishKind {
    if cur.is_some_and(|c| c > version) {
        PublishKind::Rollback
    } else {
        PublishKind::Publish
    }
}

fn rollback_refused(version: i64, cur: Option<i64>) -> AdminError {
    let cur = cur.unwrap_or_default();
    AdminError::Forbidden(format!(
        "版{version}は公開中の版{cur}より古いため、公開するとロールバックになります。ロールバックは管理者の操作です / version {version} is older than the published version {cur}: publishing it is a rollback, which needs the admin role"
    ))
}

/// Make `version` current. `kind` says what the caller asked: `Publish` only moves to a
/// staged version, `Rollback` only to a version that was published before. A staged version
/// older than the published one is a rollback too (the store records it as one), so it needs
/// `role` admin. Returns what it was.
pub fn publish(
    admin: &Admin,
    dataset: DatasetId,
    version: i64,
    kind: PublishKind,
    actor: &str,
    role: Role,
) -> Result<PublishKind> {
    let _g = admin.lock_db();
    let mut store = Store::open_retrying(&admin.db, WRITE_WAIT)?;
    let v = store
        .versions(dataset)?
        .into_iter()
        .find(|v| v.version == version)
        .ok_or_else(|| AdminError::NotFound(format!("{dataset} has no version {version}")))?;
    let cur = store.current(dataset)?;
    let did = publish_kind(cur, version);
    match (kind, v.status.as_str()) {
        (_, "published") => {
            return Err(AdminError::Conflict(format!(
                "版{version}は既に公開中です / version {version} is already published"
            )))
        }
        (_, "discarded") => {
            return Err(AdminError::Conflict(format!(
                "版{version}は破棄されています / version {version} was discarded"
            )))
        }
        (PublishKind::Publish, "staged") | (PublishKind::Rollback, "superseded") => {}
        (PublishKind::Publish, _) => {
            return Err(AdminError::Forbidden(
                "以前に公開した版に戻すのは管理者です（ロールバック） / going back to an earlier version is a rollback, for admins".into(),
            ))
        }
        (PublishKind::Rollback, _) => {
            return Err(AdminError::Conflict(format!(
                "版{version}は公開されたことがありません（公開を使ってください） / version {version} was never published: publish it instead"
            )))
        }
    }
    if did == PublishKind::Rollback && role != Role::Admin {
        return Err(rollback_refused(version, cur));
    }
    store.publish(dataset, version, actor)?;
    Ok(did)
}

/// Discard a staged version: its rows are deleted and it stays in the history as `discarded`.
pub fn discard(admin: &Admin, dataset: DatasetId, version: i64) -> Result<()> {
    let _g = admin.lock_db();
    let mut store = Store::open_retrying(&admin.db, WRITE_WAIT)?;
    if store.discard_version(dataset, version)? {
        Ok(())
    } else {
        Err(AdminError::Conflict(format!(
            "版{version}は未公開の版ではありません / version {version} is not a staged version"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spooled_rows_read_back_as_written() {
        let rows = vec![
            Row {
                key: Some("避難所-1".into()),
                values: vec![
                    Val::Null,
                    Val::Int(-7),
                    Val::Float(1.5),
                    Val::Text("東町".into()),
                    Val::Bool(true),
                ],
                geometry: Some(geo::Geometry::Point(geo::Point::new(133.9, 34.6))),
                raw: "{\"名称\":\"東町\"}".into(),
            },
            Row {
                key: None,
                values: vec![],
                geometry: None,
                raw: String::new(),
            },
        ];
        let mut buf = Vec::new();
        for r in &rows {
            write_row(&mut buf, r).unwrap();
        }
        let mut rd = std::io::Cursor::new(&buf);
        let mut back = Vec::new();
        while let Some(r) = read_row(&mut rd).unwrap() {
            back.push(r);
        }
        assert_eq!(back.len(), 2);
        for (a, b) in rows.iter().zip(&back) {
            assert_eq!(
                (&a.key, &a.values, &a.geometry, &a.raw),
                (&b.key, &b.values, &b.geometry, &b.raw)
            );
        }
        // A file cut short is an error, not fewer rows.
        let mut cut = std::io::Cursor::new(&buf[..buf.len() - 3]);
        assert!(read_row(&mut cut).is_ok());
        assert!(read_row(&mut cut).is_err());
    }

    #[test]
    fn file_names_are_made_safe() {
        assert_eq!(safe_file_name("../../etc/passwd"), "passwd");
        assert_eq!(safe_file_name("C:\\Users\\x\\避難所.csv"), "避難所.csv");
        assert_eq!(safe_file_name(".."), "upload");
        assert_eq!(safe_file_name(".hidden.csv"), "hidden.csv");
        assert_eq!(safe_file_name("a\u{0}b<i>.csv"), "ab<i>.csv");
        assert_eq!(safe_file_name(""), "upload");
        let long = format!("{}.geojson", "あ".repeat(300));
        let s = safe_file_name(&long);
        assert!(s.ends_with(".geojson") && s.chars().count() <= 120, "{s}");
    }
}
