//! Shared helpers: the binary, temp folders, fixture writers.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The machimap binary cargo built for these tests.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_machimap"))
}

/// Run machimap with `args`.
pub fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("machimap runs")
}

/// Run `machimap ingest --report json`, returning (exit code, parsed JSON).
pub fn ingest_json(
    db: &Path,
    dataset: &str,
    files: &[&Path],
    extra: &[&str],
) -> (i32, serde_json::Value) {
    let mut args: Vec<String> = vec![
        "ingest".into(),
        "--db".into(),
        db.display().to_string(),
        "--dataset".into(),
        dataset.into(),
        "--report".into(),
        "json".into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(files.iter().map(|f| f.display().to_string()));
    let out = Command::new(bin())
        .args(&args)
        .output()
        .expect("machimap runs");
    let code = out.status.code().unwrap_or(-1);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): stdout={} stderr={}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (code, v)
}

/// Issues of `code` in a JSON report.
pub fn issues<'a>(v: &'a serde_json::Value, code: &str) -> Vec<&'a serde_json::Value> {
    v["report"]["issues"]
        .as_array()
        .map(|a| a.iter().filter(|i| i["code"] == code).collect())
        .unwrap_or_default()
}

/// Encode text as Shift_JIS (CP932) bytes.
pub fn sjis(s: &str) -> Vec<u8> {
    let (b, _, bad) = encoding_rs::SHIFT_JIS.encode(s);
    assert!(!bad, "fixture text not representable in CP932");
    b.into_owned()
}

/// A fresh temp folder.
pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// The sample city written once per test process into a shared temp folder.
pub fn sample_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("machimap-it-sample-{}", std::process::id()));
        let out = run(&["sample", "--out", d.to_str().expect("utf-8 path")]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        d
    })
}

/// The sample city ingested once per test process. Tests that publish use [`sample_db_copy`].
pub fn sample_db() -> &'static Path {
    static DB: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DB.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("machimap-it-db-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("db dir");
        let db = dir.join("sample.duckdb");
        let s = sample_dir();
        for (ds, files) in [
            ("wards", &["wards_r2ka33999.zip"][..]),
            ("flood", &["flood_A31a.geojson"]),
            ("landslide", &["landslide_A33.zip"]),
            ("tsunami", &["tsunami_A40.geojson"]),
            ("storm_surge", &["storm_surge_A49.geojson"]),
            ("roads", &["roads_ledger.csv", "roads_lines.geojson"]),
            (
                "shelters",
                &[
                    "shelters_339997_evacuation_space.csv",
                    "shelters_gsi_33999_1.csv",
                ],
            ),
            ("stockpile", &["stockpile.csv"]),
        ] {
            let paths: Vec<PathBuf> = files.iter().map(|f| s.join(f)).collect();
            let refs: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
            let (code, v) = ingest_json(&db, ds, &refs, &[]);
            assert_eq!(code, 0, "{ds}: {v:#}");
        }
        db
    })
}

/// A private copy of the ingested sample city, for tests that publish new versions.
pub fn sample_db_copy(dir: &Path) -> PathBuf {
    let src = sample_db();
    let dst = dir.join("copy.duckdb");
    std::fs::copy(src, &dst).expect("copy db");
    let mut wal = src.as_os_str().to_owned();
    wal.push(".wal");
    if Path::new(&wal).exists() {
        let mut dwal = dst.as_os_str().to_owned();
        dwal.push(".wal");
        std::fs::copy(&wal, &dwal).expect("copy wal");
    }
    dst
}

/// A `machimap serve` process on a free loopback port, killed on drop.
pub struct Server {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    child: std::process::Child,
    agent: ureq::Agent,
}

/// A response read whole.
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: ureq::http::HeaderMap,
    /// Body bytes as sent (not decompressed).
    pub body: Vec<u8>,
}

impl Resp {
    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Server {
    /// Start serving `db` with extra `serve` flags.
    pub fn start_with(db: &Path, extra: &[&str]) -> Server {
        use std::io::BufRead;
        let mut child = Command::new(bin())
            .args([
                "serve",
                "--db",
                db.to_str().expect("utf-8 path"),
                "--bind",
                "127.0.0.1:0",
            ])
            .args(extra)
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("machimap serve starts");
        let stderr = child.stderr.take().expect("stderr piped");
        let mut lines = std::io::BufReader::new(stderr).lines();
        let mut base = None;
        for line in lines.by_ref() {
            let line = line.expect("stderr line");
            if let Some(rest) = line.split("serving on ").nth(1) {
                base = Some(
                    rest.split_whitespace()
                        .next()
                        .unwrap_or("")
                        .trim_end_matches('/')
                        .to_string(),
                );
                break;
            }
        }
        // Keep draining stderr so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        let base = base.expect("server printed its address");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Server { base, child, agent }
    }

    /// Start serving `db`.
    pub fn start(db: &Path) -> Server {
        Server::start_with(db, &[])
    }

    /// GET `path` with extra request headers.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = self.agent.get(&format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let mut r = req.call().unwrap_or_else(|e| panic!("GET {path}: {e}"));
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .unwrap_or_else(|e| panic!("GET {path} body: {e}"));
        Resp {
            status,
            headers,
            body,
        }
    }

    /// GET `path`.
    pub fn get(&self, path: &str) -> Resp {
        self.get_with(path, &[])
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
