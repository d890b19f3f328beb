//! Staff sign-in under attack, over loopback: parallel guessing, the per-address rate limit, the
//! bound on password checks at once, lockout that a stranger cannot turn against staff, the
//! audit log under a flood of refused sign-ins, password changes ending sessions, cookie flags
//! and the modes of the files that hold password hashes.

use crate::support::*;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};

const EDITOR: &str = "edith";
const EDITOR_PW: &str = "editor password 1";
const ADMIN: &str = "ada";
const ADMIN_PW: &str = "admin password 12";
/// The sign-in form's token: the form field must equal the `mm_login` cookie.
const FORM_TOKEN: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const ATTACKER: &str = "203.0.113.7";
const STAFF_DESK: &str = "198.51.100.9";

fn setup() -> (tempfile::TempDir, PathBuf) {
    let d = tmp();
    let db = sample_db_copy(d.path());
    add_user(&db, EDITOR, "editor", EDITOR_PW);
    add_user(&db, ADMIN, "admin", ADMIN_PW);
    (d, db)
}

/// POST the sign-in form as `c`, from `from` (an `X-Forwarded-For`, when given).
fn sign_in(c: &Client, user: &str, pw: &str, from: Option<&str>) -> Resp {
    let body = format!(
        "csrf={FORM_TOKEN}&user={}&password={}&next=%2Fadmin",
        form_encode(user),
        form_encode(pw)
    );
    let cookie = format!("mm_login={FORM_TOKEN}");
    let mut headers = vec![("cookie", cookie.as_str())];
    if let Some(ip) = from {
        headers.push(("x-forwarded-for", ip));
    }
    c.try_post(
        "/admin/login",
        "application/x-www-form-urlencoded",
        body.as_bytes(),
        &headers,
    )
    .unwrap_or_else(|e| panic!("POST /admin/login: {e}"))
}

