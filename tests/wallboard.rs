//! The supervisor wallboard's data on a running `kefu serve --demo`: the
//! supervisor WebSocket (`/api/v1/supervisor/ws`) gives a snapshot and then
//! pushes agent state changes and new contacts (live and in today's
//! figures); agent tokens are refused. `GET /api/v1/reports/intervals`
//! counts the contacts made through the API, on SQLite and on PostgreSQL.
//! Waits poll with a generous deadline; no time is asserted.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::kefu::{Kefu, Options};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

/// How long anything may take to show.
const PATIENCE: Duration = Duration::from_secs(20);

struct Demo {
    _dir: tempfile::TempDir,
    kefu: Kefu,
    admin: String,
}

impl Demo {
    fn start(database_url: Option<String>) -> Demo {
        let dir = tempfile::tempdir().unwrap();
        let options = Options {
            demo: true,
            database_url,
            ..Options::default()
        };
        let kefu = Kefu::start(dir.path(), options);
        let admin = kefu.printed_token("kefu_admin_").unwrap();
        Demo {
            _dir: dir,
            kefu,
            admin,
        }
    }

    /// The token of `who`: `admin`, `supervisor` (1009) or an agent's extension.
    fn token(&self, who: &str) -> String {
        match who {
            "admin" => self.admin.clone(),
            "supervisor" => {
                let line = self
                    .kefu
                    .stdout
                    .iter()
                    .find(|l| l.trim_start().starts_with("supervisor 1009:"))
                    .expect("the demo supervisor's line");
                let start = line.find("kefu_agent_").unwrap();
                line[start..].split([',', ' ']).next().unwrap().to_owned()
            }
            extension => self.kefu.agent_token(extension),
        }
    }

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
        self.ok(
            "PUT",
            &format!("/api/v1/agents/{extension}/state"),
            extension,
            Some(json!({"state": "ready"})),
        );
    }

    fn contact(&self, queue: &str) -> String {
        let body = json!({"channel": "chat", "queue": queue});
        let (status, value) = self.call("POST", "/api/v1/contacts", "admin", Some(body));
        assert_eq!(status, StatusCode::CREATED, "{value}");
        value["id"].as_str().unwrap().to_owned()
    }

    /// Opens the supervisor WebSocket with this query (token included).
    fn wallboard(&self, query: &str) -> Result<WebSocket<TcpStream>, StatusCode> {
        let stream = TcpStream::connect(self.kefu.http).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let url = format!("ws://{}/api/v1/supervisor/ws?{query}", self.kefu.http);
        match tungstenite::client(url.as_str(), stream) {
            Ok((socket, _)) => Ok(socket),
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
                Err(StatusCode::from_u16(response.status().as_u16()).unwrap())
            }
            Err(other) => panic!("handshake failed: {other}"),
        }
    }

    /// Polls until `found` returns something.
    fn wait_for<T>(&self, what: &str, mut found: impl FnMut() -> Option<T>) -> T {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(value) = found() {
                return value;
            }
            assert!(Instant::now() < deadline, "gave up waiting for {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The next frame; panics after [`PATIENCE`].
fn next_frame(socket: &mut WebSocket<TcpStream>) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        assert!(Instant::now() < deadline, "no frame came");
        match socket.read() {
            Ok(Message::Text(text)) => return serde_json::from_str(text.as_str()).unwrap(),
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("the wallboard WebSocket failed: {e}"),
        }
    }
}

/// The rows of a frame's list keyed by `key`.
fn row<'a>(frame: &'a Value, list: &str, key: &str, value: &str) -> Option<&'a Value> {
    frame[list].as_array()?.iter().find(|r| r[key] == value)
}

/// Reads `update` frames until one has a row for which `check` holds.
fn pushed(
    socket: &mut WebSocket<TcpStream>,
    what: &str,
    list: &str,
    key: &str,
    value: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        assert!(Instant::now() < deadline, "no update with {what}");
        let frame = next_frame(socket);
        assert_eq!(frame["type"], "update", "{frame}");
        if let Some(found) = row(&frame, list, key, value).filter(|r| check(r)) {
            return found.clone();
        }
    }
}

