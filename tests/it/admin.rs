//! Staff console (`/admin`) and admin API (`/api/admin`) over loopback: sign-in, upload, report,
//! preview, publish, discard, rollback, history, audit log, API tokens, shelter status, every
//! refusal, and SIGKILLs of the server during uploads and publishes.

use crate::support::*;
use machimap::dataset::DatasetId;
use machimap::http::route::{Access, STAFF};
use machimap::store::Store;
use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const EDITOR: &str = "edith";
const EDITOR_PW: &str = "editor password 1";
const ADMIN: &str = "ada";
const ADMIN_PW: &str = "admin password 12";

/// A private copy of the sample city with an editor and an admin.
fn setup() -> (tempfile::TempDir, PathBuf) {
    let d = tmp();
    let db = sample_db_copy(d.path());
    add_user(&db, EDITOR, "editor", EDITOR_PW);
    add_user(&db, ADMIN, "admin", ADMIN_PW);
    (d, db)
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
    let page = c.get("/admin/login");
    assert_eq!(page.status, 200);
    let csrf = csrf_of(&page.text());
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
    assert_eq!(r.header("location"), Some("/admin"));
    let sc = r.header("set-cookie").unwrap_or("");
    assert!(
        sc.contains("HttpOnly") && sc.contains("SameSite=Strict"),
        "{sc}"
    );
    c
}

/// The CSRF token of a page the client can see.
fn csrf(c: &Client, page: &str) -> String {
    let r = c.get(page);
    assert_eq!(r.status, 200, "{page}: {}", r.text());
    csrf_of(&r.text())
}

