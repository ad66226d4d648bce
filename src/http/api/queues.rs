//! Queues as the ACD sees them: `GET /api/v1/queues` (settings, open or
//! closed, live figures) and `PUT /api/v1/queues/{name}` (routing settings,
//! supervisors and admins; admins create a queue that does not exist yet; checked against the tenant's queues, calendars and
//! IVR flows, and applied at once by reloading the ACD's configuration).

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Deserializer};
use utoipa::ToSchema;

use super::agents::{Actor, TenantQuery};
use super::scope;
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::body::JsonBody;
use crate::http::problem::Problem;
use crate::routing::{QueueStatus, parse_timeout_target};
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
    /// 0 or null removes the limit.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>)]
    pub max_wait_secs: Option<Option<u32>>,
    /// At least 1.
    pub offer_timeout_secs: Option<u32>,
    /// 0 or null turns the sticky agent off.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>)]
    pub sticky_secs: Option<Option<u32>>,
    /// Tier `n` unlocks after the contact waited `(n - 1) ×` this; 0 or null:
    /// every tier at once.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>)]
    pub tier_after_secs: Option<Option<u32>>,
    /// Most contacts waiting; one arriving at a full queue leaves at once
    /// (`timed_out`, reason `full`). 0 or null removes the limit.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>)]
    pub max_size: Option<Option<u32>>,
    /// Where a contact that leaves unserved goes: `disconnect`,
    /// `voicemail:BOX`, `callback` or `flow:NAME` (an IVR flow of the tenant).
    pub timeout_target: Option<String>,
    /// Another queue of the tenant that takes contacts after
    /// `overflow_after_secs`; null: no overflow.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub overflow_queue: Option<Option<String>>,
    /// At least 1; needed with `overflow_queue`.
    pub overflow_after_secs: Option<u32>,
    /// Accept contacts while no logged-in agent could serve them (default true).
    pub join_when_empty: Option<bool>,
    /// Send waiting contacts away once no logged-in agent could serve them.
    pub leave_when_empty: Option<bool>,
    /// Announce position and expected wait this often; 0: once on arrival;
    /// null: never.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<u32>)]
    pub announce_every_secs: Option<Option<u32>>,
    /// Handle time assumed for wait estimates until real ones are measured;
    /// at least 1.
    pub expected_handle_secs: Option<u32>,
    /// A business-hours calendar of the tenant: the queue takes new contacts
    /// only while it is open. Null: always open.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub calendar: Option<Option<String>>,
}

/// A field that may be set to `null`: absent is `None`, `null` is
/// `Some(None)`.
fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A 422 naming the field.
fn invalid(field: &str, message: impl std::fmt::Display) -> Problem {
    Problem::invalid(field, message)
}

/// A positive number of seconds, or none for 0 and null.
fn limit(value: Option<u32>) -> Option<i64> {
    value.filter(|&n| n > 0).map(i64::from)
}

fn at_least_one(field: &str, secs: u32) -> Result<i64, Problem> {
    if secs == 0 {
        return Err(invalid(field, "must be at least 1"));
    }
    Ok(i64::from(secs))
}

/// Changes a queue's routing settings (supervisors and admins), or creates
/// the queue with them (admins); the ACD applies them at once.
#[utoipa::path(put, path = "/api/v1/queues/{name}", tag = "queues", security(("bearer" = [])),
    params(("name" = String, Path, description = "queue name"), TenantQuery),
    request_body = QueueSettings,
    responses((status = 200, body = RoutingQueue), (status = 201, body = RoutingQueue),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn configure(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(query): Query<TenantQuery>,
    JsonBody(settings): JsonBody<QueueSettings>,
) -> Result<(StatusCode, Json<RoutingQueue>), Problem> {
    let actor = Actor::of(&state, &caller, &query).await?;
    actor.must_supervise("change queue settings")?;
    let (mut queue, created) = match state.store.routing_queue(&actor.tenant_id, &name).await? {
        Some(queue) => (queue, false),
        None if caller.is_admin() => {
            scope::object_name("queue", &name)?;
            state.store.ensure_queue(&actor.tenant_id, &name).await?;
            let queue = state
                .store
                .routing_queue(&actor.tenant_id, &name)
                .await?
                .ok_or_else(|| Problem::not_found(format!("no queue named `{name}`")))?;
            (queue, true)
        }
        None => return Err(Problem::not_found(format!("no queue named `{name}`"))),
    };
    if let Err(problem) = apply(&state, &mut queue, settings).await {
        if created {
            state.store.delete_queue(&queue.id).await?;
        }
        return Err(problem);
    }
    state.store.save_queue_settings(&queue).await?;
    state.acd.reload().await?;
    if created {
        tracing::info!(queue = %name, "queue created");
    }
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(queue)))
}

