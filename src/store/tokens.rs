//! API tokens: bearer secrets for the HTTP API, stored only as SHA-256 hashes.
//! A web login (session) is such a token with an expiry, named
//! [`SESSION_TOKEN_NAME`].
//!
//! Tokens are 256 random bits, so a fast hash is enough (no dictionary to
//! guard against) and lets a request find its token with one indexed lookup.
//! A user's token stops working when the user is disabled.

use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::{Millis, Role, Store, StoreError, new_id};

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Everything, in every tenant.
    Admin,
    /// An agent's own work in its tenant.
    Agent,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::Admin => "admin",
            Scope::Agent => "agent",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Scope::Admin => "kefu_admin_",
            Scope::Agent => "kefu_agent_",
        }
    }
}

/// The name of session tokens (web logins).
pub const SESSION_TOKEN_NAME: &str = "session";

/// A token just issued: the only time its secret is known.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub id: String,
    pub secret: String,
}

/// A stored, unrevoked token as the auth layer sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub scope: Scope,
    pub tenant_id: Option<String>,
    pub user_id: Option<String>,
    /// The role of the token's user, if it has one.
    pub role: Option<Role>,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    name: String,
    scope: String,
    tenant_id: Option<String>,
    user_id: Option<String>,
    role: Option<String>,
}

/// The hex SHA-256 under which a token secret is stored.
pub fn token_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl Store {
    /// Makes a new token and stores its hash.
    pub async fn issue_token(
        &self,
        name: &str,
        scope: Scope,
        tenant_id: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<IssuedToken, StoreError> {
        self.insert_token(name, scope, scope.prefix(), tenant_id, user_id, None)
            .await
    }

    /// Makes a session token for a user (a web login) that stops working at
    /// `expires_at`.
    pub async fn issue_session(
        &self,
        tenant_id: &str,
        user_id: &str,
        expires_at: Millis,
    ) -> Result<IssuedToken, StoreError> {
        self.insert_token(
            SESSION_TOKEN_NAME,
            Scope::Agent,
            "kefu_session_",
            Some(tenant_id),
            Some(user_id),
            Some(expires_at),
        )
        .await
    }

    async fn insert_token(
        &self,
        name: &str,
        scope: Scope,
        prefix: &str,
        tenant_id: Option<&str>,
        user_id: Option<&str>,
        expires_at: Option<Millis>,
    ) -> Result<IssuedToken, StoreError> {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret = format!("{prefix}{}", hex::encode(bytes));
        let id = new_id();
        sqlx::query(
            "INSERT INTO api_tokens \
             (id, tenant_id, user_id, name, scope, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(tenant_id)
        .bind(user_id)
        .bind(name)
        .bind(scope.as_str())
        .bind(token_hash(&secret))
        .bind(Millis::now().0)
        .bind(expires_at.map(|at| at.0))
        .execute(self.pool())
        .await?;
        Ok(IssuedToken { id, secret })
    }

    /// Revokes the unrevoked session token with this secret; returns whether
    /// there was one.
    pub async fn revoke_session(&self, secret: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 \
             WHERE token_hash = $2 AND name = $3 AND revoked_at IS NULL",
        )
        .bind(Millis::now().0)
        .bind(token_hash(secret))
        .bind(SESSION_TOKEN_NAME)
        .execute(self.pool())
        .await?
        .rows_affected()
            == 1)
    }

    /// Revokes every unrevoked token of a user; returns how many.
    pub async fn revoke_user_tokens(&self, user_id: &str) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(Millis::now().0)
        .bind(user_id)
        .execute(self.pool())
        .await?
        .rows_affected())
    }

    /// The unrevoked, unexpired token with this secret, if any (none for a
    /// disabled user's).
    pub async fn find_token(&self, secret: &str) -> Result<Option<ApiToken>, StoreError> {
        let row: Option<TokenRow> = sqlx::query_as(
            "SELECT t.id, t.name, t.scope, t.tenant_id, t.user_id, u.role FROM api_tokens t \
             LEFT JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL \
             AND (t.expires_at IS NULL OR t.expires_at > $2) AND u.disabled_at IS NULL",
        )
        .bind(token_hash(secret))
        .bind(Millis::now().0)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.and_then(|row| {
            let scope = match row.scope.as_str() {
                "admin" => Scope::Admin,
                "agent" => Scope::Agent,
                _ => return None,
            };
            Some(ApiToken {
                id: row.id,
                name: row.name,
                scope,
                tenant_id: row.tenant_id,
                user_id: row.user_id,
                role: row.role.as_deref().and_then(Role::parse),
            })
        }))
    }

    /// Whether any unrevoked admin token exists.
    pub async fn has_admin_token(&self) -> Result<bool, StoreError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM api_tokens WHERE scope = 'admin' AND revoked_at IS NULL",
        )
        .fetch_one(self.pool())
        .await?;
        Ok(count > 0)
    }

    /// Revokes every unrevoked token with this name and scope; returns how many.
    pub async fn revoke_tokens(&self, name: &str, scope: Scope) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 \
             WHERE name = $2 AND scope = $3 AND revoked_at IS NULL",
        )
        .bind(Millis::now().0)
        .bind(name)
        .bind(scope.as_str())
        .execute(self.pool())
        .await?
        .rows_affected())
    }
}