/// Create an API token for `user` in the console (as admin); returns the secret.
fn make_token(admin: &Client, user: &str) -> String {
    let t = csrf(admin, "/admin/tokens");
    let r = admin.post_form(
        "/admin/tokens",
        &[("csrf", &t), ("user", user), ("label", "nightly <refresh>")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.text();
    assert!(body.contains("nightly &#60;refresh&#62;"), "label escaped");
    between(&body, "id=\"new-token\">", "</p>")
        .expect("the new token is shown")
        .to_string()
}

fn published(s: &Server, d: &str) -> Option<i64> {
    s.get("/healthz").json()["datasets"][d]["version"].as_i64()
}

fn assert_html_headers(r: &Resp) {
    let csp = r.header("content-security-policy").unwrap_or("");
    assert!(csp.contains("frame-ancestors 'none'"), "CSP: {csp}");
    assert!(csp.contains("default-src 'none'"), "CSP: {csp}");
    assert!(!csp.contains("script-src"), "no script allowed: {csp}");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert!(r.header("referrer-policy").is_some());
    assert!(r
        .header("content-type")
        .unwrap_or("")
        .starts_with("text/html"));
}

/// The sample city's 03 shelter list with the first shelter renamed to `<script>…` and the
/// last row removed, in the file's own encoding.
fn modified_shelters() -> Vec<u8> {
    let raw = std::fs::read(sample_dir().join("shelters_339997_evacuation_space.csv")).unwrap();
    let (text, sjis_file) = match std::str::from_utf8(&raw) {
        Ok(t) => (t.trim_start_matches('\u{feff}').to_string(), false),
        Err(_) => (encoding_rs::SHIFT_JIS.decode(&raw).0.into_owned(), true),
    };
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = rd.headers().unwrap().clone();
    let name_col = headers
        .iter()
        .position(|h| h == "名称")
        .expect("名称 column");
    let mut rows: Vec<csv::StringRecord> = rd.records().map(|r| r.unwrap()).collect();
    assert!(rows.len() > 3);
    rows.pop();
    let mut first: Vec<String> = rows[0].iter().map(str::to_string).collect();
    first[name_col] = "<script>alert(1)</script>避難所".into();
    rows[0] = csv::StringRecord::from(first);
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    w.write_record(&headers).unwrap();
    for r in &rows {
        w.write_record(r).unwrap();
    }
    let out = String::from_utf8(w.into_inner().unwrap()).unwrap();
    if sjis_file {
        sjis(&out)
    } else {
        format!("\u{feff}{out}").into_bytes()
    }
}

/// The sample city's 03 shelter list without its last `drop` rows, written into `dir`.
fn shelters_without(dir: &Path, drop: usize) -> PathBuf {
    let raw = std::fs::read(sample_dir().join("shelters_339997_evacuation_space.csv")).unwrap();
    let mut lines: Vec<&[u8]> = raw
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty() && *l != b"\r")
        .collect();
    assert!(lines.len() > drop + 2);
    lines.truncate(lines.len() - drop);
    let mut out = lines.join(&b"\n"[..]);
    out.push(b'\n');
    let p = dir.join(format!("shelters_minus{drop}.csv"));
    std::fs::write(&p, out).unwrap();
    p
}

#[test]
fn admin_every_route_requires_authentication() {
    let (d, db) = setup();
    let s = Server::start(&db);
    let anon = Client::new(&s.base);
    let admin = login(&s.base, ADMIN, ADMIN_PW);
    let editor = login(&s.base, EDITOR, EDITOR_PW);
    let editor_token = make_token(&admin, EDITOR);
    assert!(STAFF.len() >= 30);
    for (r, method) in STAFF
        .iter()
        .flat_map(|r| r.methods.iter().map(move |m| (r, *m)))
    {
        let path = r
            .path
            .replace("{dataset}", "shelters")
            .replace("{version}", "1")
            .replace("{fid}", "1")
            .replace("{name}", EDITOR)
            .replace("{id}", "abc");
        let api = path.starts_with("/api/");
        let call = |c: &Client, headers: &[(&str, &str)]| -> Resp {
            if method == "get" {
                c.get_with(&path, headers)
            } else {
                c.try_post(&path, "application/x-www-form-urlencoded", b"", headers)
                    .unwrap()
            }
        };
        if r.access == Access::Public {
            if method == "get" {
                assert_eq!(call(&anon, &[]).status, 200, "{path}");
            }
            continue;
        }
        let resp = call(&anon, &[]);
        if api {
            assert_eq!(resp.status, 401, "{method} {path}");
            let j = resp.json();
            assert_eq!(j["ok"], false);
            assert_eq!(j["code"], "unauthorized");
            let bad = call(&anon, &[("authorization", "Bearer mmt_0000")]);
            assert_eq!(bad.status, 401, "{method} {path} with a bad token");
            if r.access == Access::Admin {
                let auth = format!("Bearer {editor_token}");
                let e = call(&anon, &[("authorization", &auth)]);
                assert_eq!(e.status, 403, "{method} {path} as editor");
                assert_eq!(e.json()["code"], "forbidden");
            }
        } else {
            assert_eq!(resp.status, 303, "{method} {path}");
            assert!(
                resp.header("location")
                    .unwrap_or("")
                    .starts_with("/admin/login"),
                "{path}"
            );
            if r.access == Access::Admin {
                let e = call(&editor, &[]);
                assert_eq!(e.status, 403, "{method} {path} as editor");
                assert_html_headers(&e);
            }
        }
    }
    // Every page answers with the security headers, the sign-in page included.
    assert_html_headers(&anon.get("/admin/login"));
    assert_html_headers(&admin.get("/admin"));
    drop(d);
}

#[test]
fn admin_console_upload_preview_publish_rollback_history_audit() {
    let (d, db) = setup();
    let s = Server::start(&db);
    let editor = login(&s.base, EDITOR, EDITOR_PW);
    let home = editor.get("/admin");
    assert_eq!(home.status, 200);
    assert_html_headers(&home);
    let home = home.text();
    assert!(home.contains("<html lang=\"ja\">") && home.contains("href=\"#main\""));
    assert!(home.contains("/admin/datasets/shelters"));
    assert_eq!(published(&s, "shelters"), Some(1));

    // Upload a changed shelter file: stored as version 2, not published.
    let t = csrf(&editor, "/admin/datasets/shelters");
    let file = modified_shelters();
    let gsi = std::fs::read(sample_dir().join("shelters_gsi_33999_1.csv")).unwrap();
    let fname = "<img src=x onerror=alert(1)>.csv";
    let r = editor.post_multipart(
        "/admin/datasets/shelters/upload",
        &[("csrf", &t)],
        &[
            ("file", fname, &file),
            ("file", "shelters_gsi_33999_1.csv", &gsi),
        ],
        &[],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let loc = r.header("location").unwrap().to_string();
    assert!(
        loc.starts_with("/admin/datasets/shelters/versions/2"),
        "{loc}"
    );
    assert_eq!(
        published(&s, "shelters"),
        Some(1),
        "an upload publishes nothing"
    );

    // The preview: report, counts, changed attributes, all escaped.
    let p = editor.get(&loc);
    assert_eq!(p.status, 200);
    assert_html_headers(&p);
    let page = p.text();
    assert!(page.contains("検査結果 / Validation report"), "{page}");
    let counts = between(&page, "変更内容 / What changes", "</ul>").unwrap_or("");
    let count = |what: &str| -> u64 {
        between(counts, &format!("{what}: <strong>"), "</strong>")
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(count("追加 / added") <= 1, "{counts}");
    assert!(count("変更 / changed") >= 1, "{counts}");
    assert!(
        count("削除 / removed") + count("変更 / changed") >= 2,
        "{counts}"
    );
    let unchanged: u64 = between(counts, "変更なし / unchanged: ", "</li>")
        .unwrap()
        .parse()
        .unwrap();
    assert!(unchanged > 10, "{counts}");
    let changes = between(&page, "変更された属性 / Changed attributes", "</table>").unwrap();
    assert!(changes.contains("<tr><td>"), "{changes}");
    assert!(page.contains("地区別 / By ward"));
    assert!(page.contains("<svg class=\"map\""));
    assert!(page.contains("&#60;script&#62;alert(1)&#60;/script&#62;避難所"));
    assert!(!page.contains("<script"), "user text is escaped");
    assert!(page.contains("&#60;img src=x onerror=alert(1)&#62;.csv"));
    assert!(!page.contains("<img"));
    let api = s.get_with("/api/admin/datasets/shelters/versions/2", &[]);
    assert_eq!(api.status, 401);

    // Publish (atomic; served at once).
    let t = csrf_of(&page);
    let r = editor.post_form(
        "/admin/datasets/shelters/versions/2/publish",
        &[("csrf", &t)],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(published(&s, "shelters"), Some(2));
    let again = editor.post_form(
        "/admin/datasets/shelters/versions/2/publish",
        &[("csrf", &t)],
    );
    assert_eq!(again.status, 409, "publishing the published version");

    // The shelter page shows the new name, escaped.
    let sh = editor.get("/admin/shelters?q=alert");
    assert_eq!(sh.status, 200);
    let sh = sh.text();
    assert!(
        sh.contains("&#60;script&#62;alert(1)&#60;/script&#62;避難所"),
        "{sh}"
    );
    assert!(!sh.contains("<script"));

    // History: who, when, file name and hash, rows, warnings.
    let h = editor.get("/admin/datasets/shelters").text();
    assert!(h.contains("公開中 / published") && h.contains("過去に公開 / superseded"));
    assert!(h.contains(EDITOR));
    assert!(h.contains("&#60;img src=x onerror=alert(1)&#62;.csv") && !h.contains("<img"));
    assert!(
        !h.contains("/versions/2/rollback"),
        "editors are offered no rollback"
    );
    let vs = s.get("/healthz");
    assert_eq!(vs.status, 200);

    // Any version downloads as CSV.
    let csv1 = editor.get("/admin/datasets/shelters/versions/1/csv");
    assert_eq!(csv1.status, 200);
    assert!(csv1.header("content-type").unwrap().starts_with("text/csv"));
    assert!(csv1.body.starts_with("\u{feff}".as_bytes()));
    let csv2 = editor.get("/admin/datasets/shelters/versions/2/csv").text();
    assert!(csv2.contains("<script>alert(1)</script>避難所"));

    // Rollback is for admins.
    let t = csrf(&editor, "/admin/datasets/shelters");
    let r = editor.post_form(
        "/admin/datasets/shelters/versions/1/rollback",
        &[("csrf", &t)],
    );
    assert_eq!(r.status, 403);
    let r = editor.post_form(
        "/admin/datasets/shelters/versions/1/publish",
        &[("csrf", &t)],
    );
    assert_eq!(r.status, 403, "publish cannot go back: {}", r.text());
    assert_eq!(published(&s, "shelters"), Some(2));
    let admin = login(&s.base, ADMIN, ADMIN_PW);
    let t = csrf(&admin, "/admin/datasets/shelters");
    let hist = admin.get("/admin/datasets/shelters").text();
    assert!(hist.contains("/admin/datasets/shelters/versions/1/rollback"));
    let r = admin.post_form(
        "/admin/datasets/shelters/versions/1/rollback",
        &[("csrf", &t)],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(published(&s, "shelters"), Some(1));

    // Discard: the same file again is a new version (v2 is no longer current), then discarded.
    let t = csrf(&editor, "/admin/datasets/shelters");
    let r = editor.post_multipart(
        "/admin/datasets/shelters/upload",
        &[("csrf", &t)],
        &[("file", "shelters.csv", &file), ("file", "gsi.csv", &gsi)],
        &[],
    );
    assert_eq!(r.status, 303);
    assert!(r.header("location").unwrap().contains("/versions/3"));
    let r = editor.post_form(
        "/admin/datasets/shelters/versions/3/discard",
        &[("csrf", &t)],
    );
    assert_eq!(r.status, 303);
    let r = editor.post_form(
        "/admin/datasets/shelters/versions/3/publish",
        &[("csrf", &t)],
    );
    assert_eq!(r.status, 409, "a discarded version cannot be published");
    assert!(editor
        .get("/admin/datasets/shelters")
        .text()
        .contains("破棄 / discarded"));
    assert_eq!(
        editor.get("/admin/datasets/shelters/versions/3/csv").status,
        404
    );
    assert_eq!(published(&s, "shelters"), Some(1));

    // The audit log has every action, readable by admins only.
    assert_eq!(editor.get("/admin/audit").status, 403);
    let a = admin.get("/admin/audit");
    assert_eq!(a.status, 200);
    let a = a.text();
    for action in ["login", "upload", "publish", "rollback", "discard"] {
        assert!(
            a.contains(&format!("<td>{action}</td>")),
            "{action} in the log"
        );
    }
    assert!(!a.contains("<img"));
    // Sign out ends the session.
    let t = csrf(&editor, "/admin");
    let r = editor.post_form("/admin/logout", &[("csrf", &t)]);
    assert_eq!(r.status, 303);
    assert_eq!(editor.get("/admin").status, 303);
    drop(d);
}

#[test]
fn admin_refusals() {
    let (d, db) = setup();
    let s = Server::start_with(&db, &["--upload-limit-mb", "1"]);
    let editor = login(&s.base, EDITOR, EDITOR_PW);
    let t = csrf(&editor, "/admin/datasets/flood");
    let flood = std::fs::read(sample_dir().join("flood_A31a.geojson")).unwrap();

    // Missing or wrong CSRF token.
    let r = editor.post_multipart(
        "/admin/datasets/flood/upload",
        &[],
        &[("file", "f.geojson", &flood)],
        &[],
    );
    assert_eq!(r.status, 403, "upload without csrf");
    let r = editor.post_multipart(
        "/admin/datasets/flood/upload",
        &[("csrf", "0000")],
        &[("file", "f.geojson", &flood)],
        &[],
    );
    assert_eq!(r.status, 403, "upload with a wrong csrf");
    for path in [
        "/admin/datasets/flood/versions/1/publish",
        "/admin/datasets/flood/versions/1/discard",
        "/admin/shelters/1/status",
        "/admin/logout",
    ] {
        assert_eq!(editor.post_form(path, &[]).status, 403, "{path}");
        assert_eq!(
            editor.post_form(path, &[("csrf", "nope")]).status,
            403,
            "{path}"
        );
    }
    // Wrong role.
    assert_eq!(editor.get("/admin/users").status, 403);
    assert_eq!(
        editor
            .post_form(
                "/admin/users",
                &[
                    ("csrf", &t),
                    ("name", "mallory"),
                    ("role", "admin"),
                    ("password", "0123456789ab")
                ]
            )
            .status,
        403
    );
    // Oversize upload (limit 1 MB).
    let big = vec![b' '; 1_500_000];
    let r = editor.post_multipart(
        "/admin/datasets/flood/upload",
        &[("csrf", &t)],
        &[("file", "big.geojson", &big)],
        &[],
    );
    assert_eq!(r.status, 413, "{}", r.text());
    // Zip bomb: 60 MB of zeros in a few kB.
    let bomb = {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        w.start_file("bomb.shp", o).unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..60 {
            w.write_all(&zeros).unwrap();
        }
        w.finish().unwrap().into_inner()
    };
    assert!(bomb.len() < 1_000_000);
    let r = editor.post_multipart(
        "/admin/datasets/flood/upload",
        &[("csrf", &t)],
        &[("file", "bomb.zip", &bomb)],
        &[],
    );
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.text().contains("ZIP_RATIO"), "{}", r.text());
    // Path traversal inside the zip.
    let evil = {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let o = zip::write::SimpleFileOptions::default();
        w.start_file("../evil.shp", o).unwrap();
        w.write_all(b"x").unwrap();
        w.finish().unwrap().into_inner()
    };
    let r = editor.post_multipart(
        "/admin/datasets/flood/upload",
        &[("csrf", &t)],
        &[("file", "evil.zip", &evil)],
        &[],
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("ZIP_UNSAFE_PATH"));
    assert!(!d.path().join("evil.shp").exists());
    // Wrong dataset kind: a shelter list uploaded as wards is rejected with the report.
    let shelters =
        std::fs::read(sample_dir().join("shelters_339997_evacuation_space.csv")).unwrap();
    let r = editor.post_multipart(
        "/admin/datasets/wards/upload",
        &[("csrf", &t)],
        &[("file", "shelters.csv", &shelters)],
        &[],
    );
    assert_eq!(r.status, 422, "{}", r.text());
    let page = r.text();
    assert!(page.contains("取り込みませんでした") && page.contains("エラー / error"));
    assert_eq!(published(&s, "wards"), Some(1));
    // Unknown dataset.
    let r = editor.post_multipart(
        "/admin/datasets/nope/upload",
        &[("csrf", &t)],
        &[("file", "x.csv", b"a,b\n")],
        &[],
    );
    assert_eq!(r.status, 404);
    // Nothing above made a version.
    let store = Store::open_read_only(&db).unwrap();
    assert_eq!(store.versions(DatasetId::Flood).unwrap().len(), 1);
    assert_eq!(store.versions(DatasetId::Wards).unwrap().len(), 1);
    drop(store);

    // Sign-in: a form without the sign-in page's token is refused.
    let c = Client::new(&s.base);
    let r = c.post_form(
        "/admin/login",
        &[("csrf", "x"), ("user", ADMIN), ("password", ADMIN_PW)],
    );
    assert_eq!(r.status, 403);
    // A user name with markup is escaped wherever it shows.
    let page = c.get("/admin/login");
    let lt = csrf_of(&page.text());
    let r = c.post_form(
        "/admin/login",
        &[
            ("csrf", &lt),
            ("user", "<script>x</script>"),
            ("password", "whatever123"),
        ],
    );
    assert_eq!(r.status, 401);
    // Lockout after five failures, even with the right password then.
    for _ in 0..5 {
        let r = c.post_form(
            "/admin/login",
            &[
                ("csrf", &lt),
                ("user", ADMIN),
                ("password", "wrong password"),
            ],
        );
        assert_eq!(r.status, 401);
    }
    let r = c.post_form(
        "/admin/login",
        &[("csrf", &lt), ("user", ADMIN), ("password", ADMIN_PW)],
    );
    assert_eq!(r.status, 429, "{}", r.text());
    // (The editor is not locked.)
    let admin2 = login(&s.base, EDITOR, EDITOR_PW);
    drop(admin2);
    let audit = std::fs::read_to_string(format!("{}.admin/audit.jsonl", db.display())).unwrap();
    assert!(audit.contains("login_failed") && audit.contains("upload_refused"));

    // An idle session expires.
    let s2 = Server::start_env(&db, &[], &[("MACHIMAP_SESSION_IDLE_SECS", "1")]);
    let ad = login(&s2.base, EDITOR, EDITOR_PW);
    assert_eq!(ad.get("/admin").status, 200);
    std::thread::sleep(Duration::from_millis(2200));
    let r = ad.get("/admin");
    assert_eq!(r.status, 303, "the session expired");
    assert!(r.header("location").unwrap().starts_with("/admin/login"));
    drop(d);
}

#[test]
fn admin_users_and_markup_in_names() {
    let (d, db) = setup();
    let s = Server::start(&db);
    let admin = login(&s.base, ADMIN, ADMIN_PW);
    let t = csrf(&admin, "/admin/users");
    let r = admin.post_form(
        "/admin/users",
        &[
            ("csrf", &t),
            ("name", "<script>alert(1)</script>"),
            ("role", "editor"),
            ("password", "0123456789ab"),
        ],
    );
    assert_eq!(r.status, 400);
    let body = r.text();
    assert!(
        body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{body}"
    );
    assert!(!body.contains("<script"));
    let r = admin.post_form(
        "/admin/users",
        &[
            ("csrf", &t),
            ("name", "sato"),
            ("role", "editor"),
            ("password", "sato password 1"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let sato = login(&s.base, "sato", "sato password 1");
    assert_eq!(sato.get("/admin").status, 200);
    let r = admin.post_form("/admin/users/sato/disable", &[("csrf", &t)]);
    assert_eq!(r.status, 303);
    assert_eq!(
        sato.get("/admin").status,
        303,
        "a disabled user's session ends"
    );
    let a = admin.get("/admin/audit").text();
    assert!(a.contains("user_add") && a.contains("user_disable"));
    assert!(!a.contains("<script"));
    drop(d);
}

#[test]
fn admin_scripted_refresh_with_token() {
    let (d, db) = setup();
    let s = Server::start(&db);
    let admin = login(&s.base, ADMIN, ADMIN_PW);
    let token = make_token(&admin, EDITOR);
    let auth = format!("Bearer {token}");
    let h = [("authorization", auth.as_str())];
    let api = Client::new(&s.base);
    let who = api.get_with("/api/admin/whoami", &h).json();
    assert_eq!(who["user"], EDITOR);
    assert_eq!(who["role"], "editor");

    // The same files as the published version: no new version, and it says so.
    let sample = sample_dir();
    let f03 = std::fs::read(sample.join("shelters_339997_evacuation_space.csv")).unwrap();
    let gsi = std::fs::read(sample.join("shelters_gsi_33999_1.csv")).unwrap();
    let r = api.post_multipart(
        "/api/admin/datasets/shelters/uploads?publish=true",
        &[],
        &[("file", "a.csv", &f03), ("file", "b.csv", &gsi)],
        &h,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["outcome"]["status"], "unchanged");
    assert_eq!(j["outcome"]["version"], 1);
    assert!(j["message"].as_str().unwrap().contains("no new version"));

    // A refreshed file: staged and published in one call.
    let refreshed = d.path().join("shelters_refreshed.csv");
    std::fs::write(&refreshed, modified_shelters()).unwrap();
    let bytes = std::fs::read(&refreshed).unwrap();
    let r = api.post_multipart(
        "/api/admin/datasets/shelters/uploads?publish=true",
        &[],
        &[("file", "shelters.csv", &bytes), ("file", "gsi.csv", &gsi)],
        &h,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let j = r.json();
    assert_eq!(j["outcome"]["status"], "staged");
    assert!(j["outcome"]["rows"].as_i64().unwrap() > 10);
    assert_eq!(j["published"], true);
    assert_eq!(published(&s, "shelters"), Some(2));
    // Twice: nothing new.
    let r = api.post_multipart(
        "/api/admin/datasets/shelters/uploads?publish=true",
        &[],
        &[("file", "shelters.csv", &bytes), ("file", "gsi.csv", &gsi)],
        &h,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["outcome"]["status"], "unchanged");
    let vs = api
        .get_with("/api/admin/datasets/shelters/versions", &h)
        .json();
    assert_eq!(vs["versions"].as_array().unwrap().len(), 2);

    // Stage, look, then discard, step by step.
    let fewer = std::fs::read(shelters_without(d.path(), 5)).unwrap();
    let r = api.post_multipart(
        "/api/admin/datasets/shelters/uploads",
        &[],
        &[("file", "fewer.csv", &fewer), ("file", "gsi.csv", &gsi)],
        &h,
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let j = r.json();
    assert_eq!(j["published"], false);
    let v = j["outcome"]["version"].as_i64().unwrap();
    let pv = &j["preview"];
    assert!(
        pv["removed"].as_u64().unwrap() + pv["changed"].as_u64().unwrap() >= 5,
        "{j:#}"
    );
    let pv = api
        .get_with(&format!("/api/admin/datasets/shelters/versions/{v}"), &h)
        .json();
    assert_eq!(pv["version"]["status"], "staged");
    assert_eq!(published(&s, "shelters"), Some(2));
    let csv = api.get_with(
        &format!("/api/admin/datasets/shelters/versions/{v}/csv"),
        &h,
    );
    assert_eq!(csv.status, 200);
    let r = api.try_post(
        &format!("/api/admin/datasets/shelters/versions/{v}/discard"),
        "application/json",
        b"",
        &h,
    );
    assert_eq!(r.unwrap().status, 200);
    // Editors cannot roll back.
    let r = api
        .try_post(
            "/api/admin/datasets/shelters/versions/1/rollback",
            "application/json",
            b"",
            &h,
        )
        .unwrap();
    assert_eq!(r.status, 403);
    // A rejected file is 422 with the report, and nothing changes.
    let r = api.post_multipart(
        "/api/admin/datasets/shelters/uploads",
        &[],
        &[("file", "bad.csv", b"a,b\n1,2\n")],
        &h,
    );
    assert_eq!(r.status, 422, "{}", r.text());
    assert!(r.json()["report"]["errors"].as_u64().unwrap() > 0);
    assert_eq!(published(&s, "shelters"), Some(2));

    // The documented curl command, when curl is installed.
    let curl_ok = std::process::Command::new("curl")
        .arg("--version")
        .output()
        .is_ok();
    if curl_ok {
        let gsi_path = sample.join("shelters_gsi_33999_1.csv");
        let out = std::process::Command::new("curl")
            .args(["-sS", "-f", "-H"])
            .arg(format!("Authorization: Bearer {token}"))
            .arg("-F")
            .arg(format!("file=@{}", refreshed.display()))
            .arg("-F")
            .arg(format!("file=@{}", gsi_path.display()))
            .arg(format!(
                "{}/api/admin/datasets/shelters/uploads?publish=true",
                s.base
            ))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(j["outcome"]["status"], "unchanged", "{j:#}");
    }

    // A revoked token stops working.
    let id = &token[4..4 + 12];
    let t = csrf(&admin, "/admin/tokens");
    let _ = id;
    let tokens_page = admin.get("/admin/tokens").text();
    let rid = between(&tokens_page, "/admin/tokens/", "/revoke")
        .unwrap()
        .to_string();
    let r = admin.post_form(&format!("/admin/tokens/{rid}/revoke"), &[("csrf", &t)]);
    assert_eq!(r.status, 303);
    assert_eq!(api.get_with("/api/admin/whoami", &h).status, 401);
    drop(d);
}

/// Read server-sent events from `base` on a thread; each `data:` line is sent to the channel.
fn sse(base: &str) -> std::sync::mpsc::Receiver<String> {
    let addr = base.trim_start_matches("http://").to_string();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        write!(
            s,
            "GET /api/shelter-status/events HTTP/1.1\r\nHost: {addr}\r\nAccept: text/event-stream\r\n\r\n"
        )
        .unwrap();
        let rd = std::io::BufReader::new(s);
        for line in rd.lines() {
            let Ok(line) = line else { break };
            if let Some(d) = line.strip_prefix("data:") {
                if tx.send(d.trim().to_string()).is_err() {
                    break;
                }
            }
        }
    });
    rx
}

#[test]
fn admin_shelter_status_live() {
    let (d, db) = setup();
    let s = Server::start(&db);
    let editor = login(&s.base, EDITOR, EDITOR_PW);
    let page = editor.get("/admin/shelters");
    assert_eq!(page.status, 200);
    let page = page.text();
    assert!(page.contains("開設") && page.contains("満員") && page.contains("閉鎖"));
    let fid: i64 = between(&page, "action=\"/admin/shelters/", "/status")
        .unwrap()
        .parse()
        .unwrap();
    let t = csrf_of(&page);
    let events = sse(&s.base);
    let first = events
        .recv_timeout(Duration::from_secs(5))
        .expect("first event");
    assert!(first.contains("\"shelters\":[]"), "{first}");

    let before = s.get("/api/shelter-status");
    let etag0 = before.header("etag").unwrap().to_string();
    let t0 = Instant::now();
    let r = editor.post_form(
        &format!("/admin/shelters/{fid}/status"),
        &[("csrf", &t), ("status", "open"), ("evacuees", "１２")],
    );
    assert_eq!(r.status, 303, "{}", r.text());
    let ev = events
        .recv_timeout(Duration::from_secs(5))
        .expect("an event within 5 s");
    assert!(t0.elapsed() < Duration::from_secs(5));
    let v: serde_json::Value = serde_json::from_str(&ev).unwrap();
    assert_eq!(v["shelters"][0]["fid"], fid);
    assert_eq!(v["shelters"][0]["status"], "open");
    assert_eq!(v["shelters"][0]["evacuees"], 12);

    let r = s.get("/api/shelter-status");
    assert_eq!(r.status, 200);
    let etag = r.header("etag").unwrap().to_string();
    assert_ne!(etag, etag0);
    let j = r.json();
    assert_eq!(j["shelters"][0]["status_ja"], "開設");
    assert!(j["updated_at"].as_str().unwrap().ends_with('Z'));
    assert!(
        j["shelters"][0].get("by").is_none(),
        "staff names are not public"
    );
    let nm = s.get_with("/api/shelter-status", &[("if-none-match", &etag)]);
    assert_eq!(nm.status, 304);
    let csv = s.get("/api/shelter-status.csv");
    assert_eq!(csv.status, 200);
    assert!(csv.text().contains("開設") && csv.text().contains("更新日時"));
    let gj = s.get("/api/shelter-status.geojson").json();
    assert_eq!(gj["features"][0]["properties"]["status"], "open");
    assert!(gj["updated_at"].is_string());

    // Scripts set it too (editor token); bad input is refused.
    let admin = login(&s.base, ADMIN, ADMIN_PW);
    let token = make_token(&admin, EDITOR);
    let auth = format!("Bearer {token}");
    let h = [("authorization", auth.as_str())];
    let api = Client::new(&s.base);
    let r = api.post_json(
        &format!("/api/admin/shelters/{fid}/status"),
        &serde_json::json!({"status": "full", "evacuees": 300}),
        &h,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let ev = events.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(ev.contains("\"full\""));
    assert_ne!(s.get("/api/shelter-status").header("etag").unwrap(), etag);
    let r = api.post_json(
        &format!("/api/admin/shelters/{fid}/status"),
        &serde_json::json!({"status": "maybe"}),
        &h,
    );
    assert_eq!(r.status, 400);
    let r = api.post_json(
        "/api/admin/shelters/999999/status",
        &serde_json::json!({"status": "open"}),
        &h,
    );
    assert_eq!(r.status, 404);
    let r = editor.post_form(
        &format!("/admin/shelters/{fid}/status"),
        &[("csrf", &t), ("status", "closed"), ("evacuees", "-3")],
    );
    assert_eq!(r.status, 400);
    let a = admin.get("/admin/audit").text();
    assert!(a.contains("shelter_status") && a.contains("満員"));
    // Status survives a restart.
    drop(s);
    let s = Server::start(&db);
    assert_eq!(
        s.get("/api/shelter-status").json()["shelters"][0]["status"],
        "full"
    );
    drop(d);
}

/// After a kill: the file opens, every recorded version is complete, no rows belong to an
/// unrecorded version, and the published version is the one before (`before`) or a complete
/// version of the file being uploaded (`sha`). Returns the published version and its hash.
fn check_store(db: &Path, before: i64, sha: &str, rows_ok: &[i64]) -> (i64, String) {
    let store = Store::open(db).expect("the file opens after SIGKILL");
    let cur = store
        .current(DatasetId::Shelters)
        .unwrap()
        .expect("shelters published");
    let versions = store.versions(DatasetId::Shelters).unwrap();
    let info = versions.iter().find(|v| v.version == cur).unwrap();
    assert!(
        cur == before || info.source_sha256 == sha,
        "published {cur}: neither the previous version {before} nor the upload"
    );
    let n = store.row_count(DatasetId::Shelters, cur).unwrap();
    assert!(rows_ok.contains(&n), "published version {cur} has {n} rows");
    for v in &versions {
        let actual = store.row_count(DatasetId::Shelters, v.version).unwrap();
        if v.status != "discarded" {
            assert_eq!(actual, v.row_count, "version {} is complete", v.version);
        }
    }
    let orphans: i64 = store
        .conn()
        .query_row(
            "SELECT count(*) FROM shelters WHERE version NOT IN (SELECT version FROM versions WHERE dataset = 'shelters')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(orphans, 0, "rows of an unfinished version");
    (cur, info.source_sha256.clone())
}

/// Files and credentials shared by the kill lanes.
struct KillSetup {
    auth: String,
    a: Vec<u8>,
    b: Vec<u8>,
    sha_a: String,
    sha_b: String,
    rows: [i64; 2],
}

/// One complete upload that stages and publishes `name`, timed. Returns the JSON and the time.
fn timed_upload(s: &Server, auth: &str, name: &str, bytes: &[u8]) -> (serde_json::Value, Duration) {
    let t0 = Instant::now();
    let r = Client::new(&s.base).post_multipart(
        "/api/admin/datasets/shelters/uploads?publish=true",
        &[],
        &[("file", name, bytes)],
        &[("authorization", auth)],
    );
    assert!(r.status == 201 || r.status == 200, "{}", r.text());
    (r.json(), t0.elapsed())
}

fn stage(s: &Server, auth: &str, name: &str, bytes: &[u8]) -> i64 {
    let r = Client::new(&s.base).post_multipart(
        "/api/admin/datasets/shelters/uploads",
        &[],
        &[("file", name, bytes)],
        &[("authorization", auth)],
    );
    assert!(r.status == 201 || r.status == 200, "{}", r.text());
    let j = r.json();
    assert_eq!(j["published"], false, "{j:#}");
    j["outcome"]["version"].as_i64().unwrap()
}

fn timed_publish(s: &Server, auth: &str, v: i64) -> Duration {
    let t0 = Instant::now();
    let r = Client::new(&s.base)
        .try_post(
            &format!("/api/admin/datasets/shelters/versions/{v}/publish"),
            "application/json",
            b"",
            &[("authorization", auth)],
        )
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    t0.elapsed()
}

/// `rounds` kills of the server of `db`: round `i` with `i % 3 == 2` stages a version and kills
/// the server while publishing it; the others kill it at a varied moment of an upload that
/// stages and publishes in one request (so some land in the publish step). After each kill the
/// file must open with the published version complete, and a restarted server must serve it.
///
/// The kill moments are fractions of how long an upload and a publish take on this lane's own
/// server, measured first, because the lanes and the other tests share the CPU and a quiet
/// timing is too short under load. If three kills in a row leave the old version published,
/// the window widens by half, so the kills keep straddling the commit however slow the machine.
fn kill_lane(db: &Path, k: &KillSetup, lane: u32, rounds: u32) -> (u32, u32) {
    let mut s = Server::start(db);
    // Calibrate on this lane: B uploaded and published, then A staged and published.
    let (j, t_upload) = timed_upload(&s, &k.auth, "b.csv", &k.b);
    assert_eq!(j["outcome"]["rows"].as_i64(), Some(k.rows[1]), "{j:#}");
    let v = stage(&s, &k.auth, "a.csv", &k.a);
    let t_publish = timed_publish(&s, &k.auth, v);
    let mut cur = published(&s, "shelters").unwrap();
    assert_eq!(cur, v);
    let mut cur_sha = k.sha_a.clone();
    let mut scale = 1.0f64;
    let mut still = 0;
    let mut kills = 0;
    let mut moved = 0;
    for i in 0..rounds {
        // Always the other file than the published one, so a publish changes something.
        let (name, bytes, sha) = if cur_sha == k.sha_a {
            ("b.csv", &k.b, &k.sha_b)
        } else {
            ("a.csv", &k.a, &k.sha_a)
        };
        let frac = f64::from((i * 7919 + lane * 31) % 23) / 23.0;
        let auth = k.auth.clone();
        if i % 3 != 2 {
            let base = s.base.clone();
            let body = bytes.clone();
            let h = std::thread::spawn(move || {
                Client::new(&base).try_post_multipart(
                    "/api/admin/datasets/shelters/uploads?publish=true",
                    &[],
                    &[("file", name, &body)],
                    &[("authorization", &auth)],
                )
            });
            std::thread::sleep(t_upload.mul_f64(frac * 1.2 * scale));
            s.kill_now();
            let _ = h.join();
        } else {
            // Stage completely (or find the staged version an earlier killed round left).
            let v = stage(&s, &auth, name, bytes);
            let base = s.base.clone();
            let h = std::thread::spawn(move || {
                Client::new(&base).try_post(
                    &format!("/api/admin/datasets/shelters/versions/{v}/publish"),
                    "application/json",
                    b"",
                    &[("authorization", &auth)],
                )
            });
            std::thread::sleep(t_publish.mul_f64(frac * 1.5 * scale));
            s.kill_now();
            let _ = h.join();
        }
        kills += 1;
        // The published version is the previous one or the new complete one, never a mix.
        let before = cur;
        (cur, cur_sha) = check_store(db, cur, sha, &k.rows);
        if cur != before {
            moved += 1;
            still = 0;
        } else {
            still += 1;
            if still == 3 {
                scale *= 1.5;
                still = 0;
            }
        }
        s = Server::start(db);
        assert_eq!(
            published(&s, "shelters"),
            Some(cur),
            "the restarted server serves it"
        );
        let who = Client::new(&s.base).get_with("/api/admin/whoami", &[("authorization", &k.auth)]);
        assert_eq!(who.status, 200, "accounts survive the kill");
    }
    eprintln!(
        "admin_sigkill lane {lane}: upload {t_upload:?}, publish {t_publish:?}, window x{scale}, {moved} of {kills} published"
    );
    (kills, moved)
}

#[test]
fn admin_sigkill_during_upload_and_publish() {
    let started = Instant::now();
    // A database with only a shelter list, so the server restarts and ingests quickly.
    let d = tmp();
    let db = d.path().join("kill.duckdb");
    let a_path = shelters_without(d.path(), 0);
    let b_path = shelters_without(d.path(), 12);
    let (code, v) = ingest_json(&db, "shelters", &[&a_path], &[]);
    assert_eq!(code, 0, "{v:#}");
    add_user(&db, EDITOR, "editor", EDITOR_PW);
    add_user(&db, ADMIN, "admin", ADMIN_PW);
    let a = std::fs::read(&a_path).unwrap();
    let b = std::fs::read(&b_path).unwrap();
    let rows_a = Store::open_read_only(&db)
        .unwrap()
        .row_count(DatasetId::Shelters, 1)
        .unwrap();
    // A token, and one complete upload of B (learning its rows) on a scratch copy, so the
    // lanes start from version 1 = A.
    let (token, rows_b) = {
        let s = Server::start(&db);
        let admin = login(&s.base, ADMIN, ADMIN_PW);
        let token = make_token(&admin, EDITOR);
        drop(s);
        let scratch = d.path().join("scratch.duckdb");
        std::fs::copy(&db, &scratch).unwrap();
        copy_dir(&admin_dir_of(&db), &admin_dir_of(&scratch));
        let s = Server::start(&scratch);
        let r = Client::new(&s.base).post_multipart(
            "/api/admin/datasets/shelters/uploads?publish=true",
            &[],
            &[("file", "b.csv", &b)],
            &[("authorization", &format!("Bearer {token}"))],
        );
        assert_eq!(r.status, 201, "{}", r.text());
        let rows_b = r.json()["outcome"]["rows"].as_i64().unwrap();
        (token, rows_b)
    };
    assert_ne!(rows_a, rows_b);
    let k = std::sync::Arc::new(KillSetup {
        auth: format!("Bearer {token}"),
        a,
        b,
        sha_a: machimap::ingest::sha256_file(&a_path).unwrap(),
        sha_b: machimap::ingest::sha256_file(&b_path).unwrap(),
        rows: [rows_a, rows_b],
    });
    // Three independent servers and files at once, eight kills each.
    let lanes: Vec<_> = (0..3u32)
        .map(|lane| {
            let ldb = d.path().join(format!("lane{lane}.duckdb"));
            std::fs::copy(&db, &ldb).unwrap();
            copy_dir(&admin_dir_of(&db), &admin_dir_of(&ldb));
            let k = k.clone();
            std::thread::spawn(move || kill_lane(&ldb, &k, lane, 8))
        })
        .collect();
    let (mut kills, mut moved) = (0, 0);
    for h in lanes {
        let (k, m) = h.join().unwrap();
        kills += k;
        moved += m;
    }
    assert!(kills >= 20);
    // The moments vary: some kills left the old version published, some came after the new one.
    assert!(
        moved > 0 && moved < kills,
        "{moved} of {kills} kills published"
    );
    eprintln!(
        "admin_sigkill: {kills} kills ({moved} after the publish) in {:?}",
        started.elapsed()
    );
    drop(d);
}

fn admin_dir_of(db: &Path) -> PathBuf {
    PathBuf::from(format!("{}.admin", db.display()))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

#[test]
fn admin_login_page_reads_without_javascript() {
    let s = Server::start(sample_db());
    let r = Client::new(&s.base).get("/admin/login");
    assert_eq!(r.status, 200);
    let t = r.text();
    assert!(t.contains("<label for=\"user\">") && t.contains("<label for=\"password\">"));
    assert!(!t.contains("<script"));
    let css = Client::new(&s.base).get("/admin/console.css");
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    let mut buf = Vec::new();
    let _ = std::io::Cursor::new(css.body).read_to_end(&mut buf);
    assert!(!buf.is_empty());
}

/// The coverage of a hazard map set through the admin API (admins only, audited), served at once
/// by `/api/risk`: a point in the city outside the covered wards is `no_data`.
#[test]
fn admin_api_sets_hazard_coverage() {
    let (_d, db) = setup();
    let s = Server::start(&db);
    let admin = login(&s.base, ADMIN, ADMIN_PW);
    let admin_token = make_token(&admin, ADMIN);
    let editor_token = make_token(&admin, EDITOR);
    let (a, e) = (
        format!("Bearer {admin_token}"),
        format!("Bearer {editor_token}"),
    );
    let (ha, he) = (
        [("authorization", a.as_str())],
        [("authorization", e.as_str())],
    );
    let api = Client::new(&s.base);
    let (p, first) = ward_outside_landslide(&s);
    let coverage_at = |p: (f64, f64)| landslide_coverage_at(&s, p);
    let body = serde_json::json!({ "wards": [first] });
    // Editors may look, not set.
    assert_eq!(api.get_with("/api/admin/coverage", &he).status, 200);
    assert_eq!(
        api.post_json("/api/admin/coverage/landslide", &body, &he)
            .status,
        403
    );
    // Refusals: unknown codes, two kinds at once, a dataset without a map.
    let r = api.post_json(
        "/api/admin/coverage/landslide",
        &serde_json::json!({"wards": ["x"]}),
        &ha,
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let r = api.post_json(
        "/api/admin/coverage/landslide",
        &serde_json::json!({"wards": [first], "default": true}),
        &ha,
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let r = api.post_json(
        "/api/admin/coverage/shelters",
        &serde_json::json!({"default": true}),
        &ha,
    );
    assert_eq!(r.status, 400, "{}", r.text());
    let r = api.post_json("/api/admin/coverage/landslide", &body, &ha);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(coverage_at(p), "no_data");
    let r = api.post_json(
        "/api/admin/coverage/landslide",
        &serde_json::json!({"default": true}),
        &ha,
    );
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(coverage_at(p), "outside");
    let log = api.get_with("/api/admin/coverage", &ha).json();
    let kinds = setting_kinds(&log);
    assert_eq!(kinds, ["wards", "default"]);
    assert_eq!(log["settings"][0]["set_by"], ADMIN);
    let audit = api.get_with("/api/admin/audit", &ha).json();
    let n = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["action"] == "coverage_set")
        .count();
    // Two settings and the refusal of unknown codes (the others are refused before anything is
    // read or written: a 403, a malformed request, a dataset without a map).
    assert_eq!(n, 3, "{audit:#}");
}

/// The landslide coverage /api/risk gives at `p` (lon, lat).
fn landslide_coverage_at(s: &Server, p: (f64, f64)) -> String {
    let j = s.get(&format!("/api/risk?lat={}&lon={}", p.1, p.0)).json();
    let f = j["hazards"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["hazard"] == "landslide")
        .unwrap()
        .clone();
    f["coverage"].as_str().unwrap().to_string()
}

/// A point (a ward's label point) outside every landslide zone, and the code of another ward.
fn ward_outside_landslide(s: &Server) -> ((f64, f64), String) {
    let wards = s.get("/datasets/wards.geojson").json();
    let feats = wards["features"].as_array().unwrap();
    let code = |i: usize| feats[i]["properties"]["code"].as_str().unwrap().to_string();
    let label = |c: &str| -> (f64, f64) {
        use geo::InteriorPoint;
        let f = feats.iter().find(|f| f["properties"]["code"] == c).unwrap();
        let g: geojson::Geometry = serde_json::from_value(f["geometry"].clone()).unwrap();
        let p = geo::Geometry::<f64>::try_from(g)
            .unwrap()
            .interior_point()
            .unwrap();
        (p.x(), p.y())
    };
    let (other, p) = (1..feats.len())
        .map(|i| (code(i), label(&code(i))))
        .find(|(_, p)| landslide_coverage_at(s, *p) == "outside")
        .expect("a ward outside the landslide zones");
    let first = (0..feats.len()).map(code).find(|c| *c != other).unwrap();
    (p, first)
}

#[test]
fn admin_console_sets_hazard_coverage() {
    let (_d, db) = setup();
    let s = Server::start(&db);
    let (p, first) = ward_outside_landslide(&s);
    // Editors may not open the page.
    let editor = login(&s.base, EDITOR, EDITOR_PW);
    assert_eq!(editor.get("/admin/coverage").status, 403);
    let admin = login(&s.base, ADMIN, ADMIN_PW);
    let page = admin.get("/admin/coverage");
    assert_eq!(page.status, 200);
    let html = page.text();
    // A form per hazard and every published ward to tick.
    for d in [
        "flood",
        "inland_flood",
        "landslide",
        "tsunami",
        "storm_surge",
    ] {
        assert!(
            html.contains(&format!("action=\"/admin/coverage/{d}\"")),
            "{d}"
        );
    }
    let wards = s.get("/datasets/wards.geojson").json();
    let n = wards["features"].as_array().unwrap().len();
    assert!(html.contains(&format!("value=\"{first}\"")));
    assert_eq!(
        html.matches("name=\"ward\"").count(),
        5 * n,
        "every ward in each form"
    );
    let csrf = csrf_of(&html);
    let post = |fields: &[(&str, &str)]| {
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        admin.post_form("/admin/coverage/landslide", &all)
    };
    // A list of wards without the point's ward: the point has no data.
    let r = post(&[("mode", "wards"), ("ward", &first)]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("範囲を設定しました"), "{}", r.text());
    assert_eq!(landslide_coverage_at(&s, p), "no_data");
    // The page shows what is in force: the ward ticked.
    assert!(r.text().contains(&format!("value=\"{first}\" checked")));
    // A polygon around the point covers it again.
    let (x, y) = p;
    let poly = format!(
        r#"{{"type":"Polygon","coordinates":[[[{a},{b}],[{c},{b}],[{c},{d}],[{a},{d}],[{a},{b}]]]}}"#,
        a = x - 0.001,
        b = y - 0.001,
        c = x + 0.001,
        d = y + 0.001
    );
    let r = post(&[("mode", "polygon"), ("polygon", &poly)]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(landslide_coverage_at(&s, p), "outside");
    // Refusals say why, in both languages, and change nothing.
    let r = post(&[("mode", "wards"), ("ward", "no-such-ward")]);
    assert_eq!(r.status, 400);
    assert!(
        r.text().contains("設定できません") && r.text().contains("no-such-ward"),
        "{}",
        r.text()
    );
    let r = post(&[("mode", "polygon"), ("polygon", "not json")]);
    assert_eq!(r.status, 400);
    assert_eq!(landslide_coverage_at(&s, p), "outside");
    let r = admin.post_form("/admin/coverage/landslide", &[("mode", "default")]);
    assert_eq!(r.status, 403, "no CSRF token");
    let r = post(&[("mode", "default")]);
    assert_eq!(r.status, 200);
    assert_eq!(landslide_coverage_at(&s, p), "outside");
    // The same history as the API's, with who did it.
    let token = format!("Bearer {}", make_token(&admin, ADMIN));
    let log = admin
        .get_with("/api/admin/coverage", &[("authorization", token.as_str())])
        .json();
    let kinds = setting_kinds(&log);
    assert_eq!(kinds, ["wards", "polygon", "default"]);
    assert!(log["settings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["set_by"] == ADMIN));
}

/// The kinds of the coverage settings in `/api/admin/coverage`'s answer, oldest first.
fn setting_kinds(log: &serde_json::Value) -> Vec<&str> {
    log["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap())
        .collect()
}
