#![allow(clippy::unwrap_used)]
//! The demo IVR on DID 4000 (`ivr-scripts/default.toml`) driven by real
//! callers: sipp pressing 2 as RFC 4733 events from its pcap, a caller whose
//! key press is a tone in the audio, and a caller who presses nothing. The
//! call record shows the path through the flow and the keys.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::demo::{configure_queue, ended, newest_call, start_demo};
use common::kefu::Kefu;
use common::uac::{Uac, offer};
use kefu_media::g711::G711;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(5);

/// The newest call to 4000, once its record is finished.
fn finished_ivr_call(kefu: &Kefu, token: &str, limit: Duration) -> Value {
    newest_call(kefu, token, "4000", limit, ended)
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn sipp_pressing_2_as_rfc_4733_reaches_support_and_the_record_shows_the_path() {
    let (_dir, kefu, token) = start_demo(&[]);
    // Nobody works: the queue lets the caller go after a second.
    configure_queue(&kefu, &token, "support", &json!({"max_wait_secs": 1}));
    assert!(
        Command::new("sipp").arg("-v").output().is_ok(),
        "sipp is missing: run `scripts/install-deps.sh test` (Debian package sip-tester)"
    );
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp/ivr_dtmf.xml");
    let output = Command::new("sipp")
        .arg("-sf")
        .arg(&scenario)
        .args(["-s", "4000", "-m", "1", "-timeout", "40s", "-nostdin"])
        .args(["-i", "127.0.0.1", "-mi", "127.0.0.1"])
        .args(["-p", &free_udp_port().to_string()])
        .args(["-mp", &free_udp_port().to_string()])
        .args([
            "-key",
            "dtmf_pcap",
            "/usr/share/sip-tester/dtmf_2833_2.pcap",
        ])
        .arg(kefu.sip.to_string())
        .current_dir(&kefu.data_dir)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "sipp failed\nstdout:\n{}\nstderr:\n{}\nkefu:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        kefu.stderr()
    );
    let call = finished_ivr_call(&kefu, &token, WAIT);
    assert_eq!(call["flow_name"], "default", "{call}");
    assert_eq!(call["flow_path"], "welcome,menu,support", "{call}");
    assert_eq!(call["digits"], "2", "{call}");
    assert_eq!(call["end_reason"], "kefu_hangup:flow_ended", "{call}");
}

/// 20 ms of PCMU: the two tones of `key` (DTMF), or silence for `None`.
fn pcmu_frame(key: Option<(f64, f64)>, frame: usize) -> Vec<u8> {
    let samples: Vec<i16> = (0..160)
        .map(|i| {
            let t = (frame * 160 + i) as f64 / 8000.0;
            key.map_or(0.0, |(low, high)| {
                6000.0
                    * ((2.0 * std::f64::consts::PI * low * t).sin()
                        + (2.0 * std::f64::consts::PI * high * t).sin())
            }) as i16
        })
        .collect();
    G711::Pcmu.encode(&samples)
}

/// Streams `frames` 20 ms PCMU frames to `to`, each from `frame(n)`, and
/// counts the packets kefu sends back meanwhile.
fn stream(
    socket: &UdpSocket,
    to: SocketAddr,
    frames: usize,
    frame: impl Fn(usize) -> Vec<u8>,
) -> usize {
    socket
        .set_read_timeout(Some(Duration::from_millis(2)))
        .unwrap();
    let mut received = 0;
    let mut buffer = [0; 2048];
    for n in 0..frames {
        let mut packet = vec![0x80, 0x00];
        packet.extend_from_slice(&(n as u16).to_be_bytes());
        packet.extend_from_slice(&((n as u32) * 160).to_be_bytes());
        packet.extend_from_slice(&0x00c0_ffee_u32.to_be_bytes());
        packet.extend(frame(n));
        socket.send_to(&packet, to).unwrap();
        let next = Instant::now() + Duration::from_millis(20);
        while Instant::now() < next {
            if socket.recv_from(&mut buffer).is_ok() {
                received += 1;
            }
        }
    }
    received
}

#[test]
fn a_key_pressed_as_a_tone_in_the_audio_reaches_sales() {
    let (_dir, kefu, token) = start_demo(&[]);
    configure_queue(&kefu, &token, "sales", &json!({"max_wait_secs": 1}));
    let phone_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut uac = Uac::new("127.0.0.1:0", kefu.sip, "4000");
    let answer = uac
        .invite(&offer(phone_rtp.local_addr().unwrap(), "0"), WAIT)
        .expect("an answer");
    assert_eq!(answer.status, 200, "{}", answer.text);
    uac.ack("");
    let media = answer.media_addr();
    let one = Some((697.0, 1209.0));
    let heard = stream(&phone_rtp, media, 50, |_| pcmu_frame(None, 0));
    stream(&phone_rtp, media, 8, |n| pcmu_frame(one, n));
    stream(&phone_rtp, media, 25, |_| pcmu_frame(None, 0));
    // Any audio at all: a busy machine delays packets, it does not stop them.
    assert!(
        heard > 10,
        "the greeting should be playing; got {heard} packets in 1 s"
    );

    let bye = uac
        .answer_next_request(Duration::from_secs(20))
        .expect("kefu's BYE");
    assert!(bye.starts_with("BYE "), "{bye}");
    let call = finished_ivr_call(&kefu, &token, WAIT);
    assert_eq!(call["flow_path"], "welcome,menu,sales", "{call}");
    assert_eq!(call["digits"], "1", "{call}");
}

