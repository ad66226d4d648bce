//! The agent workspace's softphone in Firefox (Debian's `firefox-esr`, driven
//! by `tests/web/phone_firefox_e2e.mjs` with `puppeteer-core` over WebDriver
//! BiDi), against `kefu serve --demo`: JsSIP registers as 1002 over the SIP
//! WebSocket (`/sip`), calls the echo test `4001` through kefu's WebRTC
//! gateway and hears its own tone back (Firefox's fake microphone is a sine
//! at the frequency the test picks, pref `media.navigator.audio.fake_frequency`),
//! then hangs up, and the call's record says answered and ended by the
//! caller; agent 1003 signs in to `/agent/` and the page shows the softphone
//! ready. The Chromium counterpart is `tests/calls_browser.rs`.
//!
//! Needs `firefox-esr` and `node_modules/puppeteer-core` in `tests/web`
//! (`scripts/install-deps.sh test`). Artifacts (the browser's log, kefu's log,
//! screenshots) go under `CARGO_TARGET_TMPDIR/firefox-e2e-*/`. Like every
//! browser test it runs in nextest's `browser` group, one browser at a time.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::demo::{ended, newest_call, start_demo};
use common::kefu::Kefu;
use serde_json::Value;

const FIREFOX: &str = "/usr/bin/firefox-esr";

/// The fake microphone's tone, well apart from the other tests' 1000 Hz.
const TONE_HZ: i64 = 440;

/// Runs the browser script in `mode` to its end (at most `limit`) and returns
/// the JSON lines it printed; any failure panics with the browser's and
/// kefu's logs, which are also kept under the artifact dir.
fn run_firefox(mode: &str, kefu: &Kefu, limit: Duration) -> Vec<Value> {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web");
    assert!(
        Path::new(FIREFOX).exists(),
        "Firefox is missing: apt-get install -y firefox-esr (or scripts/install-deps.sh test)"
    );
    assert!(
        web.join("node_modules/puppeteer-core").exists(),
        "puppeteer-core is missing: npm ci --prefix tests/web (or scripts/install-deps.sh test)"
    );
    let artifacts: PathBuf =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("firefox-e2e-{mode}"));
    std::fs::create_dir_all(&artifacts).unwrap();
    let log = artifacts.join("browser.log");
    let mut node = Command::new("node")
        .arg(web.join("phone_firefox_e2e.mjs"))
        .args([mode, &kefu.url(""), &TONE_HZ.to_string()])
        .arg(&artifacts)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("node (apt-get install -y nodejs)");
    let stdout = node.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = node.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = node.kill();
            let _ = node.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let lines = reader.join().unwrap();
    std::fs::write(artifacts.join("kefu.log"), kefu.stderr()).unwrap();
    let fail = |what: &str| -> ! {
        panic!(
            "{what}\nprinted: {lines:?}\nbrowser:\n{}\nkefu:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default(),
            kefu.stderr()
        )
    };
    match status {
        Some(status) if status.success() => {}
        Some(_) => fail("the browser script failed"),
        None => fail("the browser script did not end in time"),
    }
    lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| fail("a line is not JSON")))
        .collect()
}

#[test]
fn a_jssip_softphone_in_firefox_hears_its_own_tone_from_the_echo_test() {
    let (_dir, kefu, token) = start_demo(&[]);
    let printed = run_firefox("echo", &kefu, Duration::from_secs(90));
    let echo = &printed.first().expect("a measurement")["echo"];
    let sent = echo["sent"]["peak_hz"].as_i64().unwrap();
    assert!(
        (TONE_HZ - 20..=TONE_HZ + 20).contains(&sent),
        "Firefox's fake microphone should send {TONE_HZ} Hz, its peak is at {sent} Hz: {echo}"
    );
    let heard = &echo["heard"];
    let peak = heard["peak_hz"].as_i64().unwrap();
    assert!(
        (TONE_HZ - 20..=TONE_HZ + 20).contains(&peak),
        "the echo should be the browser's {TONE_HZ} Hz, its peak is at {peak} Hz: {echo}"
    );
    let above_noise = heard["level_db"].as_i64().unwrap() - heard["floor_db"].as_i64().unwrap();
    assert!(
        above_noise > 30,
        "the echo should stand out of the noise, it is {above_noise} dB above it: {echo}"
    );
    assert!(
        echo["received"].as_i64().unwrap() > 100,
        "RTP should flow back: {echo}"
    );
    let call = newest_call(&kefu, &token, "4001", Duration::from_secs(10), ended);
    assert!(!call["answered_at"].is_null(), "answered: {call}");
    assert_eq!(call["end_reason"], "caller_hangup", "{call}");
}

#[test]
fn an_agent_signs_in_to_the_workspace_in_firefox_and_the_softphone_is_ready() {
    let (_dir, kefu, _token) = start_demo(&[]);
    let printed = run_firefox("workspace", &kefu, Duration::from_secs(60));
    let shown = printed.first().expect("the page's text")["workspace"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(shown, "softphone ready (1003)");
}
