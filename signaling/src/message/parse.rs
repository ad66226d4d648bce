//! Turning untrusted bytes into an `rsip::SipMessage`, without ever panicking.
//!
//! `rsip` 0.4 does the grammar work. This module is the guard in front of it: it
//! bounds the input size, skips leading CRLFs (§7.5, keep-alives on streams) and
//! has the header section rewritten by [`super::normalize`] into the shape `rsip`
//! reads correctly. It also applies rules `rsip` does not know: method names are
//! case-sensitive (`rsip` accepts `invite`); an extension method is reported as
//! [`ParseError::UnknownMethod`], a Request-URI that is not sip/sips as
//! [`ParseError::UnsupportedUriScheme`] and a SIP version other than 2.0 as
//! [`ParseError::UnsupportedVersion`], each with the headers needed to answer;
//! a request with an unreadable Request-URI or header whose Via, From, To,
//! Call-ID and CSeq can still be read is [`ParseError::BadRequest`], with those.
//! A CR or LF outside a CRLF line break in the header section is refused: a
//! response copying that header would carry it onto the wire. Finally a body
//! longer than `Content-Length` is cut to it, as §18.3 says
//! for datagrams (stream transports frame by `Content-Length` before this point).
//!
//! Known `rsip` 0.4 limits that remain: IPv6 references (`[2001:db8::1]`) in URIs
//! and Via are rejected, and a `tel:` URI in a header (To, From, Contact) is
//! misread as host `tel` with a port.

use std::borrow::Cow;

use super::normalize::{is_token_char, normalize_head};

use rsip::headers::UntypedHeader;
use rsip::{Header, Headers, SipMessage};

/// The largest message accepted, in bytes (64 KiB, the UDP datagram limit).
pub const MAX_MESSAGE_SIZE: usize = 64 * 1024;

/// Methods `rsip` can represent, spelled as RFC 3261 and its extensions spell them.
const KNOWN_METHODS: [&str; 14] = [
    "ACK",
    "BYE",
    "CANCEL",
    "INFO",
    "INVITE",
    "MESSAGE",
    "NOTIFY",
    "OPTIONS",
    "PRACK",
    "PUBLISH",
    "REFER",
    "REGISTER",
    "SUBSCRIBE",
    "UPDATE",
];

/// Why bytes are not a SIP message we can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Larger than [`MAX_MESSAGE_SIZE`]; not looked at further.
    #[error("message of {size} bytes exceeds the {limit}-byte limit")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// The limit that was applied.
        limit: usize,
    },
    /// No empty line (CRLF CRLF) ends the header section.
    #[error("header section is not terminated by an empty line")]
    UnterminatedHeaders,
    /// A header line has no colon, or an empty name.
    #[error("header line {line} has no name or no colon")]
    MalformedHeaderLine {
        /// 1-based line number in the header section, the start line being line 1.
        line: usize,
    },
    /// The request line names a method we do not implement. The headers, parsed as
    /// for any request, let the caller answer `501 Not Implemented`.
    #[error("method {method:?} is not implemented")]
    UnknownMethod {
        /// The method token as received.
        method: String,
        /// The request's headers.
        headers: Box<Headers>,
    },
    /// The Request-URI scheme is neither `sip` nor `sips` (`rsip` cannot hold
    /// others, and misreads `tel:+1234` as host `tel`, port 1234). The headers let
    /// the caller answer `416 Unsupported URI Scheme`.
    #[error("Request-URI scheme {scheme:?} is not supported")]
    UnsupportedUriScheme {
        /// The scheme as received.
        scheme: String,
        /// The request's headers.
        headers: Box<Headers>,
    },
    /// The request line's version is `SIP/x.y` but not `SIP/2.0` (RFC 4475
    /// §3.1.2.15). The headers let the caller answer `505 Version Not Supported`.
    #[error("SIP version {version:?} is not supported")]
    UnsupportedVersion {
        /// The version as received.
        version: String,
        /// The request's headers.
        headers: Box<Headers>,
    },
    /// A request whose request line or one of its headers cannot be read, but
    /// whose Via, From, To, Call-ID and CSeq can: `detail` says what was wrong,
    /// and those headers let the caller answer `400 Bad Request` (RFC 4475 §3.1.2:
    /// answer what can be answered).
    #[error("unreadable request: {detail}")]
    BadRequest {
        /// What could not be read.
        detail: String,
        /// The headers a response copies.
        headers: Box<Headers>,
    },
    /// `rsip` rejected the message; its description.
    #[error("malformed message: {0}")]
    Malformed(String),
}

