//! What admins change about users and the telephony directory: a user's
//! name, role, extension and password (argon2 for the web and the SIP HA1s
//! together), disabling, skill levels, capacity and queue memberships
//! replaced as a whole; trunks created or changed; number routes and
//! refused new queues removed.
//! Checking the values is the API's job; this module only stores them.

use kefu_signaling::auth::Ha1Pair;
use serde::Serialize;
use utoipa::ToSchema;

use super::users::hash_password;
use super::{AgentCapacity, Millis, Store, StoreError, Trunk, User, found};

/// Changes to a user; `None` leaves a value as it is.
#[derive(Debug, Clone, Default)]
pub struct UserChange<'a> {
    pub display_name: Option<&'a str>,
    pub role: Option<super::Role>,
    /// `Some(None)` removes the extension.
    pub extension: Option<Option<&'a str>>,
    /// Sets the web password and the SIP password.
    pub password: Option<&'a str>,
    /// Disables (`true`) or enables the user.
    pub disabled: Option<bool>,
}

/// A queue an agent takes contacts from.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, ToSchema)]
pub struct Membership {
    /// The queue's name.
    pub queue: String,
    /// 1 = first offered.
    pub tier: i64,
    pub penalty: i64,
}

/// A trunk's settings as an admin writes them.
#[derive(Debug, Clone)]
pub struct TrunkSettings<'a> {
    pub host: Option<&'a str>,
    pub port: Option<u16>,
    pub transport: &'a str,
    /// Comma-separated CIDRs.
    pub trusted_cidrs: &'a str,
    pub disabled: bool,
}

#[derive(sqlx::FromRow)]
struct CapacityRow {
    capacity_voice: i64,
    capacity_chat: i64,
    capacity_wechat: i64,
    capacity_sms: i64,
    capacity_email: i64,
    voice_blocks_other_channels: i64,
}

