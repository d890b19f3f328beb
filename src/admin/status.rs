//! Shelter status on a disaster day: an editor marks a shelter 開設 (open), 満員 (full) or
//! 閉鎖 (closed) with its evacuee count. Every change is an event in
//! `{db}.admin/shelter_status.jsonl`; the current status is the last event of each shelter.
//! Changes are broadcast to the public event stream.

use super::{jsonl, now_iso, AdminError, Result};
use crate::dataset::{DatasetId, Val};
use crate::index::Snapshot;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// State of a shelter.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum ShelterState {
    /// 開設: open and taking evacuees.
    Open,
    /// 満員: open but full.
    Full,
    /// 閉鎖: closed.
    Closed,
}

impl ShelterState {
    /// All states, in the order the page shows them.
    pub const ALL: [ShelterState; 3] =
        [ShelterState::Open, ShelterState::Full, ShelterState::Closed];
    /// `open`, `full`, `closed`.
    pub fn as_str(self) -> &'static str {
        match self {
            ShelterState::Open => "open",
            ShelterState::Full => "full",
            ShelterState::Closed => "closed",
        }
    }
    /// 開設, 満員, 閉鎖.
    pub fn ja(self) -> &'static str {
        match self {
            ShelterState::Open => "開設",
            ShelterState::Full => "満員",
            ShelterState::Closed => "閉鎖",
        }
    }
}

impl std::str::FromStr for ShelterState {
    type Err = AdminError;
    fn from_str(s: &str) -> Result<ShelterState> {
        match s {
            "open" | "開設" => Ok(ShelterState::Open),
            "full" | "満員" => Ok(ShelterState::Full),
            "closed" | "閉鎖" => Ok(ShelterState::Closed),
            _ => Err(AdminError::BadInput(
                "状態は open（開設）・full（満員）・closed（閉鎖）のいずれかです / status is open, full or closed".into(),
            )),
        }
    }
}

/// One status change.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct StatusEvent {
    /// Shelter fid (stable across versions).
    pub fid: i64,
    /// New state.
    pub status: ShelterState,
    /// Evacuees now in the shelter.
    pub evacuees: Option<u32>,
    /// When (UTC).
    pub at: String,
    /// Who (not published).
    pub by: String,
}

/// Current status of every shelter that has one, and the channel of changes.
///
/// Another process serving the same database folder appends to the same file: the server's
/// poll calls [`StatusBoard::reload_if_changed`], which reads the file again when its length
/// or modification time changed, so every process shows every change within a poll.
#[derive(Debug)]
pub struct StatusBoard {
    path: PathBuf,
    /// By fid, the number of events, and the (length, modified) of the file they were read
    /// from (`None` until read).
    current: Mutex<Board>,
    /// Tells the event streams that something changed (the value is the change count).
    pub changes: tokio::sync::watch::Sender<u64>,
}

/// (status by fid, number of events, stamp of the file when read).
type Board = (BTreeMap<i64, StatusEvent>, u64, Option<Stamp>);

/// (length, modified) of a file; (0, None) when missing.
type Stamp = (u64, Option<std::time::SystemTime>);

fn stamp(path: &Path) -> Stamp {
    std::fs::metadata(path).map_or((0, None), |m| (m.len(), m.modified().ok()))
}

/// The last event of each shelter, and the number of events.
fn load(path: &Path) -> std::io::Result<(BTreeMap<i64, StatusEvent>, u64)> {
    let (events, _): (Vec<StatusEvent>, u64) = jsonl::read_all(path)?;
    let n = events.len() as u64;
    let mut cur = BTreeMap::new();
    for e in events {
        cur.insert(e.fid, e);
    }
    Ok((cur, n))
}

impl StatusBoard {
    /// The board of the admin folder `dir`, loaded from its events.
    pub fn open(dir: &Path) -> StatusBoard {
        let path = dir.join("shelter_status.jsonl");
        let st = stamp(&path);
        let (cur, n, seen) = match load(&path) {
            Ok((cur, n)) => (cur, n, Some(st)),
            Err(_) => (BTreeMap::new(), 0, None),
        };
        StatusBoard {
            path,
            current: Mutex::new((cur, n, seen)),
            changes: tokio::sync::watch::channel(n).0,
        }
    }

    /// Read the events again if the file changed since they were read (another process
    /// appended, say), and tell the event streams when that brought changes. Returns whether
    /// it did.
    pub fn reload_if_changed(&self) -> bool {
        let mut g = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let st = stamp(&self.path);
        if g.2 == Some(st) {
            return false;
        }
        let Ok((cur, n)) = load(&self.path) else {
            return false;
        };
        let changed = n != g.1;
        *g = (cur, n, Some(st));
        drop(g);
        if changed {
            self.changes.send_replace(n);
        }
        changed
    }

    /// Record a change (after checking the shelter is published).
    pub fn set(
        &self,
        snap: &Snapshot,
        fid: i64,
        status: ShelterState,
        evacuees: Option<u32>,
        by: &str,
    ) -> Result<StatusEvent> {
        let known = snap
            .layer(DatasetId::Shelters)
            .is_some_and(|l| l.by_fid(fid).is_some());
        if !known {
            return Err(AdminError::NotFound(format!(
                "避難所 {fid} は公開されていません / no published shelter {fid}"
            )));
        }
        let e = StatusEvent {
            fid,
            status,
            evacuees,
            at: now_iso(),
            by: by.into(),
        };
        let mut g = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        jsonl::append(&self.path, &e).map_err(AdminError::writing(&self.path))?;
        g.0.insert(fid, e.clone());
        g.1 += 1;
        let n = g.1;
        drop(g);
        self.changes.send_replace(n);
        Ok(e)
    }

