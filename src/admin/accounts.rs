//! Users (argon2id password hashes), API tokens (stored as SHA-256 of a random 32-byte
//! secret), browser sessions (in memory, with a CSRF token each) and login lockout.
//!
//! Users and tokens are an append-only event file, `{db}.admin/accounts.jsonl`; the current
//! state is the fold of its events. The server reloads it when the file has grown (the command
//! line may have added a user).

use super::{jsonl, now_iso, random_hex, sha256_hex, AdminError, Result, Role};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
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
                Err(e) => eprintln!("machimap: cannot read {}: {e}", self.path.display()),
            }
        }
        g
    }

    fn append(&self, e: Event) -> Result<()> {
        jsonl::append(&self.path, &e)?;
        Ok(())
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
                    hash,
                },
            );
        }
        Event::UserPassword { name, hash, .. } => {
            if let Some(u) = l.users.get_mut(&name) {
                u.hash = hash;
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
    created: Instant,
    last: Instant,
}

/// Failed logins of one name.
#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    first: Instant,
    locked_until: Option<Instant>,
}

/// Failures that lock an account name.
pub const MAX_FAILURES: u32 = 5;
/// Window in which failures are counted, and how long the lock lasts.
pub const LOCKOUT: Duration = Duration::from_secs(15 * 60);
const MAX_SESSION: Duration = Duration::from_secs(12 * 3600);

/// Sessions (keyed by the SHA-256 of the cookie value) and login lockout.
#[derive(Debug)]
pub struct Sessions {
    idle: Duration,
    map: Mutex<HashMap<String, Session>>,
    failures: Mutex<HashMap<String, Failures>>,
}

impl Sessions {
    /// Sessions ending after `idle` without a request (and after 12 hours in any case).
    pub fn new(idle: Duration) -> Sessions {
        Sessions {
            idle,
            map: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Start a session; returns the cookie value.
    pub fn create(&self, user: &str) -> String {
        let cookie = random_hex(32);
        let now = Instant::now();
        let mut m = self.map();
        m.retain(|_, s| now.duration_since(s.last) < self.idle);
        m.insert(
            sha256_hex(&cookie),
            Session {
                user: user.into(),
                csrf: random_hex(32),
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

    /// Seconds left of a lock on `name`, if locked.
    pub fn locked(&self, name: &str) -> Option<u64> {
        let now = Instant::now();
        let f = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f.get(&name.to_lowercase())
            .and_then(|x| x.locked_until)
            .filter(|t| *t > now)
            .map(|t| t.duration_since(now).as_secs().max(1))
    }

    /// Count a failed login; returns true when it locked the name.
    pub fn fail(&self, name: &str) -> bool {
        let now = Instant::now();
        let mut f = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if f.len() > 10_000 {
            f.retain(|_, x| now.duration_since(x.first) < LOCKOUT);
        }
        let e = f.entry(name.to_lowercase()).or_insert(Failures {
            count: 0,
            first: now,
            locked_until: None,
        });
        if now.duration_since(e.first) >= LOCKOUT {
            *e = Failures {
                count: 0,
                first: now,
                locked_until: None,
            };
        }
        e.count += 1;
        if e.count >= MAX_FAILURES {
            e.locked_until = Some(now + LOCKOUT);
            return true;
        }
        false
    }

    /// Forget failures after a successful login.
    pub fn succeed(&self, name: &str) {
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&name.to_lowercase());
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

    #[test]
    fn lockout_after_five_failures() {
        let s = Sessions::new(Duration::from_secs(60));
        for _ in 0..4 {
            assert!(!s.fail("Alice"));
        }
        assert!(s.locked("alice").is_none());
        assert!(s.fail("alice"));
        assert!(s.locked("ALICE").is_some());
    }

    #[test]
    fn sessions_expire() {
        let s = Sessions::new(Duration::from_millis(30));
        let c = s.create("alice");
        assert_eq!(s.get(&c).unwrap().user, "alice");
        std::thread::sleep(Duration::from_millis(60));
        assert!(s.get(&c).is_none());
    }
}
