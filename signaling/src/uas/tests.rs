//! The UAS core driven as the driver does: bytes in with a fake clock,
//! transmits out.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{DropReason, Receipt, UasCore};
use crate::driver::framing::StreamFramer;
use crate::message::corpus;
use crate::message::malformed::{self, Expect};
use crate::transaction::{Peer, Timers, TransactionLayer, Transmit, Transport};

fn core() -> UasCore {
    let mut branches = 0;
    let mut tags = 0;
    UasCore::new(
        TransactionLayer::new(Timers::default(), move || {
            branches += 1;
            format!("b{branches}")
        }),
        move || {
            tags += 1;
            format!("tag{tags}")
        },
    )
}

fn peer(transport: Transport, addr: &str) -> Peer {
    Peer {
        transport,
        addr: addr.parse::<SocketAddr>().unwrap(),
    }
}

fn transmits(core: &mut UasCore) -> Vec<(Peer, String)> {
    std::iter::from_fn(|| core.poll_transmit())
        .map(
            |Transmit {
                 destination,
                 payload,
             }| { (destination, String::from_utf8_lossy(&payload).into_owned()) },
        )
        .collect()
}

fn status(text: &str) -> u16 {
    text[8..11].parse().unwrap()
}

fn replaced(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    assert!(text.contains(from), "{from:?} not in the message");
    text.replacen(from, to, 1).into_bytes()
}

#[test]
fn options_over_udp_is_answered_200_at_the_source_with_received() {
    let mut core = core();
    let source = peer(Transport::Udp, "198.51.100.7:5061");
    let receipt = core.receive(Instant::now(), corpus::OPTIONS, source);
    assert_eq!(
        receipt,
        Receipt::Request {
            method: "OPTIONS".into()
        }
    );
    let sent = transmits(&mut core);
    let [(destination, response)] = &sent[..] else {
        panic!("expected one response, got {sent:?}");
    };
    assert_eq!(*destination, source);
    assert_eq!(status(response), 200);
    assert!(
        response.contains("Allow: OPTIONS, ACK, CANCEL\r\n"),
        "{response}"
    );
    assert!(
        response.contains(";received=198.51.100.7\r\n"),
        "{response}"
    );
    assert!(response.contains(";tag=tag1\r\n"), "{response}");
}

#[test]
fn an_rport_request_over_udp_is_answered_at_its_source_port() {
    let mut core = core();
    let options = replaced(
        corpus::OPTIONS,
        "z9hG4bKhjhs8ass877",
        "z9hG4bKhjhs8ass877;rport",
    );
    let source = peer(Transport::Udp, "198.51.100.7:40000");
    core.receive(Instant::now(), &options, source);
    let sent = transmits(&mut core);
    assert_eq!(sent[0].0, source);
    assert!(
        sent[0].1.contains(";rport=40000;received=198.51.100.7\r\n"),
        "{}",
        sent[0].1
    );
}

#[test]
fn a_retransmitted_request_gets_the_same_answer_again() {
    let mut core = core();
    let source = peer(Transport::Udp, "192.0.2.30:5061");
    core.receive(Instant::now(), corpus::OPTIONS, source);
    let first = transmits(&mut core);
    core.receive(Instant::now(), corpus::OPTIONS, source);
    assert_eq!(transmits(&mut core), first);
}

#[test]
fn a_request_failing_validation_gets_its_error_response_with_a_warning() {
    let mut core = core();
    let source = peer(Transport::Tcp, "192.0.2.95:40000");
    core.receive(Instant::now(), corpus::RFC4475_INSUF, source);
    let sent = transmits(&mut core);
    let (destination, response) = sent.last().unwrap();
    assert_eq!(*destination, source, "same connection");
    assert_eq!(status(response), 400);
    assert!(
        response.contains("Warning: 399 kefu \"missing Call-ID header\"\r\n"),
        "{response}"
    );
}

