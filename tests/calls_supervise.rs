#![allow(clippy::unwrap_used)]
//! A supervisor joins a queued call through the API: the caller (sending
//! 440 Hz) talks to agent 1001 (baresip, 1000 Hz) when supervisor 1003
//! (baresip, 1800 Hz) is rung and joins in monitor mode, is switched live to
//! whisper, and hangs up. The supervisor hears both sides; the caller never
//! hears the supervisor; the agent hears them only in whisper; the call goes
//! on untouched after the supervisor leaves; every use is in the audit log.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::baresip::{agent_phone, best_second, samples, share_of};
use common::demo::{ended, newest_call, start_demo};
use common::kefu::{Kefu, http};
use common::rtp::{dtmf, frame_of, stream};
use common::uac::{Uac, offer};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

fn send(kefu: &Kefu, token: &str, method: &str, path: &str, body: &Value) -> (u16, Value) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let response = http()
        .request(method, kefu.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().unwrap_or(Value::Null))
}

#[test]
fn a_supervisor_monitors_then_whispers_and_leaves_the_call_untouched() {
    let (dir, kefu, token) = start_demo(&[("KEFU_SIP_DIGEST_ALGORITHMS", "MD5")]);
    let mut agent = agent_phone(dir.path(), kefu.sip, "1001", 1000, true);
    let mut supervisor = agent_phone(dir.path(), kefu.sip, "1003", 1800, true);
    let agent_token = kefu.agent_token("1001");
    send(
        &kefu,
        &agent_token,
        "POST",
        "/api/v1/agents/1001/login",
        &Value::Null,
    );
    let ready = json!({"state": "ready"});
    send(
        &kefu,
        &agent_token,
        "PUT",
        "/api/v1/agents/1001/state",
        &ready,
    );

    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut uac = Uac::new("127.0.0.1:0", kefu.sip, "4000");
    let answer = uac
        .invite(&offer(rtp.local_addr().unwrap(), "0"), WAIT)
        .expect("an answer");
    assert_eq!(answer.status, 200, "{}", answer.text);
    uac.ack("");
    let media = answer.media_addr();
    let tone = |n| frame_of(&[440.0], n);
    stream(&rtp, media, 0, 50, |_| frame_of(&[], 0));
    stream(&rtp, media, 50, 10, |n| frame_of(&dtmf('1'), n));
    stream(&rtp, media, 60, 100, tone);
    let call = newest_call(&kefu, &token, "4000", WAIT, |call| call["agent"] == "1001");
    let id = call["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/calls/{id}/supervise");

    let (status, refused) = send(
        &kefu,
        &kefu.agent_token("1002"),
        "POST",
        &path,
        &json!({"supervisor": "1002", "mode": "barge"}),
    );
    assert_eq!(status, 403, "an agent may not supervise: {refused}");
    let (status, bad) = send(
        &kefu,
        &token,
        "POST",
        &path,
        &json!({"supervisor": "1003", "mode": "listen"}),
    );
    assert_eq!(status, 422, "{bad}");
    assert!(bad["detail"].as_str().unwrap().contains("mode"), "{bad}");

    let monitor = json!({"supervisor": "1003", "mode": "monitor"});
    let (status, joined) = send(&kefu, &token, "POST", &path, &monitor);
    assert_eq!(status, 202, "{joined}\n{}", kefu.stderr());
    let (status, twice) = send(&kefu, &token, "POST", &path, &monitor);
    assert_eq!(status, 409, "one supervisor at a time: {twice}");
    let monitored = stream(&rtp, media, 160, 150, tone);
    let (status, changed) = send(&kefu, &token, "PUT", &path, &json!({"mode": "whisper"}));
    assert_eq!(status, 200, "{changed}");
    let whispered = stream(&rtp, media, 310, 150, tone);
    supervisor.type_keys("/hangup\n");
    let after = stream(&rtp, media, 460, 100, tone);
    assert_eq!(uac.bye(WAIT), Some(200));
    std::thread::sleep(Duration::from_millis(500));
    agent.stop();
    supervisor.stop();

    for (phase, heard) in [("monitor", &monitored), ("whisper", &whispered)] {
        assert!(
            best_second(heard, 8000, 1800.0) < 0.05,
            "the caller heard the supervisor in {phase}\n{}",
            kefu.stderr()
        );
        assert!(
            share_of(&heard[heard.len() - 8000..], 8000, 1000.0) > 0.5,
            "the caller should still hear the agent in {phase}"
        );
    }
    let last_second = &after[after.len() - 8000..];
    assert!(
        share_of(last_second, 8000, 1000.0) > 0.7,
        "after the supervisor left the caller hears the agent as before\n{}",
        kefu.stderr()
    );

    // The agent's phone sends its tone louder than the caller (-6 dB
    // against -15 dB), so the caller's share of the mix is the smaller.
    let (rate, supervisor_heard) = samples(&supervisor.heard()[0]);
    for (hz, least) in [(440.0, 0.05), (1000.0, 0.3)] {
        let share = best_second(&supervisor_heard, rate, hz);
        assert!(
            share > least,
            "the supervisor should hear {hz} Hz: {share:.3}"
        );
    }
    let echo = best_second(&supervisor_heard, rate, 1800.0);
    assert!(echo < 0.05, "the supervisor hears themselves: {echo:.3}");
    let (rate, agent_heard) = samples(&agent.heard()[0]);
    assert!(
        best_second(&agent_heard, rate, 1800.0) > 0.2,
        "the agent should hear the supervisor's whisper"
    );

    let call = newest_call(&kefu, &token, "4000", WAIT, ended);
    let roles: Vec<&str> = call["legs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|leg| leg["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["caller", "agent", "supervisor"], "{call}");
    assert_eq!(call["end_reason"], "caller_hangup", "{call}");
    let audit: Vec<(&str, &str)> = call["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            (
                entry["action"].as_str().unwrap(),
                entry["actor"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        audit,
        [
            ("call.supervise", "admin"),
            ("call.supervise", "admin"),
            ("call.supervise.mode", "admin")
        ],
        "{call}"
    );
    let details: Value = serde_json::from_str(call["audit"][0]["data"].as_str().unwrap()).unwrap();
    assert_eq!(details["result"], "ok", "{details}");
    assert_eq!(details["mode"], "monitor", "{details}");
}
