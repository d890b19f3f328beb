//! Uploads: files streamed to a private folder, zip archives checked against [`ZipLimits`]
//! before anything is extracted, then ingested as an unpublished (staged) version, so a
//! rejected or discarded upload never touches what is published. Publishing, rolling back and
//! discarding are each one transaction of the store.

use super::{Admin, AdminError, Result, Role};
use crate::dataset::DatasetId;
use crate::ingest::{self, IngestOptions, Outcome};
use crate::report::Report;
use crate::shp::ZipLimits;
use crate::store::{Store, VersionInfo};
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
        use std::io::Write;
        let path = admin.dir.join("uploads").join(super::random_hex(12));
        std::fs::create_dir_all(&path)?;
        // Locked under another name, then renamed: a sweep never sees the owner file unlocked.
        let tmp = path.join(".owner.new");
        let mut owner = std::fs::File::create(&tmp)?;
        owner
            .try_lock()
            .map_err(|e| AdminError::Internal(format!("cannot lock {}: {e}", tmp.display())))?;
        writeln!(owner, "{}", std::process::id())?;
        std::fs::rename(&tmp, path.join(OWNER_FILE))?;
        Ok(UploadDir {
            path,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
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
        super::hex(&Sha256::digest(hashes.join("\n").as_bytes()))
    })
}

/// Ingest `paths` as a staged version of `dataset`, unless the same files are already the
/// published version or a staged one. With `publish`, the new version (or the staged one with
/// the same files) is also published, in the same transaction as it is written (or one
/// transaction of its own). Returns the outcome, the report and what this call published, if
/// anything: a staged version older than the published one is a rollback, refused unless
/// `role` is admin (see [`publish`]).
pub fn stage(
    admin: &Admin,
    dataset: DatasetId,
    paths: &[PathBuf],
    actor: &str,
    role: Role,
    publish: bool,
) -> Result<(Staged, Report, Option<PublishKind>)> {
    let sha = sources_sha256(paths)?;
    let _g = admin.lock_db();
    let mut store = Store::open_retrying(&admin.db, WRITE_WAIT)?;
    let cur = store.current(dataset)?;
    if let Some(v) = store
        .versions(dataset)?
        .into_iter()
        .find(|v| v.source_sha256 == sha && (Some(v.version) == cur || v.status == "staged"))
    {
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
        return Ok((
            Staged::Unchanged {
                version: v.version,
                published,
            },
            report,
            did,
        ));
    }
    let opts = IngestOptions {
        crs: None,
        publish,
        actor: actor.into(),
        progress: false,
    };
    let res = ingest::ingest(&mut store, dataset, paths, &opts)?;
    drop(store);
    // A new version is newer than any: publishing it is never a rollback.
    let published_now =
        matches!(res.outcome, Outcome::Published { .. }).then_some(PublishKind::Publish);
    let outcome = match res.outcome {
        Outcome::Staged { version, rows } | Outcome::Published { version, rows } => {
            Staged::Staged { version, rows }
        }
        Outcome::Unchanged { version } => Staged::Unchanged {
            version,
            published: true,
        },
        Outcome::Rejected => Staged::Rejected,
    };
    Ok((outcome, res.report, published_now))
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