/// `n` sign-ins sent at once (each on its own connection, released together); their responses.
fn at_once(base: &str, n: usize, each: impl Fn(usize) -> (String, Option<String>)) -> Vec<Resp> {
    let go = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (user, from) = each(i);
            let (go, base) = (go.clone(), base.to_string());
            std::thread::spawn(move || {
                let c = Client::new(&base);
                go.wait();
                sign_in(&c, &user, "not the password", from.as_deref())
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("sign-in thread"))
        .collect()
}

fn count(rs: &[Resp], status: u16) -> usize {
    rs.iter().filter(|r| r.status == status).count()
}

fn audit_lines(db: &Path) -> usize {
    std::fs::read_to_string(format!("{}.admin/audit.jsonl", db.display()))
        .unwrap_or_default()
        .lines()
        .count()
}

#[test]
fn auth_parallel_guesses_are_bounded_and_do_not_lock_out_staff() {
    let (d, db) = setup();
    // Rate limit and check bound out of the way: only the lockout may stop the guesses.
    let s = Server::start_with(
        &db,
        &[
            "--trusted-proxy",
            "127.0.0.1",
            "--login-rate-per-min",
            "100000",
            "--password-checks",
            "64",
        ],
    );
    let rs = at_once(&s.base, 64, |_| (ADMIN.into(), Some(ATTACKER.into())));
    let checked = count(&rs, 401);
    assert!(
        (1..=5).contains(&checked),
        "at most 5 of 64 parallel guesses may be checked, {checked} were"
    );
    assert_eq!(
        count(&rs, 429),
        64 - checked,
        "the rest are refused unchecked"
    );
    for r in rs.iter().filter(|r| r.status == 429) {
        assert!(r.header("retry-after").is_some());
    }
    // The guesser is locked out, even with the right password now…
    let c = Client::new(&s.base);
    assert_eq!(sign_in(&c, ADMIN, ADMIN_PW, Some(ATTACKER)).status, 429);
    // …but the admin at their own desk is not.
    let r = sign_in(&c, ADMIN, ADMIN_PW, Some(STAFF_DESK));
    assert_eq!(r.status, 303, "{}", r.text());
    assert_eq!(c.get("/admin/users").status, 200);
    drop(d);
}

#[test]
fn auth_forwarded_for_is_believed_only_from_a_trusted_proxy() {
    let (d, db) = setup();
    let s = Server::start_with(&db, &["--login-rate-per-min", "100000"]);
    let c = Client::new(&s.base);
    for _ in 0..5 {
        assert_eq!(
            sign_in(&c, ADMIN, "wrong password", Some(ATTACKER)).status,
            401
        );
    }
    // Without --trusted-proxy the header is the client's word: the peer address is locked.
    let r = sign_in(&c, ADMIN, ADMIN_PW, Some(STAFF_DESK));
    assert_eq!(r.status, 429, "{}", r.text());
    // Other accounts from the same address are not.
    assert_eq!(sign_in(&c, EDITOR, EDITOR_PW, None).status, 303);
    drop(d);
}

#[test]
fn auth_rate_limit_per_address_and_bound_on_checks_at_once() {
    let (d, db) = setup();
    let s = Server::start_with(
        &db,
        &[
            "--trusted-proxy",
            "127.0.0.1",
            "--login-rate-per-min",
            "3",
            "--password-checks",
            "1",
        ],
    );
    let c = Client::new(&s.base);
    for i in 0..3 {
        let r = sign_in(&c, &format!("nobody{i}"), "whatever123", Some(ATTACKER));
        assert_eq!(r.status, 401);
    }
    let r = sign_in(&c, "nobody9", "whatever123", Some(ATTACKER));
    assert_eq!(
        r.status,
        429,
        "the fourth attempt in a minute: {}",
        r.text()
    );
    let wait: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(r
        .text()
        .contains("too many sign-in attempts from this address"));
    // Another address has its own budget.
    assert_eq!(sign_in(&c, EDITOR, EDITOR_PW, Some(STAFF_DESK)).status, 303);

    // One password check at a time: 32 at once from 32 addresses are partly turned away.
    let rs = at_once(&s.base, 32, |i| {
        (format!("nobody{i}"), Some(format!("192.0.2.{}", i + 1)))
    });
    assert_eq!(count(&rs, 401) + count(&rs, 503), 32);
    assert!(count(&rs, 401) >= 1);
    let busy: Vec<&Resp> = rs.iter().filter(|r| r.status == 503).collect();
    assert!(!busy.is_empty(), "some of 32 simultaneous checks wait");
    assert_eq!(busy[0].header("retry-after"), Some("1"));
    drop(d);
}

#[test]
fn auth_refused_sign_ins_do_not_grow_the_audit_log() {
    let (d, db) = setup();
    let s = Server::start_with(
        &db,
        &[
            "--trusted-proxy",
            "127.0.0.1",
            "--login-rate-per-min",
            "100000",
        ],
    );
    let c = Client::new(&s.base);
    for _ in 0..5 {
        assert_eq!(
            sign_in(&c, ADMIN, "wrong password", Some(ATTACKER)).status,
            401
        );
    }
    let before = audit_lines(&db);
    for _ in 0..1000 {
        assert_eq!(
            sign_in(&c, ADMIN, "wrong password", Some(ATTACKER)).status,
            429
        );
    }
    // Unknown names from many addresses share one tally.
    for i in 0..30 {
        let r = sign_in(
            &c,
            &format!("x{i}"),
            "whatever123",
            Some(&format!("192.0.2.{i}")),
        );
        assert_eq!(r.status, 401);
    }
    let grown = audit_lines(&db) - before;
    assert!(
        grown <= 2,
        "1,030 refused sign-ins wrote {grown} audit lines"
    );
    // The admin still sees the guessing on the audit page, and the sign-in says what was
    // counted since.
    let a = Client::new(&s.base);
    assert_eq!(sign_in(&a, ADMIN, ADMIN_PW, Some(STAFF_DESK)).status, 303);
    let page = a.get("/admin/audit").text();
    assert!(page.contains("login_failed"), "{page}");
    assert!(page.contains("refused while locked"), "{page}");
    assert!(page.contains(ATTACKER), "{page}");
    drop(d);
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

/// An API token for `user`, made in the console by `admin`.
fn make_token(admin: &Client, user: &str) -> String {
    let page = admin.get("/admin/tokens").text();
    let csrf = between(&page, "name=\"csrf\" value=\"", "\"").expect("csrf field");
    let r = admin.post_form(
        "/admin/tokens",
        &[("csrf", csrf), ("user", user), ("label", "nightly")],
    );
    assert_eq!(r.status, 200, "{}", r.text());
    between(&r.text(), "id=\"new-token\">", "</p>")
        .expect("the new token is shown")
        .to_string()
}

fn passwd(db: &Path, name: &str, password: &str, extra: &[&str]) {
    use std::io::Write;
    let mut c = std::process::Command::new(bin())
        .args(["user", "passwd", name, "--db"])
        .arg(db)
        .args(extra)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("machimap user passwd");
    c.stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("password written");
    let o = c.wait_with_output().expect("user passwd ran");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn auth_password_change_on_the_command_line_ends_sessions() {
    let (d, db) = setup();
    let s = Server::start(&db);
    let editor = Client::new(&s.base);
    assert_eq!(sign_in(&editor, EDITOR, EDITOR_PW, None).status, 303);
    let admin = Client::new(&s.base);
    assert_eq!(sign_in(&admin, ADMIN, ADMIN_PW, None).status, 303);
    assert_eq!(editor.get("/admin").status, 200);
    let token = make_token(&admin, EDITOR);
    let bearer = format!("Bearer {token}");
    let whoami = |c: &Client| c.get_with("/api/admin/whoami", &[("authorization", &bearer)]);
    assert_eq!(whoami(&admin).status, 200);
    passwd(&db, EDITOR, "a new editor password", &[]);
    let r = editor.get("/admin");
    assert_eq!(r.status, 303, "the old session is refused");
    assert!(r.header("location").unwrap().starts_with("/admin/login"));
    assert_eq!(admin.get("/admin").status, 200, "other users keep theirs");
    let again = Client::new(&s.base);
    assert_eq!(sign_in(&again, EDITOR, EDITOR_PW, None).status, 401);
    assert_eq!(
        sign_in(&again, EDITOR, "a new editor password", None).status,
        303
    );
    assert_eq!(again.get("/admin").status, 200);
    // API tokens are separate secrets: they outlive a password change unless revoked with it.
    assert_eq!(whoami(&admin).status, 200);
    passwd(&db, EDITOR, "a third editor password", &["--revoke-tokens"]);
    assert_eq!(whoami(&admin).status, 401);
    drop(d);
}

#[test]
fn auth_cookies_are_secure_when_the_request_came_over_https() {
    let (d, db) = setup();
    let s = Server::start(&db);
    let c = Client::new(&s.base);
    let plain = c.get("/admin/login");
    let sc = plain.header("set-cookie").unwrap();
    assert!(!sc.contains("Secure"), "plain http: {sc}");
    let tls = c.get_with("/admin/login", &[("x-forwarded-proto", "https")]);
    let sc = tls.header("set-cookie").unwrap();
    assert!(sc.contains("; Secure"), "{sc}");
    let tls = c.get_with(
        "/admin/login",
        &[("forwarded", "for=192.0.2.1;proto=https")],
    );
    assert!(tls.header("set-cookie").unwrap().contains("; Secure"));
    drop(s);
    let s = Server::start_with(&db, &["--base-url", "https://opendata.example.lg.jp/map"]);
    let c = Client::new(&s.base);
    let sc = c.get("/admin/login");
    assert!(sc.header("set-cookie").unwrap().contains("; Secure"));
    drop(d);
}

#[cfg(unix)]
#[test]
fn auth_admin_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let (d, db) = setup();
    let dir = PathBuf::from(format!("{}.admin", db.display()));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    // Written by `user add` on the command line.
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("accounts.jsonl")), 0o600);
    assert_eq!(mode(&dir.join("audit.jsonl")), 0o600);
    // Files of an older machimap, readable by all, are made private when a server starts.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let accounts = dir.join("accounts.jsonl");
    std::fs::set_permissions(&accounts, std::fs::Permissions::from_mode(0o644)).unwrap();
    let s = Server::start(&db);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&accounts), 0o600);
    drop(s);
    drop(d);
}
