//! `kefu-signaling`: kefu's SIP stack on `rsip` types.
//!
//! It will own the transports (UDP, TCP, TLS, WebSocket per RFC 7118), the sans-IO
//! transaction layer (RFC 3261 §17 with the RFC 6026 fixes), dialogs, the registrar
//! with digest authentication, SDP offer/answer and B2BUA leg pairing. It does not
//! know about media, queues or storage: call control in the `kefu` binary joins it
//! to those.
