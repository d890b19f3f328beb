//! Hostile clients and bad days for staff uploads and publishes (issue 14): a huge text field
//! in a chunked upload, a reload that fails after a committed publish, an editor publishing an
//! older staged version over a newer one, and two server processes on one database folder.

use crate::support::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const EDITOR: &str = "edith";
const EDITOR_PW: &str = "editor password 1";
const ADMIN: &str = "ada";
const ADMIN_PW: &str = "admin password 12";
const BOUNDARY: &str = "----machimap-hostile-5e1f";
const MB: u64 = 1024 * 1024;

/// A database holding only the sample city's 03 shelter list (quick to start), with an editor
/// and an admin.
fn shelter_db() -> (tempfile::TempDir, PathBuf) {
    let d = tmp();
    let db = d.path().join("hostile.duckdb");
    let a = shelters_without(d.path(), 0);
    let (code, v) = ingest_json(&db, "shelters", &[&a], &[]);
    assert_eq!(code, 0, "{v:#}");
    add_user(&db, EDITOR, "editor", EDITOR_PW);
    add_user(&db, ADMIN, "admin", ADMIN_PW);
    (d, db)
}

/// The sample city's 03 shelter list without its last `drop` rows, as bytes.
fn shelters_minus(drop: usize) -> Vec<u8> {
    let raw = std::fs::read(sample_dir().join("shelters_339997_evacuation_space.csv")).unwrap();
    let mut lines: Vec<&[u8]> = raw
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty() && *l != b"\r")
        .collect();
    assert!(lines.len() > drop + 2);
    lines.truncate(lines.len() - drop);
    let mut out = lines.join(&b"\n"[..]);
    out.push(b'\n');
    out
}

