//! A conversation's life with the ACD: [`open`] stores it and [`route`]s it
//! as a contact of channel `chat`; a task per contact follows the ACD's
//! updates — place in line, the agent who took it, the end — storing what
//! the transcript keeps (an agent joined, the chat ended) and telling both
//! sides through the hub. [`leave`] is the visitor going away on purpose;
//! [`abandon_unless_visitor_returns`] the visitor's last connection closing
//! while still waiting.

use std::time::Duration;

use kefu_chat::PreChat;

use super::Chat;
use super::hub::Event;
use super::identity::VerifiedCustomer;
use crate::routing::{
    Channel, ContactId, ContactRequest, ContactUpdate, ContactUpdates, Enqueued, RoutingError,
};
use crate::store::{ChatChannel, Conversation, Millis, NewConversation, Sender, StoreError};
use kefu_acd::QueueExit;

/// How long a waiting conversation keeps its place after the visitor's last
/// connection closed (a page reload, a network change) before it counts as
/// abandoned.
pub const ABANDON_GRACE: Duration = Duration::from_secs(15);

/// Why a conversation could not start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("`topic`: {0:?} is not one of this channel's topics ({1})")]
    Topic(String, String),
    #[error("nobody can take chats right now: {0}")]
    Routing(#[from] RoutingError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Stores a new conversation of the visitor and routes it; the queue is the
/// pre-chat topic when the channel offers it, else the channel's first.
pub async fn open(
    chat: &Chat,
    channel: &ChatChannel,
    visitor_id: &str,
    customer: Option<&VerifiedCustomer>,
    form: &PreChat,
) -> Result<Conversation, OpenError> {
    let topic = form
        .topic
        .as_ref()
        .map(|t| t.as_str())
        .filter(|t| !t.is_empty());
    let queue = match topic {
        Some(topic) => channel.queue_names().find(|q| *q == topic).ok_or_else(|| {
            OpenError::Topic(
                topic.to_owned(),
                channel.queue_names().collect::<Vec<_>>().join(", "),
            )
        })?,
        None => channel.queue_names().next().unwrap_or("support"),
    };
    let form_value = |value: &Option<kefu_chat::Short>| {
        value
            .as_ref()
            .map(|v| v.as_str().to_owned())
            .filter(|v| !v.is_empty())
    };
    let name = form_value(&form.name).or_else(|| customer.and_then(|c| c.name.clone()));
    let email = form_value(&form.email).or_else(|| customer.and_then(|c| c.email.clone()));
    let conversation = chat
        .store()
        .create_conversation(&NewConversation {
            tenant_id: &channel.tenant_id,
            channel_id: &channel.id,
            visitor_id,
            customer_id: customer.map(|c| c.id.as_str()),
            visitor_name: name.as_deref(),
            visitor_email: email.as_deref(),
            queue,
            at: Millis::now(),
        })
        .await?;
    if let Err(error) = route(chat, &conversation).await {
        chat.store()
            .end_conversation(&conversation.id, Millis::now(), Some("unavailable"))
            .await?;
        return Err(error.into());
    }
    tracing::info!(conversation = %conversation.id, queue, "chat conversation opened");
    Ok(chat.store().conversation(&conversation.id).await?)
}

/// Routes the conversation as a new ACD contact and follows it.
pub async fn route(chat: &Chat, conversation: &Conversation) -> Result<(), RoutingError> {
    route_for(chat, conversation, None).await
}

/// Routes a conversation left open by a restart: its contact continues
/// when its row is still open (kefu was killed), so reports count it once;
/// else it is routed as a new contact.
pub async fn resume(chat: &Chat, conversation: &Conversation) -> Result<(), RoutingError> {
    let Some(contact) = conversation.contact_id.as_deref() else {
        return route(chat, conversation).await;
    };
    let enqueued = chat
        .acd()
        .resume(contact, request(conversation, None))
        .await?;
    follow_contact(chat, conversation, enqueued).await
}

/// The ACD request that routes the conversation, for the agent with this
/// extension first if any.
fn request(conversation: &Conversation, agent: Option<&str>) -> ContactRequest {
    let customer = conversation
        .customer_id
        .clone()
        .unwrap_or_else(|| conversation.visitor_id.clone());
    ContactRequest {
        tenant: conversation.tenant_id.clone(),
        channel: Channel::Chat,
        queue: conversation.queue.clone(),
        priority: 0,
        skills: Vec::new(),
        customer: Some(customer),
        call_id: None,
        preferred_agent: agent.map(|extension| (extension.to_owned(), AGENT_TRANSFER_WAIT)),
    }
}

/// Routes the conversation as a new ACD contact for any agent of its queue
/// or, first, for the agent with this extension.
async fn route_for(
    chat: &Chat,
    conversation: &Conversation,
    agent: Option<&str>,
) -> Result<(), RoutingError> {
    let enqueued = chat.acd().enqueue(request(conversation, agent)).await?;
    follow_contact(chat, conversation, enqueued).await
}

/// Makes the contact the conversation's and follows its updates.
async fn follow_contact(
    chat: &Chat,
    conversation: &Conversation,
    enqueued: Enqueued,
) -> Result<(), RoutingError> {
    chat.store()
        .attach_chat_contact(&conversation.id, &enqueued.id.0)
        .await?;
    chat.hub().set_contact(&conversation.id, &enqueued.id.0);
    tokio::spawn(follow(
        chat.clone(),
        conversation.id.clone(),
        enqueued.id,
        enqueued.updates,
    ));
    Ok(())
}

/// Turns the contact's updates into the conversation's events.
async fn follow(chat: Chat, conversation: String, contact: ContactId, mut updates: ContactUpdates) {
    while let Some(update) = updates.next().await {
        // After a transfer the conversation has a new contact; the old one's
        // end is the end of the agent's part, not of the conversation.
        if chat.hub().standing(&conversation).contact.as_deref() != Some(contact.0.as_str()) {
            continue;
        }
        match update {
            ContactUpdate::Waiting {
                position,
                expected_wait,
            } => chat.hub().publish(
                &conversation,
                Event::Waiting {
                    position,
                    expected_wait_secs: expected_wait.as_secs(),
                },
            ),
            ContactUpdate::Answered { agent, .. } => {
                if let Err(error) = chat
                    .store()
                    .set_conversation_agent(&conversation, &agent.user_id)
                    .await
                {
                    tracing::warn!(%conversation, %error, "cannot store the chat's agent");
                }
                chat.hub()
                    .set_agent(&conversation, &agent.user_id, &agent.display_name);
                let joined = format!("{} joined the chat", agent.display_name);
                if let Err(error) = chat
                    .post(&conversation, Sender::System, None, &joined, false, None)
                    .await
                {
                    tracing::warn!(%conversation, %error, "cannot store that the agent joined");
                }
                chat.hub().publish(
                    &conversation,
                    Event::AgentJoined {
                        name: agent.display_name,
                    },
                );
                tracing::info!(%conversation, %contact, agent = %agent.extension, "chat answered");
            }
            ContactUpdate::TimedOut {
                reason: QueueExit::Closed,
                ..
            } => wait_for_opening(&chat, &conversation),
            ContactUpdate::TimedOut { .. } => {
                finish(&chat, &conversation, "timed_out", None).await;
            }
            ContactUpdate::Abandoned { .. } => {
                finish(&chat, &conversation, "abandoned", None).await;
            }
            ContactUpdate::Ended { .. } => {
                finish(&chat, &conversation, "ended", None).await;
            }
            ContactUpdate::Offered(_)
            | ContactUpdate::OfferEnded { .. }
            | ContactUpdate::Overflowed { .. } => {}
        }
    }
}

/// Ends the conversation (once: the transcript gets a closing line and the
/// disposition) and tells both sides.
pub async fn finish(
    chat: &Chat,
    conversation: &str,
    reason: &'static str,
    disposition: Option<&str>,
) {
    let open = matches!(chat.store().conversation(conversation).await, Ok(c) if c.state == "open");
    if open {
        let _ = chat
            .post(
                conversation,
                Sender::System,
                None,
                "The chat has ended.",
                false,
                None,
            )
            .await;
        if let Err(error) = chat
            .store()
            .end_conversation(conversation, Millis::now(), disposition.or(Some(reason)))
            .await
        {
            tracing::warn!(%conversation, %error, "cannot store the end of a chat");
        }
    }
    chat.opened(conversation);
    chat.hub().publish(conversation, Event::Ended { reason });
    chat.hub().forget(conversation);
    tracing::info!(%conversation, reason, "chat conversation ended");
}

/// How long a chat transferred to an agent waits for them (ready, with
/// room) before any agent of its queue may take it.
pub const AGENT_TRANSFER_WAIT: Duration = Duration::from_secs(60);

/// Where a chat is transferred: a queue, an agent (by extension) who serves
/// it, or both.
#[derive(Debug, Clone, Copy)]
pub struct TransferTarget<'a> {
    /// The queue (none: the conversation's own).
    pub queue: Option<&'a str>,
    /// The agent it is for, first.
    pub agent: Option<&'a str>,
}

