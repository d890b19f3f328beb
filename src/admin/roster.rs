//! Staff accounts and API tokens changed by someone: each action checks its rules and writes
//! its own audit entry, so the console, the admin API and the command line (`machimap user`)
//! cannot differ in what they allow or in what the audit log says.

use super::accounts::Token;
use super::{Admin, AdminError, Result, Role};

/// Who does an action, as the audit log names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The account name (`cli` on the command line).
    pub user: String,
    /// The way in: `console`, `token:ID` or `cli`.
    pub via: String,
}

impl Actor {
    /// Someone at the server's command line (no account: whoever can write the files).
    pub fn cli() -> Actor {
        Actor {
            user: "cli".into(),
            via: "cli".into(),
        }
    }

    /// An action by `user` through `via`.
    pub fn new(user: &str, via: &str) -> Actor {
        Actor {
            user: user.into(),
            via: via.into(),
        }
    }
}

impl Admin {
    /// Write one audit entry for `by`.
    pub fn log(&self, by: &Actor, action: &str, target: &str, detail: &str) {
        self.audit.log(&by.user, &by.via, action, target, detail);
    }

    /// Add a user; a refusal is written to the audit log too (who tried to add whom).
    pub fn add_user(&self, by: &Actor, name: &str, role: Role, password: &str) -> Result<()> {
        match self.accounts.add_user(name, role, password, &by.user) {
            Ok(()) => {
                self.log(by, "user_add", name, role.as_str());
                Ok(())
            }
            Err(e) => {
                self.log(by, "user_add_refused", name, &e.to_string());
                Err(e)
            }
        }
    }

    /// Set a user's password. Their console sessions end (here at once; in a server that did
    /// not make the change, at their next request, by the account's generation); with
    /// `revoke_tokens` their API tokens are revoked too. Returns the tokens revoked.
    pub fn set_password(
        &self,
        by: &Actor,
        name: &str,
        password: &str,
        revoke_tokens: bool,
    ) -> Result<Vec<Token>> {
        self.accounts.set_password(name, password, &by.user)?;
        self.sessions.remove_user(name);
        self.log(by, "user_password", name, "sessions ended");
        if !revoke_tokens {
            return Ok(Vec::new());
        }
        let revoked = self.accounts.revoke_tokens_of(name, &by.user)?;
        for t in &revoked {
            self.log(by, "token_revoke", &t.id, &format!("of {name}"));
        }
        Ok(revoked)
    }

    /// Disable a user: they cannot sign in, their sessions end and their tokens stop working.
    /// No one can disable themselves (an admin locking the last admin out by mistake).
    pub fn disable_user(&self, by: &Actor, name: &str) -> Result<()> {
        if by.via != "cli" && name == by.user {
            return Err(AdminError::Conflict(
                "自分自身は無効にできません / you cannot disable yourself".into(),
            ));
        }
        self.accounts.disable(name, &by.user)?;
        self.sessions.remove_user(name);
        self.log(by, "user_disable", name, "");
        Ok(())
    }

    /// Create an API token for `user`; returns it with its secret, shown once.
    pub fn create_token(&self, by: &Actor, user: &str, label: &str) -> Result<(Token, String)> {
        let (t, secret) = self.accounts.create_token(user, label, &by.user)?;
        self.log(
            by,
            "token_create",
            &t.id,
            &format!("for {user}: {}", t.label),
        );
        Ok((t, secret))
    }

    /// Revoke an API token.
    pub fn revoke_token(&self, by: &Actor, id: &str) -> Result<Token> {
        let t = self.accounts.revoke_token(id, &by.user)?;
        self.log(by, "token_revoke", &t.id, &format!("of {}", t.user));
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::AdminConfig;

    fn admin() -> (tempfile::TempDir, Admin) {
        let d = tempfile::tempdir().expect("tempdir");
        let a = Admin::open(&d.path().join("x.duckdb"), AdminConfig::default());
        (d, a)
    }

    fn actions(a: &Admin) -> Vec<(String, String, String)> {
        a.audit
            .recent(100)
            .into_iter()
            .rev()
            .map(|e| (e.actor, e.via, e.action))
            .collect()
    }

    #[test]
    fn every_action_writes_its_own_audit_entry() {
        let (_d, a) = admin();
        let cli = Actor::cli();
        a.add_user(&cli, "root", Role::Admin, "correct horse battery")
            .expect("add");
        let by = Actor::new("root", "console");
        a.add_user(&by, "kato", Role::Editor, "another long password")
            .expect("add");
        assert!(a
            .add_user(&by, "kato", Role::Editor, "another long password")
            .is_err());
        let (t, secret) = a.create_token(&by, "kato", "script").expect("token");
        assert!(a.accounts.token_user(&secret).is_some());
        a.revoke_token(&by, &t.id).expect("revoke");
        assert!(a.accounts.token_user(&secret).is_none());
        let (_, s2) = a.create_token(&cli, "kato", "again").expect("token");
        let revoked = a
            .set_password(&cli, "kato", "a third long password", true)
            .expect("passwd");
        assert_eq!(revoked.len(), 1);
        assert!(a.accounts.token_user(&s2).is_none());
        a.disable_user(&by, "kato").expect("disable");
        let got = actions(&a);
        let want = [
            ("cli", "cli", "user_add"),
            ("root", "console", "user_add"),
            ("root", "console", "user_add_refused"),
            ("root", "console", "token_create"),
            ("root", "console", "token_revoke"),
            ("cli", "cli", "token_create"),
            ("cli", "cli", "user_password"),
            ("cli", "cli", "token_revoke"),
            ("root", "console", "user_disable"),
        ];
        let got: Vec<(&str, &str, &str)> = got
            .iter()
            .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn no_one_disables_themselves_but_the_command_line_may_disable_anyone() {
        let (_d, a) = admin();
        let cli = Actor::cli();
        a.add_user(&cli, "root", Role::Admin, "correct horse battery")
            .expect("add");
        let me = Actor::new("root", "console");
        let e = a.disable_user(&me, "root").expect_err("self");
        assert!(matches!(e, AdminError::Conflict(_)), "{e:?}");
        assert!(!a.accounts.user("root").expect("user").disabled);
        let by_token = Actor::new("root", "token:abc");
        assert!(a.disable_user(&by_token, "root").is_err());
        a.disable_user(&cli, "root").expect("cli");
        assert!(a.accounts.user("root").expect("user").disabled);
    }

    #[test]
    fn a_disabled_users_sessions_end() {
        let (_d, a) = admin();
        let cli = Actor::cli();
        a.add_user(&cli, "kato", Role::Editor, "another long password")
            .expect("add");
        let gen = a.accounts.user("kato").expect("user").generation;
        let cookie = a.sessions.create("kato", gen);
        assert!(a.console_user(&cookie).is_some());
        a.disable_user(&cli, "kato").expect("disable");
        assert!(a.sessions.get(&cookie).is_none());
    }
}
