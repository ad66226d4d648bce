//! `GET /api/v1/contacts/{id}/messages`: the transcript of the chat a
//! contact routed — the whole conversation (it may span several contacts),
//! internal notes included, for users of the contact's tenant.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::AppState;
use crate::http::api::agents::{Actor, TenantQuery};
use crate::http::auth::Caller;
use crate::http::problem::Problem;
use crate::store::{ChatMessage, Conversation};

/// A conversation and its messages, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Transcript {
    pub conversation: Conversation,
    pub messages: Vec<ChatMessage>,
}

/// The chat transcript of a contact.
#[utoipa::path(get, path = "/api/v1/contacts/{id}/messages", tag = "contacts", security(("bearer" = [])),
    params(("id" = String, Path, description = "contact id"), TenantQuery),
    responses((status = 200, body = Transcript), (status = 404, body = Problem)))]
pub async fn messages(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<TenantQuery>,
) -> Result<Json<Transcript>, Problem> {
    let actor = Actor::of(&state, &caller, &query).await?;
    let conversation = state
        .chat
        .store()
        .conversation_of_contact(&id)
        .await?
        .filter(|c| c.tenant_id == actor.tenant_id)
        .ok_or_else(|| Problem::not_found(format!("no chat contact `{id}`")))?;
    let messages = state
        .chat
        .store()
        .chat_messages_after(&conversation.id, 0, true)
        .await?;
    Ok(Json(Transcript {
        conversation,
        messages,
    }))
}
