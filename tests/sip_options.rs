//! The SIP port of `kefu serve` answers: OPTIONS over UDP and TCP (from a tiny
//! client here and from sipp), and malformed input gets a 4xx or no answer while
//! the server keeps serving.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, UdpSocket};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use common::kefu::{Kefu, Options, http};
use common::sip::status;

/// How long to wait for an answer that must come.
const ANSWER_WAIT: Duration = Duration::from_secs(5);

/// How long silence must last to count as no answer.
const SILENCE_WAIT: Duration = Duration::from_millis(600);

/// An OPTIONS as a softphone sends it; `{via}` and `{n}` are filled per send.
const OPTIONS: &[u8] = b"OPTIONS sip:kefu@127.0.0.1 SIP/2.0\r\nVia: {via}\r\nMax-Forwards: 70\r\nTo: <sip:kefu@127.0.0.1>\r\nFrom: <sip:probe@127.0.0.1>;tag=probe{n}\r\nCall-ID: options-{n}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nAccept: application/sdp\r\nContent-Length: 0\r\n\r\n";

fn start() -> (tempfile::TempDir, Kefu) {
    let dir = tempfile::tempdir().unwrap();
    let kefu = Kefu::start(dir.path(), Options::default());
    (dir, kefu)
}

/// `template` with `{via}` (a Via for `transport` from `local`, with a fresh
/// branch and `rport`) and `{n}` (a fresh number) filled in.
fn fill(template: &[u8], transport: &str, local: SocketAddr) -> Vec<u8> {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed).to_string();
    let via = format!("SIP/2.0/{transport} {local};branch=z9hG4bKtest{n};rport");
    replace(
        &replace(template, b"{via}", via.as_bytes()),
        b"{n}",
        n.as_bytes(),
    )
}

fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(at) = rest.windows(from.len()).position(|window| window == from) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(to);
        rest = &rest[at + from.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// Sends `template` in one datagram; the final answer, if one comes within `wait`.
fn udp_exchange(sip: SocketAddr, template: &[u8], wait: Duration) -> Option<String> {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.set_read_timeout(Some(wait)).unwrap();
    let message = fill(template, "UDP", socket.local_addr().unwrap());
    if let Err(error) = socket.send_to(&message, sip) {
        assert!(
            message.len() > 65_000,
            "only an oversized datagram may fail to send: {error}"
        );
        return None;
    }
    let mut buffer = vec![0; 65_536];
    loop {
        match socket.recv_from(&mut buffer) {
            Ok((size, _)) => {
                let response = String::from_utf8_lossy(&buffer[..size]).into_owned();
                if status(&response) >= 200 {
                    return Some(response);
                }
            }
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return None;
            }
            Err(error) => panic!("UDP receive failed: {error}"),
        }
    }
}

/// What came back on a TCP connection.
#[derive(Debug)]
struct TcpOutcome {
    /// Final responses read.
    responses: Vec<String>,
    /// Whether the server closed the connection.
    closed: bool,
}

/// Writes `template` on a new connection, torn at the offsets in `tear_at`
/// (with a pause at each), then reads until `expected` final responses arrived,
/// the server closed, or nothing more came within `wait`.
fn tcp_exchange(
    sip: SocketAddr,
    template: &[u8],
    tear_at: &[usize],
    expected: usize,
    wait: Duration,
) -> TcpOutcome {
    let mut stream = TcpStream::connect(sip).unwrap();
    let message = fill(template, "TCP", stream.local_addr().unwrap());
    let mut start = 0;
    for &end in tear_at.iter().chain([&message.len()]) {
        let _ = stream.write_all(&message[start..end]);
        start = end;
        std::thread::sleep(Duration::from_millis(50));
    }
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut received = Vec::new();
    let mut buffer = [0; 4096];
    let closed = loop {
        if expected > 0 && final_responses(&received).len() >= expected {
            break false;
        }
        match stream.read(&mut buffer) {
            Ok(0) => break true,
            Ok(size) => received.extend_from_slice(&buffer[..size]),
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break false;
            }
            Err(error) if error.kind() == ErrorKind::ConnectionReset => break true,
            Err(error) => panic!("TCP read failed: {error}"),
        }
    };
    TcpOutcome {
        responses: final_responses(&received),
        closed,
    }
}

/// The final responses in `bytes`, cut at each empty line (ours have no body).
fn final_responses(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .split_inclusive("\r\n\r\n")
        .filter(|response| response.ends_with("\r\n\r\n") && status(response) >= 200)
        .map(str::to_owned)
        .collect()
}

fn assert_options_ok(response: &str) {
    assert_eq!(status(response), 200, "{response}");
    assert!(
        response
            .contains("\r\nAllow: OPTIONS, ACK, CANCEL, REGISTER, INVITE, BYE, INFO, UPDATE\r\n"),
        "{response}"
    );
    assert!(
        response.contains("\r\nAccept: application/sdp\r\n"),
        "{response}"
    );
}

