//! Agents' live state: agents log in and out and change state
//! (`/api/v1/agents…`), through the [`AcdHandle`](crate::routing::AcdHandle);
//! supervisors set their capacity per channel.
//! Also who acts ([`Actor`]) for every ACD endpoint.
//!
//! A user token acts in its own tenant; the admin token names the tenant
//! with `?tenant=NAME`. Agents may change only their own state;
//! supervisors, admins and the admin token any agent of the tenant.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::body::JsonBody;
use crate::http::problem::Problem;
use crate::routing::{AgentStatus, Presence, RoutingError};
use crate::store::AgentCapacity;

/// Which tenant an admin-token request is about.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct TenantQuery {
    /// The tenant's name; needed with the admin token, ignored otherwise.
    pub tenant: Option<String>,
}

/// Who acts, in which tenant, with which rights.
#[derive(Debug, Clone)]
pub struct Actor {
    pub tenant_id: String,
    /// The user behind a user token (none for the admin token).
    pub user_id: Option<String>,
    /// Supervisors, admins and the admin token manage any agent of the tenant.
    pub supervises: bool,
}

impl Actor {
    /// Resolves the caller's tenant and role.
    pub async fn of(
        state: &AppState,
        caller: &Caller,
        query: &TenantQuery,
    ) -> Result<Actor, Problem> {
        match caller {
            Caller::Admin => {
                let Some(name) = &query.tenant else {
                    return Err(Problem::new(
                        StatusCode::BAD_REQUEST,
                        "the admin token must name the tenant: add `?tenant=NAME`",
                    ));
                };
                let tenant = state
                    .store
                    .tenant_by_name(name)
                    .await?
                    .ok_or_else(|| Problem::not_found(format!("no tenant named `{name}`")))?;
                Ok(Actor {
                    tenant_id: tenant.id,
                    user_id: None,
                    supervises: true,
                })
            }
            Caller::User {
                tenant_id, user_id, ..
            } => {
                let user = state.store.user(user_id).await?;
                Ok(Actor {
                    tenant_id: tenant_id.clone(),
                    supervises: matches!(user.role.as_str(), "supervisor" | "admin"),
                    user_id: Some(user_id.clone()),
                })
            }
        }
    }

    /// 403 unless the actor supervises.
    pub fn must_supervise(&self, what: &str) -> Result<(), Problem> {
        if self.supervises {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "only supervisors and admins may {what}"
            )))
        }
    }

    /// The actor's own extension, if they are a user with one.
    async fn extension(&self, state: &AppState) -> Result<Option<String>, Problem> {
        match &self.user_id {
            Some(user_id) => Ok(state.store.user(user_id).await?.extension),
            None => Ok(None),
        }
    }

    /// 403 unless the actor may manage the agent with this extension.
    async fn may_manage(&self, state: &AppState, extension: &str) -> Result<(), Problem> {
        if self.supervises || self.extension(state).await?.as_deref() == Some(extension) {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "an agent may change only their own state, not agent {extension}'s"
            )))
        }
    }
}