/// Hands the conversation to another queue or agent: the agent's contact
/// ends (they wrap up, so the chat is not offered straight back to them)
/// and the conversation is routed as a new contact with its history — for
/// the named agent first when there is one (the ACD offers it to them
/// while they are able, up to [`AGENT_TRANSFER_WAIT`], then to the queue).
/// The visitor waits again. Refused, changing nothing, when the tenant has
/// no such queue or no such agent serving it.
pub async fn transfer(
    chat: &Chat,
    conversation: &Conversation,
    from: &ContactId,
    to: TransferTarget<'_>,
) -> Result<(), RoutingError> {
    let queue = to.queue.unwrap_or(&conversation.queue);
    let queues = chat.acd().queues(&conversation.tenant_id).await?;
    if !queues.iter().any(|q| q.name == queue) {
        return Err(RoutingError::UnknownQueue(queue.to_owned()));
    }
    let moved = Conversation {
        queue: queue.to_owned(),
        ..conversation.clone()
    };
    let before = chat.hub().standing(&conversation.id);
    // From here the old contact's updates are not the conversation's.
    chat.hub().release_contact(&conversation.id);
    if let Some(agent) = to.agent {
        // The ACD checks the agent as it takes the contact: refused, the
        // old contact goes on as it was.
        if let Err(error) = route_for(chat, &moved, Some(agent)).await {
            chat.hub().set_contact(&conversation.id, &from.0);
            if let Some((user_id, name)) = before.agent {
                chat.hub().set_agent(&conversation.id, &user_id, &name);
            }
            return Err(error);
        }
    }
    if let Err(error) = chat.acd().end(from).await {
        tracing::warn!(conversation = %conversation.id, contact = %from, %error,
            "cannot end the transferred contact");
    }
    chat.store()
        .set_conversation_queue(&conversation.id, queue)
        .await?;
    let note = match to.agent {
        Some(agent) => format!("The chat was transferred to agent {agent} ({queue})."),
        None => format!("The chat was transferred to {queue}."),
    };
    let _ = chat
        .post(&conversation.id, Sender::System, None, &note, false, None)
        .await;
    if to.agent.is_none() {
        if let Err(error) = route(chat, &moved).await {
            tracing::warn!(conversation = %conversation.id, queue, %error,
                "cannot route a transferred chat; ending it");
            finish(chat, &conversation.id, "unavailable", None).await;
            return Err(error);
        }
    }
    tracing::info!(conversation = %conversation.id, queue, agent = ?to.agent, "chat transferred");
    Ok(())
}

