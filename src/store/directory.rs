//! The telephony directory: SIP trunks and the number routes (DIDs) that say
//! where a dialled number goes.

use std::net::IpAddr;

use ipnet::IpNet;
use serde::Serialize;
use utoipa::ToSchema;

use super::{Millis, Store, StoreError, found, new_id};

/// A SIP trunk: a carrier or PBX that sends and takes calls.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, ToSchema)]
pub struct Trunk {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    /// Where outbound calls go, if the trunk takes them.
    pub host: Option<String>,
    pub port: Option<i64>,
    /// `udp`, `tcp`, `tls` or `ws`.
    pub transport: String,
    /// Source addresses trusted without digest auth, comma-separated CIDRs.
    pub trusted_cidrs: String,
    pub created_at: i64,
    pub disabled_at: Option<i64>,
}

impl Trunk {
    /// Whether `source` is inside one of the trunk's trusted networks (a bare
    /// address counts as a /32 or /128).
    pub fn trusts(&self, source: IpAddr) -> bool {
        self.trusted_cidrs
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .any(|entry| match parse_network(entry) {
                Some(network) => network.contains(&source),
                None => {
                    tracing::warn!(trunk = %self.name, %entry, "ignoring an unparsable trusted network");
                    false
                }
            })
    }
}

fn parse_network(entry: &str) -> Option<IpNet> {
    entry
        .parse::<IpNet>()
        .ok()
        .or_else(|| entry.parse::<IpAddr>().ok().map(IpNet::from))
}

/// Where a dialled number goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "kind", content = "target", rename_all = "lowercase")]
pub enum RouteTarget {
    /// An IVR flow, by name.
    Ivr(String),
    /// A queue, by name.
    Queue(String),
    /// An agent's extension.
    Agent(String),
    /// The echo test: the caller hears themself.
    Echo,
    /// Out through a trunk, by name.
    Trunk(String),
}

impl RouteTarget {
    fn columns(&self) -> (&'static str, &str) {
        match self {
            RouteTarget::Ivr(t) => ("ivr", t),
            RouteTarget::Queue(t) => ("queue", t),
            RouteTarget::Agent(t) => ("agent", t),
            RouteTarget::Echo => ("echo", ""),
            RouteTarget::Trunk(t) => ("trunk", t),
        }
    }

    fn from_columns(kind: &str, target: String) -> Option<Self> {
        Some(match kind {
            "ivr" => RouteTarget::Ivr(target),
            "queue" => RouteTarget::Queue(target),
            "agent" => RouteTarget::Agent(target),
            "echo" => RouteTarget::Echo,
            "trunk" => RouteTarget::Trunk(target),
            _ => return None,
        })
    }
}

/// A number (DID) and where it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct NumberRoute {
    pub id: String,
    pub tenant_id: String,
    pub number: String,
    pub route: RouteTarget,
}

#[derive(sqlx::FromRow)]
struct RouteRow {
    id: String,
    tenant_id: String,
    number: String,
    target_kind: String,
    target: String,
}

impl RouteRow {
    fn into_route(self) -> Option<NumberRoute> {
        Some(NumberRoute {
            route: RouteTarget::from_columns(&self.target_kind, self.target)?,
            id: self.id,
            tenant_id: self.tenant_id,
            number: self.number,
        })
    }
}

const TRUNK_COLUMNS: &str =
    "id, tenant_id, name, host, port, transport, trusted_cidrs, created_at, disabled_at";

impl Store {
    /// Creates the trunk unless one with that name exists; sets its trusted
    /// source networks either way.
    pub async fn ensure_trunk(
        &self,
        tenant_id: &str,
        name: &str,
        trusted_cidrs: &str,
    ) -> Result<Trunk, StoreError> {
        sqlx::query(
            "INSERT INTO sip_trunks (id, tenant_id, name, trusted_cidrs, created_at) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (tenant_id, name) DO UPDATE SET trusted_cidrs = excluded.trusted_cidrs",
        )
        .bind(new_id())
        .bind(tenant_id)
        .bind(name)
        .bind(trusted_cidrs)
        .bind(Millis::now().0)
        .execute(self.pool())
        .await?;
        let sql =
            format!("SELECT {TRUNK_COLUMNS} FROM sip_trunks WHERE tenant_id = $1 AND name = $2");
        found(
            sqlx::query_as(&sql)
                .bind(tenant_id)
                .bind(name)
                .fetch_optional(self.pool())
                .await?,
            "trunk",
        )
    }

