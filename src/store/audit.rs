//! The audit log: one `audit_log` row per accountable action (a supervisor
//! joining or changing how they join a call), with who, what, on what, and
//! the details as JSON.

use serde::Serialize;
use utoipa::ToSchema;

use super::{Millis, Store, StoreError, new_id};

/// An action to log.
#[derive(Debug, Clone)]
pub struct NewAudit<'a> {
    pub tenant_id: &'a str,
    /// The user's id, or `admin` for the admin token.
    pub actor: &'a str,
    /// What was done, e.g. `call.supervise`.
    pub action: &'a str,
    /// What it was done to, e.g. the call's id.
    pub target: &'a str,
    pub data: serde_json::Value,
}

/// A logged action.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, ToSchema)]
pub struct AuditEntry {
    pub id: String,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    /// JSON details.
    pub data: String,
}

impl Store {
    /// Logs an action.
    pub async fn audit(&self, entry: &NewAudit<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_log (id, tenant_id, at, actor, action, target, data) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new_id())
        .bind(entry.tenant_id)
        .bind(Millis::now().0)
        .bind(entry.actor)
        .bind(entry.action)
        .bind(entry.target)
        .bind(entry.data.to_string())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The tenant's logged actions on `target`, oldest first.
    pub async fn audit_of(
        &self,
        tenant_id: &str,
        target: &str,
    ) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, at, actor, action, target, data FROM audit_log \
             WHERE tenant_id = $1 AND target = $2 ORDER BY at, id",
        )
        .bind(tenant_id)
        .bind(target)
        .fetch_all(self.pool())
        .await?)
    }
}
