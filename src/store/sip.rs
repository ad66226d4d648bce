//! SIP registrar state: the users' digest secrets by realm, the registration
//! bindings (so a restart keeps phones registered) and named server secrets
//! (the key that signs digest nonces, shared by every node).

use rand::RngCore;

use super::{Millis, Store, StoreError, found};

/// One stored registration binding.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredBinding {
    pub realm: String,
    pub username: String,
    pub contact: String,
    pub expires_at: i64,
    pub call_id: String,
    pub cseq: i64,
    /// `transport:ip:port` the REGISTER came from, e.g. `udp:192.0.2.7:5060`.
    pub source: String,
}

/// A SIP user's digest secrets.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RealmUser {
    pub username: String,
    pub ha1_md5: String,
    pub ha1_sha256: String,
}

impl Store {
    /// The enabled SIP users of every tenant in `realm`.
    pub async fn sip_users_in_realm(&self, realm: &str) -> Result<Vec<RealmUser>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT u.username, u.sip_ha1_md5 AS ha1_md5, u.sip_ha1_sha256 AS ha1_sha256 \
             FROM users u JOIN tenants t ON t.id = u.tenant_id \
             WHERE t.sip_realm = $1 AND u.disabled_at IS NULL \
             AND u.sip_ha1_md5 IS NOT NULL AND u.sip_ha1_sha256 IS NOT NULL",
        )
        .bind(realm)
        .fetch_all(self.pool())
        .await?)
    }

    /// Adds or refreshes a binding.
    pub async fn upsert_sip_binding(&self, binding: &StoredBinding) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sip_bindings (realm, username, contact, expires_at, call_id, cseq, source) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (realm, username, contact) DO UPDATE SET expires_at = excluded.expires_at, \
             call_id = excluded.call_id, cseq = excluded.cseq, source = excluded.source",
        )
        .bind(&binding.realm)
        .bind(&binding.username)
        .bind(&binding.contact)
        .bind(binding.expires_at)
        .bind(&binding.call_id)
        .bind(binding.cseq)
        .bind(&binding.source)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Removes a binding.
    pub async fn remove_sip_binding(
        &self,
        realm: &str,
        username: &str,
        contact: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM sip_bindings WHERE realm = $1 AND username = $2 AND contact = $3")
            .bind(realm)
            .bind(username)
            .bind(contact)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The bindings not expired at `now`.
    pub async fn live_sip_bindings(&self, now: Millis) -> Result<Vec<StoredBinding>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT realm, username, contact, expires_at, call_id, cseq, source \
             FROM sip_bindings WHERE expires_at > $1 ORDER BY realm, username, contact",
        )
        .bind(now.0)
        .fetch_all(self.pool())
        .await?)
    }

    /// The 32-byte secret with this name, made (randomly) on first use. Every
    /// node reads the same one.
    pub async fn server_secret(&self, name: &str) -> Result<[u8; 32], StoreError> {
        let mut fresh = [0u8; 32];
        rand::rng().fill_bytes(&mut fresh);
        sqlx::query(
            "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(hex::encode(fresh))
        .bind(Millis::now().0)
        .execute(self.pool())
        .await?;
        let stored: String = found(
            sqlx::query_scalar("SELECT value FROM server_secrets WHERE name = $1")
                .bind(name)
                .fetch_optional(self.pool())
                .await?,
            "server secret",
        )?;
        let mut secret = [0u8; 32];
        hex::decode_to_slice(stored.trim(), &mut secret).map_err(|_| StoreError::Corrupt {
            what: "server secret",
        })?;
        Ok(secret)
    }
}