#[test]
fn a_request_over_tcp_without_content_length_gets_400_but_over_udp_is_served() {
    let without = replaced(corpus::OPTIONS, "Content-Length: 0\r\n", "");
    let mut core = core();
    let tcp = peer(Transport::Tcp, "192.0.2.30:40000");
    let receipt = core.receive(Instant::now(), &without, tcp);
    assert!(matches!(receipt, Receipt::Request { .. }), "{receipt:?}");
    let sent = transmits(&mut core);
    let [(destination, response)] = &sent[..] else {
        panic!("expected one response, got {sent:?}");
    };
    assert_eq!(*destination, tcp, "same connection");
    assert_eq!(status(response), 400);
    assert!(
        response.contains("Warning: 399 kefu \"missing Content-Length header\"\r\n"),
        "{response}"
    );

    let udp = peer(Transport::Udp, "192.0.2.30:5061");
    core.receive(Instant::now(), &without, udp);
    assert_eq!(status(&transmits(&mut core)[0].1), 200);
    let compact = replaced(corpus::OPTIONS, "Content-Length: 0", "l: 0");
    let mut fresh = self::core();
    fresh.receive(Instant::now(), &compact, tcp);
    assert_eq!(
        status(&transmits(&mut fresh)[0].1),
        200,
        "l is Content-Length"
    );
}

#[test]
fn a_request_with_an_unreadable_header_gets_400_saying_why() {
    let mut core = core();
    let source = peer(Transport::Udp, "192.0.2.30:5061");
    let no_colon = replaced(corpus::OPTIONS, "Accept:", "Accept");
    let receipt = core.receive(Instant::now(), &no_colon, source);
    assert!(matches!(receipt, Receipt::Request { .. }), "{receipt:?}");
    let sent = transmits(&mut core);
    let [(destination, response)] = &sent[..] else {
        panic!("expected one response, got {sent:?}");
    };
    assert_eq!(*destination, peer(Transport::Udp, "192.0.2.30:5061"));
    assert_eq!(status(response), 400);
    assert!(
        response.contains("Warning: 399 kefu \"header line 8 has no name or no colon\"\r\n"),
        "{response}"
    );
    assert!(response.contains("Call-ID: 1171927406\r\n"), "{response}");
}

#[test]
fn a_request_no_transaction_can_hold_is_answered_statelessly() {
    let mut core = core();
    let bad_cseq = replaced(corpus::OPTIONS, "CSeq: 1 OPTIONS", "CSeq: one OPTIONS");
    let source = peer(Transport::Udp, "192.0.2.30:5061");
    let receipt = core.receive(Instant::now(), &bad_cseq, source);
    assert!(matches!(receipt, Receipt::Request { .. }), "{receipt:?}");
    let sent = transmits(&mut core);
    assert_eq!(status(&sent[0].1), 400, "{}", sent[0].1);
    assert_eq!(core.poll_timeout(), None, "no transaction was created");
}

#[test]
fn an_invite_gets_100_then_501_retransmitted_until_the_ack() {
    let mut core = core();
    let now = Instant::now();
    let source = peer(Transport::Udp, "192.0.2.10:5060");
    core.receive(now, corpus::INVITE, source);
    let statuses: Vec<u16> = transmits(&mut core)
        .iter()
        .map(|(_, text)| status(text))
        .collect();
    assert_eq!(statuses, [100, 501]);
    let due = core.poll_timeout().unwrap();
    assert_eq!(due, now + Duration::from_millis(500));
    core.handle_timeout(due);
    assert_eq!(status(&transmits(&mut core)[0].1), 501);
    core.receive(due, corpus::ACK, source);
    assert!(transmits(&mut core).is_empty());
}

