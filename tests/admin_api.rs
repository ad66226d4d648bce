//! The admin API as the admin pages use it, logged in with a session of the
//! demo tenant's admin user, on SQLite and on PostgreSQL: users created,
//! changed and disabled, with the ACD and the SIP registrar following at
//! once (the new agent is routable, their phone registers with the new
//! password, a disabled user's session and phone stop working); number
//! routes and trunks created, changed and removed; every wrong value
//! answered with a problem naming the field.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use common::kefu::{Kefu, http};
use common::sip::{self, status};
use reqwest::StatusCode;
use reqwest::blocking::Response;
use serde_json::{Value, json};

/// A session token of `username`.
fn session(kefu: &Kefu, username: &str, password: &str) -> String {
    let response = http()
        .post(kefu.url("/api/v1/sessions"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "login {username}");
    let session: Value = response.json().unwrap();
    session["token"].as_str().unwrap().to_owned()
}

fn call(kefu: &Kefu, token: &str, method: &str, path: &str, body: Option<Value>) -> Response {
    let mut request = http().request(method.parse().unwrap(), kefu.url(path));
    request = request.bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().unwrap()
}

/// The answer must be `status`; its JSON.
fn expect(response: Response, status: StatusCode) -> Value {
    let got = response.status();
    let text = response.text().unwrap();
    assert_eq!(got, status, "{text}");
    if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    }
}

/// The answer must be a 4xx problem naming `field`.
fn refused(response: Response, status: StatusCode, field: &str) {
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem = expect(response, status);
    assert_eq!(problem["field"], field, "{problem}");
    let detail = problem["detail"].as_str().unwrap();
    assert!(detail.contains(field), "{detail} should name {field}");
}

/// A phone registering over UDP with digest (MD5) auth.
struct Phone {
    socket: UdpSocket,
    server: SocketAddr,
    cseq: u32,
}

impl Phone {
    fn new(server: SocketAddr) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        Phone {
            socket,
            server,
            cseq: 0,
        }
    }

    fn send(&mut self, user: &str, extra: &str) -> String {
        self.cseq += 1;
        let port = self.socket.local_addr().unwrap().port();
        let via = format!("SIP/2.0/UDP 127.0.0.1:{port}");
        let contact = format!("Contact: <sip:{user}@127.0.0.1:{port}>\r\n{extra}");
        let message = sip::register(&via, user, "admin-api-phone", self.cseq, &contact);
        self.socket
            .send_to(message.as_bytes(), self.server)
            .unwrap();
        let mut buf = [0u8; 65536];
        let (n, _) = self.socket.recv_from(&mut buf).expect("a SIP response");
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }

    /// The final status of a REGISTER answered with `password`.
    fn register(&mut self, user: &str, password: &str) -> u16 {
        let challenge = self.send(user, "");
        if status(&challenge) != 401 {
            return status(&challenge);
        }
        let authorization = sip::digest_answer(&challenge, user, password);
        status(&self.send(user, &authorization))
    }
}

fn acd_extensions(kefu: &Kefu, token: &str) -> Vec<String> {
    let agents = expect(
        call(kefu, token, "GET", "/api/v1/agents", None),
        StatusCode::OK,
    );
    agents
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["extension"].as_str().unwrap().to_owned())
        .collect()
}

