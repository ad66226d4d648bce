//! The chat rows on both engines: channels keep their visitor key, messages
//! are numbered per conversation and stored once per client id, notes stay
//! out of the visitor's view, and an ended conversation takes no more.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use kefu::config::DatabaseUrl;
use kefu::store::{
    ChatUpload, Millis, NewChatChannel, NewChatMessage, NewContact, NewConversation, Reader,
    Sender, Store, StoreError,
};

/// The store and the URL of its database (for what a test does behind its back).
async fn sqlite() -> (tempfile::TempDir, Store, String) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/db/kefu.db?mode=rwc", dir.path().display());
    let store = Store::open(&DatabaseUrl::Sqlite(url.clone()), 4)
        .await
        .unwrap();
    (dir, store, url)
}

async fn postgres() -> (common::postgres::TestDatabase, Store, String) {
    let db = common::postgres::database().await;
    let store = Store::open(&DatabaseUrl::Postgres(db.url.clone()), 4)
        .await
        .unwrap();
    let url = db.url.clone();
    (db, store, url)
}

/// Runs a scenario on SQLite and on PostgreSQL.
macro_rules! on_both_engines {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread")]
            async fn sqlite() {
                let (_dir, store, _) = super::sqlite().await;
                super::$scenario(&store).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn postgres() {
                let (_db, store, _) = super::postgres().await;
                super::$scenario(&store).await;
            }
        }
    };
}

/// Runs a scenario that also needs the database's URL on both engines.
macro_rules! on_both_engines_with_url {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread")]
            async fn sqlite() {
                let (_dir, store, url) = super::sqlite().await;
                super::$scenario(&store, &url).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn postgres() {
                let (_db, store, url) = super::postgres().await;
                super::$scenario(&store, &url).await;
            }
        }
    };
}

fn message<'a>(
    conversation: &'a str,
    sender: Sender<'a>,
    client_id: Option<&'a str>,
    body: &'a str,
) -> NewChatMessage<'a> {
    NewChatMessage {
        conversation_id: conversation,
        sender,
        client_id,
        internal: false,
        body,
        upload_id: None,
        at: Millis::now(),
    }
}

