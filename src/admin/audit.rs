//! The audit log: every staff action (sign-in, failed sign-in, upload, publish, discard,
//! rollback, token and user changes, shelter status), one JSON line each in
//! `{db}.admin/audit.jsonl`, appended and fsynced, never rewritten. Readable by admins, who
//! see the newest entries: the file is read from its end ([`jsonl::read_tail`]).
//!
//! Failed sign-ins come from anyone, so they must not cost a disk write each: they are counted
//! in memory ([`FailedLogins`]) and written as one `login_failed` line per account at the first
//! failure of a window and one at its first lock, each summing the attempts since the previous
//! line (names that are no account share one tally, `(unknown)`). The next successful sign-in
//! of the account writes what was counted since.

use super::{jsonl, now_iso};
use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One logged action.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Entry {
    /// When (UTC).
    pub at: String,
    /// Who (user name; the attempted name for a failed sign-in; `cli`).
    pub actor: String,
    /// What: `login`, `login_failed` (a summary, see [`FailedLogins`]), `logout`, `upload`, `upload_refused`, `publish`,
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
            tracing::error!("cannot write the audit log {}: {err}", self.path.display());
        }
    }

    /// The newest `limit` entries, newest first (reading only the end of the file).
    pub fn recent(&self, limit: usize) -> Vec<Entry> {
        let mut v: Vec<Entry> = jsonl::read_tail(&self.path, limit).unwrap_or_else(|e| {
            tracing::warn!("cannot read the audit log {}: {e}", self.path.display());
            Vec::new()
        });
        v.reverse();
        v
    }
}

/// The tally of names that are no account.
pub const UNKNOWN_ACCOUNT: &str = "(unknown)";

/// How a sign-in went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The password was checked and wrong; `locked` when this locked the (name, address) pair.
    Failed {
        /// This failure locked the pair.
        locked: bool,
    },
    /// Refused unchecked: the pair was locked.
    Locked,
}

#[derive(Debug, Default)]
struct Tally {
    failed: u64,
    refused: u64,
    locks: u64,
    addrs: BTreeSet<IpAddr>,
    more_addrs: bool,
    sample: String,
    since: String,
    last_line: Option<Instant>,
    last_lock_line: Option<Instant>,
}

/// Most addresses named in one summary line.
const ADDRS_SHOWN: usize = 8;

impl Tally {
    fn pending(&self) -> bool {
        self.failed + self.refused > 0
    }

    fn describe(&self) -> String {
        let mut parts = vec![format!("{} failed", self.failed)];
        if self.refused > 0 {
            parts.push(format!("{} refused while locked", self.refused));
        }
        if self.locks > 0 {
            parts.push(format!("{} locked", self.locks));
        }
        let addrs: Vec<String> = self.addrs.iter().map(ToString::to_string).collect();
        let mut d = format!(
            "{} since {} from {}{}",
            parts.join(", "),
            self.since,
            addrs.join(" "),
            if self.more_addrs { " and more" } else { "" }
        );
        if !self.sample.is_empty() {
            d.push_str(&format!("; last name tried {:?}", self.sample));
        }
        d
    }

    fn reset(&mut self) {
        self.failed = 0;
        self.refused = 0;
        self.locks = 0;
        self.addrs.clear();
        self.more_addrs = false;
        self.sample.clear();
        self.since = now_iso();
    }
}

/// Failed and refused sign-ins counted in memory per account (see the module doc).
#[derive(Debug)]
pub struct FailedLogins {
    window: Duration,
    map: Mutex<HashMap<String, Tally>>,
}

impl FailedLogins {
    /// Tallies written at most twice per account per `window`.
    pub fn new(window: Duration) -> FailedLogins {
        FailedLogins {
            window,
            map: Mutex::new(HashMap::new()),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Tally>> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Count one refusal of `account` (an account name, or [`UNKNOWN_ACCOUNT`]) for the name
    /// `tried` from `ip`. Returns the detail of a line to write now, if one is due.
    pub fn note(&self, account: &str, tried: &str, ip: IpAddr, what: Refusal) -> Option<String> {
        let now = Instant::now();
        let mut m = self.map();
        let t = m.entry(account.to_string()).or_insert_with(|| Tally {
            since: now_iso(),
            ..Tally::default()
        });
        let locked = match what {
            Refusal::Failed { locked } => {
                t.failed += 1;
                locked
            }
            Refusal::Locked => {
                t.refused += 1;
                false
            }
        };
        if locked {
            t.locks += 1;
        }
        if t.addrs.len() < ADDRS_SHOWN {
            t.addrs.insert(ip);
        } else if !t.addrs.contains(&ip) {
            t.more_addrs = true;
        }
        if account == UNKNOWN_ACCOUNT {
            t.sample = tried.chars().take(64).collect();
        }
        let due = |last: Option<Instant>| last.is_none_or(|l| now.duration_since(l) >= self.window);
        let write = if locked && due(t.last_lock_line) {
            t.last_lock_line = Some(now);
            true
        } else if due(t.last_line) {
            t.last_line = Some(now);
            true
        } else {
            false
        };
        write.then(|| {
            let d = t.describe();
            t.reset();
            d
        })
    }

    /// What was counted for `account` and not yet written (said at its next sign-in).
    pub fn take(&self, account: &str) -> Option<String> {
        let mut m = self.map();
        let t = m.get_mut(account)?;
        t.pending().then(|| {
            let d = t.describe();
            t.reset();
            d
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_logins_write_at_most_two_lines_per_account_and_window() {
        let f = FailedLogins::new(Duration::from_secs(3600));
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let first = f.note("alice", "alice", ip, Refusal::Failed { locked: false });
        assert!(first.unwrap().starts_with("1 failed"));
        let mut lines = 0;
        for i in 0..1000 {
            let what = match i {
                3 => Refusal::Failed { locked: true },
                i if i < 3 => Refusal::Failed { locked: false },
                _ => Refusal::Locked,
            };
            lines += usize::from(f.note("alice", "alice", ip, what).is_some());
        }
        assert_eq!(lines, 1, "one more line, at the lock");
        let rest = f.take("alice").unwrap();
        assert!(rest.contains("refused while locked"), "{rest}");
        assert!(f.take("alice").is_none());
        // Every unknown name shares one tally.
        assert!(f
            .note(UNKNOWN_ACCOUNT, "x1", ip, Refusal::Failed { locked: false })
            .is_some());
        assert!(f
            .note(UNKNOWN_ACCOUNT, "x2", ip, Refusal::Failed { locked: false })
            .is_none());
    }
}
