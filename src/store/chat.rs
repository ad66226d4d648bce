//! Web chat rows: channels (a site's widget and its keys), conversations
//! (one visitor's chat, spanning one or more ACD contacts), their messages
//! with a per-conversation sequence number, and the tenant's canned
//! responses. Messages are written by [`super::chat_commit`], the commit
//! point that the chat protocol acknowledges.

use serde::Serialize;
use utoipa::ToSchema;

use super::{Millis, Store, StoreError, found, new_id};

/// A site's chat widget.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChatChannel {
    pub id: String,
    pub tenant_id: String,
    /// What the widget's `data-channel` names (unique across tenants).
    pub name: String,
    /// Queue names, space-separated; the first is the default.
    pub queues: String,
    /// Origins allowed to open the visitor WebSocket, space-separated
    /// (empty: any).
    pub allowed_origins: String,
    /// Hex HMAC key of the anonymous visitor tokens.
    pub visitor_key: String,
    /// The HMAC key of the site's identity JWTs (none: no verified identity).
    pub identity_key: Option<String>,
    pub created_at: i64,
}

impl ChatChannel {
    /// The channel's queues, the default first.
    pub fn queue_names(&self) -> impl Iterator<Item = &str> {
        self.queues.split_whitespace()
    }

    /// The allowed Origins (none: any).
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.allowed_origins.split_whitespace()
    }
}

/// A channel to create or update.
#[derive(Debug, Clone)]
pub struct NewChatChannel<'a> {
    pub tenant_id: &'a str,
    pub name: &'a str,
    pub queues: &'a [String],
    pub allowed_origins: &'a [String],
    pub identity_key: Option<&'a str>,
}

/// One visitor's chat.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, ToSchema)]
pub struct Conversation {
    pub id: String,
    pub tenant_id: String,
    pub channel_id: String,
    pub visitor_id: String,
    /// The customer id of a verified identity.
    pub customer_id: Option<String>,
    pub visitor_name: Option<String>,
    pub visitor_email: Option<String>,
    pub queue: String,
    /// The ACD contact routing it now.
    pub contact_id: Option<String>,
    /// The agent who has it now.
    pub agent_id: Option<String>,
    /// `open` or `ended`.
    pub state: String,
    pub last_seq: i64,
    pub visitor_read_seq: i64,
    pub agent_read_seq: i64,
    pub disposition: Option<String>,
    /// 1 when the visitor wrote while no agent was available (a message
    /// left: it keeps waiting after the visitor goes away), else 0.
    pub message_left: i64,
    pub created_at: i64,
    pub ended_at: Option<i64>,
}

/// A conversation to start.
#[derive(Debug, Clone)]
pub struct NewConversation<'a> {
    pub tenant_id: &'a str,
    pub channel_id: &'a str,
    pub visitor_id: &'a str,
    pub customer_id: Option<&'a str>,
    pub visitor_name: Option<&'a str>,
    pub visitor_email: Option<&'a str>,
    pub queue: &'a str,
    pub at: Millis,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender<'a> {
    Visitor,
    /// The agent who is this user.
    Agent(&'a str),
    /// kefu itself (an agent joined, the conversation ended…).
    System,
}

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewChatMessage<'a> {
    pub conversation_id: &'a str,
    pub sender: Sender<'a>,
    /// The sender's idempotency key.
    pub client_id: Option<&'a str>,
    /// An agent's note, never shown to the visitor.
    pub internal: bool,
    pub body: &'a str,
    /// An uploaded file of the same conversation.
    pub upload_id: Option<&'a str>,
    pub at: Millis,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ChatMessage {
    pub id: String,
    pub conversation_id: String,
    /// Its place in the conversation (1, 2, …; notes take numbers too).
    pub seq: i64,
    /// `visitor`, `agent` or `system`.
    pub sender: String,
    /// The agent's user id.
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    /// An internal note.
    pub internal: bool,
    pub body: String,
    /// The attached file, if any.
    pub upload: Option<UploadRef>,
    pub created_at: i64,
}

