//! Group commit of chat messages: the commit point every chat `ack` waits
//! for. One writer task per [`Store`] takes every message waiting, numbers
//! and stores them in one transaction, and only after the commit answers
//! each sender; a batch that fails answers every sender of it with the
//! error and stores none of them. A message whose sender already used its
//! client id in the conversation is answered with the first message as a
//! duplicate and stores nothing: the batch reads the client ids stored
//! already once, and spots repeats within itself; one that another node
//! (PostgreSQL) stored in between meets the unique index
//! `(conversation_id, author, client_id)` (`ON CONFLICT DO NOTHING`), and
//! the batch starts over one message at a time.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sqlx::{Any, AnyPool, Transaction};
use tokio::sync::{mpsc, oneshot};

use super::chat::{
    Appended, ChatMessage, MESSAGE_COLUMNS, MESSAGES, MessageRow, NewChatMessage, Sender,
    UploadRef, author,
};
use super::{Backend, Millis, Store, StoreError, new_id};

/// At most this many messages go into one transaction.
const MAX_BATCH: usize = 512;
/// Messages waiting for the writer before senders wait to hand theirs over.
const QUEUE: usize = 8 * MAX_BATCH;

/// The handle to a store's chat writer task.
#[derive(Debug, Clone)]
pub(super) struct ChatWriter {
    queue: mpsc::Sender<Pending>,
}

/// A message waiting for its batch, and where its outcome goes.
#[derive(Debug)]
struct Pending {
    message: OwnedMessage,
    outcome: oneshot::Sender<Result<Appended, StoreError>>,
}

/// A [`NewChatMessage`] the writer task can own.
#[derive(Debug)]
struct OwnedMessage {
    conversation_id: String,
    sender: OwnedSender,
    client_id: Option<String>,
    internal: bool,
    body: String,
    upload_id: Option<String>,
    at: Millis,
}

#[derive(Debug)]
enum OwnedSender {
    Visitor,
    Agent(String),
    System,
}

impl OwnedMessage {
    fn new(new: &NewChatMessage<'_>) -> Self {
        OwnedMessage {
            conversation_id: new.conversation_id.to_owned(),
            sender: match new.sender {
                Sender::Visitor => OwnedSender::Visitor,
                Sender::Agent(user) => OwnedSender::Agent(user.to_owned()),
                Sender::System => OwnedSender::System,
            },
            client_id: new.client_id.map(str::to_owned),
            internal: new.internal,
            body: new.body.to_owned(),
            upload_id: new.upload_id.map(str::to_owned),
            at: new.at,
        }
    }

    fn borrow(&self) -> NewChatMessage<'_> {
        NewChatMessage {
            conversation_id: &self.conversation_id,
            sender: match &self.sender {
                OwnedSender::Visitor => Sender::Visitor,
                OwnedSender::Agent(user) => Sender::Agent(user),
                OwnedSender::System => Sender::System,
            },
            client_id: self.client_id.as_deref(),
            internal: self.internal,
            body: &self.body,
            upload_id: self.upload_id.as_deref(),
            at: self.at,
        }
    }
}

impl ChatWriter {
    /// Starts the writer task of a pool; it ends when the last handle is
    /// dropped.
    pub(super) fn start(pool: AnyPool, backend: Backend) -> Self {
        let (queue, waiting) = mpsc::channel(QUEUE);
        tokio::spawn(write_batches(pool, backend, waiting));
        ChatWriter { queue }
    }
}

async fn write_batches(pool: AnyPool, backend: Backend, mut waiting: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while waiting.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let messages: Vec<NewChatMessage<'_>> = batch.iter().map(|p| p.message.borrow()).collect();
        let written = write_batch(&pool, backend, &messages).await;
        drop(messages);
        metrics::histogram!("kefu_chat_commit_batch_messages").record(batch.len() as f64);
        match written {
            Ok(outcomes) => {
                for (pending, outcome) in batch.drain(..).zip(outcomes) {
                    let _ = pending.outcome.send(outcome);
                }
            }
            Err(error) => {
                tracing::warn!(messages = batch.len(), %error, "a batch of chat messages was not stored");
                let error = Arc::new(error);
                for pending in batch.drain(..) {
                    let _ = pending
                        .outcome
                        .send(Err(StoreError::Batch(Arc::clone(&error))));
                }
            }
        }
    }
}

