//! The agent's side of chat, on the agent WebSocket `/api/v1/agent/ws`:
//! the `chat_*` commands (send, note, typing, read, history, end) on
//! conversations the agent has, and the `chat_*` events of those
//! conversations (messages, the visitor typing and reading, the end). Offers,
//! accept and decline are the ACD's own events and commands on the same
//! socket. An agent message whose whole text is `/shortcut` becomes the
//! tenant's canned response of that name.

use kefu_chat::{AgentCommand, ParseError, parse_agent_command};
use serde_json::{Value, json};

use super::hub::{AgentChatEvent, Event, Side};
use super::{Chat, conversation};
use crate::routing::ContactId;
use crate::store::{ChatMessage, Conversation, Millis, Reader, Sender};

/// Carries out a `chat_*` command of the agent who is `user_id`; `None`
/// when the frame is not one (the agent WebSocket handles it). The frames
/// returned go back to the agent: an ack, the history, or an error.
pub async fn command(
    chat: &Chat,
    tenant_id: &str,
    user_id: &str,
    text: &str,
) -> Option<Vec<Value>> {
    let command = match parse_agent_command(text.as_bytes()) {
        Ok(None) => return None,
        Ok(Some(command)) => command,
        Err(ParseError { code, detail }) => {
            return Some(vec![
                json!({"type": "error", "code": code, "detail": detail}),
            ]);
        }
    };
    Some(match carry_out(chat, tenant_id, user_id, command).await {
        Ok(frames) => frames,
        Err(detail) => vec![json!({"type": "error", "code": "refused", "detail": detail})],
    })
}

/// The conversation a contact of this agent routes.
async fn own(
    chat: &Chat,
    tenant_id: &str,
    user_id: &str,
    contact: &str,
    open: bool,
) -> Result<Conversation, String> {
    let conversation = chat
        .store()
        .conversation_of_contact(contact)
        .await
        .map_err(|error| error.to_string())?
        .filter(|c| c.tenant_id == tenant_id)
        .ok_or_else(|| format!("`contact`: {contact} is not a chat conversation"))?;
    if open && (conversation.state != "open" || conversation.contact_id.as_deref() != Some(contact))
    {
        return Err(format!("`contact`: the chat of {contact} has ended"));
    }
    if conversation.agent_id.as_deref() != Some(user_id) {
        // Just accepted: the ACD knows before the conversation's row does.
        let live = chat
            .acd()
            .contact(&ContactId(contact.to_owned()))
            .await
            .ok()
            .flatten();
        if live.and_then(|l| l.agent_user).as_deref() != Some(user_id) {
            return Err(format!("`contact`: the chat of {contact} is not yours"));
        }
    }
    Ok(conversation)
}

async fn carry_out(
    chat: &Chat,
    tenant_id: &str,
    user_id: &str,
    command: AgentCommand,
) -> Result<Vec<Value>, String> {
    match command {
        AgentCommand::Send {
            contact,
            id,
            text,
            upload,
        } => {
            let conversation = own(chat, tenant_id, user_id, &contact, true).await?;
            let body = expand(chat, tenant_id, text.as_str()).await?;
            let draft = Draft {
                id: id.as_str(),
                body: &body,
                internal: false,
                upload: upload.as_ref().map(|u| u.as_str()),
            };
            post(chat, &conversation, user_id, &contact, draft).await
        }
        AgentCommand::Note { contact, id, text } => {
            let conversation = own(chat, tenant_id, user_id, &contact, true).await?;
            let draft = Draft {
                id: id.as_str(),
                body: text.as_str(),
                internal: true,
                upload: None,
            };
            post(chat, &conversation, user_id, &contact, draft).await
        }
        AgentCommand::Typing { contact, active } => {
            let conversation = own(chat, tenant_id, user_id, &contact, true).await?;
            chat.hub().publish(
                &conversation.id,
                Event::Typing {
                    from: Side::Agent,
                    active,
                },
            );
            Ok(Vec::new())
        }
        AgentCommand::Read { contact, seq } => {
            let conversation = own(chat, tenant_id, user_id, &contact, true).await?;
            let seq = i64::try_from(seq).unwrap_or(i64::MAX);
            chat.store()
                .mark_chat_read(&conversation.id, Reader::Agent, seq)
                .await
                .map_err(|error| error.to_string())?;
            chat.hub().publish(
                &conversation.id,
                Event::Read {
                    by: Side::Agent,
                    seq,
                },
            );
            Ok(Vec::new())
        }
        AgentCommand::Transfer {
            contact,
            queue,
            agent,
        } => {
            let conversation = own(chat, tenant_id, user_id, &contact, true).await?;
            let to = conversation::TransferTarget {
                queue: queue.as_deref(),
                agent: agent.as_deref(),
            };
            conversation::transfer(chat, &conversation, &ContactId(contact.clone()), to)
                .await
                .map_err(|error| {
                    let field = if agent.is_some() { "agent" } else { "queue" };
                    format!("`{field}`: {error}")
                })?;
            let queue = queue.unwrap_or(conversation.queue);
            Ok(vec![
                json!({"type": "chat_transferred", "contact": contact, "queue": queue, "agent": agent}),
            ])
        }
        AgentCommand::History { contact, after_seq } => {
            let conversation = own(chat, tenant_id, user_id, &contact, false).await?;
            let after = i64::try_from(after_seq).unwrap_or(i64::MAX);
            let messages = chat
                .store()
                .chat_messages_after(&conversation.id, after, true)
                .await
                .map_err(|error| error.to_string())?;
            Ok(vec![json!({
                "type": "chat_history",
                "contact": contact,
                "conversation": conversation,
                "messages": messages.iter().map(|m| message_json(chat, m)).collect::<Vec<_>>(),
            })])
        }
        AgentCommand::End {
            contact,
            disposition,
        } => {
            let conversation = own(chat, tenant_id, user_id, &contact, true).await?;
            let _ = chat
                .post(
                    &conversation.id,
                    Sender::System,
                    None,
                    "The agent ended the chat.",
                    false,
                    None,
                )
                .await;
            chat.store()
                .end_conversation(
                    &conversation.id,
                    Millis::now(),
                    disposition.as_deref().or(Some("ended")),
                )
                .await
                .map_err(|error| error.to_string())?;
            if chat.acd().end(&ContactId(contact)).await.is_err() {
                conversation::finish(chat, &conversation.id, "ended", None).await;
            }
            Ok(Vec::new())
        }
    }
}

