//! What reports read from the contact log: each contact routed to a queue in
//! a time window, with when an agent took it or the customer left. The
//! figures themselves are computed in [`crate::reports`].

use super::{Millis, Store, StoreError};

/// A contact that entered a queue, and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ContactOutcome {
    /// The name of the queue it entered first.
    pub queue: String,
    /// When it was created (and queued), Unix ms.
    pub created_at: i64,
    /// When an agent first accepted it.
    pub answered_at: Option<i64>,
    /// When the customer left before an agent took it.
    pub abandoned_at: Option<i64>,
}

impl Store {
    /// The tenant's contacts created in `[from, to)` that entered a queue
    /// (those the queue rejected outright are left out), oldest first.
    pub async fn contact_outcomes(
        &self,
        tenant_id: &str,
        from: Millis,
        to: Millis,
    ) -> Result<Vec<ContactOutcome>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT q.name AS queue, c.created_at, \
             (SELECT MIN(e.at) FROM contact_events e \
              WHERE e.contact_id = c.id AND e.kind = 'accepted') AS answered_at, \
             (SELECT MIN(e.at) FROM contact_events e \
              WHERE e.contact_id = c.id AND e.kind = 'abandoned') AS abandoned_at \
             FROM contacts c JOIN queues q ON q.id = c.queue_id \
             WHERE c.tenant_id = $1 AND c.created_at >= $2 AND c.created_at < $3 \
             AND (c.disposition IS NULL OR c.disposition <> 'rejected') \
             ORDER BY c.created_at, c.id",
        )
        .bind(tenant_id)
        .bind(from.0)
        .bind(to.0)
        .fetch_all(self.pool())
        .await?)
    }
}