/// Writes `messages` in one transaction. `Err`: nothing was stored; `Ok`:
/// the outcome of each message, in order (stored, a duplicate, or refused
/// on its own — its conversation is not open, its upload not of it).
pub(super) async fn write_batch(
    pool: &AnyPool,
    backend: Backend,
    messages: &[NewChatMessage<'_>],
) -> Result<Vec<Result<Appended, StoreError>>, StoreError> {
    let mut tx = begin(pool, backend).await?;
    let outcomes = match write_together(&mut tx, backend, messages).await? {
        Some(outcomes) => outcomes,
        None => {
            // A client id raced in from another node since we looked:
            // start over, one message at a time.
            tx.rollback().await?;
            tx = begin(pool, backend).await?;
            let mut outcomes = Vec::with_capacity(messages.len());
            for new in messages {
                outcomes.push(write_one(&mut tx, new).await?);
            }
            outcomes
        }
    };
    tx.commit().await?;
    Ok(outcomes)
}

/// SQLite: take the write lock first, so reads inside never meet a
/// snapshot that another writer made stale.
async fn begin(pool: &AnyPool, backend: Backend) -> Result<Transaction<'static, Any>, StoreError> {
    Ok(match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => pool.begin().await?,
    })
}

/// The bind parameters of a statement built for a batch: `$1, $2, …` on
/// PostgreSQL, anonymous `?` on SQLite (which looks numbered parameters up
/// by name, one scan of all of them each: quadratic in a large batch).
struct Params {
    backend: Backend,
    count: usize,
}

impl Params {
    fn new(backend: Backend) -> Self {
        Params { backend, count: 0 }
    }

    /// The next parameter.
    fn next(&mut self) -> String {
        self.count += 1;
        match self.backend {
            Backend::Sqlite => "?".to_owned(),
            Backend::Postgres => format!("${}", self.count),
        }
    }

    /// `(p, p, …)`: the next `count` parameters.
    fn list(&mut self, count: usize) -> String {
        let listed: Vec<String> = (0..count).map(|_| self.next()).collect();
        format!("({})", listed.join(", "))
    }
}

/// What becomes of one message of a batch written together.
enum Fate {
    /// Stored before (the first message with its client id).
    Stored(ChatMessage),
    /// Refused on its own.
    Refused(StoreError),
    /// New: numbered and inserted with the others.
    New(Option<UploadRef>),
    /// The same client id as the message at this index of the batch.
    SameAs(usize),
}

