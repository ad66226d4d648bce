//! Tenants: the organisations one kefu serves, each with its own agents,
//! queues, numbers and SIP realm.

use serde::Serialize;
use utoipa::ToSchema;

use super::{Millis, Store, StoreError, found, new_id};

/// One organisation served by kefu.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, ToSchema)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    /// The digest-auth realm its SIP users register in.
    pub sip_realm: String,
    pub created_at: i64,
}

impl Store {
    /// Creates the tenant unless one with that name exists; returns it either way.
    pub async fn ensure_tenant(&self, name: &str, sip_realm: &str) -> Result<Tenant, StoreError> {
        sqlx::query(
            "INSERT INTO tenants (id, name, sip_realm, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(new_id())
        .bind(name)
        .bind(sip_realm)
        .bind(Millis::now().0)
        .execute(self.pool())
        .await?;
        found(self.tenant_by_name(name).await?, "tenant")
    }

    /// The tenant with this name, if any.
    pub async fn tenant_by_name(&self, name: &str) -> Result<Option<Tenant>, StoreError> {
        Ok(
            sqlx::query_as("SELECT id, name, sip_realm, created_at FROM tenants WHERE name = $1")
                .bind(name)
                .fetch_optional(self.pool())
                .await?,
        )
    }

    /// The tenant with this id.
    pub async fn tenant(&self, id: &str) -> Result<Tenant, StoreError> {
        found(
            sqlx::query_as("SELECT id, name, sip_realm, created_at FROM tenants WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?,
            "tenant",
        )
    }

    /// The tenant whose SIP users register in `realm`, if any.
    pub async fn tenant_by_realm(&self, realm: &str) -> Result<Option<Tenant>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, name, sip_realm, created_at FROM tenants WHERE sip_realm = $1 \
             ORDER BY created_at LIMIT 1",
        )
        .bind(realm)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Every tenant, by name.
    pub async fn tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        Ok(
            sqlx::query_as("SELECT id, name, sip_realm, created_at FROM tenants ORDER BY name")
                .fetch_all(self.pool())
                .await?,
        )
    }
}
