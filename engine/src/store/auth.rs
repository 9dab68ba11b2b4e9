//! The dashboard's accounts, sessions, API tokens and audit trail. The store keeps only what
//! the web layer hands it: password hashes (argon2 PHC strings) and SHA-256 digests of session
//! ids and tokens, never the secrets themselves. Hashing and verification live in `web/`.

use duckdb::{params, OptionalExt};
use serde::Serialize;

use super::{Result, Store, StoreError};
use crate::time::Micros;

/// A dashboard role: viewers read, admins also change findings and accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "viewer" => Some(Role::Viewer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A dashboard account (without its password hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WebUser {
    pub name: String,
    pub role: Role,
    pub created_at: Micros,
}

/// One entry of the web audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub at: Micros,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub detail: Option<String>,
    pub operation_id: Option<String>,
}

fn role_of(text: String) -> Role {
    Role::parse(&text).unwrap_or(Role::Viewer)
}

/// A `WebUser` from a row of (name, role, created_at micros).
fn user_row(r: &duckdb::Row<'_>) -> duckdb::Result<WebUser> {
    Ok(WebUser {
        name: r.get(0)?,
        role: role_of(r.get(1)?),
        created_at: r.get(2)?,
    })
}

impl Store {
    /// Creates an account, or replaces the password hash and role of an existing one.
    pub fn put_web_user(
        &self,
        name: &str,
        password_hash: &str,
        role: Role,
        now: Micros,
    ) -> Result<()> {
        self.shared.sessions.clear();
        if name.trim().is_empty() || name.len() > 64 {
            return Err(StoreError::Invalid(
                "a user name has 1 to 64 characters".into(),
            ));
        }
        self.conn().execute(
            "INSERT INTO web_users VALUES (?, ?, ?, make_timestamp(?::BIGINT))
             ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, role = excluded.role",
            params![name, password_hash, role.as_str(), now],
        )?;
        self.shared.sessions.clear();
        Ok(())
    }

    /// The number of dashboard accounts.
    pub fn web_user_count(&self) -> Result<i64> {
        Ok(self
            .conn()
            .query_row("SELECT count(*) FROM web_users", [], |r| r.get(0))?)
    }

