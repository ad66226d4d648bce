//! The WebRTC gateway: one browser's WebRTC audio session (ICE, DTLS-SRTP,
//! Opus or G.711) turned into a plain-RTP peer that the rest of the engine —
//! relay, endpoint, conference, recorder — treats like a SIP phone. The
//! browser's offer is read once ([`offer`]: which codec, which
//! telephone-event), and a sans-IO [`gateway::Gateway`] answers it and then
//! moves packets between the two sides one for one: SRTP from the browser
//! leaves decrypted as plain RTP with the same payload type, sequence number,
//! timestamp and SSRC, and plain RTP from the engine is encrypted towards the
//! browser. Nothing is transcoded here: the negotiated codec and payload
//! types are exposed so that call control configures the engine's leg for
//! them. RTCP is terminated on each side.
//!
//! The protocol stack is `str0m` rather than webrtc-rs: it is sans-IO like
//! kefu's own cores (one `Rtc` value fed datagrams and the time, drained
//! until it names its next timeout; no sockets, tasks or clock inside), it
//! has an ICE-lite server mode (a media server with host candidates only,
//! no gathering or TURN), and its RTP mode hands over raw RTP packets
//! instead of reassembled frames, which is what packet-for-packet
//! forwarding needs. webrtc-rs is a port of Pion's callback-and-task design:
//! it owns its sockets and spawns tasks per connection, which would put a
//! second runtime model inside the media engine. str0m's DTLS runs on the
//! system OpenSSL (`libssl-dev`), not its default aws-lc-rs, which builds a
//! C crypto library with cmake. [`crate::driver::webrtc_task`] runs a gateway
//! on two UDP port pairs.

pub mod gateway;
pub mod offer;