/// A file attached to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct UploadRef {
    pub id: String,
    pub content_type: String,
    pub size_bytes: i64,
}

/// A stored chat file.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChatUpload {
    pub id: String,
    pub conversation_id: String,
    /// `visitor` or `agent:<user id>`.
    pub uploader: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// Relative to the data dir.
    pub path: String,
    pub created_at: i64,
}

#[derive(sqlx::FromRow)]
pub(super) struct MessageRow {
    id: String,
    conversation_id: String,
    seq: i64,
    sender: String,
    user_id: Option<String>,
    client_id: Option<String>,
    internal: i64,
    body: String,
    created_at: i64,
    upload_id: Option<String>,
    upload_content_type: Option<String>,
    upload_size_bytes: Option<i64>,
}

impl From<MessageRow> for ChatMessage {
    fn from(row: MessageRow) -> Self {
        ChatMessage {
            id: row.id,
            conversation_id: row.conversation_id,
            seq: row.seq,
            sender: row.sender,
            user_id: row.user_id,
            client_id: row.client_id,
            internal: row.internal != 0,
            body: row.body,
            upload: match (
                row.upload_id,
                row.upload_content_type,
                row.upload_size_bytes,
            ) {
                (Some(id), Some(content_type), Some(size_bytes)) => Some(UploadRef {
                    id,
                    content_type,
                    size_bytes,
                }),
                _ => None,
            },
            created_at: row.created_at,
        }
    }
}

/// What [`Store::append_chat_message`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    pub message: ChatMessage,
    /// The sender had stored this client id already; nothing new was written.
    pub duplicate: bool,
}

/// Which side read up to a sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    Visitor,
    Agent,
}

const CHANNEL_COLUMNS: &str =
    "id, tenant_id, name, queues, allowed_origins, visitor_key, identity_key, created_at";
const CONVERSATION_COLUMNS: &str = "id, tenant_id, channel_id, visitor_id, customer_id, \
     visitor_name, visitor_email, queue, contact_id, agent_id, state, last_seq, \
     visitor_read_seq, agent_read_seq, disposition, message_left, created_at, ended_at";
pub(super) const MESSAGE_COLUMNS: &str = "m.id, m.conversation_id, m.seq, m.sender, m.user_id, m.client_id, \
     m.internal, m.body, m.created_at, m.upload_id, u.content_type AS upload_content_type, \
     u.size_bytes AS upload_size_bytes";
pub(super) const MESSAGES: &str = "chat_messages m LEFT JOIN chat_uploads u ON u.id = m.upload_id";

pub(super) fn author(sender: Sender<'_>) -> (String, &'static str, Option<&str>) {
    match sender {
        Sender::Visitor => ("visitor".to_owned(), "visitor", None),
        Sender::Agent(user) => (format!("agent:{user}"), "agent", Some(user)),
        Sender::System => ("system".to_owned(), "system", None),
    }
}

impl Store {
    /// Creates the channel with a fresh visitor key, or updates its queues,
    /// Origins and identity key (the visitor key is kept, so visitors stay
    /// who they were).
    pub async fn ensure_chat_channel(
        &self,
        new: &NewChatChannel<'_>,
    ) -> Result<ChatChannel, StoreError> {
        let key: [u8; 32] = rand::random();
        sqlx::query(
            "INSERT INTO chat_channels (id, tenant_id, name, queues, allowed_origins, \
             visitor_key, identity_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (name) DO UPDATE SET queues = excluded.queues, \
             allowed_origins = excluded.allowed_origins, identity_key = excluded.identity_key",
        )
        .bind(new_id())
        .bind(new.tenant_id)
        .bind(new.name)
        .bind(new.queues.join(" "))
        .bind(new.allowed_origins.join(" "))
        .bind(hex::encode(key))
        .bind(new.identity_key)
        .bind(Millis::now().0)
        .execute(self.pool())
        .await?;
        found(self.chat_channel_by_name(new.name).await?, "chat channel")
    }