/// Parses one SIP message (request or response). Never panics, whatever `bytes` hold.
pub fn parse_message(bytes: &[u8]) -> Result<SipMessage, ParseError> {
    if bytes.len() > MAX_MESSAGE_SIZE {
        return Err(ParseError::TooLarge {
            size: bytes.len(),
            limit: MAX_MESSAGE_SIZE,
        });
    }
    let bytes = skip_leading_crlf(bytes);
    let (head, body) = split_head_body(bytes)?;
    if has_bare_line_break(head) {
        return Err(ParseError::Malformed(
            "a CR or LF outside a CRLF line break in the header section".into(),
        ));
    }
    if !is_start_line(head) {
        return Err(ParseError::Malformed(
            "the start line is not `Method SP URI SP Version` or `Version SP Code SP Reason`"
                .into(),
        ));
    }
    parse_checked(bytes, head, body).map_err(|error| answerable(error, head))
}

/// Parses a message whose framing and start line passed the checks.
fn parse_checked(bytes: &[u8], head: &[u8], body: &[u8]) -> Result<SipMessage, ParseError> {
    let head = normalize_head(head)?;
    if let Some((reason, substituted)) = unrepresentable_request_line(&head) {
        return Err(unrepresentable_error(reason, &substituted, body));
    }
    let mut message = match head {
        Cow::Borrowed(_) => rsip_parse_whole(bytes)?,
        Cow::Owned(head) => rsip_parse(&head, body)?,
    };
    truncate_body_to_content_length(&mut message);
    Ok(message)
}

/// `error` for the request in `head`, turned into [`ParseError::BadRequest`]
/// when the headers a response needs can still be read.
fn answerable(error: ParseError, head: &[u8]) -> ParseError {
    match error {
        ParseError::MalformedHeaderLine { .. } | ParseError::Malformed(_) => {
            match salvage_response_headers(head) {
                Some(headers) => ParseError::BadRequest {
                    detail: error.to_string(),
                    headers: Box::new(headers),
                },
                None => error,
            }
        }
        other => other,
    }
}

/// Header names (full and compact, lower-case) a response copies.
const RESPONSE_HEADERS: [&[u8]; 9] = [
    b"via", b"v", b"from", b"f", b"to", b"t", b"call-id", b"i", b"cseq",
];

/// The Via, From, To, Call-ID and CSeq of a request whose other parts cannot be
/// read: those lines alone (folded lines joined), under a request line `rsip`
/// reads, parsed again. `None` unless the start line ends in a `SIP/x.y`
/// version and all five parse.
fn salvage_response_headers(head: &[u8]) -> Option<Headers> {
    let line_end = find(head, b"\r\n")?;
    let start_line = &head[..line_end];
    if start_line.len() >= 4 && start_line[..4].eq_ignore_ascii_case(b"SIP/") {
        return None;
    }
    if !is_sip_version(start_line.rsplit(|&b| b == b' ').next()?) {
        return None;
    }
    let mut logical: Vec<Vec<u8>> = Vec::new();
    for line in head[line_end + 2..].split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        match (line.first(), logical.last_mut()) {
            (None, _) => {}
            (Some(b' ' | b'\t'), Some(previous)) => {
                previous.push(b' ');
                previous.extend_from_slice(line.trim_ascii());
            }
            _ => logical.push(line.to_vec()),
        }
    }
    let mut kept = b"OPTIONS sip:unreadable.invalid SIP/2.0\r\n".to_vec();
    for line in logical {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let name = line[..colon].trim_ascii().to_ascii_lowercase();
        if RESPONSE_HEADERS.contains(&name.as_slice()) {
            kept.extend_from_slice(&line);
            kept.extend_from_slice(b"\r\n");
        }
    }
    let normalized = normalize_head(&kept).ok()?;
    let Ok(SipMessage::Request(request)) = rsip_parse(&normalized, b"") else {
        return None;
    };
    let has = |wanted: fn(&Header) -> bool| request.headers.iter().any(wanted);
    let complete = has(|h| matches!(h, Header::Via(_)))
        && has(|h| matches!(h, Header::From(_)))
        && has(|h| matches!(h, Header::To(_)))
        && has(|h| matches!(h, Header::CallId(_)))
        && has(|h| matches!(h, Header::CSeq(_)));
    complete.then_some(request.headers)
}

