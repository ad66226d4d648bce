//! The supervisor wallboard in Chromium, end to end (driven by
//! `tests/web/wallboard_e2e.mjs` with `playwright-core`) on a real
//! `kefu serve --demo`: agent 1002 is refused at the wallboard's sign-in,
//! supervisor 1009 signs in to `/supervisor/`; agent 1001
//! goes ready through the API and a caller (a SIP UAC sending RTP) queues
//! for sales and is answered by 1001's phone (baresip); tiles, agents and
//! the call update without a reload; the supervisor presses Monitor (their
//! own baresip phone rings and joins) and then Whisper; the caller hangs up
//! and the call leaves the board. Screenshots are kept under
//! `CARGO_TARGET_TMPDIR/wallboard-e2e/`.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::baresip::agent_phone;
use common::demo::start_demo;
use common::kefu::{Kefu, http};
use common::rtp::{dtmf, frame_of, stream};
use common::uac::{Uac, offer};

const CHROMIUM: &str = "/usr/bin/chromium";
const WAIT: Duration = Duration::from_secs(10);

/// A caller on DID 4000 who presses 1 (sales) and then speaks a tone
/// until hung up.
struct Caller {
    uac: Uac,
    speaking: Arc<AtomicBool>,
    voice: std::thread::JoinHandle<()>,
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
            stream(&rtp, media, 0, 50, |_| frame_of(&[], 0));
            stream(&rtp, media, 50, 10, |n| frame_of(&dtmf('1'), n));
            let mut next = 60;
            let until = Instant::now() + Duration::from_secs(120);
            while still.load(Ordering::Relaxed) && Instant::now() < until {
                stream(&rtp, media, next, 25, |n| frame_of(&[440.0], n));
                next += 25;
            }
        });
        Caller {
            uac,
            speaking,
            voice,
        }
    }

    fn hang_up(mut self) {
        self.speaking.store(false, Ordering::Relaxed);
        self.voice.join().unwrap();
        assert_eq!(self.uac.bye(WAIT), Some(200), "the BYE is answered");
    }
}

#[test]
fn a_supervisor_follows_the_wallboard_in_chromium_and_whispers_into_a_call() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web");
    assert!(
        Path::new(CHROMIUM).exists(),
        "Chromium is missing: apt-get install -y chromium (or scripts/install-deps.sh test)"
    );
    assert!(
        web.join("node_modules/playwright-core").exists(),
        "playwright-core is missing: npm install --prefix tests/web (or scripts/install-deps.sh test)"
    );
    let (dir, kefu, admin) = start_demo(&[("KEFU_SIP_DIGEST_ALGORITHMS", "MD5")]);
    let mut agent = agent_phone(dir.path(), kefu.sip, "1001", 1000, true);
    let mut supervisor = agent_phone(dir.path(), kefu.sip, "1009", 1800, true);

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

    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wallboard-e2e");
    std::fs::create_dir_all(&artifacts).unwrap();
    let log_path = artifacts.join("browser.log");
    let mut node = Command::new("node")
        .arg(web.join("wallboard_e2e.mjs"))
        .arg(kefu.url(""))
        .arg(kefu.agent_token("1001"))
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
    let report = |what: &str| -> ! {
        panic!(
            "{what}\nbrowser:\n{}\nkefu:\n{}",
            std::fs::read_to_string(&log_path).unwrap_or_default(),
            kefu.stderr()
        )
    };
    let deadline = Instant::now() + Duration::from_secs(150);
    let mut caller = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line == "call" => {
                caller = Some(Caller::dial(&kefu));
                writeln!(answers, "called").unwrap();
            }
            Ok(line) if line == "hangup" => {
                caller.take().expect("a call to hang up").hang_up();
                writeln!(answers, "hung up").unwrap();
            }
            Ok(line) if line == "ok" => break,
            Ok(_) => {}
            Err(_) => {
                let _ = node.kill();
                report("the browser test did not finish");
            }
        }
    }
    drop(answers);
    let status = node.wait().unwrap();
    if !status.success() {
        report("the browser test failed");
    }
    agent.stop();
    supervisor.stop();
    for shot in ["1-snapshot", "2-call", "3-supervising", "4-after"] {
        assert!(artifacts.join(format!("{shot}.png")).exists(), "{shot}");
    }
}
