//! Contacts — a call, chat, WeChat conversation, SMS thread or email routed by
//! the ACD — and the append-only event log that reports are computed from.

use serde::Serialize;
use utoipa::ToSchema;

use super::{Millis, Store, StoreError, found, new_id};

/// A contact about to be recorded.
#[derive(Debug, Clone)]
pub struct NewContact<'a> {
    pub tenant_id: &'a str,
    /// `voice`, `chat`, `wechat`, `sms` or `email`.
    pub channel: &'a str,
    pub queue_id: Option<&'a str>,
    /// 0-9, higher first.
    pub priority: i64,
    pub customer_id: Option<&'a str>,
    pub call_id: Option<&'a str>,
    pub created_at: Millis,
}

/// A contact's current row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, ToSchema)]
pub struct Contact {
    pub id: String,
    pub tenant_id: String,
    pub channel: String,
    pub queue_id: Option<String>,
    pub priority: i64,
    pub customer_id: Option<String>,
    pub state: String,
    pub call_id: Option<String>,
    pub agent_id: Option<String>,
    pub disposition: Option<String>,
    pub created_at: i64,
    pub ended_at: Option<i64>,
}

/// A customer's earlier contact, as an agent sees it beside a new one.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, ToSchema)]
pub struct PastContact {
    pub id: String,
    pub channel: String,
    /// The queue's name.
    pub queue: Option<String>,
    /// The extension of the agent who took it.
    pub agent: Option<String>,
    pub state: String,
    pub disposition: Option<String>,
    pub created_at: i64,
    pub ended_at: Option<i64>,
}

/// One entry of a contact's event log.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, ToSchema)]
pub struct ContactEvent {
    pub id: String,
    pub contact_id: String,
    pub at: i64,
    /// e.g. `queued`, `offered`, `answered`, `abandoned`, `ended`.
    pub kind: String,
    pub user_id: Option<String>,
    /// Event details as a JSON object.
    pub data: String,
}

impl Store {
    /// Writes a new contact in state `new`, with its first event; returns it.
    pub async fn create_contact(&self, new: &NewContact<'_>) -> Result<Contact, StoreError> {
        let id = new_id();
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO contacts (id, tenant_id, channel, queue_id, priority, customer_id, \
             state, call_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'new', $7, $8)",
        )
        .bind(&id)
        .bind(new.tenant_id)
        .bind(new.channel)
        .bind(new.queue_id)
        .bind(new.priority)
        .bind(new.customer_id)
        .bind(new.call_id)
        .bind(new.created_at.0)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO contact_events (id, contact_id, at, kind, data) \
             VALUES ($1, $2, $3, 'created', '{}')",
        )
        .bind(new_id())
        .bind(&id)
        .bind(new.created_at.0)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.contact(&id).await
    }

    /// Whether the user was the agent a contact of this call was assigned
    /// to (`contacts.agent_id`, set when the agent accepts).
    pub async fn handled_call(&self, user_id: &str, call_id: &str) -> Result<bool, StoreError> {
        let contacts: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM contacts WHERE call_id = $1 AND agent_id = $2",
        )
        .bind(call_id)
        .bind(user_id)
        .fetch_one(self.pool())
        .await?;
        Ok(contacts > 0)
    }

    /// The contact's current row.
    pub async fn contact(&self, contact_id: &str) -> Result<Contact, StoreError> {
        found(
            sqlx::query_as(
                "SELECT id, tenant_id, channel, queue_id, priority, customer_id, state, call_id, \
                 agent_id, disposition, created_at, ended_at FROM contacts WHERE id = $1",
            )
            .bind(contact_id)
            .fetch_optional(self.pool())
            .await?,
            "contact",
        )
    }

    /// The tenant's contacts of customer `customer_id` (a caller's number,
    /// a chat visitor), newest first, at most `limit`.
    pub async fn contacts_of_customer(
        &self,
        tenant_id: &str,
        customer_id: &str,
        limit: i64,
    ) -> Result<Vec<PastContact>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT c.id, c.channel, q.name AS queue, u.extension AS agent, c.state, \
             c.disposition, c.created_at, c.ended_at FROM contacts c \
             LEFT JOIN queues q ON q.id = c.queue_id LEFT JOIN users u ON u.id = c.agent_id \
             WHERE c.tenant_id = $1 AND c.customer_id = $2 \
             ORDER BY c.created_at DESC, c.id DESC LIMIT $3",
        )
        .bind(tenant_id)
        .bind(customer_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// Moves a contact to a new state and logs it as an event, atomically.
    pub async fn record_contact_event(
        &self,
        contact_id: &str,
        at: Millis,
        kind: &str,
        user_id: Option<&str>,
        data: &serde_json::Value,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        let updated = sqlx::query(
            "UPDATE contacts SET state = $1, agent_id = COALESCE($2, agent_id) WHERE id = $3",
        )
        .bind(kind)
        .bind(user_id)
        .bind(contact_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound { what: "contact" });
        }
        sqlx::query(
            "INSERT INTO contact_events (id, contact_id, at, kind, user_id, data) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(new_id())
        .bind(contact_id)
        .bind(at.0)
        .bind(kind)
        .bind(user_id)
        .bind(data.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends a contact with a disposition (the first end wins).
    pub async fn end_contact(
        &self,
        contact_id: &str,
        at: Millis,
        disposition: Option<&str>,
    ) -> Result<(), StoreError> {
        self.record_contact_event(contact_id, at, "ended", None, &serde_json::json!({}))
            .await?;
        sqlx::query(
            "UPDATE contacts SET ended_at = $1, disposition = $2 WHERE id = $3 AND ended_at IS NULL",
        )
        .bind(at.0)
        .bind(disposition)
        .bind(contact_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Sets (or changes) the disposition of a contact, noted in its event
    /// log by whom; its state and agent stay. False when there is no such
    /// contact.
    pub async fn set_disposition(
        &self,
        contact_id: &str,
        at: Millis,
        user_id: Option<&str>,
        disposition: &str,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let updated = sqlx::query("UPDATE contacts SET disposition = $1 WHERE id = $2")
            .bind(disposition)
            .bind(contact_id)
            .execute(&mut *tx)
            .await?;
        if updated.rows_affected() == 0 {
            return Ok(false);
        }
        let data = serde_json::json!({ "disposition": disposition });
        sqlx::query(
            "INSERT INTO contact_events (id, contact_id, at, kind, user_id, data) \
             VALUES ($1, $2, $3, 'disposition', $4, $5)",
        )
        .bind(new_id())
        .bind(contact_id)
        .bind(at.0)
        .bind(user_id)
        .bind(data.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A contact's events, oldest first.
    pub async fn contact_events(&self, contact_id: &str) -> Result<Vec<ContactEvent>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, contact_id, at, kind, user_id, data FROM contact_events \
             WHERE contact_id = $1 ORDER BY at, id",
        )
        .bind(contact_id)
        .fetch_all(self.pool())
        .await?)
    }
}
