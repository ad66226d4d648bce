//! Property test: parsing, validating and answering (the UAS core, the stream
//! framer) any mutation of a real message never panics, and what we build from a
//! parsed request parses again.

use proptest::prelude::*;
use rsip::SipMessage;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::{corpus, error_response, parse_message, validate_request};
use crate::driver::framing::StreamFramer;
use crate::transaction::{Peer, Timers, TransactionLayer, Transport};
use crate::uas::UasCore;

/// One edit applied to a corpus message.
#[derive(Debug, Clone)]
enum Mutation {
    FlipByte { at: usize, to: u8 },
    Truncate { at: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Duplicate { from: usize, len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop::sample::select(vec![
        b"\r\n".to_vec(),
        b"\r\n\r\n".to_vec(),
        b":".to_vec(),
        b" ".to_vec(),
        b"\t".to_vec(),
        b";".to_vec(),
        b",".to_vec(),
        b"<".to_vec(),
        b">".to_vec(),
        b"\"".to_vec(),
        b"\0".to_vec(),
        b"\xff\xfe".to_vec(),
        b"\xe2\x82".to_vec(),
        b"%".to_vec(),
        b"@".to_vec(),
        b"sip:".to_vec(),
        b"Content-Length: 99999\r\n".to_vec(),
        b"v: SIP/2.0/UDP".to_vec(),
        b"\r\n ".to_vec(),
        b"=".to_vec(),
        b"4294967296".to_vec(),
    ]);
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, to)| Mutation::FlipByte { at, to }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        (any::<usize>(), interesting).prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1usize..64).prop_map(|(from, len)| Mutation::Duplicate { from, len }),
    ]
}

fn apply(message: &mut Vec<u8>, mutation: &Mutation) {
    let len = message.len().max(1);
    match mutation {
        Mutation::FlipByte { at, to } => {
            if let Some(byte) = message.get_mut(at % len) {
                *byte = *to;
            }
        }
        Mutation::Truncate { at } => message.truncate(at % len),
        Mutation::Insert { at, bytes } => {
            let at = (at % len).min(message.len());
            message.splice(at..at, bytes.iter().copied());
        }
        Mutation::Duplicate { from, len: count } => {
            let from = (from % len).min(message.len());
            let end = (from + count).min(message.len());
            let copy = message[from..end].to_vec();
            message.splice(from..from, copy);
        }
    }
}

/// Everything the stack does with received bytes, up to the bytes it sends back.
fn exercise(bytes: &[u8]) {
    check_parse_and_validate(bytes);
    check_framing_and_answers(bytes);
}

fn check_parse_and_validate(bytes: &[u8]) {
    if let Ok(SipMessage::Request(request)) = parse_message(bytes) {
        let outcome = validate_request(&request, &["timer"]);
        if let Err(error) = outcome {
            let answer = error_response(&request, &error).to_string();
            assert!(
                parse_message(answer.as_bytes()).is_ok(),
                "our {} answer does not parse: {answer:?}",
                error.status_code()
            );
        }
    }
}

/// The bytes framed as from a stream, each frame and the whole as a datagram
/// through a UAS core; every answer must parse.
fn check_framing_and_answers(bytes: &[u8]) {
    let mut core = UasCore::new(
        TransactionLayer::new(Timers::default(), || "b".to_owned()),
        || "t".to_owned(),
    );
    let now = Instant::now();
    let udp = Peer {
        transport: Transport::Udp,
        addr: SocketAddr::from(([192, 0, 2, 1], 5060)),
    };
    core.receive(now, bytes, udp);
    let mut framer = StreamFramer::default();
    framer.extend(bytes);
    while let Ok(Some(frame)) = framer.next_message() {
        let tcp = Peer {
            transport: Transport::Tcp,
            ..udp
        };
        core.receive(now, &frame, tcp);
    }
    core.handle_timeout(now + Duration::from_secs(64));
    while let Some(transmit) = core.poll_transmit() {
        assert!(
            parse_message(&transmit.payload).is_ok(),
            "our answer does not parse: {:?}",
            String::from_utf8_lossy(&transmit.payload)
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn mutated_real_messages_never_panic(
        index in 0..corpus::ALL.len(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let mut message = corpus::ALL[index].to_vec();
        for mutation in &mutations {
            apply(&mut message, mutation);
        }
        exercise(&message);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise(&bytes);
    }
}
