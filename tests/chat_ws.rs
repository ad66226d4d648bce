//! Web chat against a running `kefu serve --demo`: a visitor on the chat
//! WebSocket and an agent on the agent WebSocket, routed by the ACD. The
//! protocol's promises are checked the way a client sees them: acks after
//! storage, duplicates stored once, resume from a sequence number, messages
//! that outlive `kill -9`, notes that never reach the visitor, errors that
//! name the field, limits and the Origin check.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::kefu::{Kefu, Options, http};
use serde_json::{Value, json};
use tungstenite::client::IntoClientRequest;
use tungstenite::{Message, WebSocket};

/// How long anything may take to show.
const PATIENCE: Duration = Duration::from_secs(20);

type Socket = WebSocket<TcpStream>;

fn options() -> Options {
    Options {
        demo: true,
        ..Options::default()
    }
}

fn start() -> (tempfile::TempDir, Kefu) {
    let dir = tempfile::tempdir().unwrap();
    let kefu = Kefu::start(dir.path(), options());
    (dir, kefu)
}

fn open(kefu: &Kefu, path: &str, origin: Option<&str>) -> Result<Socket, tungstenite::Error> {
    let stream = TcpStream::connect(kefu.http).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut request = format!("ws://{}{path}", kefu.http)
        .into_client_request()
        .unwrap();
    if let Some(origin) = origin {
        request
            .headers_mut()
            .insert("origin", origin.parse().unwrap());
    }
    match tungstenite::client(request, stream) {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::HandshakeError::Failure(error)) => Err(error),
        Err(tungstenite::HandshakeError::Interrupted(_)) => panic!("handshake interrupted"),
    }
}

/// A visitor of the demo channel, greeted: returns the socket and `welcome`.
fn connect_visitor(kefu: &Kefu, token: Option<&str>, last_seq: u64) -> (Socket, Value) {
    let mut socket = open(kefu, "/api/v1/chat/ws?channel=demo", None).unwrap();
    send(
        &mut socket,
        json!({"type": "hello", "v": 1, "token": token, "last_seq": last_seq}),
    );
    let welcome = next(&mut socket, "welcome");
    (socket, welcome)
}

/// The demo agent `extension`, logged in and ready, on the agent WebSocket.
fn ready_agent(kefu: &Kefu, extension: &str) -> Socket {
    let token = kefu.agent_token(extension);
    let client = http();
    let login = client
        .post(kefu.url(&format!("/api/v1/agents/{extension}/login")))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert!(login.status().is_success(), "{}", login.text().unwrap());
    let socket = open(kefu, &format!("/api/v1/agent/ws?token={token}"), None).unwrap();
    let ready = client
        .put(kefu.url(&format!("/api/v1/agents/{extension}/state")))
        .bearer_auth(&token)
        .json(&json!({"state": "ready"}))
        .send()
        .unwrap();
    assert!(ready.status().is_success(), "{}", ready.text().unwrap());
    socket
}

fn send(socket: &mut Socket, frame: Value) {
    socket.send(Message::text(frame.to_string())).unwrap();
}

/// The next frame for which `wanted` holds; others are skipped.
fn next_where(socket: &mut Socket, what: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        assert!(Instant::now() < deadline, "no {what} came");
        match socket.read() {
            Ok(Message::Text(text)) => {
                let frame: Value = serde_json::from_str(text.as_str()).unwrap();
                if wanted(&frame) {
                    return frame;
                }
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("WebSocket failed waiting for {what}: {e}"),
        }
    }
}

fn next(socket: &mut Socket, kind: &str) -> Value {
    next_where(socket, &format!("`{kind}`"), |f| f["type"] == kind)
}

/// Takes the agent's next chat offer: accepts it and waits until the agent
/// joined; returns the contact.
fn accept_next_offer(agent: &mut Socket) -> String {
    let contact = next(agent, "offer")["contact"].as_str().unwrap().to_owned();
    send(agent, json!({"type": "accept", "contact": contact}));
    next(agent, "chat_joined");
    contact
}

/// Every text frame that arrives within `window`.
fn drain(socket: &mut Socket, window: Duration) -> Vec<Value> {
    let until = Instant::now() + window;
    let mut frames = Vec::new();
    while Instant::now() < until {
        match socket.read() {
            Ok(Message::Text(text)) => frames.push(serde_json::from_str(text.as_str()).unwrap()),
            Ok(_) => {}
            Err(tungstenite::Error::Io(_)) => {}
            Err(e) => panic!("WebSocket failed: {e}"),
        }
    }
    frames
}

/// Sends a visitor message and returns its ack.
fn say(socket: &mut Socket, id: &str, text: &str) -> Value {
    send(socket, json!({"type": "message", "id": id, "text": text}));
    next_where(socket, &format!("ack of {id}"), |f| {
        (f["type"] == "ack" || f["type"] == "error") && f["id"] == id
    })
}