#[test]
fn options_over_udp_is_answered_200_with_allow_and_accept_at_the_source_port() {
    let (_dir, kefu) = start();
    let response = udp_exchange(kefu.sip, OPTIONS, ANSWER_WAIT).expect("an answer");
    assert_options_ok(&response);
    assert!(response.contains(";rport="), "rport filled in: {response}");
    assert!(
        response.contains(";received=127.0.0.1"),
        "received added: {response}"
    );
}

#[test]
fn options_over_tcp_is_answered_on_the_same_connection_even_when_torn_or_batched() {
    let (_dir, kefu) = start();
    let single = tcp_exchange(kefu.sip, OPTIONS, &[], 1, ANSWER_WAIT);
    assert_eq!(single.responses.len(), 1, "{single:?}");
    assert_options_ok(&single.responses[0]);

    let torn = tcp_exchange(kefu.sip, OPTIONS, &[1, 40, 41, 120], 1, ANSWER_WAIT);
    assert_eq!(torn.responses.len(), 1, "{torn:?}");
    assert_options_ok(&torn.responses[0]);

    let mut stream = TcpStream::connect(kefu.sip).unwrap();
    let local = stream.local_addr().unwrap();
    let two = [fill(OPTIONS, "TCP", local), fill(OPTIONS, "TCP", local)].concat();
    stream.write_all(&two).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut received = Vec::new();
    let mut buffer = [0; 4096];
    while final_responses(&received).len() < 2 {
        let size = stream.read(&mut buffer).unwrap();
        assert!(size > 0, "closed early: {:?}", final_responses(&received));
        received.extend_from_slice(&buffer[..size]);
    }
    for response in final_responses(&received) {
        assert_options_ok(&response);
    }
}

#[test]
fn methods_not_implemented_yet_are_answered_501() {
    let (_dir, kefu) = start();
    let subscribe = replace(
        &replace(OPTIONS, b"OPTIONS sip:kefu", b"SUBSCRIBE sip:kefu"),
        b"CSeq: 1 OPTIONS",
        b"CSeq: 1 SUBSCRIBE",
    );
    let extension = replace(
        &replace(OPTIONS, b"OPTIONS sip:kefu", b"FOO sip:kefu"),
        b"CSeq: 1 OPTIONS",
        b"CSeq: 1 FOO",
    );
    for request in [subscribe, extension] {
        let response = udp_exchange(kefu.sip, &request, ANSWER_WAIT).expect("an answer");
        assert_eq!(status(&response), 501, "{response}");
        let over_tcp = tcp_exchange(kefu.sip, &request, &[], 1, ANSWER_WAIT);
        assert_eq!(status(&over_tcp.responses[0]), 501, "{over_tcp:?}");
    }
}

#[test]
fn sipp_sends_options_and_gets_200() {
    let (_dir, kefu) = start();
    let installed = Command::new("sipp").arg("-v").output();
    assert!(
        installed.is_ok(),
        "sipp is missing: install it with `apt-get install -y sip-tester`"
    );
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sipp/options.xml");
    let port = UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = Command::new("sipp")
        .arg("-sf")
        .arg(&scenario)
        .args(["-m", "1", "-timeout", "10s", "-nostdin", "-i", "127.0.0.1"])
        .args(["-p", &port.to_string()])
        .arg(kefu.sip.to_string())
        .current_dir(&kefu.data_dir)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "sipp failed\nstdout:\n{}\nstderr:\n{}\nkefu:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        kefu.stderr()
    );
}

/// What a malformed message must get.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// Exactly this status, on both transports.
    Status(u16),
    /// A 4xx or no answer.
    ClientErrorOrNothing,
    /// No answer at all.
    Nothing,
}

