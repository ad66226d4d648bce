//! The `Reason` header (RFC 3326): why a BYE or CANCEL was sent — read off
//! a peer's request (for a call's record, and to pass on to the other side
//! of a B2BUA), and written on requests the stack's user sends. The value
//! is kept as text (`SIP;cause=200;text="Call completed elsewhere"`,
//! `Q.850;cause=16;text="Normal call clearing"`); reading never fails.

use rsip::{Header, Request};

/// The `Reason` of a CANCEL sent to the other forks when one answered
/// (RFC 3326 §2, RFC 3261 §16.7 point 10's practice).
pub const COMPLETED_ELSEWHERE: &str = "SIP;cause=200;text=\"Call completed elsewhere\"";

/// The longest `Reason` kept, in bytes; anything longer is cut at a char
/// boundary (the value comes from the network).
const MAX_REASON: usize = 256;

/// The request's `Reason` headers, comma-joined in order, control
/// characters dropped and at most 256 bytes; `None` without one.
pub fn reason(request: &Request) -> Option<String> {
    let values: Vec<&str> = request
        .headers
        .iter()
        .filter_map(|header| match header {
            Header::Other(name, value) if name.eq_ignore_ascii_case("Reason") => Some(value.trim()),
            _ => None,
        })
        .filter(|value| !value.is_empty())
        .collect();
    if values.is_empty() {
        return None;
    }
    let mut joined = String::new();
    for c in values.join(", ").chars().filter(|c| !c.is_control()) {
        if joined.len() + c.len_utf8() > MAX_REASON {
            break;
        }
        joined.push(c);
    }
    Some(joined)
}

/// A `Reason` header with `value`.
pub fn reason_header(value: &str) -> Header {
    Header::Other("Reason".into(), value.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bye(extra: &str) -> Request {
        let text = format!(
            "BYE sip:kefu@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bK1\r\nTo: <sip:kefu@192.0.2.1>;tag=a\r\nFrom: <sip:c@x>;tag=b\r\nCall-ID: c\r\nCSeq: 2 BYE\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        Request::try_from(text.as_bytes()).unwrap()
    }

    #[test]
    fn every_reason_is_read_in_order() {
        let request = bye(
            "Reason: Q.850;cause=16;text=\"Normal call clearing\"\r\nreason: SIP;cause=200\r\n",
        );
        assert_eq!(
            reason(&request).as_deref(),
            Some("Q.850;cause=16;text=\"Normal call clearing\", SIP;cause=200")
        );
        assert_eq!(reason(&bye("")), None);
    }

    #[test]
    fn a_huge_reason_is_cut_on_a_char_boundary() {
        let long = format!("Reason: SIP;text=\"{}\"\r\n", "é".repeat(400));
        let value = reason(&bye(&long)).unwrap();
        assert!(
            value.len() <= 256 && value.starts_with("SIP;text=\"é"),
            "{value}"
        );
    }

    #[test]
    fn the_header_round_trips() {
        let header = reason_header(COMPLETED_ELSEWHERE);
        assert_eq!(
            header.to_string(),
            "Reason: SIP;cause=200;text=\"Call completed elsewhere\""
        );
    }
}
