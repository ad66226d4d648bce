//! Users: agents, supervisors and admins, with an argon2 hash of their web
//! password and the digest HA1 hashes their SIP phones authenticate with.
//!
//! Plain passwords are never stored: the web password as argon2 (PHC string),
//! the SIP password as HA1 = H(username:realm:password) in MD5 and SHA-256
//! (RFC 8760), which is all a digest registrar needs.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use kefu_signaling::auth::Ha1Pair;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Millis, Store, StoreError, found, new_id};

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

impl Role {
    /// The name stored in the `role` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// The role stored as `name`, if it is one.
    pub fn parse(name: &str) -> Option<Role> {
        match name {
            "agent" => Some(Role::Agent),
            "supervisor" => Some(Role::Supervisor),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub tenant_id: &'a str,
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub extension: Option<&'a str>,
    /// Sets both the web password and the SIP password.
    pub password: Option<&'a str>,
}

/// A user as the rest of kefu sees it (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, ToSchema)]
pub struct User {
    pub id: String,
    pub tenant_id: String,
    pub username: String,
    pub display_name: String,
    /// `agent`, `supervisor` or `admin`.
    pub role: String,
    pub extension: Option<String>,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
}

/// The digest secrets of a SIP user.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SipCredentials {
    pub ha1_md5: String,
    pub ha1_sha256: String,
}

const USER_COLUMNS: &str =
    "id, tenant_id, username, display_name, role, extension, created_at, disabled_at";

impl Store {
    /// Creates the user unless that username exists in the tenant. Returns the
    /// user and whether it was created now.
    pub async fn ensure_user(&self, new: &NewUser<'_>) -> Result<(User, bool), StoreError> {
        if let Some(user) = self.user_by_username(new.tenant_id, new.username).await? {
            return Ok((user, false));
        }
        let realm: String = sqlx::query_scalar("SELECT sip_realm FROM tenants WHERE id = $1")
            .bind(new.tenant_id)
            .fetch_optional(self.pool())
            .await?
            .ok_or(StoreError::NotFound { what: "tenant" })?;
        let (password_hash, ha1_md5, ha1_sha256) = match new.password {
            Some(password) => {
                let ha1 = Ha1Pair::from_password(new.username, &realm, password);
                (
                    Some(hash_password(password)?),
                    Some(ha1.md5),
                    Some(ha1.sha256),
                )
            }
            None => (None, None, None),
        };
        let inserted = sqlx::query(
            "INSERT INTO users (id, tenant_id, username, display_name, role, extension, \
             password_hash, sip_ha1_md5, sip_ha1_sha256, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (tenant_id, username) DO NOTHING",
        )
        .bind(new_id())
        .bind(new.tenant_id)
        .bind(new.username)
        .bind(new.display_name)
        .bind(new.role.as_str())
        .bind(new.extension)
        .bind(password_hash)
        .bind(ha1_md5)
        .bind(ha1_sha256)
        .bind(Millis::now().0)
        .execute(self.pool())
        .await?
        .rows_affected();
        let user = found(
            self.user_by_username(new.tenant_id, new.username).await?,
            "user",
        )?;
        Ok((user, inserted == 1))
    }

    /// The user with this id.
    pub async fn user(&self, user_id: &str) -> Result<User, StoreError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        found(
            sqlx::query_as(&sql)
                .bind(user_id)
                .fetch_optional(self.pool())
                .await?,
            "user",
        )
    }

    /// The user with this username in the tenant.
    pub async fn user_by_username(
        &self,
        tenant_id: &str,
        username: &str,
    ) -> Result<Option<User>, StoreError> {
        let sql =
            format!("SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND username = $2");
        Ok(sqlx::query_as(&sql)
            .bind(tenant_id)
            .bind(username)
            .fetch_optional(self.pool())
            .await?)
    }

