//! Users (argon2id password hashes), API tokens (stored as SHA-256 of a random 32-byte
//! secret), browser sessions (in memory, with a CSRF token each), login lockout and the gate in
//! front of password checks.
//!
//! Users and tokens are an append-only event file, `{db}.admin/accounts.jsonl`; the current
//! state is the fold of its events. The server reloads it when the file has grown (the command
//! line may have added a user or changed a password).
//!
//! **Sign-in defences.** Each sign-in passes, in this order: a per-client-address rate limit
//! ([`LoginGate::admit`], `governor`; IPv6 by /64), the lockout of the (account, client address)
//! pair ([`Sessions::reserve`]: the attempt is counted *before* its password is checked, so at
//! most [`MAX_FAILURES`] passwords are ever checked for one pair in a [`LOCKOUT`] window, however
//! many arrive at once), and a bound on password checks running at once in the whole server
//! ([`LoginGate::try_check`]; each argon2 check holds ~19 MiB). The lock is per pair, not per
//! account, so an anonymous client guessing a staff member's password locks out only itself:
//! the staff member signs in from their own address as usual. The client address is the socket
//! peer, or the address a configured trusted proxy forwarded (`serve --trusted-proxy`).
//!
//! A password change (console or `machimap user passwd`) raises the user's password generation;
//! sessions started under an older generation are refused (the server sees the change when the
//! accounts file grows). API tokens are separate secrets and stay valid (revoke them in the
//! console, or with `user passwd --revoke-tokens`).

use super::{jsonl, now_iso, random_hex, sha256_hex, AdminError, Result, Role};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One event of the accounts file.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
enum Event {
    UserAdd {
        name: String,
        role: Role,
        hash: String,
        at: String,
        by: String,
    },
    UserPassword {
        name: String,
        hash: String,
        at: String,
        by: String,
    },
    UserDisable {
        name: String,
        at: String,
        by: String,
    },
    TokenAdd {
        id: String,
        user: String,
        label: String,
        hash: String,
        at: String,
        by: String,
    },
    TokenRevoke {
        id: String,
        at: String,
        by: String,
    },
}

/// A staff account.
#[derive(Debug, Clone, serde::Serialize)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Disabled accounts cannot sign in and their tokens stop working.
    pub disabled: bool,
    /// When it was created.
    pub created_at: String,
    /// Who created it (`cli` from the command line).
    pub created_by: String,
    /// How many times the password was changed; a session of an older generation is refused.
    #[serde(skip)]
    pub generation: u64,
    #[serde(skip)]
    hash: String,
}

/// An API token (the secret itself is shown once and never stored).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Token {
    /// Public id (first 12 hex digits of the secret's hash).
    pub id: String,
    /// The user it acts as.
    pub user: String,
    /// What it is for.
    pub label: String,
    /// When it was created.
    pub created_at: String,
    /// Who created it.
    pub created_by: String,
    /// Revoked tokens are refused.
    pub revoked: bool,
    #[serde(skip)]
    hash: String,
}

#[derive(Debug, Default)]
struct Loaded {
    size: u64,
    users: BTreeMap<String, User>,
    tokens: BTreeMap<String, Token>,
}

/// Users and tokens of one database.
#[derive(Debug)]
pub struct Accounts {
    path: PathBuf,
    inner: Mutex<Loaded>,
}

/// Check a login name: 1–64 characters, letters, digits, `.`, `_`, `-`, `@`.
pub fn valid_name(name: &str) -> bool {
    let n = name.chars().count();
    (1..=64).contains(&n)
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

/// Hash a password with argon2id (default parameters, random salt).
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AdminError::Internal(format!("argon2: {e}")))
}

fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash of nothing, verified when the user does not exist so both cases take as long.
fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("machimap-no-such-user").unwrap_or_default())
}

impl Accounts {
    /// The accounts of the admin folder `dir`.
    pub fn open(dir: &Path) -> Accounts {
        Accounts {
            path: dir.join("accounts.jsonl"),
            inner: Mutex::new(Loaded::default()),
        }
    }

