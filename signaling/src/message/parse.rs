//! Turning untrusted bytes into an `rsip::SipMessage`, without ever panicking.
//!
//! `rsip` 0.4 does the grammar work. This module is the guard in front of it: it
//! bounds the input size, and rewrites the header section into the one shape `rsip`
//! understands, for the forms RFC 3261 allows that `rsip` rejects or misreads:
//!
//! - line folding (§7.3.1): a header line continued on a line that starts with SP or
//!   HTAB; `rsip` fails the whole message;
//! - whitespace before the colon (`HCOLON = *( SP / HTAB ) ":" SWS`): `rsip` fails;
//! - compact header names (§7.3.3, `i`, `f`, `t`, `v`, `l`, ...): `rsip` keeps them as
//!   unknown headers, so `Call-ID` or `Via` would look missing;
//! - leading CRLFs before the start line (§7.5, keep-alives on streams).
//!
//! It also applies two rules `rsip` does not know: method names are case-sensitive
//! (`rsip` accepts `invite`), and an extension method is reported as
//! [`ParseError::UnknownMethod`] together with the headers needed to answer `501`.
//! Finally a body longer than `Content-Length` is cut to it, as §18.3 says for
//! datagrams (stream transports frame by `Content-Length` before this point).

use std::borrow::Cow;

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
    let head = normalize_head(head)?;
    if let Some(method) = unknown_method(&head) {
        return Err(unknown_method_error(method, &head, body));
    }
    let mut message = match head {
        Cow::Borrowed(_) => rsip_parse_whole(bytes)?,
        Cow::Owned(head) => rsip_parse(&head, body)?,
    };
    truncate_body_to_content_length(&mut message);
    Ok(message)
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

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Rewrites folded lines, `Name : value` and compact names into `Name: value`.
/// Borrows the input when it is already in that shape (the common case).
fn normalize_head(head: &[u8]) -> Result<Cow<'_, [u8]>, ParseError> {
    let mut lines = head.split(|&b| b == b'\n');
    let start_line = lines.next().unwrap_or_default();
    let header_lines: Vec<&[u8]> = lines
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.is_empty())
        .collect();
    if header_lines.iter().all(|line| is_canonical(line)) {
        return Ok(Cow::Borrowed(head));
    }
    let mut out = Vec::with_capacity(head.len() + 64);
    out.extend_from_slice(start_line);
    out.push(b'\n');
    let mut current: Option<Vec<u8>> = None;
    for (index, line) in header_lines.iter().enumerate() {
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            let folded = current
                .as_mut()
                .ok_or(ParseError::MalformedHeaderLine { line: index + 2 })?;
            folded.push(b' ');
            folded.extend_from_slice(line.trim_ascii_start());
            continue;
        }
        if let Some(done) = current.take() {
            out.extend_from_slice(&done);
            out.extend_from_slice(b"\r\n");
        }
        current = Some(canonical_header_line(line, index + 2)?);
    }
    if let Some(done) = current {
        out.extend_from_slice(&done);
        out.extend_from_slice(b"\r\n");
    }
    Ok(Cow::Owned(out))
}

/// A line `rsip` reads as intended: `token ":" value` with a full header name.
fn is_canonical(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let name = &line[..colon];
    !name.is_empty() && name.iter().all(|&b| is_token_char(b)) && full_name(name).is_none()
}

fn canonical_header_line(line: &[u8], line_number: usize) -> Result<Vec<u8>, ParseError> {
    let malformed = ParseError::MalformedHeaderLine { line: line_number };
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(malformed.clone())?;
    let name = line[..colon].trim_ascii_end();
    if name.is_empty() || !name.iter().all(|&b| is_token_char(b)) {
        return Err(malformed);
    }
    let value = line[colon + 1..].trim_ascii_start();
    let mut canonical = Vec::with_capacity(line.len() + 16);
    canonical.extend_from_slice(full_name(name).map_or(name, str::as_bytes));
    canonical.extend_from_slice(b": ");
    canonical.extend_from_slice(value);
    Ok(canonical)
}

/// RFC 3261 §25.1 `token` characters.
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// The full name of a compact header name (RFC 3261 §7.3.3 and the IANA registry).
fn full_name(name: &[u8]) -> Option<&'static str> {
    let [letter] = name else { return None };
    Some(match letter.to_ascii_lowercase() {
        b'a' => "Accept-Contact",
        b'b' => "Referred-By",
        b'c' => "Content-Type",
        b'd' => "Request-Disposition",
        b'e' => "Content-Encoding",
        b'f' => "From",
        b'i' => "Call-ID",
        b'j' => "Reject-Contact",
        b'k' => "Supported",
        b'l' => "Content-Length",
        b'm' => "Contact",
        b'o' => "Event",
        b'r' => "Refer-To",
        b's' => "Subject",
        b't' => "To",
        b'u' => "Allow-Events",
        b'v' => "Via",
        b'x' => "Session-Expires",
        b'y' => "Identity",
        _ => return None,
    })
}

/// The method token of a request line when it is a token but not one we implement.
fn unknown_method(head: &[u8]) -> Option<&[u8]> {
    let space = head.iter().position(|&b| b == b' ')?;
    let method = &head[..space];
    let is_token = !method.is_empty() && method.iter().all(|&b| is_token_char(b));
    let is_response = head.starts_with(b"SIP/");
    let known = KNOWN_METHODS.iter().any(|known| known.as_bytes() == method);
    (is_token && !is_response && !known).then_some(method)
}

/// Parses the request as if its method were OPTIONS, to hand back its headers.
fn unknown_method_error(method: &[u8], head: &[u8], body: &[u8]) -> ParseError {
    let mut substituted = b"OPTIONS".to_vec();
    substituted.extend_from_slice(&head[method.len()..]);
    match rsip_parse(&substituted, body) {
        Ok(SipMessage::Request(request)) => ParseError::UnknownMethod {
            method: String::from_utf8_lossy(method).into_owned(),
            headers: Box::new(request.headers),
        },
        Ok(SipMessage::Response(_)) => ParseError::Malformed("not a request".into()),
        Err(error) => error,
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
    fn the_rfc_4475_extension_method_request_is_answerable_with_501() {
        assert!(matches!(
            parse_message(corpus::RFC4475_INTMETH),
            Err(ParseError::UnknownMethod { .. }) | Err(ParseError::Malformed(_))
        ));
    }

    #[test]
    fn an_rfc_2543_request_without_branch_cookie_parses() {
        assert_eq!(request(corpus::RFC4475_INV2543).method, Method::Invite);
    }

    #[test]
    fn a_request_uri_with_an_opaque_unknown_scheme_is_malformed_for_rsip() {
        assert!(matches!(
            parse_message(corpus::RFC4475_UNKSCM),
            Err(ParseError::Malformed(_))
        ));
    }

    #[test]
    fn a_nul_byte_in_a_header_value_does_not_break_parsing() {
        let parsed = parse_message(corpus::NUL_IN_HEADER);
        assert!(matches!(
            parsed,
            Ok(SipMessage::Request(_)) | Err(ParseError::Malformed(_))
        ));
    }
}
