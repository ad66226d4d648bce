//! The visitor's WebSocket, `GET /api/v1/chat/ws?channel=NAME`: the widget's
//! one connection (protocol in `docs/chat-protocol.md`). The upgrade is
//! refused when the channel is unknown (404) or the page's `Origin` is not
//! among the channel's allowed sites (403). The first frame must be `hello`;
//! the server answers `welcome` (identity, open conversation) and replays
//! every message after the client's `last_seq`. Then messages are acked once
//! stored, typing and read marks pass through, and the server sends a
//! WebSocket ping every [`HEARTBEAT`]; a connection silent for
//! [`IDLE_TIMEOUT`] is closed as dead.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use kefu_chat::limit::RateLimit;
use kefu_chat::{ErrorCode, Frame, ParseError, PreChat, parse_visitor_frame};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::hub::{Event, Side};
use super::identity::{self, VerifiedCustomer};
use super::{Chat, conversation};
use crate::http::AppState;
use crate::http::problem::Problem;
use crate::store::{ChatChannel, ChatMessage, Conversation, Reader, Sender};

/// The server pings this often.
pub const HEARTBEAT: Duration = Duration::from_secs(20);
/// A connection that sends nothing (not even a pong) for this long is dead.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The visitor id of a verified customer is this and the customer id.
const VERIFIED_PREFIX: &str = "customer:";
/// The `hello` must come within this.
const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// Frames above this close the connection (1009); smaller ones over the
/// protocol's limit get an `error` frame.
const MAX_WS_MESSAGE: usize = 64 * 1024;
/// Read and write buffers of a visitor's socket: chat frames are small, and
/// the WebSocket defaults (128 KiB each) would cost ~250 KiB per visitor.
const SOCKET_BUFFER: usize = 4 * 1024;
/// Messages per second on one connection.
const PER_CONNECTION_PER_SECOND: u32 = 5;
const PER_CONNECTION_BURST: u32 = 10;

/// Which channel the widget belongs to.
#[derive(Debug, Deserialize)]
pub struct ChatWsQuery {
    pub channel: Option<String>,
}

/// Upgrades a visitor's request to the chat WebSocket.
#[utoipa::path(get, path = "/api/v1/chat/ws", tag = "chat",
    params(("channel" = String, Query, description = "the chat channel's name (the widget's data-channel)")),
    responses((status = 101, description = "switching to the visitor chat WebSocket"),
        (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn connect(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Query(query): Query<ChatWsQuery>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let Some(name) = query.channel.filter(|c| !c.is_empty()) else {
        return Problem::new(
            axum::http::StatusCode::BAD_REQUEST,
            "`channel`: missing; connect to /api/v1/chat/ws?channel=NAME",
        )
        .into_response();
    };
    let channel = match state.chat.store().chat_channel_by_name(&name).await {
        Ok(Some(channel)) => channel,
        Ok(None) => return Problem::not_found(format!("no chat channel `{name}`")).into_response(),
        Err(error) => return Problem::from(error).into_response(),
    };
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        if !origin_allowed(&channel, origin, host) {
            tracing::info!(channel = %channel.name, origin, "chat connection from a site not allowed");
            return Problem::forbidden(format!(
                "Origin `{origin}` may not open chat channel `{}`; add it to the channel's allowed origins",
                channel.name
            ))
            .into_response();
        }
    }
    let chat = state.chat.clone();
    upgrade
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(SOCKET_BUFFER)
        .max_message_size(MAX_WS_MESSAGE)
        .max_frame_size(MAX_WS_MESSAGE)
        .on_upgrade(move |socket| serve(socket, chat, channel, addr.ip()))
}

/// Whether a page at `origin` may chat on the channel: the channel allows
/// any site (no list), lists it, or it is kefu's own site (the demo page).
/// Clients that send no `Origin` are not browsers and are let through.
pub(super) fn origin_allowed(channel: &ChatChannel, origin: &str, host: &str) -> bool {
    let mut listed = channel.origins().peekable();
    if listed.peek().is_none() {
        return true;
    }
    let own = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|rest| !host.is_empty() && rest.eq_ignore_ascii_case(host));
    own || listed.any(|allowed| allowed.eq_ignore_ascii_case(origin.trim_end_matches('/')))
}

