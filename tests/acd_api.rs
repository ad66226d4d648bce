//! The ACD through its API on a running `kefu serve --demo`: agent state,
//! live queues, generic contacts and the agent WebSocket. Waits poll with a
//! generous deadline; times are asserted only as lower bounds or from the
//! stored event log, never against the wall clock of the test.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::kefu::{Kefu, Options, http};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// How long anything the ACD does may take to show.
const PATIENCE: Duration = Duration::from_secs(20);

struct Demo {
    dir: tempfile::TempDir,
    kefu: Kefu,
    admin: String,
}

fn demo_options() -> Options {
    Options {
        demo: true,
        ..Options::default()
    }
}

impl Demo {
    fn start() -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let kefu = Kefu::start(dir.path(), demo_options());
        let admin = kefu.printed_token("kefu_admin_").unwrap();
        Demo { dir, kefu, admin }
    }

    /// Stops kefu (SIGTERM) and starts it again on the same data directory.
    fn restart(&mut self) {
        let status = self.kefu.signal_and_wait("TERM", PATIENCE);
        assert!(status.is_some_and(|s| s.success()), "{status:?}");
        self.kefu = Kefu::start(self.dir.path(), demo_options());
    }

    fn token(&self, who: &str) -> String {
        if who == "admin" {
            self.admin.clone()
        } else {
            self.kefu.agent_token(who)
        }
    }

    /// Sends a request as `who` (`admin` or an extension); the admin token
    /// names the demo tenant.
    fn call(
        &self,
        method: &str,
        path: &str,
        who: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let token = self.token(who);
        common::demo::request(&self.kefu, &token, method, path, body, who == "admin")
    }

    fn ok(&self, method: &str, path: &str, who: &str, body: Option<Value>) -> Value {
        let (status, value) = self.call(method, path, who, body);
        assert!(
            status.is_success(),
            "{method} {path} as {who}: {status} {value}"
        );
        value
    }

    fn ready(&self, extension: &str) {
        self.ok(
            "POST",
            &format!("/api/v1/agents/{extension}/login"),
            extension,
            None,
        );
        let status = self.ok(
            "PUT",
            &format!("/api/v1/agents/{extension}/state"),
            extension,
            Some(json!({"state": "ready"})),
        );
        assert!(
            matches!(status["state"].as_str(), Some("ready" | "busy")),
            "{status}"
        );
    }

    fn configure(&self, queue: &str, settings: Value) {
        self.ok(
            "PUT",
            &format!("/api/v1/queues/{queue}"),
            "admin",
            Some(settings),
        );
    }

    fn contact(&self, body: Value) -> String {
        let (status, value) = self.call("POST", "/api/v1/contacts", "admin", Some(body));
        assert_eq!(status, StatusCode::CREATED, "{value}");
        value["id"].as_str().unwrap().to_owned()
    }

    fn voice(&self, queue: &str) -> String {
        self.contact(json!({"channel": "voice", "queue": queue}))
    }

    fn detail(&self, id: &str) -> Value {
        self.ok("GET", &format!("/api/v1/contacts/{id}"), "admin", None)
    }

    fn answer(&self, id: &str, extension: &str, verb: &str) -> (StatusCode, Value) {
        self.call(
            "POST",
            &format!("/api/v1/contacts/{id}/{verb}"),
            extension,
            None,
        )
    }

    fn queue(&self, name: &str) -> Value {
        let queues = self.ok("GET", "/api/v1/queues", "admin", None);
        queues
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["name"] == name)
            .unwrap()
            .clone()
    }

    fn agent(&self, extension: &str) -> Value {
        let agents = self.ok("GET", "/api/v1/agents", "admin", None);
        agents
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["extension"] == extension)
            .unwrap()
            .clone()
    }

    /// Polls until `found` returns something.
    fn wait_for<T>(&self, what: &str, mut found: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(value) = found() {
                return value;
            }
            assert!(Instant::now() < deadline, "gave up waiting for {what}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the contact is offered to exactly these agents.
    fn wait_offered(&self, id: &str, agents: &[&str]) {
        self.wait_for(&format!("{id} offered to {agents:?}"), || {
            let offered = self.detail(id)["live"]["offered_to"].clone();
            (offered == json!(agents)).then_some(())
        });
    }

    /// The one agent the contact is offered to, once it is.
    fn offered_agent(&self, id: &str) -> String {
        self.wait_for(&format!("{id} offered"), || {
            let offered = self.detail(id)["live"]["offered_to"].clone();
            offered[0].as_str().map(str::to_owned)
        })
    }

    /// The agent the contact was offered to first, from its event log.
    fn first_offer(&self, id: &str) -> String {
        let events = self.events_until(id, "offered");
        let offered = events.iter().find(|e| e["kind"] == "offered").unwrap();
        data(offered)["agent"].as_str().unwrap().to_owned()
    }

    /// The stored events of a contact, once one of `kind` is there.
    fn events_until(&self, id: &str, kind: &str) -> Vec<Value> {
        self.wait_for(&format!("{kind} event of {id}"), || {
            let events = self.detail(id)["events"].as_array().unwrap().clone();
            events.iter().any(|e| e["kind"] == kind).then_some(events)
        })
    }

    fn socket(&self, extension: &str) -> WebSocket<TcpStream> {
        let stream = TcpStream::connect(self.kefu.http).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let url = format!(
            "ws://{}/api/v1/agent/ws?token={}",
            self.kefu.http,
            self.token(extension)
        );
        let (socket, _) = tungstenite::client(url.as_str(), stream).unwrap();
        socket
    }
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

fn data(event: &Value) -> Value {
    serde_json::from_str(event["data"].as_str().unwrap()).unwrap()
}

/// The next event of this type on the agent's WebSocket (others are skipped).
fn next_event(socket: &mut WebSocket<TcpStream>, kind: &str) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        assert!(Instant::now() < deadline, "no `{kind}` event came");
        match socket.read() {
            Ok(Message::Text(text)) => {
                let event: Value = serde_json::from_str(text.as_str()).unwrap();
                if event["type"] == kind {
                    return event;
                }
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("WebSocket failed waiting for `{kind}`: {e}"),
        }
    }
}

fn send(socket: &mut WebSocket<TcpStream>, command: Value) {
    socket.send(Message::text(command.to_string())).unwrap();
}

#[test]
fn chats_are_offered_up_to_chat_capacity_while_a_call_is_offered_separately() {
    let demo = Demo::start();
    demo.ready("1001");
    let chats: Vec<String> = (0..4)
        .map(|_| demo.contact(json!({"channel": "chat", "queue": "support"})))
        .collect();
    let offered = demo.wait_for("three chats offered to 1001", || {
        let contacts = demo.agent("1001")["contacts"].as_array().unwrap().clone();
        (contacts.len() == 3).then_some(contacts)
    });
    assert!(
        offered
            .iter()
            .all(|c| c["channel"] == "chat" && c["stage"] == "offered")
    );
    let waiting: Vec<&String> = chats
        .iter()
        .filter(|id| demo.detail(id)["live"]["stage"] == "waiting")
        .collect();
    assert_eq!(waiting, [&chats[3]], "the fourth chat waits");
    // The three chats being offered are still in line ahead of it.
    assert_eq!(demo.detail(&chats[3])["live"]["position"], 4);

    let call = demo.voice("support");
    demo.wait_offered(&call, &["1001"]);
    for id in chats.iter().take(3).chain([&call]) {
        let (status, body) = demo.answer(id, "1001", "accept");
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
    let agent = demo.agent("1001");
    assert_eq!(agent["state"], "busy");
    assert_eq!(agent["capacity"]["chat"], 3);
    let stages: Vec<(&str, &str)> = agent["contacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["channel"].as_str().unwrap(), c["stage"].as_str().unwrap()))
        .collect();
    assert_eq!(
        stages
            .iter()
            .filter(|s| **s == ("chat", "assigned"))
            .count(),
        3
    );
    assert_eq!(
        stages
            .iter()
            .filter(|s| **s == ("voice", "assigned"))
            .count(),
        1
    );
    assert_eq!(demo.detail(&chats[3])["live"]["stage"], "waiting");

    let queue = demo.queue("support");
    assert_eq!(queue["offered"], 5, "{queue}");
    assert_eq!(queue["answered"], 4, "{queue}");
    assert_eq!(queue["waiting"], 1, "{queue}");
    assert_eq!(queue["agents_logged_in"], 1, "{queue}");
    let row = demo.detail(&call);
    assert_eq!(row["state"], "assigned");
    assert_eq!(row["agent_id"], agent["user_id"]);
}

#[test]
fn an_offer_that_rings_out_goes_to_the_next_agent() {
    let demo = Demo::start();
    demo.configure("sales", json!({"offer_timeout_secs": 1}));
    demo.ready("1001");
    demo.ready("1002");
    let call = demo.voice("sales");
    let first = demo.offered_agent(&call);
    let next = if first == "1001" { "1002" } else { "1001" };
    let events = demo.events_until(&call, "no_answer");
    let kinds = kinds(&events);
    assert_eq!(
        kinds[..4],
        ["created", "queued", "offered", "no_answer"],
        "{kinds:?}"
    );
    assert_eq!(data(&events[3])["agent"], first.as_str());
    let events = demo.wait_for("the offer to the next agent", || {
        let events = demo.detail(&call)["events"].as_array().unwrap().clone();
        (events.len() > 4).then_some(events)
    });
    assert_eq!(events[4]["kind"], "offered");
    assert_eq!(data(&events[4])["agent"], next);
    let queue = demo.queue("sales");
    assert_eq!(
        (queue["offered"].as_u64(), queue["answered"].as_u64()),
        (Some(1), Some(0))
    );
}

#[test]
fn a_declined_offer_goes_to_the_next_agent_and_counts_once_answered() {
    let demo = Demo::start();
    demo.configure("sales", json!({"wrap_up_secs": 0}));
    demo.ready("1001");
    demo.ready("1002");
    let call = demo.voice("sales");
    let first = demo.offered_agent(&call);
    let next = if first == "1001" { "1002" } else { "1001" };
    let (status, problem) = demo.answer(&call, next, "accept");
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "only the offered agent may accept"
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("not being offered"),
        "{problem}"
    );

    let (status, _) = demo.answer(&call, &first, "decline");
    assert_eq!(status, StatusCode::NO_CONTENT);
    demo.wait_offered(&call, &[next]);
    let (status, _) = demo.answer(&call, next, "accept");
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = demo.answer(&call, &first, "end");
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "only the contact's agent ends it"
    );
    let (status, _) = demo.answer(&call, next, "end");
    assert_eq!(status, StatusCode::NO_CONTENT);

    let events = demo.events_until(&call, "ended");
    assert_eq!(
        kinds(&events),
        [
            "created", "queued", "offered", "declined", "offered", "accepted", "ended"
        ]
    );
    assert_eq!(data(&events[3])["agent"], first.as_str());
    assert_eq!(data(&events[5])["agent"], next);
    assert!(data(&events[5])["wait_ms"].is_u64());
    assert!(data(&events[6])["talk_ms"].is_u64());
    let row = demo.detail(&call);
    assert_eq!(
        (row["state"].as_str(), row["disposition"].as_str()),
        (Some("ended"), Some("completed"))
    );
    assert!(row["ended_at"].is_i64() && row["live"].is_null());
    let queue = demo.queue("sales");
    assert_eq!(
        (queue["offered"].as_u64(), queue["answered"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(queue["service_level"], 1.0, "{queue}");
    let metrics = http()
        .get(demo.kefu.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    for line in [
        r#"kefu_acd_contacts_total{event="answered"} 1"#,
        r#"kefu_acd_contacts_total{event="completed"} 1"#,
        "kefu_acd_contacts_active 0",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }
}

#[test]
fn an_abandoned_contact_counts_as_abandoned_with_its_wait() {
    let demo = Demo::start();
    let call = demo.voice("sales");
    assert_eq!(demo.detail(&call)["live"]["stage"], "waiting");
    std::thread::sleep(Duration::from_millis(300));
    let (status, _) = demo.answer(&call, "admin", "abandon");
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = demo.answer(&call, "admin", "abandon");
    assert_eq!(status, StatusCode::NOT_FOUND, "a contact is abandoned once");

    let events = demo.events_until(&call, "abandoned");
    assert_eq!(kinds(&events), ["created", "queued", "abandoned"]);
    assert!(data(&events[2])["wait_ms"].as_u64().unwrap() >= 300);
    let row = demo.detail(&call);
    assert_eq!(row["disposition"], "abandoned");
    let queue = demo.queue("sales");
    assert_eq!(
        (queue["abandoned"].as_u64(), queue["waiting"].as_u64()),
        (Some(1), Some(0))
    );
    assert!(
        queue["average_abandon_wait_ms"].as_u64().unwrap() >= 300,
        "{queue}"
    );
}

#[test]
fn a_higher_priority_contact_overtakes_earlier_ones() {
    let demo = Demo::start();
    let early = demo.voice("sales");
    let vip = demo.contact(json!({"channel": "voice", "queue": "sales", "priority": 7}));
    assert_eq!(demo.detail(&vip)["live"]["position"], 1);
    assert_eq!(demo.detail(&early)["live"]["position"], 2);
    assert_eq!(demo.queue("sales")["waiting"], 2);
    demo.ready("1002");
    assert_eq!(demo.first_offer(&vip), "1002");
    assert_eq!(demo.detail(&early)["live"]["stage"], "waiting");
}

#[test]
fn a_returning_customer_is_offered_to_their_last_agent() {
    let demo = Demo::start();
    demo.configure("sales", json!({"sticky_secs": 300, "wrap_up_secs": 0}));
    demo.ready("1002");
    let first =
        demo.contact(json!({"channel": "voice", "queue": "sales", "customer": "+8613800000001"}));
    demo.wait_offered(&first, &["1002"]);
    assert_eq!(
        demo.answer(&first, "1002", "accept").0,
        StatusCode::NO_CONTENT
    );
    // 1001 is now idle longer than 1002 will be, so longest-idle alone would pick 1001.
    demo.ready("1001");
    assert_eq!(demo.answer(&first, "1002", "end").0, StatusCode::NO_CONTENT);
    let again =
        demo.contact(json!({"channel": "voice", "queue": "sales", "customer": "+8613800000001"}));
    assert_eq!(demo.first_offer(&again), "1002");
    let stranger =
        demo.contact(json!({"channel": "voice", "queue": "sales", "customer": "+8613800000002"}));
    assert_eq!(demo.first_offer(&stranger), "1001");
}

#[test]
fn wrap_up_delays_the_next_offer() {
    let demo = Demo::start();
    demo.configure("sales", json!({"wrap_up_secs": 2}));
    demo.ready("1002");
    let mut socket = demo.socket("1002");
    next_event(&mut socket, "hello");
    let first = demo.voice("sales");
    demo.wait_offered(&first, &["1002"]);
    assert_eq!(
        demo.answer(&first, "1002", "accept").0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(demo.answer(&first, "1002", "end").0, StatusCode::NO_CONTENT);
    let wrap_up = loop {
        let state = next_event(&mut socket, "state");
        if state["state"] == "wrap_up" {
            break state;
        }
    };
    assert!(wrap_up["wrap_up_until"].is_i64());
    let second = demo.voice("sales");
    let offer = next_event(&mut socket, "offer");
    assert_eq!(offer["contact"], second.as_str());

    let ended = demo.events_until(&first, "ended");
    let ended_at = ended.last().unwrap()["at"].as_i64().unwrap();
    let offered = demo.events_until(&second, "offered");
    let offered_at = offered.last().unwrap()["at"].as_i64().unwrap();
    assert!(
        offered_at >= ended_at + 2000,
        "offered {} ms after the end, inside the 2 s wrap-up",
        offered_at - ended_at
    );
}

#[test]
fn the_agent_websocket_pushes_offers_and_takes_answers() {
    let demo = Demo::start();
    let mut socket = demo.socket("1003");
    let hello = next_event(&mut socket, "hello");
    assert_eq!(hello["agent"]["extension"], "1003");
    assert_eq!(hello["agent"]["state"], "logged_out");
    demo.ok("POST", "/api/v1/agents/1003/login", "1003", None);
    let state = next_event(&mut socket, "state");
    assert_eq!(
        (state["state"].as_str(), state["reason"].as_str()),
        (Some("not_ready"), Some("logged-in"))
    );
    send(&mut socket, json!({"type": "state", "state": "ready"}));
    assert_eq!(next_event(&mut socket, "state")["state"], "ready");

    let chat = demo.contact(json!({
        "channel": "chat", "queue": "support", "customer": "visitor-9",
        "skills": [{"name": "chinese", "min_level": 8}]
    }));
    let offer = next_event(&mut socket, "offer");
    assert_eq!(offer["contact"], chat.as_str());
    assert_eq!(
        (offer["channel"].as_str(), offer["queue"].as_str()),
        (Some("chat"), Some("support"))
    );
    assert_eq!(offer["customer"], "visitor-9");
    assert_eq!(offer["extension"], "1003");
    assert!(offer["deadline"].is_i64());

    send(
        &mut socket,
        json!({"type": "accept", "contact": "no-such-contact"}),
    );
    let error = next_event(&mut socket, "error");
    assert!(
        error["detail"]
            .as_str()
            .unwrap()
            .contains("no-such-contact"),
        "{error}"
    );
    send(
        &mut socket,
        json!({"type": "state", "state": "not_ready", "reason": "x".repeat(65)}),
    );
    let error = next_event(&mut socket, "error");
    assert!(
        error["detail"].as_str().unwrap().contains("reason"),
        "{error}"
    );
    send(&mut socket, json!({"type": "accept"}));
    let error = next_event(&mut socket, "error");
    assert!(
        error["detail"].as_str().unwrap().contains("contact"),
        "{error}"
    );
    send(&mut socket, json!({"type": "accept", "contact": chat}));
    let assigned = next_event(&mut socket, "assigned");
    assert_eq!(assigned["contact"], chat.as_str());
    send(&mut socket, json!({"type": "end", "contact": chat}));
    let ended = next_event(&mut socket, "contact_ended");
    assert_eq!(ended["contact"], chat.as_str());
    demo.events_until(&chat, "ended");

    let stream = TcpStream::connect(demo.kefu.http).unwrap();
    let url = format!("ws://{}/api/v1/agent/ws", demo.kefu.http);
    match tungstenite::client(url.as_str(), stream) {
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
            assert_eq!(response.status(), 401);
        }
        Err(other) => panic!("handshake without a token: {other}"),
        Ok(_) => panic!("a WebSocket without a token was accepted"),
    }
}

#[test]
fn a_skill_no_agent_has_keeps_the_contact_waiting() {
    let demo = Demo::start();
    demo.ready("1001");
    let chat = demo.contact(json!({
        "channel": "chat", "queue": "support",
        "skills": [{"name": "chinese", "min_level": 9}]
    }));
    demo.ready("1003");
    assert_eq!(demo.first_offer(&chat), "1003");
}

#[test]
fn agent_state_and_contact_requests_are_checked() {
    let demo = Demo::start();
    let (status, _) = demo.call("POST", "/api/v1/agents/1001/login", "1002", None);
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an agent changes only their own state"
    );
    let (status, problem) = demo.call("GET", "/api/v1/agents", "1001", None);
    assert_eq!(status, StatusCode::OK, "{problem}");
    let extensions: Vec<&str> = problem
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["extension"].as_str().unwrap())
        .collect();
    // Supervisor 1009 has a phone, so the ACD knows them too (logged out).
    assert_eq!(extensions, ["1001", "1002", "1003", "1009"]);
    let unnamed = http()
        .get(demo.kefu.url("/api/v1/agents"))
        .bearer_auth(&demo.admin)
        .send()
        .unwrap();
    assert_eq!(
        unnamed.status(),
        StatusCode::BAD_REQUEST,
        "the admin token names the tenant"
    );

    let (status, problem) = demo.call(
        "PUT",
        "/api/v1/agents/1001/state",
        "1001",
        Some(json!({"state": "ready"})),
    );
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "ready before login: {problem}"
    );
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("1001 is not logged in"),
        "{problem}"
    );
    demo.ok("POST", "/api/v1/agents/1001/login", "admin", None);
    for (body, field) in [
        (json!({"state": "lunch"}), "state"),
        (json!({"state": "not_ready"}), "reason"),
        (json!({"status": "ready"}), "state"),
    ] {
        let (status, problem) = demo.call(
            "PUT",
            "/api/v1/agents/1001/state",
            "1001",
            Some(body.clone()),
        );
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        assert!(
            problem["detail"].as_str().unwrap().contains(field),
            "{body}: {problem}"
        );
    }
    let raw = http()
        .put(demo.kefu.url("/api/v1/agents/1001/state"))
        .bearer_auth(demo.token("1001"))
        .header("content-type", "application/json")
        .body("{\"state\": ")
        .send()
        .unwrap();
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    let lunch = demo.ok(
        "PUT",
        "/api/v1/agents/1001/state",
        "1001",
        Some(json!({"state": "not_ready", "reason": "lunch"})),
    );
    assert_eq!(
        (lunch["state"].as_str(), lunch["reason"].as_str()),
        (Some("not_ready"), Some("lunch"))
    );

    for (body, status) in [
        (
            json!({"channel": "fax", "queue": "sales"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"channel": "chat", "queue": "billing"}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"channel": "chat", "queue": "sales", "priority": 12}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"channel": "chat", "queue": "sales", "skills": [{"name": "french"}]}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"channel": "chat", "queue": "sales", "priority": -1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (got, problem) = demo.call("POST", "/api/v1/contacts", "admin", Some(body.clone()));
        assert_eq!(got, status, "{body}: {problem}");
    }
    let (status, problem) = demo.call(
        "PUT",
        "/api/v1/queues/sales",
        "1001",
        Some(json!({"wrap_up_secs": 1})),
    );
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, problem) = demo.call(
        "PUT",
        "/api/v1/queues/sales",
        "admin",
        Some(json!({"strategy": "fastest"})),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("strategy"),
        "{problem}"
    );

    demo.ok(
        "PUT",
        "/api/v1/agents/1001/state",
        "1001",
        Some(json!({"state": "ready"})),
    );
    let chat = demo.contact(json!({"channel": "chat", "queue": "sales"}));
    demo.wait_offered(&chat, &["1001"]);
    assert_eq!(
        demo.answer(&chat, "1001", "accept").0,
        StatusCode::NO_CONTENT
    );
    let (status, problem) = demo.call("POST", "/api/v1/agents/1001/logout", "1001", None);
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(demo.answer(&chat, "1001", "end").0, StatusCode::NO_CONTENT);
    let out = demo.ok("POST", "/api/v1/agents/1001/logout", "1001", None);
    assert_eq!(out["state"], "logged_out");

    let openapi: Value = http()
        .get(demo.kefu.url("/api/v1/openapi.json"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    for path in [
        "/api/v1/agents",
        "/api/v1/agents/{ext}/state",
        "/api/v1/queues/{name}",
        "/api/v1/contacts",
        "/api/v1/contacts/{id}/decline",
        "/api/v1/agent/ws",
    ] {
        assert!(openapi["paths"][path].is_object(), "{path} is documented");
    }
}

#[test]
fn a_supervisor_manages_any_agent_of_their_tenant() {
    let demo = Demo::start();
    let token = tokio::runtime::Runtime::new().unwrap().block_on(async {
        let url = kefu::config::DatabaseUrl::Sqlite(format!(
            "sqlite://{}/kefu.db?mode=rwc",
            demo.kefu.data_dir.display()
        ));
        let store = kefu::store::Store::open(&url, 1).await.unwrap();
        let tenant = store.tenant_by_name("demo").await.unwrap().unwrap();
        let (supervisor, _) = store
            .ensure_user(&kefu::store::NewUser {
                tenant_id: &tenant.id,
                username: "lead",
                display_name: "Team Lead",
                role: kefu::store::Role::Supervisor,
                extension: None,
                password: None,
            })
            .await
            .unwrap();
        let token = store
            .issue_token(
                "test",
                kefu::store::Scope::Agent,
                Some(&tenant.id),
                Some(&supervisor.id),
            )
            .await
            .unwrap();
        store.close().await;
        token.secret
    });
    let as_lead = |request: reqwest::blocking::RequestBuilder| {
        let response = request.bearer_auth(&token).send().unwrap();
        let status = response.status();
        (status, response.json::<Value>().unwrap_or(Value::Null))
    };
    let (status, body) = as_lead(http().post(demo.kefu.url("/api/v1/agents/1001/login")));
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = as_lead(
        http()
            .put(demo.kefu.url("/api/v1/agents/1001/state"))
            .json(&json!({"state": "not_ready", "reason": "coaching"})),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["reason"], "coaching");
    let (status, body) = as_lead(
        http()
            .put(demo.kefu.url("/api/v1/queues/support"))
            .json(&json!({"strategy": "round-robin", "offer_timeout_secs": 5})),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(demo.queue("support")["strategy"], "round-robin");
    let (status, _) = as_lead(
        http()
            .post(demo.kefu.url("/api/v1/contacts/none/accept"))
            .json(&json!({"agent": "1001"})),
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[test]
fn a_capacity_change_applies_to_the_next_offers() {
    let demo = Demo::start();
    let (status, problem) = demo.call(
        "PUT",
        "/api/v1/agents/1003/capacity",
        "1003",
        Some(json!({"chat": 1})),
    );
    assert_eq!(status, StatusCode::FORBIDDEN, "{problem}");
    let (status, problem) = demo.call(
        "PUT",
        "/api/v1/agents/1003/capacity",
        "admin",
        Some(json!({"chat": 300})),
    );
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().contains("chat"),
        "{problem}"
    );
    demo.configure("support", json!({"wrap_up_secs": 0}));
    demo.ready("1003");
    let status = demo.ok(
        "PUT",
        "/api/v1/agents/1003/capacity",
        "admin",
        Some(json!({"chat": 1, "voice_blocks_other_channels": true})),
    );
    assert_eq!(status["capacity"]["chat"], 1);
    assert_eq!(status["capacity"]["voice"], 1, "left as it was");
    let call = demo.voice("support");
    assert_eq!(demo.first_offer(&call), "1003");
    let first = demo.contact(json!({"channel": "chat", "queue": "support"}));
    assert_eq!(
        demo.detail(&first)["live"]["stage"],
        "waiting",
        "a voice contact blocks chats"
    );
    assert_eq!(
        demo.answer(&call, "1003", "accept").0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(demo.answer(&call, "1003", "end").0, StatusCode::NO_CONTENT);
    demo.wait_offered(&first, &["1003"]);
    let second = demo.contact(json!({"channel": "chat", "queue": "support"}));
    assert_eq!(
        demo.detail(&second)["live"]["stage"],
        "waiting",
        "one chat at a time"
    );
    let stored = demo.ok(
        "PUT",
        "/api/v1/agents/1003/capacity",
        "admin",
        Some(json!({})),
    );
    assert_eq!(stored["capacity"]["chat"], 1, "the change is stored");
}

/// A refused `POST /api/v1/contacts`: 201 with `state` `timed_out`, the
/// reason and the target; the stored contact ended at once.
fn assert_refused(demo: &Demo, queue: &str, reason: &str, target: &str) {
    let (status, created) = demo.call(
        "POST",
        "/api/v1/contacts",
        "admin",
        Some(json!({"channel": "chat", "queue": queue})),
    );
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        (&created["state"], &created["reason"], &created["target"]),
        (&json!("timed_out"), &json!(reason), &json!(target)),
        "{created}"
    );
    let id = created["id"].as_str().unwrap();
    let events = demo.events_until(id, "timed_out");
    assert_eq!(kinds(&events), ["created", "queued", "timed_out"]);
    assert_eq!(data(&events[2])["reason"], reason);
    assert_eq!(data(&events[2])["target"], target);
    let row = demo.detail(id);
    assert_eq!(
        (row["state"].as_str(), row["disposition"].as_str()),
        (Some("timed_out"), Some("timed_out"))
    );
    assert!(row["live"].is_null(), "{row}");
}

/// A contact the queue took: 201 with `state` `queued`.
fn assert_queued(demo: &Demo, queue: &str) -> String {
    let (status, created) = demo.call(
        "POST",
        "/api/v1/contacts",
        "admin",
        Some(json!({"channel": "chat", "queue": queue})),
    );
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["state"], "queued", "{created}");
    assert!(created["reason"].is_null(), "{created}");
    created["id"].as_str().unwrap().to_owned()
}

#[test]
fn a_contact_overflows_to_the_next_queue_after_its_wait() {
    let demo = Demo::start();
    demo.configure(
        "sales",
        json!({"overflow_queue": "support", "overflow_after_secs": 1}),
    );
    // 1003 serves support only: nobody in sales can take the contact.
    demo.ready("1003");
    let chat = assert_queued(&demo, "sales");
    assert_eq!(demo.detail(&chat)["live"]["queue"], "sales");
    demo.wait_offered(&chat, &["1003"]);

    let detail = demo.detail(&chat);
    assert_eq!(detail["live"]["queue"], "support", "{detail}");
    let events = detail["events"].as_array().unwrap();
    assert_eq!(
        kinds(events),
        ["created", "queued", "overflowed", "queued", "offered"]
    );
    let overflowed = data(&events[2]);
    assert_eq!(
        (&overflowed["from"], &overflowed["to"]),
        (&json!("sales"), &json!("support"))
    );
    assert!(
        overflowed["wait_ms"].as_u64().unwrap() >= 1000,
        "{overflowed}"
    );
    assert_eq!(data(&events[4])["agent"], "1003");
    let offered_at = events[4]["at"].as_i64().unwrap();
    let created_at = events[0]["at"].as_i64().unwrap();
    assert!(
        offered_at - created_at >= 1000,
        "offered after the overflow"
    );
    assert_eq!(demo.queue("sales")["overflowed"], 1);
    assert_eq!(demo.queue("support")["offered"], 1);
    assert_eq!(
        demo.answer(&chat, "1003", "accept").0,
        StatusCode::NO_CONTENT
    );
}

#[test]
fn a_full_queue_sends_the_next_contact_away_at_once() {
    let demo = Demo::start();
    demo.configure(
        "sales",
        json!({"max_size": 1, "timeout_target": "voicemail:sales"}),
    );
    let first = assert_queued(&demo, "sales");
    assert_refused(&demo, "sales", "full", "voicemail:sales");
    assert_eq!(demo.detail(&first)["live"]["stage"], "waiting");
    let queue = demo.queue("sales");
    assert_eq!(
        (queue["waiting"].as_u64(), queue["timed_out"].as_u64()),
        (Some(1), Some(1)),
        "{queue}"
    );

    demo.configure("sales", json!({"max_size": 0}));
    assert_queued(&demo, "sales");
}

#[test]
fn a_queue_that_is_left_empty_sends_its_contacts_away() {
    let demo = Demo::start();
    demo.configure("sales", json!({"leave_when_empty": true}));
    // 1002 is logged in but not ready: the contact waits for them.
    demo.ok("POST", "/api/v1/agents/1002/login", "1002", None);
    let chat = assert_queued(&demo, "sales");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(demo.detail(&chat)["live"]["stage"], "waiting");
    demo.ok("POST", "/api/v1/agents/1002/logout", "1002", None);
    let events = demo.events_until(&chat, "timed_out");
    assert_eq!(kinds(&events), ["created", "queued", "timed_out"]);
    assert_eq!(data(&events[2])["reason"], "no_agents");
    assert!(data(&events[2])["wait_ms"].as_u64().unwrap() >= 300);

    demo.configure("sales", json!({"join_when_empty": false}));
    assert_refused(&demo, "sales", "no_agents", "disconnect");
    demo.ok("POST", "/api/v1/agents/1002/login", "1002", None);
    assert_queued(&demo, "sales");
}

#[test]
fn a_queue_takes_contacts_only_while_its_calendar_is_open() {
    let demo = Demo::start();
    let calendar = |name: &str, hours: Value| {
        let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let weekly: serde_json::Map<String, Value> = days
            .iter()
            .map(|day| ((*day).to_owned(), hours.clone()))
            .collect();
        demo.ok(
            "PUT",
            &format!("/api/v1/calendars/{name}"),
            "admin",
            Some(json!({"time_zone": "UTC", "weekly": weekly})),
        );
    };
    calendar("never", json!([]));
    calendar("always", json!(["00:00-24:00"]));

    demo.configure("support", json!({"calendar": "never"}));
    let queue = demo.queue("support");
    assert_eq!(
        (&queue["open"], &queue["calendar"]),
        (&json!(false), &json!("never")),
        "{queue}"
    );
    assert_refused(&demo, "support", "closed", "disconnect");
    assert_eq!(demo.queue("sales")["open"], true, "other queues stay open");

    demo.configure("support", json!({"calendar": "always"}));
    assert_eq!(demo.queue("support")["open"], true);
    let waiting = assert_queued(&demo, "support");

    // Changing the calendar's hours closes the queue at once; whoever
    // already waits is still served.
    calendar("always", json!([]));
    assert_eq!(demo.queue("support")["open"], false);
    assert_refused(&demo, "support", "closed", "disconnect");
    demo.ready("1003");
    demo.wait_offered(&waiting, &["1003"]);

    demo.configure("support", json!({"calendar": null}));
    let queue = demo.queue("support");
    assert_eq!(
        (&queue["open"], &queue["calendar"]),
        (&json!(true), &Value::Null),
        "{queue}"
    );
}

#[test]
fn queue_settings_are_checked_field_by_field() {
    let demo = Demo::start();
    for (body, field, says) in [
        (
            json!({"overflow_queue": "billing"}),
            "overflow_queue",
            "billing",
        ),
        (
            json!({"overflow_queue": "sales", "overflow_after_secs": 5}),
            "overflow_queue",
            "itself",
        ),
        (
            json!({"overflow_queue": "support"}),
            "overflow_after_secs",
            "needed",
        ),
        (
            json!({"overflow_after_secs": 0}),
            "overflow_after_secs",
            "at least 1",
        ),
        (
            json!({"timeout_target": "hangup"}),
            "timeout_target",
            "hangup",
        ),
        (
            json!({"timeout_target": "voicemail:"}),
            "timeout_target",
            "voicemail:",
        ),
        (
            json!({"timeout_target": "flow:nowhere"}),
            "timeout_target",
            "nowhere",
        ),
        (json!({"calendar": "holidays"}), "calendar", "holidays"),
        (
            json!({"expected_handle_secs": 0}),
            "expected_handle_secs",
            "at least 1",
        ),
        (
            json!({"offer_timeout_secs": 0}),
            "offer_timeout_secs",
            "at least 1",
        ),
    ] {
        let (status, problem) =
            demo.call("PUT", "/api/v1/queues/sales", "admin", Some(body.clone()));
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {problem}"
        );
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains(&format!("`{field}`")) && detail.contains(says),
            "{body}: {detail}"
        );
    }
    let (status, problem) = demo.call(
        "PUT",
        "/api/v1/queues/sales",
        "admin",
        Some(json!({"max_size": "ten"})),
    );
    assert!(status.is_client_error(), "{status} {problem}");
    assert_eq!(
        demo.queue("sales")["max_size"],
        Value::Null,
        "nothing was saved"
    );

    let all = json!({
        "tier_after_secs": 30, "max_size": 25, "timeout_target": "flow:default",
        "overflow_queue": "support", "overflow_after_secs": 120,
        "join_when_empty": false, "leave_when_empty": true,
        "announce_every_secs": 60, "expected_handle_secs": 240, "calendar": "support"
    });
    let saved = demo.ok("PUT", "/api/v1/queues/sales", "admin", Some(all.clone()));
    let listed = demo.queue("sales");
    for (field, value) in all.as_object().unwrap() {
        assert_eq!(&saved[field], value, "PUT answers {field}: {saved}");
        assert_eq!(&listed[field], value, "GET shows {field}: {listed}");
    }
    let cleared = demo.ok(
        "PUT",
        "/api/v1/queues/sales",
        "admin",
        Some(
            json!({"overflow_queue": null, "announce_every_secs": 0, "tier_after_secs": 0,
                    "max_size": null, "calendar": null}),
        ),
    );
    for (field, value) in [
        ("overflow_queue", Value::Null),
        ("announce_every_secs", json!(0)),
        ("tier_after_secs", Value::Null),
        ("max_size", Value::Null),
        ("calendar", Value::Null),
        ("timeout_target", json!("flow:default")),
        ("leave_when_empty", json!(true)),
    ] {
        assert_eq!(cleared[field], value, "{field}: {cleared}");
    }

    let openapi: Value = http()
        .get(demo.kefu.url("/api/v1/openapi.json"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let documented = openapi["components"]["schemas"]["QueueSettings"]["properties"].clone();
    for field in ["overflow_queue", "max_size", "calendar", "timeout_target"] {
        assert!(documented[field].is_object(), "{field} in {documented}");
    }
}

#[test]
fn queue_settings_survive_a_restart() {
    let mut demo = Demo::start();
    let settings = json!({"max_size": 1, "overflow_queue": "support",
                          "overflow_after_secs": 30, "leave_when_empty": true,
                          "timeout_target": "callback"});
    demo.configure("sales", settings.clone());
    demo.restart();
    let queue = demo.queue("sales");
    for (field, value) in settings.as_object().unwrap() {
        assert_eq!(&queue[field], value, "{field}: {queue}");
    }
    assert_queued(&demo, "sales");
    assert_refused(&demo, "sales", "full", "callback");
}

#[test]
fn the_agent_sets_the_disposition_of_a_call_after_it_ended() {
    let demo = Demo::start();
    demo.ready("1002");
    let id = demo.voice("sales");
    demo.wait_offered(&id, &["1002"]);
    assert_eq!(demo.answer(&id, "1002", "accept").0, StatusCode::NO_CONTENT);
    assert_eq!(demo.answer(&id, "1002", "end").0, StatusCode::NO_CONTENT);
    let path = format!("/api/v1/contacts/{id}/disposition");
    let set =
        |who: &str, code: &str| demo.call("PUT", &path, who, Some(json!({"disposition": code})));
    let (status, problem) = set("1002", " ");
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("disposition"));
    let (status, _) = set("1001", "resolved");
    assert_eq!(status, StatusCode::FORBIDDEN, "another agent's contact");
    assert_eq!(set("1002", "resolved").0, StatusCode::NO_CONTENT);
    assert_eq!(set("admin", "follow_up").0, StatusCode::NO_CONTENT);
    let detail = demo.detail(&id);
    assert_eq!(detail["disposition"], "follow_up", "{detail}");
    assert_eq!(detail["state"], "ended", "{detail}");
    let codes: Vec<Value> = demo
        .events_until(&id, "disposition")
        .iter()
        .filter(|event| event["kind"] == "disposition")
        .map(data)
        .collect();
    assert_eq!(
        codes,
        [
            json!({"disposition": "resolved"}),
            json!({"disposition": "follow_up"})
        ]
    );
    let (status, _) = demo.call(
        "PUT",
        "/api/v1/contacts/nope/disposition",
        "1002",
        Some(json!({"disposition": "x"})),
    );
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[test]
fn an_agent_sees_the_customers_earlier_contacts_newest_first() {
    let demo = Demo::start();
    demo.ready("1002");
    let first =
        demo.contact(json!({"channel": "voice", "queue": "sales", "customer": "+8613800000001"}));
    demo.wait_offered(&first, &["1002"]);
    assert_eq!(
        demo.answer(&first, "1002", "accept").0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(demo.answer(&first, "1002", "end").0, StatusCode::NO_CONTENT);
    let second =
        demo.contact(json!({"channel": "chat", "queue": "support", "customer": "+8613800000001"}));
    demo.contact(json!({"channel": "chat", "queue": "support", "customer": "someone else"}));

    let listed = demo.ok(
        "GET",
        "/api/v1/contacts?customer=%2B8613800000001",
        "1003",
        None,
    );
    let seen: Vec<(&str, &str, &str)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap(),
                c["queue"].as_str().unwrap(),
                c["agent"].as_str().unwrap_or("-"),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (second.as_str(), "support", "-"),
            (first.as_str(), "sales", "1002")
        ],
        "{listed}"
    );
    let one = demo.ok(
        "GET",
        "/api/v1/contacts?customer=%2B8613800000001&limit=1",
        "1003",
        None,
    );
    assert_eq!(one.as_array().unwrap().len(), 1, "{one}");

    for (path, field) in [
        ("/api/v1/contacts", "customer"),
        ("/api/v1/contacts?customer=x&limit=0", "limit"),
        ("/api/v1/contacts?customer=x&limit=ten", "limit"),
    ] {
        let (status, problem) = demo.call("GET", path, "1003", None);
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {problem}");
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.starts_with(&format!("`{field}`")),
            "{path}: {detail}"
        );
    }
}
