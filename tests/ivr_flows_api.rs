#![allow(clippy::unwrap_used)]
//! IVR flows and calendars through the API as an admin uses them, and hot
//! reload: a flow with errors is refused with its diagnostics while the
//! running version stays; a call in progress keeps the version it started
//! with while the next call gets the new one; files changed in the IVR
//! scripts folder become new versions, broken ones are logged and not used.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::demo::start_demo;
use common::kefu::{Kefu, http};
use common::uac::{Uac, offer};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

fn get(kefu: &Kefu, token: &str, path: &str) -> reqwest::blocking::Response {
    http()
        .get(kefu.url(path))
        .bearer_auth(token)
        .send()
        .unwrap()
}

fn put_flow(kefu: &Kefu, token: &str, name: &str, source: &str) -> reqwest::blocking::Response {
    http()
        .put(kefu.url(&format!("/api/v1/ivr/flows/{name}")))
        .bearer_auth(token)
        .header("content-type", "application/toml")
        .body(source.to_owned())
        .send()
        .unwrap()
}

fn put_calendar(kefu: &Kefu, token: &str, name: &str, body: &str) -> reqwest::blocking::Response {
    http()
        .put(kefu.url(&format!("/api/v1/calendars/{name}")))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .unwrap()
}

fn version(kefu: &Kefu, token: &str, name: &str) -> i64 {
    let flow: Value = get(kefu, token, &format!("/api/v1/ivr/flows/{name}"))
        .json()
        .unwrap();
    flow["version"].as_i64().unwrap_or(0)
}

const DEFAULT: &str = include_str!("../ivr-scripts/default.toml");

/// The second version of the demo's default flow: a short announcement.
const ANNOUNCEMENT: &str = r#"
start = "pick_up"

[nodes.pick_up]
type = "answer"
next = "hello"

[nodes.hello]
type = "say"
text = "This is version two."
next = "bye"

[nodes.bye]
type = "hangup"
"#;

#[test]
fn flows_api_lists_shows_draws_and_refuses_a_flow_with_errors() {
    let (_dir, kefu, token) = start_demo(&[]);
    let flows: Value = get(&kefu, &token, "/api/v1/ivr/flows").json().unwrap();
    let names: Vec<&str> = flows
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["after-hours", "default", "vip"], "{flows}");
    let default: Value = get(&kefu, &token, "/api/v1/ivr/flows/default")
        .json()
        .unwrap();
    assert_eq!(default["version"], 1);
    assert_eq!(default["source"], DEFAULT);

    let typo = DEFAULT.replace("no_input = \"goodbye\"", "no_input = \"goodbey\"");
    let refused = put_flow(&kefu, &token, "default", &typo);
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        refused.headers()["content-type"],
        "application/problem+json"
    );
    let problem: Value = refused.json().unwrap();
    let diagnostic = &problem["diagnostics"][0];
    assert_eq!(diagnostic["severity"], "error", "{problem}");
    assert_eq!(diagnostic["file"], "default.toml");
    assert_eq!(diagnostic["node"], "menu");
    assert_eq!(diagnostic["field"], "no_input");
    assert_eq!(diagnostic["line"], 27, "{problem}");
    assert_eq!(
        diagnostic["message"],
        "exit points to unknown node \"goodbey\""
    );
    assert_eq!(diagnostic["hint"], "did you mean \"goodbye\"?");
    assert_eq!(
        version(&kefu, &token, "default"),
        1,
        "the old version stays"
    );

    let broken: Value = put_flow(&kefu, &token, "default", "start = \"a\"\n[nodes.a\n")
        .json()
        .unwrap();
    assert_eq!(broken["diagnostics"][0]["line"], 2, "{broken}");
    assert!(broken["diagnostics"][0]["column"].is_u64(), "{broken}");

    let after_hours = include_str!("../ivr-scripts/after-hours.toml");
    let unknown = after_hours.replace("calendar = \"support\"", "calendar = \"night\"");
    let refused: Value = put_flow(&kefu, &token, "after-hours", &unknown)
        .json()
        .unwrap();
    assert_eq!(refused["diagnostics"][0]["field"], "calendar", "{refused}");

    let night = json!({"time_zone": "Europe/Berlin", "weekly": {"sat": ["22:00-24:00"]}});
    let saved = put_calendar(&kefu, &token, "night", &night.to_string());
    assert_eq!(saved.status(), StatusCode::OK);
    let saved = put_flow(&kefu, &token, "after-hours", &unknown);
    assert_eq!(saved.status(), StatusCode::OK, "the calendar exists now");
    let saved: Value = saved.json().unwrap();
    assert_eq!(saved["version"], 2, "{saved}");
    assert!(saved["warnings"].as_array().unwrap().is_empty());

    let renamed: Value = put_flow(
        &kefu,
        &token,
        "default",
        &format!("name = \"other\"\n{ANNOUNCEMENT}"),
    )
    .json()
    .unwrap();
    assert_eq!(renamed["status"], 422, "{renamed}");
    assert_eq!(renamed["diagnostics"][0]["field"], "name", "{renamed}");

    let agent = kefu.agent_token("1001");
    let forbidden = put_flow(&kefu, &agent, "default", ANNOUNCEMENT);
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let bad_name = put_flow(&kefu, &token, "bad%20name", ANNOUNCEMENT);
    assert_eq!(bad_name.status(), StatusCode::BAD_REQUEST);
    let missing = get(&kefu, &token, "/api/v1/ivr/flows/nope");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let svg = get(&kefu, &token, "/api/v1/ivr/flows/default/svg");
    assert_eq!(
        svg.status(),
        StatusCode::OK,
        "Graphviz is missing? run `scripts/install-deps.sh test` (apt-get install -y graphviz)"
    );
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let svg = svg.text().unwrap();
    assert!(svg.contains("<svg") && svg.contains("welcome"), "{svg}");
}

