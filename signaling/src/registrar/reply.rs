//! The responses the registrar sends: built from the REGISTER with
//! [`crate::message::response_to`], plus the To tag every final response needs
//! (RFC 3261 §8.2.6.2).

use rsip::headers::{Contact, UntypedHeader};
use rsip::{Header, Request, Response};

use crate::message::{RequestError, error_response, response_to};

/// A response to `request` with a To tag.
pub(super) fn reply(request: &Request, code: u16, reason: &str, to_tag: &str) -> Response {
    with_to_tag(response_to(request, code, reason), to_tag)
}

/// The 4xx for a request error, with its `Warning`, and a To tag.
pub(super) fn reply_error(request: &Request, error: &RequestError, to_tag: &str) -> Response {
    with_to_tag(error_response(request, error), to_tag)
}

/// A `Contact` header listing one binding with its remaining seconds.
pub(super) fn contact_header(uri: &str, remaining_seconds: u64) -> Header {
    Header::Contact(Contact::new(format!("<{uri}>;expires={remaining_seconds}")))
}

fn with_to_tag(mut response: Response, to_tag: &str) -> Response {
    for header in response.headers.iter_mut() {
        if let Header::To(to) = header {
            let value = to.value();
            if !value.to_ascii_lowercase().contains(";tag=") {
                *header = Header::To(rsip::headers::To::new(format!("{value};tag={to_tag}")));
            }
        }
    }
    response
}