    /// The channel the widget names.
    pub async fn chat_channel_by_name(
        &self,
        name: &str,
    ) -> Result<Option<ChatChannel>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM chat_channels WHERE name = $1"
        ))
        .bind(name)
        .fetch_optional(self.pool())
        .await?)
    }

    /// The tenant's channels, by name.
    pub async fn chat_channels(&self, tenant_id: &str) -> Result<Vec<ChatChannel>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {CHANNEL_COLUMNS} FROM chat_channels WHERE tenant_id = $1 ORDER BY name"
        ))
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// A channel by id.
    pub async fn chat_channel(&self, id: &str) -> Result<ChatChannel, StoreError> {
        found(
            sqlx::query_as(&format!(
                "SELECT {CHANNEL_COLUMNS} FROM chat_channels WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(self.pool())
            .await?,
            "chat channel",
        )
    }

    /// Starts an open conversation.
    pub async fn create_conversation(
        &self,
        new: &NewConversation<'_>,
    ) -> Result<Conversation, StoreError> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO chat_conversations (id, tenant_id, channel_id, visitor_id, customer_id, \
             visitor_name, visitor_email, queue, state, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open', $9)",
        )
        .bind(&id)
        .bind(new.tenant_id)
        .bind(new.channel_id)
        .bind(new.visitor_id)
        .bind(new.customer_id)
        .bind(new.visitor_name)
        .bind(new.visitor_email)
        .bind(new.queue)
        .bind(new.at.0)
        .execute(self.pool())
        .await?;
        self.conversation(&id).await
    }

    /// A conversation by id.
    pub async fn conversation(&self, id: &str) -> Result<Conversation, StoreError> {
        found(
            sqlx::query_as(&format!(
                "SELECT {CONVERSATION_COLUMNS} FROM chat_conversations WHERE id = $1"
            ))
            .bind(id)
            .fetch_optional(self.pool())
            .await?,
            "conversation",
        )
    }

    /// The visitor's open conversation on this channel, if any.
    pub async fn open_conversation_of(
        &self,
        channel_id: &str,
        visitor_id: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {CONVERSATION_COLUMNS} FROM chat_conversations \
             WHERE channel_id = $1 AND visitor_id = $2 AND state = 'open' \
             ORDER BY created_at DESC LIMIT 1"
        ))
        .bind(channel_id)
        .bind(visitor_id)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Every open conversation, oldest first.
    pub async fn open_conversations(&self) -> Result<Vec<Conversation>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {CONVERSATION_COLUMNS} FROM chat_conversations WHERE state = 'open' \
             ORDER BY created_at, id"
        ))
        .fetch_all(self.pool())
        .await?)
    }

    /// The conversation a contact routes (any of its contacts).
    pub async fn conversation_of_contact(
        &self,
        contact_id: &str,
    ) -> Result<Option<Conversation>, StoreError> {
        let id: Option<String> = sqlx::query_scalar(
            "SELECT conversation_id FROM chat_conversation_contacts WHERE contact_id = $1",
        )
        .bind(contact_id)
        .fetch_optional(self.pool())
        .await?;
        match id {
            Some(id) => Ok(Some(self.conversation(&id).await?)),
            None => Ok(None),
        }
    }

    /// Makes `contact_id` the contact routing the conversation now (no agent
    /// yet); again for a contact that continues after a restart.
    pub async fn attach_chat_contact(
        &self,
        conversation_id: &str,
        contact_id: &str,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("UPDATE chat_conversations SET contact_id = $1, agent_id = NULL WHERE id = $2")
            .bind(contact_id)
            .bind(conversation_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO chat_conversation_contacts (contact_id, conversation_id) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING",
        )
        .bind(contact_id)
        .bind(conversation_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Moves the conversation to another queue (a transfer).
    pub async fn set_conversation_queue(
        &self,
        conversation_id: &str,
        queue: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE chat_conversations SET queue = $1 WHERE id = $2")
            .bind(queue)
            .bind(conversation_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Marks the conversation as a message left; false when it was one already.
    pub async fn mark_message_left(&self, conversation_id: &str) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE chat_conversations SET message_left = 1 WHERE id = $1 AND message_left = 0",
        )
        .bind(conversation_id)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(updated > 0)
    }

    /// Records the agent who took the conversation.
    pub async fn set_conversation_agent(
        &self,
        conversation_id: &str,
        agent_id: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE chat_conversations SET agent_id = $1 WHERE id = $2")
            .bind(agent_id)
            .bind(conversation_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Ends an open conversation; false when it had ended already.
    pub async fn end_conversation(
        &self,
        conversation_id: &str,
        at: Millis,
        disposition: Option<&str>,
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE chat_conversations SET state = 'ended', ended_at = $1, disposition = $2 \
             WHERE id = $3 AND state = 'open'",
        )
        .bind(at.0)
        .bind(disposition)
        .bind(conversation_id)
        .execute(self.pool())
        .await?
        .rows_affected();
        Ok(updated > 0)
    }

    /// The conversation's messages after `after_seq`, in order; internal
    /// notes only when `with_notes`.
    pub async fn chat_messages_after(
        &self,
        conversation_id: &str,
        after_seq: i64,
        with_notes: bool,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let rows: Vec<MessageRow> = sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM {MESSAGES} \
             WHERE m.conversation_id = $1 AND m.seq > $2 AND (m.internal = 0 OR $3 = 1) \
             ORDER BY m.seq"
        ))
        .bind(conversation_id)
        .bind(after_seq)
        .bind(i64::from(with_notes))
        .fetch_all(self.pool())
        .await?;
        Ok(rows.into_iter().map(ChatMessage::from).collect())
    }

    /// Remembers that one side read up to `seq` (never moving backwards).
    pub async fn mark_chat_read(
        &self,
        conversation_id: &str,
        reader: Reader,
        seq: i64,
    ) -> Result<(), StoreError> {
        let column = match reader {
            Reader::Visitor => "visitor_read_seq",
            Reader::Agent => "agent_read_seq",
        };
        sqlx::query(&format!(
            "UPDATE chat_conversations SET {column} = $1 \
             WHERE id = $2 AND {column} < $1 AND $1 <= last_seq"
        ))
        .bind(seq)
        .bind(conversation_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records a file stored under the data dir.
    pub async fn create_chat_upload(&self, upload: &ChatUpload) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO chat_uploads (id, conversation_id, uploader, content_type, size_bytes, \
             path, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&upload.id)
        .bind(&upload.conversation_id)
        .bind(&upload.uploader)
        .bind(&upload.content_type)
        .bind(upload.size_bytes)
        .bind(&upload.path)
        .bind(upload.created_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A chat file by id.
    pub async fn chat_upload(&self, id: &str) -> Result<ChatUpload, StoreError> {
        found(
            sqlx::query_as(
                "SELECT id, conversation_id, uploader, content_type, size_bytes, path, created_at \
                 FROM chat_uploads WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(self.pool())
            .await?,
            "chat upload",
        )
    }

    /// The tenant's canned response for `/shortcut`, if any.
    pub async fn canned_response(
        &self,
        tenant_id: &str,
        shortcut: &str,
    ) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT body FROM chat_canned_responses WHERE tenant_id = $1 AND shortcut = $2",
        )
        .bind(tenant_id)
        .bind(shortcut)
        .fetch_optional(self.pool())
        .await?)
    }

    /// Every canned response of the tenant, by shortcut.
    pub async fn canned_responses(
        &self,
        tenant_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT shortcut, body FROM chat_canned_responses WHERE tenant_id = $1 \
             ORDER BY shortcut",
        )
        .bind(tenant_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Creates or replaces a canned response.
    pub async fn put_canned_response(
        &self,
        tenant_id: &str,
        shortcut: &str,
        body: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO chat_canned_responses (tenant_id, shortcut, body) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id, shortcut) DO UPDATE SET body = excluded.body",
        )
        .bind(tenant_id)
        .bind(shortcut)
        .bind(body)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
