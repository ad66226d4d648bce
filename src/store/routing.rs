//! What the ACD service reads and writes: every tenant's routing
//! configuration at once (queues with their ACD settings, agents with their
//! capacity per channel, skill levels, queue memberships, the business-hours
//! calendars queues are open by), queue settings
//! saved through the API, contact lifecycle records applied atomically
//! (an event row plus the contact's new state), and agent state changes.

use serde::Serialize;
use utoipa::ToSchema;

use super::{Millis, Store, StoreError, TenantCalendar, new_id};

/// A queue with every setting the ACD routes by.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, ToSchema)]
pub struct RoutingQueue {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// How an agent is chosen, e.g. `longest-idle`.
    pub strategy: String,
    /// Answered within this many seconds counts toward the service level.
    pub service_level_secs: i64,
    /// After-contact work, during which the agent gets no offers.
    pub wrap_up_secs: i64,
    /// Longest wait before the contact leaves unserved (none: no limit).
    pub max_wait_secs: Option<i64>,
    /// How long an offer rings before the next agent is tried.
    pub offer_timeout_secs: i64,
    /// How long a returning customer waits for their last agent (none: off).
    pub sticky_secs: Option<i64>,
    /// Tier `n` unlocks after the contact waited `(n - 1) ×` this (none: every
    /// tier at once).
    pub tier_after_secs: Option<i64>,
    /// Most contacts waiting at once (none: no limit).
    pub max_size: Option<i64>,
    /// Where a contact that leaves unserved goes: `disconnect`,
    /// `voicemail:BOX`, `callback` or `flow:NAME`.
    pub timeout_target: String,
    /// The queue (of the same tenant, by name) contacts move to after
    /// `overflow_after_secs` (none: no overflow).
    pub overflow_queue: Option<String>,
    pub overflow_after_secs: Option<i64>,
    /// Whether contacts are accepted while no logged-in agent could serve them.
    #[serde(serialize_with = "flag")]
    #[schema(value_type = bool)]
    pub join_when_empty: i64,
    /// Whether waiting contacts leave once no logged-in agent could serve them.
    #[serde(serialize_with = "flag")]
    #[schema(value_type = bool)]
    pub leave_when_empty: i64,
    /// Position and expected-wait announcements this often (none: off, 0:
    /// once on arrival).
    pub announce_every_secs: Option<i64>,
    /// Handle time assumed for wait estimates until real ones are measured.
    pub expected_handle_secs: i64,
    /// The tenant's business-hours calendar the queue is open by (none:
    /// always open).
    pub calendar: Option<String>,
}

/// A 0/1 column as a JSON boolean.
fn flag<S: serde::Serializer>(value: &i64, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_bool(*value != 0)
}

/// A user who can take contacts: has an extension in its tenant.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RoutingAgent {
    pub user_id: String,
    pub tenant_id: String,
    pub extension: String,
    pub display_name: String,
    /// `agent`, `supervisor` or `admin`.
    pub role: String,
    pub capacity_voice: i64,
    pub capacity_chat: i64,
    pub capacity_wechat: i64,
    pub capacity_sms: i64,
    pub capacity_email: i64,
    /// 1 when a voice contact blocks offers on the other channels.
    pub voice_blocks_other_channels: i64,
}

/// An agent's place in a queue.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RoutingMember {
    pub queue_id: String,
    pub user_id: String,
    pub tier: i64,
    pub penalty: i64,
}

/// A skill of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RoutingSkill {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
}

/// An agent's level in a skill.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RoutingAgentSkill {
    pub user_id: String,
    pub skill_id: String,
    pub level: i64,
}

/// Everything the ACD routes by, for every tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoutingConfig {
    pub queues: Vec<RoutingQueue>,
    pub agents: Vec<RoutingAgent>,
    pub members: Vec<RoutingMember>,
    pub skills: Vec<RoutingSkill>,
    pub agent_skills: Vec<RoutingAgentSkill>,
    /// Business-hours calendars, which queues may be bound to.
    pub calendars: Vec<TenantCalendar>,
}

