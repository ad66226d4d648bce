//! Parsing a typical carrier INVITE (with SDP), then validating it.

use criterion::{Criterion, criterion_group, criterion_main};
use kefu_signaling::message::{parse_message, validate_request};
use rsip::SipMessage;
use std::hint::black_box;

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

criterion_group!(benches, parse_and_validate);
criterion_main!(benches);
