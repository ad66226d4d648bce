//! Managing chat through the API: a tenant's channels (`GET
//! /api/v1/chat/channels`, `PUT /api/v1/chat/channels/{name}`: queues,
//! allowed sites, identity key) and canned responses (`GET
//! /api/v1/chat/canned`, `PUT /api/v1/chat/canned/{shortcut}`). Anyone of
//! the tenant reads them; supervisors and admins change them. Keys are
//! never shown: the visitor key stays inside kefu, the identity key is
//! write-only.

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::AppState;
use crate::http::api::agents::{Actor, TenantQuery};
use crate::http::auth::Caller;
use crate::http::body::JsonBody;
use crate::http::problem::Problem;
use crate::store::{ChatChannel, NewChatChannel};

/// The routes, behind the bearer-token layer.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/chat/channels", get(channels))
        .route("/chat/channels/{name}", put(put_channel))
        .route("/chat/canned", get(canned))
        .route("/chat/canned/{shortcut}", put(put_canned))
}

/// A channel as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChannelView {
    pub name: String,
    /// The first is the default; the others are pre-chat topics.
    pub queues: Vec<String>,
    /// Sites that may embed the widget (empty: any).
    pub allowed_origins: Vec<String>,
    /// Whether the site can vouch for customers with signed JWTs.
    pub identity_key_set: bool,
}

impl From<ChatChannel> for ChannelView {
    fn from(channel: ChatChannel) -> Self {
        ChannelView {
            queues: channel.queue_names().map(str::to_owned).collect(),
            allowed_origins: channel.origins().map(str::to_owned).collect(),
            identity_key_set: channel.identity_key.is_some(),
            name: channel.name,
        }
    }
}

/// A channel to create or replace.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChannelBody {
    /// Queue names of the tenant, at least one; the first is the default.
    pub queues: Vec<String>,
    /// `scheme://host[:port]` of each site that may embed the widget.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// The HMAC key (HS256) of the site's identity JWTs, 16-256 characters;
    /// absent or null: no verified identity.
    pub identity_key: Option<String>,
}

/// A canned response.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Canned {
    pub shortcut: String,
    pub body: String,
}

/// The body of a canned response to store.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CannedBody {
    /// 1-4,000 characters.
    pub body: String,
}

fn unprocessable(detail: impl Into<String>) -> Problem {
    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, detail)
}

/// A name of letters, digits, `-` and `_`, 1-64 long.
fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `scheme://host[:port]`, as browsers send `Origin`.
fn valid_origin(origin: &str) -> bool {
    let Some((scheme, rest)) = origin.split_once("://") else {
        return false;
    };
    matches!(scheme, "http" | "https")
        && !rest.is_empty()
        && rest.len() <= 253
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

/// The tenant's chat channels.
#[utoipa::path(get, path = "/api/v1/chat/channels", tag = "chat", security(("bearer" = [])),
    params(TenantQuery), responses((status = 200, body = Vec<ChannelView>)))]
pub async fn channels(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<TenantQuery>,
) -> Result<Json<Vec<ChannelView>>, Problem> {
    let actor = Actor::of(&state, &caller, &query).await?;
    let channels = state.store.chat_channels(&actor.tenant_id).await?;
    Ok(Json(channels.into_iter().map(ChannelView::from).collect()))
}

