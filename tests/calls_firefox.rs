//! The agent workspace's softphone in Firefox (Debian's `firefox-esr`, driven
//! by `tests/web/phone_firefox_e2e.mjs` with `puppeteer-core` over WebDriver
//! BiDi) against `kefu serve --demo`, through kefu's WebRTC gateway: JsSIP
//! registers as 1002 over the SIP WebSocket (`/sip`), calls the echo test
//! `4001` and hears its own tone back, then hangs up, and the call's record
//! says answered and ended by the caller (Firefox as the offerer); the same
//! softphone calls the demo IVR `4000` and presses 2 (RFC 4733 from Firefox's
//! `RTCDTMFSender`), which queues it for support; agent 1003
//! signs in to `/agent/`, the page shows the softphone ready, the agent goes
//! ready and answers a caller queued for support: each hears the other's
//! tone, holding (Firefox's re-INVITE through the gateway) takes the agent
//! away from the caller until resumed, and the agent's hang-up shows the
//! wrap-up countdown (kefu as the offerer); and a caller speaking Opus dials 1003 directly, the agent
//! answers and presses 5 on the workspace's keypad, and the caller gets it as
//! RFC 4733 telephone-events (kefu used to offer browsers telephone-event/48000
//! with Opus, which Firefox, knowing only 8 kHz, answered without: the keypad
//! did nothing). The Chromium counterpart is `tests/calls_browser.rs`.
//!
//! Testing notes. Firefox's fake microphone (`media.navigator.streams.fake`)
//! is a sine whose frequency the test picks (`media.navigator.audio.fake_frequency`);
//! the script measures both what Firefox sends and what it hears with a
//! WebAudio analyser. Firefox needs more prefs than Chromium's flags on a
//! headless, offline host (each is explained in the script):
//! `media.peerconnection.ice.loopback` and `permissions.default.microphone`
//! (the fake microphone records no permission, and without one Firefox
//! gathers only the default route's address, never 127.0.0.1, where kefu's
//! media is: ICE then fails, the call stays silent), and
//! `media.cubeb.force_mock_context` (with no sound server an `AudioContext`
//! never starts). Remote settings, telemetry, captive-portal and update
//! checks are pointed nowhere; a traced run makes no DNS query.
//!
//! Needs `firefox-esr` and `node_modules/puppeteer-core` in `tests/web`
//! (`scripts/install-deps.sh test`). Artifacts (the browser's log, kefu's log,
//! screenshots of the workspace) go under `CARGO_TARGET_TMPDIR/firefox-e2e-*/`.
//! Like every browser test it runs in nextest's `browser` group, one browser
//! at a time.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::ffi::OsStr;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::baresip::heard_held_heard;
use common::browser::{Browser, NodeScript};
use common::demo::{ended, newest_call, start_demo};
use common::kefu::Kefu;
use common::rtp::{dtmf, frame_of, stream};
use common::uac::{Uac, offer};
use kefu_media::codec::{LegCodec, LegEncoder};
use serde_json::Value;

/// Starts `tests/web/phone_firefox_e2e.mjs` in `mode` against `kefu`, with a
/// fake microphone of `hz`; its artifacts go to a fresh
/// `CARGO_TARGET_TMPDIR/firefox-e2e-MODE/`.
fn firefox(mode: &str, kefu: &Kefu, hz: i64) -> (NodeScript, PathBuf) {
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("firefox-e2e-{mode}"));
    let _ = std::fs::remove_dir_all(&artifacts); // only this run's screenshots
    let script = NodeScript::start(
        Browser::Firefox,
        "phone_firefox_e2e.mjs",
        &[
            OsStr::new(mode),
            OsStr::new(&kefu.url("")),
            OsStr::new(&hz.to_string()),
            artifacts.as_os_str(),
        ],
        &artifacts,
    );
    (script, artifacts)
}

/// Waits for the script to end and keeps kefu's log beside the browser's.
fn finish(script: NodeScript, kefu: &Kefu, artifacts: &Path) {
    std::fs::write(artifacts.join("kefu.log"), kefu.stderr()).unwrap();
    script.finish(kefu);
}

