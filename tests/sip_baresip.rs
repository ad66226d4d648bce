//! A real softphone registers with `kefu serve --demo`: baresip with accounts
//! 1001 over UDP and 1002 over TCP. Registration is checked on kefu's side, in
//! the `sip_bindings` table of its store, and it comes back by itself after kefu
//! restarts on the same port and data dir.
//!
//! baresip 1.0 gives up on a SHA-256 challenge instead of answering the MD5 one,
//! so kefu offers MD5 alone here (`sip.digest_algorithms`), and it grants 5 s
//! registrations (`sip.min_expires`) so that baresip (`regint=5`) refreshes
//! every few seconds.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::baresip::{Baresip, PhoneConfig};
use common::kefu::{Kefu, Options};
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

/// How long registration may take before the test gives up.
const PATIENCE: Duration = Duration::from_secs(45);

/// One row of `sip_bindings`.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
struct Row {
    username: String,
    contact: String,
    cseq: i64,
    source: String,
}

fn demo_kefu(dir: &Path, sip_listen: Option<String>) -> Kefu {
    Kefu::start(
        dir,
        Options {
            demo: true,
            env: vec![
                ("KEFU_SIP_DIGEST_ALGORITHMS".into(), "MD5".into()),
                ("KEFU_SIP_MIN_EXPIRES".into(), "5".into()),
            ],
            sip_listen,
            ..Options::default()
        },
    )
}

/// The phone's accounts: 1001 over UDP, 1002 over TCP.
fn accounts(kefu: &Kefu) -> Vec<String> {
    vec![
        format!("<sip:1001@{}>;auth_pass=demo1001;regint=5", kefu.sip),
        format!(
            "<sip:1002@{};transport=tcp>;auth_pass=demo1002;regint=5",
            kefu.sip
        ),
    ]
}

/// The bindings kefu stored, read from its SQLite file.
fn stored_bindings(data_dir: &Path) -> Vec<Row> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let options = SqliteConnectOptions::new()
            .filename(data_dir.join("kefu.db"))
            .read_only(true);
        let mut db = SqliteConnection::connect_with(&options).await.unwrap();
        let rows = sqlx::query_as::<_, Row>(
            "SELECT username, contact, cseq, source FROM sip_bindings ORDER BY username",
        )
        .fetch_all(&mut db)
        .await
        .unwrap();
        db.close().await.unwrap();
        rows
    })
}

/// Waits until the stored bindings satisfy `done`; returns them.
fn wait_for_bindings(
    kefu: &Kefu,
    phone: &Baresip,
    what: &str,
    done: impl Fn(&[Row]) -> bool,
) -> Vec<Row> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let rows = stored_bindings(&kefu.data_dir);
        if done(&rows) {
            return rows;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {PATIENCE:?}; bindings: {rows:#?}\n-- baresip:\n{}\n-- kefu:\n{}",
            phone.output(),
            kefu.stderr()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn binding<'a>(rows: &'a [Row], username: &str) -> Option<&'a Row> {
    rows.iter().find(|row| row.username == username)
}

fn both_bound(rows: &[Row]) -> bool {
    binding(rows, "1001").is_some() && binding(rows, "1002").is_some()
}

#[test]
fn baresip_registers_over_udp_and_over_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let kefu = demo_kefu(dir.path(), None);
    let accounts = accounts(&kefu);
    let config = PhoneConfig {
        accounts: &accounts,
        audio_source: None,
    };
    let phone = Baresip::start(&dir.path().join("phone"), &config, &[]);
    let rows = wait_for_bindings(&kefu, &phone, "1001 and 1002 registered", both_bound);

    let udp = binding(&rows, "1001").unwrap();
    assert!(udp.source.starts_with("udp:127.0.0.1:"), "{udp:?}");
    assert!(udp.contact.starts_with("sip:1001"), "{udp:?}");
    let tcp = binding(&rows, "1002").unwrap();
    assert!(tcp.source.starts_with("tcp:127.0.0.1:"), "{tcp:?}");
    assert!(tcp.contact.ends_with(";transport=tcp"), "{tcp:?}");
    let output = phone.output();
    assert!(
        output.contains("1001@127.0.0.1: {0/UDP/v4} 200 OK")
            && output.contains("1002@127.0.0.1: {0/TCP/v4} 200 OK"),
        "baresip reports both registrations: {output}"
    );
}

#[test]
fn baresip_registers_again_after_kefu_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let mut kefu = demo_kefu(dir.path(), None);
    let sip = kefu.sip;
    let accounts = accounts(&kefu);
    let config = PhoneConfig {
        accounts: &accounts,
        audio_source: None,
    };
    let phone = Baresip::start(&dir.path().join("phone"), &config, &[]);
    wait_for_bindings(&kefu, &phone, "registered", both_bound);

    let stopped = kefu
        .signal_and_wait("TERM", Duration::from_secs(10))
        .expect("kefu stops on SIGTERM");
    assert!(stopped.success(), "{stopped:?}\n{}", kefu.stderr());
    let before = stored_bindings(dir.path());
    drop(kefu);

    let kefu = demo_kefu(dir.path(), Some(sip.to_string()));
    assert_eq!(kefu.sip, sip, "kefu is back on the same port");
    let cseq = |rows: &[Row], user: &str| binding(rows, user).map_or(0, |row| row.cseq);
    let after = wait_for_bindings(&kefu, &phone, "registered again", |rows| {
        ["1001", "1002"]
            .iter()
            .all(|user| cseq(rows, user) > cseq(&before, user))
    });
    for user in ["1001", "1002"] {
        assert_eq!(
            binding(&after, user).unwrap().contact,
            binding(&before, user).unwrap().contact,
            "the same phone came back for {user}"
        );
    }
}
