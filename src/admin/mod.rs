//! The staff console's logic, without HTTP: accounts, sessions and API tokens ([`accounts`]),
//! the append-only audit log ([`audit`]), uploads staged as unpublished versions and their
//! publication ([`uploads`]), the preview of what a version changes ([`diff`]), shelter status
//! on a disaster day ([`status`]), who a page is drawn for ([`Viewer`]) and the account
//! actions that check their rules and write their own audit entries ([`roster`]). The pages
//! themselves are templates in `crate::views::console`.
//!
//! **Where the state lives.** DuckDB allows one writing process per file and the server only
//! opens the main database briefly, so staff state is kept beside it in `{db}.admin/` as
//! append-only JSON-lines files written with `fsync` (users and tokens, audit log, shelter
//! status events), the folder `0700` and the files `0600` on Unix. The command line
//! (`machimap user add`) appends to the same files while a server runs; the server notices the
//! file grew and reloads it. Browser sessions live in the server's memory only. Writes to the main database (staging, publishing, discarding) open it
//! read-write for the moment they need, one at a time ([`Admin::db_lock`]).

pub mod accounts;
pub mod audit;
pub mod diff;
pub mod jsonl;
pub mod roster;
pub mod status;
pub mod uploads;

use crate::shp::ZipLimits;
pub use roster::Actor;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Errors of the staff console. Mapped to HTTP statuses in one place (`http::error`).
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No valid session or token.
    #[error("ログインが必要です / authentication required")]
    Unauthenticated,
    /// Signed in, but the role does not allow it (or a CSRF token is missing or wrong).
    #[error("{0}")]
    Forbidden(String),
    /// Too many failed logins: locked for the given number of seconds.
    #[error("ログイン失敗が続いたため一時的にロックしています（{0}秒） / too many failed logins: locked for {0} s")]
    LockedOut(u64),
    /// Too many sign-in attempts from this client address: wait the given number of seconds.
    #[error("このアドレスからのログイン試行が多すぎます。{0}秒後にもう一度どうぞ / too many sign-in attempts from this address: try again in {0} s")]
    TooManyAttempts(u64),
    /// Every password check slot is taken: try again after the given number of seconds.
    #[error("ただいま混み合っています。{0}秒後にもう一度どうぞ / the server is busy checking passwords: try again in {0} s")]
    Busy(u64),
    /// The request is malformed (bad field, unknown dataset…).
    #[error("{0}")]
    BadInput(String),
    /// No such version, user, token or shelter.
    #[error("{0}")]
    NotFound(String),
    /// The action does not fit the current state (publish a discarded version, user exists…).
    #[error("{0}")]
    Conflict(String),
    /// The upload is larger than the configured limit (bytes).
    #[error(
        "アップロードが上限 {0} バイトを超えています / upload larger than the limit of {0} bytes"
    )]
    TooLarge(u64),
    /// A part of an upload form is larger than its limit (bytes): a text field, or the
    /// headers between the parts.
    #[error("フォームの項目「{field}」が上限 {limit} バイトを超えています / form field `{field}` larger than the limit of {limit} bytes")]
    FieldTooLarge {
        /// The field's name as sent.
        field: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// Reading and checking an upload's files took longer than the budget (seconds).
    #[error("ファイルの読み込みと検査が制限時間 {0} 秒を超えたため、取り込みませんでした。ファイルを分けるか、コマンドライン（machimap ingest）で取り込んでください / reading and checking the files took longer than the limit of {0} s: nothing was stored; split the files or use the command line (machimap ingest)")]
    TooSlow(f64),
    /// A zip archive refused before extraction; `too_large` for bombs and size limits.
    #[error("{message}")]
    ArchiveRefused {
        /// ja / en message.
        message: String,
        /// True for entry-count, size and ratio limits (413), false for unsafe paths and links (400).
        too_large: bool,
    },
    /// The disk (or the quota) is full: this file could not be written, and nothing changed
    /// (a half-written record or upload is removed).
    #[error("{}", crate::store::disk_full_message(.0))]
    DiskFull(PathBuf),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    /// The ingest failed for a reason other than the data.
    #[error(transparent)]
    Ingest(#[from] crate::ingest::IngestError),
    /// File system error.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A bug or a failing dependency.
    #[error("{0}")]
    Internal(String),
}

impl AdminError {
    /// An I/O error met while writing `file`: [`AdminError::DiskFull`] when the disk or the
    /// quota is full, so the clerk is told which file and why, else [`AdminError::Io`].
    pub fn writing(file: &Path) -> impl FnOnce(std::io::Error) -> AdminError + '_ {
        move |e| {
            if crate::store::is_disk_full(&e) {
                AdminError::DiskFull(file.to_path_buf())
            } else {
                AdminError::Io(e)
            }
        }
    }

    /// Seconds the client should wait before trying again (`Retry-After`), for refusals that
    /// pass.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            AdminError::LockedOut(s) | AdminError::TooManyAttempts(s) | AdminError::Busy(s) => {
                Some(*s)
            }
            _ => None,
        }
    }
}

