//! IVR flows as stored: the TOML source admins write, versioned on change.

use serde::Serialize;
use utoipa::ToSchema;

use super::{Millis, Store, StoreError, found, new_id};

/// One IVR flow's source and version.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, ToSchema)]
pub struct IvrFlow {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// The flow in kefu's IVR TOML language.
    pub source: String,
    /// Starts at 1 and grows each time the source changes.
    pub version: i64,
    pub updated_at: i64,
}

impl Store {
    /// Stores a flow's source; the version grows only when the source changed.
    pub async fn save_ivr_flow(
        &self,
        tenant_id: &str,
        name: &str,
        source: &str,
    ) -> Result<IvrFlow, StoreError> {
        sqlx::query(
            "INSERT INTO ivr_flows (id, tenant_id, name, source, version, updated_at) \
             VALUES ($1, $2, $3, $4, 1, $5) \
             ON CONFLICT (tenant_id, name) DO UPDATE SET source = excluded.source, \
             version = ivr_flows.version + 1, updated_at = excluded.updated_at \
             WHERE ivr_flows.source <> excluded.source",
        )
        .bind(new_id())
        .bind(tenant_id)
        .bind(name)
        .bind(source)
        .bind(Millis::now().0)
        .execute(self.pool())
        .await?;
        found(self.ivr_flow(tenant_id, name).await?, "IVR flow")
    }

    /// Stores a flow's source unless a flow of that name exists (kept as is).
    pub async fn ensure_ivr_flow(
        &self,
        tenant_id: &str,
        name: &str,
        source: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO ivr_flows (id, tenant_id, name, source, version, updated_at) \
             VALUES ($1, $2, $3, $4, 1, $5) ON CONFLICT (tenant_id, name) DO NOTHING",
        )
        .bind(new_id())
        .bind(tenant_id)
        .bind(name)
        .bind(source)
        .bind(Millis::now().0)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The tenant's flows, by name.
    pub async fn ivr_flows(&self, tenant_id: &str) -> Result<Vec<IvrFlow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, tenant_id, name, source, version, updated_at FROM ivr_flows \
             WHERE tenant_id = $1 ORDER BY name",
        )
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// The flow with this name, if any.
    pub async fn ivr_flow(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Option<IvrFlow>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, tenant_id, name, source, version, updated_at FROM ivr_flows \
             WHERE tenant_id = $1 AND name = $2",
        )
        .bind(tenant_id)
        .bind(name)
        .fetch_optional(self.pool())
        .await?)
    }
}
