//! The final responses the minimal UAS core gives to requests that passed
//! validation: `200 OK` to OPTIONS with what we accept and allow (RFC 3261
//! §11.2), `481` to a CANCEL, `501 Not Implemented` to everything else the
//! core does not hand on (REGISTER goes to the registrar when one is attached). Each
//! carries a To tag (§8.2.6.2).

use rsip::headers::{Accept, Allow, UntypedHeader};
use rsip::{Header, Method, Request, Response};

use crate::message::{add_to_tag, response_to};

/// The methods the core always answers, for `Allow`.
pub const ALLOWED_METHODS: &str = "OPTIONS, ACK, CANCEL";

/// Added when the registrar is on.
pub const REGISTER_METHODS: &str = "REGISTER";

/// Added when call control is on.
pub const CALL_METHODS: &str = "INVITE, BYE, INFO, UPDATE";

/// The body types we accept, for `Accept`.
pub const ACCEPTED_BODIES: &str = "application/sdp";

/// The final response to a valid request other than CANCEL (and REGISTER,
/// when `registers` says the registrar takes those).
pub fn answer(request: &Request, to_tag: &str, registers: bool, calls: bool) -> Response {
    let mut response = match request.method {
        Method::Options => {
            let mut ok = response_to(request, 200, "OK");
            let mut allowed = vec![ALLOWED_METHODS];
            if registers {
                allowed.push(REGISTER_METHODS);
            }
            if calls {
                allowed.push(CALL_METHODS);
            }
            ok.headers
                .push(Header::Allow(Allow::new(allowed.join(", "))));
            ok.headers
                .push(Header::Accept(Accept::new(ACCEPTED_BODIES)));
            ok
        }
        _ => response_to(request, 501, "Not Implemented"),
    };
    add_to_tag(&mut response, to_tag);
    response
}

/// The answer to a CANCEL: no INVITE is ever pending here (every INVITE is
/// answered at once), so there is nothing to cancel.
pub fn answer_cancel(cancel: &Request, to_tag: &str) -> Response {
    let mut response = response_to(cancel, 481, "Call/Transaction Does Not Exist");
    add_to_tag(&mut response, to_tag);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::corpus::request;
    use crate::message::{corpus, encode_response};

    fn text(response: &Response) -> String {
        String::from_utf8(encode_response(response).to_vec()).unwrap()
    }

    #[test]
    fn options_is_answered_200_with_allow_and_accept() {
        let ok = text(&answer(&request(corpus::OPTIONS), "t1", false, false));
        assert!(ok.starts_with("SIP/2.0 200 OK\r\n"), "{ok}");
        assert!(ok.contains("Allow: OPTIONS, ACK, CANCEL\r\n"), "{ok}");
        assert!(ok.contains("Accept: application/sdp\r\n"), "{ok}");
        assert!(ok.contains("To: <sip:kefu.example.com>;tag=t1\r\n"), "{ok}");
    }

    #[test]
    fn other_methods_are_not_implemented_yet() {
        for bytes in [corpus::INVITE, corpus::REGISTER, corpus::BYE] {
            let response = answer(&request(bytes), "t1", false, false);
            assert_eq!(response.status_code.code(), 501);
        }
    }

    #[test]
    fn a_cancel_matches_nothing() {
        let cancel = crate::message::cancel_for(&request(corpus::INVITE));
        assert_eq!(answer_cancel(&cancel, "t1").status_code.code(), 481);
    }
}
