//! Serializing messages to wire bytes.
//!
//! `rsip` 0.4's `Display` renders the body through `String::from_utf8_lossy`, so a
//! body that is not UTF-8 (binary multipart parts, a Latin-1 SDP) comes out with
//! replacement characters and no longer matches its `Content-Length`. Here the
//! start line and headers are rendered by `rsip` and the body is copied verbatim.

use bytes::Bytes;
use rsip::{Request, Response, SipMessage};

/// The wire form of `message`.
pub fn encode(message: &SipMessage) -> Bytes {
    match message {
        SipMessage::Request(request) => encode_request(request),
        SipMessage::Response(response) => encode_response(response),
    }
}

/// The wire form of `request`, its body byte for byte.
pub fn encode_request(request: &Request) -> Bytes {
    let head = format!(
        "{} {} {}\r\n{}\r\n",
        request.method, request.uri, request.version, request.headers
    );
    with_body(head, &request.body)
}

/// The wire form of `response`, its body byte for byte.
pub fn encode_response(response: &Response) -> Bytes {
    let head = format!(
        "{} {}\r\n{}\r\n",
        response.version, response.status_code, response.headers
    );
    with_body(head, &response.body)
}

fn with_body(head: String, body: &[u8]) -> Bytes {
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    Bytes::from(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{corpus, parse_message};

    #[test]
    fn a_parsed_message_encodes_back_to_the_same_bytes() {
        for bytes in [corpus::INVITE, corpus::REGISTER, corpus::RESPONSE_180] {
            let message = parse_message(bytes).unwrap();
            assert_eq!(encode(&message), bytes);
        }
    }

    #[test]
    fn a_body_that_is_not_utf8_is_kept_byte_for_byte() {
        let mut bytes = b"MESSAGE sip:kefu SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nContent-Length: 4\r\n\r\n".to_vec();
        bytes.extend_from_slice(&[0xff, 0x00, 0xe9, 0x80]);
        let message = parse_message(&bytes).unwrap();
        assert_eq!(encode(&message), bytes);
        assert_ne!(
            message.to_string().as_bytes(),
            bytes,
            "rsip's Display is lossy"
        );
    }
}
