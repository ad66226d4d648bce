//! Runs the real `kefu` binary on ephemeral ports with its own data dir, and
//! reads back what it prints (ready line, tokens).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Path of the binary under test.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_kefu")
}

/// A `kefu` command with a clean environment (no `KEFU_*` from the caller).
pub fn command(data_dir: &Path) -> Command {
    let mut cmd = Command::new(binary());
    for (name, _) in std::env::vars() {
        if name.starts_with("KEFU_") || name == "RUST_LOG" {
            cmd.env_remove(name);
        }
    }
    cmd.current_dir(data_dir);
    cmd
}

/// A running `kefu serve`, stopped (SIGKILL) when dropped.
pub struct Kefu {
    child: Child,
    pub http: SocketAddr,
    pub sip: SocketAddr,
    /// Every line printed on stdout up to the ready line.
    pub stdout: Vec<String>,
    pub started_in: Duration,
    pub data_dir: PathBuf,
    stderr_path: PathBuf,
}

/// How to start it.
#[derive(Default, Clone)]
pub struct Options {
    pub demo: bool,
    pub database_url: Option<String>,
    pub env: Vec<(String, String)>,
    pub extra_args: Vec<String>,
    /// `--sip-listen`; default `127.0.0.1:0` (any free port).
    pub sip_listen: Option<String>,
    /// `--http-listen`; default `127.0.0.1:0` (any free port).
    pub http_listen: Option<String>,
}

impl Kefu {
    /// Starts `kefu serve` in `data_dir` and waits for its ready line.
    pub fn start(data_dir: &Path, options: Options) -> Kefu {
        let stderr_path = data_dir.join(format!("kefu-{}.stderr", std::process::id()));
        let stderr = std::fs::File::create(&stderr_path).expect("stderr file");
        let mut cmd = command(data_dir);
        let sip_listen = options.sip_listen.as_deref().unwrap_or("127.0.0.1:0");
        let http_listen = options.http_listen.as_deref().unwrap_or("127.0.0.1:0");
        cmd.args([
            "serve",
            "--sip-listen",
            sip_listen,
            "--http-listen",
            http_listen,
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .args(&options.extra_args)
        .envs(options.env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::piped())
        .stderr(stderr);
        if options.demo {
            cmd.arg("--demo");
        }
        if let Some(url) = &options.database_url {
            cmd.args(["--database-url", url]);
        }
        let began = Instant::now();
        let mut child = cmd.spawn().expect("spawn kefu");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut lines = Vec::new();
        let deadline = began + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let ready = line.starts_with("kefu ready in ");
                    lines.push(line);
                    if ready {
                        break;
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let log = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                    panic!("kefu did not become ready; stdout: {lines:?}\nstderr:\n{log}");
                }
            }
        }
        let started_in = began.elapsed();
        let ready = lines.last().expect("ready line").clone();
        let field = |name: &str| -> SocketAddr {
            let start = ready.find(name).expect(name) + name.len();
            let rest = &ready[start..];
            let end = rest.find(' ').unwrap_or(rest.len());
            rest[..end].parse().expect("address")
        };
        Kefu {
            http: field("http=http://"),
            sip: field("sip="),
            child,
            stdout: lines,
            started_in,
            data_dir: data_dir.to_owned(),
            stderr_path,
        }
    }

    /// `http://ADDR` + path.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, path)
    }

    /// The first token on stdout with this prefix (e.g. `kefu_admin_`).
    pub fn printed_token(&self, prefix: &str) -> Option<String> {
        self.stdout.iter().find_map(|line| {
            let start = line.find(prefix)?;
            let token: String = line[start..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            Some(token)
        })
    }

    /// The demo agent's API token for this extension, from stdout.
    pub fn agent_token(&self, extension: &str) -> String {
        let line = self
            .stdout
            .iter()
            .find(|l| l.trim_start().starts_with(&format!("agent {extension}:")))
            .expect("agent line");
        let start = line.find("kefu_agent_").expect("agent token");
        line[start..].trim().to_owned()
    }

    /// Sends a signal and waits (up to `limit`) for the exit status.
    pub fn signal_and_wait(&mut self, signal: &str, limit: Duration) -> Option<ExitStatus> {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -{signal} failed");
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// What kefu logged so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for Kefu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking HTTP client with a short timeout.
pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}
