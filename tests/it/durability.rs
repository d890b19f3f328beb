//! Durability under SIGKILL (issue 14): kills at random moments of a command-line ingest, a
//! command-line publish, shelter-status updates and API-token creation (through the server's
//! HTTP API), each followed by the same checks: `machimap check` finds the folder whole (every
//! version complete or absent, `current` complete, every `{db}.admin` file readable line by
//! line, layer files whole), everything the server acknowledged is still there, the published
//! version is the old one or the new complete one, and a restarted server answers `/healthz`,
//! tiles and items.
//!
//! `scripts/kill-soak N` runs this test with `MACHIMAP_KILL_SOAK_N=N` (default here: 12 kills,
//! for CI) and prints the summary; `MACHIMAP_KILL_SOAK_SEED` replays a run.

use crate::support::*;
use machimap::dataset::DatasetId;
use machimap::store::Store;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ADMIN: &str = "soak-admin";
const ADMIN_PW: &str = "soak admin password 7";
const EDITOR: &str = "soak-editor";
const EDITOR_PW: &str = "soak editor password 7";

/// xorshift64*: enough randomness for kill moments, and a seed to replay a run.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Op {
    Ingest,
    Publish,
    Status,
    Token,
}

impl Op {
    const ALL: [Op; 4] = [Op::Ingest, Op::Publish, Op::Status, Op::Token];
    fn name(self) -> &'static str {
        match self {
            Op::Ingest => "ingest",
            Op::Publish => "publish",
            Op::Status => "status update",
            Op::Token => "token creation",
        }
    }
}

#[derive(Default)]
struct Tally {
    runs: u32,
    mid: u32,
    failures: Vec<String>,
}

struct Soak {
    db: PathBuf,
    flood_big: PathBuf,
    flood_small: PathBuf,
    /// Rows of the two flood files' versions, by source digest.
    rows_by_sha: BTreeMap<String, i64>,
    t_ingest: Duration,
    t_publish: Duration,
    token: String,
    fid: i64,
    /// The next evacuee count to send (each update sends a new one).
    next_evacuees: u32,
    /// Tokens the server showed before it was killed, checked after the restart.
    acked_tokens: Vec<String>,
}

fn machimap(args: &[&str]) -> std::process::Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("machimap runs")
}

/// `machimap check --db`: Err with its output when the folder is not whole.
fn check_folder(db: &Path) -> Result<String, String> {
    let o = machimap(&["check", "--db", db.to_str().unwrap()]);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    if o.status.success() {
        Ok(text)
    } else {
        Err(format!("machimap check failed: {text}"))
    }
}

/// The published flood version and every version's (number, source digest, rows).
type FloodState = (Option<i64>, Vec<(i64, String, i64)>);

fn flood_state(db: &Path) -> Result<FloodState, String> {
    let s = Store::open_read_only(db).map_err(|e| format!("open: {e}"))?;
    let cur = s.current(DatasetId::Flood).map_err(|e| e.to_string())?;
    let vs = s
        .versions(DatasetId::Flood)
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|v| (v.version, v.source_sha256, v.row_count))
        .collect();
    Ok((cur, vs))
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

fn csrf_of(c: &Client, page: &str) -> Result<String, String> {
    let r = c.get(page);
    between(&r.text(), "name=\"csrf\" value=\"", "\"")
        .map(str::to_string)
        .ok_or_else(|| format!("{page}: no csrf field ({})", r.status))
}

fn login(base: &str, user: &str, pw: &str) -> Result<Client, String> {
    let c = Client::new(base);
    let t = csrf_of(&c, "/admin/login")?;
    let r = c.post_form(
        "/admin/login",
        &[
            ("csrf", &t),
            ("user", user),
            ("password", pw),
            ("next", "/admin"),
        ],
    );
    if r.status == 303 {
        Ok(c)
    } else {
        Err(format!("login {user}: {} {}", r.status, r.text()))
    }
}

/// Create a token in the console as `admin`; the secret.
fn create_token(admin: &Client, csrf: &str) -> Result<Option<String>, String> {
    let r = admin
        .try_post(
            "/admin/tokens",
            "application/x-www-form-urlencoded",
            format!("csrf={}&user={EDITOR}&label=soak", form_encode(csrf)).as_bytes(),
            &[],
        )
        .ok();
    match r {
        None => Ok(None),
        Some(r) if r.status == 200 => between(&r.text(), "id=\"new-token\">", "</p>")
            .map(|s| Some(s.to_string()))
            .ok_or_else(|| "no token shown".to_string()),
        Some(r) => Err(format!(
            "token creation answered {}: {}",
            r.status,
            r.text()
        )),
    }
}