/// Result alias of this module.
pub type Result<T, E = AdminError> = std::result::Result<T, E>;

/// What a staff member may do.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Uploads, publishes and discards versions; sets shelter status.
    Editor,
    /// Everything an editor does, plus users, API tokens, rollbacks and the audit log.
    Admin,
}

impl Role {
    /// `editor` or `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Editor => "editor",
            Role::Admin => "admin",
        }
    }
    /// Japanese label.
    pub fn ja(self) -> &'static str {
        match self {
            Role::Editor => "編集者",
            Role::Admin => "管理者",
        }
    }
}

/// The signed-in staff member a console page is drawn for.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// User name.
    pub user: String,
    /// Role.
    pub role: Role,
    /// The session's CSRF token, put in every form.
    pub csrf: String,
}

impl Viewer {
    /// Whether the menu and actions of admins are shown.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "editor" => Ok(Role::Editor),
            "admin" => Ok(Role::Admin),
            other => Err(format!("unknown role {other:?}: editor or admin")),
        }
    }
}

/// The folder of staff state beside the database: `{db}.admin`.
pub fn admin_dir(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push(".admin");
    PathBuf::from(name)
}

/// Settings of the console.
#[derive(Debug, Clone)]
pub struct AdminConfig {
    /// Largest upload in bytes.
    pub upload_limit: u64,
    /// Limits applied to uploaded zip archives.
    pub zip_limits: ZipLimits,
    /// Largest text (non-file) field of an upload form, in bytes.
    pub field_limit: u64,
    /// Longest an upload's files may take to read and check; over it the upload is refused.
    pub parse_budget: std::time::Duration,
    /// Mark cookies `Secure` always (the public base URL is https); otherwise only on requests
    /// that arrived over https.
    pub secure_cookies: bool,
    /// A session ends after this long without a request.
    pub session_idle: std::time::Duration,
    /// Sign-in attempts allowed per client address per minute.
    pub login_rate_per_min: u32,
    /// Password checks (argon2, ~19 MiB each) allowed at once in the server.
    pub password_checks: usize,
    /// Peers whose `X-Forwarded-For` names the client (reverse proxies).
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

/// Largest upload by default, MB (the one place this default is written: `serve
/// --upload-limit-mb` and the server's settings take it from here).
pub const UPLOAD_LIMIT_MB: u64 = 200;
/// Largest text field of an upload form by default, KiB.
pub const FIELD_LIMIT_KB: u64 = 64;
/// Longest an upload may take to read and validate by default, seconds.
pub const PARSE_BUDGET_SECS: u64 = 300;

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            upload_limit: UPLOAD_LIMIT_MB * 1024 * 1024,
            zip_limits: ZipLimits::default(),
            field_limit: FIELD_LIMIT_KB * 1024,
            parse_budget: std::time::Duration::from_secs(PARSE_BUDGET_SECS),
            secure_cookies: false,
            session_idle: std::time::Duration::from_secs(30 * 60),
            login_rate_per_min: accounts::LOGIN_RATE_PER_MIN,
            password_checks: default_password_checks(),
            trusted_proxies: Vec::new(),
        }
    }
}