on_both_engines!(chat_messages_are_numbered_and_stored_once_per_client_id);
async fn chat_messages_are_numbered_and_stored_once_per_client_id(store: &Store) {
    let tenant = store.ensure_tenant("acme", "acme.example").await.unwrap();
    let queues = ["support".to_owned()];
    let channel = store
        .ensure_chat_channel(&NewChatChannel {
            tenant_id: &tenant.id,
            name: "acme-web",
            queues: &queues,
            allowed_origins: &[],
            identity_key: None,
        })
        .await
        .unwrap();
    let again = store
        .ensure_chat_channel(&NewChatChannel {
            tenant_id: &tenant.id,
            name: "acme-web",
            queues: &queues,
            allowed_origins: &["https://acme.example".to_owned()],
            identity_key: Some("secret"),
        })
        .await
        .unwrap();
    assert_eq!(
        again.visitor_key, channel.visitor_key,
        "visitors keep their key"
    );
    assert_eq!(
        again.origins().collect::<Vec<_>>(),
        ["https://acme.example"]
    );

    let conversation = store
        .create_conversation(&NewConversation {
            tenant_id: &tenant.id,
            channel_id: &channel.id,
            visitor_id: "v1",
            customer_id: None,
            visitor_name: Some("Ann"),
            visitor_email: None,
            queue: "support",
            at: Millis::now(),
        })
        .await
        .unwrap();
    let id = conversation.id.as_str();
    let first = store
        .append_chat_message(&message(id, Sender::Visitor, Some("c1"), "hello"))
        .await
        .unwrap();
    assert_eq!((first.message.seq, first.duplicate), (1, false));
    let resent = store
        .append_chat_message(&message(id, Sender::Visitor, Some("c1"), "hello"))
        .await
        .unwrap();
    assert_eq!((resent.message.seq, resent.duplicate), (1, true));
    // Another sender may use the same client id.
    let (user, _) = store
        .ensure_user(&kefu::store::NewUser {
            tenant_id: &tenant.id,
            username: "alice",
            display_name: "Alice",
            role: kefu::store::Role::Agent,
            extension: Some("1001"),
            password: None,
        })
        .await
        .unwrap();
    let reply = store
        .append_chat_message(&message(id, Sender::Agent(&user.id), Some("c1"), "hi"))
        .await
        .unwrap();
    assert_eq!((reply.message.seq, reply.duplicate), (2, false));
    let note = store
        .append_chat_message(&NewChatMessage {
            internal: true,
            ..message(id, Sender::Agent(&user.id), Some("n1"), "VIP customer")
        })
        .await
        .unwrap();
    assert_eq!(note.message.seq, 3);
    store
        .create_chat_upload(&ChatUpload {
            id: "u1".to_owned(),
            conversation_id: id.to_owned(),
            uploader: "visitor".to_owned(),
            content_type: "image/png".to_owned(),
            size_bytes: 68,
            path: "chat-uploads/x/u1".to_owned(),
            created_at: 0,
        })
        .await
        .unwrap();
    let system = store
        .append_chat_message(&NewChatMessage {
            upload_id: Some("u1"),
            ..message(id, Sender::System, None, "ended")
        })
        .await
        .unwrap();
    assert_eq!(system.message.seq, 4);
    let refused = store
        .append_chat_message(&NewChatMessage {
            upload_id: Some("no-such-upload"),
            ..message(id, Sender::Visitor, Some("u"), "x")
        })
        .await;
    assert!(
        matches!(refused, Err(StoreError::NotFound { .. })),
        "{refused:?}"
    );

    let visible = store.chat_messages_after(id, 0, false).await.unwrap();
    let seqs: Vec<i64> = visible.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [1, 2, 4], "the note is not the visitor's");
    let attached = visible[2].upload.as_ref().unwrap();
    assert_eq!(
        (
            attached.id.as_str(),
            attached.content_type.as_str(),
            attached.size_bytes
        ),
        ("u1", "image/png", 68)
    );
    assert!(visible[0].upload.is_none());
    let all = store.chat_messages_after(id, 1, true).await.unwrap();
    assert_eq!(all.iter().map(|m| m.seq).collect::<Vec<_>>(), [2, 3, 4]);
    assert!(all[1].internal);
    assert_eq!(all[0].sender, "agent");

    assert!(store.mark_message_left(id).await.unwrap());
    assert!(!store.mark_message_left(id).await.unwrap(), "once");
    store.mark_chat_read(id, Reader::Visitor, 2).await.unwrap();
    store.mark_chat_read(id, Reader::Visitor, 1).await.unwrap();
    store.mark_chat_read(id, Reader::Agent, 99).await.unwrap();
    let row = store.conversation(id).await.unwrap();
    assert_eq!(
        (row.visitor_read_seq, row.agent_read_seq, row.last_seq),
        (2, 0, 4)
    );
    assert_eq!(row.message_left, 1);

    let contact = store
        .create_contact(&NewContact {
            tenant_id: &tenant.id,
            channel: "chat",
            queue_id: None,
            priority: 0,
            customer_id: Some("v1"),
            call_id: None,
            created_at: Millis::now(),
        })
        .await
        .unwrap();
    store.attach_chat_contact(id, &contact.id).await.unwrap();
    let found = store
        .conversation_of_contact(&contact.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.contact_id.as_deref(), Some(contact.id.as_str()));
    assert_eq!(
        store
            .open_conversation_of(&channel.id, "v1")
            .await
            .unwrap()
            .map(|c| c.id),
        Some(id.to_owned())
    );
    assert_eq!(store.open_conversations().await.unwrap().len(), 1);

    assert!(
        store
            .end_conversation(id, Millis::now(), Some("solved"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .end_conversation(id, Millis::now(), None)
            .await
            .unwrap()
    );
    let refused = store
        .append_chat_message(&message(id, Sender::Visitor, Some("c2"), "late"))
        .await;
    assert!(
        matches!(refused, Err(StoreError::NotFound { .. })),
        "{refused:?}"
    );
    assert!(
        store
            .open_conversation_of(&channel.id, "v1")
            .await
            .unwrap()
            .is_none()
    );

    store
        .put_canned_response(&tenant.id, "hello", "Hello!")
        .await
        .unwrap();
    store
        .put_canned_response(&tenant.id, "hello", "Hello, how can I help?")
        .await
        .unwrap();
    assert_eq!(
        store
            .canned_response(&tenant.id, "hello")
            .await
            .unwrap()
            .as_deref(),
        Some("Hello, how can I help?")
    );
    assert_eq!(store.canned_responses(&tenant.id).await.unwrap().len(), 1);
}

/// A tenant, a channel and an open conversation of visitor `v1`.
async fn open_conversation(store: &Store) -> String {
    let tenant = store.ensure_tenant("acme", "acme.example").await.unwrap();
    let channel = store
        .ensure_chat_channel(&NewChatChannel {
            tenant_id: &tenant.id,
            name: "acme-web",
            queues: &["support".to_owned()],
            allowed_origins: &[],
            identity_key: None,
        })
        .await
        .unwrap();
    store
        .create_conversation(&NewConversation {
            tenant_id: &tenant.id,
            channel_id: &channel.id,
            visitor_id: "v1",
            customer_id: None,
            visitor_name: None,
            visitor_email: None,
            queue: "support",
            at: Millis::now(),
        })
        .await
        .unwrap()
        .id
}

on_both_engines!(a_batch_answers_each_message_on_its_own_and_numbers_without_gaps);
async fn a_batch_answers_each_message_on_its_own_and_numbers_without_gaps(store: &Store) {
    let id = open_conversation(store).await;
    let ended = open_conversation(store).await;
    store
        .end_conversation(&ended, Millis::now(), None)
        .await
        .unwrap();
    let outcomes = store
        .append_chat_messages(&[
            message(&id, Sender::Visitor, Some("a"), "first"),
            message(&id, Sender::Visitor, Some("a"), "first, resent"),
            message(&ended, Sender::Visitor, Some("b"), "too late"),
            NewChatMessage {
                upload_id: Some("no-such-upload"),
                ..message(&id, Sender::Visitor, Some("c"), "a file")
            },
            message(&id, Sender::Visitor, Some("d"), "second"),
        ])
        .await
        .unwrap();
    let seen: Vec<_> = outcomes
        .iter()
        .map(|o| match o {
            Ok(appended) => Ok((appended.message.seq, appended.duplicate)),
            Err(StoreError::NotFound { what }) => Err(*what),
            Err(other) => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        seen,
        [
            Ok((1, false)),
            Ok((1, true)),
            Err("open conversation"),
            Err("upload of this conversation"),
            Ok((2, false)),
        ]
    );
    let stored = store.chat_messages_after(&id, 0, true).await.unwrap();
    assert_eq!(
        stored.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
        ["first", "second"]
    );
    assert_eq!(store.conversation(&id).await.unwrap().last_seq, 2);
    // A resend after the end still gets its first number back.
    let resent = store
        .append_chat_message(&message(&id, Sender::Visitor, Some("a"), "again"))
        .await
        .unwrap();
    assert_eq!((resent.message.seq, resent.duplicate), (1, true));
}

on_both_engines_with_url!(
    concurrent_senders_on_two_nodes_are_numbered_in_one_sequence_and_each_client_id_stored_once
);
async fn concurrent_senders_on_two_nodes_are_numbered_in_one_sequence_and_each_client_id_stored_once(
    store: &Store,
    url: &str,
) {
    let id = open_conversation(store).await;
    // A second node on the same database, with a writer of its own.
    let other = if url.starts_with("sqlite:") {
        DatabaseUrl::Sqlite(url.to_owned())
    } else {
        DatabaseUrl::Postgres(url.to_owned())
    };
    let other = Store::open(&other, 4).await.unwrap();
    // 100 messages, each sent twice at once (once to each node), all at
    // the same time.
    let mut sending = tokio::task::JoinSet::new();
    for n in 0..200 {
        let store = if n % 2 == 0 { store } else { &other };
        let (store, id) = (store.clone(), id.clone());
        sending.spawn(async move {
            let client_id = format!("m{}", n % 100);
            let appended = store
                .append_chat_message(&message(&id, Sender::Visitor, Some(&client_id), &client_id))
                .await
                .unwrap();
            (client_id, appended)
        });
    }
    let mut first_seq = std::collections::HashMap::new();
    let mut duplicates = 0;
    while let Some(done) = sending.join_next().await {
        let (client_id, appended) = done.unwrap();
        assert_eq!(appended.message.body, client_id);
        duplicates += usize::from(appended.duplicate);
        let seq = *first_seq
            .entry(client_id.clone())
            .or_insert(appended.message.seq);
        assert_eq!(seq, appended.message.seq, "{client_id} has one number");
    }
    assert_eq!(duplicates, 100);
    let stored = store.chat_messages_after(&id, 0, false).await.unwrap();
    assert_eq!(
        stored.iter().map(|m| m.seq).collect::<Vec<_>>(),
        (1..=100).collect::<Vec<_>>()
    );
    assert_eq!(store.conversation(&id).await.unwrap().last_seq, 100);
}

/// Makes the database refuse (raise an error on) any message whose text is
/// `poison`, behind the store's back.
async fn refuse_poison(url: &str) {
    use sqlx::{Connection, Executor};
    sqlx::any::install_default_drivers();
    let mut connection = sqlx::AnyConnection::connect(url).await.unwrap();
    let sql = if url.starts_with("sqlite:") {
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON chat_messages \
         WHEN NEW.body = 'poison' BEGIN SELECT RAISE(ABORT, 'poison refused'); END"
    } else {
        "CREATE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN \
         IF NEW.body = 'poison' THEN RAISE EXCEPTION 'poison refused'; END IF; \
         RETURN NEW; END $$ LANGUAGE plpgsql; \
         CREATE TRIGGER refuse_poison BEFORE INSERT ON chat_messages \
         FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
    };
    connection.execute(sql).await.unwrap();
    connection.close().await.unwrap();
}

on_both_engines_with_url!(a_failed_batch_stores_nothing_and_fails_each_of_its_messages);
async fn a_failed_batch_stores_nothing_and_fails_each_of_its_messages(store: &Store, url: &str) {
    let id = open_conversation(store).await;
    refuse_poison(url).await;
    let failed = store
        .append_chat_messages(&[
            message(&id, Sender::Visitor, Some("a"), "before"),
            message(&id, Sender::Visitor, Some("b"), "poison"),
            message(&id, Sender::Visitor, Some("c"), "after"),
        ])
        .await;
    assert!(failed.is_err(), "{failed:?}");
    assert!(
        store
            .chat_messages_after(&id, 0, true)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.conversation(&id).await.unwrap().last_seq, 0);
    // Through the writer: the failure reaches the sender, naming the cause.
    let refused = store
        .append_chat_message(&message(&id, Sender::Visitor, Some("b"), "poison"))
        .await;
    match refused {
        Err(error @ StoreError::Batch(_)) => {
            assert!(error.to_string().contains("poison refused"), "{error}");
        }
        other => panic!("expected a failed batch, got {other:?}"),
    }
    // The writer carries on, and the refused client ids were never taken.
    let stored = store
        .append_chat_message(&message(&id, Sender::Visitor, Some("a"), "before"))
        .await
        .unwrap();
    assert_eq!((stored.message.seq, stored.duplicate), (1, false));
}
