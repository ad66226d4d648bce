//! The malformed-message corpus of `kefu-signaling` (RFC 4475 categories, see
//! `signaling/src/message/malformed.rs`) sent to `kefu serve --demo` over real
//! UDP and TCP: every message gets the answer the corpus expects or none, and
//! afterwards kefu still answers OPTIONS and has not panicked.
//!
//! Each case is sent from an address of its own in 127.0.0.0/8, so that the
//! per-address rate limit does not turn a burst of cases into silence.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

#[path = "../signaling/src/message/malformed.rs"]
mod malformed;

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream, UdpSocket};
use std::time::Duration;

use common::kefu::{Kefu, Options, http};
use common::sip::status;
use malformed::{Case, Expect};

/// How long to wait for an answer that must come.
const ANSWER_WAIT: Duration = Duration::from_secs(5);

/// How long silence must last to count as no answer.
const SILENCE_WAIT: Duration = Duration::from_millis(600);

/// The pause between the pieces of a torn frame.
const TEAR_PAUSE: Duration = Duration::from_millis(50);

fn wait_for(expect: Expect) -> Duration {
    match expect {
        Expect::Status(_) => ANSWER_WAIT,
        Expect::Nothing => SILENCE_WAIT,
    }
}

/// The status of the first final response in `bytes`, once one is whole.
fn first_final_status(bytes: &[u8]) -> Option<u16> {
    String::from_utf8_lossy(bytes)
        .split_inclusive("\r\n\r\n")
        .filter(|response| response.ends_with("\r\n\r\n"))
        .map(status)
        .find(|&code| code >= 200)
}

/// Sends the case as one datagram from `ip`; the first final status within `wait`.
fn over_udp(kefu: SocketAddr, ip: Ipv4Addr, case: &Case, n: u32, wait: Duration) -> Option<u16> {
    let socket = UdpSocket::bind((ip, 0)).unwrap();
    socket.set_read_timeout(Some(wait)).unwrap();
    let message = malformed::fill(&case.template, "UDP", socket.local_addr().unwrap(), n);
    if let Err(error) = socket.send_to(&message, kefu) {
        assert!(
            message.len() > 65_000,
            "{}: only an oversized datagram may fail to send: {error}",
            case.name
        );
        return None;
    }
    let mut buffer = vec![0; 65_536];
    loop {
        match socket.recv_from(&mut buffer) {
            Ok((size, _)) => {
                if let Some(code) = first_final_status(&buffer[..size]) {
                    return Some(code);
                }
            }
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return None;
            }
            Err(error) => panic!("{}: UDP receive failed: {error}", case.name),
        }
    }
}

/// A TCP connection to `kefu` from `ip` (std cannot bind before connecting).
fn connect_from(ip: Ipv4Addr, kefu: SocketAddr) -> TcpStream {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::from((ip, 0))).unwrap();
        socket.connect(kefu).await.unwrap()
    });
    let stream = stream.into_std().unwrap();
    stream.set_nonblocking(false).unwrap();
    stream
}

/// Writes the case on a new connection from `ip`, in its pieces; the first
/// final status before the server closes or `wait` passes in silence.
fn over_tcp(kefu: SocketAddr, ip: Ipv4Addr, case: &Case, n: u32, wait: Duration) -> Option<u16> {
    let mut stream = connect_from(ip, kefu);
    let message = malformed::fill(&case.template, "TCP", stream.local_addr().unwrap(), n);
    for (index, piece) in case.pieces(&message).into_iter().enumerate() {
        if index > 0 {
            std::thread::sleep(TEAR_PAUSE);
        }
        if stream.write_all(piece).is_err() {
            break;
        }
    }
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut received = Vec::new();
    let mut buffer = [0; 4096];
    loop {
        if let Some(code) = first_final_status(&received) {
            return Some(code);
        }
        match stream.read(&mut buffer) {
            Ok(0) => return None,
            Ok(size) => received.extend_from_slice(&buffer[..size]),
            Err(error)
                if matches!(
                    error.kind(),
                    ErrorKind::WouldBlock
                        | ErrorKind::TimedOut
                        | ErrorKind::ConnectionReset
                        | ErrorKind::ConnectionAborted
                ) =>
            {
                return None;
            }
            Err(error) => panic!("{}: TCP read failed: {error}", case.name),
        }
    }
}

/// Sends one case over both transports; what went wrong, if anything.
fn check(kefu: SocketAddr, ip: Ipv4Addr, case: &Case, n: u32) -> Vec<String> {
    let answers = [
        (
            "UDP",
            case.udp,
            over_udp(kefu, ip, case, n, wait_for(case.udp)),
        ),
        (
            "TCP",
            case.tcp,
            over_tcp(kefu, ip, case, n, wait_for(case.tcp)),
        ),
    ];
    answers
        .into_iter()
        .filter_map(|(transport, expect, got)| {
            let wanted = match expect {
                Expect::Status(code) => Some(code),
                Expect::Nothing => None,
            };
            (got != wanted).then(|| {
                format!(
                    "{} over {transport} (from {ip}): expected {expect:?}, got {got:?}",
                    case.name
                )
            })
        })
        .collect()
}

#[test]
fn every_malformed_message_gets_its_expected_answer_or_none_and_kefu_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let kefu = Kefu::start(
        dir.path(),
        Options {
            demo: true,
            ..Options::default()
        },
    );
    let cases = malformed::cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    assert!(cases.len() < 200, "one source address per case");
    let wrong: Vec<String> = std::thread::scope(|scope| {
        let checks: Vec<_> = (0u32..)
            .zip(&cases)
            .map(|(n, case)| {
                let ip = Ipv4Addr::new(127, 0, 1, u8::try_from(n + 10).unwrap());
                scope.spawn(move || check(kefu.sip, ip, case, n))
            })
            .collect();
        checks
            .into_iter()
            .flat_map(|check| check.join().unwrap())
            .collect()
    });
    assert!(
        wrong.is_empty(),
        "{} of {} cases answered wrongly:\n{}\n-- kefu stderr:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n"),
        kefu.stderr()
    );

    let options = Case {
        name: "OPTIONS afterwards",
        template: malformed::OPTIONS.as_bytes().to_vec(),
        udp: Expect::Status(200),
        tcp: Expect::Status(200),
        tear_before_end: Vec::new(),
    };
    let after = check(kefu.sip, Ipv4Addr::LOCALHOST, &options, 10_000);
    assert!(after.is_empty(), "{after:?}\n{}", kefu.stderr());
    assert_eq!(
        http().get(kefu.url("/healthz")).send().unwrap().status(),
        reqwest::StatusCode::OK
    );
    let log = kefu.stderr();
    assert!(
        !log.contains("panicked") && !log.contains("RUST_BACKTRACE"),
        "{log}"
    );
}
