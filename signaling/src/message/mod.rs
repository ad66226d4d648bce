//! SIP messages: parsing untrusted bytes ([`parse_message`]), checking a request
//! against RFC 3261 §8.2 ([`validate_request`]), stamping where a request came
//! from on its top Via ([`stamp_received`], RFC 3581) and building the messages the stack
//! originates itself ([`response_to`], [`response_to_headers`], [`error_response`],
//! [`ack_for_non_2xx`], [`cancel_for`]), and serializing them byte-exact
//! ([`encode`]), and the `Reason` of a BYE or CANCEL ([`reason`], RFC 3326).
//! The message types are `rsip`'s.

mod build;
#[cfg(test)]
pub(crate) mod corpus;
mod encode;
#[cfg(test)]
pub(crate) mod malformed;
mod normalize;
mod parse;
mod reason;
mod received;
mod validate;

#[cfg(test)]
mod never_panics;

pub use build::{
    ack_for_non_2xx, add_to_tag, cancel_for, error_response, response_to, response_to_headers,
    warning,
};
pub use encode::{encode, encode_request, encode_response};
pub use parse::{MAX_MESSAGE_SIZE, ParseError, parse_message};
pub use reason::{COMPLETED_ELSEWHERE, reason, reason_header};
pub use received::stamp_received;
pub use validate::{RequestError, validate_request};