fn shelters_without(dir: &Path, drop: usize) -> PathBuf {
    let p = dir.join(format!("shelters_minus{drop}.csv"));
    std::fs::write(&p, shelters_minus(drop)).unwrap();
    p
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

fn csrf_of(html: &str) -> String {
    between(html, "name=\"csrf\" value=\"", "\"")
        .expect("a csrf field")
        .to_string()
}

fn login(base: &str, user: &str, pw: &str) -> Client {
    let c = Client::new(base);
    let csrf = csrf_of(&c.get("/admin/login").text());
    let r = c.post_form(
        "/admin/login",
        &[
            ("csrf", &csrf),
            ("user", user),
            ("password", pw),
            ("next", "/admin"),
        ],
    );
    assert_eq!(r.status, 303, "login {user}: {}", r.text());
    c
}

/// An API token for `user`, made in the console by an admin: the `Authorization` value.
fn bearer(base: &str, user: &str) -> String {
    let admin = login(base, ADMIN, ADMIN_PW);
    let t = csrf_of(&admin.get("/admin/tokens").text());
    let r = admin.post_form(
        "/admin/tokens",
        &[("csrf", &t), ("user", user), ("label", "hostile")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let secret = between(&r.text(), "id=\"new-token\">", "</p>")
        .expect("the new token is shown")
        .to_string();
    format!("Bearer {secret}")
}

fn published(s: &Server, d: &str) -> Option<i64> {
    s.get("/healthz").json()["datasets"][d]["version"].as_i64()
}

/// Stage `bytes` as a new shelter version through the API; returns the version.
fn stage(api: &Client, auth: &str, bytes: &[u8]) -> i64 {
    let r = api.post_multipart(
        "/api/admin/datasets/shelters/uploads",
        &[],
        &[("file", "shelters.csv", bytes)],
        &[("authorization", auth)],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["outcome"]["version"].as_i64().unwrap()
}

fn post(api: &Client, auth: &str, path: &str) -> Resp {
    api.try_post(path, "application/json", b"", &[("authorization", auth)])
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

/// The audit log (as admin), newest first.
fn audit(api: &Client, admin_auth: &str) -> Vec<serde_json::Value> {
    let r = api.get_with("/api/admin/audit", &[("authorization", admin_auth)]);
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["entries"].as_array().unwrap().clone()
}

/// Wait up to `secs` for `f` to hold.
fn eventually(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(secs) {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    f()
}

// ---------------------------------------------------------------------------------------------
// A raw HTTP/1.1 request with a chunked body (no Content-Length), written piece by piece.

fn connect_chunked(base: &str, path: &str, headers: &[(&str, &str)]) -> TcpStream {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nTransfer-Encoding: chunked\r\nContent-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).expect("request head");
    s
}

fn chunk(w: &mut impl Write, b: &[u8]) -> std::io::Result<()> {
    write!(w, "{:x}\r\n", b.len())?;
    w.write_all(b)?;
    w.write_all(b"\r\n")
}

fn end_chunks(w: &mut impl Write) -> std::io::Result<()> {
    w.write_all(b"0\r\n\r\n")?;
    w.flush()
}

/// Read one response: (status, body). A reset after the whole answer arrived is fine.
fn read_response(s: &mut TcpStream) -> (u16, String) {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match s.read(&mut tmp) {
            Ok(0) | Err(_) => panic!(
                "connection ended before a response: {:?}",
                String::from_utf8_lossy(&buf)
            ),
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status line: {head}"));
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        match s.read(&mut tmp) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&tmp[..n]),
        }
    }
    let body = String::from_utf8_lossy(&buf[head_end..]).to_string();
    (status, body)
}

/// A `Vm…` line of /proc/PID/status, in bytes.
fn vm(pid: u32, key: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Send `prefix`, then `size` bytes of `fill` (made as they go, never held whole), then
/// `suffix`, as a chunked body to `path`; returns (status, body, bytes the server took, the
/// server's resident memory growth while it ran).
fn hostile_chunked(
    s: &Server,
    path: &str,
    auth: &str,
    prefix: &[u8],
    fill: u8,
    size: u64,
    suffix: &[u8],
) -> (u16, String, u64, u64) {
    let pid = s.pid();
    let before = vm(pid, "VmRSS");
    // Reset the peak (VmHWM) to now, where the kernel allows it; sampled as well.
    let peak_reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sampler = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut max = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                max = max.max(vm(pid, "VmRSS"));
                std::thread::sleep(Duration::from_millis(10));
            }
            max
        })
    };
    let mut conn = connect_chunked(&s.base, path, &[("Authorization", auth)]);
    let mut w = conn.try_clone().unwrap();
    let (prefix, suffix) = (prefix.to_vec(), suffix.to_vec());
    let writer = std::thread::spawn(move || -> u64 {
        let piece = vec![fill; 64 * 1024];
        let mut sent = 0u64;
        // (An empty chunk would end the body.)
        if !prefix.is_empty() && chunk(&mut w, &prefix).is_err() {
            return sent;
        }
        while sent < size {
            let n = piece.len().min((size - sent) as usize);
            if chunk(&mut w, &piece[..n]).is_err() {
                return sent;
            }
            sent += n as u64;
        }
        if !suffix.is_empty() {
            let _ = chunk(&mut w, &suffix);
        }
        let _ = end_chunks(&mut w);
        sent
    });
    let (status, body) = read_response(&mut conn);
    drop(conn);
    let sent = writer.join().unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut peak = sampler.join().unwrap();
    if peak_reset {
        peak = peak.max(vm(pid, "VmHWM"));
    }
    (status, body, sent, peak.saturating_sub(before))
}