/// Creates or replaces a chat channel.
#[utoipa::path(put, path = "/api/v1/chat/channels/{name}", tag = "chat", security(("bearer" = [])),
    params(("name" = String, Path, description = "the channel's name (the widget's data-channel)"), TenantQuery),
    request_body = ChannelBody,
    responses((status = 200, body = ChannelView), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(query): Query<TenantQuery>,
    JsonBody(body): JsonBody<ChannelBody>,
) -> Result<Json<ChannelView>, Problem> {
    let actor = Actor::of(&state, &caller, &query).await?;
    actor.must_supervise("change chat channels")?;
    if !valid_name(&name) {
        return Err(unprocessable("name: 1 to 64 letters, digits, - and _"));
    }
    if body.queues.is_empty() {
        return Err(unprocessable("`queues`: name at least one queue"));
    }
    let known = state.acd.queues(&actor.tenant_id).await?;
    if let Some(unknown) = body
        .queues
        .iter()
        .find(|q| !known.iter().any(|k| &k.name == *q))
    {
        return Err(unprocessable(format!(
            "`queues`: no queue named `{unknown}`"
        )));
    }
    if let Some(bad) = body.allowed_origins.iter().find(|o| !valid_origin(o)) {
        return Err(unprocessable(format!(
            "`allowed_origins`: {bad:?} is not an origin like https://shop.example or http://localhost:8000"
        )));
    }
    if let Some(key) = &body.identity_key {
        if !(16..=256).contains(&key.len()) {
            return Err(unprocessable("`identity_key`: 16 to 256 characters"));
        }
    }
    if let Some(existing) = state.store.chat_channel_by_name(&name).await? {
        if existing.tenant_id != actor.tenant_id {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                format!("the chat channel name `{name}` is taken; choose another"),
            ));
        }
    }
    let channel = state
        .store
        .ensure_chat_channel(&NewChatChannel {
            tenant_id: &actor.tenant_id,
            name: &name,
            queues: &body.queues,
            allowed_origins: &body.allowed_origins,
            identity_key: body.identity_key.as_deref(),
        })
        .await?;
    tracing::info!(channel = %name, "chat channel stored");
    Ok(Json(channel.into()))
}

/// The tenant's canned responses, by shortcut.
#[utoipa::path(get, path = "/api/v1/chat/canned", tag = "chat", security(("bearer" = [])),
    params(TenantQuery), responses((status = 200, body = Vec<Canned>)))]
pub async fn canned(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<TenantQuery>,
) -> Result<Json<Vec<Canned>>, Problem> {
    let actor = Actor::of(&state, &caller, &query).await?;
    let responses = state.store.canned_responses(&actor.tenant_id).await?;
    Ok(Json(
        responses
            .into_iter()
            .map(|(shortcut, body)| Canned { shortcut, body })
            .collect(),
    ))
}

/// Creates or replaces a canned response (`/shortcut` in agent messages).
#[utoipa::path(put, path = "/api/v1/chat/canned/{shortcut}", tag = "chat", security(("bearer" = [])),
    params(("shortcut" = String, Path, description = "without the slash"), TenantQuery), request_body = CannedBody,
    responses((status = 200, body = Canned), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put_canned(
    State(state): State<AppState>,
    caller: Caller,
    Path(shortcut): Path<String>,
    Query(query): Query<TenantQuery>,
    JsonBody(body): JsonBody<CannedBody>,
) -> Result<Json<Canned>, Problem> {
    let actor = Actor::of(&state, &caller, &query).await?;
    actor.must_supervise("change canned responses")?;
    if !valid_name(&shortcut) {
        return Err(unprocessable("shortcut: 1 to 64 letters, digits, - and _"));
    }
    let length = body.body.chars().count();
    if body.body.trim().is_empty() || length > kefu_chat::MAX_TEXT_CHARS {
        return Err(unprocessable(format!(
            "`body`: 1 to {} characters",
            kefu_chat::MAX_TEXT_CHARS
        )));
    }
    state
        .store
        .put_canned_response(&actor.tenant_id, &shortcut, &body.body)
        .await?;
    Ok(Json(Canned {
        shortcut,
        body: body.body,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        for good in [
            "https://shop.example",
            "http://localhost:8000",
            "http://[::1]:80",
        ] {
            assert!(valid_origin(good), "{good}");
        }
        for bad in [
            "shop.example",
            "https://",
            "ftp://x",
            "https://a/b",
            "https://a b",
            "*",
        ] {
            assert!(!valid_origin(bad), "{bad}");
        }
    }
}