    /// The users of a tenant with the given role, by username.
    pub async fn users_with_role(
        &self,
        tenant_id: &str,
        role: Role,
    ) -> Result<Vec<User>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE tenant_id = $1 AND role = $2 ORDER BY username"
        );
        Ok(sqlx::query_as(&sql)
            .bind(tenant_id)
            .bind(role.as_str())
            .fetch_all(self.pool())
            .await?)
    }

    /// The digest secrets of an enabled SIP user, by username.
    pub async fn sip_credentials(
        &self,
        tenant_id: &str,
        username: &str,
    ) -> Result<Option<SipCredentials>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT sip_ha1_md5 AS ha1_md5, sip_ha1_sha256 AS ha1_sha256 FROM users \
             WHERE tenant_id = $1 AND username = $2 AND disabled_at IS NULL \
             AND sip_ha1_md5 IS NOT NULL AND sip_ha1_sha256 IS NOT NULL",
        )
        .bind(tenant_id)
        .bind(username)
        .fetch_optional(self.pool())
        .await?)
    }

    /// The enabled user whose web password this is, if it is right.
    pub async fn verify_password(
        &self,
        tenant_id: &str,
        username: &str,
        password: &str,
    ) -> Result<Option<User>, StoreError> {
        let hash: Option<Option<String>> = sqlx::query_scalar(
            "SELECT password_hash FROM users \
             WHERE tenant_id = $1 AND username = $2 AND disabled_at IS NULL",
        )
        .bind(tenant_id)
        .bind(username)
        .fetch_optional(self.pool())
        .await?;
        let Some(Some(hash)) = hash else {
            return Ok(None);
        };
        let ok = PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false);
        if ok {
            self.user_by_username(tenant_id, username).await
        } else {
            Ok(None)
        }
    }
}

/// How a login attempt (`verify_login`) came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    /// The password is right: the user and the name of their tenant.
    Verified { user: User, tenant: String },
    /// No tenant was named and the name is a user in several tenants.
    Ambiguous,
    /// Unknown tenant or user, disabled user, no web password, or a wrong
    /// one: the same answer, after the same work, for each.
    Failed,
}

#[derive(sqlx::FromRow)]
struct LoginRow {
    id: String,
    username: String,
    tenant_name: String,
    password_hash: Option<String>,
}

/// An argon2 hash of a random password, verified against when there is no
/// user, so an unknown name takes as long as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut secret = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut secret);
        hash_password(&hex::encode(secret)).unwrap_or_default()
    })
}

fn password_matches(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Argon2 takes tens of milliseconds of CPU: off the async workers.
async fn verify_off_thread(hash: String, password: &str) -> bool {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || password_matches(&hash, &password))
        .await
        .unwrap_or(false)
}

impl Store {
    /// Checks a web login: `name` is a user name or an extension, in the
    /// named tenant or, without one, in whichever tenant has it. Exactly one
    /// argon2 verification is done whatever the outcome.
    pub async fn verify_login(
        &self,
        tenant: Option<&str>,
        name: &str,
        password: &str,
    ) -> Result<LoginOutcome, StoreError> {
        let rows: Vec<LoginRow> = sqlx::query_as(
            "SELECT u.id, u.username, t.name AS tenant_name, u.password_hash FROM users u \
             JOIN tenants t ON t.id = u.tenant_id \
             WHERE (u.username = $1 OR u.extension = $1) AND u.disabled_at IS NULL \
             AND ($2 = '' OR t.name = $2) ORDER BY t.name, u.username",
        )
        .bind(name)
        .bind(tenant.unwrap_or(""))
        .fetch_all(self.pool())
        .await?;
        let mut tenants: Vec<&str> = rows.iter().map(|r| r.tenant_name.as_str()).collect();
        tenants.dedup();
        if tenants.len() > 1 {
            // Still one verification, so this answer takes as long as the others.
            verify_off_thread(dummy_hash().to_owned(), password).await;
            return Ok(LoginOutcome::Ambiguous);
        }
        // A user name that is another user's extension: the user name wins.
        let position = rows.iter().position(|r| r.username == name).unwrap_or(0);
        let row = rows
            .into_iter()
            .nth(position)
            .filter(|r| r.password_hash.as_deref().is_some_and(|h| !h.is_empty()));
        let hash = row
            .as_ref()
            .and_then(|r| r.password_hash.clone())
            .unwrap_or_else(|| dummy_hash().to_owned());
        let ok = verify_off_thread(hash, password).await;
        match row {
            Some(row) if ok => Ok(LoginOutcome::Verified {
                user: self.user(&row.id).await?,
                tenant: row.tenant_name,
            }),
            _ => Ok(LoginOutcome::Failed),
        }
    }
}

pub(super) fn hash_password(password: &str) -> Result<String, StoreError> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| StoreError::PasswordHash(err.to_string()))
}
