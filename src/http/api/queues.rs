//! Queues as the ACD sees them: `GET /api/v1/queues` (live figures) and
//! `PUT /api/v1/queues/{name}` (routing settings, supervisors and admins;
//! applied at once by reloading the ACD's configuration).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;

use super::agents::{Actor, TenantQuery};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::body::JsonBody;
use crate::http::problem::Problem;
use crate::routing::QueueStatus;
use crate::store::RoutingQueue;

/// The tenant's queues with live figures from the ACD.
#[utoipa::path(get, path = "/api/v1/queues", tag = "queues", security(("bearer" = [])),
    params(TenantQuery),
    responses((status = 200, body = [QueueStatus]), (status = 401, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<TenantQuery>,
) -> Result<Json<Vec<QueueStatus>>, Problem> {
    let actor = Actor::of(&state, &caller, &query).await?;
    Ok(Json(state.acd.queues(&actor.tenant_id).await?))
}

/// New settings for a queue; fields left out keep their value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueSettings {
    /// `longest-idle`, `round-robin`, `fewest-contacts`, `least-talk-time`,
    /// `ring-all`, `top-down`, `random` or `skills-best-match`.
    pub strategy: Option<String>,
    pub service_level_secs: Option<u32>,
    pub wrap_up_secs: Option<u32>,
    /// 0 removes the limit.
    pub max_wait_secs: Option<u32>,
    /// At least 1.
    pub offer_timeout_secs: Option<u32>,
    /// 0 turns the sticky agent off.
    pub sticky_secs: Option<u32>,
}

/// Changes a queue's routing settings (supervisors and admins); the ACD
/// applies them at once.
#[utoipa::path(put, path = "/api/v1/queues/{name}", tag = "queues", security(("bearer" = [])),
    params(("name" = String, Path, description = "queue name"), TenantQuery),
    request_body = QueueSettings,
    responses((status = 200, body = RoutingQueue), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn configure(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(query): Query<TenantQuery>,
    JsonBody(settings): JsonBody<QueueSettings>,
) -> Result<Json<RoutingQueue>, Problem> {
    let actor = Actor::of(&state, &caller, &query).await?;
    actor.must_supervise("change queue settings")?;
    let mut queue = state
        .store
        .routing_queue(&actor.tenant_id, &name)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no queue named `{name}`")))?;
    if let Some(strategy) = settings.strategy {
        strategy.parse::<kefu_acd::Strategy>().map_err(|err| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("`strategy`: {err}"),
            )
        })?;
        queue.strategy = strategy;
    }
    if let Some(secs) = settings.offer_timeout_secs {
        if secs == 0 {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "`offer_timeout_secs`: must be at least 1",
            ));
        }
        queue.offer_timeout_secs = i64::from(secs);
    }
    if let Some(secs) = settings.service_level_secs {
        queue.service_level_secs = i64::from(secs);
    }
    if let Some(secs) = settings.wrap_up_secs {
        queue.wrap_up_secs = i64::from(secs);
    }
    if let Some(secs) = settings.max_wait_secs {
        queue.max_wait_secs = (secs > 0).then_some(i64::from(secs));
    }
    if let Some(secs) = settings.sticky_secs {
        queue.sticky_secs = (secs > 0).then_some(i64::from(secs));
    }
    state.store.save_queue_settings(&queue).await?;
    state.acd.reload().await?;
    Ok(Json(queue))
}
