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
            (
                "flood",
                &[
                    "flood_A31a.geojson",
                    "flood_A31a_30.geojson",
                    "flood_A31a_41.geojson",
                    "flood_A31a_42.geojson",
                ],
            ),
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
            ("addresses", &machimap_sample::addresses::FILES),
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

// ---------------------------------------------------------------------------------------------
// Staff console helpers (tests/it/admin.rs).

impl Server {
    /// Start serving `db` with extra `serve` flags and environment variables.
    pub fn start_env(db: &Path, extra: &[&str], envs: &[(&str, &str)]) -> Server {
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
            .envs(envs.iter().copied())
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
        std::thread::spawn(move || for _ in lines {});
        let base = base.expect("server printed its address");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        Server { base, child, agent }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL the server now and reap it.
    pub fn kill_now(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client that keeps cookies (like a browser) and never follows redirects.
pub struct Client {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    agent: ureq::Agent,
    cookies: std::cell::RefCell<Vec<(String, String)>>,
}

impl Client {
    /// A client of `base`.
    pub fn new(base: &str) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build()
            .into();
        Client {
            base: base.to_string(),
            agent,
            cookies: std::cell::RefCell::new(Vec::new()),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .borrow()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn finish(
        &self,
        r: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Resp, String> {
        let mut r = r.map_err(|e| e.to_string())?;
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        for sc in headers.get_all("set-cookie") {
            let Ok(sc) = sc.to_str() else { continue };
            let first = sc.split(';').next().unwrap_or("");
            if let Some((k, v)) = first.split_once('=') {
                let mut c = self.cookies.borrow_mut();
                c.retain(|(n, _)| n != k.trim());
                let expired = sc.contains("Max-Age=0");
                if !expired && !v.is_empty() {
                    c.push((k.trim().to_string(), v.to_string()));
                }
            }
        }
        let body = r
            .body_mut()
            .with_config()
            .limit(1 << 30)
            .read_to_vec()
            .map_err(|e| e.to_string())?;
        Ok(Resp {
            status,
            headers,
            body,
        })
    }

    /// GET with extra headers.
    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut req = self.agent.get(&format!("{}{path}", self.base));
        let c = self.cookie_header();
        if !c.is_empty() {
            req = req.header("cookie", &c);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.finish(req.call())
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    /// GET.
    pub fn get(&self, path: &str) -> Resp {
        self.get_with(path, &[])
    }

    /// POST a body of `content_type` with extra headers; errors (connection refused or cut) are
    /// returned, not panicked on.
    pub fn try_post(
        &self,
        path: &str,
        content_type: &str,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> Result<Resp, String> {
        let mut req = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("content-type", content_type);
        let c = self.cookie_header();
        if !c.is_empty() {
            req = req.header("cookie", &c);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.finish(req.send(body))
    }

    /// POST an urlencoded form.
    pub fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Resp {
        let body: String = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.try_post(
            path,
            "application/x-www-form-urlencoded",
            body.as_bytes(),
            &[],
        )
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// POST JSON with extra headers.
    pub fn post_json(&self, path: &str, v: &serde_json::Value, headers: &[(&str, &str)]) -> Resp {
        self.try_post(path, "application/json", v.to_string().as_bytes(), headers)
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }

    /// POST multipart/form-data: text `fields` first, then `files` as (field, file name, bytes).
    pub fn try_post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
        headers: &[(&str, &str)],
    ) -> Result<Resp, String> {
        let boundary = "----machimap-test-boundary-7d3f";
        let mut body = Vec::new();
        for (k, v) in fields {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            );
        }
        for (k, name, bytes) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(bytes);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        self.try_post(
            path,
            &format!("multipart/form-data; boundary={boundary}"),
            &body,
            headers,
        )
    }

    /// POST multipart/form-data, panicking on a transport error.
    pub fn post_multipart(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        files: &[(&str, &str, &[u8])],
        headers: &[(&str, &str)],
    ) -> Resp {
        self.try_post_multipart(path, fields, files, headers)
            .unwrap_or_else(|e| panic!("POST {path}: {e}"))
    }
}

/// Percent-encode for application/x-www-form-urlencoded.
pub fn form_encode(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                o.push(b as char)
            }
            b' ' => o.push('+'),
            _ => o.push_str(&format!("%{b:02X}")),
        }
    }
    o
}

/// `machimap user add NAME --role ROLE --db DB` with the password on stdin.
pub fn add_user(db: &Path, name: &str, role: &str, password: &str) {
    use std::io::Write;
    let mut c = Command::new(bin())
        .args(["user", "add", name, "--role", role, "--db"])
        .arg(db)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("machimap user add");
    c.stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("password written");
    let o = c.wait_with_output().expect("user add ran");
    assert!(
        o.status.success(),
        "user add {name}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}