#[test]
fn calendars_api_shows_the_demo_calendar_and_names_bad_fields() {
    let (_dir, kefu, token) = start_demo(&[]);
    let support: Value = get(&kefu, &token, "/api/v1/calendars/support")
        .json()
        .unwrap();
    assert_eq!(support["time_zone"], "Asia/Shanghai", "{support}");
    assert_eq!(support["weekly"]["mon"], json!(["09:00-18:00"]));
    assert_eq!(support["weekly"]["sun"], json!([]));
    assert!(support["holidays"].as_array().unwrap().len() >= 2);
    assert!(support["open_now"].is_boolean());

    let refused = |body: Value, status: StatusCode, field: &str| {
        let response = put_calendar(&kefu, &token, "support", &body.to_string());
        assert_eq!(response.status(), status, "{body}");
        let problem: Value = response.json().unwrap();
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(field), "{detail} should name {field}");
    };
    let tz = "Asia/Shanghai";
    refused(
        json!({"time_zone": tz, "weekly": {"mon": ["9 to 6"]}}),
        StatusCode::UNPROCESSABLE_ENTITY,
        "weekly.mon[0]",
    );
    refused(
        json!({"time_zone": tz, "weekly": {"mond": []}}),
        StatusCode::BAD_REQUEST,
        "mond",
    );
    refused(
        json!({"time_zone": tz, "holidays": ["2026-02-30"]}),
        StatusCode::UNPROCESSABLE_ENTITY,
        "holidays[0]",
    );
    refused(
        json!({"time_zone": "Mars/Olympus"}),
        StatusCode::UNPROCESSABLE_ENTITY,
        "time_zone",
    );
    refused(
        json!({"time_zone": tz, "weekly": {"tue": "09:00-18:00"}}),
        StatusCode::BAD_REQUEST,
        "weekly.tue",
    );
    refused(json!({"weekly": {}}), StatusCode::BAD_REQUEST, "time_zone");
    let unchanged: Value = get(&kefu, &token, "/api/v1/calendars/support")
        .json()
        .unwrap();
    assert_eq!(unchanged["time_zone"], "Asia/Shanghai");

    let always = json!({"time_zone": "UTC", "weekly": {
        "mon": ["00:00-24:00"], "tue": ["00:00-24:00"], "wed": ["00:00-24:00"],
        "thu": ["00:00-24:00"], "fri": ["00:00-24:00"], "sat": ["00:00-24:00"],
        "sun": ["00:00-24:00"]}});
    let saved: Value = put_calendar(&kefu, &token, "always", &always.to_string())
        .json()
        .unwrap();
    assert_eq!(saved["open_now"], true, "{saved}");
    let all: Value = get(&kefu, &token, "/api/v1/calendars").json().unwrap();
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["always", "support"], "{all}");
    let agent = kefu.agent_token("1002");
    let forbidden = put_calendar(&kefu, &agent, "always", &always.to_string());
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        get(&kefu, &agent, "/api/v1/calendars/always").status(),
        StatusCode::OK,
        "agents of the tenant may read it"
    );
}

