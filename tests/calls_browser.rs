//! Browsers on calls, through kefu's WebRTC gateway, in Chromium with a fake
//! microphone playing a tone (driven by `tests/web/phone_e2e.mjs` with
//! `playwright-core`): the workspace's JsSIP softphone registers over the SIP
//! WebSocket (`/sip`) and calls the echo test `4001`, hearing its own tone
//! back. Artifacts (the browser's log) go under
//! `CARGO_TARGET_TMPDIR/phone-e2e-*/`.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::demo::{ended, newest_call, start_demo};
use common::kefu::Kefu;
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