/// One step of a contact's life, to log and apply to its row.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactRecord {
    pub contact_id: String,
    pub at: Millis,
    /// The event kind: `queued`, `offered`, `declined`, `accepted`, `ended`…
    pub kind: &'static str,
    /// The agent concerned, if any.
    pub user_id: Option<String>,
    /// Details (wait and talk times in ms, reasons) as a JSON object.
    pub data: serde_json::Value,
    /// The contact's state after this event.
    pub state: &'static str,
    /// Whether `user_id` becomes the contact's agent.
    pub assigns: bool,
    /// Set when the contact ends with this event: its disposition.
    pub ends: Option<&'static str>,
}

const ROUTING_QUEUE_COLUMNS: &str = "id, tenant_id, name, strategy, service_level_secs, \
     wrap_up_secs, max_wait_secs, offer_timeout_secs, sticky_secs, tier_after_secs, max_size, \
     timeout_target, overflow_queue, overflow_after_secs, join_when_empty, leave_when_empty, \
     announce_every_secs, expected_handle_secs, calendar";

impl Store {
    /// Every tenant's routing configuration; agents are the enabled users
    /// with an extension.
    pub async fn routing_config(&self) -> Result<RoutingConfig, StoreError> {
        let queues = sqlx::query_as(&format!(
            "SELECT {ROUTING_QUEUE_COLUMNS} FROM queues ORDER BY tenant_id, name"
        ))
        .fetch_all(self.pool())
        .await?;
        let agents = sqlx::query_as(
            "SELECT id AS user_id, tenant_id, extension, display_name, role, capacity_voice, \
             capacity_chat, capacity_wechat, capacity_sms, capacity_email, \
             voice_blocks_other_channels FROM users \
             WHERE extension IS NOT NULL AND disabled_at IS NULL ORDER BY tenant_id, extension",
        )
        .fetch_all(self.pool())
        .await?;
        let members = sqlx::query_as(
            "SELECT queue_id, user_id, tier, penalty FROM queue_members ORDER BY queue_id, user_id",
        )
        .fetch_all(self.pool())
        .await?;
        let skills =
            sqlx::query_as("SELECT id, tenant_id, name FROM skills ORDER BY tenant_id, name")
                .fetch_all(self.pool())
                .await?;
        let agent_skills = sqlx::query_as(
            "SELECT user_id, skill_id, level FROM agent_skills ORDER BY user_id, skill_id",
        )
        .fetch_all(self.pool())
        .await?;
        let calendars = self.all_calendars().await?;
        Ok(RoutingConfig {
            queues,
            agents,
            members,
            skills,
            agent_skills,
            calendars,
        })
    }