crate::demo_on_both_engines!(an_admin_creates_changes_and_disables_an_agent);
fn an_admin_creates_changes_and_disables_an_agent(kefu: &Kefu) {
    let admin = session(kefu, "admin", "demoadmin");
    let created = expect(
        call(
            kefu,
            &admin,
            "POST",
            "/api/v1/users",
            Some(json!({
                "username": "1010",
                "display_name": "Dana Xu",
                "extension": "1010",
                "password": "first-secret",
                "skills": [{"name": "french", "level": 7}],
                "capacity": {"voice": 1, "chat": 4, "wechat": 0, "sms": 0, "email": 2},
                "queues": [{"queue": "support", "tier": 2}],
            })),
        ),
        StatusCode::CREATED,
    );
    assert_eq!(created["role"], "agent");
    assert_eq!(created["skills"], json!([{"name": "french", "level": 7}]));
    assert_eq!(created["capacity"]["chat"], 4);
    assert_eq!(
        created["queues"],
        json!([{"queue": "support", "tier": 2, "penalty": 0}])
    );
    let listed = expect(
        call(kefu, &admin, "GET", "/api/v1/users", None),
        StatusCode::OK,
    );
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "1010" && u["display_name"] == "Dana Xu")
    );
    // The ACD knows the agent at once, and their phone registers at once.
    assert!(acd_extensions(kefu, &admin).contains(&"1010".to_owned()));
    let mut phone = Phone::new(kefu.sip);
    assert_eq!(phone.register("1010", "first-secret"), 200);
    let agent = session(kefu, "1010", "first-secret");

    // A new password works at once for the web and the phone.
    let changed = expect(
        call(
            kefu,
            &admin,
            "PUT",
            "/api/v1/users/1010",
            Some(json!({"password": "second-secret", "skills": [{"name": "german", "level": 3}]})),
        ),
        StatusCode::OK,
    );
    assert_eq!(changed["skills"], json!([{"name": "german", "level": 3}]));
    assert_eq!(phone.register("1010", "first-secret"), 403);
    assert_eq!(phone.register("1010", "second-secret"), 200);
    session(kefu, "1010", "second-secret");

    // An agent may not change users.
    let forbidden = call(
        kefu,
        &agent,
        "PUT",
        "/api/v1/users/1001",
        Some(json!({"capacity": {"voice": 0, "chat": 0, "wechat": 0, "sms": 0, "email": 0}})),
    );
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);

    // Disabled: the session, the phone and the ACD let go of them.
    let disabled = expect(
        call(
            kefu,
            &admin,
            "PUT",
            "/api/v1/users/1010",
            Some(json!({"disabled": true})),
        ),
        StatusCode::OK,
    );
    assert_eq!(disabled["disabled"], true);
    let me = call(kefu, &agent, "GET", "/api/v1/me", None);
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    assert_ne!(phone.register("1010", "second-secret"), 200);
    assert!(!acd_extensions(kefu, &admin).contains(&"1010".to_owned()));
    let login = http()
        .post(kefu.url("/api/v1/sessions"))
        .json(&json!({"username": "1010", "password": "second-secret"}))
        .send()
        .unwrap();
    assert_eq!(login.status(), StatusCode::UNAUTHORIZED);
}

crate::demo_on_both_engines!(wrong_user_values_are_refused_naming_the_field);
fn wrong_user_values_are_refused_naming_the_field(kefu: &Kefu) {
    let admin = session(kefu, "admin", "demoadmin");
    let post = |body: Value| call(kefu, &admin, "POST", "/api/v1/users", Some(body));
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    refused(post(json!({"username": "a b"})), unprocessable, "username");
    refused(
        post(json!({"username": "x1", "extension": "12a"})),
        unprocessable,
        "extension",
    );
    refused(
        post(json!({"username": "x1", "password": "short"})),
        unprocessable,
        "password",
    );
    refused(
        post(json!({"username": "x1", "role": "boss"})),
        unprocessable,
        "role",
    );
    refused(
        post(json!({"username": "x1", "skills": [{"name": "french", "level": 11}]})),
        unprocessable,
        "skills[0].level",
    );
    refused(
        post(json!({"username": "x1", "queues": [{"queue": "nope"}]})),
        unprocessable,
        "queues[0].queue",
    );
    refused(
        post(json!({"username": "x1", "capacity": {"voice": 300}})),
        unprocessable,
        "capacity.voice",
    );
    refused(
        post(json!({"username": "1001"})),
        StatusCode::CONFLICT,
        "username",
    );
    refused(
        post(json!({"username": "x1", "extension": "1002"})),
        StatusCode::CONFLICT,
        "extension",
    );
    let missing = call(
        kefu,
        &admin,
        "PUT",
        "/api/v1/users/nobody",
        Some(json!({"display_name": "N"})),
    );
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let agent = session(kefu, "1001", "demo1001");
    let by_agent = call(
        kefu,
        &agent,
        "POST",
        "/api/v1/users",
        Some(json!({"username": "x2"})),
    );
    assert_eq!(by_agent.status(), StatusCode::FORBIDDEN);
}

