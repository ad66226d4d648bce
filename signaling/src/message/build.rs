//! Building the messages the stack itself originates from a request it holds:
//! responses (RFC 3261 §8.2.6), the ACK for a non-2xx final response (§17.1.1.3)
//! and a CANCEL (§9.1).
//!
//! Each copies exactly the headers the RFC names; nothing here parses bytes.

use rsip::headers::{ContentLength, MaxForwards, To, Unsupported, UntypedHeader, Warning};
use rsip::{Header, Headers, Method, Request, Response, StatusCode, Version};

use super::validate::{RequestError, printable};

/// The agent name we put in `Warning` headers (RFC 3261 §20.43).
const WARN_AGENT: &str = "kefu";

/// A response to `request` with the given status: Via, From, To, Call-ID and CSeq
/// copied (§8.2.6.2), no body. The TU adds a To tag where a dialog needs one.
pub fn response_to(request: &Request, code: u16, reason: &str) -> Response {
    response_to_headers(&request.headers, code, reason)
}

/// A response built from a request's headers alone, for a request `rsip` cannot
/// represent: [`super::ParseError::UnknownMethod`] → `501 Not Implemented`,
/// [`super::ParseError::UnsupportedUriScheme`] → `416 Unsupported URI Scheme`.
pub fn response_to_headers(request_headers: &Headers, code: u16, reason: &str) -> Response {
    let mut headers: Vec<Header> = request_headers
        .iter()
        .filter(|header| {
            matches!(
                header,
                Header::Via(_)
                    | Header::From(_)
                    | Header::To(_)
                    | Header::CallId(_)
                    | Header::CSeq(_)
            )
        })
        .cloned()
        .collect();
    headers.push(Header::ContentLength(ContentLength::new("0")));
    Response {
        status_code: StatusCode::Other(code, reason.to_owned()),
        version: Version::V2,
        headers: headers.into(),
        body: Vec::new(),
    }
}

/// Adds `;tag=<tag>` to the To header (RFC 3261 §8.2.6.2) unless it has a tag
/// already (or does not parse, in which case it is left as received).
pub fn add_to_tag(response: &mut Response, tag: &str) {
    for header in response.headers.iter_mut() {
        if let Header::To(to) = header {
            if matches!(to.tag(), Ok(None)) {
                *to = To::new(format!("{};tag={tag}", to.value()));
            }
        }
    }
}

/// The answer to a request that failed validation: its status and reason, a
/// `Warning: 399 kefu "<what was wrong>"`, and `Unsupported` for a 420. Text
/// echoed from the request loses its control characters, quotes and
/// backslashes, so that it cannot end the header or the quoted string.
pub fn error_response(request: &Request, error: &RequestError) -> Response {
    let mut response = response_to(request, error.status_code(), &error.reason_phrase());
    response.headers.push(warning(&error.to_string()));
    if let RequestError::UnsupportedExtensions(tags) = error {
        response
            .headers
            .push(Header::Unsupported(Unsupported::new(tags.join(", "))));
    }
    response
}

/// A `Warning: 399 kefu "…"` header (RFC 3261 §20.43) saying `text`, made safe
/// to quote: control characters become spaces, `"` and `\\` are replaced, and it
/// is cut at 200 characters.
pub fn warning(text: &str) -> Header {
    let text: String = printable(text)
        .replace('"', "'")
        .replace('\\', "/")
        .chars()
        .take(200)
        .collect();
    Header::Warning(Warning::new(format!("399 {WARN_AGENT} \"{text}\"")))
}

