//! The malformed-message corpus: broken SIP in the categories of RFC 4475 (bad
//! and contradictory `Content-Length`, missing and duplicated mandatory headers,
//! garbage in CSeq, Via and URIs, oversized headers and tokens, invalid UTF-8,
//! NUL bytes, line folding, unknown schemes and versions, negative and
//! overflowing numbers, torn stream frames), each with a name and what the
//! stack must do with it over UDP and over TCP: answer with a given status, or
//! stay silent. Test-only.
//!
//! Messages are templates: `{via}` becomes a Via for the sender (`SIP/2.0/UDP
//! ADDR;branch=z9hG4bK…;rport`, so that an answer comes back to it), `{addr}`
//! its address, `{n}` a number unique to each send ([`fill`]). The file uses
//! nothing but `std`, so that the integration tests of the `kefu` binary include
//! it (`#[path]`) and send the same cases over real sockets; the UAS core's unit
//! tests run them sans-IO.

use std::net::SocketAddr;

/// What a malformed message must get on one transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A final response with exactly this status.
    Status(u16),
    /// No answer at all: dropped (and, on a stream, maybe the connection closed).
    Nothing,
}

/// One malformed message.
#[derive(Debug, Clone)]
pub struct Case {
    /// What is wrong with it.
    pub name: &'static str,
    /// The template (see the module docs).
    pub template: Vec<u8>,
    /// What it gets as one datagram.
    pub udp: Expect,
    /// What it gets on a TCP connection, written in the pieces [`Case::pieces`] cuts.
    pub tcp: Expect,
    /// Where a stream sender cuts the filled message, in bytes back from its
    /// end, pausing between the pieces (a torn frame); empty to write it at once.
    pub tear_before_end: Vec<usize>,
}

impl Case {
    /// The filled `message` cut where [`Case::tear_before_end`] says, in order.
    pub fn pieces<'a>(&self, message: &'a [u8]) -> Vec<&'a [u8]> {
        let mut cuts: Vec<usize> = self
            .tear_before_end
            .iter()
            .map(|back| message.len().saturating_sub(*back))
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut pieces = Vec::new();
        let mut start = 0;
        for cut in cuts.into_iter().chain([message.len()]) {
            pieces.push(&message[start..cut.max(start)]);
            start = cut.max(start);
        }
        pieces
    }
}

/// An OPTIONS as a softphone sends it: the base most cases break.
pub const OPTIONS: &str = "OPTIONS sip:kefu@127.0.0.1 SIP/2.0\r\n\
Via: {via}\r\n\
Max-Forwards: 70\r\n\
To: <sip:kefu@127.0.0.1>\r\n\
From: <sip:probe@127.0.0.1>;tag=probe{n}\r\n\
Call-ID: malformed-{n}@127.0.0.1\r\n\
CSeq: 1 OPTIONS\r\n\
Accept: application/sdp\r\n\
Content-Length: 0\r\n\r\n";

/// An INVITE with a small SDP body (56 bytes), for the body-length cases.
pub const INVITE: &str = "INVITE sip:4001@127.0.0.1 SIP/2.0\r\n\
Via: {via}\r\n\
Max-Forwards: 70\r\n\
To: <sip:4001@127.0.0.1>\r\n\
From: <sip:caller@127.0.0.1>;tag=caller{n}\r\n\
Call-ID: malformed-invite-{n}@127.0.0.1\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:caller@{addr}>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: 56\r\n\r\n\
v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n";

/// `template` for a sender at `local` over `transport` (`UDP`, `TCP`), with
/// `n` unique to this send.
pub fn fill(template: &[u8], transport: &str, local: SocketAddr, n: u32) -> Vec<u8> {
    let via = format!("SIP/2.0/{transport} {local};branch=z9hG4bKmalformed{n};rport");
    let mut out = template.to_vec();
    for (from, to) in [
        ("{via}", via),
        ("{addr}", local.to_string()),
        ("{n}", n.to_string()),
    ] {
        out = replace(&out, from.as_bytes(), to.as_bytes());
    }
    out
}

/// `bytes` with every `from` replaced by `to`.
pub fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
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

/// [`OPTIONS`] with `from` replaced by `to` (which must be there).
fn options(from: &str, to: &str) -> Vec<u8> {
    assert!(OPTIONS.contains(from), "{from:?} not in OPTIONS");
    OPTIONS.replacen(from, to, 1).into_bytes()
}

/// [`INVITE`] with `from` replaced by `to` (which must be there).
fn invite(from: &str, to: &str) -> Vec<u8> {
    assert!(INVITE.contains(from), "{from:?} not in INVITE");
    INVITE.replacen(from, to, 1).into_bytes()
}

/// [`OPTIONS`] as method `method` (request line and CSeq).
fn with_method(method: &str) -> Vec<u8> {
    OPTIONS
        .replacen("OPTIONS sip:", &format!("{method} sip:"), 1)
        .replacen("CSeq: 1 OPTIONS", &format!("CSeq: 1 {method}"), 1)
        .into_bytes()
}