#[test]
fn a_supervisor_gets_a_snapshot_then_agent_states_and_new_contacts_pushed() {
    let demo = Demo::start(None);
    let mut socket = demo
        .wallboard(&format!(
            "token={}&tz=Asia/Shanghai",
            demo.token("supervisor")
        ))
        .unwrap();

    let snapshot = next_frame(&mut socket);
    assert_eq!(snapshot["type"], "snapshot", "{snapshot}");
    assert_eq!(snapshot["time_zone"], "Asia/Shanghai");
    let queues: Vec<&str> = snapshot["queues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap())
        .collect();
    assert_eq!(queues, ["sales", "support"]);
    let support = row(&snapshot, "queues", "name", "support").unwrap();
    assert_eq!(support["waiting"], 0);
    assert_eq!(support["today"]["offered"], 0);
    assert_eq!(support["service_level_secs"], 20);
    let agent = row(&snapshot, "agents", "extension", "1002").unwrap();
    assert_eq!(agent["state"], "logged_out");
    assert_eq!(agent["display_name"], "Bob Li");
    assert_eq!(snapshot["calls"], json!([]));

    demo.ready("1002");
    let ready = pushed(
        &mut socket,
        "1002 ready",
        "agents",
        "extension",
        "1002",
        |a| a["state"] == "ready",
    );
    assert!(
        ready["since"].as_i64().unwrap() >= snapshot["at"].as_i64().unwrap(),
        "{ready}"
    );

    let chat = demo.contact("support");
    let waiting = pushed(
        &mut socket,
        "a contact waiting in support",
        "queues",
        "name",
        "support",
        |q| q["waiting"] == 1,
    );
    assert_eq!(waiting["agents_logged_in"], 0, "1002 is not in support");
    let counted = pushed(
        &mut socket,
        "today's offered in support",
        "queues",
        "name",
        "support",
        |q| q["today"]["offered"] == 1,
    );
    assert_eq!(counted["today"]["answered"], 0);

    demo.ok(
        "POST",
        &format!("/api/v1/contacts/{chat}/abandon"),
        "admin",
        None,
    );
    let gone = pushed(
        &mut socket,
        "the abandon",
        "queues",
        "name",
        "support",
        |q| q["waiting"] == 0 && q["today"]["abandoned"] == 1,
    );
    assert_eq!(gone["today"]["service_level"], 0.0);

    // An admin token names the tenant; a second viewer sees the same.
    let mut admin = demo
        .wallboard(&format!("token={}&tenant=demo", demo.admin))
        .unwrap();
    let seen = next_frame(&mut admin);
    assert_eq!(seen["time_zone"], "UTC");
    assert_eq!(
        row(&seen, "agents", "extension", "1002").unwrap()["state"],
        "ready"
    );
}

#[test]
fn only_supervisors_and_admins_open_the_wallboard() {
    let demo = Demo::start(None);
    let agent = demo.wallboard(&format!("token={}", demo.token("1001")));
    assert_eq!(agent.err(), Some(StatusCode::FORBIDDEN), "an agent's token");
    assert_eq!(
        demo.wallboard("").err(),
        Some(StatusCode::UNAUTHORIZED),
        "no token"
    );
    assert_eq!(
        demo.wallboard("token=kefu_agent_forged").err(),
        Some(StatusCode::UNAUTHORIZED)
    );
    let zone = demo.wallboard(&format!(
        "token={}&tz=Mars/Olympus",
        demo.token("supervisor")
    ));
    assert_eq!(
        zone.err(),
        Some(StatusCode::BAD_REQUEST),
        "an unknown time zone"
    );
    let admin = demo.wallboard(&format!("token={}", demo.admin));
    assert_eq!(
        admin.err(),
        Some(StatusCode::BAD_REQUEST),
        "the admin token names the tenant"
    );

    let (status, _) = demo.call("GET", "/api/v1/reports/intervals", "1001", None);
    assert_eq!(status, StatusCode::FORBIDDEN, "agents do not read reports");
    for bad in [
        "hours=0",
        "hours=49",
        "interval=15s",
        "interval=1m&hours=48",
        "hours=x",
    ] {
        let (status, problem) = demo.call(
            "GET",
            &format!("/api/v1/reports/intervals?{bad}"),
            "supervisor",
            None,
        );
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {problem}");
    }
}

/// Contacts made through the API: in sales one answered at once; in support
/// one abandoned and one still waiting.
fn intervals_count_the_contacts(database_url: Option<String>) {
    let demo = Demo::start(database_url);
    demo.ready("1002");
    let answered = demo.contact("sales");
    demo.wait_for("the sales contact offered to 1002", || {
        let (status, _) = demo.call(
            "POST",
            &format!("/api/v1/contacts/{answered}/accept"),
            "1002",
            None,
        );
        status.is_success().then_some(())
    });
    let abandoned = demo.contact("support");
    demo.ok(
        "POST",
        &format!("/api/v1/contacts/{abandoned}/abandon"),
        "admin",
        None,
    );
    demo.contact("support");

    let report = demo.wait_for("the contacts' outcomes in the report", || {
        let report = demo.ok(
            "GET",
            "/api/v1/reports/intervals?hours=2&interval=15m",
            "supervisor",
            None,
        );
        let totals = totals(&report);
        (totals["sales"]["answered"] == 1 && totals["support"]["abandoned"] == 1).then_some(report)
    });
    assert_eq!(report["interval_ms"], 900_000);
    let (from, to) = (
        report["from"].as_i64().unwrap(),
        report["to"].as_i64().unwrap(),
    );
    assert_eq!(to - from, 2 * 3_600_000, "two hours of whole intervals");
    assert_eq!(from % 900_000, 0, "aligned to the quarter hour");
    for queue in report["queues"].as_array().unwrap() {
        let starts: Vec<i64> = queue["intervals"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["start"].as_i64().unwrap())
            .collect();
        assert_eq!(starts.len(), 8);
        assert!(starts.windows(2).all(|w| w[1] - w[0] == 900_000));
    }
    let totals = totals(&report);
    let sales = &totals["sales"];
    assert_eq!(
        (
            sales["offered"].as_i64(),
            sales["answered"].as_i64(),
            sales["abandoned"].as_i64()
        ),
        (Some(1), Some(1), Some(0))
    );
    assert_eq!(
        sales["answered_within_sl"], 1,
        "answered at once, within 20 s"
    );
    assert!(sales["wait_ms"].as_i64().unwrap() >= 0);
    let support = &totals["support"];
    assert_eq!(
        (
            support["offered"].as_i64(),
            support["answered"].as_i64(),
            support["abandoned"].as_i64()
        ),
        (Some(2), Some(0), Some(1))
    );
    assert_eq!(support["answered_within_sl"], 0);
    let support_row = report["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["queue"] == "support")
        .unwrap();
    let busy: Vec<&Value> = support_row["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["offered"].as_i64() > Some(0))
        .collect();
    for interval in busy {
        assert_eq!(interval["service_level"], 0.0, "{interval}");
        assert_eq!(
            interval["asa_ms"],
            Value::Null,
            "nothing answered: {interval}"
        );
    }
}

/// Per queue, the sums over the report's intervals (and ASA × answered as `wait_ms`).
fn totals(report: &Value) -> Value {
    let mut totals = json!({});
    for queue in report["queues"].as_array().unwrap() {
        let mut sum = json!({"offered": 0, "answered": 0, "abandoned": 0, "answered_within_sl": 0, "wait_ms": 0});
        for interval in queue["intervals"].as_array().unwrap() {
            for field in ["offered", "answered", "abandoned", "answered_within_sl"] {
                sum[field] =
                    json!(sum[field].as_i64().unwrap() + interval[field].as_i64().unwrap());
            }
            let wait =
                interval["asa_ms"].as_i64().unwrap_or(0) * interval["answered"].as_i64().unwrap();
            sum["wait_ms"] = json!(sum["wait_ms"].as_i64().unwrap() + wait);
        }
        totals[queue["queue"].as_str().unwrap()] = sum;
    }
    totals
}

#[test]
fn intervals_count_the_contacts_on_sqlite() {
    intervals_count_the_contacts(None);
}

#[tokio::test(flavor = "multi_thread")]
async fn intervals_count_the_contacts_on_postgresql() {
    let db = common::postgres::database().await;
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || intervals_count_the_contacts(Some(url)))
        .await
        .unwrap();
}