/// The ACK a client INVITE transaction sends for a non-2xx final response
/// (§17.1.1.3): Request-URI, Call-ID, From, top Via and Route of the INVITE, the To
/// of the response, the INVITE's CSeq number with method ACK.
pub fn ack_for_non_2xx(invite: &Request, response: &Response) -> Request {
    let mut headers = Headers::default();
    if let Some(via) = invite.headers.iter().find(|h| matches!(h, Header::Via(_))) {
        headers.push(via.clone());
    }
    headers.push(Header::MaxForwards(MaxForwards::new("70")));
    for header in invite.headers.iter() {
        if matches!(
            header,
            Header::From(_) | Header::CallId(_) | Header::Route(_)
        ) {
            headers.push(header.clone());
        }
    }
    for header in response.headers.iter() {
        if matches!(header, Header::To(_)) {
            headers.push(header.clone());
        }
    }
    headers.extend(cseq_with_method(invite, Method::Ack));
    headers.push(Header::ContentLength(ContentLength::new("0")));
    Request {
        method: Method::Ack,
        uri: invite.uri.clone(),
        version: Version::V2,
        headers,
        body: Vec::new(),
    }
}

/// The CANCEL for `request` (§9.1): same Request-URI, Call-ID, To, From, Route and
/// CSeq number, and a single Via equal to the request's top Via (same branch).
pub fn cancel_for(request: &Request) -> Request {
    let mut headers = Headers::default();
    if let Some(via) = request.headers.iter().find(|h| matches!(h, Header::Via(_))) {
        headers.push(via.clone());
    }
    headers.push(Header::MaxForwards(MaxForwards::new("70")));
    for header in request.headers.iter() {
        if matches!(
            header,
            Header::From(_) | Header::To(_) | Header::CallId(_) | Header::Route(_)
        ) {
            headers.push(header.clone());
        }
    }
    headers.extend(cseq_with_method(request, Method::Cancel));
    headers.push(Header::ContentLength(ContentLength::new("0")));
    Request {
        method: Method::Cancel,
        uri: request.uri.clone(),
        version: Version::V2,
        headers,
        body: Vec::new(),
    }
}