    /// Current status by fid, and the number of changes so far.
    pub fn current(&self) -> (BTreeMap<i64, StatusEvent>, u64) {
        let g = self
            .current
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (g.0.clone(), g.1)
    }
}

/// One shelter's public status.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct PublicStatus {
    /// Shelter fid.
    pub fid: i64,
    /// Shelter ID of the 03 layout.
    pub id: Option<String>,
    /// 名称.
    pub name: Option<String>,
    /// `open`, `full` or `closed`.
    pub status: ShelterState,
    /// 開設, 満員, 閉鎖.
    pub status_ja: &'static str,
    /// Evacuees.
    pub evacuees: Option<u32>,
    /// 想定収容人数.
    pub capacity: Option<i64>,
    /// When the status was set.
    pub updated_at: String,
    /// Longitude.
    pub lon: Option<f64>,
    /// Latitude.
    pub lat: Option<f64>,
}

/// The public shelter status document: `/api/shelter-status` and each event of its stream.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct StatusDoc {
    /// The latest change among the shelters listed; null before any.
    pub updated_at: Option<String>,
    /// When this document was made (UTC); not part of its ETag.
    pub generated_at: String,
    /// How many shelters follow.
    pub count: usize,
    /// Every published shelter with a status.
    pub shelters: Vec<PublicStatus>,
}

impl StatusDoc {
    /// The document now: every published shelter with a status, from the board's events.
    pub fn now(snap: &Snapshot, board: &StatusBoard) -> StatusDoc {
        let (shelters, updated) = public(snap, board);
        StatusDoc {
            updated_at: (!updated.is_empty()).then_some(updated),
            generated_at: now_iso(),
            count: shelters.len(),
            shelters,
        }
    }

    /// A strong ETag of the content (the shelters and their latest change), not of the
    /// moment the document was made: a client polling gets 304 until a status changes.
    pub fn etag(&self) -> String {
        #[derive(serde::Serialize)]
        struct Content<'a> {
            updated_at: &'a Option<String>,
            shelters: &'a [PublicStatus],
        }
        let content = Content {
            updated_at: &self.updated_at,
            shelters: &self.shelters,
        };
        // Strings, numbers and options only: serializing cannot fail.
        let text = serde_json::to_string(&content).unwrap_or_default();
        format!("\"ss-{}\"", &super::sha256_hex(&text)[..20])
    }
}

/// The public status document: every published shelter with a status.
pub fn public(snap: &Snapshot, board: &StatusBoard) -> (Vec<PublicStatus>, String) {
    let (cur, _) = board.current();
    let mut out = Vec::new();
    let mut updated = String::new();
    if let Some(l) = snap.layer(DatasetId::Shelters) {
        let cols = l.columns();
        for (fid, e) in &cur {
            let Some(f) = l.by_fid(*fid) else { continue };
            let text = |c: &str| f.get(cols, c).and_then(Val::as_text);
            if e.at > updated {
                updated = e.at.clone();
            }
            out.push(PublicStatus {
                fid: *fid,
                id: text("id"),
                name: text("name"),
                status: e.status,
                status_ja: e.status.ja(),
                evacuees: e.evacuees,
                capacity: match f.get(cols, "capacity") {
                    Some(Val::Int(i)) => Some(*i),
                    _ => None,
                },
                updated_at: e.at.clone(),
                lon: f.label.map(|p| p[0]),
                lat: f.label.map(|p| p[1]),
            });
        }
    }
    (out, updated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(fid: i64, status: ShelterState) -> PublicStatus {
        PublicStatus {
            fid,
            id: Some(format!("S{fid}")),
            name: Some("公民館".into()),
            status,
            status_ja: status.ja(),
            evacuees: Some(12),
            capacity: Some(80),
            updated_at: "2026-12-07T05:00:00Z".into(),
            lon: Some(133.9),
            lat: Some(34.6),
        }
    }

    fn doc(generated_at: &str, shelters: Vec<PublicStatus>) -> StatusDoc {
        StatusDoc {
            updated_at: Some("2026-12-07T05:00:00Z".into()),
            generated_at: generated_at.into(),
            count: shelters.len(),
            shelters,
        }
    }

    /// A client polling with If-None-Match gets 304 while nothing changed, however often the
    /// document is made again; any change of a status gives a new tag.
    #[test]
    fn the_etag_follows_the_content_not_the_moment() {
        let a = doc("2026-12-07T05:01:00Z", vec![row(1, ShelterState::Open)]);
        let b = doc("2026-12-07T05:09:00Z", vec![row(1, ShelterState::Open)]);
        let c = doc("2026-12-07T05:09:00Z", vec![row(1, ShelterState::Full)]);
        assert_eq!(a.etag(), b.etag());
        assert_ne!(b.etag(), c.etag());
        assert!(a.etag().starts_with("\"ss-") && a.etag().ends_with('"'));
    }

    /// The document says the state in the words of the API (`full`), and in Japanese beside.
    #[test]
    fn a_row_serializes_its_state_as_the_api_word() {
        let v = serde_json::to_value(row(3, ShelterState::Full)).unwrap();
        assert_eq!(v["status"], "full");
        assert_eq!(v["status_ja"], "満員");
    }
}
