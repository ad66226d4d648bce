//! The agent WebSocket, `/api/v1/agent/ws`: an agent's live feed. The token
//! comes as `Authorization: Bearer …` or, for browsers, `?token=…`; it must
//! be a user token of an agent with an extension. The server sends a `hello`
//! with the agent's state, then every [`AgentEvent`](crate::routing::AgentEvent)
//! of that agent as JSON (`state`, `offer`, `offer_ended`, `assigned`,
//! `contact_ended`); the agent sends `accept`, `decline`, `end` and `state`
//! commands, and gets an `error` event when one is refused. Chat commands
//! and events (`chat_*`) are [`crate::chat::agent`]'s.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast;

use crate::chat::{self, hub::AgentChatEvent};
use crate::http::AppState;
use crate::http::auth::{Caller, websocket_caller};
use crate::http::body;
use crate::http::problem::Problem;
use crate::routing::{AgentEvent, Answer, ContactId, Presence};

/// The token, for clients that cannot set headers.
#[derive(Debug, Default, Deserialize)]
pub struct WsQuery {
    pub token: Option<String>,
}

/// What an agent sends.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum Command {
    Accept {
        contact: String,
    },
    Decline {
        contact: String,
    },
    End {
        contact: String,
    },
    State {
        state: String,
        reason: Option<String>,
    },
}

/// The agent behind a connection.
struct Agent {
    tenant_id: String,
    user_id: String,
    extension: String,
}

/// Upgrades an agent's authenticated request to the event WebSocket.
#[utoipa::path(get, path = "/api/v1/agent/ws", tag = "agents",
    params(("token" = Option<String>, Query, description = "the agent's token, when no Authorization header can be set")),
    responses((status = 101, description = "switching to the agent WebSocket"), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn connect(
    State(state): State<AppState>,
    Query(query): Query<WsQuery>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let (tenant_id, user_id) =
        match websocket_caller(&state, &headers, query.token.as_deref()).await {
            Ok(Caller::User {
                tenant_id, user_id, ..
            }) => (tenant_id, user_id),
            Ok(Caller::Admin) => {
                return Problem::forbidden("the agent WebSocket takes an agent's own token")
                    .into_response();
            }
            Err(refused) => return refused,
        };
    let user = match state.store.user(&user_id).await {
        Ok(user) => user,
        Err(error) => return Problem::from(error).into_response(),
    };
    let Some(extension) = user.extension else {
        return Problem::forbidden("this user has no extension, so no agent feed").into_response();
    };
    let agent = Agent {
        tenant_id,
        user_id,
        extension,
    };
    // Subscribed before the upgrade, so nothing between hello and the loop is lost.
    let events = state.acd.subscribe();
    let chats = state.chat.hub().agent_feed();
    upgrade.on_upgrade(move |socket| serve(socket, state, agent, events, chats))
}

async fn serve(
    mut socket: WebSocket,
    state: AppState,
    agent: Agent,
    mut events: broadcast::Receiver<AgentEvent>,
    mut chats: broadcast::Receiver<AgentChatEvent>,
) {
    let hello = match state.acd.agents(&agent.tenant_id).await {
        Ok(agents) => json!({
            "type": "hello",
            "agent": agents.into_iter().find(|a| a.user_id == agent.user_id),
        }),
        Err(error) => json!({"type": "error", "detail": error.to_string()}),
    };
    if send(&mut socket, &hello).await.is_err() {
        return;
    }
    loop {
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let chat = chat::agent::command(&state.chat, &agent.tenant_id, &agent.user_id, text.as_str()).await;
                    if let Some(frames) = chat {
                        for frame in frames {
                            if send(&mut socket, &frame).await.is_err() {
                                return;
                            }
                        }
                    } else if let Err(detail) = obey(&state, &agent, text.as_str()).await {
                        let error = json!({"type": "error", "detail": detail});
                        if send(&mut socket, &error).await.is_err() {
                            break;
                        }
                    }
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            event = events.recv() => match event {
                Ok(event) if event.user_id == agent.user_id => {
                    if send(&mut socket, &event).await.is_err() {
                        break;
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    if send(&mut socket, &json!({"type": "lagged", "missed": missed})).await.is_err() {
                        break;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
            event = chats.recv() => match event {
                Ok(event) if event.user_id == agent.user_id => {
                    if let Some(frame) = chat::agent::event_frame(&state.chat, &event) {
                        if send(&mut socket, &frame).await.is_err() {
                            break;
                        }
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    if send(&mut socket, &json!({"type": "chat_lagged", "missed": missed})).await.is_err() {
                        break;
                    }
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
        }
    }
}

async fn send(socket: &mut WebSocket, value: &impl serde::Serialize) -> Result<(), axum::Error> {
    let text = serde_json::to_string(value).unwrap_or_default();
    socket.send(Message::Text(text.into())).await
}

/// Carries out an agent's command; the error says why it was refused.
async fn obey(state: &AppState, agent: &Agent, text: &str) -> Result<(), String> {
    let command: Command = body::parse(text.as_bytes()).map_err(|problem| problem.detail)?;
    let refused = |error: crate::routing::RoutingError| error.to_string();
    match command {
        Command::Accept { contact } => state
            .acd
            .answer(&ContactId(contact), &agent.user_id, Answer::Accept)
            .await
            .map_err(refused),
        Command::Decline { contact } => state
            .acd
            .answer(&ContactId(contact), &agent.user_id, Answer::Decline)
            .await
            .map_err(refused),
        Command::End { contact } => {
            let id = ContactId(contact);
            let live = state.acd.contact(&id).await.map_err(refused)?;
            if live.and_then(|l| l.agent_user).as_deref() != Some(agent.user_id.as_str()) {
                return Err(format!("contact {id} is not yours to end"));
            }
            state.acd.end(&id).await.map_err(refused)
        }
        Command::State {
            state: name,
            reason,
        } => {
            let presence = match (name.as_str(), reason) {
                ("ready", _) => Presence::Ready,
                ("wrap_up_done", _) => Presence::WrapUpDone,
                ("not_ready", Some(reason)) if (1..=64).contains(&reason.trim().len()) => {
                    Presence::NotReady {
                        reason: reason.trim().to_owned(),
                    }
                }
                ("not_ready", _) => {
                    return Err(
                        "`reason`: not_ready needs a reason of 1 to 64 characters".to_owned()
                    );
                }
                (other, _) => {
                    return Err(format!(
                        "`state`: {other:?} is not one of ready, not_ready, wrap_up_done"
                    ));
                }
            };
            state
                .acd
                .set_state(&agent.tenant_id, &agent.extension, presence)
                .await
                .map(|_| ())
                .map_err(refused)
        }
    }
}
