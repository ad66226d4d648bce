//! The receive hot path for a typical carrier INVITE (with SDP): parsing and
//! validating it, and parsing it then matching it, as a retransmission, against a
//! transaction layer holding a thousand live INVITE server transactions.

use std::hint::black_box;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use kefu_signaling::message::{parse_message, validate_request};
use kefu_signaling::transaction::{Input, Peer, Timers, TransactionLayer, Transport};
use rsip::SipMessage;

/// Live transactions in the layer while matching.
const LIVE_TRANSACTIONS: usize = 1_000;

const INVITE: &[u8] = b"INVITE sip:4000@kefu.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n\
Max-Forwards: 70\r\n\
To: <sip:4000@kefu.example.com>\r\n\
From: \"Alice\" <sip:alice@trunk.example.net>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710@192.0.2.10\r\n\
CSeq: 314159 INVITE\r\n\
Contact: <sip:alice@192.0.2.10:5060>\r\n\
Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n\
Supported: timer, replaces\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 142\r\n\
\r\n\
v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 192.0.2.10\r\n\
s=-\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
m=audio 49170 RTP/AVP 0 8 101\r\n\
a=rtpmap:101 telephone-event/8000\r\n";

fn parse_and_validate(c: &mut Criterion) {
    c.bench_function("parse+validate INVITE", |b| {
        b.iter(|| match parse_message(black_box(INVITE)) {
            Ok(SipMessage::Request(request)) => validate_request(&request, &["timer"]).is_ok(),
            _ => false,
        })
    });
}

/// The benchmark INVITE with another branch, to fill the layer.
fn invite_with_branch(index: usize) -> Vec<u8> {
    String::from_utf8_lossy(INVITE)
        .replace("z9hG4bK776asdhds", &format!("z9hG4bKfill{index}"))
        .into_bytes()
}

fn parse_and_match(c: &mut Criterion) {
    let now = Instant::now();
    let source = Peer {
        transport: Transport::Udp,
        addr: "192.0.2.10:5060".parse().expect("valid address"),
    };
    let mut layer = TransactionLayer::new(Timers::default(), || String::from("unused"));
    let received = |bytes: &[u8]| Input::Received {
        message: parse_message(bytes).expect("benchmark INVITE parses"),
        source,
    };
    for index in 0..LIVE_TRANSACTIONS {
        let _ = layer.handle_input(now, received(&invite_with_branch(index)));
    }
    let _ = layer.handle_input(now, received(INVITE));
    while layer.poll_output().is_some() {}
    c.bench_function("parse+match INVITE retransmission (1000 live)", |b| {
        b.iter(|| {
            let input = received(black_box(INVITE));
            let matched = layer.handle_input(now, input);
            while layer.poll_output().is_some() {}
            matched
        })
    });
}

criterion_group!(benches, parse_and_validate, parse_and_match);
criterion_main!(benches);
