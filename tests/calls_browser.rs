//! Browsers on calls, through kefu's WebRTC gateway, in Chromium with a fake
//! microphone playing a tone (driven by `tests/web/phone_e2e.mjs` with
//! `playwright-core`): the workspace's JsSIP softphone registers over the SIP
//! WebSocket (`/sip`) and calls the echo test `4001`, hearing its own tone
//! back; agent 1001 signs in to the workspace (`/agent/`), goes ready, and
//! answers a caller queued through the demo IVR: each hears the other's
//! tone, holding (a re-INVITE through the gateway) takes the agent away
//! from the caller until resumed, the call's stereo recording holds both,
//! and hanging up shows the
//! wrap-up countdown, from which the agent goes ready again. Artifacts (the
//! browser's log, screenshots of the workspace) go under
//! `CARGO_TARGET_TMPDIR/phone-e2e-*/`.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::net::UdpSocket;
use std::path::Path;
use std::time::Duration;

use common::baresip::{best_second, heard_held_heard};
use common::browser::{Browser, NodeScript, tone_wav};
use common::demo::{ended, get_json, newest_call, start_demo};
use common::kefu::http;
use common::rtp::{dtmf, frame_of, stream};
use common::uac::{Uac, offer};

/// Starts `phone_e2e.mjs` in `mode` against `base` with `wav` as the microphone.
fn browser(mode: &str, base: &str, wav: &Path) -> NodeScript {
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("phone-e2e-{mode}"));
    NodeScript::start(
        Browser::Chromium,
        "phone_e2e.mjs",
        &[
            mode.as_ref(),
            base.as_ref(),
            wav.as_os_str(),
            artifacts.as_os_str(),
        ],
        &artifacts,
    )
}

#[test]
fn a_jssip_softphone_registered_over_websocket_hears_its_own_tone_from_the_echo_test() {
    let (dir, kefu, token) = start_demo(&[]);
    let base = kefu.url("");
    let wav = dir.path().join("microphone.wav");
    tone_wav(&wav, 440.0, 60);
    let browser = browser("echo", &base, &wav);
    let measured = browser.json(&kefu, Duration::from_secs(60));
    let echo = &measured["echo"];
    let peak = echo["peak_hz"].as_i64().unwrap();
    assert!(
        (420..=460).contains(&peak),
        "the echo should be the browser's 440 Hz, its peak is at {peak} Hz: {measured}"
    );
    assert!(
        echo["received"].as_i64().unwrap() > 100,
        "RTP should flow back: {measured}"
    );
    browser.finish(&kefu);
    let call = newest_call(&kefu, &token, "4001", Duration::from_secs(10), ended);
    assert_eq!(call["end_reason"], "caller_hangup", "{call}");
}

#[test]
fn an_agent_answers_a_queued_caller_in_the_browser_workspace_and_both_are_heard_and_recorded() {
    let (dir, kefu, token) = start_demo(&[]);
    let base = kefu.url("");
    let wav = dir.path().join("microphone.wav");
    tone_wav(&wav, 1000.0, 90);
    let browser = browser("agent", &base, &wav);
    let ready = browser.json(&kefu, Duration::from_secs(60));
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
        stream(&rtp, media, 50, 10, |n| frame_of(&dtmf('1'), n));
        stream(&rtp, media, 60, 35 * 50, |n| frame_of(&[440.0], n))
    });

    let heard = browser.json(&kefu, Duration::from_secs(60));
    let peak = heard["heard"]["peak_hz"].as_i64().unwrap();
    assert!(
        (420..=460).contains(&peak),
        "the browser should hear the caller's 440 Hz, its peak is at {peak} Hz: {heard}"
    );
    let wrap_up = browser.json(&kefu, Duration::from_secs(30));
    assert!(
        wrap_up["wrap_up"].as_str().unwrap().contains("wrap-up"),
        "{wrap_up}"
    );
    let ready_again = browser.json(&kefu, Duration::from_secs(30));
    assert!(
        ready_again["ready_again"]
            .as_str()
            .unwrap()
            .starts_with("ready"),
        "{ready_again}"
    );
    browser.finish(&kefu);

    let caller_heard = caller.join().unwrap();
    let (held, seconds) = heard_held_heard(&caller_heard, 8000, 1000.0);
    assert!(
        held,
        "the caller should hear the browser's 1000 Hz, then 3 s without it (on hold), \
         then it again; its share per second: {seconds:.2?}"
    );

    let call = newest_call(&kefu, &token, "4000", Duration::from_secs(30), ended);
    assert_eq!(call["agent"], "1001", "{call}");
    let contact = call["contact_id"].as_str().unwrap();
    let by_contact = get_json(&kefu, &token, &format!("/api/v1/calls?contact={contact}"));
    assert_eq!(by_contact[0]["id"], call["id"], "{by_contact}");
    let picked = get_json(
        &kefu,
        &token,
        &format!("/api/v1/contacts/{contact}?tenant=demo"),
    );
    assert_eq!(picked["disposition"], "resolved", "{picked}");
    assert_eq!(call["end_reason"], "callee_hangup", "{call}");
    let id = call["recordings"][0]["id"].as_str().expect("a recording");
    let wav = http()
        .get(kefu.url(&format!("/api/v1/recordings/{id}")))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    let reader = hound::WavReader::new(std::io::Cursor::new(wav)).unwrap();
    let rate = reader.spec().sample_rate;
    let stereo: Vec<i16> = reader.into_samples::<i16>().map(Result::unwrap).collect();
    let (left, right): (Vec<i16>, Vec<i16>) = stereo
        .chunks_exact(2)
        .map(|frame| (frame[0], frame[1]))
        .unzip();
    for (channel, audio, hz) in [("caller", &left, 440.0), ("agent", &right, 1000.0)] {
        let share = best_second(audio, rate, hz);
        assert!(
            share > 0.7,
            "the recording's {channel} channel should hold {hz} Hz (best second {share:.2})"
        );
    }
}
