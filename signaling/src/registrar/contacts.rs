//! Reading what a REGISTER asks for (RFC 3261 §10.2, §20.10, §20.19): the
//! Contact header fields — several per header, several headers, or `*` — each
//! with its `expires` parameter, and the `Expires` header.
//!
//! Contact values are split and read here rather than by `rsip`, which takes one
//! contact per header and chokes on quoted parameters such as `+sip.instance`.
//! A contact URI is kept as the text the phone sent; it must be a `sip:` or
//! `sips:` URI. Delta-seconds above 2**32-1 are read as 2**32-1 (§20.19, RFC 4475
//! scalar02). Problems come back as [`RequestError`]s, answered with 400.

use rsip::headers::UntypedHeader;
use rsip::{Header, Request};

use crate::message::RequestError;

/// What the Contact header fields of a REGISTER ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RequestedContacts {
    /// No Contact: a query for the current bindings.
    Query,
    /// `Contact: *`: remove every binding (valid only with `Expires: 0`).
    Wildcard,
    /// Add, refresh or remove these.
    Contacts(Vec<RequestedContact>),
}

/// One contact of a REGISTER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestedContact {
    /// The contact URI, as sent.
    pub(crate) uri: String,
    /// Its `expires` parameter, in seconds.
    pub(crate) expires: Option<u32>,
}

/// The Contact header fields of `request`.
pub(crate) fn requested_contacts(request: &Request) -> Result<RequestedContacts, RequestError> {
    let mut contacts = Vec::new();
    let mut wildcard = false;
    for header in request.headers.iter() {
        let Header::Contact(contact) = header else {
            continue;
        };
        for value in split_outside_quotes(contact.value(), b',') {
            let value = value.trim();
            if value == "*" {
                wildcard = true;
            } else {
                contacts.push(parse_contact(value)?);
            }
        }
    }
    match (wildcard, contacts.is_empty()) {
        (false, true) => Ok(RequestedContacts::Query),
        (false, false) => Ok(RequestedContacts::Contacts(contacts)),
        (true, true) => Ok(RequestedContacts::Wildcard),
        (true, false) => Err(invalid("Contact", "`*` must be the only contact")),
    }
}

/// The `Expires` header of `request`, in seconds.
pub(crate) fn expires_header(request: &Request) -> Result<Option<u32>, RequestError> {
    let mut values = request.headers.iter().filter_map(|header| match header {
        Header::Expires(expires) => Some(expires.value()),
        _ => None,
    });
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(RequestError::DuplicateHeader("Expires"));
    }
    delta_seconds(value.trim())
        .map(Some)
        .ok_or_else(|| invalid("Expires", "not delta-seconds"))
}

fn parse_contact(value: &str) -> Result<RequestedContact, RequestError> {
    let (uri, params) = match find_outside_quotes(value, b'<') {
        Some(open) => {
            let after = &value[open + 1..];
            let close = after
                .find('>')
                .ok_or_else(|| invalid("Contact", "`<` without `>`"))?;
            (&after[..close], &after[close + 1..])
        }
        None => match value.find(';') {
            Some(semicolon) => (&value[..semicolon], &value[semicolon..]),
            None => (value, ""),
        },
    };
    let uri = uri.trim();
    if !is_sip_uri(uri) {
        return Err(invalid("Contact", "contact is not a sip: or sips: URI"));
    }
    let mut expires = None;
    for param in split_outside_quotes(params, b';') {
        let (name, param_value) = match param.split_once('=') {
            Some((name, param_value)) => (name.trim(), Some(param_value.trim())),
            None => (param.trim(), None),
        };
        if name.eq_ignore_ascii_case("expires") && expires.is_none() {
            let seconds = param_value.and_then(delta_seconds);
            expires =
                Some(seconds.ok_or_else(|| invalid("Contact", "expires is not delta-seconds"))?);
        }
    }
    Ok(RequestedContact {
        uri: uri.to_owned(),
        expires,
    })
}

fn is_sip_uri(uri: &str) -> bool {
    let lower = uri.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("sip:")
        .or_else(|| lower.strip_prefix("sips:"));
    rest.is_some_and(|rest| {
        !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b"<>\"".contains(&b))
    })
}

/// Delta-seconds: digits, saturating at 2**32-1.
fn delta_seconds(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse::<u32>().unwrap_or(u32::MAX))
}

