//! A full disk (issue 14): the database folder on a small tmpfs, filled to the last byte. A
//! staff upload and a command-line ingest are refused with a message naming the file, in
//! Japanese and English, and change nothing; the published data is still served (tiles, items,
//! downloads); shelter-status updates and token creation fail cleanly without tearing the
//! files; once space is freed everything works again.
//!
//! The tmpfs is mounted by the test (CI runs as root); where mounting is not permitted the test
//! runs itself again inside `unshare -rm` (a user and mount namespace of its own). If neither
//! works it fails, unless `MACHIMAP_SKIP_MOUNT_TESTS=1`.

use crate::support::*;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

const ADMIN: &str = "full-admin";
const ADMIN_PW: &str = "full disk admin password";
const EDITOR: &str = "full-editor";
const EDITOR_PW: &str = "full disk editor password";
const INNER: &str = "MACHIMAP_DISK_FULL_INNER";

/// A tmpfs mounted on `dir`, unmounted on drop (also when the test fails).
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    fn mount(dir: &Path, mb: u32) -> Result<Tmpfs, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mb}M"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        if o.status.success() {
            Ok(Tmpfs {
                dir: dir.to_path_buf(),
            })
        } else {
            Err(String::from_utf8_lossy(&o.stderr).trim().to_string())
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy: a server killed a moment ago may still hold a file open.
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Fill the file system of `dir` to its last byte; the filler's path.
fn fill(dir: &Path) -> PathBuf {
    let p = dir.join("filler");
    let mut f = std::fs::File::create(&p).unwrap();
    let block = vec![0x55u8; 1 << 20];
    for size in [1 << 20, 4096, 1] {
        while f.write_all(&block[..size]).is_ok() {}
    }
    let _ = f.sync_all();
    p
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

fn csrf_of(c: &Client, page: &str) -> String {
    let r = c.get(page);
    between(&r.text(), "name=\"csrf\" value=\"", "\"")
        .unwrap_or_else(|| panic!("{page}: no csrf field: {}", r.status))
        .to_string()
}

fn login(base: &str, user: &str, pw: &str) -> Client {
    let c = Client::new(base);
    let t = csrf_of(&c, "/admin/login");
    let r = c.post_form(
        "/admin/login",
        &[
            ("csrf", &t),
            ("user", user),
            ("password", pw),
            ("next", "/admin"),
        ],
    );
    assert_eq!(r.status, 303, "login: {}", r.text());
    c
}

fn token_form(admin: &Client) -> Resp {
    let t = csrf_of(admin, "/admin/tokens");
    admin.post_form(
        "/admin/tokens",
        &[("csrf", &t), ("user", EDITOR), ("label", "disk full")],
    )
}

fn says_disk_full(text: &str, file_part: &str) {
    assert!(
        text.contains("ディスクの空きがない") && text.contains("the disk is full"),
        "not a disk-full message: {text}"
    );
    assert!(
        text.contains("何も変更していません") && text.contains("nothing was changed"),
        "{text}"
    );
    assert!(text.contains(file_part), "the file is not named: {text}");
}

fn admin_files(db: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(format!("{}.admin", db.display()));
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    v.sort();
    v
}

fn check_ok(db: &Path) {
    let o = run(&["check", "--db", db.to_str().unwrap()]);
    assert!(
        o.status.success(),
        "machimap check: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn published(s: &Server) -> serde_json::Value {
    let h = s.get("/healthz");
    assert_eq!(h.status, 200);
    h.json()["datasets"].clone()
}

fn serves_published_data(s: &Server) {
    let t = machimap::tiles::coord::tile_for(133.93, 34.60, 13);
    for path in [
        format!("/tiles/flood/13/{}/{}.mvt", t.x, t.y),
        "/ogc/collections/shelters/items?limit=5".into(),
        "/datasets/shelters.csv".into(),
        "/datasets/flood.geojson".into(),
        "/api/shelter-status".into(),
    ] {
        let r = s.get(&path);
        assert_eq!(r.status, 200, "{path} on a full disk: {}", r.text());
        assert!(!r.body.is_empty(), "{path}");
    }
}

#[test]
fn disk_full_refuses_writes_cleanly_and_keeps_serving() {
    let d = tmp();
    let mnt = d.path().join("mnt");
    let fs = match Tmpfs::mount(&mnt, 96) {
        Ok(fs) => fs,
        Err(e) => {
            if std::env::var_os(INNER).is_none() && unshare_works() {
                // Mounting is not permitted here: run this test again in a namespace of its own.
                let o = Command::new("unshare")
                    .args(["-rm", "--"])
                    .arg(std::env::current_exe().unwrap())
                    .args([
                        "disk_full::disk_full_refuses_writes_cleanly_and_keeps_serving",
                        "--exact",
                        "--nocapture",
                    ])
                    .env(INNER, "1")
                    .output()
                    .unwrap();
                let out = format!(
                    "{}{}",
                    String::from_utf8_lossy(&o.stdout),
                    String::from_utf8_lossy(&o.stderr)
                );
                assert!(
                    o.status.success() && out.contains("1 passed"),
                    "in unshare -rm: {out}"
                );
                return;
            }
            if std::env::var("MACHIMAP_SKIP_MOUNT_TESTS").as_deref() == Ok("1") {
                eprintln!(
                    "disk_full: SKIPPED (MACHIMAP_SKIP_MOUNT_TESTS=1): cannot mount a tmpfs: {e}"
                );
                return;
            }
            panic!(
                "cannot mount a tmpfs ({e}) and `unshare -rm` does not work either: run as root, \
                 allow user namespaces, or set MACHIMAP_SKIP_MOUNT_TESTS=1 to skip this test"
            );
        }
    };
    let db = sample_db_copy(&mnt);
    add_user(&db, ADMIN, "admin", ADMIN_PW);
    add_user(&db, EDITOR, "editor", EDITOR_PW);
    let s = Server::start(&db);
    let admin = login(&s.base, ADMIN, ADMIN_PW);
    let r = token_form(&admin);
    assert_eq!(r.status, 200, "{}", r.text());
    let token = between(&r.text(), "id=\"new-token\">", "</p>")
        .unwrap()
        .to_string();
    let auth = format!("Bearer {token}");
    let api = Client::new(&s.base);
    let fid = s.get("/ogc/collections/shelters/items?limit=1").json()["features"][0]["id"]
        .as_i64()
        .unwrap();
    let status = |n: u32| {
        api.post_json(
            &format!("/api/admin/shelters/{fid}/status"),
            &serde_json::json!({"status": "open", "evacuees": n}),
            &[("authorization", &auth)],
        )
    };
    assert_eq!(status(1).status, 200);
    serves_published_data(&s);
    let before = published(&s);
    // A new shelter list (the sample's without its last rows), outside the full disk.
    let raw = std::fs::read(sample_dir().join("shelters_339997_evacuation_space.csv")).unwrap();
    let mut lines: Vec<&[u8]> = raw
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    lines.truncate(lines.len() - 3);
    let mut upload = lines.join(&b"\n"[..]);
    upload.push(b'\n');
    let new_csv = d.path().join("shelters_new.csv");
    std::fs::write(&new_csv, &upload).unwrap();

    let filler = fill(&mnt);
    let files_full = admin_files(&db);

    // 1. A staff upload is refused: 507, which file, nothing changed.
    let r = api.post_multipart(
        "/api/admin/datasets/shelters/uploads?publish=true",
        &[],
        &[("file", "shelters_new.csv", &upload)],
        &[("authorization", &auth)],
    );
    assert_eq!(r.status, 507, "{}", r.text());
    let msg = r.json()["error"].as_str().unwrap_or_default().to_string();
    eprintln!("disk_full: upload answered 507: {msg}");
    says_disk_full(&msg, &mnt.display().to_string());
    assert_eq!(published(&s), before, "the upload changed nothing");
    let uploads = PathBuf::from(format!("{}.admin/uploads", db.display()));
    let left: Vec<_> = std::fs::read_dir(&uploads)
        .map(|rd| rd.flatten().collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "upload leftovers: {left:?}");

    // 2. A command-line ingest is refused likewise.
    let o = run(&[
        "ingest",
        "--db",
        db.to_str().unwrap(),
        "--dataset",
        "shelters",
        new_csv.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        !o.status.success(),
        "ingest on a full disk succeeded: {err}"
    );
    eprintln!("disk_full: ingest said: {err}");
    says_disk_full(&err, &db.display().to_string());
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert_eq!(published(&s), before, "the ingest changed nothing");

    // 3. The published data is still served.
    serves_published_data(&s);

    // 4. Status updates and token creation fail cleanly (a few may still fit in the last
    // page of their file; the disk runs out within a few dozen), and nothing is torn.
    let (mut refused, mut fitted) = (0, 0);
    for n in 2..200u32 {
        let was = admin_files(&db);
        let r = status(n);
        match r.status {
            200 => fitted += 1,
            507 => {
                says_disk_full(
                    r.json()["error"].as_str().unwrap_or_default(),
                    "shelter_status.jsonl",
                );
                assert_eq!(
                    admin_files(&db),
                    was,
                    "a refused status update changed a file"
                );
                refused += 1;
                break;
            }
            other => panic!("status update on a full disk: {other} {}", r.text()),
        }
    }
    assert_eq!(refused, 1, "status updates never found the disk full");
    eprintln!("disk_full: {fitted} status updates fitted in the file's last page, then 507");
    fitted = 0;
    for _ in 0..200 {
        let was = admin_files(&db);
        let r = token_form(&admin);
        match r.status {
            200 => fitted += 1,
            507 => {
                says_disk_full(&r.text(), "accounts.jsonl");
                assert_eq!(admin_files(&db), was, "a refused token changed a file");
                refused += 1;
                break;
            }
            other => panic!("token creation on a full disk: {other} {}", r.text()),
        }
    }
    assert_eq!(refused, 2, "token creation never found the disk full");
    eprintln!("disk_full: {fitted} tokens fitted in the file's last page, then 507");
    check_ok(&db);
    assert!(files_full.iter().all(|(p, _)| p.exists()));

    // 5. Space freed: everything works again, on the same server.
    std::fs::remove_file(&filler).unwrap();
    assert_eq!(status(500).status, 200);
    assert_eq!(token_form(&admin).status, 200);
    let r = api.post_multipart(
        "/api/admin/datasets/shelters/uploads?publish=true",
        &[],
        &[("file", "shelters_new.csv", &upload)],
        &[("authorization", &auth)],
    );
    assert_eq!(r.status, 201, "{}", r.text());
    let (code, v) = ingest_json(
        &db,
        "flood",
        &[&sample_dir().join("flood_A31a.geojson")],
        &[],
    );
    assert_eq!(code, 0, "{v:#}");
    check_ok(&db);
    drop(s);
    let s = Server::start(&db);
    serves_published_data(&s);
    drop(s);
    drop(fs);
}

fn unshare_works() -> bool {
    Command::new("unshare")
        .args(["-rm", "true"])
        .status()
        .is_ok_and(|s| s.success())
}