/// Password checks at once by default: one per core, at least two.
pub fn default_password_checks() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().max(2))
}

/// All staff state of one server.
#[derive(Debug)]
pub struct Admin {
    /// The main DuckDB file.
    pub db: PathBuf,
    /// `{db}.admin`.
    pub dir: PathBuf,
    /// Held while this process has the main database open (read-write for staging and
    /// publishing, read-only for previews and the publish poll), so two connections of one
    /// process never overlap.
    pub db_lock: Mutex<()>,
    /// Users and API tokens.
    pub accounts: accounts::Accounts,
    /// Browser sessions and login lockout.
    pub sessions: accounts::Sessions,
    /// The rate limit and the bound on password checks in front of sign-in.
    pub login_gate: accounts::LoginGate,
    /// The audit log.
    pub audit: audit::Audit,
    /// Failed sign-ins counted in memory, written to the audit log in summaries.
    pub failed_logins: audit::FailedLogins,
    /// Shelter status.
    pub status: status::StatusBoard,
    /// Settings.
    pub config: AdminConfig,
}

impl Admin {
    /// The staff state of `db` (its folder is created, owner only; files on the first write).
    pub fn open(db: &Path, config: AdminConfig) -> Admin {
        let dir = admin_dir(db);
        // Leftovers of uploads interrupted by a crash (not those of another process serving
        // the same database folder, still in progress).
        uploads::sweep_uploads(&dir);
        // Owner only, also for a folder and files written before that rule.
        if let Err(e) = jsonl::private_dir(&dir) {
            tracing::warn!("cannot create {}: {e}", dir.display());
        }
        if let Ok(rd) = std::fs::read_dir(&dir) {
            for f in rd.flatten().filter(|f| f.path().is_file()) {
                let _ = jsonl::private_file(&f.path());
            }
        }
        Admin {
            db: db.to_path_buf(),
            accounts: accounts::Accounts::open(&dir),
            sessions: accounts::Sessions::new(config.session_idle),
            login_gate: accounts::LoginGate::new(config.login_rate_per_min, config.password_checks),
            audit: audit::Audit::open(&dir),
            failed_logins: audit::FailedLogins::new(accounts::LOCKOUT),
            status: status::StatusBoard::open(&dir),
            dir,
            db_lock: Mutex::new(()),
            config,
        }
    }

    /// The enabled user and live session of a console cookie. A session started before the
    /// user's latest password change is ended and refused.
    pub fn console_user(&self, cookie: &str) -> Option<(accounts::User, accounts::Session)> {
        let s = self.sessions.get(cookie)?;
        let u = self.accounts.user(&s.user)?;
        if u.generation != s.generation {
            self.sessions.remove(cookie);
            return None;
        }
        (!u.disabled).then_some((u, s))
    }

    /// Lock the main database for this process (poisoning is ignored: the guard holds no data).
    pub fn lock_db(&self) -> std::sync::MutexGuard<'_, ()> {
        self.db_lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Now, UTC, ISO 8601 to the second.
pub fn now_iso() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (the epoch itself for a number outside
/// jiff's range, which no clock gives).
pub fn iso_from_secs(secs: i64) -> String {
    jiff::Timestamp::from_second(secs)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// `n` random bytes from the operating system, as hex.
pub fn random_hex(n: usize) -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut buf = vec![0u8; n];
    OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// SHA-256 of text, hex.
pub fn sha256_hex(s: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso_from_secs(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_from_secs(1_711_929_600 + 3661), "2024-04-01T01:01:01Z");
    }

    #[test]
    fn random_is_random() {
        let a = random_hex(32);
        assert_eq!(a.len(), 64);
        assert_ne!(a, random_hex(32));
    }
}