/// Issue 14 finding 3: a text (non-file) field is capped while it streams, and a chunked body
/// is held to the limits too: a 200 MB field is refused with 413 after its first 64 KiB, the
/// server stops reading, and its memory does not grow with the field.
#[test]
fn hostile_huge_text_field_in_a_chunked_upload_is_refused_with_bounded_memory() {
    let (d, db) = shelter_db();
    let s = Server::start(&db);
    let auth = bearer(&s.base, EDITOR);
    let path = "/api/admin/datasets/shelters/uploads";
    let head = format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\n")
        .into_bytes();
    let tail = format!("\r\n--{BOUNDARY}--\r\n").into_bytes();
    let size = 200 * MB;
    let (status, body, sent, grew) = hostile_chunked(&s, path, &auth, &head, b'a', size, &tail);
    eprintln!("200 MB text field: server grew {grew} bytes, took {sent} bytes of the field");
    assert_eq!(status, 413, "{body}");
    assert!(
        body.contains("note") && body.contains("65536") && body.contains("上限"),
        "names the field and the limit, in Japanese and English: {body}"
    );
    assert!(grew < 100 * MB, "the server grew by {} MB", grew / MB);
    assert!(sent < size, "the server read the whole 200 MB field");

    // Nor is a body that never reaches a part's data buffered: 64 MB with no boundary at all.
    let (status, body, sent, grew) = hostile_chunked(&s, path, &auth, b"", b'x', 64 * MB, b"");
    eprintln!("64 MB without a boundary: server grew {grew} bytes, took {sent} bytes");
    assert_eq!(status, 413, "{body}");
    assert!(grew < 100 * MB, "the server grew by {} MB", grew / MB);

    // The server still works, and an upload with a small text field goes through, even with
    // a large "no file chosen" field before its file (skipped, not taken for headers).
    let api = Client::new(&s.base);
    let r = api.post_multipart(
        path,
        &[("note", "nightly refresh")],
        &[
            ("file", "", &vec![b'z'; 10 * MB as usize]),
            ("file", "shelters.csv", &shelters_minus(3)),
        ],
        &[("authorization", &auth)],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let leftovers = std::fs::read_dir(format!("{}.admin/uploads", db.display()))
        .map(|r| r.count())
        .unwrap_or(0);
    assert_eq!(leftovers, 0, "refused uploads leave no files");
    drop(d);
}

/// The field and body limits are flags; a chunked file over the upload limit is refused
/// while it streams, a text field over the field limit with a Content-Length is answered
/// cleanly (the body is small enough to read to its end).
#[test]
fn hostile_upload_limits_are_configurable() {
    let (d, db) = shelter_db();
    let s = Server::start_with(
        &db,
        &["--upload-limit-mb", "1", "--upload-field-limit-kb", "1"],
    );
    let auth = bearer(&s.base, EDITOR);
    let api = Client::new(&s.base);
    let path = "/api/admin/datasets/shelters/uploads";
    let long = "x".repeat(2048);
    let r = api.post_multipart(
        path,
        &[("note", &long)],
        &[("file", "shelters.csv", &shelters_minus(3))],
        &[("authorization", &auth)],
    );
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.text().contains("1024"), "{}", r.text());
    let r = api.post_multipart(
        path,
        &[("note", &long[..1000])],
        &[("file", "shelters.csv", &shelters_minus(3))],
        &[("authorization", &auth)],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    // A "no file chosen" field still counts toward the limit.
    let r = api.post_multipart(
        path,
        &[],
        &[("file", "", &vec![b'z'; 2 * MB as usize])],
        &[("authorization", &auth)],
    );
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.text().contains("1048576"), "{}", r.text());
    // A 3 MB chunked file with a 1 MB limit.
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\r\n"
    )
    .into_bytes();
    let tail = format!("\r\n--{BOUNDARY}--\r\n").into_bytes();
    let (status, body, _, _) = hostile_chunked(&s, path, &auth, &head, b' ', 3 * MB, &tail);
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("1048576"), "{body}");
    drop(d);
}

