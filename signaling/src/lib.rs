//! `kefu-signaling`: kefu's SIP stack on `rsip` types.
//!
//! It owns SIP message handling ([`message`]: parsing that never panics, request
//! validation with precise errors), the sans-IO transaction layer
//! ([`transaction`]: RFC 3261 §17 with the RFC 6026 fixes), a minimal UAS core
//! ([`uas`]: OPTIONS, error answers, 501 for the rest) and the tokio [`driver`]
//! that serves it on UDP and TCP. It will also own TLS and WebSocket (RFC 7118)
//! transports, dialogs, the registrar with digest authentication, SDP
//! offer/answer and B2BUA leg pairing. It does not know about media, queues or
//! storage: call control in the `kefu` binary joins it to those. Outside
//! [`driver`], nothing reads a socket or a clock: time comes in as a parameter.

pub mod driver;
pub mod message;
pub mod transaction;
pub mod uas;