/// Byte offset of the first `wanted` outside double quotes.
fn find_outside_quotes(value: &str, wanted: u8) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (at, byte) in value.bytes().enumerate() {
        match byte {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            _ if byte == wanted && !quoted => return Some(at),
            _ => {}
        }
    }
    None
}

/// Splits on `separator` outside double quotes and angle brackets.
fn split_outside_quotes(value: &str, separator: u8) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    let mut in_angle = false;
    for (at, byte) in value.bytes().enumerate() {
        match byte {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b'<' if !quoted => in_angle = true,
            b'>' if !quoted => in_angle = false,
            _ if byte == separator && !quoted && !in_angle => {
                parts.push(&value[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts.retain(|part| !part.trim().is_empty());
    parts
}

fn invalid(header: &'static str, detail: &str) -> RequestError {
    RequestError::InvalidHeader {
        header,
        detail: detail.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::parse_message;
    use proptest::prelude::*;
    use rsip::SipMessage;

    fn register_with(headers: &str) -> Request {
        let bytes = format!(
            "REGISTER sip:kefu.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bK1\r\n\
             Max-Forwards: 70\r\nTo: <sip:1001@kefu.example.com>\r\nFrom: <sip:1001@kefu.example.com>;tag=1\r\n\
             Call-ID: c1\r\nCSeq: 1 REGISTER\r\n{headers}Content-Length: 0\r\n\r\n"
        );
        match parse_message(bytes.as_bytes()) {
            Ok(SipMessage::Request(request)) => request,
            other => panic!("not a request: {other:?}"),
        }
    }

    fn contact(uri: &str, expires: Option<u32>) -> RequestedContact {
        RequestedContact {
            uri: uri.into(),
            expires,
        }
    }

    #[test]
    fn no_contact_is_a_query() {
        assert_eq!(
            requested_contacts(&register_with("")),
            Ok(RequestedContacts::Query)
        );
    }

    #[test]
    fn contacts_in_one_header_and_in_several_are_all_read() {
        let request = register_with(
            "Contact: \"Desk, left\" <sip:1001@192.0.2.20:5060;transport=udp>;expires=600;+sip.instance=\"<urn:uuid:1,2>\", <sip:1001@192.0.2.21>\r\n\
             m: sip:1001@192.0.2.22;expires=0\r\n",
        );
        assert_eq!(
            requested_contacts(&request),
            Ok(RequestedContacts::Contacts(vec![
                contact("sip:1001@192.0.2.20:5060;transport=udp", Some(600)),
                contact("sip:1001@192.0.2.21", None),
                contact("sip:1001@192.0.2.22", Some(0)),
            ]))
        );
    }

    #[test]
    fn a_wildcard_must_stand_alone() {
        assert_eq!(
            requested_contacts(&register_with("Contact: *\r\n")),
            Ok(RequestedContacts::Wildcard)
        );
        assert!(
            requested_contacts(&register_with("Contact: *, <sip:1001@192.0.2.20>\r\n")).is_err()
        );
    }

    #[test]
    fn malformed_contacts_are_invalid_headers() {
        for bad in [
            "Contact: <sip:1001@192.0.2.20\r\n",
            "Contact: <http://example.com>\r\n",
            "Contact: <sip:1001@192.0.2.20>;expires=soon\r\n",
            "Contact: <sip:1001@192.0.2.20>;expires\r\n",
        ] {
            assert!(
                matches!(
                    requested_contacts(&register_with(bad)),
                    Err(RequestError::InvalidHeader {
                        header: "Contact",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn expires_is_read_and_overlarge_values_saturate() {
        assert_eq!(expires_header(&register_with("")), Ok(None));
        assert_eq!(
            expires_header(&register_with("Expires: 300\r\n")),
            Ok(Some(300))
        );
        assert_eq!(
            expires_header(&register_with(
                "Expires: 1298717983098409809809808098098\r\n"
            )),
            Ok(Some(u32::MAX))
        );
        assert!(expires_header(&register_with("Expires: -1\r\n")).is_err());
    }

    proptest! {
        #[test]
        fn any_contact_value_parses_or_fails_without_panicking(value in "[ -~]{0,120}") {
            for part in split_outside_quotes(&value, b',') {
                let _ = parse_contact(part.trim());
            }
        }
    }
}
