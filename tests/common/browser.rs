//! Browsers in tests: the checks that Chromium and `playwright-core`, or
//! Firefox and `puppeteer-core`, are installed ([`Browser`]), a fake
//! microphone for Chromium (a WAV file it plays as its capture device), and
//! [`NodeScript`], a `tests/web/*.mjs` script that drives the browser and
//! talks to the test in lines over stdin and stdout, its stderr kept as the
//! browser's log among the test's artifacts.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::kefu::Kefu;

/// The browser a script drives.
#[derive(Debug, Clone, Copy)]
pub enum Browser {
    /// `/usr/bin/chromium`, with `playwright-core`.
    Chromium,
    /// `/usr/bin/firefox-esr`, with `puppeteer-core` (WebDriver BiDi).
    Firefox,
}

impl Browser {
    /// Fails the test, naming the install command, when the browser or its
    /// driver is missing.
    fn require(self, web: &Path) {
        let (binary, package, driver) = match self {
            Browser::Chromium => ("/usr/bin/chromium", "chromium", "playwright-core"),
            Browser::Firefox => ("/usr/bin/firefox-esr", "firefox-esr", "puppeteer-core"),
        };
        assert!(
            Path::new(binary).exists(),
            "{binary} is missing: apt-get install -y {package} (or scripts/install-deps.sh test)"
        );
        assert!(
            web.join("node_modules").join(driver).exists(),
            "{driver} is missing: npm ci --prefix tests/web (or scripts/install-deps.sh test)"
        );
    }
}

/// A 48 kHz mono WAV of `hz` for `seconds`: a browser's microphone.
pub fn tone_wav(path: &Path, hz: f64, seconds: u32) {
    write_wav(path, hz, seconds, |_| true);
}

/// A 48 kHz mono WAV of `hz` in bursts, 300 ms on and 200 ms off, for
/// `seconds`: a microphone that keeps being heard. A browser's noise
/// suppression learns a steady tone as noise and removes it within a few
/// seconds; bursts, like syllables, stay speech.
pub fn bursts_wav(path: &Path, hz: f64, seconds: u32) {
    write_wav(path, hz, seconds, |t| t.fract() % 0.5 < 0.3);
}

/// Writes `hz` at -10 dBFS where `on(t)` (t in seconds), silence elsewhere.
fn write_wav(path: &Path, hz: f64, seconds: u32, on: impl Fn(f64) -> bool) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).expect("a WAV file");
    for n in 0..48_000 * seconds {
        let t = f64::from(n) / 48_000.0;
        let level = if on(t) { 0.3 } else { 0.0 };
        let sample =
            (f64::from(i16::MAX) * level * (2.0 * std::f64::consts::PI * hz * t).sin()) as i16;
        writer.write_sample(sample).expect("a sample written");
    }
    writer.finalize().expect("the WAV file closed");
}

/// A running `node tests/web/SCRIPT ARGS…`: its stdout lines, its stdin.
pub struct NodeScript {
    node: Child,
    lines: mpsc::Receiver<String>,
    stdin: Option<ChildStdin>,
    log: PathBuf,
}

impl NodeScript {
    /// Starts `script` (a file in `tests/web/` that drives `browser`) with
    /// `args`; its stderr goes to `artifacts/browser.log`.
    pub fn start(browser: Browser, script: &str, args: &[&OsStr], artifacts: &Path) -> Self {
        let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web");
        browser.require(&web);
        std::fs::create_dir_all(artifacts).expect("the artifacts' dir");
        let log = artifacts.join("browser.log");
        let mut node = Command::new("node")
            .arg(web.join(script))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("the browser's log"))
            .spawn()
            .expect("node (apt-get install -y nodejs)");
        let stdin = node.stdin.take();
        let stdout = node.stdout.take().expect("node's stdout");
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

    /// The next line the script printed, within `wait`.
    pub fn line(&self, kefu: &Kefu, wait: Duration) -> String {
        self.lines
            .recv_timeout(wait)
            .unwrap_or_else(|_| self.fail(kefu, "the browser said nothing in time"))
    }

    /// The next line, as JSON.
    pub fn json(&self, kefu: &Kefu, wait: Duration) -> serde_json::Value {
        let line = self.line(kefu, wait);
        serde_json::from_str(&line)
            .unwrap_or_else(|_| self.fail(kefu, &format!("not JSON: {line}")))
    }

    /// Writes `line` to the script's stdin.
    pub fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("the script's stdin");
        writeln!(stdin, "{line}").expect("the script reads its stdin");
    }

    /// Fails the test with `what`, the browser's log and kefu's.
    pub fn fail(&self, kefu: &Kefu, what: &str) -> ! {
        panic!(
            "{what}\nbrowser:\n{}\nkefu:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default(),
            kefu.stderr()
        )
    }

    /// Waits for the script to finish successfully.
    pub fn finish(mut self, kefu: &Kefu) {
        self.stdin = None;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match self.node.try_wait().expect("node's status") {
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

impl Drop for NodeScript {
    fn drop(&mut self) {
        let _ = self.node.kill();
        let _ = self.node.wait();
    }
}
