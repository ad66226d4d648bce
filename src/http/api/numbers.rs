//! Number routes (DIDs) and trunks as admins manage them:
//! `GET /api/v1/numbers`, `PUT /api/v1/numbers/{number}` (create or change
//! where a number goes: an IVR flow, a queue, an agent's extension, the echo
//! test or a trunk, which must exist) and `DELETE /api/v1/numbers/{number}`;
//! `GET /api/v1/trunks` and `PUT /api/v1/trunks/{name}` (create or change:
//! outbound host, port and transport, trusted source networks, disabled).
//!
//! Calls read routes and trunks from storage as they come, so a change
//! applies to the next call. Admins only (trunks hold carrier details).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::scope::{self, TenantQuery};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::body::JsonBody;
use crate::http::problem::Problem;
use crate::store::{NumberRoute, RouteTarget, Trunk, TrunkSettings};

/// Where a number goes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// `ivr`, `queue`, `agent`, `echo` or `trunk`.
    pub kind: String,
    /// The flow, queue, extension or trunk name (none for `echo`).
    pub target: Option<String>,
}

/// A trunk's settings; fields left out get their defaults.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TrunkSpec {
    /// Where outbound calls go (a host name or address); none: inbound only.
    pub host: Option<String>,
    /// Default 5060.
    pub port: Option<u16>,
    /// `udp` (default), `tcp`, `tls` or `ws`; outbound calls use UDP today.
    #[serde(default = "udp")]
    pub transport: String,
    /// Source networks whose calls are trusted without digest auth, as CIDRs
    /// or addresses (e.g. `203.0.113.0/24`).
    #[serde(default)]
    pub trusted_cidrs: Vec<String>,
    /// A disabled trunk takes and sends no calls.
    #[serde(default)]
    pub disabled: bool,
}

fn udp() -> String {
    "udp".to_owned()
}

/// The tenant's numbers and where they go.
#[utoipa::path(get, path = "/api/v1/numbers", tag = "numbers", security(("bearer" = [])),
    params(TenantQuery),
    responses((status = 200, body = [NumberRoute]), (status = 403, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<TenantQuery>,
) -> Result<Json<Vec<NumberRoute>>, Problem> {
    scope::require_admin(&caller, "numbers")?;
    let tenant = scope::tenant(&state, &caller, &query).await?;
    Ok(Json(state.store.number_routes(&tenant.id).await?))
}

/// Routes a number (creates or replaces its route).
#[utoipa::path(put, path = "/api/v1/numbers/{number}", tag = "numbers", security(("bearer" = [])),
    params(("number" = String, Path, description = "the dialled number (DID)"), TenantQuery),
    request_body = RouteSpec,
    responses((status = 200, body = NumberRoute), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    Query(query): Query<TenantQuery>,
    JsonBody(spec): JsonBody<RouteSpec>,
) -> Result<Json<NumberRoute>, Problem> {
    scope::require_admin(&caller, "numbers")?;
    check_number(&number)?;
    let tenant = scope::tenant(&state, &caller, &query).await?;
    let target = spec.target.as_deref().map(str::trim).unwrap_or("");
    let needs_target = || {
        if target.is_empty() {
            Err(Problem::invalid(
                "target",
                format!("a `{}` route needs a target", spec.kind),
            ))
        } else {
            Ok(target.to_owned())
        }
    };
    let missing = |what: &str| Problem::invalid("target", format!("no {what} named {target:?}"));
    let store = &state.store;
    let route = match spec.kind.as_str() {
        "ivr" => {
            let name = needs_target()?;
            store
                .ivr_flow(&tenant.id, &name)
                .await?
                .ok_or_else(|| missing("IVR flow"))?;
            RouteTarget::Ivr(name)
        }
        "queue" => {
            let name = needs_target()?;
            store
                .routing_queue(&tenant.id, &name)
                .await?
                .ok_or_else(|| missing("queue"))?;
            RouteTarget::Queue(name)
        }
        "agent" => {
            let extension = needs_target()?;
            store
                .user_by_extension(&tenant.id, &extension)
                .await?
                .ok_or_else(|| missing("agent extension"))?;
            RouteTarget::Agent(extension)
        }
        "trunk" => {
            let name = needs_target()?;
            store
                .trunk(&tenant.id, &name)
                .await?
                .ok_or_else(|| missing("trunk"))?;
            RouteTarget::Trunk(name)
        }
        "echo" => RouteTarget::Echo,
        other => {
            return Err(Problem::invalid(
                "kind",
                format!("{other:?} is not one of `ivr`, `queue`, `agent`, `echo`, `trunk`"),
            ));
        }
    };
    store.set_number_route(&tenant.id, &number, &route).await?;
    tracing::info!(tenant = %tenant.name, %number, ?route, "number routed");
    let saved = store
        .number_route(&tenant.id, &number)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no route for {number}")))?;
    Ok(Json(saved))
}

/// Removes a number's route: calls to it get 404.
#[utoipa::path(delete, path = "/api/v1/numbers/{number}", tag = "numbers", security(("bearer" = [])),
    params(("number" = String, Path, description = "the dialled number (DID)"), TenantQuery),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path(number): Path<String>,
    Query(query): Query<TenantQuery>,
) -> Result<StatusCode, Problem> {
    scope::require_admin(&caller, "numbers")?;
    let tenant = scope::tenant(&state, &caller, &query).await?;
    if state.store.delete_number_route(&tenant.id, &number).await? {
        tracing::info!(tenant = %tenant.name, %number, "number route removed");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Problem::not_found(format!("number {number} is not routed")))
    }
}

