//! The `kefu` command line as operators use it: version, check-config, and
//! start-up refusals with one clear line naming the key.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::net::{TcpListener, UdpSocket};
use std::process::Output;

use common::kefu::command;

fn run(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    command(dir)
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("run kefu")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn version_prints_the_package_version() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["version"], &[]);
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("kefu {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn check_config_accepts_the_shipped_example() {
    let dir = tempfile::tempdir().unwrap();
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/kefu.example.toml");
    let out = run(dir.path(), &["check-config", "--config", example], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("config ok:"), "{text}");
    assert!(text.contains("sip.listen      = 0.0.0.0:5060"), "{text}");
    assert!(text.contains("ivr.scripts_dir = ./ivr-scripts"), "{text}");
}

#[test]
fn bad_port_exits_non_zero_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kefu.toml");
    std::fs::write(&file, "[sip]\nlisten = \"localhost:99999\"\n").unwrap();
    for cmd in ["check-config", "serve"] {
        let out = run(dir.path(), &[cmd, "--config", file.to_str().unwrap()], &[]);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        assert_eq!(
            stderr(&out).trim(),
            "config error: sip.listen = \"localhost:99999\": port must be 1-65535 (or 0 for any free port)"
        );
    }
}

#[test]
fn unknown_key_exits_non_zero_with_did_you_mean() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kefu.toml");
    std::fs::write(&file, "[http]\nlsten = \"0.0.0.0:8080\"\n").unwrap();
    let out = run(
        dir.path(),
        &["serve", "--config", file.to_str().unwrap()],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        "config error: unknown key `http.lsten`; did you mean `listen`?"
    );
}

#[test]
fn unreadable_config_file_exits_non_zero_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(
        dir.path(),
        &["serve", "--config", "/nonexistent/kefu.toml"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("config error: cannot read /nonexistent/kefu.toml"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn kefu_toml_in_the_working_directory_is_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kefu.toml"),
        "[sip]\nlisten = \"127.0.0.1:5099\"\n",
    )
    .unwrap();
    let out = run(dir.path(), &["check-config"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("127.0.0.1:5099"));
}

#[test]
fn env_overrides_file_and_flag_overrides_env() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kefu.toml"), "data_dir = \"/from-file\"\n").unwrap();
    let out = run(
        dir.path(),
        &["check-config"],
        &[("KEFU_DATA_DIR", "/from-env")],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("data_dir        = /from-env"));
    let out = run(
        dir.path(),
        &["check-config", "--data-dir", "/from-flag"],
        &[("KEFU_DATA_DIR", "/from-env")],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("data_dir        = /from-flag"));
}

#[test]
fn bad_env_value_exits_non_zero_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["serve"], &[("KEFU_LOG_FORMAT", "xml")]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr(&out).trim(),
        "config error: log.format = \"xml\" (from env KEFU_LOG_FORMAT): must be human or json"
    );
}

/// Runs `kefu serve` on these listen addresses and returns its exit code and stderr.
fn serve_on(sip: &str, http: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().display().to_string();
    let args = [
        "serve",
        "--data-dir",
        &data,
        "--sip-listen",
        sip,
        "--http-listen",
        http,
    ];
    let out = run(dir.path(), &args, &[]);
    (out.status.code(), stderr(&out))
}

#[test]
fn taken_sip_port_fails_with_a_clear_line() {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, err) = serve_on(&addr, "127.0.0.1:0");
    assert_eq!(code, Some(1));
    let expected = format!("error: cannot listen on {addr} (udp): address in use");
    assert!(err.contains(&expected), "{err}");
}

#[test]
fn taken_http_port_fails_with_a_clear_line() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, err) = serve_on("127.0.0.1:0", &addr);
    assert_eq!(code, Some(1));
    let expected = format!("error: cannot listen on {addr} (http): address in use");
    assert!(err.contains(&expected), "{err}");
}