impl From<RoutingError> for Problem {
    fn from(error: RoutingError) -> Self {
        let status = match &error {
            RoutingError::UnknownQueue(_)
            | RoutingError::UnknownSkill(_)
            | RoutingError::UnknownAgent(_)
            | RoutingError::UnknownContact(_) => StatusCode::NOT_FOUND,
            RoutingError::Priority(_) | RoutingError::SkillLevel { .. } => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            RoutingError::Refused(_) => StatusCode::CONFLICT,
            RoutingError::Stopped | RoutingError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        match error {
            RoutingError::Store(store) => store.into(),
            other => Problem::new(status, other.to_string()),
        }
    }
}

/// The state an agent asks for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "state", rename_all = "snake_case", deny_unknown_fields)]
pub enum StateChange {
    /// Take contacts.
    Ready,
    /// Take no new contacts, for a reason (e.g. `lunch`).
    NotReady { reason: String },
    /// Wrap-up is over: ready again.
    WrapUpDone,
}

/// The tenant's agents with their live state and contacts.
#[utoipa::path(get, path = "/api/v1/agents", tag = "agents", security(("bearer" = [])),
    params(TenantQuery),
    responses((status = 200, body = [AgentStatus]), (status = 401, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<TenantQuery>,
) -> Result<Json<Vec<AgentStatus>>, Problem> {
    let actor = Actor::of(&state, &caller, &query).await?;
    Ok(Json(state.acd.agents(&actor.tenant_id).await?))
}

/// Logs the agent in (not ready until they say ready).
#[utoipa::path(post, path = "/api/v1/agents/{ext}/login", tag = "agents", security(("bearer" = [])),
    params(("ext" = String, Path, description = "the agent's extension"), TenantQuery),
    responses((status = 200, body = AgentStatus), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn login(
    State(state): State<AppState>,
    caller: Caller,
    Path(extension): Path<String>,
    Query(query): Query<TenantQuery>,
) -> Result<Json<AgentStatus>, Problem> {
    let actor = Actor::of(&state, &caller, &query).await?;
    actor.may_manage(&state, &extension).await?;
    Ok(Json(state.acd.login(&actor.tenant_id, &extension).await?))
}

/// Logs the agent out (refused while they handle contacts).
#[utoipa::path(post, path = "/api/v1/agents/{ext}/logout", tag = "agents", security(("bearer" = [])),
    params(("ext" = String, Path, description = "the agent's extension"), TenantQuery),
    responses((status = 200, body = AgentStatus), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn logout(
    State(state): State<AppState>,
    caller: Caller,
    Path(extension): Path<String>,
    Query(query): Query<TenantQuery>,
) -> Result<Json<AgentStatus>, Problem> {
    let actor = Actor::of(&state, &caller, &query).await?;
    actor.may_manage(&state, &extension).await?;
    Ok(Json(state.acd.logout(&actor.tenant_id, &extension).await?))
}

/// Sets a logged-in agent ready, not ready with a reason, or ends their wrap-up.
#[utoipa::path(put, path = "/api/v1/agents/{ext}/state", tag = "agents", security(("bearer" = [])),
    params(("ext" = String, Path, description = "the agent's extension"), TenantQuery),
    request_body = StateChange,
    responses((status = 200, body = AgentStatus), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn set_state(
    State(state): State<AppState>,
    caller: Caller,
    Path(extension): Path<String>,
    Query(query): Query<TenantQuery>,
    JsonBody(change): JsonBody<StateChange>,
) -> Result<Json<AgentStatus>, Problem> {
    let actor = Actor::of(&state, &caller, &query).await?;
    actor.may_manage(&state, &extension).await?;
    let presence = match change {
        StateChange::Ready => Presence::Ready,
        StateChange::NotReady { reason } => {
            let reason = reason.trim();
            if reason.is_empty() || reason.len() > 64 {
                return Err(Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "`reason`: give a reason of 1 to 64 characters",
                ));
            }
            Presence::NotReady {
                reason: reason.to_owned(),
            }
        }
        StateChange::WrapUpDone => Presence::WrapUpDone,
    };
    Ok(Json(
        state
            .acd
            .set_state(&actor.tenant_id, &extension, presence)
            .await?,
    ))
}

/// New capacity for an agent; what is left out keeps its value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CapacityChange {
    /// Contacts of each channel taken at once, offers included (0-255).
    pub voice: Option<u8>,
    pub chat: Option<u8>,
    pub wechat: Option<u8>,
    pub sms: Option<u8>,
    pub email: Option<u8>,
    /// While the agent has a voice contact, no other channel is offered.
    pub voice_blocks_other_channels: Option<bool>,
}

/// Sets an agent's capacity per channel (supervisors and admins); the ACD
/// applies it at once, offers already made stay.
#[utoipa::path(put, path = "/api/v1/agents/{ext}/capacity", tag = "agents", security(("bearer" = [])),
    params(("ext" = String, Path, description = "the agent's extension"), TenantQuery),
    request_body = CapacityChange,
    responses((status = 200, body = AgentStatus), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn set_capacity(
    State(state): State<AppState>,
    caller: Caller,
    Path(extension): Path<String>,
    Query(query): Query<TenantQuery>,
    JsonBody(change): JsonBody<CapacityChange>,
) -> Result<Json<AgentStatus>, Problem> {
    let actor = Actor::of(&state, &caller, &query).await?;
    actor.must_supervise("change an agent's capacity")?;
    let agent = state
        .store
        .routing_agent(&actor.tenant_id, &extension)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no agent with extension `{extension}`")))?;
    let mut capacity = AgentCapacity::of(&agent);
    let set = |slot: &mut i64, value: Option<u8>| {
        if let Some(value) = value {
            *slot = i64::from(value);
        }
    };
    set(&mut capacity.voice, change.voice);
    set(&mut capacity.chat, change.chat);
    set(&mut capacity.wechat, change.wechat);
    set(&mut capacity.sms, change.sms);
    set(&mut capacity.email, change.email);
    if let Some(blocks) = change.voice_blocks_other_channels {
        capacity.voice_blocks_other_channels = blocks;
    }
    state
        .store
        .save_agent_capacity(&agent.user_id, &capacity)
        .await?;
    state.acd.reload().await?;
    let status = state
        .acd
        .agents(&actor.tenant_id)
        .await?
        .into_iter()
        .find(|a| a.user_id == agent.user_id)
        .ok_or_else(|| Problem::not_found(format!("no agent with extension `{extension}`")))?;
    Ok(Json(status))
}
