//! `kefu-signaling`: kefu's SIP stack on `rsip` types.
//!
//! It owns SIP message handling ([`message`]: parsing that never panics, request
//! validation with precise errors), the sans-IO transaction layer
//! ([`transaction`]: RFC 3261 §17 with the RFC 6026 fixes), digest
//! authentication and per-address defences ([`auth`]), and the registrar
//! ([`registrar`]: RFC 3261 §10.3 bindings with expiry and a change list for
//! storage). It will also own the transports (UDP, TCP, TLS, WebSocket per RFC
//! 7118), dialogs, SDP offer/answer and B2BUA leg pairing. It does not know about
//! media, queues or storage: call control in the `kefu` binary joins it to those.
//! Nothing here reads a socket or a clock: time comes in as a parameter, and so
//! does randomness.

pub mod auth;
pub mod message;
pub mod registrar;
pub mod transaction;