    fn load(&self) -> std::sync::MutexGuard<'_, Loaded> {
        let mut g = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if jsonl::size(&self.path) != g.size {
            match jsonl::read_all::<Event>(&self.path) {
                Ok((events, size)) => {
                    let mut l = Loaded {
                        size,
                        ..Loaded::default()
                    };
                    for e in events {
                        apply(&mut l, e);
                    }
                    *g = l;
                }
                Err(e) => tracing::warn!("cannot read {}: {e}", self.path.display()),
            }
        }
        g
    }

    fn append(&self, e: Event) -> Result<()> {
        jsonl::append(&self.path, &e).map_err(AdminError::writing(&self.path))
    }

    /// Every user, by name.
    pub fn users(&self) -> Vec<User> {
        self.load().users.values().cloned().collect()
    }

    /// One user.
    pub fn user(&self, name: &str) -> Option<User> {
        self.load().users.get(name).cloned()
    }

    /// Every token, newest first.
    pub fn tokens(&self) -> Vec<Token> {
        let mut v: Vec<Token> = self.load().tokens.values().cloned().collect();
        v.sort_by(|a, b| b.created_at.cmp(&a.created_at));
        v
    }

    /// Add a user.
    pub fn add_user(&self, name: &str, role: Role, password: &str, by: &str) -> Result<()> {
        if !valid_name(name) {
            return Err(AdminError::BadInput(
                "ユーザー名は1〜64文字の英数字と . _ - @ です / user names are 1–64 letters, digits, . _ - @".into(),
            ));
        }
        check_password(password)?;
        if self.user(name).is_some() {
            return Err(AdminError::Conflict(format!(
                "ユーザー {name} は既にあります / user {name} exists"
            )));
        }
        let hash = hash_password(password)?;
        self.append(Event::UserAdd {
            name: name.into(),
            role,
            hash,
            at: now_iso(),
            by: by.into(),
        })
    }

    /// Set a user's password.
    pub fn set_password(&self, name: &str, password: &str, by: &str) -> Result<()> {
        check_password(password)?;
        if self.user(name).is_none() {
            return Err(AdminError::NotFound(format!("no user {name}")));
        }
        let hash = hash_password(password)?;
        self.append(Event::UserPassword {
            name: name.into(),
            hash,
            at: now_iso(),
            by: by.into(),
        })
    }

    /// Disable a user (kept in the history; their sessions and tokens stop working).
    pub fn disable(&self, name: &str, by: &str) -> Result<()> {
        if self.user(name).is_none() {
            return Err(AdminError::NotFound(format!("no user {name}")));
        }
        self.append(Event::UserDisable {
            name: name.into(),
            at: now_iso(),
            by: by.into(),
        })
    }

    /// The user if `password` is theirs and the account is enabled (slow: argon2).
    pub fn verify_password(&self, name: &str, password: &str) -> Option<User> {
        match self.user(name) {
            Some(u) if !u.disabled => verify(password, &u.hash).then_some(u),
            Some(u) => {
                let _ = verify(password, &u.hash);
                None
            }
            None => {
                let _ = verify(password, dummy_hash());
                None
            }
        }
    }

    /// Create a token for `user`; returns it with the secret, shown once.
    pub fn create_token(&self, user: &str, label: &str, by: &str) -> Result<(Token, String)> {
        match self.user(user) {
            Some(u) if !u.disabled => {}
            _ => return Err(AdminError::NotFound(format!("no active user {user}"))),
        }
        let secret = format!("mmt_{}", random_hex(32));
        let hash = sha256_hex(&secret);
        let id = hash[..12].to_string();
        let label: String = label
            .chars()
            .filter(|c| !c.is_control())
            .take(100)
            .collect();
        self.append(Event::TokenAdd {
            id: id.clone(),
            user: user.into(),
            label,
            hash,
            at: now_iso(),
            by: by.into(),
        })?;
        let t = self
            .load()
            .tokens
            .get(&id)
            .cloned()
            .ok_or_else(|| AdminError::Internal("token not stored".into()))?;
        Ok((t, secret))
    }

    /// Revoke a token.
    pub fn revoke_token(&self, id: &str, by: &str) -> Result<Token> {
        let t = self
            .load()
            .tokens
            .get(id)
            .cloned()
            .ok_or_else(|| AdminError::NotFound(format!("no token {id}")))?;
        self.append(Event::TokenRevoke {
            id: id.into(),
            at: now_iso(),
            by: by.into(),
        })?;
        Ok(t)
    }

    /// Revoke every active token of `user`; returns them.
    pub fn revoke_tokens_of(&self, user: &str, by: &str) -> Result<Vec<Token>> {
        let active: Vec<Token> = self
            .tokens()
            .into_iter()
            .filter(|t| t.user == user && !t.revoked)
            .collect();
        for t in &active {
            self.revoke_token(&t.id, by)?;
        }
        Ok(active)
    }

    /// The user a token secret acts as, when the token and the user are active.
    pub fn token_user(&self, secret: &str) -> Option<(User, Token)> {
        if !secret.starts_with("mmt_") || secret.len() != 68 {
            return None;
        }
        let hash = sha256_hex(secret);
        let g = self.load();
        let t = g.tokens.get(&hash[..12])?;
        // Compare the whole hash in constant time.
        let same = t
            .hash
            .bytes()
            .zip(hash.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
            && t.hash.len() == hash.len();
        if !same || t.revoked {
            return None;
        }
        let u = g.users.get(&t.user)?;
        (!u.disabled).then(|| (u.clone(), t.clone()))
    }
}