impl Soak {
    fn setup(dir: &Path) -> Soak {
        let db = dir.join("soak.duckdb");
        let sample = sample_dir();
        let big_dir = dir.join("big");
        let scale = std::env::var("MACHIMAP_KILL_SOAK_SCALE").unwrap_or_else(|_| "1000".into());
        let out = machimap(&[
            "sample",
            "--out",
            big_dir.to_str().unwrap(),
            "--scale",
            &scale,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let flood_big = big_dir.join(format!("flood_scale_{scale}.geojson"));
        let flood_small = sample.join("flood_A31a.geojson");
        for (ds, f) in [
            (
                "shelters",
                sample.join("shelters_339997_evacuation_space.csv"),
            ),
            ("wards", sample.join("wards_r2ka33999.zip")),
            ("flood", flood_small.clone()),
        ] {
            let (code, v) = ingest_json(&db, ds, &[&f], &[]);
            assert_eq!(code, 0, "{ds}: {v:#}");
        }
        // The big file once, timed: the window the ingest kills are spread over.
        let t0 = Instant::now();
        let (code, v) = ingest_json(&db, "flood", &[&flood_big], &[]);
        assert_eq!(code, 0, "{v:#}");
        let t_ingest = t0.elapsed();
        // A publish (back to the small version and forth), timed likewise.
        let t0 = Instant::now();
        let o = machimap(&[
            "publish",
            "--db",
            db.to_str().unwrap(),
            "--dataset",
            "flood",
            "--version",
            "1",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let t_publish = t0.elapsed();
        let (_, vs) = flood_state(&db).unwrap();
        let rows_by_sha = vs.iter().map(|(_, sha, n)| (sha.clone(), *n)).collect();
        add_user(&db, ADMIN, "admin", ADMIN_PW);
        add_user(&db, EDITOR, "editor", EDITOR_PW);
        let s = Server::start(&db);
        let admin = login(&s.base, ADMIN, ADMIN_PW).unwrap();
        let token = create_token(&admin, &csrf_of(&admin, "/admin/tokens").unwrap())
            .unwrap()
            .unwrap();
        let items = s.get("/ogc/collections/shelters/items?limit=1").json();
        let fid = items["features"][0]["id"]
            .as_i64()
            .or_else(|| items["features"][0]["properties"]["fid"].as_i64())
            .expect("a shelter id");
        drop(s);
        Soak {
            db,
            flood_big,
            flood_small,
            rows_by_sha,
            t_ingest,
            t_publish,
            token,
            fid,
            next_evacuees: 1,
            acked_tokens: Vec::new(),
        }
    }

    /// Run `args` and SIGKILL it after `after`; whether it was still running.
    fn kill_cli(&self, args: &[&str], after: Duration) -> bool {
        let mut child = Command::new(bin())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("machimap runs");
        let t0 = Instant::now();
        while t0.elapsed() < after {
            if let Ok(Some(_)) = child.try_wait() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2).min(after.saturating_sub(t0.elapsed())));
        }
        let running = child.try_wait().ok().flatten().is_none();
        let _ = child.kill();
        let _ = child.wait();
        running
    }

    /// The published flood version is `old` or a complete version of the file sent.
    fn flood_after(
        &self,
        old: Option<i64>,
        allowed: &[i64],
        sha: Option<&str>,
    ) -> Result<(), String> {
        let (cur, vs) = flood_state(&self.db)?;
        if cur == old || cur.is_some_and(|c| allowed.contains(&c)) {
            return Ok(());
        }
        let Some(c) = cur else {
            return Err("no flood version published any more".into());
        };
        let (_, s, n) = vs
            .iter()
            .find(|(v, ..)| *v == c)
            .ok_or(format!("published v{c} has no record"))?;
        if sha.is_some_and(|want| want != s) {
            return Err(format!("published v{c} is of other files than sent"));
        }
        if self.rows_by_sha.get(s) != Some(n) {
            return Err(format!(
                "published v{c} has {n} rows, the file has {:?}",
                self.rows_by_sha.get(s)
            ));
        }
        Ok(())
    }

    fn ingest(&mut self, rng: &mut Rng) -> Result<bool, String> {
        let (old, _) = flood_state(&self.db)?;
        let file = if rng.unit() < 0.5 {
            &self.flood_big
        } else {
            &self.flood_small
        };
        let sha = machimap::ingest::sha256_file(file).map_err(|e| e.to_string())?;
        let after = self.t_ingest.mul_f64(rng.unit() * 1.3);
        let db = self.db.to_str().unwrap().to_string();
        let mid = self.kill_cli(
            &[
                "ingest",
                "--db",
                &db,
                "--dataset",
                "flood",
                file.to_str().unwrap(),
            ],
            after,
        );
        self.flood_after(old, &[], Some(&sha))?;
        Ok(mid)
    }

    fn publish(&mut self, rng: &mut Rng) -> Result<bool, String> {
        let (old, vs) = flood_state(&self.db)?;
        let others: Vec<i64> = vs.iter().map(|v| v.0).filter(|v| Some(*v) != old).collect();
        if others.is_empty() {
            return Err("no other flood version to publish".into());
        }
        let target = others[(rng.next() % others.len() as u64) as usize];
        let after = self.t_publish.mul_f64(rng.unit() * 1.3);
        let db = self.db.to_str().unwrap().to_string();
        let v = target.to_string();
        let mid = self.kill_cli(
            &[
                "publish",
                "--db",
                &db,
                "--dataset",
                "flood",
                "--version",
                &v,
            ],
            after,
        );
        self.flood_after(old, &[target], None)?;
        Ok(mid)
    }

    /// Status updates back to back through the API until the server is killed.
    fn status(&mut self, rng: &mut Rng) -> Result<bool, String> {
        let mut s = Server::start(&self.db);
        let base = s.base.clone();
        let (auth, fid, first) = (
            format!("Bearer {}", self.token),
            self.fid,
            self.next_evacuees,
        );
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = stop.clone();
        let h = std::thread::spawn(move || {
            let c = Client::new(&base);
            let mut acked = Vec::new();
            let mut n = first;
            loop {
                let body = serde_json::json!({"status": "open", "evacuees": n}).to_string();
                match c.try_post(
                    &format!("/api/admin/shelters/{fid}/status"),
                    "application/json",
                    body.as_bytes(),
                    &[("authorization", &auth)],
                ) {
                    Ok(r) if r.status == 200 => acked.push(n),
                    Ok(r) => {
                        return (
                            acked,
                            n + 1,
                            Some(format!("status answered {}: {}", r.status, r.text())),
                            false,
                        )
                    }
                    Err(_) => return (acked, n + 1, None, true),
                }
                n += 1;
                if stop2.load(std::sync::atomic::Ordering::Relaxed) {
                    return (acked, n, None, false);
                }
            }
        });
        std::thread::sleep(Duration::from_secs_f64(0.05 + rng.unit() * 0.6));
        s.kill_now();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let (acked, next, err, cut) = h.join().map_err(|_| "status client panicked")?;
        self.next_evacuees = next;
        if let Some(e) = err {
            return Err(e);
        }
        // Every acknowledged update is in the file.
        let path = PathBuf::from(format!("{}.admin/shelter_status.jsonl", self.db.display()));
        let text = std::fs::read_to_string(&path).map_err(|e| e.to_string())?;
        let mut have = std::collections::HashSet::new();
        for line in text.lines() {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
                if v["fid"] == fid {
                    if let Some(e) = v["evacuees"].as_u64() {
                        have.insert(e as u32);
                    }
                }
            }
        }
        if let Some(lost) = acked.iter().find(|n| !have.contains(n)) {
            return Err(format!("acknowledged status update (evacuees {lost}) lost"));
        }
        Ok(cut)
    }

    /// Tokens created back to back in the console until the server is killed.
    fn token(&mut self, rng: &mut Rng) -> Result<bool, String> {
        let mut s = Server::start(&self.db);
        let admin = login(&s.base, ADMIN, ADMIN_PW)?;
        let csrf = csrf_of(&admin, "/admin/tokens")?;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = stop.clone();
        let h = std::thread::spawn(move || {
            let mut acked = Vec::new();
            loop {
                match create_token(&admin, &csrf) {
                    Ok(Some(t)) => acked.push(t),
                    Ok(None) => return (acked, None, true),
                    Err(e) => return (acked, Some(e), false),
                }
                if stop2.load(std::sync::atomic::Ordering::Relaxed) || acked.len() >= 200 {
                    return (acked, None, false);
                }
            }
        });
        std::thread::sleep(Duration::from_secs_f64(0.05 + rng.unit() * 0.6));
        s.kill_now();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let (acked, err, cut) = h.join().map_err(|_| "token client panicked")?;
        if let Some(e) = err {
            return Err(e);
        }
        // Every token shown works after the restart.
        let s = Server::start(&self.db);
        let c = Client::new(&s.base);
        for t in &acked {
            let r = c.get_with(
                "/api/admin/whoami",
                &[("authorization", &format!("Bearer {t}"))],
            );
            if r.status != 200 {
                return Err(format!(
                    "an acknowledged token is refused after the kill: {}",
                    r.status
                ));
            }
        }
        Ok(cut)
    }

    /// After every kill: the folder is whole and a restarted server serves it (and knows every
    /// token it showed before the kill). After a command-line run, the server's start also
    /// swept the temporary files of the killed writer.
    fn after_kill(&mut self, cli: bool) -> Result<(), String> {
        check_folder(&self.db)?;
        let (cur, _) = flood_state(&self.db)?;
        let s = Server::start(&self.db);
        let h = s.get("/healthz");
        if h.status != 200 {
            return Err(format!("/healthz answered {}", h.status));
        }
        if h.json()["datasets"]["flood"]["version"].as_i64() != cur {
            return Err(format!(
                "the server serves flood {:?}, the store has {cur:?}",
                h.json()["datasets"]["flood"]
            ));
        }
        let t = machimap::tiles::coord::tile_for(133.93, 34.60, 12);
        for path in [
            format!("/tiles/flood/12/{}/{}.mvt", t.x, t.y),
            "/ogc/collections/flood/items?limit=3".to_string(),
            "/ogc/collections/shelters/items?limit=3".to_string(),
        ] {
            let r = s.get(&path);
            if r.status != 200 || r.body.is_empty() {
                return Err(format!("{path} answered {}", r.status));
            }
        }
        let c = Client::new(&s.base);
        for t in std::mem::take(&mut self.acked_tokens) {
            let r = c.get_with(
                "/api/admin/whoami",
                &[("authorization", &format!("Bearer {t}"))],
            );
            if r.status != 200 {
                return Err(format!(
                    "an acknowledged token is refused after the kill: {}",
                    r.status
                ));
            }
        }
        drop(s);
        if cli {
            let text = check_folder(&self.db)?;
            if text.contains("temporary file") {
                return Err(format!("stale temporary files after a start: {text}"));
            }
        }
        Ok(())
    }
}

#[test]
fn durability_kill_soak() {
    let n: u32 = std::env::var("MACHIMAP_KILL_SOAK_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let seed: u64 = std::env::var("MACHIMAP_KILL_SOAK_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    let started = Instant::now();
    let d = tmp();
    let mut soak = Soak::setup(d.path());
    eprintln!(
        "kill-soak: {n} kills, seed {seed}, ingest {:?}, publish {:?} (setup {:?})",
        soak.t_ingest,
        soak.t_publish,
        started.elapsed()
    );
    let mut rng = Rng(seed);
    let mut tally: BTreeMap<Op, Tally> = Op::ALL.iter().map(|o| (*o, Tally::default())).collect();
    for i in 0..n {
        // Every kind in turn first, so even a short run has each.
        let op = if i < 4 {
            Op::ALL[i as usize]
        } else {
            Op::ALL[(rng.next() % 4) as usize]
        };
        let res = match op {
            Op::Ingest => soak.ingest(&mut rng),
            Op::Publish => soak.publish(&mut rng),
            Op::Status => soak.status(&mut rng),
            Op::Token => soak.token(&mut rng),
        }
        .and_then(|mid| {
            soak.after_kill(matches!(op, Op::Ingest | Op::Publish))
                .map(|()| mid)
        });
        let t = tally.get_mut(&op).unwrap();
        t.runs += 1;
        match res {
            Ok(mid) => t.mid += u32::from(mid),
            Err(e) => {
                eprintln!("kill-soak: run {i} ({}): FAILURE: {e}", op.name());
                t.failures.push(e);
            }
        }
    }
    let mut failures = 0;
    for (op, t) in &tally {
        eprintln!(
            "kill-soak: {:<15} runs {:>3}, killed mid-operation {:>3}, failures {}",
            op.name(),
            t.runs,
            t.mid,
            t.failures.len()
        );
        failures += t.failures.len();
    }
    eprintln!(
        "kill-soak: {n} kills, {failures} failures, {:.1} s (seed {seed})",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(failures, 0, "see the failures above (seed {seed})");
    // The kills must have landed inside the operations, not only before or after them.
    let mid: u32 = tally.values().map(|t| t.mid).sum();
    assert!(mid * 3 >= n, "only {mid} of {n} kills landed mid-operation");
}
