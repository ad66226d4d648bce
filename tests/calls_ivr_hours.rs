#![allow(clippy::unwrap_used)]
//! `ivr-scripts/after-hours.toml` on the demo's DID 4004 asks the calendar
//! `support` on real calls: open, the caller gets the language menu;
//! closed (the calendar replaced through the API), the closed message.

mod common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::demo::start_demo;
use common::kefu::{Kefu, http};
use common::uac::{Uac, offer};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

fn get(kefu: &Kefu, token: &str, path: &str) -> Value {
    http()
        .get(kefu.url(path))
        .bearer_auth(token)
        .send()
        .unwrap()
        .json()
        .unwrap()
}

fn set_support_hours(kefu: &Kefu, token: &str, hours: &[&str]) {
    let days = json!({"mon": hours, "tue": hours, "wed": hours, "thu": hours,
                      "fri": hours, "sat": hours, "sun": hours});
    let body = json!({"time_zone": "Asia/Shanghai", "weekly": days});
    let response = http()
        .put(kefu.url("/api/v1/calendars/support"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// Calls 4004, waits until the flow path reaches `node`, hangs up and
/// returns the finished record.
fn call_until(kefu: &Kefu, token: &str, node: &str) -> Value {
    let phone_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut uac = Uac::new("127.0.0.1:0", kefu.sip, "4004");
    let answer = uac
        .invite(&offer(phone_rtp.local_addr().unwrap(), "0 101"), WAIT)
        .expect("an answer");
    assert_eq!(answer.status, 200, "{}", answer.text);
    uac.ack("");
    let deadline = Instant::now() + Duration::from_secs(30);
    let reached = |call: &Value| {
        call["flow_path"]
            .as_str()
            .is_some_and(|path| path.split(',').any(|n| n == node))
    };
    let newest = || get(kefu, token, "/api/v1/calls?did=4004&limit=1")[0].clone();
    while !reached(&newest()) {
        assert!(
            Instant::now() < deadline,
            "never reached {node}: {}\nkefu:\n{}",
            newest(),
            kefu.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(uac.bye(WAIT), Some(200));
    let deadline = Instant::now() + WAIT;
    loop {
        let call = newest();
        if !call["ended_at"].is_null() {
            return call;
        }
        assert!(Instant::now() < deadline, "call not finished: {call}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_support_calendar_decides_between_the_menu_and_the_closed_message() {
    let (_dir, kefu, token) = start_demo(&[]);

    set_support_hours(&kefu, &token, &["00:00-24:00"]);
    let open = call_until(&kefu, &token, "language");
    assert_eq!(open["flow_name"], "after-hours", "{open}");
    assert_eq!(open["flow_path"], "answer,open_now,language", "{open}");

    set_support_hours(&kefu, &token, &[]);
    let closed = call_until(&kefu, &token, "closed_message");
    assert_eq!(
        closed["flow_path"], "answer,open_now,closed_message",
        "{closed}"
    );
}
