//! Runs `sipp` scenarios from `tests/sipp/` against a kefu under test and reads
//! back what sipp says: exit code, output, `-trace_err` errors, `-trace_msg`
//! messages and the cumulative call counts of `-trace_stat`.

use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// The install hint a test gives when sipp is missing.
const MISSING: &str = "sipp is missing: install the test peers with \
    `scripts/install-deps.sh test` (Debian package sip-tester)";

/// Fails the test, naming the install command, when sipp is not installed.
pub fn require() {
    let installed = Command::new("sipp").arg("-v").output();
    assert!(installed.is_ok(), "{MISSING}");
}

/// A scenario file of `tests/sipp/`.
pub fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
}

/// A local port free for sipp (`-p`), picked by binding port 0.
pub fn free_port(ip: &str) -> u16 {
    loop {
        let port = UdpSocket::bind((ip, 0))
            .and_then(|socket| socket.local_addr())
            .expect("a free port")
            .port();
        // sipp binds the port over TCP too when it runs on TCP.
        if std::net::TcpListener::bind((ip, port)).is_ok() {
            return port;
        }
    }
}

/// One finished sipp run.
#[derive(Debug)]
pub struct SippRun {
    /// The exit code: 0 when every call succeeded, 1 when some failed.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// What `-trace_err` wrote.
    pub errors: String,
    /// What `-trace_msg` wrote: every message sent and received.
    pub messages: String,
    /// Calls that succeeded and failed, from the last `-trace_stat` line.
    pub successful: u64,
    pub failed: u64,
}

impl SippRun {
    /// Everything sipp said, for a failure message.
    pub fn report(&self) -> String {
        format!(
            "sipp exit code {:?}, {} successful / {} failed calls\n-- errors (-trace_err):\n{}\n-- stderr:\n{}\n-- stdout (tail):\n{}",
            self.code,
            self.successful,
            self.failed,
            self.errors,
            self.stderr,
            tail(&self.stdout, 40)
        )
    }

    /// Asserts that sipp exited 0 after `calls` successful calls.
    pub fn assert_all_succeeded(&self, calls: u64, kefu_log: &str) {
        assert!(
            self.code == Some(0) && self.successful == calls && self.failed == 0,
            "expected {calls} successful calls\n{}\n-- kefu stderr:\n{kefu_log}",
            self.report()
        );
    }

    /// The first received response with this status code, as sipp logged it.
    pub fn received_response(&self, code: u16) -> Option<String> {
        let start = self.messages.find(&format!("SIP/2.0 {code} "))?;
        let rest = &self.messages[start..];
        let end = rest.find("\n\n").or_else(|| rest.find("\r\n\r\n"))?;
        Some(rest[..end].replace('\r', ""))
    }
}

/// Runs `scenario` against `target` from `local_ip` with extra `args` (e.g.
/// `-m 1`, `-t t1`, `-au`/`-ap`, `-key`), writing its files under `work_dir`.
pub fn run(
    scenario: &Path,
    target: SocketAddr,
    local_ip: &str,
    args: &[&str],
    work_dir: &Path,
) -> SippRun {
    run_on(
        scenario,
        target,
        (local_ip, free_port(local_ip)),
        args,
        work_dir,
    )
}

/// [`run`] on a given local address and port (e.g. one a phone registered
/// from before sipp takes it over).
pub fn run_on(
    scenario: &Path,
    target: SocketAddr,
    (local_ip, port): (&str, u16),
    args: &[&str],
    work_dir: &Path,
) -> SippRun {
    require();
    static RUN: AtomicU32 = AtomicU32::new(0);
    let run = RUN.fetch_add(1, Ordering::Relaxed);
    let file = |kind: &str| work_dir.join(format!("sipp-{run}-{kind}"));
    let (errors, messages, stats) = (file("errors.log"), file("messages.log"), file("stat.csv"));
    let output = Command::new("sipp")
        .arg("-sf")
        .arg(scenario)
        .args(["-i", local_ip, "-p", &port.to_string()])
        .args(["-nostdin", "-timeout", "60s", "-trace_err", "-error_file"])
        .arg(&errors)
        .args(["-trace_msg", "-message_file"])
        .arg(&messages)
        .args(["-trace_stat", "-stf"])
        .arg(&stats)
        .args(args)
        .arg(target.to_string())
        .current_dir(work_dir)
        .output()
        .unwrap_or_else(|error| panic!("cannot run sipp ({error}); {MISSING}"));
    let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
    let stats = read(&stats);
    let count = |column: &str| cumulative(&stats, column).unwrap_or(0);
    SippRun {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        errors: read(&errors),
        messages: read(&messages),
        successful: count("SuccessfulCall(C)"),
        failed: count("FailedCall(C)"),
    }
}

/// The value of `column` in the last line of a `-trace_stat` CSV.
fn cumulative(csv: &str, column: &str) -> Option<u64> {
    let mut lines = csv.lines().filter(|line| !line.trim().is_empty());
    let header = lines.next()?;
    let index = header.split(';').position(|name| name == column)?;
    lines
        .next_back()?
        .split(';')
        .nth(index)?
        .trim()
        .parse()
        .ok()
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