fn check_password(p: &str) -> Result<()> {
    if p.chars().count() < 10 || p.len() > 1024 {
        return Err(AdminError::BadInput(
            "パスワードは10文字以上にしてください / passwords need at least 10 characters".into(),
        ));
    }
    Ok(())
}

fn apply(l: &mut Loaded, e: Event) {
    match e {
        Event::UserAdd {
            name,
            role,
            hash,
            at,
            by,
        } => {
            l.users.insert(
                name.clone(),
                User {
                    name,
                    role,
                    disabled: false,
                    created_at: at,
                    created_by: by,
                    generation: 0,
                    hash,
                },
            );
        }
        Event::UserPassword { name, hash, .. } => {
            if let Some(u) = l.users.get_mut(&name) {
                u.hash = hash;
                u.generation += 1;
            }
        }
        Event::UserDisable { name, .. } => {
            if let Some(u) = l.users.get_mut(&name) {
                u.disabled = true;
            }
        }
        Event::TokenAdd {
            id,
            user,
            label,
            hash,
            at,
            by,
        } => {
            l.tokens.insert(
                id.clone(),
                Token {
                    id,
                    user,
                    label,
                    created_at: at,
                    created_by: by,
                    revoked: false,
                    hash,
                },
            );
        }
        Event::TokenRevoke { id, .. } => {
            if let Some(t) = l.tokens.get_mut(&id) {
                t.revoked = true;
            }
        }
    }
}

/// A signed-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    /// User name.
    pub user: String,
    /// Token that every form POST of this session must carry.
    pub csrf: String,
    /// The user's password generation when the session started ([`User::generation`]).
    pub generation: u64,
    created: Instant,
    last: Instant,
}

/// Sign-in attempts of one (account name, client address) pair in the current window.
#[derive(Debug, Clone, Copy)]
struct Failures {
    /// Attempts reserved in the window (failed, or still being checked).
    count: u32,
    first: Instant,
    locked_until: Option<Instant>,
}

impl Failures {
    fn fresh(now: Instant) -> Failures {
        Failures {
            count: 0,
            first: now,
            locked_until: None,
        }
    }
}

/// Password checks allowed for one (account, client address) pair in a window; after that the
/// pair is locked.
pub const MAX_FAILURES: u32 = 5;
/// Window in which failures are counted, and how long the lock lasts.
pub const LOCKOUT: Duration = Duration::from_secs(15 * 60);
const MAX_SESSION: Duration = Duration::from_secs(12 * 3600);

/// The key of the lockout table: the lower-cased account name and the client address.
fn attempt_key(name: &str, ip: IpAddr) -> (String, IpAddr) {
    (name.to_lowercase(), rate_key(ip))
}

/// Sessions (keyed by the SHA-256 of the cookie value) and login lockout.
#[derive(Debug)]
pub struct Sessions {
    idle: Duration,
    map: Mutex<HashMap<String, Session>>,
    failures: Mutex<FailureTable>,
}

#[derive(Debug)]
struct FailureTable {
    map: HashMap<(String, IpAddr), Failures>,
    /// Forget finished windows when the table grows past this (then twice its size).
    prune_at: usize,
}

