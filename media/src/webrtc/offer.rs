//! What a browser's SDP offer asks of the gateway, read before it is
//! answered: the offer parses, it has an audio stream, and which one codec
//! and telephone-event the gateway will pass through — Opus, else PCMU, else
//! PCMA, with the browser's own payload type; the telephone-event at the
//! codec's clock rate, else at 8 kHz. The gateway then offers `str0m` only
//! these formats, so its answer names exactly one codec. Errors say what was
//! wrong with the offer; the SDP itself is parsed by `str0m`.

use str0m::change::SdpOffer;
use str0m::format::{Codec as Str0mCodec, PayloadParams};

use crate::sdp::Codec;

/// How many offered formats [`OfferError::NoCommonCodec`] names at most.
const MAX_LISTED_FORMATS: usize = 16;

/// The audio the gateway passes through, as negotiated with the browser:
/// what the engine's leg must send and will receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatewayCodec {
    /// Opus, PCMU or PCMA.
    pub codec: Codec,
    /// The browser's payload type for [`Self::codec`], used on both sides.
    pub payload_type: u8,
    /// The RTP clock rate of [`Self::codec`] in Hz.
    pub clock_rate: u32,
    /// RFC 4733 key presses, if the browser offered them.
    pub telephone_event: Option<TelephoneEventFormat>,
}

/// A negotiated telephone-event payload format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEventFormat {
    pub payload_type: u8,
    /// Answering a browser: 48 000 with Opus when it offers that (Chromium
    /// does), else 8 000. kefu's own offers to browsers say 8 000 (Firefox
    /// has no other rate).
    pub clock_rate: u32,
}

/// Why a browser's offer cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    #[error("no SDP offer: the browser's RTCPeerConnection.createOffer() SDP is needed")]
    Missing,
    #[error("the offer is not valid SDP: {0}")]
    Syntax(String),
    #[error("the offer has no enabled audio stream (m=audio); the gateway carries audio only")]
    NoAudio,
    #[error(
        "no common codec: the browser offered {offered}; the gateway accepts opus/48000, PCMU/8000 and PCMA/8000"
    )]
    NoCommonCodec {
        /// The audio formats offered, as `name/rate (payload type)`.
        offered: String,
    },
    #[error("the offer cannot be answered: {0}")]
    Refused(String),
}

/// The parsed offer with what the gateway will negotiate from it.
#[derive(Debug)]
pub(crate) struct ReadOffer {
    pub offer: SdpOffer,
    pub codec: GatewayCodec,
    /// The offer's own formats for the codec and telephone-event, to
    /// configure `str0m` with.
    pub formats: Vec<PayloadParams>,
}

/// Parses `sdp` and chooses the codec and telephone-event.
pub(crate) fn read_offer(sdp: &str) -> Result<ReadOffer, OfferError> {
    if sdp.trim().is_empty() {
        return Err(OfferError::Missing);
    }
    let offer =
        SdpOffer::from_sdp_string(sdp).map_err(|error| OfferError::Syntax(error.to_string()))?;
    let audio_lines: Vec<_> = offer
        .media_lines
        .iter()
        .filter(|line| !line.disabled && line.typ.to_string() == "audio")
        .collect();
    if audio_lines.is_empty() {
        return Err(OfferError::NoAudio);
    }
    let offered: Vec<PayloadParams> = audio_lines
        .iter()
        .flat_map(|line| line.rtp_params())
        .collect();
    let audio = [
        (Str0mCodec::Opus, Codec::Opus),
        (Str0mCodec::PCMU, Codec::Pcmu),
        (Str0mCodec::PCMA, Codec::Pcma),
    ]
    .into_iter()
    .find_map(|(wanted, codec)| {
        offered
            .iter()
            .find(|params| {
                let spec = params.spec();
                spec.codec == wanted && spec.clock_rate.get() == codec.clock_rate()
            })
            .map(|params| (codec, *params))
    });
    let Some((codec, audio)) = audio else {
        return Err(OfferError::NoCommonCodec {
            offered: list_formats(&offered),
        });
    };
    let events = |rate: u32| {
        offered
            .iter()
            .find(|params| params.spec().codec.is_tele() && params.spec().clock_rate.get() == rate)
            .copied()
    };
    let telephone_event = events(codec.clock_rate()).or_else(|| events(8_000));
    let mut formats = vec![audio];
    formats.extend(telephone_event);
    Ok(ReadOffer {
        offer,
        codec: GatewayCodec {
            codec,
            payload_type: *audio.pt(),
            clock_rate: codec.clock_rate(),
            telephone_event: telephone_event.map(|params| TelephoneEventFormat {
                payload_type: *params.pt(),
                clock_rate: params.spec().clock_rate.get(),
            }),
        },
        formats,
    })
}

fn list_formats(offered: &[PayloadParams]) -> String {
    if offered.is_empty() {
        return "no audio format".to_owned();
    }
    let mut listed: Vec<String> = offered
        .iter()
        .take(MAX_LISTED_FORMATS)
        .map(|params| {
            let spec = params.spec();
            format!(
                "{}/{} ({})",
                spec.codec,
                spec.clock_rate.get(),
                *params.pt()
            )
        })
        .collect();
    if offered.len() > MAX_LISTED_FORMATS {
        listed.push("…".to_owned());
    }
    listed.join(", ")
}