    /// One account and its password hash.
    pub fn web_user(&self, name: &str) -> Result<Option<(WebUser, String)>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT name, role, epoch_us(created_at), password_hash FROM web_users WHERE name = ?",
                params![name],
                |r| {
                    Ok((
                        WebUser {
                            name: r.get(0)?,
                            role: role_of(r.get(1)?),
                            created_at: r.get(2)?,
                        },
                        r.get(3)?,
                    ))
                },
            )
            .optional()?)
    }

    /// Records a session (by the digest of its id) valid until `expires_at`; sessions expired
    /// by `now` are deleted.
    pub fn create_web_session(
        &self,
        session_hash: &str,
        user: &str,
        now: Micros,
        expires_at: Micros,
    ) -> Result<()> {
        self.conn().execute(
            "DELETE FROM web_sessions WHERE expires_at <= make_timestamp(?::BIGINT)",
            params![now],
        )?;
        self.conn().execute(
            "INSERT INTO web_sessions VALUES (?, ?, make_timestamp(?::BIGINT), make_timestamp(?::BIGINT))",
            params![session_hash, user, now, expires_at],
        )?;
        Ok(())
    }

    /// The account behind an unexpired session (confirmed sessions are remembered, see
    /// `super::memory::sessions`).
    pub fn web_session_user(&self, session_hash: &str, now: Micros) -> Result<Option<WebUser>> {
        if let Some(user) = self.shared.sessions.session(session_hash, now) {
            return Ok(Some(user));
        }
        let epoch = self.shared.sessions.epoch();
        let found = self
            .conn()
            .query_row(
                "SELECT u.name, u.role, epoch_us(u.created_at), epoch_us(s.expires_at) FROM web_sessions s
                 JOIN web_users u ON u.name = s.user_name
                 WHERE s.session_hash = ? AND s.expires_at > make_timestamp(?::BIGINT)",
                params![session_hash, now],
                |r| Ok((user_row(r)?, r.get::<_, i64>(3)?)),
            )
            .optional()?;
        Ok(found.map(|(user, expires_at)| {
            self.shared
                .sessions
                .put_session(epoch, session_hash, &user, expires_at);
            user
        }))
    }

    /// Ends a session.
    pub fn delete_web_session(&self, session_hash: &str) -> Result<()> {
        self.shared.sessions.end_session(session_hash);
        self.conn().execute(
            "DELETE FROM web_sessions WHERE session_hash = ?",
            params![session_hash],
        )?;
        self.shared.sessions.end_session(session_hash);
        Ok(())
    }

    /// Records an API token (by its digest) for an existing account.
    pub fn create_api_token(
        &self,
        token_hash: &str,
        user: &str,
        label: &str,
        now: Micros,
    ) -> Result<()> {
        if self.web_user(user)?.is_none() {
            return Err(StoreError::Invalid(format!("no dashboard user {user}")));
        }
        self.conn().execute(
            "INSERT INTO api_tokens VALUES (?, ?, ?, make_timestamp(?::BIGINT))",
            params![token_hash, user, label, now],
        )?;
        Ok(())
    }

    /// The account behind an API token (confirmed tokens are remembered).
    pub fn api_token_user(&self, token_hash: &str) -> Result<Option<WebUser>> {
        if let Some(user) = self.shared.sessions.token(token_hash) {
            return Ok(Some(user));
        }
        let epoch = self.shared.sessions.epoch();
        let found = self
            .conn()
            .query_row(
                "SELECT u.name, u.role, epoch_us(u.created_at) FROM api_tokens t
                 JOIN web_users u ON u.name = t.user_name WHERE t.token_hash = ?",
                params![token_hash],
                user_row,
            )
            .optional()?;
        if let Some(user) = &found {
            self.shared.sessions.put_token(epoch, token_hash, user);
        }
        Ok(found)
    }

    /// Appends to the web audit trail.
    pub fn audit_web_action(&self, entry: &AuditEntry) -> Result<()> {
        self.conn().execute(
            "INSERT INTO web_audit VALUES (make_timestamp(?::BIGINT), ?, ?, ?, ?, ?)",
            params![
                entry.at,
                entry.actor,
                entry.action,
                entry.target,
                entry.detail,
                entry.operation_id
            ],
        )?;
        Ok(())
    }

    /// The latest `limit` entries of the web audit trail, newest first.
    pub fn web_audit(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        let mut stmt = self.conn().prepare(
            "SELECT epoch_us(event_at), actor, action, target, detail, operation_id FROM web_audit
             ORDER BY event_at DESC, rowid DESC LIMIT ?",
        )?;
        let rows = stmt.query_map(params![limit as i64], |r| {
            Ok(AuditEntry {
                at: r.get(0)?,
                actor: r.get(1)?,
                action: r.get(2)?,
                target: r.get(3)?,
                detail: r.get(4)?,
                operation_id: r.get(5)?,
            })
        })?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Another connection to the same database (same process), for a pool of readers and
    /// writers. DuckDB connections are not `Sync`; each clone serves one thread at a time.
    pub fn try_clone(&self) -> Result<Store> {
        Ok(Store {
            conn: self.conn.try_clone()?,
            path: self.path.clone(),
            shared: self.shared.clone(),
            memory_limit: std::sync::Mutex::new(
                self.memory_limit.lock().ok().and_then(|s| s.clone()),
            ),
            // A read-only store's clone gets its own private staging database.
            stage: match &self.stage {
                Some(_) => Some(duckdb::Connection::open_in_memory()?),
                None => None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_sessions_end_with_logout_role_changes_and_expiry() {
        let store = Store::open_in_memory().expect("store");
        let other = store.try_clone().expect("clone");
        store
            .put_web_user("bo", "$argon2id$x", Role::Admin, 10)
            .expect("user");
        store
            .create_web_session("s1", "bo", 10, 100)
            .expect("session");
        store.create_api_token("t1", "bo", "ci", 10).expect("token");
        // Confirmed once, remembered by every clone.
        for s in [&store, &other] {
            let user = s.web_session_user("s1", 20).expect("read").expect("valid");
            assert_eq!(user.role, Role::Admin);
            assert!(s.api_token_user("t1").expect("read").is_some());
        }
        // A role change shows at once, through sessions and tokens.
        other
            .put_web_user("bo", "$argon2id$x", Role::Viewer, 10)
            .expect("demote");
        assert_eq!(
            store
                .web_session_user("s1", 20)
                .expect("read")
                .map(|u| u.role),
            Some(Role::Viewer)
        );
        assert_eq!(
            store.api_token_user("t1").expect("read").map(|u| u.role),
            Some(Role::Viewer)
        );
        // Expiry is judged at each request's `now`, remembered or not.
        assert_eq!(store.web_session_user("s1", 100).expect("read"), None);
        // Logging out on one clone ends the session on all.
        assert!(other.web_session_user("s1", 30).expect("read").is_some());
        store.delete_web_session("s1").expect("logout");
        assert_eq!(other.web_session_user("s1", 30).expect("read"), None);
        assert_eq!(store.web_session_user("s1", 30).expect("read"), None);
        // Unknown digests are never remembered.
        assert_eq!(store.web_session_user("nope", 30).expect("read"), None);
    }

    #[test]
    fn sessions_tokens_and_audit_round_trip() {
        let store = Store::open_in_memory().expect("store");
        assert_eq!(store.web_user_count().expect("count"), 0);
        store
            .put_web_user("ada", "$argon2id$x", Role::Admin, 10)
            .expect("user");
        let (user, hash) = store.web_user("ada").expect("read").expect("exists");
        assert_eq!((user.role, hash.as_str()), (Role::Admin, "$argon2id$x"));
        store
            .create_web_session("h1", "ada", 10, 100)
            .expect("session");
        assert_eq!(
            store
                .web_session_user("h1", 50)
                .expect("read")
                .map(|u| u.name),
            Some("ada".into())
        );
        assert_eq!(store.web_session_user("h1", 100).expect("read"), None);
        store.delete_web_session("h1").expect("delete");
        assert_eq!(store.web_session_user("h1", 50).expect("read"), None);
        assert!(store.create_api_token("t1", "nobody", "x", 10).is_err());
        store
            .create_api_token("t1", "ada", "ci", 10)
            .expect("token");
        assert_eq!(
            store.api_token_user("t1").expect("read").map(|u| u.role),
            Some(Role::Admin)
        );
        let clone = store.try_clone().expect("clone");
        clone
            .audit_web_action(&AuditEntry {
                at: 20,
                actor: "ada".into(),
                action: "suppress".into(),
                target: Some("F-1".into()),
                detail: Some("accepted risk".into()),
                operation_id: Some("op".into()),
            })
            .expect("audit");
        assert_eq!(store.web_audit(10).expect("audit")[0].action, "suppress");
    }
}
