//! SDP (RFC 4566) and the offer/answer model (RFC 3264) for kefu's audio:
//! [`SessionDescription::parse`] reads an offer or answer, [`negotiate`]
//! chooses a codec, telephone-events and directions for our answer,
//! [`answer`] writes that answer, [`offer`] writes our own offer (B-legs,
//! re-INVITE hold) and [`accept_answer`] reads the answer to it. Only the
//! first audio stream is ever used; every other stream is kept as a
//! [`MediaLine`] so that the answer can reject it with port 0.
//!
//! The parser is our own rather than webrtc-rs's `sdp` or Mozilla's
//! `webrtc-sdp`. `sdp` enforces RFC 4566's line order as a state machine
//! (SIP phones and trunks misorder lines), and brings `url`, `rand`,
//! `substring` and a second `thiserror` major; `webrtc-sdp` is MPL-2.0, needs
//! Rust 1.88 (the workspace is on 1.85) and targets the WebRTC/JSEP subset.
//! What kefu reads is small — `v=`, `o=`, `c=`, `m=` and a handful of
//! attributes — and is read by splitting lines and fields, without indexing, so
//! that no input can panic (property-tested here, and the `sdp` fuzz target).
//! Lines and attributes kefu does not use are skipped; what it does use is
//! checked, and an error says which line was wrong and how.

mod negotiate;
mod parse;
#[cfg(test)]
mod samples;
mod write;

use std::net::SocketAddr;

pub use negotiate::{Negotiated, NegotiationError, accept_answer, negotiate};
pub use parse::SdpError;
pub use write::{answer, offer};

/// The codecs kefu speaks, and RFC 4733 telephone-events (DTMF).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    Pcmu,
    Pcma,
    Opus,
    TelephoneEvent,
}

impl Codec {
    /// The encoding name in `a=rtpmap` (matched case-insensitively).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Pcmu => "PCMU",
            Self::Pcma => "PCMA",
            Self::Opus => "opus",
            Self::TelephoneEvent => "telephone-event",
        }
    }

    /// The RTP clock rate in Hz.
    pub const fn clock_rate(self) -> u32 {
        match self {
            Self::Pcmu | Self::Pcma | Self::TelephoneEvent => 8_000,
            Self::Opus => 48_000,
        }
    }

    /// The RFC 3551 static payload type, if the codec has one.
    pub const fn static_payload_type(self) -> Option<u8> {
        match self {
            Self::Pcmu => Some(0),
            Self::Pcma => Some(8),
            Self::Opus | Self::TelephoneEvent => None,
        }
    }

    /// The channel count written in `a=rtpmap` (RFC 7587: always 2 for Opus).
    const fn channels(self) -> u8 {
        match self {
            Self::Opus => 2,
            Self::Pcmu | Self::Pcma | Self::TelephoneEvent => 1,
        }
    }
}

/// The direction of a media stream (RFC 4566 §6, RFC 3264 §5.1), from the
/// point of view of the side whose description carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

impl Direction {
    /// The direction an answer takes to this offered direction: `sendonly`
    /// and `recvonly` mirror each other, the others stay.
    pub const fn answer(self) -> Self {
        match self {
            Self::SendOnly => Self::RecvOnly,
            Self::RecvOnly => Self::SendOnly,
            Self::SendRecv | Self::Inactive => self,
        }
    }

    /// Whether this side sends media.
    pub const fn sends(self) -> bool {
        matches!(self, Self::SendRecv | Self::SendOnly)
    }

    /// Whether this side receives media.
    pub const fn receives(self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
    }

    /// The same direction without sending (`sendrecv` → `recvonly`,
    /// `sendonly` → `inactive`).
    const fn without_sending(self) -> Self {
        match self {
            Self::SendRecv | Self::RecvOnly => Self::RecvOnly,
            Self::SendOnly | Self::Inactive => Self::Inactive,
        }
    }

    /// The attribute name: `sendrecv`, `sendonly`, `recvonly`, `inactive`.
    pub const fn attribute(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }
}

/// One payload format of a stream: its `a=rtpmap` (or the RFC 3551 static
/// meaning of its payload type) and its `a=fmtp` parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpMap {
    pub payload_type: u8,
    pub name: String,
    pub clock_rate: u32,
    pub channels: u8,
    pub fmtp: Option<String>,
}

impl RtpMap {
    /// The kefu codec this format is, if any: same name (ignoring case) and
    /// clock rate; G.711 and telephone-events in mono.
    pub fn codec(&self) -> Option<Codec> {
        [Codec::Pcmu, Codec::Pcma, Codec::Opus, Codec::TelephoneEvent]
            .into_iter()
            .find(|codec| {
                self.name.eq_ignore_ascii_case(codec.name())
                    && self.clock_rate == codec.clock_rate()
                    && (*codec == Codec::Opus || self.channels == 1)
            })
    }
}

/// The first audio stream (`m=audio`) of a description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AudioStream {
    /// Where the peer receives RTP: the media-level `c=` (else the
    /// session-level one) with the `m=` port. `None` when the address is
    /// 0.0.0.0 or `::` (RFC 3264 §8.4: send nothing, the old-style hold) or
    /// the port is 0.
    pub remote: Option<SocketAddr>,
    /// The `m=` port; 0 means the stream is rejected or disabled.
    pub port: u16,
    /// The formats in `m=` line order, static payload types filled in from
    /// RFC 3551 when there is no `a=rtpmap`; a dynamic type without
    /// `a=rtpmap` has no meaning and is left out.
    pub formats: Vec<RtpMap>,
    /// The media-level direction attribute, else the session-level one,
    /// else `sendrecv`.
    pub direction: Direction,
    /// `a=ptime` in milliseconds; an unreadable or zero value counts as absent.
    pub ptime: Option<u32>,
    /// `a=rtcp-mux` (RFC 5761).
    pub rtcp_mux: bool,
}

/// One `m=` line, whatever its media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaLine {
    /// `audio`, `video`, `image`, `application`, ...
    pub kind: String,
    pub port: u16,
    /// `RTP/AVP`, `RTP/SAVP`, `UDP/TLS/RTP/SAVPF`, `udptl`, ...
    pub protocol: String,
    pub formats: Vec<String>,
}

/// A parsed offer or answer: the origin's session id and version, every
/// `m=` line, and the first audio stream in detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDescription {
    pub origin_session_id: u64,
    pub origin_version: u64,
    pub media: Vec<MediaLine>,
    /// Index into [`Self::media`] of the first audio line.
    pub audio: Option<usize>,
    audio_stream: Option<AudioStream>,
}

impl SessionDescription {
    /// The first audio stream, if the description has one.
    pub fn audio(&self) -> Option<&AudioStream> {
        self.audio_stream.as_ref()
    }
}