fn skip_leading_crlf(mut bytes: &[u8]) -> &[u8] {
    while let Some(rest) = bytes.strip_prefix(b"\r\n") {
        bytes = rest;
    }
    bytes
}

/// Splits at the first empty line; `head` keeps the CRLF ending its last header.
fn split_head_body(bytes: &[u8]) -> Result<(&[u8], &[u8]), ParseError> {
    let end = find(bytes, b"\r\n\r\n").ok_or(ParseError::UnterminatedHeaders)?;
    Ok((&bytes[..end + 2], &bytes[end + 4..]))
}

/// Whether the first line of `head` has the shape of a request line (three
/// non-empty parts separated by single spaces) or a status line (`SIP/`, a
/// three-digit code, a reason). Checked here because `rsip` reads a request line
/// across line breaks, past the empty line that ends the header section.
fn is_start_line(head: &[u8]) -> bool {
    let line = find(head, b"\r\n").map_or(head, |end| &head[..end]);
    if line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"SIP/") {
        let mut parts = line.splitn(3, |&byte| byte == b' ');
        let (version, code) = (parts.next(), parts.next());
        return version.is_some_and(|version| !version.is_empty())
            && code.is_some_and(|code| code.len() == 3 && code.iter().all(u8::is_ascii_digit))
            && parts.next().is_some();
    }
    let parts: Vec<&[u8]> = line.split(|&byte| byte == b' ').collect();
    parts.len() == 3 && parts.iter().all(|part| !part.is_empty())
}