/// The whole batch in a few statements, whatever its size: one read of the
/// client ids stored already, one numbering update, one insert. `None`
/// when the insert met a client id stored since the read (the caller
/// rolls back).
async fn write_together(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    messages: &[NewChatMessage<'_>],
) -> Result<Option<Vec<Result<Appended, StoreError>>>, StoreError> {
    let authors: Vec<_> = messages.iter().map(|m| author(m.sender)).collect();
    let mut stored = stored_client_ids(tx, backend, messages).await?.into_iter();
    let mut fates = Vec::with_capacity(messages.len());
    let mut firsts: HashMap<(&str, &str, &str), usize> = HashMap::new();
    for (index, (new, (author, _, _))) in messages.iter().zip(&authors).enumerate() {
        let key = new
            .client_id
            .map(|client| (new.conversation_id, author.as_str(), client));
        if let Some(first) = stored.next().flatten() {
            fates.push(Fate::Stored(first));
            continue;
        }
        if let Some(&first) = key.and_then(|key| firsts.get(&key)) {
            fates.push(Fate::SameAs(first));
            continue;
        }
        let fate = match new.upload_id {
            Some(id) => match upload_of(tx, id, new.conversation_id).await? {
                Some(upload) => Fate::New(Some(upload)),
                None => Fate::Refused(StoreError::NotFound {
                    what: "upload of this conversation",
                }),
            },
            None => Fate::New(None),
        };
        if let (Some(key), Fate::New(_)) = (key, &fate) {
            firsts.insert(key, index);
        }
        fates.push(fate);
    }

    // Number the new messages: each conversation moves on by its count.
    let mut counts: Vec<(&str, i64)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (new, fate) in messages.iter().zip(&fates) {
        if matches!(fate, Fate::New(_)) {
            let at = *index.entry(new.conversation_id).or_insert_with(|| {
                counts.push((new.conversation_id, 0));
                counts.len() - 1
            });
            counts[at].1 += 1;
        }
    }
    let mut next_seq: HashMap<&str, i64> = HashMap::new();
    if !counts.is_empty() {
        let mut params = Params::new(backend);
        let cases: String = (0..counts.len())
            .map(|_| format!(" WHEN {} THEN {}", params.next(), params.next()))
            .collect();
        let sql = format!(
            "UPDATE chat_conversations SET last_seq = last_seq + CASE id{cases} END \
             WHERE id IN {} AND state = 'open' RETURNING id, last_seq",
            params.list(counts.len())
        );
        let mut update = sqlx::query_as::<_, (String, i64)>(&sql);
        for (conversation, count) in &counts {
            update = update.bind(*conversation).bind(*count);
        }
        for (conversation, _) in &counts {
            update = update.bind(*conversation);
        }
        for (id, last) in update.fetch_all(&mut **tx).await? {
            if let Some(&at) = index.get(id.as_str()) {
                let (conversation, count) = counts[at];
                next_seq.insert(conversation, last - count + 1);
            }
        }
    }

    // Insert the numbered ones.
    let mut rows = Vec::new();
    let mut outcomes: Vec<Result<Appended, StoreError>> = Vec::with_capacity(messages.len());
    for ((new, (author, sender, user_id)), fate) in messages.iter().zip(&authors).zip(fates) {
        let outcome = match fate {
            Fate::Stored(first) => Ok(Appended {
                message: first,
                duplicate: true,
            }),
            Fate::Refused(error) => Err(error),
            Fate::SameAs(first) => match &outcomes[first] {
                Ok(appended) => Ok(Appended {
                    message: appended.message.clone(),
                    duplicate: true,
                }),
                Err(_) => Err(StoreError::NotFound {
                    what: "open conversation",
                }),
            },
            Fate::New(upload) => match next_seq.get_mut(new.conversation_id) {
                None => Err(StoreError::NotFound {
                    what: "open conversation",
                }),
                Some(seq) => {
                    let message = ChatMessage {
                        id: new_id(),
                        conversation_id: new.conversation_id.to_owned(),
                        seq: *seq,
                        sender: (*sender).to_owned(),
                        user_id: user_id.map(str::to_owned),
                        client_id: new.client_id.map(str::to_owned),
                        internal: new.internal,
                        body: new.body.to_owned(),
                        upload,
                        created_at: new.at.0,
                    };
                    *seq += 1;
                    rows.push((author.as_str(), new.upload_id, outcomes.len()));
                    Ok(Appended {
                        message,
                        duplicate: false,
                    })
                }
            },
        };
        outcomes.push(outcome);
    }
    if rows.is_empty() {
        return Ok(Some(outcomes));
    }
    const COLUMNS: usize = 11;
    let mut params = Params::new(backend);
    let values: Vec<String> = (0..rows.len()).map(|_| params.list(COLUMNS)).collect();
    let sql = format!(
        "INSERT INTO chat_messages (id, conversation_id, seq, sender, author, user_id, \
         client_id, internal, body, created_at, upload_id) VALUES {} \
         ON CONFLICT DO NOTHING RETURNING id",
        values.join(", ")
    );
    let mut insert = sqlx::query_scalar::<_, String>(&sql);
    for &(author, upload_id, index) in &rows {
        let Ok(appended) = &outcomes[index] else {
            unreachable!("only stored outcomes are rows")
        };
        let m = &appended.message;
        insert = insert
            .bind(m.id.as_str())
            .bind(m.conversation_id.as_str())
            .bind(m.seq)
            .bind(m.sender.as_str())
            .bind(author)
            .bind(m.user_id.as_deref())
            .bind(m.client_id.as_deref())
            .bind(i64::from(m.internal))
            .bind(m.body.as_str())
            .bind(m.created_at)
            .bind(upload_id);
    }
    let inserted = insert.fetch_all(&mut **tx).await?;
    Ok((inserted.len() == rows.len()).then_some(outcomes))
}

/// For each message of the batch, the first message its sender stored
/// already under its client id, if any.
async fn stored_client_ids(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    messages: &[NewChatMessage<'_>],
) -> Result<Vec<Option<ChatMessage>>, StoreError> {
    let mut conversations: Vec<&str> = Vec::new();
    let mut clients: Vec<&str> = Vec::new();
    let mut seen = HashSet::new();
    for new in messages {
        if let Some(client) = new.client_id {
            if seen.insert((0, new.conversation_id)) {
                conversations.push(new.conversation_id);
            }
            if seen.insert((1, client)) {
                clients.push(client);
            }
        }
    }
    if clients.is_empty() {
        return Ok(vec![None; messages.len()]);
    }
    let mut params = Params::new(backend);
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM {MESSAGES} \
         WHERE m.conversation_id IN {} AND m.client_id IN {}",
        params.list(conversations.len()),
        params.list(clients.len()),
    );
    let mut select = sqlx::query_as::<_, MessageRow>(&sql);
    for value in conversations.iter().chain(&clients) {
        select = select.bind(*value);
    }
    let rows: Vec<ChatMessage> = select
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .map(ChatMessage::from)
        .collect();
    Ok(messages
        .iter()
        .map(|new| {
            let client = new.client_id?;
            let (_, sender, user_id) = author(new.sender);
            rows.iter()
                .find(|row| {
                    row.conversation_id == new.conversation_id
                        && row.client_id.as_deref() == Some(client)
                        && row.sender == sender
                        && row.user_id.as_deref() == user_id
                })
                .cloned()
        })
        .collect())
}

/// Numbers and inserts one message inside the batch's transaction. The
/// outer `Err` fails the batch; the inner one refuses this message alone.
async fn write_one(
    tx: &mut Transaction<'static, Any>,
    new: &NewChatMessage<'_>,
) -> Result<Result<Appended, StoreError>, StoreError> {
    let (author, sender, user_id) = author(new.sender);
    let upload = match new.upload_id {
        Some(id) => match upload_of(tx, id, new.conversation_id).await? {
            Some(upload) => Some(upload),
            None => {
                let refused = StoreError::NotFound {
                    what: "upload of this conversation",
                };
                return duplicate_or(tx, new, &author, refused).await;
            }
        },
        None => None,
    };
    let seq: Option<i64> = sqlx::query_scalar(
        "UPDATE chat_conversations SET last_seq = last_seq + 1 \
         WHERE id = $1 AND state = 'open' RETURNING last_seq",
    )
    .bind(new.conversation_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(seq) = seq else {
        let refused = StoreError::NotFound {
            what: "open conversation",
        };
        return duplicate_or(tx, new, &author, refused).await;
    };
    let id = new_id();
    let inserted = sqlx::query(
        "INSERT INTO chat_messages (id, conversation_id, seq, sender, author, user_id, \
         client_id, internal, body, created_at, upload_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING",
    )
    .bind(&id)
    .bind(new.conversation_id)
    .bind(seq)
    .bind(sender)
    .bind(&author)
    .bind(user_id)
    .bind(new.client_id)
    .bind(i64::from(new.internal))
    .bind(new.body)
    .bind(new.at.0)
    .bind(new.upload_id)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        // The client id is stored already: give the number back (the row
        // is ours until the commit) and answer with the first message.
        sqlx::query("UPDATE chat_conversations SET last_seq = last_seq - 1 WHERE id = $1")
            .bind(new.conversation_id)
            .execute(&mut **tx)
            .await?;
        let corrupt = StoreError::Corrupt {
            what: "chat message numbering",
        };
        return duplicate_or(tx, new, &author, corrupt).await;
    }
    Ok(Ok(Appended {
        message: ChatMessage {
            id,
            conversation_id: new.conversation_id.to_owned(),
            seq,
            sender: sender.to_owned(),
            user_id: user_id.map(str::to_owned),
            client_id: new.client_id.map(str::to_owned),
            internal: new.internal,
            body: new.body.to_owned(),
            upload,
            created_at: new.at.0,
        },
        duplicate: false,
    }))
}

/// The upload `id` when it is a file of the conversation.
async fn upload_of(
    tx: &mut Transaction<'static, Any>,
    id: &str,
    conversation_id: &str,
) -> Result<Option<UploadRef>, StoreError> {
    let row: Option<(String, String, i64)> = sqlx::query_as(
        "SELECT conversation_id, content_type, size_bytes FROM chat_uploads WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row
        .filter(|(conversation, _, _)| conversation == conversation_id)
        .map(|(_, content_type, size_bytes)| UploadRef {
            id: id.to_owned(),
            content_type,
            size_bytes,
        }))
}

/// The first message the sender stored with this client id, as a
/// duplicate; else `refused`.
async fn duplicate_or(
    tx: &mut Transaction<'static, Any>,
    new: &NewChatMessage<'_>,
    author: &str,
    refused: StoreError,
) -> Result<Result<Appended, StoreError>, StoreError> {
    let Some(client_id) = new.client_id else {
        return Ok(Err(refused));
    };
    let first: Option<MessageRow> = sqlx::query_as(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM {MESSAGES} \
         WHERE m.conversation_id = $1 AND m.author = $2 AND m.client_id = $3"
    ))
    .bind(new.conversation_id)
    .bind(author)
    .bind(client_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match first {
        Some(first) => Ok(Appended {
            message: ChatMessage::from(first),
            duplicate: true,
        }),
        None => Err(refused),
    })
}

impl Store {
    /// Numbers and stores a message; it is durable when this returns. It
    /// goes through the store's writer with every other message waiting
    /// (one transaction for all). A client id the sender used before in
    /// this conversation returns the first message as a duplicate. Refused
    /// (`NotFound`) when the conversation is not open or the upload is not
    /// of this conversation.
    pub async fn append_chat_message(
        &self,
        new: &NewChatMessage<'_>,
    ) -> Result<Appended, StoreError> {
        let (outcome, answer) = oneshot::channel();
        let pending = Pending {
            message: OwnedMessage::new(new),
            outcome,
        };
        self.chat_writer
            .queue
            .send(pending)
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }

    /// Stores `messages` in one transaction, in order, bypassing the
    /// writer: `Err` means none was stored, else each one's outcome as
    /// [`append_chat_message`](Self::append_chat_message) gives it.
    pub async fn append_chat_messages(
        &self,
        messages: &[NewChatMessage<'_>],
    ) -> Result<Vec<Result<Appended, StoreError>>, StoreError> {
        write_batch(self.pool(), self.backend, messages).await
    }
}
