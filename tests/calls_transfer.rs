#![allow(clippy::unwrap_used)]
//! IVR `transfer` nodes through `kefu serve --demo`, with the demo's main
//! flow (DID 4000) replaced through the API by one that dials an extension:
//! a real phone (baresip as 1001, answering with 1000 Hz) is put through to
//! the caller (sending 440 Hz), and an extension without a phone takes the
//! node's `failed` exit to a goodbye.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::baresip::{agent_phone, samples, share_of, tone_presence};
use common::demo::{ended, newest_call, start_demo};
use common::kefu::{Kefu, http};
use common::rtp::{frame_of, stream};
use common::uac::{Uac, offer};

const WAIT: Duration = Duration::from_secs(10);

/// Makes DID 4000's flow dial `to`, saying goodbye when it does not connect.
fn dial_flow(kefu: &Kefu, token: &str, to: &str) {
    let source = format!(
        r#"
name = "default"
start = "hello"

[nodes.hello]
type = "answer"
next = "dial"

[nodes.dial]
type = "transfer"
to = "{to}"
timeout_secs = 5
no_answer = "sorry"
busy = "sorry"
failed = "sorry"

[nodes.sorry]
type = "say"
text = "Nobody answers. Goodbye."
next = "bye"

[nodes.bye]
type = "hangup"
"#
    );
    let response = http()
        .put(kefu.url("/api/v1/ivr/flows/default?tenant=demo"))
        .bearer_auth(token)
        .header("content-type", "application/toml")
        .body(source)
        .send()
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().unwrap());
}

#[test]
fn a_transfer_to_an_extension_puts_the_caller_through_to_the_phone() {
    let (dir, kefu, token) = start_demo(&[("KEFU_SIP_DIGEST_ALGORITHMS", "MD5")]);
    dial_flow(&kefu, &token, "1001");
    let mut phone = agent_phone(dir.path(), kefu.sip, "1001", 1000, true);

    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut uac = Uac::new("127.0.0.1:0", kefu.sip, "4000");
    let answer = uac
        .invite(&offer(rtp.local_addr().unwrap(), "0"), WAIT)
        .expect("an answer");
    assert_eq!(answer.status, 200, "{}", answer.text);
    uac.ack("");
    let heard = stream(&rtp, answer.media_addr(), 0, 5 * 50, |n| {
        frame_of(&[440.0], n)
    });
    assert_eq!(uac.bye(WAIT), Some(200));
    std::thread::sleep(Duration::from_millis(500));
    phone.stop();

    let last_seconds = &heard[heard.len().saturating_sub(2 * 8000)..];
    let (holding, sounding) = tone_presence(last_seconds, 8000, 1000.0);
    assert!(
        holding > 0.8 && sounding > 0.6,
        "the caller should hear the phone: {holding:.2} of {sounding:.2}\n{}",
        kefu.stderr()
    );
    let recordings = phone.heard();
    let (rate, audio) = samples(&recordings[0]);
    let tail = &audio[audio.len().saturating_sub(rate as usize * 2)..];
    assert!(
        share_of(tail, rate, 440.0) > 0.7,
        "the phone hears the caller"
    );
    let call = newest_call(&kefu, &token, "4000", WAIT, ended);
    assert_eq!(call["flow_path"], "hello,dial", "{call}");
    assert_eq!(call["end_reason"], "caller_hangup", "{call}");
    assert_eq!(call["legs"][1]["role"], "agent", "{call}");
    assert_eq!(call["legs"][1]["final_status"], 200, "{call}");
}

#[test]
fn a_transfer_to_an_extension_without_a_phone_takes_the_failed_exit() {
    let (_dir, kefu, token) = start_demo(&[]);
    dial_flow(&kefu, &token, "1002");
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut uac = Uac::new("127.0.0.1:0", kefu.sip, "4000");
    let answer = uac
        .invite(&offer(rtp.local_addr().unwrap(), "0"), WAIT)
        .expect("an answer");
    assert_eq!(answer.status, 200, "{}", answer.text);
    uac.ack("");
    let bye = uac
        .answer_next_request(Duration::from_secs(20))
        .expect("kefu's BYE");
    assert!(bye.starts_with("BYE "), "{bye}");
    let call = newest_call(&kefu, &token, "4000", WAIT, ended);
    assert_eq!(call["flow_path"], "hello,dial,sorry,bye", "{call}");
    assert_eq!(call["end_reason"], "kefu_hangup:flow_hangup", "{call}");
}