#[test]
fn a_caller_who_presses_nothing_is_prompted_again_then_said_goodbye() {
    let (_dir, kefu, token) = start_demo(&[]);
    let phone_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut uac = Uac::new("127.0.0.1:0", kefu.sip, "4000");
    let answer = uac
        .invite(&offer(phone_rtp.local_addr().unwrap(), "0 101"), WAIT)
        .expect("an answer");
    assert_eq!(answer.status, 200, "{}", answer.text);
    uac.ack("");
    let bye = uac
        .answer_next_request(Duration::from_secs(45))
        .expect("kefu's BYE");
    assert!(bye.starts_with("BYE "), "{bye}");
    let call = finished_ivr_call(&kefu, &token, WAIT);
    assert_eq!(call["flow_path"], "welcome,menu,goodbye,hangup", "{call}");
    assert_eq!(call["digits"], "", "{call}");
    assert_eq!(call["end_reason"], "kefu_hangup:flow_hangup", "{call}");
}

/// Replaces the demo's main flow (DID 4000) through the API.
fn replace_default_flow(kefu: &Kefu, token: &str, source: &str) {
    let response = common::kefu::http()
        .put(kefu.url("/api/v1/ivr/flows/default?tenant=demo"))
        .bearer_auth(token)
        .header("content-type", "application/toml")
        .body(source.to_owned())
        .send()
        .unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().unwrap());
}

#[test]
fn prompts_before_the_answer_node_play_as_early_media_and_a_hangup_then_is_480() {
    let (_dir, kefu, token) = start_demo(&[]);
    replace_default_flow(
        &kefu,
        &token,
        r#"
name = "default"
start = "notice"

[nodes.notice]
type = "say"
text = "This number is no longer in service."
next = "bye"

[nodes.bye]
type = "hangup"
"#,
    );
    let phone_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut uac = Uac::new("127.0.0.1:0", kefu.sip, "4000");
    let early = uac
        .invite_early(&offer(phone_rtp.local_addr().unwrap(), "0"), WAIT)
        .expect("a response");
    assert_eq!(early.status, 183, "{}", early.text);
    let heard = stream(&phone_rtp, early.media_addr(), 50, |_| pcmu_frame(None, 0));
    // Any audio at all: a busy machine delays packets, it does not stop them.
    assert!(
        heard > 10,
        "the notice plays before any answer: {heard} packets"
    );
    let refused = uac
        .final_response(Duration::from_secs(20))
        .expect("a final response");
    assert_eq!(refused.status, 480, "{}", refused.text);
    let call = finished_ivr_call(&kefu, &token, WAIT);
    assert_eq!(call["answered_at"], Value::Null, "never answered: {call}");
    assert_eq!(call["legs"][0]["final_status"], 480, "{call}");
    assert_eq!(call["flow_path"], "notice,bye", "{call}");
}

#[test]
fn an_answer_node_after_early_media_answers_on_the_same_media() {
    let (_dir, kefu, token) = start_demo(&[]);
    replace_default_flow(
        &kefu,
        &token,
        r#"
name = "default"
start = "ring"

[nodes.ring]
type = "say"
text = "Please wait."
next = "pick_up"

[nodes.pick_up]
type = "answer"
next = "hello"

[nodes.hello]
type = "say"
text = "Hello, and goodbye."
next = "bye"

[nodes.bye]
type = "hangup"
"#,
    );
    let phone_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut uac = Uac::new("127.0.0.1:0", kefu.sip, "4000");
    let early = uac
        .invite_early(&offer(phone_rtp.local_addr().unwrap(), "0"), WAIT)
        .expect("a response");
    assert_eq!(early.status, 183, "{}", early.text);
    let answer = uac
        .final_response(Duration::from_secs(20))
        .expect("the answer");
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.media_addr(), early.media_addr(), "the same media");
    uac.ack("");
    let bye = uac
        .answer_next_request(Duration::from_secs(20))
        .expect("kefu's BYE");
    assert!(bye.starts_with("BYE "), "{bye}");
    let call = finished_ivr_call(&kefu, &token, WAIT);
    assert!(!call["answered_at"].is_null(), "{call}");
    assert_eq!(call["flow_path"], "ring,pick_up,hello,bye", "{call}");
}
