//! Browsers on calls, through kefu's WebRTC gateway, in Chromium with a fake
//! microphone playing a tone (driven by `tests/web/phone_e2e.mjs` with
//! `playwright-core`): the workspace's JsSIP softphone registers over the SIP
//! WebSocket (`/sip`) and calls the echo test `4001`, hearing its own tone
//! back; agent 1001 signs in to the workspace (`/agent/`), goes ready, and
//! answers a caller queued through the demo IVR: each hears the other's
//! tone, the call's stereo recording holds both, and hanging up shows the
//! wrap-up countdown, from which the agent goes ready again. Artifacts (the
//! browser's log, screenshots of the workspace) go under
//! `CARGO_TARGET_TMPDIR/phone-e2e-*/`.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::io::{BufRead, BufReader};
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::baresip::share_of;
use common::demo::{ended, get_json, newest_call, start_demo};
use common::kefu::{Kefu, http};
use common::rtp::{dtmf, frame_of, stream};
use common::uac::{Uac, offer};
use serde_json::Value;

const CHROMIUM: &str = "/usr/bin/chromium";

/// A 48 kHz mono WAV of `hz` for `seconds`: the browser's microphone.
fn tone_wav(path: &Path, hz: f64, seconds: u32) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    for n in 0..48_000 * seconds {
        let t = f64::from(n) / 48_000.0;
        let sample =
            (f64::from(i16::MAX) * 0.3 * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16;
        writer.write_sample(sample).unwrap();
    }
    writer.finalize().unwrap();
}

/// The browser script, its JSON lines and its stdin.
struct Browser {
    node: Child,
    lines: mpsc::Receiver<String>,
    stdin: ChildStdin,
    log: PathBuf,
}

impl Browser {
    fn start(mode: &str, base: &str, wav: &Path) -> Self {
        let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web");
        assert!(
            Path::new(CHROMIUM).exists(),
            "Chromium is missing: apt-get install -y chromium (or scripts/install-deps.sh test)"
        );
        assert!(
            web.join("node_modules/playwright-core").exists(),
            "playwright-core is missing: npm install --prefix tests/web (or scripts/install-deps.sh test)"
        );
        let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("phone-e2e-{mode}"));
        std::fs::create_dir_all(&artifacts).unwrap();
        let log = artifacts.join("browser.log");
        let mut node = Command::new("node")
            .arg(web.join("phone_e2e.mjs"))
            .args([mode, base])
            .arg(wav)
            .arg(&artifacts)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("node (apt-get install -y nodejs)");
        let stdin = node.stdin.take().unwrap();
        let stdout = node.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            node,
            lines,
            stdin,
            log,
        }
    }

    /// The next JSON line, within `wait`.
    fn next(&self, kefu: &Kefu, wait: Duration) -> Value {
        match self.lines.recv_timeout(wait) {
            Ok(line) => serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}")),
            Err(_) => self.fail(kefu, "the browser said nothing in time"),
        }
    }

    fn fail(&self, kefu: &Kefu, what: &str) -> ! {
        panic!(
            "{what}\nbrowser:\n{}\nkefu:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default(),
            kefu.stderr()
        )
    }

    /// Waits for the script to finish successfully.
    fn finish(mut self, kefu: &Kefu) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.node.try_wait().unwrap() {
                Some(status) if status.success() => return,
                Some(_) => self.fail(kefu, "the browser script failed"),
                None if Instant::now() > deadline => {
                    let _ = self.node.kill();
                    self.fail(kefu, "the browser script did not end")
                }
                None => std::thread::sleep(Duration::from_millis(100)),
            }
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.node.kill();
        let _ = self.node.wait();
        let _ = &self.stdin;
    }
}

#[test]
fn a_jssip_softphone_registered_over_websocket_hears_its_own_tone_from_the_echo_test() {
    let (dir, kefu, token) = start_demo(&[]);
    let base = kefu.url("");
    let wav = dir.path().join("microphone.wav");
    tone_wav(&wav, 440.0, 60);
    let browser = Browser::start("echo", &base, &wav);
    let measured = browser.next(&kefu, Duration::from_secs(60));
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

/// The largest share of `hz` in any one-second window of `samples`.
fn best_second(samples: &[i16], rate: u32, hz: f64) -> f64 {
    samples
        .chunks(rate as usize)
        .filter(|window| window.len() == rate as usize)
        .map(|window| share_of(window, rate, hz))
        .fold(0.0, f64::max)
}

#[test]
fn an_agent_answers_a_queued_caller_in_the_browser_workspace_and_both_are_heard_and_recorded() {
    let (dir, kefu, token) = start_demo(&[]);
    let base = kefu.url("");
    let wav = dir.path().join("microphone.wav");
    tone_wav(&wav, 1000.0, 90);
    let browser = Browser::start("agent", &base, &wav);
    let ready = browser.next(&kefu, Duration::from_secs(60));
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
        stream(&rtp, media, 60, 20 * 50, |n| frame_of(&[440.0], n))
    });

    let heard = browser.next(&kefu, Duration::from_secs(60));
    let peak = heard["heard"]["peak_hz"].as_i64().unwrap();
    assert!(
        (420..=460).contains(&peak),
        "the browser should hear the caller's 440 Hz, its peak is at {peak} Hz: {heard}"
    );
    let wrap_up = browser.next(&kefu, Duration::from_secs(30));
    assert!(
        wrap_up["wrap_up"].as_str().unwrap().contains("wrap-up"),
        "{wrap_up}"
    );
    let ready_again = browser.next(&kefu, Duration::from_secs(30));
    assert!(
        ready_again["ready_again"]
            .as_str()
            .unwrap()
            .starts_with("ready"),
        "{ready_again}"
    );
    browser.finish(&kefu);

    let caller_heard = caller.join().unwrap();
    let share = best_second(&caller_heard, 8000, 1000.0);
    assert!(
        share > 0.7,
        "the caller should hear the browser's 1000 Hz (best second {share:.2})"
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
