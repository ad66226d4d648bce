//! The supervisor wallboard in Chromium, end to end (driven by
//! `tests/web/wallboard_e2e.mjs` with `playwright-core`) on a real
//! `kefu serve --demo`: agent 1002 is refused at the wallboard's sign-in,
//! supervisor 1009 signs in to `/supervisor/` and the page registers the
//! browser as 1009's phone (its fake microphone plays bursts of 1800 Hz); agent 1001
//! goes ready through the API and a caller (a SIP UAC sending 440 Hz RTP)
//! queues for sales and is answered by 1001's phone (baresip, 1000 Hz);
//! tiles, agents and the call update without a reload; the supervisor
//! presses Monitor, the browser answers and hears both parties, then
//! Whisper: the agent hears the supervisor, the caller never does; the
//! caller hangs up and the call leaves the board. Screenshots are kept
//! under `CARGO_TARGET_TMPDIR/wallboard-e2e/`.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::net::UdpSocket;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::baresip::{agent_phone, best_second, samples};
use common::browser::{Browser, NodeScript, bursts_wav};
use common::demo::start_demo;
use common::kefu::{Kefu, http};
use common::rtp::{dtmf, frame_of, stream};
use common::uac::{Uac, offer};

const WAIT: Duration = Duration::from_secs(10);
/// The tones of the caller, the agent's phone and the supervisor's browser.
const CALLER_HZ: f64 = 440.0;
const AGENT_HZ: u32 = 1000;
const SUPERVISOR_HZ: f64 = 1800.0;

/// A caller on DID 4000 who presses 1 (sales) and then speaks a tone
/// until hung up, keeping what it hears.
struct Caller {
    uac: Uac,
    speaking: Arc<AtomicBool>,
    voice: std::thread::JoinHandle<Vec<i16>>,
}

impl Caller {
    fn dial(kefu: &Kefu) -> Caller {
        let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut uac = Uac::new("127.0.0.1:0", kefu.sip, "4000");
        let answer = uac
            .invite(&offer(rtp.local_addr().unwrap(), "0"), WAIT)
            .expect("an answer");
        assert_eq!(answer.status, 200, "{}", answer.text);
        uac.ack("");
        let media = answer.media_addr();
        let speaking = Arc::new(AtomicBool::new(true));
        let still = speaking.clone();
        let voice = std::thread::spawn(move || {
            let mut heard = stream(&rtp, media, 0, 50, |_| frame_of(&[], 0));
            heard.extend(stream(&rtp, media, 50, 10, |n| frame_of(&dtmf('1'), n)));
            let mut next = 60;
            let until = Instant::now() + Duration::from_secs(120);
            while still.load(Ordering::Relaxed) && Instant::now() < until {
                heard.extend(stream(&rtp, media, next, 25, |n| frame_of(&[CALLER_HZ], n)));
                next += 25;
            }
            heard
        });
        Caller {
            uac,
            speaking,
            voice,
        }
    }

    /// Hangs up; what the caller heard (8 kHz).
    fn hang_up(mut self) -> Vec<i16> {
        self.speaking.store(false, Ordering::Relaxed);
        let heard = self.voice.join().unwrap();
        assert_eq!(self.uac.bye(WAIT), Some(200), "the BYE is answered");
        heard
    }
}

#[test]
fn a_supervisor_follows_the_wallboard_in_chromium_and_listens_and_whispers_in_the_browser() {
    let (dir, kefu, admin) = start_demo(&[("KEFU_SIP_DIGEST_ALGORITHMS", "MD5")]);
    let mut agent = agent_phone(dir.path(), kefu.sip, "1001", AGENT_HZ, true);

    // A contact abandoned before the page opens: today's figures and the
    // charts show it.
    let created: serde_json::Value = http()
        .post(kefu.url("/api/v1/contacts?tenant=demo"))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"channel": "chat", "queue": "support"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let id = created["id"].as_str().expect("a contact id");
    let abandoned = http()
        .post(kefu.url(&format!("/api/v1/contacts/{id}/abandon?tenant=demo")))
        .bearer_auth(&admin)
        .send()
        .unwrap();
    assert!(abandoned.status().is_success(), "{abandoned:?}");

    let microphone = dir.path().join("supervisor.wav");
    bursts_wav(&microphone, SUPERVISOR_HZ, 180);
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wallboard-e2e");
    let base = kefu.url("");
    let agent_token = kefu.agent_token("1001");
    let mut script = NodeScript::start(
        Browser::Chromium,
        "wallboard_e2e.mjs",
        &[
            base.as_ref(),
            agent_token.as_ref(),
            microphone.as_os_str(),
            artifacts.as_os_str(),
        ],
        &artifacts,
    );
    let deadline = Instant::now() + Duration::from_secs(150);
    let mut caller = None;
    let mut caller_heard = None;
    let mut monitored = None;
    loop {
        let line = script.line(&kefu, deadline.saturating_duration_since(Instant::now()));
        match line.as_str() {
            "call" => {
                caller = Some(Caller::dial(&kefu));
                script.send("called");
            }
            "hangup" => {
                caller_heard = Some(caller.take().expect("a call to hang up").hang_up());
                script.send("hung up");
            }
            "ok" => break,
            other => {
                if let Some(levels) = other.strip_prefix("monitor ") {
                    monitored = Some(serde_json::from_str::<serde_json::Value>(levels).unwrap());
                }
            }
        }
    }
    script.finish(&kefu);
    agent.stop();
    for shot in ["1-snapshot", "2-call", "3-supervising", "4-after"] {
        assert!(artifacts.join(format!("{shot}.png")).exists(), "{shot}");
    }

    let levels = monitored.expect("the page measured what it heard while monitoring");
    let floor = levels["floor"].as_f64().unwrap();
    for (party, hz) in [("caller", "440"), ("agent", "1000")] {
        let level = levels[hz].as_f64().unwrap();
        assert!(
            level > floor + 30.0,
            "monitoring, the supervisor should hear the {party} ({hz} Hz): {levels}"
        );
    }

    let heard_by_agent = agent.heard();
    let (rate, agent_heard) = samples(heard_by_agent.first().expect("1001's phone recorded"));
    let whispered = best_second(&agent_heard, rate, SUPERVISOR_HZ);
    assert!(
        whispered > 0.1,
        "the agent should hear the supervisor's whisper ({SUPERVISOR_HZ} Hz, best second {whispered:.2})"
    );
    let caller_heard = caller_heard.expect("the caller hung up");
    let leaked = best_second(&caller_heard, 8000, SUPERVISOR_HZ);
    assert!(
        leaked < 0.05,
        "the caller must never hear the supervisor (best second {leaked:.2} of {SUPERVISOR_HZ} Hz)"
    );
    let agent_share = best_second(&caller_heard, 8000, f64::from(AGENT_HZ));
    assert!(
        agent_share > 0.5,
        "the caller should hear the agent (best second {agent_share:.2})"
    );
}