/// The request's CSeq header with its method replaced; kept verbatim if unparsable.
fn cseq_with_method(request: &Request, method: Method) -> Vec<Header> {
    request
        .headers
        .iter()
        .filter_map(|header| match header {
            Header::CSeq(cseq) => {
                let mut cseq = cseq.clone();
                let replaced = cseq.mut_method(method).is_ok();
                Some(if replaced {
                    Header::CSeq(cseq)
                } else {
                    header.clone()
                })
            }
            _ => None,
        })
        .take(1)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::corpus::request;
    use crate::message::{corpus, encode_response, parse_message, validate_request};
    use rsip::SipMessage;
    use rsip::headers::ToTypedHeader;
    use rsip::message::HeadersExt;

    fn reparsed_response(response: Response) -> Response {
        match parse_message(response.to_string().as_bytes()) {
            Ok(SipMessage::Response(response)) => response,
            other => panic!("our own response does not parse: {other:?}"),
        }
    }

    #[test]
    fn a_response_copies_the_transaction_headers_and_nothing_else() {
        let invite = request(corpus::INVITE);
        let response = reparsed_response(response_to(&invite, 180, "Ringing"));
        assert_eq!(response.status_code.code(), 180);
        assert_eq!(response.via_header().unwrap(), invite.via_header().unwrap());
        assert_eq!(
            response.call_id_header().unwrap(),
            invite.call_id_header().unwrap()
        );
        assert_eq!(
            response.cseq_header().unwrap(),
            invite.cseq_header().unwrap()
        );
        assert!(response.contact_header().is_err());
        assert!(response.body.is_empty());
    }

    #[test]
    fn an_extension_method_can_be_answered_501_from_its_headers() {
        let bytes = b"FOO sip:kefu SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nCall-ID: x\r\nCSeq: 1 FOO\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:kefu>\r\n\r\n";
        let Err(crate::message::ParseError::UnknownMethod { headers, .. }) = parse_message(bytes)
        else {
            panic!("expected an unknown method");
        };
        let text = response_to_headers(&headers, 501, "Not Implemented").to_string();
        assert!(text.starts_with("SIP/2.0 501 Not Implemented\r\n"));
        assert!(text.contains("CSeq: 1 FOO\r\n"));
        assert!(text.contains("Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\n"));
    }

    #[test]
    fn a_validation_error_becomes_a_400_with_a_warning() {
        let options = request(corpus::RFC4475_MISMATCH01);
        let error = validate_request(&options, &[]).unwrap_err();
        let text = error_response(&options, &error).to_string();
        assert!(text.starts_with(
            "SIP/2.0 400 Bad Request (CSeq method INVITE does not match request method OPTIONS)\r\n"
        ));
        assert!(text.contains(
            "Warning: 399 kefu \"CSeq method INVITE does not match request method OPTIONS\"\r\n"
        ));
    }

    #[test]
    fn a_warning_cannot_be_broken_by_what_the_request_echoes() {
        let options = request(corpus::OPTIONS);
        let error = RequestError::InvalidHeader {
            header: "To",
            detail: "\"a\\\r\nInjected: yes\\".into(),
        };
        let response = error_response(&options, &error);
        let text = encode_response(&response);
        let reparsed = reparsed_response(response);
        assert_eq!(reparsed.status_code.code(), 400);
        let text = String::from_utf8(text.to_vec()).unwrap();
        assert!(!text.contains("\r\nInjected"), "{text}");
        assert!(
            text.contains("Warning: 399 kefu \"malformed To header: 'a/  Injected: yes/\"\r\n"),
            "{text}"
        );
    }

    #[test]
    fn a_bad_extension_answer_lists_the_unsupported_tags() {
        let options = request(corpus::OPTIONS);
        let error = RequestError::UnsupportedExtensions(vec!["100rel".into()]);
        let text = error_response(&options, &error).to_string();
        assert!(text.starts_with("SIP/2.0 420 Bad Extension\r\n"));
        assert!(text.contains("Unsupported: 100rel\r\n"));
    }

    #[test]
    fn the_ack_for_a_non_2xx_takes_the_to_tag_from_the_response() {
        let invite = request(corpus::INVITE);
        let mut busy = response_to(&invite, 486, "Busy Here");
        busy.headers.retain(|h| !matches!(h, Header::To(_)));
        busy.headers.push(Header::To(rsip::headers::To::new(
            "<sip:4000@kefu.example.com>;tag=busy1",
        )));
        let ack = ack_for_non_2xx(&invite, &busy);
        assert_eq!(ack.method, Method::Ack);
        assert_eq!(ack.uri, invite.uri);
        assert_eq!(ack.via_header().unwrap(), invite.via_header().unwrap());
        assert_eq!(
            ack.to_header().unwrap().tag().unwrap().unwrap().value(),
            "busy1"
        );
        let cseq = ack.cseq_header().unwrap().typed().unwrap();
        assert_eq!((cseq.seq, cseq.method), (314159, Method::Ack));
        assert!(ack.body.is_empty());
        assert_eq!(validate_request(&ack, &[]), Ok(()));
    }

    #[test]
    fn a_cancel_keeps_the_branch_and_cseq_number_of_the_request() {
        let invite = request(corpus::INVITE);
        let cancel = cancel_for(&invite);
        assert_eq!(cancel.method, Method::Cancel);
        assert_eq!(cancel.via_header().unwrap(), invite.via_header().unwrap());
        assert_eq!(cancel.to_header().unwrap(), invite.to_header().unwrap());
        let cseq = cancel.cseq_header().unwrap().typed().unwrap();
        assert_eq!((cseq.seq, cseq.method), (314159, Method::Cancel));
        assert_eq!(validate_request(&cancel, &[]), Ok(()));
    }

    #[test]
    fn an_existing_to_tag_is_kept() {
        let mut response = response_to(&request(corpus::ACK), 200, "OK");
        add_to_tag(&mut response, "new");
        let ok = String::from_utf8(encode_response(&response).to_vec()).unwrap();
        assert!(ok.contains(";tag=8321234356\r\n"), "{ok}");
        assert!(!ok.contains("tag=new"), "{ok}");
    }
}