/// Issue 14 finding 6: once the publish transaction committed, the answer and the audit say
/// published even when the reload after it fails; the poll serves it soon after.
#[test]
fn hostile_publish_is_published_even_when_the_reload_after_it_fails() {
    let (d, db) = shelter_db();
    let s = Server::start_env(&db, &[], &[("MACHIMAP_TEST_FAIL_RELOADS", "2")]);
    let auth = bearer(&s.base, EDITOR);
    let admin_auth = bearer(&s.base, ADMIN);
    let api = Client::new(&s.base);
    let v = stage(&api, &auth, &shelters_minus(3));
    assert_eq!(v, 2);

    // Publish a staged version: the first reload after it fails.
    let r = post(
        &api,
        &auth,
        &format!("/api/admin/datasets/shelters/versions/{v}/publish"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["ok"], true);
    assert_eq!(j["action"], "publish");
    let log = audit(&api, &admin_auth);
    let e = log
        .iter()
        .find(|e| e["target"] == "shelters/2")
        .expect("an audit entry of the publish");
    assert_eq!(e["action"], "publish", "{e}");
    assert!(e["detail"].as_str().unwrap().starts_with("ok"), "{e}");
    assert!(
        eventually(10, || published(&s, "shelters") == Some(2)),
        "the poll serves the publish"
    );

    // Upload and publish in one call: the second reload fails too.
    let r = api.post_multipart(
        "/api/admin/datasets/shelters/uploads?publish=true",
        &[],
        &[("file", "shelters.csv", &shelters_minus(5))],
        &[("authorization", &auth)],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["published"], true);
    let log = audit(&api, &admin_auth);
    assert!(
        log.iter()
            .any(|e| e["action"] == "publish" && e["target"] == "shelters/3"),
        "{log:#?}"
    );
    assert!(
        !log.iter().any(|e| e["action"] == "upload_refused"
            || e["detail"].as_str().unwrap_or("").contains("refused")),
        "{log:#?}"
    );
    assert!(eventually(10, || published(&s, "shelters") == Some(3)));
    drop(d);
}

/// Issue 14 finding 10: publishing a staged version older than the published one is a
/// rollback: an editor gets 403 (by either route), an admin may, and it is audited as one.
#[test]
fn hostile_editor_cannot_publish_an_older_staged_version_over_a_newer_one() {
    let (d, db) = shelter_db();
    let s = Server::start(&db);
    let auth = bearer(&s.base, EDITOR);
    let admin_auth = bearer(&s.base, ADMIN);
    let api = Client::new(&s.base);
    let older = shelters_minus(3);
    let v2 = stage(&api, &auth, &older);
    let v3 = stage(&api, &auth, &shelters_minus(5));
    assert_eq!((v2, v3), (2, 3));
    let r = post(
        &api,
        &auth,
        "/api/admin/datasets/shelters/versions/3/publish",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(published(&s, "shelters"), Some(3));

    let r = post(
        &api,
        &auth,
        "/api/admin/datasets/shelters/versions/2/publish",
    );
    assert_eq!(r.status, 403, "{}", r.text());
    let m = r.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(
        m.contains("rollback") && m.contains("管理者") && m.contains("admin"),
        "{m}"
    );
    // The same files again with ?publish=true would publish version 2 as well.
    let r = api.post_multipart(
        "/api/admin/datasets/shelters/uploads?publish=true",
        &[],
        &[("file", "shelters.csv", &older)],
        &[("authorization", &auth)],
    );
    assert_eq!(r.status, 403, "{}", r.text());
    // The console says the same.
    let editor = login(&s.base, EDITOR, EDITOR_PW);
    let t = csrf_of(&editor.get("/admin/datasets/shelters").text());
    let r = editor.post_form(
        "/admin/datasets/shelters/versions/2/publish",
        &[("csrf", &t)],
    );
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("ロールバック"));
    assert_eq!(published(&s, "shelters"), Some(3));
    let log = audit(&api, &admin_auth);
    assert!(log
        .iter()
        .any(|e| e["action"] == "publish" && e["detail"].as_str().unwrap().contains("refused")));

    // An admin may, and it is recorded as the rollback it is.
    let r = post(
        &api,
        &admin_auth,
        "/api/admin/datasets/shelters/versions/2/publish",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(published(&s, "shelters"), Some(2));
    let log = audit(&api, &admin_auth);
    let e = &log[0];
    assert_eq!(
        (e["action"].as_str(), e["target"].as_str()),
        (Some("rollback"), Some("shelters/2")),
        "{e}"
    );
    // Publishing a newer staged version stays an editor's job.
    let v4 = stage(&api, &auth, &shelters_minus(7));
    let r = post(
        &api,
        &auth,
        &format!("/api/admin/datasets/shelters/versions/{v4}/publish"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    drop(d);
}

/// The first shelter fid and the CSRF token of the console's shelter page.
fn shelter_form(c: &Client) -> (i64, String) {
    let page = c.get("/admin/shelters").text();
    let fid = between(&page, "action=\"/admin/shelters/", "/status")
        .unwrap()
        .parse()
        .unwrap();
    (fid, csrf_of(&page))
}

fn status_of(s: &Server, fid: i64) -> Option<String> {
    s.get("/api/shelter-status").json()["shelters"]
        .as_array()?
        .iter()
        .find(|x| x["fid"] == fid)
        .and_then(|x| x["status"].as_str().map(str::to_string))
}

/// Issue 14 finding 8, status: two server processes on one database folder each show the
/// shelter status the other sets.
#[test]
fn hostile_two_servers_see_each_others_shelter_status() {
    let (d, db) = shelter_db();
    let a = Server::start(&db);
    let b = Server::start(&db);
    let ea = login(&a.base, EDITOR, EDITOR_PW);
    let eb = login(&b.base, EDITOR, EDITOR_PW);
    let (fid, ta) = shelter_form(&ea);
    let (_, tb) = shelter_form(&eb);
    let r = ea.post_form(
        &format!("/admin/shelters/{fid}/status"),
        &[("csrf", &ta), ("status", "open"), ("evacuees", "12")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert!(
        eventually(5, || status_of(&b, fid).as_deref() == Some("open")),
        "server B shows what A set"
    );
    let r = eb.post_form(
        &format!("/admin/shelters/{fid}/status"),
        &[("csrf", &tb), ("status", "full"), ("evacuees", "300")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(status_of(&b, fid).as_deref(), Some("full"));
    assert!(
        eventually(5, || status_of(&a, fid).as_deref() == Some("full")),
        "server A shows what B set"
    );
    drop((a, b));
    drop(d);
}

/// Issue 14 finding 8, uploads: a server starting on a folder another server uses leaves that
/// server's upload in progress alone, and removes only leftovers whose process is gone.
#[test]
fn hostile_starting_server_keeps_another_servers_upload_in_progress() {
    let (d, db) = shelter_db();
    let a = Server::start(&db);
    let auth = bearer(&a.base, EDITOR);
    let uploads = PathBuf::from(format!("{}.admin/uploads", db.display()));

    // An upload to A, half sent.
    let file = shelters_minus(4);
    let (first, rest) = file.split_at(file.len() / 2);
    let mut conn = connect_chunked(
        &a.base,
        "/api/admin/datasets/shelters/uploads",
        &[("Authorization", &auth)],
    );
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"shelters.csv\"\r\n\r\n"
    );
    chunk(&mut conn, head.as_bytes()).unwrap();
    chunk(&mut conn, first).unwrap();
    conn.flush().unwrap();
    let staged_file = || -> Option<PathBuf> {
        std::fs::read_dir(&uploads)
            .ok()?
            .flatten()
            .map(|e| e.path().join("0").join("shelters.csv"))
            .find(|p| p.exists())
    };
    assert!(eventually(10, || staged_file().is_some()), "A is receiving");
    let in_progress = staged_file().unwrap();

    // Leftovers: a crashed upload (owner file, nobody holding it), an old folder without one,
    // and a young folder without one (an upload that is just starting).
    let crashed = uploads.join("crashed0000");
    std::fs::create_dir_all(crashed.join("0")).unwrap();
    std::fs::write(crashed.join(".owner"), "999999\n").unwrap();
    std::fs::write(crashed.join("0").join("x.csv"), "a\n").unwrap();
    let old = uploads.join("old00000000");
    std::fs::create_dir_all(old.join("0")).unwrap();
    let hour_ago = std::time::SystemTime::now() - Duration::from_secs(3600);
    std::fs::File::open(&old)
        .unwrap()
        .set_modified(hour_ago)
        .unwrap();
    let young = uploads.join("young000000");
    std::fs::create_dir_all(&young).unwrap();

    let b = Server::start(&db);
    assert!(in_progress.exists(), "B removed A's upload in progress");
    assert!(!crashed.exists(), "a crashed upload's folder is removed");
    assert!(!old.exists(), "an old folder without an owner is removed");
    assert!(young.exists(), "a young folder without an owner is kept");

    chunk(&mut conn, rest).unwrap();
    chunk(&mut conn, format!("\r\n--{BOUNDARY}--\r\n").as_bytes()).unwrap();
    end_chunks(&mut conn).unwrap();
    let (status, body) = read_response(&mut conn);
    assert_eq!(status, 201, "{body}");
    assert!(
        !in_progress.exists(),
        "the finished upload's files are removed"
    );
    drop((a, b));
    drop(d);
}

/// Subfolders of the uploads folder (an upload's files, an upload's checked rows).
fn upload_folders(db: &Path) -> usize {
    std::fs::read_dir(format!("{}.admin/uploads", db.display()))
        .map(|r| r.flatten().filter(|e| e.path().is_dir()).count())
        .unwrap_or(0)
}

/// Issue 14 finding 4: an upload's files are read and checked without the database lock, so
/// the console answers while a parse runs (held here by the test's gate); the lock is taken
/// only to append the checked rows.
#[test]
fn hostile_a_parse_in_progress_does_not_hold_the_database_lock() {
    let (d, db) = shelter_db();
    let gate = d.path().join("parse.gate");
    std::fs::write(&gate, "").unwrap();
    let s = Server::start_env(
        &db,
        &[],
        &[("MACHIMAP_TEST_PARSE_GATE", gate.to_str().unwrap())],
    );
    let auth = bearer(&s.base, EDITOR);
    let (base, a2) = (s.base.clone(), auth.clone());
    let upload = std::thread::spawn(move || {
        let r = Client::new(&base).post_multipart(
            "/api/admin/datasets/shelters/uploads",
            &[],
            &[("file", "shelters.csv", &shelters_minus(3))],
            &[("authorization", &a2)],
        );
        (r.status, r.text())
    });
    assert!(
        eventually(10, || upload_folders(&db) == 2),
        "the upload reached its parse"
    );
    // The dashboard's query needs the lock: it answers while the parse waits.
    let (tx, rx) = std::sync::mpsc::channel();
    let (base, a3) = (s.base.clone(), auth.clone());
    std::thread::spawn(move || {
        let r = Client::new(&base).get_with("/api/admin/datasets", &[("authorization", &a3)]);
        let _ = tx.send(r.status);
    });
    let answered = rx.recv_timeout(Duration::from_secs(10));
    std::fs::remove_file(&gate).unwrap();
    assert_eq!(answered, Ok(200), "the console waited for the parse");
    let (status, body) = upload.join().unwrap();
    assert_eq!(status, 201, "{body}");
    let j: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(j["outcome"]["version"], 2);
    assert_eq!(published(&s, "shelters"), Some(1));
    assert_eq!(upload_folders(&db), 0, "the checked rows are removed");
    drop(d);
}

/// Issue 14 finding 4: a parse over its wall-clock budget (`--upload-parse-secs`) is refused
/// with a message saying so; nothing is stored.
#[test]
fn hostile_a_parse_over_its_budget_is_refused() {
    let (d, db) = shelter_db();
    let gate = d.path().join("parse.gate");
    std::fs::write(&gate, "").unwrap();
    let s = Server::start_env(
        &db,
        &["--upload-parse-secs", "1"],
        &[("MACHIMAP_TEST_PARSE_GATE", gate.to_str().unwrap())],
    );
    let auth = bearer(&s.base, EDITOR);
    let api = Client::new(&s.base);
    let r = api.post_multipart(
        "/api/admin/datasets/shelters/uploads?publish=true",
        &[],
        &[("file", "shelters.csv", &shelters_minus(3))],
        &[("authorization", &auth)],
    );
    std::fs::remove_file(&gate).unwrap();
    assert_eq!(r.status, 413, "{}", r.text());
    let m = r.json()["error"].as_str().unwrap_or_default().to_string();
    assert!(
        m.contains("制限時間") && m.contains("limit of 1 s") && m.contains("machimap ingest"),
        "{m}"
    );
    let vs = api.get_with(
        "/api/admin/datasets/shelters/versions",
        &[("authorization", &auth)],
    );
    assert_eq!(vs.json()["versions"].as_array().unwrap().len(), 1);
    assert_eq!(published(&s, "shelters"), Some(1));
    // Within the budget the same upload goes through.
    let r = api.post_multipart(
        "/api/admin/datasets/shelters/uploads?publish=true",
        &[],
        &[("file", "shelters.csv", &shelters_minus(3))],
        &[("authorization", &auth)],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(published(&s, "shelters"), Some(2));
    drop(d);
}

/// Mutated multipart bodies (boundaries, part heads, dispositions, lengths cut or repeated)
/// sent as a staff upload: each is answered with a status below 500 or a refusal, never a
/// crash, the published data stays as it was, and the server's memory stays bounded. The
/// mutations are seeded, so a failure is reproducible (`FUZZ_SEED`).
#[test]
fn hostile_mutated_multipart_uploads_are_refused_cleanly() {
    use rand::{Rng, SeedableRng};
    let (_d, db) = shelter_db();
    let s = Server::start(&db);
    let api = Client::new(&s.base);
    let auth = bearer(&s.base, EDITOR);
    let before = published(&s, "shelters");
    let pid = s.pid();
    let rss0 = vm(pid, "VmRSS");
    let csv = shelters_minus(1);
    let mut valid = Vec::new();
    valid.extend_from_slice(
        format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nmonthly\r\n\
             --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"shelters.csv\"\r\n\
             Content-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    valid.extend_from_slice(&csv);
    valid.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    const TOKENS: &[&[u8]] = &[
        b"\r\n",
        b"--",
        b"\r\n\r\n",
        b"------machimap-hostile-5e1f",
        b"------machimap-hostile-5e1f--",
        b"Content-Disposition: form-data; name=\"file\"; filename=\"../../x.zip\"\r\n",
        b"Content-Disposition: form-data; name=\"mapping\"\r\n\r\n{",
        b"filename*=UTF-8''%E9%81%BF%E9%9B%A3.csv",
        b"\xff\xfe",
        b"\x00",
        b"\"",
        b";",
    ];
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(14);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut statuses = std::collections::BTreeMap::new();
    for i in 0..150 {
        let mut b = valid.clone();
        for _ in 0..rng.gen_range(1..5) {
            let n = b.len();
            match rng.gen_range(0..5) {
                0 => {
                    let at = rng.gen_range(0..n);
                    b[at] = rng.gen();
                }
                1 => {
                    let at = rng.gen_range(0..=n);
                    let t = TOKENS[rng.gen_range(0..TOKENS.len())];
                    b.splice(at..at, t.iter().copied());
                }
                2 => {
                    let at = rng.gen_range(0..n);
                    let len = rng.gen_range(1..=(n - at).min(400));
                    b.drain(at..at + len);
                }
                3 => {
                    let at = rng.gen_range(0..n);
                    let len = rng.gen_range(1..=(n - at).min(200));
                    let piece = b[at..at + len].to_vec();
                    for _ in 0..rng.gen_range(1..20) {
                        b.splice(at..at, piece.iter().copied());
                    }
                }
                _ => b.truncate(rng.gen_range(0..n)),
            }
        }
        // Sometimes the header's boundary is wrong, quoted or missing.
        let ct = match rng.gen_range(0..6) {
            0 => "multipart/form-data".to_string(),
            1 => format!("multipart/form-data; boundary=\"{BOUNDARY}\""),
            2 => format!("multipart/form-data; boundary={BOUNDARY}x"),
            _ => format!("multipart/form-data; boundary={BOUNDARY}"),
        };
        let r = api.try_post(
            "/api/admin/datasets/shelters/uploads",
            &ct,
            &b,
            &[("authorization", &auth)],
        );
        let status = match r {
            Ok(r) => r.status,
            Err(e) => panic!("input {i} (seed {seed}): no answer: {e}"),
        };
        assert!(
            status < 500 || status == 503,
            "input {i} (seed {seed}): {status}"
        );
        *statuses.entry(status).or_insert(0u32) += 1;
    }
    println!("multipart fuzz, seed {seed}: statuses {statuses:?}");
    // Nothing was published by the uploads (a staged version is not published).
    assert_eq!(published(&s, "shelters"), before);
    assert_eq!(s.get("/healthz").status, 200);
    let grown = vm(pid, "VmRSS").saturating_sub(rss0);
    assert!(grown < 200 * MB, "the server grew by {} MB", grown / MB);
}