crate::demo_on_both_engines!(numbers_and_trunks_are_created_changed_and_removed);
fn numbers_and_trunks_are_created_changed_and_removed(kefu: &Kefu) {
    let admin = session(kefu, "admin", "demoadmin");
    let trunk = expect(
        call(
            kefu,
            &admin,
            "PUT",
            "/api/v1/trunks/carrier",
            Some(json!({
                "host": "sip.carrier.example",
                "port": 5080,
                "trusted_cidrs": ["203.0.113.0/24", "198.51.100.7"],
            })),
        ),
        StatusCode::OK,
    );
    assert_eq!(trunk["host"], "sip.carrier.example");
    assert_eq!(trunk["port"], 5080);
    assert_eq!(trunk["trusted_cidrs"], "203.0.113.0/24,198.51.100.7");
    assert!(trunk["disabled_at"].is_null());
    let disabled = expect(
        call(
            kefu,
            &admin,
            "PUT",
            "/api/v1/trunks/carrier",
            Some(json!({"host": "sip.carrier.example", "disabled": true})),
        ),
        StatusCode::OK,
    );
    assert!(disabled["disabled_at"].is_i64());
    refused(
        call(
            kefu,
            &admin,
            "PUT",
            "/api/v1/trunks/carrier",
            Some(json!({"trusted_cidrs": ["10.0.0.0/33"]})),
        ),
        StatusCode::UNPROCESSABLE_ENTITY,
        "trusted_cidrs[0]",
    );
    refused(
        call(
            kefu,
            &admin,
            "PUT",
            "/api/v1/trunks/carrier",
            Some(json!({"transport": "carrier-pigeon"})),
        ),
        StatusCode::UNPROCESSABLE_ENTITY,
        "transport",
    );
    let trunks = expect(
        call(kefu, &admin, "GET", "/api/v1/trunks", None),
        StatusCode::OK,
    );
    assert!(
        trunks
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "carrier")
    );

    for (number, body) in [
        ("5000", json!({"kind": "trunk", "target": "carrier"})),
        ("5001", json!({"kind": "queue", "target": "sales"})),
        ("5002", json!({"kind": "agent", "target": "1003"})),
        ("5003", json!({"kind": "ivr", "target": "vip"})),
        ("+865004", json!({"kind": "echo"})),
    ] {
        let route = expect(
            call(
                kefu,
                &admin,
                "PUT",
                &format!("/api/v1/numbers/{}", number.replace('+', "%2B")),
                Some(body.clone()),
            ),
            StatusCode::OK,
        );
        assert_eq!(route["number"], number);
        assert_eq!(route["route"]["kind"], body["kind"]);
    }
    refused(
        call(
            kefu,
            &admin,
            "PUT",
            "/api/v1/numbers/5009",
            Some(json!({"kind": "queue", "target": "nope"})),
        ),
        StatusCode::UNPROCESSABLE_ENTITY,
        "target",
    );
    refused(
        call(
            kefu,
            &admin,
            "PUT",
            "/api/v1/numbers/5009",
            Some(json!({"kind": "fax"})),
        ),
        StatusCode::UNPROCESSABLE_ENTITY,
        "kind",
    );
    let bad_number = call(
        kefu,
        &admin,
        "PUT",
        "/api/v1/numbers/12ab",
        Some(json!({"kind": "echo"})),
    );
    assert_eq!(bad_number.status(), StatusCode::BAD_REQUEST);

    let deleted = call(kefu, &admin, "DELETE", "/api/v1/numbers/5001", None);
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let again = call(kefu, &admin, "DELETE", "/api/v1/numbers/5001", None);
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    let numbers = expect(
        call(kefu, &admin, "GET", "/api/v1/numbers", None),
        StatusCode::OK,
    );
    let numbers: Vec<&str> = numbers
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["number"].as_str().unwrap())
        .collect();
    assert!(
        numbers.contains(&"5000") && !numbers.contains(&"5001"),
        "{numbers:?}"
    );

    let agent = session(kefu, "1001", "demo1001");
    for (method, path) in [("GET", "/api/v1/numbers"), ("GET", "/api/v1/trunks")] {
        assert_eq!(
            call(kefu, &agent, method, path, None).status(),
            StatusCode::FORBIDDEN
        );
    }
}

