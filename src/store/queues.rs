//! Queues, skills, agents' skill levels and queue membership: the routing
//! configuration the ACD reads.

use serde::Serialize;
use utoipa::ToSchema;

use super::{Millis, Store, StoreError, found, new_id};

/// A queue contacts wait in until an agent takes them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, ToSchema)]
pub struct Queue {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// How an agent is chosen, e.g. `longest-idle`.
    pub strategy: String,
    /// Answered within this many seconds counts toward the service level.
    pub service_level_secs: i64,
    pub wrap_up_secs: i64,
    pub max_wait_secs: Option<i64>,
    pub created_at: i64,
}

/// An agent's place in a queue.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, ToSchema)]
pub struct QueueMember {
    pub user_id: String,
    pub tier: i64,
    pub penalty: i64,
}

const QUEUE_COLUMNS: &str =
    "id, tenant_id, name, strategy, service_level_secs, wrap_up_secs, max_wait_secs, created_at";

impl Store {
    /// Creates the queue (with default settings) unless it exists; returns it.
    pub async fn ensure_queue(&self, tenant_id: &str, name: &str) -> Result<Queue, StoreError> {
        sqlx::query(
            "INSERT INTO queues (id, tenant_id, name, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (tenant_id, name) DO NOTHING",
        )
        .bind(new_id())
        .bind(tenant_id)
        .bind(name)
        .bind(Millis::now().0)
        .execute(self.pool())
        .await?;
        let sql = format!("SELECT {QUEUE_COLUMNS} FROM queues WHERE tenant_id = $1 AND name = $2");
        found(
            sqlx::query_as(&sql)
                .bind(tenant_id)
                .bind(name)
                .fetch_optional(self.pool())
                .await?,
            "queue",
        )
    }

    /// The queues of a tenant, by name.
    pub async fn queues(&self, tenant_id: &str) -> Result<Vec<Queue>, StoreError> {
        let sql = format!("SELECT {QUEUE_COLUMNS} FROM queues WHERE tenant_id = $1 ORDER BY name");
        Ok(sqlx::query_as(&sql)
            .bind(tenant_id)
            .fetch_all(self.pool())
            .await?)
    }

    /// Creates the skill unless it exists; returns its id.
    pub async fn ensure_skill(&self, tenant_id: &str, name: &str) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO skills (id, tenant_id, name) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, name) DO NOTHING",
        )
        .bind(new_id())
        .bind(tenant_id)
        .bind(name)
        .execute(self.pool())
        .await?;
        found(
            sqlx::query_scalar("SELECT id FROM skills WHERE tenant_id = $1 AND name = $2")
                .bind(tenant_id)
                .bind(name)
                .fetch_optional(self.pool())
                .await?,
            "skill",
        )
    }

    /// Sets an agent's level (1-10) in a skill.
    pub async fn set_agent_skill(
        &self,
        user_id: &str,
        skill_id: &str,
        level: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO agent_skills (user_id, skill_id, level) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id, skill_id) DO UPDATE SET level = excluded.level",
        )
        .bind(user_id)
        .bind(skill_id)
        .bind(level)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// An agent's skills as (name, level), by name.
    pub async fn agent_skills(&self, user_id: &str) -> Result<Vec<(String, i64)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT s.name, a.level FROM agent_skills a JOIN skills s ON s.id = a.skill_id \
             WHERE a.user_id = $1 ORDER BY s.name",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Puts an agent in a queue at a tier and penalty (or moves them there).
    pub async fn set_queue_member(
        &self,
        queue_id: &str,
        user_id: &str,
        tier: i64,
        penalty: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO queue_members (queue_id, user_id, tier, penalty) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (queue_id, user_id) \
             DO UPDATE SET tier = excluded.tier, penalty = excluded.penalty",
        )
        .bind(queue_id)
        .bind(user_id)
        .bind(tier)
        .bind(penalty)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The agents of a queue, by tier then penalty.
    pub async fn queue_members(&self, queue_id: &str) -> Result<Vec<QueueMember>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT user_id, tier, penalty FROM queue_members WHERE queue_id = $1 \
             ORDER BY tier, penalty, user_id",
        )
        .bind(queue_id)
        .fetch_all(self.pool())
        .await?)
    }
}