/// Checks the new settings against the queue's tenant and applies them.
async fn apply(
    state: &AppState,
    queue: &mut RoutingQueue,
    settings: QueueSettings,
) -> Result<(), Problem> {
    let tenant = queue.tenant_id.clone();
    if let Some(strategy) = settings.strategy {
        strategy
            .parse::<kefu_acd::Strategy>()
            .map_err(|err| invalid("strategy", err))?;
        queue.strategy = strategy;
    }
    if let Some(secs) = settings.offer_timeout_secs {
        queue.offer_timeout_secs = at_least_one("offer_timeout_secs", secs)?;
    }
    if let Some(secs) = settings.service_level_secs {
        queue.service_level_secs = i64::from(secs);
    }
    if let Some(secs) = settings.wrap_up_secs {
        queue.wrap_up_secs = i64::from(secs);
    }
    if let Some(secs) = settings.max_wait_secs {
        queue.max_wait_secs = limit(secs);
    }
    if let Some(secs) = settings.sticky_secs {
        queue.sticky_secs = limit(secs);
    }
    if let Some(secs) = settings.tier_after_secs {
        queue.tier_after_secs = limit(secs);
    }
    if let Some(size) = settings.max_size {
        queue.max_size = limit(size);
    }
    if let Some(target) = settings.timeout_target {
        match parse_timeout_target(&target) {
            Some(kefu_acd::TimeoutTarget::Flow(flow)) => {
                if state.store.ivr_flow(&tenant, &flow).await?.is_none() {
                    return Err(invalid(
                        "timeout_target",
                        format!("no IVR flow named {flow:?}"),
                    ));
                }
            }
            Some(_) => {}
            None => {
                return Err(invalid(
                    "timeout_target",
                    format!(
                        "{target:?} is not one of `disconnect`, `voicemail:BOX`, `callback`, \
                         `flow:NAME`"
                    ),
                ));
            }
        }
        queue.timeout_target = target;
    }
    if let Some(overflow) = settings.overflow_queue {
        if let Some(to) = &overflow {
            if *to == queue.name {
                return Err(invalid(
                    "overflow_queue",
                    "a queue cannot overflow into itself",
                ));
            }
            if state.store.routing_queue(&tenant, to).await?.is_none() {
                return Err(invalid("overflow_queue", format!("no queue named {to:?}")));
            }
        }
        queue.overflow_queue = overflow;
    }
    if let Some(secs) = settings.overflow_after_secs {
        queue.overflow_after_secs = Some(at_least_one("overflow_after_secs", secs)?);
    }
    if queue.overflow_queue.is_some() && queue.overflow_after_secs.is_none() {
        return Err(invalid(
            "overflow_after_secs",
            "needed with `overflow_queue`: how long a contact waits before it moves",
        ));
    }
    if let Some(join) = settings.join_when_empty {
        queue.join_when_empty = i64::from(join);
    }
    if let Some(leave) = settings.leave_when_empty {
        queue.leave_when_empty = i64::from(leave);
    }
    if let Some(every) = settings.announce_every_secs {
        queue.announce_every_secs = every.map(i64::from);
    }
    if let Some(secs) = settings.expected_handle_secs {
        queue.expected_handle_secs = at_least_one("expected_handle_secs", secs)?;
    }
    if let Some(calendar) = settings.calendar {
        if let Some(name) = &calendar {
            if state.store.calendar(&tenant, name).await?.is_none() {
                return Err(invalid("calendar", format!("no calendar named {name:?}")));
            }
        }
        queue.calendar = calendar;
    }
    Ok(())
}