    /// Where the trunk takes outbound calls: `host` and `port` over
    /// `transport` (`udp`, `tcp`, `tls` or `ws`).
    pub async fn set_trunk_target(
        &self,
        trunk_id: &str,
        host: &str,
        port: u16,
        transport: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE sip_trunks SET host = $1, port = $2, transport = $3 WHERE id = $4")
            .bind(host)
            .bind(i64::from(port))
            .bind(transport)
            .bind(trunk_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The tenant's trunk with this name, if any.
    pub async fn trunk(&self, tenant_id: &str, name: &str) -> Result<Option<Trunk>, StoreError> {
        let sql =
            format!("SELECT {TRUNK_COLUMNS} FROM sip_trunks WHERE tenant_id = $1 AND name = $2");
        Ok(sqlx::query_as(&sql)
            .bind(tenant_id)
            .bind(name)
            .fetch_optional(self.pool())
            .await?)
    }

    /// The trunks of a tenant, by name.
    pub async fn trunks(&self, tenant_id: &str) -> Result<Vec<Trunk>, StoreError> {
        let sql =
            format!("SELECT {TRUNK_COLUMNS} FROM sip_trunks WHERE tenant_id = $1 ORDER BY name");
        Ok(sqlx::query_as(&sql)
            .bind(tenant_id)
            .fetch_all(self.pool())
            .await?)
    }

    /// The enabled trunk whose trusted networks hold `source`, if any: the
    /// tenant a call from `source` belongs to. A trunk's unparsable CIDR entry
    /// is skipped with a warning, never trusted.
    pub async fn trunk_trusting(&self, source: IpAddr) -> Result<Option<Trunk>, StoreError> {
        let sql = format!(
            "SELECT {TRUNK_COLUMNS} FROM sip_trunks WHERE disabled_at IS NULL ORDER BY created_at"
        );
        let trunks: Vec<Trunk> = sqlx::query_as(&sql).fetch_all(self.pool()).await?;
        Ok(trunks.into_iter().find(|trunk| trunk.trusts(source)))
    }

    /// Where `number` goes in the tenant, if it is routed.
    pub async fn number_route(
        &self,
        tenant_id: &str,
        number: &str,
    ) -> Result<Option<NumberRoute>, StoreError> {
        let row: Option<RouteRow> = sqlx::query_as(
            "SELECT id, tenant_id, number, target_kind, target FROM number_routes \
             WHERE tenant_id = $1 AND number = $2",
        )
        .bind(tenant_id)
        .bind(number)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.and_then(RouteRow::into_route))
    }

    /// Points a number at a target, replacing any earlier route of that number.
    pub async fn set_number_route(
        &self,
        tenant_id: &str,
        number: &str,
        route: &RouteTarget,
    ) -> Result<(), StoreError> {
        let (kind, target) = route.columns();
        sqlx::query(
            "INSERT INTO number_routes (id, tenant_id, number, target_kind, target, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (tenant_id, number) \
             DO UPDATE SET target_kind = excluded.target_kind, target = excluded.target",
        )
        .bind(new_id())
        .bind(tenant_id)
        .bind(number)
        .bind(kind)
        .bind(target)
        .bind(Millis::now().0)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The routes of a tenant, by number.
    pub async fn number_routes(&self, tenant_id: &str) -> Result<Vec<NumberRoute>, StoreError> {
        let rows: Vec<RouteRow> = sqlx::query_as(
            "SELECT id, tenant_id, number, target_kind, target FROM number_routes \
             WHERE tenant_id = $1 ORDER BY number",
        )
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().filter_map(RouteRow::into_route).collect())
    }
}
