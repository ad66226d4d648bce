//! Start-up and stop of `kefu serve`: SIGTERM/SIGINT drain and exit 0 within
//! 5 seconds; JSON logs; SQLite in WAL mode; PostgreSQL as the database.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::time::Duration;

use common::kefu::{Kefu, Options, http};
use reqwest::StatusCode;

#[test]
fn sigterm_drains_and_exits_zero_within_five_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let mut kefu = Kefu::start(
        dir.path(),
        Options {
            demo: true,
            ..Options::default()
        },
    );
    let status = kefu
        .signal_and_wait("TERM", Duration::from_secs(5))
        .expect("kefu exited within 5 s of SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", kefu.stderr());
    assert!(
        kefu.stderr().contains("stopping: draining requests"),
        "{}",
        kefu.stderr()
    );
}

#[test]
fn sigint_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let mut kefu = Kefu::start(dir.path(), Options::default());
    let status = kefu
        .signal_and_wait("INT", Duration::from_secs(5))
        .expect("exited");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn json_log_format_writes_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut kefu = Kefu::start(
        dir.path(),
        Options {
            extra_args: vec!["--log-format".into(), "json".into()],
            ..Options::default()
        },
    );
    kefu.signal_and_wait("TERM", Duration::from_secs(5))
        .expect("exited");
    let log = kefu.stderr();
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.len() >= 3, "{log}");
    for line in lines {
        let value: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
        assert!(
            value["level"].is_string() && value["message"].is_string(),
            "{line}"
        );
    }
}

#[test]
fn sqlite_database_is_in_wal_mode_under_the_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let kefu = Kefu::start(dir.path(), Options::default());
    assert!(dir.path().join("kefu.db").exists());
    assert!(
        dir.path().join("kefu.db-wal").exists(),
        "WAL file next to the database"
    );
    assert_eq!(
        http().get(kefu.url("/healthz")).send().unwrap().status(),
        StatusCode::OK
    );
}

#[test]
fn startup_time_is_reported_in_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let kefu = Kefu::start(
        dir.path(),
        Options {
            demo: true,
            ..Options::default()
        },
    );
    let body = http()
        .get(kefu.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let line = body
        .lines()
        .find(|l| l.starts_with("kefu_startup_seconds "))
        .expect("kefu_startup_seconds in /metrics");
    let seconds: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    assert!(seconds > 0.0, "{line}");
}

#[tokio::test(flavor = "multi_thread")]
async fn serves_on_postgresql_and_restarts_on_the_same_database() {
    let db = common::postgres::database().await;
    let url = db.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let (token, agents) = tokio::task::spawn_blocking(move || {
        let options = Options {
            demo: true,
            database_url: Some(url),
            ..Options::default()
        };
        let first = Kefu::start(dir.path(), options.clone());
        assert_eq!(
            http().get(first.url("/healthz")).send().unwrap().status(),
            StatusCode::OK
        );
        let token = first.printed_token("kefu_admin_").unwrap();
        drop(first);
        let second = Kefu::start(dir.path(), options);
        let agents: serde_json::Value = http()
            .get(second.url("/api/v1/tenants/demo/agents"))
            .bearer_auth(&token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert!(
            !dir.path().join("kefu.db").exists(),
            "no SQLite file when on PostgreSQL"
        );
        (token, agents)
    })
    .await
    .unwrap();
    assert!(token.starts_with("kefu_admin_"));
    assert_eq!(agents.as_array().map(Vec::len), Some(3));
}

#[tokio::test(flavor = "multi_thread")]
async fn healthz_is_503_while_the_database_is_unreachable() {
    let mut db = common::postgres::database_in_own_cluster().await;
    let url = db.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let kefu = tokio::task::spawn_blocking(move || {
        let options = Options {
            database_url: Some(url),
            ..Options::default()
        };
        let kefu = Kefu::start(dir.path(), options);
        (dir, kefu)
    })
    .await
    .unwrap();
    let healthz = kefu.1.url("/healthz");
    let status = || {
        let url = healthz.clone();
        tokio::task::spawn_blocking(move || http().get(url).send().unwrap().status())
    };
    assert_eq!(status().await.unwrap(), StatusCode::OK);
    db.stop_cluster();
    assert_eq!(status().await.unwrap(), StatusCode::SERVICE_UNAVAILABLE);
}
