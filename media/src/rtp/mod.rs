//! RTP and RTCP for kefu's media legs, sans-IO: the packet formats
//! ([`packet`], [`rtcp`]), the clocks RTCP needs ([`clock`]), receive
//! statistics per RFC 3550 appendix A ([`stats`]), the rewriting that gives a
//! relayed stream its own SSRC, sequence and timestamps ([`rewrite`]), and the
//! leg that joins them with symmetric-RTP latching ([`leg`]).
//!
//! The packet code is our own rather than webrtc-rs's `rtp`/`rtcp` crates:
//! those depend on `webrtc-util`, which brings tokio (with `parking_lot` and
//! `macros`), `nix`, `async-trait`, `lazy_static` and `serde` into a crate
//! that needs a 12-byte header reader. The parsers here read bounded slices
//! only and are property-tested on arbitrary bytes.

pub mod clock;
pub mod leg;
pub mod packet;
pub mod rewrite;
pub mod rtcp;
pub mod stats;
