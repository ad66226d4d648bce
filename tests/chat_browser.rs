//! The web chat in Chromium, end to end: a visitor on the widget's demo page
//! and an agent on `/agent/` (driven by `tests/web/chat_e2e.mjs` with
//! `playwright-core`), routed by the ACD of a real `kefu serve --demo`. The
//! visitor reloads the page and sees the whole history; kefu is restarted
//! (SIGTERM, start on the same port and data dir) mid-conversation and both
//! pages reconnect and go on with every message shown once. Screenshots of
//! both pages are kept under `CARGO_TARGET_TMPDIR/chat-e2e/`.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::kefu::{Kefu, Options};

const CHROMIUM: &str = "/usr/bin/chromium";

#[test]
fn a_visitor_and_an_agent_chat_in_chromium_across_a_reload_and_a_restart() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web");
    assert!(
        Path::new(CHROMIUM).exists(),
        "Chromium is missing: apt-get install -y chromium (or scripts/install-deps.sh test)"
    );
    assert!(
        web.join("node_modules/playwright-core").exists(),
        "playwright-core is missing: npm install --prefix tests/web (or scripts/install-deps.sh test)"
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let options = Options {
        demo: true,
        http_listen: Some(format!("127.0.0.1:{port}")),
        ..Options::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut kefu = Kefu::start(dir.path(), options.clone());
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("chat-e2e");
    let log_path = artifacts.join("browser.log");
    std::fs::create_dir_all(&artifacts).unwrap();
    let mut node = Command::new("node")
        .arg(web.join("chat_e2e.mjs"))
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(&artifacts)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .expect("node (apt-get install -y nodejs)");
    let mut answers = node.stdin.take().unwrap();
    let stdout = node.stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(150);
    let report = |kefu: &Kefu, what: &str| {
        panic!(
            "{what}\nbrowser:\n{}\nkefu:\n{}",
            std::fs::read_to_string(&log_path).unwrap_or_default(),
            kefu.stderr()
        )
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line == "restart" => {
                let status = kefu.signal_and_wait("TERM", Duration::from_secs(10));
                assert!(
                    status.is_some_and(|s| s.success()),
                    "kefu did not stop cleanly"
                );
                drop(kefu);
                kefu = Kefu::start(dir.path(), options.clone());
                writeln!(answers, "restarted").unwrap();
            }
            Ok(line) if line == "ok" => break,
            Ok(_) => {}
            Err(_) => {
                let _ = node.kill();
                report(&kefu, "the browser test did not finish");
            }
        }
    }
    let status = node.wait().unwrap();
    if !status.success() {
        report(&kefu, "the browser test failed");
    }
    for shot in ["1-chatting", "2-reloaded", "3-after-restart"] {
        for page in ["agent", "visitor"] {
            assert!(artifacts.join(format!("{shot}-{page}.png")).exists());
        }
    }
}