/// The tenant's trunks.
#[utoipa::path(get, path = "/api/v1/trunks", tag = "numbers", security(("bearer" = [])),
    params(TenantQuery),
    responses((status = 200, body = [Trunk]), (status = 403, body = Problem)))]
pub async fn trunks(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<TenantQuery>,
) -> Result<Json<Vec<Trunk>>, Problem> {
    scope::require_admin(&caller, "trunks")?;
    let tenant = scope::tenant(&state, &caller, &query).await?;
    Ok(Json(state.store.trunks(&tenant.id).await?))
}

/// Creates or changes a trunk.
#[utoipa::path(put, path = "/api/v1/trunks/{name}", tag = "numbers", security(("bearer" = [])),
    params(("name" = String, Path, description = "trunk name"), TenantQuery),
    request_body = TrunkSpec,
    responses((status = 200, body = Trunk), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put_trunk(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(query): Query<TenantQuery>,
    JsonBody(spec): JsonBody<TrunkSpec>,
) -> Result<Json<Trunk>, Problem> {
    scope::require_admin(&caller, "trunks")?;
    scope::object_name("trunk", &name)?;
    let tenant = scope::tenant(&state, &caller, &query).await?;
    let host = spec
        .host
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty());
    if let Some(host) = host {
        let ok = host.len() <= 253
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
        if !ok {
            return Err(Problem::invalid(
                "host",
                "a host name or an IP address, e.g. sip.carrier.example",
            ));
        }
    }
    if spec.port == Some(0) {
        return Err(Problem::invalid("port", "1-65535"));
    }
    if !matches!(spec.transport.as_str(), "udp" | "tcp" | "tls" | "ws") {
        return Err(Problem::invalid(
            "transport",
            format!("{:?} is not one of udp, tcp, tls, ws", spec.transport),
        ));
    }
    let mut networks = Vec::with_capacity(spec.trusted_cidrs.len());
    for (i, entry) in spec.trusted_cidrs.iter().enumerate() {
        let entry = entry.trim();
        let parsed =
            entry.parse::<ipnet::IpNet>().is_ok() || entry.parse::<std::net::IpAddr>().is_ok();
        if !parsed {
            return Err(Problem::invalid(
                &format!("trusted_cidrs[{i}]"),
                format!("{entry:?} is not a network (e.g. 203.0.113.0/24) or an address"),
            ));
        }
        networks.push(entry);
    }
    let trunk = state
        .store
        .save_trunk(
            &tenant.id,
            &name,
            &TrunkSettings {
                host,
                port: spec.port,
                transport: &spec.transport,
                trusted_cidrs: &networks.join(","),
                disabled: spec.disabled,
            },
        )
        .await?;
    tracing::info!(tenant = %tenant.name, trunk = %name, disabled = spec.disabled, "trunk saved");
    Ok(Json(trunk))
}

fn check_number(number: &str) -> Result<(), Problem> {
    let ok = (1..=32).contains(&number.len())
        && number
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || matches!(c, '*' | '#') || (c == '+' && i == 0));
    if ok {
        Ok(())
    } else {
        Err(Problem::new(
            StatusCode::BAD_REQUEST,
            format!(
                "path parameter `number` = {number:?}: 1-32 digits, '*' or '#', with an optional leading '+'"
            ),
        ))
    }
}
