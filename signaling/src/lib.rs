//! `kefu-signaling`: kefu's SIP stack on `rsip` types.
//!
//! It owns SIP message handling ([`message`]: parsing that never panics, request
//! validation with precise errors), the sans-IO transaction layer
//! ([`transaction`]: RFC 3261 §17 with the RFC 6026 fixes), dialogs
//! ([`dialog`]: RFC 3261 §12), the UAS core ([`uas`]: OPTIONS, error answers,
//! and the call pathway that hands INVITE sessions and B-legs to call
//! control), digest authentication and per-address defences ([`auth`]), the
//! registrar ([`registrar`]: RFC 3261 §10.3 bindings with expiry and a change
//! list for storage) and the tokio [`driver`] that serves it on UDP, TCP and
//! TLS, and on connections opened from outside (SIP over WebSocket, RFC 7118:
//! the HTTP server does the WebSocket handshake and hands each message to a
//! [`driver::Connection`]). It does not know about media (SDP offer/answer
//! lives in `kefu-media`), queues or storage: call control in the `kefu`
//! binary joins it to
//! those. Outside [`driver`], nothing reads a socket or a clock: time comes in as
//! a parameter, and so does randomness.

pub mod auth;
pub mod dialog;
pub mod driver;
pub mod message;
pub mod registrar;
pub mod transaction;
pub mod uas;