fn malformed() -> Vec<(&'static str, Vec<u8>, Expect)> {
    let options = |from: &[u8], to: &[u8]| replace(OPTIONS, from, to);
    let mut huge = options(b"Accept: application/sdp\r\n", b"");
    let filler = format!("X-Filler: {}\r\n\r\n", "a".repeat(70 * 1024));
    huge = replace(&huge, b"\r\n\r\n", format!("\r\n{filler}").as_bytes());
    let invite = replace(
        &options(b"OPTIONS sip:kefu", b"INVITE sip:kefu"),
        b"CSeq: 1 OPTIONS",
        b"CSeq: 1 INVITE",
    );
    vec![
        ("garbage", b"hello kefu, this is not SIP\r\n\r\n".to_vec(), Expect::Nothing),
        ("NUL bytes", vec![0; 300], Expect::Nothing),
        ("NUL inside a header", options(b"Call-ID: options", b"Call-ID: op\0tions"), Expect::ClientErrorOrNothing),
        ("invalid UTF-8", options(b"From: <sip:probe", b"From: \xff\xfe<sip:probe"), Expect::ClientErrorOrNothing),
        ("missing Call-ID", options(b"Call-ID: options-{n}@127.0.0.1\r\n", b""), Expect::Status(400)),
        ("missing Via", options(b"Via: {via}\r\n", b""), Expect::Nothing),
        ("CSeq not a number", options(b"CSeq: 1 OPTIONS", b"CSeq: one OPTIONS"), Expect::Status(400)),
        ("CSeq method mismatch", options(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE"), Expect::Status(400)),
        ("CSeq beyond 2**31", options(b"CSeq: 1 OPTIONS", b"CSeq: 4294967296 OPTIONS"), Expect::Status(400)),
        ("Content-Length beyond the body", options(b"Content-Length: 0\r\n\r\n", b"Content-Length: 50\r\n\r\nv=0\r\n"), Expect::ClientErrorOrNothing),
        ("negative Content-Length", options(b"Content-Length: 0", b"Content-Length: -5"), Expect::ClientErrorOrNothing),
        ("Max-Forwards: 0 on an INVITE", replace(&invite, b"Max-Forwards: 70", b"Max-Forwards: 0"), Expect::Status(483)),
        ("unsupported Require", options(b"Max-Forwards: 70", b"Require: 100rel"), Expect::Status(420)),
        ("tel: Request-URI", options(b"OPTIONS sip:kefu@127.0.0.1", b"OPTIONS tel:+4930123"), Expect::Status(416)),
        ("no request line", options(b"OPTIONS sip:kefu@127.0.0.1 SIP/2.0\r\n", b""), Expect::Nothing),
        ("a stray response", b"SIP/2.0 200 OK\r\nVia: {via}\r\nCall-ID: x\r\nCSeq: 1 OPTIONS\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nContent-Length: 0\r\n\r\n".to_vec(), Expect::Nothing),
        ("70 KiB message", huge, Expect::Nothing),
    ]
}

#[test]
fn malformed_messages_get_a_4xx_or_no_answer_and_the_server_keeps_serving() {
    let (_dir, kefu) = start();
    let cases = malformed();
    assert!(cases.len() >= 12);
    for (name, message, expect) in &cases {
        let wait = match expect {
            Expect::Status(_) => ANSWER_WAIT,
            Expect::ClientErrorOrNothing | Expect::Nothing => SILENCE_WAIT,
        };
        let over_udp = udp_exchange(kefu.sip, message, wait);
        let over_tcp = tcp_exchange(kefu.sip, message, &[], 1, wait);
        let over_tcp = over_tcp.responses.first().cloned();
        for (transport, answer) in [("UDP", over_udp), ("TCP", over_tcp)] {
            let code = answer.as_deref().map(status);
            let acceptable = match expect {
                Expect::Status(wanted) => code == Some(*wanted),
                Expect::ClientErrorOrNothing => code.is_none_or(|code| (400..500).contains(&code)),
                Expect::Nothing => code.is_none(),
            };
            assert!(
                acceptable,
                "{name} over {transport}: expected {expect:?}, got {answer:?}"
            );
        }
    }

    let (torn, _) = OPTIONS.split_at(60);
    let mut abandoned = TcpStream::connect(kefu.sip).unwrap();
    abandoned
        .write_all(&fill(torn, "TCP", abandoned.local_addr().unwrap()))
        .unwrap();
    abandoned.shutdown(Shutdown::Write).unwrap();
    abandoned.set_read_timeout(Some(SILENCE_WAIT)).unwrap();
    let mut rest = Vec::new();
    let _ = abandoned.read_to_end(&mut rest);
    assert!(rest.is_empty(), "a torn frame gets no answer: {rest:?}");

    assert_options_ok(&udp_exchange(kefu.sip, OPTIONS, ANSWER_WAIT).expect("OPTIONS over UDP"));
    let over_tcp = tcp_exchange(kefu.sip, OPTIONS, &[], 1, ANSWER_WAIT);
    assert_options_ok(&over_tcp.responses[0]);
    assert_eq!(
        http().get(kefu.url("/healthz")).send().unwrap().status(),
        reqwest::StatusCode::OK
    );
    let log = kefu.stderr();
    assert!(!log.contains("panicked"), "{log}");
    assert!(log.contains("SIP input dropped"), "{log}");
}

#[test]
fn an_oversized_tcp_message_closes_the_connection_and_is_counted() {
    let (_dir, kefu) = start();
    let oversized = replace(
        OPTIONS,
        b"Content-Length: 0\r\n\r\n",
        format!("Content-Length: {}\r\n\r\n", 70 * 1024).as_bytes(),
    );
    let began = Instant::now();
    let outcome = tcp_exchange(kefu.sip, &oversized, &[], 0, ANSWER_WAIT);
    assert!(outcome.closed, "{outcome:?}");
    assert!(outcome.responses.is_empty(), "{outcome:?}");
    assert!(began.elapsed() < Duration::from_secs(5));

    udp_exchange(kefu.sip, b"garbage\r\n\r\n", SILENCE_WAIT);
    assert_options_ok(&udp_exchange(kefu.sip, OPTIONS, ANSWER_WAIT).expect("an answer"));
    let metrics = http()
        .get(kefu.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics.contains("kefu_sip_dropped_total{reason=\"too_large\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("kefu_sip_dropped_total{reason=\"malformed\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("kefu_sip_requests_total{method=\"OPTIONS\"} 1"),
        "{metrics}"
    );
    let log = kefu.stderr();
    assert!(
        log.contains("SIP input dropped: closing the TCP connection") && log.contains("too_large"),
        "{log}"
    );
}