/// The canned response a `/shortcut` text names, or the text itself.
async fn expand(chat: &Chat, tenant_id: &str, text: &str) -> Result<String, String> {
    let trimmed = text.trim();
    let Some(shortcut) = trimmed.strip_prefix('/') else {
        return Ok(text.to_owned());
    };
    if shortcut.is_empty()
        || !shortcut
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
    {
        return Ok(text.to_owned());
    }
    chat.store()
        .canned_response(tenant_id, shortcut)
        .await
        .map_err(|error| error.to_string())?
        .ok_or_else(|| format!("`text`: no canned response /{shortcut}"))
}

/// An agent's message or note about to be stored.
struct Draft<'a> {
    id: &'a str,
    body: &'a str,
    internal: bool,
    upload: Option<&'a str>,
}

async fn post(
    chat: &Chat,
    conversation: &Conversation,
    user_id: &str,
    contact: &str,
    draft: Draft<'_>,
) -> Result<Vec<Value>, String> {
    if let Some(upload) = draft.upload {
        let ours = chat.store().chat_upload(upload).await.ok();
        if ours.is_none_or(|u| u.conversation_id != conversation.id) {
            return Err(format!("`upload`: no file {upload} in this chat"));
        }
    }
    let appended = chat
        .post(
            &conversation.id,
            Sender::Agent(user_id),
            Some(draft.id),
            draft.body,
            draft.internal,
            draft.upload,
        )
        .await
        .map_err(|error| format!("not stored ({error}); send it again"))?;
    Ok(vec![json!({
        "type": "chat_ack",
        "contact": contact,
        "id": draft.id,
        "seq": appended.message.seq,
        "duplicate": appended.duplicate,
    })])
}

fn message_json(chat: &Chat, message: &ChatMessage) -> Value {
    json!({
        "seq": message.seq,
        "id": message.client_id,
        "from": message.sender,
        "user_id": message.user_id,
        "internal": message.internal,
        "text": message.body,
        "upload": message.upload.as_ref().map(|u| chat.upload_json(u)),
        "at": message.created_at,
    })
}

/// The frame an agent gets for an event of their conversation, if any.
pub fn event_frame(chat: &Chat, event: &AgentChatEvent) -> Option<Value> {
    let base = |kind: &str| json!({"type": kind, "contact": event.contact, "conversation": event.conversation});
    let frame = match &event.event {
        Event::Message(message) => {
            let mut frame = base("chat_message");
            frame["message"] = message_json(chat, message);
            frame
        }
        Event::Typing {
            from: Side::Visitor,
            active,
        } => {
            let mut frame = base("chat_typing");
            frame["active"] = json!(active);
            frame
        }
        Event::Read {
            by: Side::Visitor,
            seq,
        } => {
            let mut frame = base("chat_read");
            frame["seq"] = json!(seq);
            frame
        }
        Event::AgentJoined { name } => {
            let mut frame = base("chat_joined");
            frame["name"] = json!(name);
            frame
        }
        Event::Ended { reason } => {
            let mut frame = base("chat_ended");
            frame["reason"] = json!(reason);
            frame
        }
        Event::Typing { .. } | Event::Read { .. } | Event::Waiting { .. } => return None,
    };
    Some(frame)
}