/// One visitor connection.
struct Connection {
    socket: WebSocket,
    chat: Chat,
    channel: ChatChannel,
    ip: IpAddr,
    visitor_id: String,
    customer: Option<VerifiedCustomer>,
    /// The open conversation this connection follows.
    conversation: Option<Conversation>,
    events: Option<broadcast::Receiver<Event>>,
    /// The highest sequence number sent to the client.
    sent_seq: i64,
    limit: RateLimit,
    typing_limit: RateLimit,
    names: HashMap<String, String>,
}

/// Ends the connection: the socket is gone or must be closed.
struct Closed;

async fn serve(mut socket: WebSocket, chat: Chat, channel: ChatChannel, ip: IpAddr) {
    let Some((token, identity, last_seq)) = await_hello(&mut socket).await else {
        return;
    };
    let mut visitor_id = None;
    if let Some(token) = token {
        match identity::verify_visitor_token(&channel, &token) {
            // A verified customer is who their site's JWT says, every time.
            Ok(id) if id.starts_with(VERIFIED_PREFIX) && identity.is_none() => {}
            Ok(id) => visitor_id = Some(id),
            Err(error) => {
                if send_error(&mut socket, ErrorCode::BadField, &error.to_string(), None)
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
    }
    let mut customer = None;
    if let Some(jwt) = identity {
        match identity::verify_identity(&channel, &jwt) {
            Ok(verified) => {
                visitor_id = Some(format!("{VERIFIED_PREFIX}{}", verified.id));
                customer = Some(verified);
            }
            Err(error) => {
                let _ =
                    send_error(&mut socket, ErrorCode::BadField, &error.to_string(), None).await;
                close(&mut socket, 1008, "identity refused").await;
                return;
            }
        }
    }
    let visitor_id = visitor_id.unwrap_or_else(crate::store::new_id);
    let now = Instant::now();
    let mut connection = Connection {
        socket,
        chat: chat.clone(),
        channel,
        ip,
        visitor_id,
        customer,
        conversation: None,
        events: None,
        sent_seq: 0,
        limit: RateLimit::new(PER_CONNECTION_PER_SECOND, PER_CONNECTION_BURST, now),
        typing_limit: RateLimit::new(2, 5, now),
        names: HashMap::new(),
    };
    if connection.welcome(last_seq).await.is_ok() {
        connection.run().await;
    }
    connection.detach();
}

/// Waits for the `hello`, answering other frames with an error.
async fn await_hello(socket: &mut WebSocket) -> Option<(Option<String>, Option<String>, u64)> {
    let deadline = tokio::time::Instant::now() + HELLO_TIMEOUT;
    loop {
        let received = tokio::time::timeout_at(deadline, socket.recv()).await;
        let text = match received {
            Err(_) => {
                close(socket, 1008, "no hello").await;
                return None;
            }
            Ok(Some(Ok(Message::Text(text)))) => text,
            Ok(Some(Ok(Message::Close(_)) | Err(_)) | None) => return None,
            Ok(Some(Ok(_))) => continue,
        };
        let error = match parse_visitor_frame(text.as_bytes()) {
            Ok(Frame::Hello {
                token,
                identity,
                last_seq,
                ..
            }) => return Some((token, identity, last_seq)),
            Ok(_) => ParseError {
                code: ErrorCode::BadField,
                detail: "`type`: the first frame must be hello".to_owned(),
            },
            Err(error) => error,
        };
        if send_error(socket, error.code, &error.detail, None)
            .await
            .is_err()
        {
            return None;
        }
    }
}

impl Connection {
    async fn send(&mut self, value: &Value) -> Result<(), Closed> {
        send(&mut self.socket, value).await
    }

    /// `welcome`, then what the client missed and where the conversation stands.
    async fn welcome(&mut self, last_seq: u64) -> Result<(), Closed> {
        let open = self
            .chat
            .store()
            .open_conversation_of(&self.channel.id, &self.visitor_id)
            .await
            .ok()
            .flatten();
        self.sent_seq = i64::try_from(last_seq).unwrap_or(i64::MAX);
        let token = identity::visitor_token(&self.channel, &self.visitor_id);
        let queue = match &open {
            Some(open) => open.queue.clone(),
            None => self
                .channel
                .queue_names()
                .next()
                .unwrap_or_default()
                .to_owned(),
        };
        let welcome = json!({
            "type": "welcome",
            "v": kefu_chat::VERSION,
            "visitor": self.visitor_id,
            "token": token,
            "available": conversation::available(&self.chat, &self.channel.tenant_id, &queue).await,
            "conversation": open.as_ref().map(|c| self.conversation_json(c)),
        });
        self.send(&welcome).await?;
        if let Some(open) = open {
            self.attach(open).await?;
        }
        Ok(())
    }

    fn conversation_json(&self, conversation: &Conversation) -> Value {
        let standing = self.chat.hub().standing(&conversation.id);
        json!({
            "id": conversation.id,
            "state": conversation.state,
            "queue": conversation.queue,
            "last_seq": conversation.last_seq,
            "agent_read_seq": conversation.agent_read_seq,
            "agent": standing.agent.map(|(_, name)| name),
            "message_left": conversation.message_left != 0,
        })
    }

    /// Follows an open conversation: subscribes, then replays from the store.
    async fn attach(&mut self, conversation: Conversation) -> Result<(), Closed> {
        self.events = Some(self.chat.hub().subscribe(&conversation.id));
        self.chat.hub().visitor_joined(&conversation.id);
        let id = conversation.id.clone();
        self.conversation = Some(conversation);
        self.catch_up(&id).await?;
        let standing = self.chat.hub().standing(&id);
        if let Some((position, expected_wait_secs)) = standing.waiting {
            self.send(&json!({"type": "waiting", "position": position, "expected_wait_secs": expected_wait_secs}))
                .await?;
        }
        if let Some((_, name)) = standing.agent {
            self.send(&json!({"type": "agent", "name": name})).await?;
        }
        Ok(())
    }

    /// Sends every stored message after the last one sent.
    async fn catch_up(&mut self, conversation: &str) -> Result<(), Closed> {
        let missed = match self
            .chat
            .store()
            .chat_messages_after(conversation, self.sent_seq, false)
            .await
        {
            Ok(missed) => missed,
            Err(error) => {
                let detail = format!("cannot read the conversation: {error}");
                return send_error(&mut self.socket, "unavailable", &detail, None).await;
            }
        };
        for message in missed {
            self.send_message(&message).await?;
        }
        Ok(())
    }

    async fn send_message(&mut self, message: &ChatMessage) -> Result<(), Closed> {
        if message.internal || message.seq <= self.sent_seq {
            return Ok(());
        }
        let name = match &message.user_id {
            Some(user) => Some(self.agent_name(user).await),
            None => None,
        };
        self.sent_seq = message.seq;
        self.send(&json!({
            "type": "message",
            "seq": message.seq,
            "id": message.client_id,
            "from": message.sender,
            "name": name,
            "text": message.body,
            "upload": message.upload.as_ref().map(|u| self.chat.upload_json(u)),
            "at": message.created_at,
        }))
        .await
    }

    async fn agent_name(&mut self, user_id: &str) -> String {
        if let Some(name) = self.names.get(user_id) {
            return name.clone();
        }
        let name = match self.chat.store().user(user_id).await {
            Ok(user) => user.display_name,
            Err(_) => "Agent".to_owned(),
        };
        self.names.insert(user_id.to_owned(), name.clone());
        name
    }

    /// Stops following the conversation (connection closed or chat ended).
    fn detach(&mut self) {
        self.events = None;
        if let Some(conversation) = self.conversation.take() {
            let hub = self.chat.hub();
            if hub.visitor_left(&conversation.id) == 0
                && hub.standing(&conversation.id).agent.is_none()
            {
                conversation::abandon_unless_visitor_returns(&self.chat, &conversation.id);
            }
        }
    }

    async fn run(&mut self) {
        let mut stopping = self.chat.stopping();
        let mut heartbeat = tokio::time::interval(HEARTBEAT);
        heartbeat.reset();
        let mut last_heard = tokio::time::Instant::now();
        loop {
            let event = async {
                match self.events.as_mut() {
                    Some(events) => events.recv().await,
                    None => std::future::pending().await,
                }
            };
            let outcome = tokio::select! {
                _ = stopping.changed() => {
                    close(&mut self.socket, 1001, "kefu is stopping").await;
                    return;
                }
                _ = tokio::time::sleep_until(last_heard + IDLE_TIMEOUT) => {
                    tracing::debug!(visitor = %self.visitor_id, "chat connection silent too long; closing");
                    close(&mut self.socket, 1001, "no heartbeat").await;
                    return;
                }
                _ = heartbeat.tick() => self.socket.send(Message::Ping(Default::default())).await.map_err(|_| Closed),
                event = event => self.relay(event).await,
                incoming = self.socket.recv() => {
                    last_heard = tokio::time::Instant::now();
                    match incoming {
                        Some(Ok(Message::Text(text))) => self.obey(text.as_bytes()).await,
                        Some(Ok(Message::Close(_)) | Err(_)) | None => Err(Closed),
                        Some(Ok(_)) => Ok(()),
                    }
                }
            };
            if outcome.is_err() {
                return;
            }
        }
    }

    /// Passes a conversation event on to the visitor.
    async fn relay(
        &mut self,
        event: Result<Event, broadcast::error::RecvError>,
    ) -> Result<(), Closed> {
        let event = match event {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(_)) => {
                let id = self.conversation.as_ref().map(|c| c.id.clone());
                return match id {
                    Some(id) => self.catch_up(&id).await,
                    None => Ok(()),
                };
            }
            Err(broadcast::error::RecvError::Closed) => {
                self.events = None;
                return Ok(());
            }
        };
        match event {
            // Stored in order, but published by concurrent tasks: a gap
            // means an earlier message (or a note) is in the store, not here.
            Event::Message(message) if message.seq > self.sent_seq + 1 => {
                match self.conversation.as_ref().map(|c| c.id.clone()) {
                    Some(id) => self.catch_up(&id).await,
                    None => Ok(()),
                }
            }
            Event::Message(message) => self.send_message(&message).await,
            Event::Typing {
                from: Side::Agent,
                active,
            } => self.send(&json!({"type": "typing", "from": "agent", "active": active})).await,
            Event::Read { by: Side::Agent, seq } => {
                self.send(&json!({"type": "read", "by": "agent", "seq": seq})).await
            }
            Event::Typing { .. } | Event::Read { .. } => Ok(()),
            Event::Waiting {
                position,
                expected_wait_secs,
            } => {
                self.send(&json!({"type": "waiting", "position": position, "expected_wait_secs": expected_wait_secs}))
                    .await
            }
            Event::AgentJoined { name } => self.send(&json!({"type": "agent", "name": name})).await,
            Event::Ended { reason } => {
                self.events = None;
                if let Some(conversation) = self.conversation.take() {
                    self.chat.hub().visitor_left(&conversation.id);
                    self.chat.hub().forget(&conversation.id);
                }
                self.send(&json!({"type": "ended", "reason": reason})).await
            }
        }
    }

    /// Carries out one frame of the visitor.
    async fn obey(&mut self, bytes: &[u8]) -> Result<(), Closed> {
        let frame = match parse_visitor_frame(bytes) {
            Ok(frame) => frame,
            Err(error) => {
                return send_error(&mut self.socket, error.code, &error.detail, None).await;
            }
        };
        match frame {
            Frame::Hello { .. } => {
                send_error(
                    &mut self.socket,
                    ErrorCode::BadField,
                    "`type`: hello was sent already",
                    None,
                )
                .await
            }
            Frame::Ping => self.send(&json!({"type": "pong"})).await,
            Frame::Start(form) => {
                if self.conversation.is_none() {
                    self.open(&form).await?;
                } else if let Some(open) = self.conversation.clone() {
                    let value = self.conversation_json(&open);
                    self.send(&json!({"type": "conversation", "conversation": value}))
                        .await?;
                }
                Ok(())
            }
            Frame::Message { id, text, upload } => {
                let now = Instant::now();
                let wait = self
                    .limit
                    .check(now)
                    .and_then(|()| self.chat.check_ip(self.ip, now));
                if let Err(wait) = wait {
                    return self
                        .send(&json!({
                            "type": "error",
                            "code": "rate_limited",
                            "detail": "too many messages; send this one again later",
                            "id": id.as_str(),
                            "retry_after_ms": u64::try_from(wait.as_millis()).unwrap_or(u64::MAX).max(1),
                        }))
                        .await;
                }
                if self.conversation.is_none() {
                    self.open(&PreChat::default()).await?;
                }
                let Some(conversation) = self.conversation.clone() else {
                    return Ok(());
                };
                let upload = upload.as_ref().map(|u| u.as_str());
                if let Some(upload) = upload {
                    let ours = self.chat.store().chat_upload(upload).await.ok();
                    if ours.is_none_or(|u| u.conversation_id != conversation.id) {
                        let detail = format!("`upload`: no file {upload} in this conversation");
                        return send_error(
                            &mut self.socket,
                            ErrorCode::BadField,
                            &detail,
                            Some(id.as_str()),
                        )
                        .await;
                    }
                }
                match self
                    .chat
                    .post(
                        &conversation.id,
                        Sender::Visitor,
                        Some(id.as_str()),
                        text.as_str(),
                        false,
                        upload,
                    )
                    .await
                {
                    Ok(appended) => {
                        self.send(&json!({
                            "type": "ack",
                            "id": id.as_str(),
                            "seq": appended.message.seq,
                            "duplicate": appended.duplicate,
                        }))
                        .await?;
                        self.left_message_unless_answered(&conversation).await
                    }
                    Err(error) => {
                        tracing::warn!(conversation = %conversation.id, %error, "cannot store a chat message");
                        let detail = format!("not stored ({error}); send it again");
                        send_error(&mut self.socket, "unavailable", &detail, Some(id.as_str()))
                            .await
                    }
                }
            }
            Frame::Typing { active } => {
                if let Some(conversation) = &self.conversation {
                    if self.typing_limit.check(Instant::now()).is_ok() {
                        self.chat.hub().publish(
                            &conversation.id,
                            Event::Typing {
                                from: Side::Visitor,
                                active,
                            },
                        );
                    }
                }
                Ok(())
            }
            Frame::Read { seq } => {
                if let Some(conversation) = &self.conversation {
                    let seq = i64::try_from(seq).unwrap_or(i64::MAX);
                    if self
                        .chat
                        .store()
                        .mark_chat_read(&conversation.id, Reader::Visitor, seq)
                        .await
                        .is_ok()
                    {
                        self.chat.hub().publish(
                            &conversation.id,
                            Event::Read {
                                by: Side::Visitor,
                                seq,
                            },
                        );
                    }
                }
                Ok(())
            }
            Frame::Leave => {
                if let Some(conversation) = self.conversation.clone() {
                    conversation::leave(&self.chat, &conversation.id).await;
                }
                Ok(())
            }
        }
    }

    /// A message written while no agent is available is a message left:
    /// the conversation then waits for an agent even when the visitor goes.
    async fn left_message_unless_answered(
        &mut self,
        conversation: &Conversation,
    ) -> Result<(), Closed> {
        if conversation.message_left != 0
            || self.chat.hub().standing(&conversation.id).agent.is_some()
        {
            return Ok(());
        }
        if conversation::available(&self.chat, &conversation.tenant_id, &conversation.queue).await {
            return Ok(());
        }
        if !matches!(
            self.chat.store().mark_message_left(&conversation.id).await,
            Ok(true)
        ) {
            return Ok(());
        }
        if let Some(open) = self.conversation.as_mut() {
            open.message_left = 1;
        }
        tracing::info!(conversation = %conversation.id, "chat message left while no agent is available");
        self.send(&json!({"type": "message_left"})).await
    }

    /// Starts a conversation and follows it.
    async fn open(&mut self, form: &PreChat) -> Result<(), Closed> {
        match conversation::open(
            &self.chat,
            &self.channel,
            &self.visitor_id,
            self.customer.as_ref(),
            form,
        )
        .await
        {
            Ok(opened) => {
                let value = self.conversation_json(&opened);
                self.send(&json!({"type": "conversation", "conversation": value}))
                    .await?;
                self.attach(opened).await
            }
            Err(error) => {
                let code = match error {
                    conversation::OpenError::Topic(..) => "bad_field",
                    _ => "unavailable",
                };
                self.send(&json!({"type": "error", "code": code, "detail": error.to_string()}))
                    .await
            }
        }
    }
}

async fn send(socket: &mut WebSocket, value: &Value) -> Result<(), Closed> {
    socket
        .send(Message::Text(value.to_string().into()))
        .await
        .map_err(|_| Closed)
}

async fn send_error(
    socket: &mut WebSocket,
    code: impl serde::Serialize,
    detail: &str,
    id: Option<&str>,
) -> Result<(), Closed> {
    let mut error = json!({"type": "error", "code": code, "detail": detail});
    if let Some(id) = id {
        error["id"] = json!(id);
    }
    send(socket, &error).await
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let _ = socket
        .send(Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        })))
        .await;
}
