//! Web chat: visitors in a site's widget talk to agents, routed by the one
//! ACD as contacts of channel `chat`. The protocol (frames, parsing, rate
//! limits) is the `kefu-chat` crate and `docs/chat-protocol.md`; this module
//! joins it to the store, the ACD and the WebSockets.
//!
//! - **Nothing is lost.** A message is numbered and committed
//!   ([`Store::append_chat_message`]) before the sender gets its `ack`; a
//!   resent client id is stored once and acknowledged again; a client that
//!   reconnects names the last sequence number it saw and gets the rest
//!   from the store.
//! - **A conversation outlives connections and restarts.** Its state is in
//!   the store; [`conversation`] routes it as an ACD contact and follows
//!   that contact's updates in a task of its own, not in a connection. A
//!   visitor whose last connection closes while still waiting is abandoned
//!   after [`conversation::ABANDON_GRACE`] (a reload is not leaving). When
//!   kefu starts, every conversation still open is routed again ([`start`]):
//!   its contact continues when kefu was killed and left it open, else as
//!   a new contact of the same conversation; history stays whole and an
//!   agent takes it up.
//! - **Sides.** [`visitor`] serves the widget's WebSocket, [`agent`] the
//!   `chat_*` commands and events on the agent WebSocket, [`hub`] the live
//!   fan-out between them, [`identity`] visitor tokens and site JWTs,
//!   [`admin`] channels and canned responses through the API,
//!   [`transcript`] `GET /api/v1/contacts/{id}/messages`, [`uploads`]
//!   images and PDFs sent in chats, [`assets`] the widget and the minimal
//!   agent page as static files.
//!
//! Live fan-out is per node: with several kefu nodes, a visitor and the
//! agent must be connected to the same one (sticky load balancing).

pub mod admin;
pub mod agent;
pub mod assets;
pub mod conversation;
pub mod hub;
pub mod identity;
pub mod transcript;
pub mod uploads;
pub mod visitor;

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use hmac::{Hmac, Mac};
use kefu_chat::limit::RateLimit;
use sha2::Sha256;
use tokio::sync::watch;

use crate::http::AppState;
use crate::routing::AcdHandle;
use crate::store::{Appended, Millis, NewChatMessage, Sender, Store, StoreError, UploadRef};
use hub::{Event, Hub};

/// Messages per second one address may send, over all its connections.
const PER_IP_PER_SECOND: u32 = 20;
const PER_IP_BURST: u32 = 40;

/// The chat service: cheap to clone, shared by every connection.
#[derive(Clone)]
pub struct Chat {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    acd: AcdHandle,
    hub: Hub,
    per_ip: Mutex<HashMap<IpAddr, RateLimit>>,
    /// Conversations waiting, with no contact, for their closed queue to open.
    closed: Mutex<HashSet<String>>,
    /// (tenant, queue) → whether an agent is available, and until when that holds.
    availability: Mutex<HashMap<(String, String), (bool, Instant)>>,
    stopping: watch::Sender<bool>,
    /// Signs the download URLs of chat files.
    upload_key: [u8; 32],
}

/// The chat's public endpoints (no bearer-token layer: visitors have none).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/chat/ws", get(visitor::connect))
        .route(
            "/chat/uploads",
            post(uploads::upload)
                .options(uploads::preflight)
                .layer(DefaultBodyLimit::max(uploads::MAX_UPLOAD_BYTES + 1)),
        )
        .route("/chat/uploads/{id}", get(uploads::download))
}

/// Starts the chat service and routes again every conversation left open
/// (by a restart); each one waits [`conversation::ABANDON_GRACE`] for its
/// visitor to come back.
pub async fn start(store: Store, acd: AcdHandle) -> Result<Chat, StoreError> {
    let upload_key = store.server_secret("chat-uploads").await?;
    let chat = Chat {
        inner: Arc::new(Inner {
            store,
            acd,
            hub: Hub::default(),
            per_ip: Mutex::new(HashMap::new()),
            closed: Mutex::new(HashSet::new()),
            availability: Mutex::new(HashMap::new()),
            stopping: watch::channel(false).0,
            upload_key,
        }),
    };
    tokio::spawn(conversation::route_when_open(chat.clone()));
    let open = chat.store().open_conversations().await?;
    if !open.is_empty() {
        tracing::info!(
            conversations = open.len(),
            "routing open chat conversations again"
        );
    }
    for conversation in open {
        if let Err(error) = conversation::resume(&chat, &conversation).await {
            tracing::warn!(conversation = %conversation.id, %error,
                "cannot route an open chat conversation again; ending it");
            conversation::finish(&chat, &conversation.id, "unavailable", None).await;
            continue;
        }
        conversation::abandon_unless_visitor_returns(&chat, &conversation.id);
    }
    Ok(chat)
}