#[test]
fn a_cancel_for_no_pending_invite_gets_481() {
    let mut core = core();
    let cancel = replaced(corpus::OPTIONS, "OPTIONS sip:", "CANCEL sip:");
    let cancel = String::from_utf8(cancel)
        .unwrap()
        .replace("1 OPTIONS", "1 CANCEL");
    core.receive(
        Instant::now(),
        cancel.as_bytes(),
        peer(Transport::Udp, "192.0.2.30:5061"),
    );
    assert_eq!(status(&transmits(&mut core)[0].1), 481);
}

#[test]
fn an_extension_method_is_answered_501_from_its_headers() {
    let mut core = core();
    let foo = String::from_utf8(corpus::OPTIONS.to_vec())
        .unwrap()
        .replace("OPTIONS", "FOO");
    let receipt = core.receive(
        Instant::now(),
        foo.as_bytes(),
        peer(Transport::Udp, "192.0.2.30:5061"),
    );
    assert_eq!(
        receipt,
        Receipt::Request {
            method: "other".into()
        }
    );
    let sent = transmits(&mut core);
    assert_eq!(status(&sent[0].1), 501);
    assert!(sent[0].1.contains("CSeq: 1 FOO\r\n"), "{}", sent[0].1);
}

#[test]
fn what_cannot_be_answered_is_dropped_with_its_reason() {
    let mut core = core();
    let source = peer(Transport::Udp, "192.0.2.30:5061");
    let no_via = replaced(
        corpus::OPTIONS,
        "Via: SIP/2.0/UDP 192.0.2.30:5061;branch=z9hG4bKhjhs8ass877\r\n",
        "",
    );
    let oversized = vec![b'a'; 70 * 1024];
    for (bytes, reason) in [
        (&b"\x00\x01garbage\r\n\r\n"[..], DropReason::Malformed),
        (&no_via[..], DropReason::Unanswerable),
        (&oversized[..], DropReason::TooLarge),
    ] {
        let receipt = core.receive(Instant::now(), bytes, source);
        assert!(
            matches!(receipt, Receipt::Dropped { reason: got, .. } if got == reason),
            "expected {reason:?}, got {receipt:?}"
        );
        assert!(transmits(&mut core).is_empty());
    }
}

#[test]
fn a_stray_response_is_absorbed_without_an_answer() {
    let mut core = core();
    let receipt = core.receive(
        Instant::now(),
        corpus::RESPONSE_180,
        peer(Transport::Udp, "192.0.2.10:5060"),
    );
    assert_eq!(receipt, Receipt::Response);
    assert!(transmits(&mut core).is_empty());
}

/// What the core (and, on a stream, the framer before it, fed the case's
/// pieces) does with one filled message: the first final response's status.
fn final_status(
    core: &mut UasCore,
    case: &malformed::Case,
    message: &[u8],
    source: Peer,
) -> Option<u16> {
    let now = Instant::now();
    match source.transport {
        Transport::Udp => {
            core.receive(now, message, source);
        }
        _ => {
            let mut framer = StreamFramer::default();
            for piece in case.pieces(message) {
                framer.extend(piece);
                while let Ok(Some(frame)) = framer.next_message() {
                    core.receive(now, &frame, source);
                }
            }
        }
    }
    transmits(core)
        .into_iter()
        .map(|(_, response)| status(&response))
        .find(|&code| code >= 200)
}

#[test]
fn every_malformed_message_gets_its_expected_answer_or_none() {
    let cases = malformed::cases();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut wrong = Vec::new();
    for (n, case) in (0u32..).zip(&cases) {
        for (transport, name, expect) in [
            (Transport::Udp, "UDP", case.udp),
            (Transport::Tcp, "TCP", case.tcp),
        ] {
            let source = peer(transport, "192.0.2.99:5099");
            let message = malformed::fill(&case.template, name, source.addr, n);
            let got = final_status(&mut core(), case, &message, source);
            let expected = match expect {
                Expect::Status(code) => Some(code),
                Expect::Nothing => None,
            };
            if got != expected {
                wrong.push(format!(
                    "{} over {name}: expected {expect:?}, got {got:?}",
                    case.name
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