    /// The queue with this name in the tenant, with its ACD settings.
    pub async fn routing_queue(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Option<RoutingQueue>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {ROUTING_QUEUE_COLUMNS} FROM queues WHERE tenant_id = $1 AND name = $2"
        ))
        .bind(tenant_id)
        .bind(name)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Saves a queue's settings (everything but its id, tenant and name).
    pub async fn save_queue_settings(&self, queue: &RoutingQueue) -> Result<(), StoreError> {
        let updated = sqlx::query(
            "UPDATE queues SET strategy = $1, service_level_secs = $2, wrap_up_secs = $3, \
             max_wait_secs = $4, offer_timeout_secs = $5, sticky_secs = $6, \
             tier_after_secs = $7, max_size = $8, timeout_target = $9, overflow_queue = $10, \
             overflow_after_secs = $11, join_when_empty = $12, leave_when_empty = $13, \
             announce_every_secs = $14, expected_handle_secs = $15, calendar = $16 \
             WHERE id = $17",
        )
        .bind(&queue.strategy)
        .bind(queue.service_level_secs)
        .bind(queue.wrap_up_secs)
        .bind(queue.max_wait_secs)
        .bind(queue.offer_timeout_secs)
        .bind(queue.sticky_secs)
        .bind(queue.tier_after_secs)
        .bind(queue.max_size)
        .bind(&queue.timeout_target)
        .bind(queue.overflow_queue.as_deref())
        .bind(queue.overflow_after_secs)
        .bind(queue.join_when_empty)
        .bind(queue.leave_when_empty)
        .bind(queue.announce_every_secs)
        .bind(queue.expected_handle_secs)
        .bind(queue.calendar.as_deref())
        .bind(&queue.id)
        .execute(self.pool())
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound { what: "queue" });
        }
        Ok(())
    }

    /// Logs one step of a contact's life and applies it to the contact's row
    /// (state, agent, end), atomically. A contact ends once: a later end
    /// leaves `ended_at` and `disposition` as they were.
    pub async fn apply_contact_record(&self, record: &ContactRecord) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        let updated = sqlx::query("UPDATE contacts SET state = $1 WHERE id = $2")
            .bind(record.state)
            .bind(&record.contact_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound { what: "contact" });
        }
        if record.assigns {
            sqlx::query("UPDATE contacts SET agent_id = $1 WHERE id = $2")
                .bind(record.user_id.as_deref())
                .bind(&record.contact_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(disposition) = record.ends {
            sqlx::query(
                "UPDATE contacts SET ended_at = $1, disposition = $2 \
                 WHERE id = $3 AND ended_at IS NULL",
            )
            .bind(record.at.0)
            .bind(disposition)
            .bind(&record.contact_id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO contact_events (id, contact_id, at, kind, user_id, data) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new_id())
        .bind(&record.contact_id)
        .bind(record.at.0)
        .bind(record.kind)
        .bind(record.user_id.as_deref())
        .bind(record.data.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// One agent state change, to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRecord {
    pub tenant_id: String,
    pub user_id: String,
    pub at: Millis,
    /// `logged_out`, `not_ready`, `ready`, `busy` or `wrap_up`.
    pub state: &'static str,
    /// Why not ready.
    pub reason: Option<String>,
    /// What caused it: `login`, `logout`, `requested`, `offered`, `accepted`…
    pub cause: &'static str,
}

/// A logged agent state change.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AgentEventRow {
    pub at: i64,
    pub state: String,
    pub reason: Option<String>,
    pub cause: String,
}

impl Store {
    /// Logs an agent state change.
    pub async fn record_agent_state(&self, record: &AgentRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO agent_events (id, tenant_id, user_id, at, state, reason, cause) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new_id())
        .bind(&record.tenant_id)
        .bind(&record.user_id)
        .bind(record.at.0)
        .bind(record.state)
        .bind(record.reason.as_deref())
        .bind(record.cause)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// An agent's logged state changes, oldest first.
    pub async fn agent_events(&self, user_id: &str) -> Result<Vec<AgentEventRow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT at, state, reason, cause FROM agent_events WHERE user_id = $1 \
             ORDER BY at, id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?)
    }
}

/// How many contacts of each channel an agent takes at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentCapacity {
    pub voice: i64,
    pub chat: i64,
    pub wechat: i64,
    pub sms: i64,
    pub email: i64,
    pub voice_blocks_other_channels: bool,
}

impl AgentCapacity {
    /// The capacity stored for an agent.
    pub fn of(agent: &RoutingAgent) -> Self {
        AgentCapacity {
            voice: agent.capacity_voice,
            chat: agent.capacity_chat,
            wechat: agent.capacity_wechat,
            sms: agent.capacity_sms,
            email: agent.capacity_email,
            voice_blocks_other_channels: agent.voice_blocks_other_channels != 0,
        }
    }
}

impl Store {
    /// The agent with this extension in the tenant, with their capacity.
    pub async fn routing_agent(
        &self,
        tenant_id: &str,
        extension: &str,
    ) -> Result<Option<RoutingAgent>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id AS user_id, tenant_id, extension, display_name, role, capacity_voice, \
             capacity_chat, capacity_wechat, capacity_sms, capacity_email, \
             voice_blocks_other_channels FROM users \
             WHERE tenant_id = $1 AND extension = $2 AND disabled_at IS NULL",
        )
        .bind(tenant_id)
        .bind(extension)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Saves a user's capacity per channel.
    pub async fn save_agent_capacity(
        &self,
        user_id: &str,
        capacity: &AgentCapacity,
    ) -> Result<(), StoreError> {
        let updated = sqlx::query(
            "UPDATE users SET capacity_voice = $1, capacity_chat = $2, capacity_wechat = $3, \
             capacity_sms = $4, capacity_email = $5, voice_blocks_other_channels = $6 \
             WHERE id = $7",
        )
        .bind(capacity.voice)
        .bind(capacity.chat)
        .bind(capacity.wechat)
        .bind(capacity.sms)
        .bind(capacity.email)
        .bind(i64::from(capacity.voice_blocks_other_channels))
        .bind(user_id)
        .execute(self.pool())
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound { what: "user" });
        }
        Ok(())
    }
}