/// How far a measured spectrum's peak stands above its median bin, in dB;
/// silence (the analyser's -Infinity dB, printed as null) stands nowhere.
fn above_noise(spectrum: &Value) -> i64 {
    match (spectrum["level_db"].as_i64(), spectrum["floor_db"].as_i64()) {
        (Some(level), Some(floor)) => level - floor,
        _ => 0,
    }
}

/// Whether `hz` is the tone `expected`, give or take an FFT bin or two.
fn is_tone(hz: i64, expected: i64) -> bool {
    (expected - 20..=expected + 20).contains(&hz)
}

#[test]
fn a_jssip_softphone_in_firefox_hears_its_own_tone_from_the_echo_test() {
    let (_dir, kefu, token) = start_demo(&[]);
    let (browser, artifacts) = firefox("echo", &kefu, 440);
    let measured = browser.json(&kefu, Duration::from_secs(60));
    let echo = &measured["echo"];
    let sent = echo["sent"]["peak_hz"].as_i64().unwrap();
    assert!(
        is_tone(sent, 440),
        "Firefox's fake microphone should send 440 Hz, its peak is at {sent} Hz: {echo}"
    );
    let heard = &echo["heard"];
    let peak = heard["peak_hz"].as_i64().unwrap();
    assert!(
        is_tone(peak, 440),
        "the echo should be the browser's 440 Hz, its peak is at {peak} Hz: {echo}"
    );
    let above_noise = above_noise(heard);
    assert!(
        above_noise > 30,
        "the echo should stand out of the noise, it is {above_noise} dB above it: {echo}"
    );
    assert!(
        echo["received"].as_i64().unwrap() > 100,
        "RTP should flow back: {echo}"
    );
    finish(browser, &kefu, &artifacts);
    let call = newest_call(&kefu, &token, "4001", Duration::from_secs(10), ended);
    assert!(!call["answered_at"].is_null(), "answered: {call}");
    assert_eq!(call["end_reason"], "caller_hangup", "{call}");
}

#[test]
fn a_key_pressed_on_the_firefox_softphone_picks_the_ivr_menu_entry() {
    let (_dir, kefu, token) = start_demo(&[]);
    let (browser, artifacts) = firefox("dtmf", &kefu, 440);
    let measured = browser.json(&kefu, Duration::from_secs(60));
    assert!(
        above_noise(&measured["prompt"]) > 30,
        "the menu's prompt should be heard before the key: {measured}"
    );
    finish(browser, &kefu, &artifacts);
    let call = newest_call(&kefu, &token, "4000", Duration::from_secs(10), ended);
    assert_eq!(call["flow_path"], "welcome,menu,support", "{call}");
    assert_eq!(call["digits"], "2", "{call}");
    assert_eq!(call["end_reason"], "caller_hangup", "{call}");
}

/// Streams `frames` 20 ms Opus frames of `hz` to `to` (payload type 111) and
/// returns the events of the RFC 4733 packets (payload type 101) that came
/// back meanwhile.
fn talk_opus_hearing_key_presses(
    socket: &UdpSocket,
    to: SocketAddr,
    frames: usize,
    hz: f64,
) -> Vec<u8> {
    let mut encoder = LegEncoder::new(LegCodec::opus()).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(2)))
        .unwrap();
    let start = Instant::now();
    let (mut events, mut buffer, mut payload) = (Vec::new(), [0; 2048], Vec::new());
    for n in 0..frames {
        let mut packet = vec![0x80, 111];
        packet.extend_from_slice(&(n as u16).to_be_bytes());
        packet.extend_from_slice(&((n as u32) * 960).to_be_bytes());
        packet.extend_from_slice(&0x0055_0055_u32.to_be_bytes());
        payload.clear();
        encoder
            .encode_into(&frame_of(&[hz], n), &mut payload)
            .unwrap();
        packet.extend_from_slice(&payload);
        socket.send_to(&packet, to).unwrap();
        let next = start + Duration::from_millis(20 * (n as u64 + 1));
        while Instant::now() < next {
            if let Ok((size, _)) = socket.recv_from(&mut buffer) {
                if size > 12 && buffer[1] & 0x7f == 101 {
                    events.push(buffer[12]);
                }
            }
        }
    }
    events
}