fn texts(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .filter(|f| f["type"] == "message")
        .map(|f| f["text"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_visitor_chats_with_an_agent_through_the_acd() {
    let (_dir, kefu) = start();
    let mut agent = ready_agent(&kefu, "1003");
    let (mut visitor, welcome) = connect_visitor(&kefu, None, 0);
    assert!(welcome["token"].as_str().unwrap().contains('.'));
    assert!(welcome["conversation"].is_null());

    send(
        &mut visitor,
        json!({"type": "start", "name": "Ann", "topic": "support"}),
    );
    let started = next(&mut visitor, "conversation");
    assert_eq!(started["conversation"]["queue"], "support");

    let offer = next(&mut agent, "offer");
    assert_eq!(offer["channel"], "chat");
    let contact = offer["contact"].as_str().unwrap().to_owned();
    send(&mut agent, json!({"type": "accept", "contact": contact}));
    let joined = next(&mut agent, "chat_joined");
    assert_eq!(joined["name"], "Chen Jing");
    let named = next(&mut visitor, "agent");
    assert_eq!(named["name"], "Chen Jing");

    let ack = say(&mut visitor, "v-1", "<b>my order</b> is late");
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(ack["duplicate"], false);
    let heard = next_where(&mut agent, "the visitor's message", |f| {
        f["type"] == "chat_message" && f["message"]["from"] == "visitor"
    });
    assert_eq!(heard["message"]["text"], "<b>my order</b> is late");
    assert_eq!(heard["message"]["seq"], ack["seq"]);

    send(
        &mut agent,
        json!({"type": "chat_note", "contact": contact, "id": "a-1", "text": "customer is a VIP"}),
    );
    assert_eq!(next(&mut agent, "chat_ack")["id"], "a-1");
    send(
        &mut agent,
        json!({"type": "chat_typing", "contact": contact, "active": true}),
    );
    assert_eq!(next(&mut visitor, "typing")["from"], "agent");
    send(
        &mut agent,
        json!({"type": "chat_send", "contact": contact, "id": "a-2", "text": "/hello"}),
    );
    let sent = next(&mut agent, "chat_ack");
    let reply = next_where(&mut visitor, "the agent's reply", |f| {
        f["type"] == "message" && f["from"] == "agent"
    });
    assert_eq!(reply["text"], "Hello! How can I help you today?", "canned");
    assert_eq!(reply["name"], "Chen Jing");
    assert_eq!(reply["seq"], sent["seq"]);
    send(&mut visitor, json!({"type": "read", "seq": reply["seq"]}));
    assert_eq!(next(&mut agent, "chat_read")["seq"], reply["seq"]);

    // Someone else's contact, and a shortcut that does not exist, are refused.
    send(
        &mut agent,
        json!({"type": "chat_send", "contact": "nope", "id": "a-3", "text": "x"}),
    );
    assert!(
        next(&mut agent, "error")["detail"]
            .as_str()
            .unwrap()
            .contains("contact")
    );
    send(
        &mut agent,
        json!({"type": "chat_send", "contact": contact, "id": "a-4", "text": "/nosuch"}),
    );
    assert!(
        next(&mut agent, "error")["detail"]
            .as_str()
            .unwrap()
            .contains("/nosuch")
    );

    send(
        &mut agent,
        json!({"type": "chat_end", "contact": contact, "disposition": "solved"}),
    );
    let ended = next(&mut visitor, "ended");
    assert_eq!(ended["reason"], "ended");
    next(&mut agent, "chat_ended");

    let transcript: Value = http()
        .get(kefu.url(&format!("/api/v1/contacts/{contact}/messages")))
        .bearer_auth(kefu.agent_token("1003"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(transcript["conversation"]["disposition"], "solved");
    assert_eq!(transcript["conversation"]["state"], "ended");
    let messages = transcript["messages"].as_array().unwrap();
    let note = messages.iter().find(|m| m["internal"] == true).unwrap();
    assert_eq!(note["body"], "customer is a VIP");
    let seqs: Vec<i64> = messages
        .iter()
        .map(|m| m["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());

    // An ended conversation is not offered again: the next one starts afresh.
    let (mut again, welcome_again) = connect_visitor(&kefu, welcome["token"].as_str(), 0);
    assert!(welcome_again["conversation"].is_null(), "{welcome_again}");
    let frames = drain(&mut again, Duration::from_millis(500));
    assert!(frames.iter().all(|f| f["type"] != "message"), "{frames:?}");
}

#[test]
fn an_internal_note_never_reaches_the_visitor() {
    let (_dir, kefu) = start();
    let mut agent = ready_agent(&kefu, "1003");
    let (mut visitor, welcome) = connect_visitor(&kefu, None, 0);
    say(&mut visitor, "v-1", "hello");
    let offer = next(&mut agent, "offer");
    let contact = offer["contact"].as_str().unwrap().to_owned();
    send(&mut agent, json!({"type": "accept", "contact": contact}));
    next(&mut agent, "chat_joined");
    for (id, kind, text) in [
        ("n-1", "chat_note", "secret note"),
        ("a-1", "chat_send", "visible reply"),
    ] {
        send(
            &mut agent,
            json!({"type": kind, "contact": contact, "id": id, "text": text}),
        );
        next(&mut agent, "chat_ack");
    }
    let live = drain(&mut visitor, Duration::from_secs(1));
    assert!(texts(&live).contains(&"visible reply".to_owned()));
    assert!(!json!(live).to_string().contains("secret note"), "{live:?}");
    // Nor on a reconnect from the start.
    let (mut again, _) = connect_visitor(&kefu, welcome["token"].as_str(), 0);
    let replayed = drain(&mut again, Duration::from_secs(1));
    let replayed_texts = texts(&replayed);
    assert!(
        replayed_texts.contains(&"visible reply".to_owned()),
        "{replayed:?}"
    );
    assert!(
        !replayed
            .iter()
            .any(|f| f.to_string().contains("secret note"))
    );
}

#[test]
fn a_resent_message_is_stored_once_and_a_reconnect_gets_exactly_what_it_missed() {
    let (_dir, kefu) = start();
    let (mut tab_a, welcome) = connect_visitor(&kefu, None, 0);
    let token = welcome["token"].as_str().unwrap().to_owned();
    let first = say(&mut tab_a, "m-1", "first");
    let again = say(&mut tab_a, "m-1", "first");
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["seq"], first["seq"]);
    let seen = first["seq"].as_u64().unwrap();

    // Tab B was away; tab A sent two more.
    let second = say(&mut tab_a, "m-2", "second");
    let third = say(&mut tab_a, "m-3", "third");
    let (mut tab_b, welcome_b) = connect_visitor(&kefu, Some(&token), seen);
    assert_eq!(welcome_b["visitor"], welcome["visitor"]);
    assert_eq!(welcome_b["conversation"]["state"], "open");
    let frames = drain(&mut tab_b, Duration::from_secs(1));
    let replayed: Vec<(u64, String)> = frames
        .iter()
        .filter(|f| f["type"] == "message")
        .map(|f| {
            (
                f["seq"].as_u64().unwrap(),
                f["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        replayed,
        [
            (second["seq"].as_u64().unwrap(), "second".to_owned()),
            (third["seq"].as_u64().unwrap(), "third".to_owned())
        ]
    );
}

#[test]
fn acked_messages_survive_kill_9_and_the_conversation_is_routed_again() {
    let dir = tempfile::tempdir().unwrap();
    let mut kefu = Kefu::start(dir.path(), options());
    let admin = kefu.printed_token("kefu_admin_").unwrap();
    let (mut visitor_socket, welcome) = connect_visitor(&kefu, None, 0);
    let token = welcome["token"].as_str().unwrap().to_owned();
    let mut acked = Vec::new();
    for n in 0..5 {
        let ack = say(
            &mut visitor_socket,
            &format!("k-{n}"),
            &format!("before kill {n}"),
        );
        assert_eq!(ack["type"], "ack", "{ack}");
        acked.push(format!("before kill {n}"));
    }
    kefu.signal_and_wait("KILL", Duration::from_secs(5))
        .expect("kefu died");
    drop(visitor_socket);
    drop(kefu);

    let restarted_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let kefu = Kefu::start(dir.path(), options());
    let (mut visitor_socket, welcome) = connect_visitor(&kefu, Some(&token), 0);
    assert_eq!(welcome["conversation"]["state"], "open");
    let replayed = drain(&mut visitor_socket, Duration::from_secs(1));
    assert_eq!(
        texts(&replayed),
        acked,
        "every acked message, once, in order"
    );
    // The same client id after the restart is still a duplicate.
    assert_eq!(
        say(&mut visitor_socket, "k-4", "before kill 4")["duplicate"],
        true
    );

    // Routed again: an agent who goes ready gets the conversation.
    let mut agent = ready_agent(&kefu, "1003");
    let offer = next(&mut agent, "offer");
    assert_eq!(offer["channel"], "chat");
    let contact = offer["contact"].as_str().unwrap().to_owned();
    // The contact left open by the kill continues: one contact, not two.
    let detail: Value = http()
        .get(kefu.url(&format!("/api/v1/contacts/{contact}?tenant=demo")))
        .bearer_auth(&admin)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let created_at = detail["created_at"].as_i64().unwrap();
    assert!(created_at < restarted_at, "{detail}");
    send(&mut agent, json!({"type": "accept", "contact": contact}));
    next(&mut agent, "chat_joined");
    send(
        &mut agent,
        json!({"type": "chat_history", "contact": contact}),
    );
    let history = next(&mut agent, "chat_history");
    assert_eq!(history["conversation"]["contact_id"], contact);
    let bodies: Vec<&str> = history["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["from"] == "visitor")
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, acked);
}

#[test]
fn bad_frames_get_an_error_naming_the_field_and_the_connection_stays_usable() {
    let (_dir, kefu) = start();
    let (mut socket, _) = connect_visitor(&kefu, None, 0);
    let cases = [
        ("{not json".to_owned(), "bad_json", "frame"),
        (
            json!({"type": "message", "text": "hi"}).to_string(),
            "bad_field",
            "id",
        ),
        (
            json!({"type": "message", "id": "has space", "text": "hi"}).to_string(),
            "bad_field",
            "`id`",
        ),
        (
            json!({"type": "read", "seq": "three"}).to_string(),
            "bad_field",
            "`seq`",
        ),
        (
            json!({"type": "shout"}).to_string(),
            "unknown_type",
            "`type`",
        ),
        (
            json!({"type": "message", "id": "big", "text": "x".repeat(4001)}).to_string(),
            "too_large",
            "`text`",
        ),
        (
            json!({"type": "message", "id": "huge", "text": "y".repeat(20_000)}).to_string(),
            "too_large",
            "",
        ),
    ];
    for (frame, code, field) in cases {
        socket.send(Message::text(frame.clone())).unwrap();
        let error = next(&mut socket, "error");
        assert_eq!(error["code"], code, "{frame:.80}: {error}");
        assert!(
            error["detail"].as_str().unwrap().contains(field),
            "{frame:.80}: {error}"
        );
    }
    send(&mut socket, json!({"type": "ping"}));
    next(&mut socket, "pong");
    assert_eq!(say(&mut socket, "ok-1", "still here")["type"], "ack");
}

#[test]
fn a_burst_over_the_rate_limit_is_refused_until_later() {
    let (_dir, kefu) = start();
    let (mut socket, _) = connect_visitor(&kefu, None, 0);
    for n in 0..30 {
        send(
            &mut socket,
            json!({"type": "message", "id": format!("b-{n}"), "text": "spam"}),
        );
    }
    let mut acked = 0;
    let mut limited = 0;
    while acked + limited < 30 {
        let frame = next_where(&mut socket, "ack or error", |f| {
            f["type"] == "ack" || f["type"] == "error"
        });
        if frame["type"] == "ack" {
            acked += 1;
        } else {
            assert_eq!(frame["code"], "rate_limited", "{frame}");
            assert!(frame["retry_after_ms"].as_u64().unwrap() > 0);
            limited += 1;
        }
    }
    assert!((10..30).contains(&acked), "acked {acked}");
    assert!(limited > 0);
    std::thread::sleep(Duration::from_millis(1200));
    assert_eq!(say(&mut socket, "later", "calm now")["type"], "ack");
}

#[test]
fn a_page_on_a_site_not_allowed_cannot_open_the_channel() {
    let (_dir, kefu) = start();
    let path = "/api/v1/chat/ws?channel=demo-shop";
    match open(&kefu, path, Some("https://evil.example")) {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("a foreign Origin was not refused: {:?}", other.map(|_| ())),
    }
    assert!(open(&kefu, path, Some("https://shop.example")).is_ok());
    let own = format!("http://{}", kefu.http);
    assert!(open(&kefu, path, Some(&own)).is_ok(), "kefu's own pages");
    match open(&kefu, "/api/v1/chat/ws?channel=nosuch", None) {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 404),
        other => panic!(
            "an unknown channel was not refused: {:?}",
            other.map(|_| ())
        ),
    }
}

#[test]
fn both_sides_continue_after_a_graceful_restart_with_nothing_lost_or_doubled() {
    let dir = tempfile::tempdir().unwrap();
    let mut kefu = Kefu::start(dir.path(), options());
    let mut agent = ready_agent(&kefu, "1003");
    let (mut visitor, welcome) = connect_visitor(&kefu, None, 0);
    let token = welcome["token"].as_str().unwrap().to_owned();
    say(&mut visitor, "v-1", "hello before the restart");
    let contact = accept_next_offer(&mut agent);
    send(
        &mut agent,
        json!({"type": "chat_send", "contact": contact, "id": "a-1", "text": "agent before"}),
    );
    next(&mut agent, "chat_ack");
    let seen = next_where(&mut visitor, "the agent's message", |f| {
        f["type"] == "message" && f["text"] == "agent before"
    });
    let last_seq = seen["seq"].as_u64().unwrap();

    let status = kefu
        .signal_and_wait("TERM", Duration::from_secs(10))
        .expect("kefu stopped");
    assert!(status.success(), "{status:?}");
    drop((agent, visitor, kefu));

    let kefu = Kefu::start(dir.path(), options());
    let (mut visitor, welcome) = connect_visitor(&kefu, Some(&token), last_seq);
    assert_eq!(welcome["conversation"]["state"], "open");
    let mut agent = ready_agent(&kefu, "1003");
    let contact = accept_next_offer(&mut agent);
    say(&mut visitor, "v-2", "hello after the restart");
    send(
        &mut agent,
        json!({"type": "chat_send", "contact": contact, "id": "a-2", "text": "agent after"}),
    );
    next(&mut agent, "chat_ack");
    next_where(&mut visitor, "the agent's message", |f| {
        f["type"] == "message" && f["text"] == "agent after"
    });

    send(
        &mut agent,
        json!({"type": "chat_history", "contact": contact}),
    );
    let history = next(&mut agent, "chat_history");
    let messages = history["messages"].as_array().unwrap();
    let seqs: Vec<u64> = messages
        .iter()
        .map(|m| m["seq"].as_u64().unwrap())
        .collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "no gap, no double"
    );
    let said: Vec<&str> = messages
        .iter()
        .filter(|m| m["from"] != "system")
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        said,
        [
            "hello before the restart",
            "agent before",
            "hello after the restart",
            "agent after"
        ]
    );
}

#[test]
fn a_visitor_who_leaves_while_waiting_is_abandoned() {
    let (_dir, kefu) = start();
    let (mut visitor, _) = connect_visitor(&kefu, None, 0);
    send(&mut visitor, json!({"type": "start", "topic": "sales"}));
    next(&mut visitor, "conversation");
    let waiting = next(&mut visitor, "waiting");
    assert_eq!(waiting["position"], 1);
    send(&mut visitor, json!({"type": "leave"}));
    assert_eq!(next(&mut visitor, "ended")["reason"], "abandoned");
    let queues: Value = http()
        .get(kefu.url("/api/v1/queues"))
        .bearer_auth(kefu.agent_token("1002"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let sales = queues
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["name"] == "sales")
        .unwrap();
    assert_eq!(sales["abandoned"], 1, "{sales}");
    // A topic the channel does not offer is refused, naming the field.
    send(&mut visitor, json!({"type": "start", "topic": "billing"}));
    let error = next(&mut visitor, "error");
    assert!(
        error["detail"].as_str().unwrap().contains("`topic`"),
        "{error}"
    );
}

#[test]
fn a_verified_customer_is_the_same_visitor_on_every_device() {
    let (_dir, kefu) = start();
    let sign = |key: &str| {
        let exp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 600;
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &json!({"sub": "cust-7", "name": "Ann Lee", "exp": exp}),
            &jsonwebtoken::EncodingKey::from_secret(key.as_bytes()),
        )
        .unwrap()
    };
    let hello = |socket: &mut Socket, jwt: &str| {
        send(socket, json!({"type": "hello", "v": 1, "identity": jwt}));
    };
    let mut phone = open(&kefu, "/api/v1/chat/ws?channel=demo", None).unwrap();
    hello(&mut phone, &sign(kefu::demo::CHAT_IDENTITY_KEY));
    let welcome = next(&mut phone, "welcome");
    assert_eq!(welcome["visitor"], "customer:cust-7");
    say(&mut phone, "p-1", "from my phone");

    let mut laptop = open(&kefu, "/api/v1/chat/ws?channel=demo", None).unwrap();
    hello(&mut laptop, &sign(kefu::demo::CHAT_IDENTITY_KEY));
    let welcome = next(&mut laptop, "welcome");
    assert_eq!(welcome["conversation"]["state"], "open");
    let replayed = drain(&mut laptop, Duration::from_millis(500));
    assert_eq!(texts(&replayed), ["from my phone"]);

    // The token alone, without the site's JWT, is not the customer.
    let (_, anonymous) = connect_visitor(&kefu, welcome["token"].as_str(), 0);
    assert_ne!(anonymous["visitor"], "customer:cust-7");
    assert!(anonymous["conversation"].is_null());

    let mut forger = open(&kefu, "/api/v1/chat/ws?channel=demo", None).unwrap();
    hello(&mut forger, &sign("guessed-key"));
    let error = next(&mut forger, "error");
    assert!(
        error["detail"].as_str().unwrap().contains("`identity`"),
        "{error}"
    );
}

#[test]
fn an_agent_handles_two_chats_at_once_and_each_message_reaches_its_own_visitor() {
    let (_dir, kefu) = start();
    let mut agent = ready_agent(&kefu, "1003");
    let mut visitors = Vec::new();
    let mut contacts = Vec::new();
    for n in 0..2 {
        let (mut visitor, _) = connect_visitor(&kefu, None, 0);
        say(
            &mut visitor,
            &format!("hi-{n}"),
            &format!("visitor {n} here"),
        );
        let contact = accept_next_offer(&mut agent);
        visitors.push(visitor);
        contacts.push(contact);
    }
    for (n, contact) in contacts.iter().enumerate() {
        send(
            &mut agent,
            json!({"type": "chat_send", "contact": contact, "id": format!("r-{n}"), "text": format!("answer for {n}")}),
        );
        next(&mut agent, "chat_ack");
    }
    for (n, visitor) in visitors.iter_mut().enumerate() {
        let frames = drain(visitor, Duration::from_millis(700));
        let answers: Vec<String> = texts(&frames)
            .into_iter()
            .filter(|t| t.starts_with("answer"))
            .collect();
        assert_eq!(answers, [format!("answer for {n}")]);
    }
}

#[test]
fn the_widget_and_the_agent_page_are_served() {
    let (_dir, kefu) = start();
    for (path, kind, needle) in [
        ("/widget/widget.js", "text/javascript", "data-channel"),
        ("/widget/", "text/html", "widget.js"),
        ("/agent/", "text/html", "agent.js"),
        ("/agent/agent.js", "text/javascript", "/api/v1/agent/ws"),
    ] {
        let response = http().get(kefu.url(path)).send().unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        assert!(response.text().unwrap().contains(needle), "{path}");
    }
}

/// A valid 1×1 PNG.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89\0\0\0\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\0\x05\0\x01\xff\x89\x99=\x1d\0\0\0\0IEND\xaeB`\x82";

#[test]
fn files_are_typed_by_their_bytes_and_served_only_by_their_signed_url() {
    let (_dir, kefu) = start();
    let mut agent = ready_agent(&kefu, "1003");
    let (mut visitor, welcome) = connect_visitor(&kefu, None, 0);
    let token = welcome["token"].as_str().unwrap().to_owned();
    let upload = |body: Vec<u8>, token: Option<&str>| {
        let request = http()
            .post(kefu.url("/api/v1/chat/uploads?channel=demo"))
            .body(body);
        match token {
            Some(token) => request.header("x-kefu-visitor", token),
            None => request,
        }
        .send()
        .unwrap()
    };
    assert_eq!(
        upload(PNG.to_vec(), Some(&token)).status(),
        409,
        "no chat yet"
    );
    say(&mut visitor, "v-1", "let me show you");
    let contact = accept_next_offer(&mut agent);

    assert_eq!(upload(PNG.to_vec(), None).status(), 401);
    let svg = upload(b"<svg onload=alert(1)></svg>".to_vec(), Some(&token));
    assert_eq!(svg.status(), 415);
    let huge = upload(vec![0xff; 5 * 1024 * 1024 + 1], Some(&token));
    assert_eq!(huge.status(), 413);
    let stored = upload(PNG.to_vec(), Some(&token));
    assert_eq!(stored.status(), 201);
    let stored: Value = stored.json().unwrap();
    assert_eq!(stored["content_type"], "image/png");

    send(
        &mut visitor,
        json!({"type": "message", "id": "v-2", "text": "photo.png", "upload": stored["id"]}),
    );
    assert_eq!(next(&mut visitor, "ack")["id"], "v-2");
    let heard = next_where(&mut agent, "the photo", |f| {
        f["type"] == "chat_message" && f["message"]["id"] == "v-2"
    });
    let url = heard["message"]["upload"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let image = http().get(kefu.url(&url)).send().unwrap();
    assert_eq!(image.status(), 200);
    assert_eq!(image.headers()["content-type"], "image/png");
    assert_eq!(image.headers()["x-content-type-options"], "nosniff");
    assert_eq!(image.bytes().unwrap().as_ref(), PNG);
    let forged = url.replace("sig=", "sig=00");
    assert_eq!(http().get(kefu.url(&forged)).send().unwrap().status(), 404);

    // The agent sends a PDF back; a file of another chat cannot be attached.
    let pdf: Value = http()
        .post(kefu.url(&format!("/api/v1/chat/uploads?contact={contact}")))
        .bearer_auth(kefu.agent_token("1003"))
        .body(b"%PDF-1.4 invoice".to_vec())
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(pdf["content_type"], "application/pdf");
    send(
        &mut agent,
        json!({"type": "chat_send", "contact": contact, "id": "a-1", "text": "your invoice", "upload": pdf["id"]}),
    );
    next(&mut agent, "chat_ack");
    let invoice = next_where(&mut visitor, "the invoice", |f| {
        f["type"] == "message" && f["id"] == "a-1"
    });
    assert_eq!(invoice["upload"]["content_type"], "application/pdf");
    let (mut stranger, _) = connect_visitor(&kefu, None, 0);
    say(&mut stranger, "s-1", "hi");
    send(
        &mut stranger,
        json!({"type": "message", "id": "s-2", "text": "mine?", "upload": stored["id"]}),
    );
    let refused = next(&mut stranger, "error");
    assert!(
        refused["detail"].as_str().unwrap().contains("`upload`"),
        "{refused}"
    );
}

#[test]
fn an_agent_transfers_a_chat_to_another_queue_and_its_history_goes_along() {
    let (_dir, kefu) = start();
    let mut alice = ready_agent(&kefu, "1001");
    let mut bob = ready_agent(&kefu, "1002");
    let (mut visitor, _) = connect_visitor(&kefu, None, 0);
    say(&mut visitor, "v-1", "I want to buy a licence");
    let first = accept_next_offer(&mut alice);

    send(
        &mut alice,
        json!({"type": "chat_transfer", "contact": first, "queue": "billing"}),
    );
    assert!(
        next(&mut alice, "error")["detail"]
            .as_str()
            .unwrap()
            .contains("`queue`")
    );
    send(
        &mut alice,
        json!({"type": "chat_transfer", "contact": first, "queue": "sales"}),
    );
    assert_eq!(next(&mut alice, "chat_transferred")["queue"], "sales");
    next_where(&mut visitor, "the transfer notice", |f| {
        f["type"] == "message" && f["text"] == "The chat was transferred to sales."
    });

    let second = next(&mut bob, "offer")["contact"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(second, first, "a new contact in the new queue");
    send(&mut bob, json!({"type": "accept", "contact": second}));
    next(&mut bob, "chat_joined");
    assert_eq!(next(&mut visitor, "agent")["name"], "Bob Li");
    send(&mut bob, json!({"type": "chat_history", "contact": second}));
    let history = next(&mut bob, "chat_history");
    assert_eq!(history["conversation"]["queue"], "sales");
    assert_eq!(history["messages"][0]["text"], "I want to buy a licence");

    send(
        &mut alice,
        json!({"type": "chat_send", "contact": first, "id": "late", "text": "still mine?"}),
    );
    assert!(
        next(&mut alice, "error")["detail"]
            .as_str()
            .unwrap()
            .contains("ended")
    );
    say(&mut visitor, "v-2", "thanks Bob");
    next_where(&mut bob, "the visitor's message", |f| {
        f["type"] == "chat_message" && f["message"]["text"] == "thanks Bob"
    });
}

#[test]
fn a_message_left_while_nobody_is_available_waits_for_an_agent_after_the_visitor_goes() {
    let (_dir, kefu) = start();
    let (mut visitor, welcome) = connect_visitor(&kefu, None, 0);
    assert_eq!(welcome["available"], false, "no agent is logged in");
    say(&mut visitor, "v-1", "please call me back about my order");
    next(&mut visitor, "message_left");
    drop(visitor);
    // Longer than the grace after which a waiting visitor who left is abandoned.
    std::thread::sleep(Duration::from_secs(17));
    let mut agent = ready_agent(&kefu, "1003");
    let contact = accept_next_offer(&mut agent);
    send(
        &mut agent,
        json!({"type": "chat_history", "contact": contact}),
    );
    let history = next(&mut agent, "chat_history");
    assert_eq!(history["conversation"]["message_left"], 1);
    assert_eq!(
        history["messages"][0]["text"],
        "please call me back about my order"
    );
    // The visitor comes back later and finds the answer.
    send(
        &mut agent,
        json!({"type": "chat_send", "contact": contact, "id": "a-1", "text": "Calling you now"}),
    );
    next(&mut agent, "chat_ack");
    let (mut back, welcome) = connect_visitor(&kefu, welcome["token"].as_str(), 0);
    assert_eq!(welcome["available"], true);
    let replayed = drain(&mut back, Duration::from_millis(500));
    assert!(
        texts(&replayed).contains(&"Calling you now".to_owned()),
        "{replayed:?}"
    );
}

#[test]
fn supervisors_manage_channels_and_canned_responses_through_the_api() {
    let (_dir, kefu) = start();
    let admin = kefu.printed_token("kefu_admin_").unwrap();
    let put = |path: &str, token: &str, body: Value| {
        http()
            .put(kefu.url(&format!("{path}?tenant=demo")))
            .bearer_auth(token)
            .json(&body)
            .send()
            .unwrap()
    };
    let agent = kefu.agent_token("1003");
    let channel = json!({"queues": ["sales"], "allowed_origins": ["https://shop.example"],
                         "identity_key": "a-key-of-sixteen-or-more"});
    assert_eq!(
        put("/api/v1/chat/channels/shop", &agent, channel.clone()).status(),
        403
    );
    for (bad, field) in [
        (json!({"queues": ["nosuch"]}), "`queues`"),
        (json!({"queues": []}), "`queues`"),
        (
            json!({"queues": ["sales"], "allowed_origins": ["shop.example/x"]}),
            "`allowed_origins`",
        ),
        (
            json!({"queues": ["sales"], "identity_key": "short"}),
            "`identity_key`",
        ),
        (json!({"queues": ["sales"], "colour": "red"}), "colour"),
    ] {
        let response = put("/api/v1/chat/channels/shop", &admin, bad);
        assert_eq!(response.status(), 422);
        let problem: Value = response.json().unwrap();
        assert!(
            problem["detail"].as_str().unwrap().contains(field),
            "{problem}"
        );
    }
    let stored: Value = put("/api/v1/chat/channels/shop", &admin, channel)
        .json()
        .unwrap();
    assert_eq!(stored["identity_key_set"], true);
    let listed: Value = http()
        .get(kefu.url("/api/v1/chat/channels"))
        .bearer_auth(&agent)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let shop = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "shop")
        .unwrap();
    assert_eq!(shop["allowed_origins"], json!(["https://shop.example"]));
    assert!(
        !listed.to_string().contains("a-key-of-sixteen"),
        "keys are never shown"
    );
    match open(
        &kefu,
        "/api/v1/chat/ws?channel=shop",
        Some("https://evil.example"),
    ) {
        Err(tungstenite::Error::Http(response)) => assert_eq!(response.status(), 403),
        other => panic!("not refused: {:?}", other.map(|_| ())),
    }

    assert_eq!(
        put(
            "/api/v1/chat/canned/thanks",
            &admin,
            json!({"body": "Thank you!"})
        )
        .status(),
        200
    );
    let canned: Value = http()
        .get(kefu.url("/api/v1/chat/canned"))
        .bearer_auth(&agent)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(
        canned
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["shortcut"] == "thanks")
    );
    let mut socket = ready_agent(&kefu, "1003");
    let (mut visitor, _) = connect_visitor(&kefu, None, 0);
    say(&mut visitor, "v-1", "hi");
    let contact = accept_next_offer(&mut socket);
    send(
        &mut socket,
        json!({"type": "chat_send", "contact": contact, "id": "a-1", "text": "/thanks"}),
    );
    next_where(&mut visitor, "the canned response", |f| {
        f["type"] == "message" && f["text"] == "Thank you!"
    });
}

#[test]
fn an_agent_gets_chats_up_to_their_chat_capacity_and_a_call_beside_them() {
    let (_dir, kefu) = start();
    let mut agent = ready_agent(&kefu, "1003");
    let mut visitors = Vec::new();
    let mut offers = Vec::new();
    for n in 0..3 {
        let (mut visitor, _) = connect_visitor(&kefu, None, 0);
        say(&mut visitor, &format!("c-{n}"), "hello");
        offers.push(
            next(&mut agent, "offer")["contact"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
        visitors.push(visitor);
    }
    for contact in &offers {
        send(&mut agent, json!({"type": "accept", "contact": contact}));
        next(&mut agent, "chat_joined");
    }
    // Capacity 3 chats: the fourth waits, first in line.
    let (mut fourth, _) = connect_visitor(&kefu, None, 0);
    send(&mut fourth, json!({"type": "start", "name": "Dan"}));
    next(&mut fourth, "conversation");
    assert_eq!(next(&mut fourth, "waiting")["position"], 1);
    assert!(
        drain(&mut agent, Duration::from_millis(500))
            .iter()
            .all(|f| f["type"] != "offer"),
        "no fourth chat offered"
    );
    // A call is another channel with its own capacity: offered beside the chats.
    let call: Value = http()
        .post(kefu.url("/api/v1/contacts"))
        .bearer_auth(kefu.agent_token("1001"))
        .json(&json!({"channel": "voice", "queue": "support"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let offer = next(&mut agent, "offer");
    assert_eq!(
        (offer["channel"].as_str(), offer["contact"].as_str()),
        (Some("voice"), call["id"].as_str())
    );
    send(
        &mut agent,
        json!({"type": "decline", "contact": call["id"]}),
    );

    // One chat ends and wrap-up is over: the fourth is offered.
    send(
        &mut agent,
        json!({"type": "chat_end", "contact": offers[0]}),
    );
    next(&mut agent, "chat_ended");
    send(
        &mut agent,
        json!({"type": "state", "state": "wrap_up_done"}),
    );
    let offer = next_where(&mut agent, "the fourth chat", |f| {
        f["type"] == "offer" && f["channel"] == "chat"
    });
    assert!(!offers.contains(&offer["contact"].as_str().unwrap().to_owned()));
}

/// Replaces the demo calendar `support` (every day, these hours; none: closed).
fn set_support_hours(kefu: &Kefu, admin: &str, hours: &[&str]) {
    let days = json!({"mon": hours, "tue": hours, "wed": hours, "thu": hours,
                      "fri": hours, "sat": hours, "sun": hours});
    let response = http()
        .put(kefu.url("/api/v1/calendars/support"))
        .bearer_auth(admin)
        .json(&json!({"time_zone": "Asia/Shanghai", "weekly": days}))
        .send()
        .unwrap();
    assert!(
        response.status().is_success(),
        "{}",
        response.text().unwrap()
    );
}

#[test]
fn a_chat_while_its_queue_is_closed_is_a_message_left_that_an_agent_gets_once_it_opens() {
    let (_dir, kefu) = start();
    let admin = kefu.printed_token("kefu_admin_").unwrap();
    set_support_hours(&kefu, &admin, &[]);
    let bound = http()
        .put(kefu.url("/api/v1/queues/support?tenant=demo"))
        .bearer_auth(&admin)
        .json(&json!({"calendar": "support"}))
        .send()
        .unwrap();
    assert!(bound.status().is_success(), "{}", bound.text().unwrap());
    // An agent of the queue is ready, but the queue is closed.
    let mut agent = ready_agent(&kefu, "1003");
    let (mut visitor, welcome) = connect_visitor(&kefu, None, 0);
    assert_eq!(welcome["available"], false, "the queue is closed");
    assert_eq!(
        say(&mut visitor, "v-1", "are you open on Sunday?")["type"],
        "ack"
    );
    next(&mut visitor, "message_left");
    drop(visitor);
    // It neither ends nor reaches the agent while the queue stays closed,
    // not even after the grace that abandons a visitor who left a queue.
    let meanwhile = drain(&mut agent, Duration::from_secs(17));
    assert!(
        !meanwhile.iter().any(|f| f["type"] == "offer"),
        "{meanwhile:?}"
    );
    set_support_hours(&kefu, &admin, &["00:00-24:00"]);
    let contact = accept_next_offer(&mut agent);
    send(
        &mut agent,
        json!({"type": "chat_history", "contact": contact}),
    );
    let history = next(&mut agent, "chat_history");
    assert_eq!(history["conversation"]["message_left"], 1);
    assert_eq!(history["conversation"]["state"], "open");
    assert_eq!(history["messages"][0]["text"], "are you open on Sunday?");
    let (_back, welcome) = connect_visitor(&kefu, welcome["token"].as_str(), 0);
    assert_eq!(welcome["available"], true, "open, and the agent has room");
}

#[test]
fn an_agent_transfers_a_chat_to_a_named_agent_who_gets_it_before_anyone_idle_longer() {
    let (_dir, kefu) = start();
    let mut bob = ready_agent(&kefu, "1002");
    let mut chen = ready_agent(&kefu, "1003");
    let (mut visitor, _) = connect_visitor(&kefu, None, 0);
    say(&mut visitor, "v-1", "I need a quote for 50 seats");
    let first = accept_next_offer(&mut chen);
    // Alice goes ready after Bob: Bob has been idle longer.
    let mut alice = ready_agent(&kefu, "1001");

    // Bob does not serve the chat's queue (support), and 1099 is nobody:
    // refused, and the chat stays Chen's.
    for (agent, refusal) in [("1002", "does not serve"), ("1099", "no agent")] {
        send(
            &mut chen,
            json!({"type": "chat_transfer", "contact": first, "agent": agent}),
        );
        let error = next(&mut chen, "error")["detail"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            error.starts_with("`agent`") && error.contains(refusal),
            "{error}"
        );
    }
    send(
        &mut chen,
        json!({"type": "chat_send", "contact": first, "id": "c-1", "text": "One moment please"}),
    );
    assert_eq!(next(&mut chen, "chat_ack")["seq"], 3);

    send(
        &mut chen,
        json!({"type": "chat_transfer", "contact": first, "agent": "1001", "queue": "sales"}),
    );
    let transferred = next(&mut chen, "chat_transferred");
    assert_eq!(
        (&transferred["agent"], &transferred["queue"]),
        (&json!("1001"), &json!("sales"))
    );
    next_where(&mut visitor, "the transfer notice", |f| {
        f["type"] == "message" && f["text"] == "The chat was transferred to agent 1001 (sales)."
    });
    let second = next(&mut alice, "offer")["contact"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_ne!(second, first, "a new contact, for Alice");
    send(&mut alice, json!({"type": "accept", "contact": second}));
    next(&mut alice, "chat_joined");
    assert_eq!(next(&mut visitor, "agent")["name"], "Alice Wang");
    let offered_to_bob = drain(&mut bob, Duration::from_millis(500));
    assert!(
        !offered_to_bob.iter().any(|f| f["type"] == "offer"),
        "{offered_to_bob:?}"
    );
    send(
        &mut alice,
        json!({"type": "chat_history", "contact": second}),
    );
    let history = next(&mut alice, "chat_history");
    assert_eq!(history["conversation"]["queue"], "sales");
    assert_eq!(
        history["messages"][0]["text"],
        "I need a quote for 50 seats"
    );
}