fn case(name: &'static str, template: Vec<u8>, udp: Expect, tcp: Expect) -> Case {
    Case {
        name,
        template,
        udp,
        tcp,
        tear_before_end: Vec::new(),
    }
}

/// The same expectation on both transports.
fn both(name: &'static str, template: Vec<u8>, expect: Expect) -> Case {
    case(name, template, expect, expect)
}

/// Every case.
pub fn cases() -> Vec<Case> {
    use Expect::{Nothing, Status};
    let token_8k = "a".repeat(8 * 1024);
    let header_20k = format!("X-Huge: {}\r\n", "h".repeat(20 * 1024));
    let many_headers = "X-Many: 1\r\n".repeat(1000);
    let filler_70k = format!("X-Filler: {}\r\n", "f".repeat(70 * 1024));
    let method_8k = "A".repeat(8 * 1024);
    vec![
        // Not SIP at all.
        both("garbage text", b"hello kefu, this is not SIP\r\n\r\n".to_vec(), Nothing),
        both("NUL bytes only", vec![0; 300], Nothing),
        both("a binary blob", (0..=255u8).cycle().take(600).collect(), Nothing),
        both("no request line", options("OPTIONS sip:kefu@127.0.0.1 SIP/2.0\r\n", ""), Nothing),
        both("request line without version", options(" SIP/2.0\r\n", "\r\n"), Nothing),
        both("request line of one word", options("OPTIONS sip:kefu@127.0.0.1 SIP/2.0", "OPTIONS"), Nothing),
        both("a stray response", b"SIP/2.0 200 OK\r\nVia: {via}\r\nCall-ID: stray-{n}\r\nCSeq: 1 OPTIONS\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nContent-Length: 0\r\n\r\n".to_vec(), Nothing),
        both("a response with a 6-digit status", b"SIP/2.0 200000 OK\r\nVia: {via}\r\nCall-ID: stray-{n}\r\nCSeq: 1 OPTIONS\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nContent-Length: 0\r\n\r\n".to_vec(), Nothing),
        // Bytes that are not text.
        both("NUL inside Call-ID", options("Call-ID: malformed", "Call-ID: mal\0formed"), Status(400)),
        both("invalid UTF-8 in From", replace(OPTIONS.as_bytes(), b"From: <sip:probe", b"From: \xff\xfe<sip:probe"), Nothing),
        both("invalid UTF-8 in the Request-URI", replace(OPTIONS.as_bytes(), b"sip:kefu@127.0.0.1 SIP", b"sip:k\xc3\x28fu@127.0.0.1 SIP"), Status(400)),
        // Mandatory headers missing.
        both("missing Call-ID", options("Call-ID: malformed-{n}@127.0.0.1\r\n", ""), Status(400)),
        both("missing CSeq", options("CSeq: 1 OPTIONS\r\n", ""), Status(400)),
        both("missing From", options("From: <sip:probe@127.0.0.1>;tag=probe{n}\r\n", ""), Status(400)),
        both("missing To", options("To: <sip:kefu@127.0.0.1>\r\n", ""), Status(400)),
        both("missing Via", options("Via: {via}\r\n", ""), Nothing),
        both("RFC 4475 insuf: no Call-ID, From, To", b"INVITE sip:user@example.com SIP/2.0\r\nCSeq: 193942 INVITE\r\nVia: {via}\r\nContent-Type: application/sdp\r\nl: 0\r\n\r\n".to_vec(), Status(400)),
        // Single headers given twice.
        both("two Call-IDs", options("CSeq: 1", "Call-ID: second-{n}\r\nCSeq: 1"), Status(400)),
        both("two CSeqs", options("CSeq: 1 OPTIONS\r\n", "CSeq: 1 OPTIONS\r\nCSeq: 2 OPTIONS\r\n"), Status(400)),
        both("two From headers", options("CSeq: 1", "From: <sip:other@127.0.0.1>;tag=2\r\nCSeq: 1"), Status(400)),
        both("two To headers", options("CSeq: 1", "To: <sip:other@127.0.0.1>\r\nCSeq: 1"), Status(400)),
        // CSeq.
        both("CSeq not a number", options("CSeq: 1 OPTIONS", "CSeq: one OPTIONS"), Status(400)),
        both("negative CSeq", options("CSeq: 1 OPTIONS", "CSeq: -1 OPTIONS"), Status(400)),
        both("CSeq of 2**32", options("CSeq: 1 OPTIONS", "CSeq: 4294967296 OPTIONS"), Status(400)),
        both("CSeq of 2**31", options("CSeq: 1 OPTIONS", "CSeq: 2147483648 OPTIONS"), Status(400)),
        both("RFC 4475 scalar02: CSeq of 2**65", options("CSeq: 1 OPTIONS", "CSeq: 36893488147419103232 OPTIONS"), Status(400)),
        both("CSeq without method", options("CSeq: 1 OPTIONS", "CSeq: 1"), Status(400)),
        both("CSeq method mismatch", options("CSeq: 1 OPTIONS", "CSeq: 1 INVITE"), Status(400)),
        // Via.
        both("Via of garbage", options("Via: {via}", "Via: garbage"), Nothing),
        both("Via of SIP/3.0", options("Via: {via}", "Via: SIP/3.0/UDP {addr};branch=z9hG4bKv3{n};rport"), Nothing),
        both("Via with an unterminated IPv6 host", options("Via: {via}", "Via: SIP/2.0/UDP [::1;branch=z9hG4bKv6{n};rport"), Nothing),
        // Request-URI and version.
        both("RFC 4475 unkscm: unknown Request-URI scheme", options("OPTIONS sip:kefu@127.0.0.1", "OPTIONS nobodyKnowsThisScheme:totallyopaquecontent"), Status(416)),
        both("tel: Request-URI", options("OPTIONS sip:kefu@127.0.0.1", "OPTIONS tel:+4930123"), Status(416)),
        both("empty sip: Request-URI", options("OPTIONS sip:kefu@127.0.0.1", "OPTIONS sip:"), Status(400)),
        both("RFC 4475 badvers: SIP/7.0 request", options("127.0.0.1 SIP/2.0\r\n", "127.0.0.1 SIP/7.0\r\n"), Status(505)),
        both("a lower-case SIP version (allowed)", options("127.0.0.1 SIP/2.0\r\n", "127.0.0.1 sip/2.0\r\n"), Status(200)),
        both("HTTP/1.1 request", options("127.0.0.1 SIP/2.0\r\n", "127.0.0.1 HTTP/1.1\r\n"), Nothing),
        // Max-Forwards.
        both("Max-Forwards not a number", options("Max-Forwards: 70", "Max-Forwards: seventy"), Status(400)),
        both("Max-Forwards of 2**32", options("Max-Forwards: 70", "Max-Forwards: 4294967296"), Status(400)),
        both("Max-Forwards: 0 on an INVITE", invite("Max-Forwards: 70", "Max-Forwards: 0"), Status(483)),
        // Content-Length. On a stream a length that cannot be read loses the
        // framing: the connection closes without an answer.
        case("RFC 4475 clerr: Content-Length beyond the body", invite("Content-Length: 56", "Content-Length: 9999"), Status(400), Nothing),
        case("RFC 4475 ncl: negative Content-Length", invite("Content-Length: 56", "Content-Length: -999"), Status(400), Nothing),
        case("Content-Length not a number", invite("Content-Length: 56", "Content-Length: many"), Status(400), Nothing),
        case("Content-Length of 2**70", invite("Content-Length: 56", "Content-Length: 1180591620717411303424"), Status(400), Nothing),
        case("RFC 4475 mcl01: two different Content-Lengths", invite("Content-Length: 56", "Content-Length: 56\r\nContent-Length: 5"), Status(400), Nothing),
        both("Content-Length shorter than the body", options("Content-Length: 0\r\n\r\n", "Content-Length: 0\r\n\r\ntrailing junk"), Status(200)),
        case("no Content-Length (mandatory on streams)", options("Content-Length: 0\r\n", ""), Status(200), Status(400)),
        // Lines and folding.
        both("a header line without a colon", options("Accept: application/sdp\r\n", "this line has no colon\r\n"), Status(400)),
        both("a folded header (allowed)", options("Accept: application/sdp\r\n", "Subject: a subject\r\n  folded onto a second line\r\n"), Status(200)),
        both("header name with spaces before the colon (allowed)", options("Accept:", "Accept   :"), Status(200)),
        both("an unknown header with a strange value (ignored)", options("Accept:", "X-Strange: ;;,,;;<<>>\"\r\nAccept:"), Status(200)),
        // Sizes.
        both("an 8 KiB Call-ID", options("Call-ID: malformed-{n}", &format!("Call-ID: {token_8k}-{{n}}")), Status(200)),
        // Method in the request line and CSeq: past the 16 KiB header section limit of streams.
        case("an 8 KiB extension method", with_method(&method_8k), Status(501), Nothing),
        case("a 20 KiB header", options("Accept:", &format!("{header_20k}Accept:")), Status(200), Nothing),
        both("1000 extension headers", options("Accept:", &format!("{many_headers}Accept:")), Status(200)),
        both("a 70 KiB message", options("Accept:", &format!("{filler_70k}Accept:")), Nothing),
        // Methods.
        both("an extension method", with_method("FOO"), Status(501)),
        both("a lower-case method (another method)", with_method("options"), Status(501)),
        both("unsupported Require", options("Max-Forwards: 70", "Require: 100rel"), Status(420)),
        // Torn stream frames: whole as a datagram.
        Case {
            name: "a frame torn in four pieces",
            template: OPTIONS.as_bytes().to_vec(),
            udp: Status(200),
            tcp: Status(200),
            tear_before_end: vec![30, 100, 101, 200],
        },
        Case {
            name: "a frame torn inside the empty line",
            template: OPTIONS.as_bytes().to_vec(),
            udp: Status(200),
            tcp: Status(200),
            tear_before_end: vec![3],
        },
        case("half a frame, then nothing", OPTIONS.as_bytes()[..60].to_vec(), Nothing, Nothing),
    ]
}