impl Sessions {
    /// Sessions ending after `idle` without a request (and after 12 hours in any case).
    pub fn new(idle: Duration) -> Sessions {
        Sessions {
            idle,
            map: Mutex::new(HashMap::new()),
            failures: Mutex::new(FailureTable {
                map: HashMap::new(),
                prune_at: 10_000,
            }),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn failures(&self) -> std::sync::MutexGuard<'_, FailureTable> {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Start a session of `user` at password generation `generation`; returns the cookie value.
    pub fn create(&self, user: &str, generation: u64) -> String {
        let cookie = random_hex(32);
        let now = Instant::now();
        let mut m = self.map();
        m.retain(|_, s| now.duration_since(s.last) < self.idle);
        m.insert(
            sha256_hex(&cookie),
            Session {
                user: user.into(),
                csrf: random_hex(32),
                generation,
                created: now,
                last: now,
            },
        );
        cookie
    }

    /// The live session of a cookie value (touching it).
    pub fn get(&self, cookie: &str) -> Option<Session> {
        let key = sha256_hex(cookie);
        let now = Instant::now();
        let mut m = self.map();
        let s = m.get_mut(&key)?;
        if now.duration_since(s.last) >= self.idle || now.duration_since(s.created) >= MAX_SESSION {
            m.remove(&key);
            return None;
        }
        s.last = now;
        Some(s.clone())
    }

    /// End a session.
    pub fn remove(&self, cookie: &str) {
        self.map().remove(&sha256_hex(cookie));
    }

    /// End every session of a user (disabled account).
    pub fn remove_user(&self, user: &str) {
        self.map().retain(|_, s| s.user != user);
    }

    /// Reserve one password check for `name` from `ip`, before it runs. Refused with the seconds
    /// left when the pair is locked, or when [`MAX_FAILURES`] checks were already reserved in
    /// this window (some may still be running).
    pub fn reserve(&self, name: &str, ip: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let mut t = self.failures();
        if t.map.len() >= t.prune_at {
            t.map.retain(|_, x| {
                x.locked_until.is_some_and(|u| u > now) || now.duration_since(x.first) < LOCKOUT
            });
            t.prune_at = (t.map.len() * 2).max(10_000);
        }
        let e = t
            .map
            .entry(attempt_key(name, ip))
            .or_insert(Failures::fresh(now));
        match e.locked_until {
            Some(until) if until > now => return Err(secs_until(now, until)),
            Some(_) => *e = Failures::fresh(now),
            None if now.duration_since(e.first) >= LOCKOUT => *e = Failures::fresh(now),
            None => {}
        }
        if e.count >= MAX_FAILURES {
            return Err(secs_until(now, e.first + LOCKOUT));
        }
        e.count += 1;
        Ok(())
    }

    /// Give back a reservation whose check never ran (the server was busy).
    pub fn unreserve(&self, name: &str, ip: IpAddr) {
        if let Some(e) = self.failures().map.get_mut(&attempt_key(name, ip)) {
            e.count = e.count.saturating_sub(1);
        }
    }

    /// A reserved check failed; returns true when this locked the pair (once per lock).
    pub fn fail(&self, name: &str, ip: IpAddr) -> bool {
        let now = Instant::now();
        let mut t = self.failures();
        let Some(e) = t.map.get_mut(&attempt_key(name, ip)) else {
            return false;
        };
        if e.count >= MAX_FAILURES && e.locked_until.is_none() {
            e.locked_until = Some(now + LOCKOUT);
            return true;
        }
        false
    }

    /// Seconds left of a lock on `name` from `ip`, if locked.
    pub fn locked(&self, name: &str, ip: IpAddr) -> Option<u64> {
        let now = Instant::now();
        self.failures()
            .map
            .get(&attempt_key(name, ip))
            .and_then(|x| x.locked_until)
            .filter(|t| *t > now)
            .map(|t| secs_until(now, t))
    }

    /// Forget the failures of `name` from `ip` after a successful sign-in.
    pub fn succeed(&self, name: &str, ip: IpAddr) {
        self.failures().map.remove(&attempt_key(name, ip));
    }
}

fn secs_until(now: Instant, t: Instant) -> u64 {
    t.saturating_duration_since(now).as_secs().max(1)
}

/// The key a client address is counted under: itself for IPv4, its /64 network for IPv6 (one
/// subscriber usually holds a whole /64).
pub fn rate_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The client's address: the socket `peer`, or, when the peer is one of the `trusted`
/// proxies, the nearest address in its `X-Forwarded-For` that is not a trusted proxy itself
/// (addresses further left were written by the client and prove nothing).
pub fn client_addr(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpAddr]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|t| rate_key(*t) == rate_key(*ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let Some(xff) = forwarded_for else {
        return peer;
    };
    let mut client = peer;
    for part in xff.rsplit(',') {
        let part = part.trim();
        // Some proxies write the port too (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
        let ip = part
            .parse::<IpAddr>()
            .or_else(|_| part.parse::<std::net::SocketAddr>().map(|a| a.ip()));
        match ip {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            // A malformed hop: stop at the last address a trusted proxy vouched for.
            Err(_) => break,
        }
    }
    client
}

/// Sign-in attempts allowed per client address per minute (a burst of as many).
pub const LOGIN_RATE_PER_MIN: u32 = 30;

/// What stands in front of password checks: a per-address rate limit and a bound on checks
/// running at once.
#[derive(Debug)]
pub struct LoginGate {
    per_addr: governor::DefaultKeyedRateLimiter<IpAddr>,
    checks: Arc<tokio::sync::Semaphore>,
}

impl LoginGate {
    /// `per_minute` sign-in attempts per client address (at least 1) and at most `checks`
    /// password checks at once (at least 1).
    pub fn new(per_minute: u32, checks: usize) -> LoginGate {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        LoginGate {
            per_addr: governor::RateLimiter::keyed(governor::Quota::per_minute(per_minute)),
            checks: Arc::new(tokio::sync::Semaphore::new(checks.max(1))),
        }
    }

    /// Admit one sign-in attempt from `ip`, or the seconds to wait.
    pub fn admit(&self, ip: IpAddr) -> Result<(), u64> {
        use governor::clock::{Clock, DefaultClock};
        if self.per_addr.len() > 10_000 {
            self.per_addr.retain_recent();
        }
        self.per_addr.check_key(&rate_key(ip)).map_err(|not_until| {
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        })
    }

    /// A permit to run one password check now, if fewer than the bound are running. Move it
    /// into the thread doing the check, so it is held until the check ends.
    pub fn try_check(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.checks.clone().try_acquire_owned().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_tokens_and_reload() {
        let d = std::env::temp_dir().join(format!("mm-acc-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let a = Accounts::open(&d);
        a.add_user("alice", Role::Editor, "correct horse battery", "cli")
            .unwrap();
        assert!(a
            .add_user("alice", Role::Admin, "another password", "cli")
            .is_err());
        assert!(a
            .add_user("<b>", Role::Admin, "another password", "cli")
            .is_err());
        assert!(a
            .verify_password("alice", "correct horse battery")
            .is_some());
        assert!(a.verify_password("alice", "wrong password!").is_none());
        assert!(a.verify_password("bob", "correct horse battery").is_none());
        let (t, secret) = a.create_token("alice", "cron", "admin").unwrap();
        assert_eq!(a.token_user(&secret).unwrap().0.name, "alice");
        // Another process (the CLI) appends; this one sees it.
        let b = Accounts::open(&d);
        b.add_user("bob", Role::Admin, "bobs long password", "cli")
            .unwrap();
        assert_eq!(a.user("bob").unwrap().role, Role::Admin);
        a.revoke_token(&t.id, "admin").unwrap();
        assert!(a.token_user(&secret).is_none());
        a.disable("bob", "admin").unwrap();
        assert!(a.verify_password("bob", "bobs long password").is_none());
        let _ = std::fs::remove_dir_all(&d);
    }

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(203, 0, 113, 7));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, 9));

    #[test]
    fn lockout_after_five_failures_of_one_pair() {
        let s = Sessions::new(Duration::from_secs(60));
        for _ in 0..4 {
            assert!(s.reserve("Alice", A).is_ok());
            assert!(!s.fail("Alice", A));
        }
        assert!(s.locked("alice", A).is_none());
        assert!(s.reserve("alice", A).is_ok());
        assert!(s.fail("alice", A), "the fifth failure locks");
        assert!(!s.fail("alice", A), "and reports the lock once");
        assert!(s.locked("ALICE", A).is_some());
        assert!(s.reserve("alice", A).is_err());
        // Another address is not locked out of the same account.
        assert!(s.locked("alice", B).is_none());
        assert!(s.reserve("alice", B).is_ok());
        s.succeed("alice", B);
        assert!(
            s.locked("alice", A).is_some(),
            "B's success does not lift A's lock"
        );
    }

    #[test]
    fn attempts_are_counted_before_the_check_even_in_parallel() {
        // 64 attempts at once, none finished: only MAX_FAILURES may go on to a password check.
        let s = Arc::new(Sessions::new(Duration::from_secs(60)));
        let go = Arc::new(std::sync::Barrier::new(64));
        let admitted: usize = (0..64)
            .map(|_| {
                let (s, go) = (s.clone(), go.clone());
                std::thread::spawn(move || {
                    go.wait();
                    s.reserve("alice", A).is_ok()
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| usize::from(h.join().unwrap()))
            .sum();
        assert_eq!(admitted, MAX_FAILURES as usize);
        // A check that never ran gives its place back.
        s.unreserve("alice", A);
        assert!(s.reserve("alice", A).is_ok());
        assert!(s.reserve("alice", A).is_err());
        // A success clears the pair.
        s.succeed("alice", A);
        assert!(s.reserve("alice", A).is_ok());
    }

    #[test]
    fn client_address_trusts_only_configured_proxies() {
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        let xff = Some("10.9.9.9, 203.0.113.7");
        assert_eq!(client_addr(peer, xff, &[]), peer, "no proxy configured");
        assert_eq!(client_addr(peer, xff, &[peer]), A);
        let proxy2: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(
            client_addr(peer, Some("203.0.113.7, 192.0.2.1"), &[peer, proxy2]),
            A,
            "chained trusted proxies are skipped"
        );
        assert_eq!(client_addr(peer, Some("junk"), &[peer]), peer);
        assert_eq!(client_addr(peer, Some("203.0.113.7:4711"), &[peer]), A);
        assert_eq!(
            client_addr(peer, Some("[2001:db8::1]:4711"), &[peer]),
            "2001:db8::1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_addr(peer, None, &[peer]), peer);
        let v6a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let v6b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        assert_eq!(rate_key(v6a), rate_key(v6b), "one /64 is one client");
    }

    #[test]
    fn gate_limits_rate_per_address_and_checks_at_once() {
        let g = LoginGate::new(3, 2);
        for _ in 0..3 {
            assert!(g.admit(A).is_ok());
        }
        assert!(g.admit(A).unwrap_err() >= 1);
        assert!(g.admit(B).is_ok(), "another address has its own budget");
        let p1 = g.try_check().unwrap();
        let _p2 = g.try_check().unwrap();
        assert!(g.try_check().is_none());
        drop(p1);
        assert!(g.try_check().is_some());
    }

    #[test]
    fn a_password_change_raises_the_generation() {
        let d = std::env::temp_dir().join(format!("mm-acc-gen-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let a = Accounts::open(&d);
        a.add_user("carol", Role::Editor, "first long password", "cli")
            .unwrap();
        assert_eq!(a.user("carol").unwrap().generation, 0);
        let (t, secret) = a.create_token("carol", "cron", "cli").unwrap();
        Accounts::open(&d)
            .set_password("carol", "second long password", "cli")
            .unwrap();
        assert_eq!(a.user("carol").unwrap().generation, 1);
        assert!(
            a.token_user(&secret).is_some(),
            "tokens outlive a password change"
        );
        let revoked = a.revoke_tokens_of("carol", "cli").unwrap();
        assert_eq!(revoked.len(), 1);
        assert_eq!(revoked[0].id, t.id);
        assert!(a.token_user(&secret).is_none());
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn sessions_expire() {
        let s = Sessions::new(Duration::from_millis(30));
        let c = s.create("alice", 0);
        assert_eq!(s.get(&c).unwrap().user, "alice");
        std::thread::sleep(Duration::from_millis(60));
        assert!(s.get(&c).is_none());
    }
}