/// The newest calls to 4000, newest first, each as `GET /api/v1/calls/{id}`.
fn calls_to_4000(kefu: &Kefu, token: &str) -> Vec<Value> {
    let calls: Value = get(kefu, token, "/api/v1/calls?did=4000").json().unwrap();
    calls
        .as_array()
        .unwrap()
        .iter()
        .map(|call| {
            let id = call["id"].as_str().unwrap();
            get(kefu, token, &format!("/api/v1/calls/{id}"))
                .json()
                .unwrap()
        })
        .collect()
}

#[test]
fn a_call_in_progress_keeps_its_flow_version_and_the_next_call_gets_the_new_one() {
    let (_dir, kefu, token) = start_demo(&[]);
    let phone_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut first = Uac::new("127.0.0.1:0", kefu.sip, "4000");
    let answer = first
        .invite(&offer(phone_rtp.local_addr().unwrap(), "0 101"), WAIT)
        .expect("an answer");
    assert_eq!(answer.status, 200, "{}", answer.text);
    first.ack("");
    let deadline = Instant::now() + WAIT;
    while calls_to_4000(&kefu, &token)
        .first()
        .is_none_or(|call| call["flow_path"] != "welcome,menu")
    {
        assert!(
            Instant::now() < deadline,
            "the first call never reached the menu"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let saved = put_flow(&kefu, &token, "default", ANNOUNCEMENT);
    assert_eq!(saved.status(), StatusCode::OK);
    assert_eq!(version(&kefu, &token, "default"), 2);

    let second_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut second = Uac::new("127.0.0.1:0", kefu.sip, "4000");
    let answer = second
        .invite(&offer(second_rtp.local_addr().unwrap(), "0 101"), WAIT)
        .expect("an answer");
    assert_eq!(answer.status, 200, "{}", answer.text);
    second.ack("");
    let bye = second
        .answer_next_request(Duration::from_secs(30))
        .expect("the announcement ends with kefu's BYE");
    assert!(bye.starts_with("BYE "), "{bye}");

    // The first caller is still in version 1's menu: no key, then goodbye.
    let bye = first
        .answer_next_request(Duration::from_secs(45))
        .expect("version 1 ends the first call");
    assert!(bye.starts_with("BYE "), "{bye}");

    let deadline = Instant::now() + WAIT;
    let calls = loop {
        let calls = calls_to_4000(&kefu, &token);
        if calls.len() == 2 && calls.iter().all(|c| !c["ended_at"].is_null()) {
            break calls;
        }
        assert!(Instant::now() < deadline, "calls not finished: {calls:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let (newer, older) = (&calls[0], &calls[1]);
    assert_eq!(older["flow_version"], 1, "{older}");
    assert_eq!(older["flow_path"], "welcome,menu,goodbye,hangup", "{older}");
    assert_eq!(newer["flow_version"], 2, "{newer}");
    assert_eq!(newer["flow_path"], "pick_up,hello,bye", "{newer}");
}

#[test]
fn scripts_folder_changes_become_versions_and_broken_files_are_not_used() {
    let scripts = tempfile::tempdir().unwrap();
    let file = scripts.path().join("extra.toml");
    std::fs::write(&file, ANNOUNCEMENT).unwrap();
    let folder = scripts.path().display().to_string();
    let (_dir, kefu, token) = start_demo(&[("KEFU_IVR_SCRIPTS_DIR", &folder)]);
    assert_eq!(version(&kefu, &token, "extra"), 1, "loaded at start");

    std::fs::write(&file, ANNOUNCEMENT.replace("version two", "version 2")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while version(&kefu, &token, "extra") != 2 {
        assert!(Instant::now() < deadline, "the change was not loaded");
        std::thread::sleep(Duration::from_millis(200));
    }

    std::fs::write(
        &file,
        ANNOUNCEMENT.replace("next = \"bye\"", "next = \"by\""),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !kefu.stderr().contains("IVR flow has errors; not activated") {
        assert!(
            Instant::now() < deadline,
            "the broken file was not reported"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let log = kefu.stderr();
    assert!(
        log.contains("extra.toml:11: error: node \"hello\": field \"next\": exit points to unknown node \"by\""),
        "{log}"
    );
    let flow: Value = get(&kefu, &token, "/api/v1/ivr/flows/extra")
        .json()
        .unwrap();
    assert_eq!(flow["version"], 2, "the broken file is not used");
    assert!(flow["source"].as_str().unwrap().contains("version 2"));
}