#[test]
fn a_key_on_the_firefox_workspaces_keypad_reaches_an_opus_caller_as_rfc4733() {
    let (_dir, kefu, _token) = start_demo(&[]);
    let (browser, artifacts) = firefox("keypad", &kefu, 1000);
    let registered = browser.json(&kefu, Duration::from_secs(60));
    assert_eq!(registered["registered"], true, "{registered}");

    let sip = kefu.sip;
    let caller = std::thread::spawn(move || {
        let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sdp = format!(
            "v=0\r\no=uac 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {} RTP/AVP 111 101\r\na=rtpmap:111 opus/48000/2\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n",
            rtp.local_addr().unwrap().port()
        );
        let mut uac = Uac::new("127.0.0.1:0", sip, "1003");
        let answer = uac
            .invite(&sdp, Duration::from_secs(30))
            .expect("an answer");
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert!(answer.text.contains("opus/48000/2"), "{}", answer.text);
        uac.ack("");
        talk_opus_hearing_key_presses(&rtp, answer.media_addr(), 8 * 50, 440.0)
    });

    let pressed = browser.json(&kefu, Duration::from_secs(60));
    assert_eq!(pressed["pressed"], "5", "{pressed}");
    finish(browser, &kefu, &artifacts);
    let events = caller.join().unwrap();
    assert!(
        events.contains(&5),
        "the Opus caller should get the agent's 5 as telephone-events: {events:?}"
    );
}

#[test]
fn an_agent_in_firefox_answers_a_queued_caller_both_are_heard_and_hold_silences_the_agent() {
    let (_dir, kefu, token) = start_demo(&[]);
    let (browser, artifacts) = firefox("workspace", &kefu, 1000);
    let ready = browser.json(&kefu, Duration::from_secs(60));
    assert_eq!(ready["workspace"], "softphone ready (1003)", "{ready}");
    assert_eq!(ready["ready"], true, "{ready}");

    let sip = kefu.sip;
    let caller = std::thread::spawn(move || {
        let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut uac = Uac::new("127.0.0.1:0", sip, "4000");
        let answer = uac
            .invite(
                &offer(rtp.local_addr().unwrap(), "0"),
                Duration::from_secs(10),
            )
            .expect("an answer");
        assert_eq!(answer.status, 200, "{}", answer.text);
        uac.ack("");
        let media = answer.media_addr();
        stream(&rtp, media, 0, 50, |_| frame_of(&[], 0));
        stream(&rtp, media, 50, 10, |n| frame_of(&dtmf('2'), n));
        stream(&rtp, media, 60, 20 * 50, |n| frame_of(&[440.0], n))
    });

    let heard = &browser.json(&kefu, Duration::from_secs(60))["heard"];
    let peak = heard["peak_hz"].as_i64().unwrap();
    assert!(
        is_tone(peak, 440),
        "the agent should hear the caller's 440 Hz, the peak is at {peak} Hz: {heard}"
    );
    let wrap_up = browser.json(&kefu, Duration::from_secs(30));
    assert!(
        wrap_up["wrap_up"].as_str().unwrap().contains("wrap-up"),
        "{wrap_up}"
    );
    finish(browser, &kefu, &artifacts);

    let caller_heard = caller.join().unwrap();
    let (held, seconds) = heard_held_heard(&caller_heard, 8000, 1000.0);
    assert!(
        held,
        "the caller should hear the agent's 1000 Hz, then 3 s without it (on hold), \
         then it again; its share per second: {seconds:.2?}"
    );
    let call = newest_call(&kefu, &token, "4000", Duration::from_secs(30), ended);
    assert_eq!(call["agent"], "1003", "{call}");
    assert!(!call["answered_at"].is_null(), "answered: {call}");
    assert_eq!(call["end_reason"], "callee_hangup", "{call}");
}
