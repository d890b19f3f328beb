//! The audit log: every staff action (sign-in, failed sign-in, upload, publish, discard,
//! rollback, token and user changes, shelter status), one JSON line each in
//! `{db}.admin/audit.jsonl`, appended and fsynced, never rewritten. Readable by admins.

use super::{jsonl, now_iso};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One logged action.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// When (UTC).
    pub at: String,
    /// Who (user name; the attempted name for a failed sign-in; `cli`).
    pub actor: String,
    /// What: `login`, `login_failed`, `logout`, `upload`, `upload_refused`, `publish`,
    /// `discard`, `rollback`, `user_add`, `user_disable`, `token_create`, `token_revoke`,
    /// `shelter_status`.
    pub action: String,
    /// On what (dataset/version, user, token id, shelter).
    pub target: String,
    /// Free text (outcome, file name and hash…).
    pub detail: String,
    /// Through the console, the API (`token:ID`) or the command line.
    pub via: String,
}

/// The log file.
#[derive(Debug)]
pub struct Audit {
    path: PathBuf,
    lock: Mutex<()>,
}

impl Audit {
    /// The audit log of the admin folder `dir`.
    pub fn open(dir: &Path) -> Audit {
        Audit {
            path: dir.join("audit.jsonl"),
            lock: Mutex::new(()),
        }
    }

    /// Append one entry (errors go to stderr: the action itself already happened).
    pub fn log(&self, actor: &str, via: &str, action: &str, target: &str, detail: &str) {
        let e = Entry {
            at: now_iso(),
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            detail: detail.into(),
            via: via.into(),
        };
        let _g = self
            .lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Err(err) = jsonl::append(&self.path, &e) {
            eprintln!(
                "machimap: cannot write the audit log {}: {err}",
                self.path.display()
            );
        }
    }

    /// The newest `limit` entries, newest first.
    pub fn recent(&self, limit: usize) -> Vec<Entry> {
        let (mut v, _): (Vec<Entry>, u64) = jsonl::read_all(&self.path).unwrap_or_default();
        v.reverse();
        v.truncate(limit);
        v
    }
}