impl Store {
    /// Every user of a tenant, by username.
    pub async fn users(&self, tenant_id: &str) -> Result<Vec<User>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, tenant_id, username, display_name, role, extension, created_at, \
             disabled_at FROM users WHERE tenant_id = $1 ORDER BY username",
        )
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// The user with this extension in the tenant, if any.
    pub async fn user_by_extension(
        &self,
        tenant_id: &str,
        extension: &str,
    ) -> Result<Option<User>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, tenant_id, username, display_name, role, extension, created_at, \
             disabled_at FROM users WHERE tenant_id = $1 AND extension = $2",
        )
        .bind(tenant_id)
        .bind(extension)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Applies a change to a user.
    pub async fn update_user(
        &self,
        user_id: &str,
        change: &UserChange<'_>,
    ) -> Result<User, StoreError> {
        let user = self.user(user_id).await?;
        if let Some(name) = change.display_name {
            self.set_user_column(user_id, "display_name", Some(name))
                .await?;
        }
        if let Some(role) = change.role {
            self.set_user_column(user_id, "role", Some(role.as_str()))
                .await?;
        }
        if let Some(extension) = change.extension {
            self.set_user_column(user_id, "extension", extension)
                .await?;
        }
        if let Some(password) = change.password {
            let realm: String = found(
                sqlx::query_scalar("SELECT sip_realm FROM tenants WHERE id = $1")
                    .bind(&user.tenant_id)
                    .fetch_optional(self.pool())
                    .await?,
                "tenant",
            )?;
            let ha1 = Ha1Pair::from_password(&user.username, &realm, password);
            sqlx::query(
                "UPDATE users SET password_hash = $1, sip_ha1_md5 = $2, sip_ha1_sha256 = $3 \
                 WHERE id = $4",
            )
            .bind(hash_password(password)?)
            .bind(ha1.md5)
            .bind(ha1.sha256)
            .bind(user_id)
            .execute(self.pool())
            .await?;
        }
        if let Some(disabled) = change.disabled {
            sqlx::query(
                "UPDATE users SET disabled_at = CASE WHEN $1 = 1 \
                 THEN COALESCE(disabled_at, $2) ELSE NULL END WHERE id = $3",
            )
            .bind(i64::from(disabled))
            .bind(Millis::now().0)
            .bind(user_id)
            .execute(self.pool())
            .await?;
            if disabled {
                self.revoke_user_tokens(user_id).await?;
            }
        }
        self.user(user_id).await
    }

    async fn set_user_column(
        &self,
        user_id: &str,
        column: &'static str,
        value: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(&format!("UPDATE users SET {column} = $1 WHERE id = $2"))
            .bind(value)
            .bind(user_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// A user's capacity per channel.
    pub async fn user_capacity(&self, user_id: &str) -> Result<AgentCapacity, StoreError> {
        let row: CapacityRow = found(
            sqlx::query_as(
                "SELECT capacity_voice, capacity_chat, capacity_wechat, capacity_sms, \
                 capacity_email, voice_blocks_other_channels FROM users WHERE id = $1",
            )
            .bind(user_id)
            .fetch_optional(self.pool())
            .await?,
            "user",
        )?;
        Ok(AgentCapacity {
            voice: row.capacity_voice,
            chat: row.capacity_chat,
            wechat: row.capacity_wechat,
            sms: row.capacity_sms,
            email: row.capacity_email,
            voice_blocks_other_channels: row.voice_blocks_other_channels != 0,
        })
    }

    /// Replaces an agent's skills with these (name, level 1-10), creating
    /// skills the tenant does not have yet.
    pub async fn replace_agent_skills(
        &self,
        tenant_id: &str,
        user_id: &str,
        skills: &[(String, i64)],
    ) -> Result<(), StoreError> {
        let mut ids = Vec::with_capacity(skills.len());
        for (name, level) in skills {
            ids.push((self.ensure_skill(tenant_id, name).await?, *level));
        }
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM agent_skills WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        for (skill_id, level) in ids {
            sqlx::query("INSERT INTO agent_skills (user_id, skill_id, level) VALUES ($1, $2, $3)")
                .bind(user_id)
                .bind(skill_id)
                .bind(level)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The queues an agent is in, by queue name.
    pub async fn agent_queues(&self, user_id: &str) -> Result<Vec<Membership>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT q.name AS queue, m.tier, m.penalty FROM queue_members m \
             JOIN queues q ON q.id = m.queue_id WHERE m.user_id = $1 ORDER BY q.name",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Replaces an agent's queue memberships with these (queue ids).
    pub async fn replace_agent_queues(
        &self,
        user_id: &str,
        queues: &[(String, i64, i64)],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM queue_members WHERE user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        for (queue_id, tier, penalty) in queues {
            sqlx::query(
                "INSERT INTO queue_members (queue_id, user_id, tier, penalty) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(queue_id)
            .bind(user_id)
            .bind(tier)
            .bind(penalty)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Creates the trunk or changes it; returns it.
    pub async fn save_trunk(
        &self,
        tenant_id: &str,
        name: &str,
        settings: &TrunkSettings<'_>,
    ) -> Result<Trunk, StoreError> {
        let trunk = self
            .ensure_trunk(tenant_id, name, settings.trusted_cidrs)
            .await?;
        sqlx::query(
            "UPDATE sip_trunks SET host = $1, port = $2, transport = $3, \
             disabled_at = CASE WHEN $4 = 1 THEN COALESCE(disabled_at, $5) ELSE NULL END \
             WHERE id = $6",
        )
        .bind(settings.host)
        .bind(settings.port.map(i64::from))
        .bind(settings.transport)
        .bind(i64::from(settings.disabled))
        .bind(Millis::now().0)
        .bind(&trunk.id)
        .execute(self.pool())
        .await?;
        found(self.trunk(tenant_id, name).await?, "trunk")
    }

    /// Removes a queue (one just created whose settings were refused).
    pub async fn delete_queue(&self, queue_id: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM queues WHERE id = $1")
            .bind(queue_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Removes a number's route; returns whether it had one.
    pub async fn delete_number_route(
        &self,
        tenant_id: &str,
        number: &str,
    ) -> Result<bool, StoreError> {
        Ok(
            sqlx::query("DELETE FROM number_routes WHERE tenant_id = $1 AND number = $2")
                .bind(tenant_id)
                .bind(number)
                .execute(self.pool())
                .await?
                .rows_affected()
                == 1,
        )
    }
}