/// The visitor ends the conversation: a waiting contact is abandoned, an
/// answered one ended (the agent wraps up).
pub async fn leave(chat: &Chat, conversation: &str) {
    let standing = chat.hub().standing(conversation);
    let routed = match standing.contact {
        Some(contact) => {
            let contact = ContactId(contact);
            if standing.agent.is_none() {
                chat.acd().abandon(&contact).await
            } else {
                chat.acd().end(&contact).await
            }
        }
        None => Err(RoutingError::Refused("no contact".to_owned())),
    };
    if routed.is_err() {
        finish(chat, conversation, "left", None).await;
    }
}

/// How long an answer of [`available`] is reused: the ACD computes every
/// queue's figures for it, in its one task, so it is not asked for each
/// message and each visitor that connects.
pub const AVAILABILITY_FRESH: Duration = Duration::from_secs(1);

/// Whether the queue is open (by its business hours) and an agent of it is
/// logged in and ready (or busy, with room maybe): if not, what the visitor
/// writes is a message left. At most [`AVAILABILITY_FRESH`] old.
pub async fn available(chat: &Chat, tenant: &str, queue: &str) -> bool {
    let now = std::time::Instant::now();
    if let Some(known) = chat.known_availability(tenant, queue, now) {
        return known;
    }
    let available = chat.acd().queues(tenant).await.is_ok_and(|queues| {
        queues
            .iter()
            .any(|q| q.name == queue && q.open && q.agents_available > 0)
    });
    chat.remember_availability(tenant, queue, available, now + AVAILABILITY_FRESH);
    available
}