/// Whether `head` holds a CR not followed by LF or an LF not preceded by CR.
/// Either would end a header line early in a response that copies it.
fn has_bare_line_break(head: &[u8]) -> bool {
    head.iter().enumerate().any(|(at, &byte)| match byte {
        b'\r' => head.get(at + 1) != Some(&b'\n'),
        b'\n' => at.checked_sub(1).and_then(|before| head.get(before)) != Some(&b'\r'),
        _ => false,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// A request line `rsip` cannot hold although the request can be answered.
enum Unrepresentable<'a> {
    /// A SIP version other than 2.0 (→ 505).
    Version(&'a [u8]),
    /// An extension method (→ 501).
    Method(&'a [u8]),
    /// A Request-URI scheme other than sip/sips (→ 416).
    UriScheme(&'a [u8]),
}

/// Checks the request line of `head`; when `rsip` cannot represent it, returns why
/// and a copy of `head` whose request line it can (method OPTIONS, URI
/// `sip:unsupported.invalid`), to parse the headers for the answer.
fn unrepresentable_request_line(head: &[u8]) -> Option<(Unrepresentable<'_>, Vec<u8>)> {
    if head.starts_with(b"SIP/") {
        return None;
    }
    let line_end = find(head, b"\r\n")?;
    let mut parts = head[..line_end].splitn(3, |&b| b == b' ');
    let (method, uri, version) = (parts.next()?, parts.next()?, parts.next()?);
    if method.is_empty() || !method.iter().all(|&b| is_token_char(b)) {
        return None;
    }
    let known_method = KNOWN_METHODS.iter().any(|known| known.as_bytes() == method);
    let foreign_scheme = uri_scheme(uri).filter(|scheme| {
        !scheme.eq_ignore_ascii_case(b"sip") && !scheme.eq_ignore_ascii_case(b"sips")
    });
    let other_version = is_sip_version(version) && !version.eq_ignore_ascii_case(b"SIP/2.0");
    let reason = match (other_version, known_method, foreign_scheme) {
        (true, _, _) => Unrepresentable::Version(version),
        (false, false, _) => Unrepresentable::Method(method),
        (false, true, Some(scheme)) => Unrepresentable::UriScheme(scheme),
        (false, true, None) => return None,
    };
    let version: &[u8] = if other_version { b"SIP/2.0" } else { version };
    let mut substituted = Vec::with_capacity(head.len() + 32);
    substituted.extend_from_slice(if known_method { method } else { b"OPTIONS" });
    substituted.push(b' ');
    match foreign_scheme {
        Some(_) => substituted.extend_from_slice(b"sip:unsupported.invalid"),
        None => substituted.extend_from_slice(uri),
    }
    substituted.push(b' ');
    substituted.extend_from_slice(version);
    substituted.extend_from_slice(&head[line_end..]);
    Some((reason, substituted))
}

/// Whether `version` has the shape `SIP/digits.digits` (RFC 3261 §25.1).
fn is_sip_version(version: &[u8]) -> bool {
    let Some(number) = version
        .get(..4)
        .filter(|prefix| prefix.eq_ignore_ascii_case(b"SIP/"))
        .map(|_| &version[4..])
    else {
        return false;
    };
    let mut parts = number.splitn(2, |&b| b == b'.');
    let digits = |part: Option<&[u8]>| {
        part.is_some_and(|part| !part.is_empty() && part.iter().all(u8::is_ascii_digit))
    };
    digits(parts.next()) && digits(parts.next())
}

/// The scheme of an absolute URI (RFC 3986 `scheme ":"`), if it has one.
fn uri_scheme(uri: &[u8]) -> Option<&[u8]> {
    let colon = uri.iter().position(|&b| b == b':')?;
    let scheme = &uri[..colon];
    let valid = scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    valid.then_some(scheme)
}

/// The error for an unrepresentable request line, carrying the request's headers
/// so the caller can answer it; or the parse error of the headers themselves.
fn unrepresentable_error(reason: Unrepresentable<'_>, head: &[u8], body: &[u8]) -> ParseError {
    let headers = match rsip_parse(head, body) {
        Ok(SipMessage::Request(request)) => Box::new(request.headers),
        Ok(SipMessage::Response(_)) => return ParseError::Malformed("not a request".into()),
        Err(error) => return error,
    };
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    match reason {
        Unrepresentable::Version(version) => ParseError::UnsupportedVersion {
            version: text(version),
            headers,
        },
        Unrepresentable::Method(method) => ParseError::UnknownMethod {
            method: text(method),
            headers,
        },
        Unrepresentable::UriScheme(scheme) => ParseError::UnsupportedUriScheme {
            scheme: text(scheme),
            headers,
        },
    }
}

fn rsip_parse(head: &[u8], body: &[u8]) -> Result<SipMessage, ParseError> {
    let mut message = Vec::with_capacity(head.len() + 2 + body.len());
    message.extend_from_slice(head);
    message.extend_from_slice(b"\r\n");
    message.extend_from_slice(body);
    rsip_parse_whole(&message)
}

fn rsip_parse_whole(message: &[u8]) -> Result<SipMessage, ParseError> {
    SipMessage::try_from(message).map_err(|error| ParseError::Malformed(error.to_string()))
}

fn truncate_body_to_content_length(message: &mut SipMessage) {
    let declared =
        rsip::message::HasHeaders::headers(message)
            .iter()
            .find_map(|header| match header {
                Header::ContentLength(length) => length.value().trim().parse::<usize>().ok(),
                _ => None,
            });
    if let Some(declared) = declared {
        message.body_mut().truncate(declared);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::corpus;
    use rsip::Method;
    use rsip::headers::ToTypedHeader;
    use rsip::message::HeadersExt;

    fn request(bytes: &[u8]) -> rsip::Request {
        match parse_message(bytes) {
            Ok(SipMessage::Request(request)) => request,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    #[test]
    fn parses_a_carrier_invite_with_its_sdp_body() {
        let invite = request(corpus::INVITE);
        assert_eq!(invite.method, Method::Invite);
        assert_eq!(
            invite.call_id_header().unwrap().value(),
            "a84b4c76e66710@192.0.2.10"
        );
        assert!(invite.body.starts_with(b"v=0\r\n"));
        assert!(invite.body.ends_with(b"telephone-event/8000\r\n"));
    }

    #[test]
    fn parses_a_response() {
        let message = parse_message(corpus::RESPONSE_180).unwrap();
        let SipMessage::Response(response) = message else {
            panic!("expected a response");
        };
        assert_eq!(response.status_code.code(), 180);
    }

    #[test]
    fn compact_header_names_are_expanded() {
        let bytes = b"OPTIONS sip:kefu SIP/2.0\r\nv: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\ni: abc@host\r\nf: <sip:a@b>;tag=1\r\nt: <sip:kefu>\r\nCSeq: 1 OPTIONS\r\nl: 0\r\n\r\n";
        let options = request(bytes);
        assert_eq!(options.call_id_header().unwrap().value(), "abc@host");
        assert!(options.via_header().is_ok());
        assert!(options.from_header().is_ok());
        assert!(options.to_header().is_ok());
    }

    #[test]
    fn folded_lines_and_space_before_colon_are_joined() {
        let bytes = b"OPTIONS sip:kefu SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nCall-ID  : abc@host\r\nCSeq: 7\r\n  OPTIONS\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:kefu>\r\n\r\n";
        let options = request(bytes);
        assert_eq!(options.call_id_header().unwrap().value(), "abc@host");
        let cseq = options.cseq_header().unwrap().typed().unwrap();
        assert_eq!((cseq.seq, cseq.method), (7, Method::Options));
    }

    #[test]
    fn a_bare_cr_or_lf_inside_the_header_section_is_refused() {
        for bytes in [
            &b"OPTIONS sip:kefu SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nCSeq: 1 OPTIONS\nX-Injected: yes\r\n\r\n"[..],
            b"OPTIONS sip:kefu SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nCSeq: 1 OPTIONS\rX: y\r\n\r\n",
            b"OPTIONS sip:kefu SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n\r\n",
        ] {
            assert!(
                matches!(parse_message(bytes), Err(ParseError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn a_start_line_broken_across_lines_is_refused() {
        for bytes in [
            &b"INVITE \r\n\r\nsip:user@example.com SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n"[..],
            b"INVITE  sip:user@example.com SIP/2.0\r\nCSeq: 1 INVITE\r\n\r\n",
            b"SIP/2.0 2000 OK\r\nCSeq: 1 INVITE\r\n\r\n",
        ] {
            assert!(
                matches!(parse_message(bytes), Err(ParseError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn leading_crlf_keepalives_are_skipped() {
        let mut bytes = b"\r\n\r\n".to_vec();
        bytes.extend_from_slice(corpus::OPTIONS);
        assert_eq!(request(&bytes).method, Method::Options);
    }

    #[test]
    fn the_rfc_4475_tortuous_invite_parses() {
        let invite = request(corpus::RFC4475_WSINV);
        assert_eq!(invite.method, Method::Invite);
        assert_eq!(
            invite.call_id_header().unwrap().value(),
            "wsinv.ndaksdj@192.0.2.1"
        );
    }

    #[test]
    fn an_extension_method_is_reported_with_its_headers() {
        let bytes = b"FOO sip:kefu SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nCall-ID: x\r\nCSeq: 1 FOO\r\n\r\n";
        match parse_message(bytes) {
            Err(ParseError::UnknownMethod { method, headers }) => {
                assert_eq!(method, "FOO");
                assert!(headers.iter().any(|h| matches!(h, Header::CallId(_))));
            }
            other => panic!("expected UnknownMethod, got {other:?}"),
        }
    }

    #[test]
    fn method_names_are_case_sensitive() {
        let bytes = b"invite sip:kefu SIP/2.0\r\nCall-ID: x\r\n\r\n";
        assert!(matches!(
            parse_message(bytes),
            Err(ParseError::UnknownMethod { method, .. }) if method == "invite"
        ));
    }

    #[test]
    fn a_body_longer_than_content_length_is_cut_to_it() {
        let bytes = b"MESSAGE sip:kefu SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: 5\r\n\r\nhello, and trailing junk";
        assert_eq!(request(bytes).body, b"hello");
    }

    #[test]
    fn oversized_input_is_rejected_before_parsing() {
        let bytes = vec![b'A'; MAX_MESSAGE_SIZE + 1];
        assert_eq!(
            parse_message(&bytes),
            Err(ParseError::TooLarge {
                size: MAX_MESSAGE_SIZE + 1,
                limit: MAX_MESSAGE_SIZE
            })
        );
    }

    #[test]
    fn headers_without_an_empty_line_are_unterminated() {
        let bytes = b"OPTIONS sip:kefu SIP/2.0\r\nCall-ID: x\r\n";
        assert_eq!(parse_message(bytes), Err(ParseError::UnterminatedHeaders));
    }

    #[test]
    fn a_header_line_without_colon_is_malformed() {
        let bytes = b"OPTIONS sip:kefu SIP/2.0\r\nCall-ID x\r\n\r\n";
        assert_eq!(
            parse_message(bytes),
            Err(ParseError::MalformedHeaderLine { line: 2 })
        );
    }

    #[test]
    fn a_continuation_line_before_any_header_is_malformed() {
        let bytes = b"OPTIONS sip:kefu SIP/2.0\r\n folded\r\n\r\n";
        assert_eq!(
            parse_message(bytes),
            Err(ParseError::MalformedHeaderLine { line: 2 })
        );
    }

    #[test]
    fn garbage_is_malformed() {
        assert!(matches!(
            parse_message(b"\x00\xff\xfe garbage\r\n\r\n"),
            Err(ParseError::Malformed(_))
        ));
        assert_eq!(parse_message(b""), Err(ParseError::UnterminatedHeaders));
    }

    #[test]
    fn the_rfc_4475_extension_method_request_is_answerable() {
        let result = parse_message(corpus::RFC4475_INTMETH);
        assert!(
            matches!(
                result,
                Err(ParseError::UnknownMethod { .. }) | Err(ParseError::BadRequest { .. })
            ),
            "{result:?}"
        );
    }

    #[test]
    fn the_sip_version_is_read_in_any_case() {
        let lower =
            String::from_utf8_lossy(corpus::OPTIONS).replacen("SIP/2.0\r\n", "sip/2.0\r\n", 1);
        assert_eq!(request(lower.as_bytes()).method, Method::Options);
        let response =
            String::from_utf8_lossy(corpus::RESPONSE_180).replacen("SIP/2.0 180", "Sip/2.0 180", 1);
        assert!(matches!(
            parse_message(response.as_bytes()),
            Ok(SipMessage::Response(_))
        ));
    }

    #[test]
    fn a_request_with_an_unreadable_header_keeps_what_an_answer_needs() {
        let no_colon = String::from_utf8_lossy(corpus::OPTIONS).replacen("Accept:", "Accept", 1);
        match parse_message(no_colon.as_bytes()) {
            Err(ParseError::BadRequest { detail, headers }) => {
                assert!(detail.contains("no colon"), "{detail}");
                let kinds: Vec<&str> = headers
                    .iter()
                    .map(|header| match header {
                        Header::Via(_) => "Via",
                        Header::From(_) => "From",
                        Header::To(_) => "To",
                        Header::CallId(_) => "Call-ID",
                        Header::CSeq(_) => "CSeq",
                        _ => "other",
                    })
                    .collect();
                assert_eq!(kinds, ["Via", "To", "From", "Call-ID", "CSeq"]);
            }
            other => panic!("expected BadRequest, got {other:?}"),
        }
    }

    #[test]
    fn nothing_is_salvaged_without_a_via_or_from_a_non_sip_request() {
        let without_via = String::from_utf8_lossy(corpus::OPTIONS)
            .replacen("Accept:", "Accept", 1)
            .replacen(
                "Via: SIP/2.0/UDP 192.0.2.30:5061;branch=z9hG4bKhjhs8ass877\r\n",
                "",
                1,
            );
        assert!(matches!(
            parse_message(without_via.as_bytes()),
            Err(ParseError::MalformedHeaderLine { .. })
        ));
        let http = String::from_utf8_lossy(corpus::OPTIONS)
            .replacen("Accept:", "Accept", 1)
            .replacen("SIP/2.0\r\n", "HTTP/1.1\r\n", 1);
        assert!(matches!(
            parse_message(http.as_bytes()),
            Err(ParseError::MalformedHeaderLine { .. })
        ));
    }

    #[test]
    fn an_rfc_2543_request_without_branch_cookie_parses() {
        assert_eq!(request(corpus::RFC4475_INV2543).method, Method::Invite);
    }

    #[test]
    fn another_sip_version_is_reported_with_its_headers_but_garbage_is_malformed() {
        let badvers = String::from_utf8_lossy(corpus::OPTIONS).replacen("SIP/2.0", "SIP/7.0", 1);
        match parse_message(badvers.as_bytes()) {
            Err(ParseError::UnsupportedVersion { version, headers }) => {
                assert_eq!(version, "SIP/7.0");
                assert!(headers.iter().any(|h| matches!(h, Header::CallId(_))));
            }
            other => panic!("expected UnsupportedVersion, got {other:?}"),
        }
        let garbage = String::from_utf8_lossy(corpus::OPTIONS).replacen("SIP/2.0", "HTTP/1.1", 1);
        assert!(matches!(
            parse_message(garbage.as_bytes()),
            Err(ParseError::Malformed(_))
        ));
    }

    #[test]
    fn a_request_uri_with_an_unknown_scheme_is_reported_with_its_headers() {
        match parse_message(corpus::RFC4475_UNKSCM) {
            Err(ParseError::UnsupportedUriScheme { scheme, headers }) => {
                assert_eq!(scheme, "nobodyKnowsThisScheme");
                assert!(headers.iter().any(|h| matches!(h, Header::CallId(_))));
            }
            other => panic!("expected UnsupportedUriScheme, got {other:?}"),
        }
    }

    #[test]
    fn a_tel_request_uri_is_an_unsupported_scheme_not_a_host_and_port() {
        for uri in ["tel:+1234", "tel:+4912345"] {
            let text = String::from_utf8(corpus::OPTIONS.to_vec()).unwrap();
            let bytes = text.replace("OPTIONS sip:kefu.example.com", &format!("OPTIONS {uri}"));
            assert!(matches!(
                parse_message(bytes.as_bytes()),
                Err(ParseError::UnsupportedUriScheme { scheme, .. }) if scheme == "tel"
            ));
        }
    }

    #[test]
    fn a_nul_byte_in_a_header_value_does_not_break_parsing() {
        let parsed = parse_message(corpus::NUL_IN_HEADER);
        assert!(matches!(
            parsed,
            Ok(SipMessage::Request(_)) | Err(ParseError::Malformed(_))
        ));
    }

    #[test]
    fn an_ipv6_request_uri_is_malformed_for_rsip() {
        let bytes = b"OPTIONS sip:a@[2001:db8::9]:5070 SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n";
        assert!(matches!(
            parse_message(bytes),
            Err(ParseError::Malformed(_))
        ));
    }
}
