#![allow(clippy::unwrap_used)]
//! The shipped example `ivr-scripts/vip.toml` on the demo's DID 4003,
//! asking a stand-in CRM on loopback: a gold customer is greeted and routed
//! to the priority queue; a CRM that answers 500, or not within the node's
//! timeout, sends the caller down the failure exit to the normal menu. The
//! flow comes from an IVR scripts folder holding vip.toml with the CRM's
//! URL, which also shows a changed file becoming the next version.

mod common;

use std::net::UdpSocket;
use std::path::Path;
use std::time::{Duration, Instant};

use common::crm::Crm;
use common::demo::{self, get_json, start_demo};
use common::kefu::Kefu;
use common::uac::{Uac, offer};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);
const SHIPPED_URL: &str = "https://crm.example.com/api/ivr/lookup";

/// vip.toml as shipped, asking `url` instead of the example CRM.
fn vip_flow(url: &str) -> String {
    let shipped = include_str!("../ivr-scripts/vip.toml");
    assert!(shipped.contains(SHIPPED_URL), "vip.toml's URL changed");
    shipped.replace(SHIPPED_URL, url)
}

fn start(scripts: &Path) -> (tempfile::TempDir, Kefu, String) {
    let scripts = scripts.display().to_string();
    start_demo(&[("KEFU_IVR_SCRIPTS_DIR", &scripts)])
}

/// The newest call to 4003 once `done` holds for its record.
fn newest_call(kefu: &Kefu, token: &str, done: impl Fn(&Value) -> bool) -> Value {
    demo::newest_call(kefu, token, "4003", Duration::from_secs(30), done)
}

/// Calls 4003 and returns the answered caller.
fn call_4003(kefu: &Kefu, phone_rtp: &UdpSocket) -> Uac {
    let mut uac = Uac::new("127.0.0.1:0", kefu.sip, "4003");
    let answer = uac
        .invite(&offer(phone_rtp.local_addr().unwrap(), "0 101"), WAIT)
        .expect("an answer");
    assert_eq!(answer.status, 200, "{}", answer.text);
    uac.ack("");
    uac
}

/// Waits until the newest call's path reaches the normal menu, hangs up,
/// and returns the finished record.
fn hang_up_at_the_menu(kefu: &Kefu, token: &str, uac: &mut Uac) -> Value {
    newest_call(kefu, token, |call| {
        call["flow_path"]
            .as_str()
            .is_some_and(|path| path.ends_with(",menu"))
    });
    assert_eq!(uac.bye(WAIT), Some(200));
    newest_call(kefu, token, |call| !call["ended_at"].is_null())
}

#[test]
fn a_gold_customer_from_the_crm_goes_to_the_priority_queue() {
    let crm = Crm::start();
    let scripts = tempfile::tempdir().unwrap();
    std::fs::write(scripts.path().join("vip.toml"), vip_flow(&crm.url("/vip"))).unwrap();
    let (_dir, kefu, token) = start(scripts.path());
    let flow = get_json(&kefu, &token, "/api/v1/ivr/flows/vip");
    assert!(
        flow["source"].as_str().unwrap().contains(&crm.url("/vip")),
        "the folder's vip.toml is active: {flow}"
    );

    // Nobody works: the queue lets the caller go after a second.
    demo::configure_queue(&kefu, &token, "sales", &json!({"max_wait_secs": 1}));

    let phone_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let uac = call_4003(&kefu, &phone_rtp);
    let bye = uac
        .answer_next_request(Duration::from_secs(40))
        .expect("kefu's BYE once the queue let the caller go");
    assert!(bye.starts_with("BYE "), "{bye}");

    let call = newest_call(&kefu, &token, |call| !call["ended_at"].is_null());
    assert_eq!(call["flow_name"], "vip", "{call}");
    assert_eq!(call["flow_version"], flow["version"], "{call}");
    assert_eq!(
        call["flow_path"], "answer,lookup,route,vip_greeting,vip_queue",
        "{call}"
    );
    assert_eq!(call["queue"], "sales", "{call}");
    assert_eq!(
        call["variables"]["vip_level"], "gold",
        "the CRM's reply is kept for the agent: {call}"
    );
    assert!(
        call["variables"].get("caller").is_none(),
        "only what the flow set: {call}"
    );
    let contact = get_json(
        &kefu,
        &token,
        &format!(
            "/api/v1/contacts/{}?tenant=demo",
            call["contact_id"].as_str().unwrap()
        ),
    );
    assert_eq!(
        contact["priority"], 9,
        "gold customers jump the queue: {contact}"
    );
    let received = crm.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0].path, "/vip");
    assert_eq!(received[0].content_type, "application/json");
    let body: Value = serde_json::from_str(&received[0].body).unwrap();
    assert_eq!(body["caller"], "caller", "{body}");
    assert_eq!(body["did"], "4003", "{body}");
    assert_eq!(body["call_id"], call["id"], "{body}");
}

#[test]
fn a_crm_answering_500_or_too_late_sends_the_caller_to_the_normal_menu() {
    let crm = Crm::start();
    let scripts = tempfile::tempdir().unwrap();
    let file = scripts.path().join("vip.toml");
    std::fs::write(&file, vip_flow(&crm.url("/broken"))).unwrap();
    let (_dir, kefu, token) = start(scripts.path());
    let phone_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();

    let mut uac = call_4003(&kefu, &phone_rtp);
    let broken = hang_up_at_the_menu(&kefu, &token, &mut uac);
    assert_eq!(
        broken["flow_path"], "answer,lookup,normal_greeting,menu",
        "{broken}"
    );
    assert!(
        kefu.stderr().contains("answered 500 Internal Server Error"),
        "the log says why the webhook failed"
    );

    let before = get_json(&kefu, &token, "/api/v1/ivr/flows/vip")["version"]
        .as_i64()
        .unwrap();
    std::fs::write(&file, vip_flow(&crm.url("/slow"))).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while get_json(&kefu, &token, "/api/v1/ivr/flows/vip")["version"].as_i64() == Some(before) {
        assert!(
            Instant::now() < deadline,
            "the changed vip.toml was not loaded"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let mut uac = call_4003(&kefu, &phone_rtp);
    let slow = hang_up_at_the_menu(&kefu, &token, &mut uac);
    assert_eq!(slow["flow_version"], before + 1, "{slow}");
    assert_eq!(
        slow["flow_path"], "answer,lookup,normal_greeting,menu",
        "{slow}"
    );
    let paths: Vec<String> = crm.received().into_iter().map(|r| r.path).collect();
    assert_eq!(paths, ["/broken", "/slow"]);
}