/// The conversation's queue is closed (its business hours): the contact
/// ended as it arrived, and the conversation waits, open and with no
/// contact, like a message left, until [`route_when_open`] finds the queue
/// open again.
fn wait_for_opening(chat: &Chat, conversation: &str) {
    chat.hub().release_contact(conversation);
    chat.wait_for_opening(conversation);
    tracing::info!(%conversation, "chat queue closed; the conversation waits for it to open");
}

/// How often conversations waiting for a closed queue look whether it opened.
pub const OPENING_CHECK: Duration = Duration::from_secs(5);

/// Routes again, every [`OPENING_CHECK`], the conversations whose queue was
/// closed and has opened: one look at the queues per tenant. One whose
/// visitor neither left a message nor is still connected is abandoned
/// instead.
pub async fn route_when_open(chat: Chat) {
    let mut stopping = chat.stopping();
    let mut tick = tokio::time::interval(OPENING_CHECK);
    loop {
        tokio::select! {
            _ = stopping.changed() => return,
            _ = tick.tick() => {}
        }
        let waiting = chat.waiting_for_opening();
        if waiting.is_empty() {
            continue;
        }
        let mut open_queues: std::collections::HashMap<String, Vec<String>> =
            std::collections::HashMap::new();
        for id in waiting {
            let Ok(conversation) = chat.store().conversation(&id).await else {
                continue;
            };
            if conversation.state != "open" {
                chat.opened(&id);
                continue;
            }
            if !open_queues.contains_key(&conversation.tenant_id) {
                let open = match chat.acd().queues(&conversation.tenant_id).await {
                    Ok(queues) => queues
                        .into_iter()
                        .filter(|q| q.open)
                        .map(|q| q.name)
                        .collect(),
                    Err(_) => Vec::new(),
                };
                open_queues.insert(conversation.tenant_id.clone(), open);
            }
            if !open_queues[&conversation.tenant_id].contains(&conversation.queue) {
                continue;
            }
            chat.opened(&id);
            if conversation.message_left == 0 && chat.hub().standing(&id).visitors == 0 {
                finish(&chat, &id, "abandoned", None).await;
                continue;
            }
            tracing::info!(conversation = %id, queue = %conversation.queue, "chat queue open again; routing the conversation");
            if let Err(error) = route(&chat, &conversation).await {
                tracing::warn!(conversation = %id, %error, "cannot route a chat whose queue opened; ending it");
                finish(&chat, &id, "unavailable", None).await;
            }
        }
    }
}

/// Abandons the conversation after [`ABANDON_GRACE`] if by then no visitor
/// connection is open, no agent took it and it is not a message left.
pub fn abandon_unless_visitor_returns(chat: &Chat, conversation: &str) {
    let chat = chat.clone();
    let conversation = conversation.to_owned();
    tokio::spawn(async move {
        tokio::time::sleep(ABANDON_GRACE).await;
        let standing = chat.hub().standing(&conversation);
        if standing.visitors > 0 || standing.agent.is_some() {
            return;
        }
        let left = chat.store().conversation(&conversation).await;
        if left.is_ok_and(|c| c.message_left != 0) {
            return;
        }
        if let Some(contact) = standing.contact {
            tracing::info!(%conversation, "chat visitor gone while waiting: abandoned");
            let _ = chat.acd().abandon(&ContactId(contact)).await;
        }
    });
}