impl Chat {
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn acd(&self) -> &AcdHandle {
        &self.inner.acd
    }

    pub fn hub(&self) -> &Hub {
        &self.inner.hub
    }

    /// Closes visitor connections (kefu is stopping); conversations stay open.
    pub fn stop(&self) {
        self.inner.stopping.send_replace(true);
    }

    /// Turns true when kefu stops.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.inner.stopping.subscribe()
    }

    fn closed(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.inner
            .closed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The conversation waits for its closed queue to open.
    pub fn wait_for_opening(&self, conversation: &str) {
        self.closed().insert(conversation.to_owned());
    }

    /// The conversations waiting for their closed queue to open.
    pub fn waiting_for_opening(&self) -> Vec<String> {
        self.closed().iter().cloned().collect()
    }

    /// The conversation no longer waits for its queue to open.
    pub fn opened(&self, conversation: &str) {
        self.closed().remove(conversation);
    }

    /// Whether an agent of the queue was available, if that is fresh at `now`.
    pub fn known_availability(&self, tenant: &str, queue: &str, now: Instant) -> Option<bool> {
        let known = self
            .inner
            .availability
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        known
            .get(&(tenant.to_owned(), queue.to_owned()))
            .and_then(|&(available, until)| (now < until).then_some(available))
    }

    /// Remembers whether an agent of the queue is available, until `until`.
    pub fn remember_availability(
        &self,
        tenant: &str,
        queue: &str,
        available: bool,
        until: Instant,
    ) {
        self.inner
            .availability
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((tenant.to_owned(), queue.to_owned()), (available, until));
    }

    /// Stores a message (the commit point of an `ack`) and, unless it is a
    /// duplicate, tells both sides.
    pub async fn post(
        &self,
        conversation_id: &str,
        sender: Sender<'_>,
        client_id: Option<&str>,
        body: &str,
        internal: bool,
        upload_id: Option<&str>,
    ) -> Result<Appended, StoreError> {
        let appended = self
            .store()
            .append_chat_message(&NewChatMessage {
                conversation_id,
                sender,
                client_id,
                internal,
                body,
                upload_id,
                at: Millis::now(),
            })
            .await?;
        if !appended.duplicate {
            self.hub()
                .publish(conversation_id, Event::Message(appended.message.clone()));
        }
        Ok(appended)
    }

    fn upload_mac(&self, id: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.inner.upload_key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
        mac.update(b"kefu-chat-upload.");
        mac.update(id.as_bytes());
        mac
    }

    /// The signed URL (path and query) of a chat file.
    pub fn upload_url(&self, id: &str) -> String {
        let sig = hex::encode(self.upload_mac(id).finalize().into_bytes());
        format!("/api/v1/chat/uploads/{id}?sig={sig}")
    }

    /// Whether `sig` is the signature of the file's URL.
    pub fn upload_signature_valid(&self, id: &str, sig: &str) -> bool {
        hex::decode(sig).is_ok_and(|tag| self.upload_mac(id).verify_slice(&tag).is_ok())
    }

    /// The JSON of a message's file for the sides, with its URL.
    pub fn upload_json(&self, upload: &UploadRef) -> serde_json::Value {
        serde_json::json!({
            "id": upload.id,
            "content_type": upload.content_type,
            "size_bytes": upload.size_bytes,
            "url": self.upload_url(&upload.id),
        })
    }

    /// Takes one message from `ip`'s allowance: `Err` says how long to wait.
    pub fn check_ip(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut limits = self
            .inner
            .per_ip
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if limits.len() > 10_000 {
            limits.retain(|_, limit| !limit.is_idle(now));
        }
        limits
            .entry(ip)
            .or_insert_with(|| RateLimit::new(PER_IP_PER_SECOND, PER_IP_BURST, now))
            .check(now)
    }
}
