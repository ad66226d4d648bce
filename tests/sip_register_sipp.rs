//! Registering with `kefu serve --demo` the way a SIP load tool does: sipp
//! scenarios (`tests/sipp/register*.xml`) with MD5 digest over UDP and TCP,
//! unregistering, no user enumeration, and the ban of a password guesser.
//!
//! sipp 3.6 answers only the first challenge of a 401 and gives up on SHA-256,
//! so kefu runs here with `sip.digest_algorithms = "MD5"`, as an operator with
//! such clients would configure it.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::path::Path;

use common::kefu::{Kefu, Options, http};
use common::sipp::{self, SippRun};

fn demo_kefu(dir: &Path) -> Kefu {
    Kefu::start(
        dir,
        Options {
            demo: true,
            env: vec![("KEFU_SIP_DIGEST_ALGORITHMS".into(), "MD5".into())],
            ..Options::default()
        },
    )
}

/// `register.xml`: 401, 200 listing the contact, then unregistered (401, 200
/// listing none), as 1001 with its demo password, from `local_ip`.
fn register_and_unregister(kefu: &Kefu, local_ip: &str, extra: &[&str]) -> SippRun {
    let mut args = vec!["-m", "1", "-au", "1001", "-ap", "demo1001"];
    args.extend(["-key", "user", "1001", "-key", "expires", "600"]);
    args.extend(extra);
    sipp::run(
        &sipp::scenario("register.xml"),
        kefu.sip,
        local_ip,
        &args,
        &kefu.data_dir,
    )
}

/// `register_refused.xml` for `user` with `password`: each call succeeds on 403.
fn refused(kefu: &Kefu, local_ip: &str, user: &str, password: &str, extra: &[&str]) -> SippRun {
    let mut args = vec!["-au", user, "-ap", password, "-key", "user", user];
    args.extend(extra);
    sipp::run(
        &sipp::scenario("register_refused.xml"),
        kefu.sip,
        local_ip,
        &args,
        &kefu.data_dir,
    )
}

fn registers_counted(kefu: &Kefu) -> String {
    let metrics = http()
        .get(kefu.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    metrics
        .lines()
        .find(|line| line.starts_with("kefu_sip_requests_total{method=\"REGISTER\"}"))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn sipp_registers_1001_with_md5_digest_and_unregisters_over_udp() {
    let dir = tempfile::tempdir().unwrap();
    let kefu = demo_kefu(dir.path());
    let run = register_and_unregister(&kefu, "127.0.0.1", &[]);
    run.assert_all_succeeded(1, &kefu.stderr());
    assert!(
        run.messages.contains("algorithm=MD5"),
        "sipp answered the MD5 challenge\n{}",
        run.report()
    );
    assert_eq!(
        registers_counted(&kefu),
        "kefu_sip_requests_total{method=\"REGISTER\"} 4"
    );
}

#[test]
fn sipp_registers_and_unregisters_over_tcp() {
    let dir = tempfile::tempdir().unwrap();
    let kefu = demo_kefu(dir.path());
    let run = register_and_unregister(&kefu, "127.0.0.1", &["-t", "t1"]);
    run.assert_all_succeeded(1, &kefu.stderr());
    assert!(
        run.messages.contains("TCP message sent") && !run.messages.contains("UDP message"),
        "the exchange was over TCP\n{}",
        run.report()
    );
}

/// The status line and header names of a response, in order.
fn shape(response: &str) -> Vec<String> {
    response
        .lines()
        .enumerate()
        .map(|(index, line)| match index {
            0 => line.to_owned(),
            _ => line.split(':').next().unwrap_or_default().to_owned(),
        })
        .collect()
}

#[test]
fn a_wrong_password_and_an_unknown_user_get_the_same_403_with_the_same_headers() {
    let dir = tempfile::tempdir().unwrap();
    let kefu = demo_kefu(dir.path());
    let wrong = refused(&kefu, "127.0.0.1", "1001", "guess", &["-m", "1"]);
    wrong.assert_all_succeeded(1, &kefu.stderr());
    let unknown = refused(&kefu, "127.0.0.1", "9999", "guess", &["-m", "1"]);
    unknown.assert_all_succeeded(1, &kefu.stderr());
    let wrong_403 = wrong.received_response(403).expect("a 403 in sipp's log");
    let unknown_403 = unknown.received_response(403).expect("a 403 in sipp's log");
    assert_eq!(
        shape(&wrong_403),
        shape(&unknown_403),
        "no extension enumeration:\n{wrong_403}\n---\n{unknown_403}"
    );
    assert_eq!(shape(&wrong_403)[0], "SIP/2.0 403 Forbidden");
}

#[test]
fn twenty_failed_attempts_get_the_source_banned_and_only_that_source() {
    let dir = tempfile::tempdir().unwrap();
    let kefu = demo_kefu(dir.path());
    let guesser = refused(
        &kefu,
        "127.0.0.1",
        "1002",
        "wrong",
        &["-m", "20", "-r", "50", "-l", "20"],
    );
    assert!(
        guesser.code == Some(1) && guesser.successful == 10 && guesser.failed == 10,
        "the first 10 wrong answers get 403, then the source is banned and the \
         other 10 attempts go unanswered\n{}",
        guesser.report()
    );

    let right_password = refused(&kefu, "127.0.0.1", "1002", "demo1002", &["-m", "1"]);
    assert!(
        right_password.code == Some(1)
            && right_password.failed == 1
            && !right_password.messages.contains("SIP/2.0 "),
        "the banned source gets no answer at all, not even a challenge\n{}",
        right_password.report()
    );

    let neighbour = register_and_unregister(&kefu, "127.0.0.2", &[]);
    neighbour.assert_all_succeeded(1, &kefu.stderr());
    assert!(
        kefu.stderr()
            .contains("SIP source banned after repeated failed authentication"),
        "{}",
        kefu.stderr()
    );
}