crate::demo_on_both_engines!(admins_create_queues_and_supervisors_change_them);
fn admins_create_queues_and_supervisors_change_them(kefu: &Kefu) {
    let admin = session(kefu, "admin", "demoadmin");
    let queue_names = |token: &str| -> Vec<String> {
        let queues = expect(
            call(kefu, token, "GET", "/api/v1/queues", None),
            StatusCode::OK,
        );
        queues
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let created = expect(
        call(
            kefu,
            &admin,
            "PUT",
            "/api/v1/queues/billing",
            Some(json!({"strategy": "round-robin", "wrap_up_secs": 30})),
        ),
        StatusCode::CREATED,
    );
    assert_eq!(created["strategy"], "round-robin");
    assert!(queue_names(&admin).contains(&"billing".to_owned()));
    refused(
        call(
            kefu,
            &admin,
            "PUT",
            "/api/v1/queues/refused",
            Some(json!({"strategy": "loudest-first"})),
        ),
        StatusCode::UNPROCESSABLE_ENTITY,
        "strategy",
    );
    assert!(
        !queue_names(&admin).contains(&"refused".to_owned()),
        "a queue whose settings were refused is not created"
    );

    expect(
        call(
            kefu,
            &admin,
            "POST",
            "/api/v1/users",
            Some(json!({"username": "lead", "role": "supervisor", "password": "lead-secret"})),
        ),
        StatusCode::CREATED,
    );
    let lead = session(kefu, "lead", "lead-secret");
    let changed = expect(
        call(
            kefu,
            &lead,
            "PUT",
            "/api/v1/queues/billing",
            Some(json!({"strategy": "ring-all"})),
        ),
        StatusCode::OK,
    );
    assert_eq!(changed["strategy"], "ring-all");
    let not_created = call(kefu, &lead, "PUT", "/api/v1/queues/other", Some(json!({})));
    assert_eq!(not_created.status(), StatusCode::NOT_FOUND);
    // A supervisor changes an agent's skills and queues, not their password.
    expect(
        call(
            kefu,
            &lead,
            "PUT",
            "/api/v1/users/1002",
            Some(
                json!({"skills": [{"name": "english", "level": 9}], "queues": [{"queue": "billing"}]}),
            ),
        ),
        StatusCode::OK,
    );
    let forbidden = call(
        kefu,
        &lead,
        "PUT",
        "/api/v1/users/1002",
        Some(json!({"password": "taken-over"})),
    );
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
}

#[test]
fn the_openapi_document_lists_the_admin_endpoints() {
    let dir = tempfile::tempdir().unwrap();
    let kefu = common::demo::demo_on(dir.path(), None);
    let doc: Value = http()
        .get(kefu.url("/api/v1/openapi.json"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    for path in [
        "/api/v1/sessions",
        "/api/v1/sessions/current",
        "/api/v1/users",
        "/api/v1/users/{username}",
        "/api/v1/numbers",
        "/api/v1/numbers/{number}",
        "/api/v1/trunks",
        "/api/v1/trunks/{name}",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    for schema in [
        "UserView",
        "NewUserSpec",
        "UserUpdate",
        "RouteSpec",
        "TrunkSpec",
        "Session",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} missing"
        );
    }
}
