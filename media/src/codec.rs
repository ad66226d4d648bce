//! A call leg's audio codec, as seen by every part of kefu that decodes or
//! encodes (the endpoint, the relay's transcoding path, the conference and
//! the recording tap): [`LegCodec`] is what the leg negotiated,
//! [`LegDecoder`] turns its RTP payloads into 8 kHz PCM and [`LegEncoder`]
//! turns 20 ms frames of 8 kHz PCM back into payloads; a [`Transcoder`] is
//! one of each, for a leg that kefu both hears and speaks to.
//!
//! Mixing, in-band DTMF detection, prompts and recording all run at
//! [`PCM_RATE`] (8 kHz). G.711 is at that rate already, so its coders are the
//! table lookups of [`G711`] and cost nothing to make. Opus runs at 48 kHz,
//! its RTP clock rate; the resampling between 48 and 8 kHz happens inside
//! [`OpusEncoder`] and [`OpusDecoder`] (libopus through `audiopus`, the
//! resampler through `rubato`), whose state makes Opus coders fallible to
//! create and worth keeping for the life of a leg.

use crate::g711::G711;
use crate::opus::{OpusConfig, OpusDecoder, OpusEncoder, OpusError};
use crate::pcm::SampleRate;

/// The rate of the PCM every decoder gives and every encoder takes.
pub const PCM_RATE: SampleRate = SampleRate::NARROWBAND;

/// The audio codec a leg negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegCodec {
    /// PCMU or PCMA, 8 kHz RTP clock.
    G711(G711),
    /// Opus (RFC 7587), 48 kHz RTP clock, with these encoder settings.
    Opus(OpusConfig),
}

impl From<G711> for LegCodec {
    fn from(law: G711) -> Self {
        Self::G711(law)
    }
}

impl LegCodec {
    /// Opus with the settings for a voice call ([`OpusConfig::default`]).
    pub fn opus() -> Self {
        Self::Opus(OpusConfig::default())
    }

    /// The encoding name, as in SDP's `a=rtpmap`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::G711(G711::Pcmu) => "PCMU",
            Self::G711(G711::Pcma) => "PCMA",
            Self::Opus(_) => "opus",
        }
    }

    /// The RTP clock rate, which the leg's [`crate::rtp::leg::LegConfig`]
    /// must have.
    pub const fn clock_rate(self) -> SampleRate {
        match self {
            Self::G711(_) => SampleRate::NARROWBAND,
            Self::Opus(_) => SampleRate::FULLBAND,
        }
    }

    /// Whether packets of `self` can be relayed untouched to a leg of
    /// `other`: the same G.711 law, or Opus on both (encoder settings are
    /// the sender's business; any Opus decoder reads any Opus packet).
    pub fn relays_untouched_to(self, other: Self) -> bool {
        match (self, other) {
            (Self::G711(a), Self::G711(b)) => a == b,
            (Self::Opus(_), Self::Opus(_)) => true,
            _ => false,
        }
    }

    /// Checks that a leg running its RTP clock at `leg_rate` can carry this codec.
    pub fn check_clock_rate(self, leg_rate: SampleRate) -> Result<(), CodecError> {
        if leg_rate == self.clock_rate() {
            Ok(())
        } else {
            Err(CodecError::ClockRate {
                codec: self.name(),
                expected: self.clock_rate().hz(),
                got: leg_rate.hz(),
            })
        }
    }
}

/// Why a codec could not be set up, or a payload not decoded or encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error(transparent)]
    Opus(#[from] OpusError),
    #[error("a {codec} leg runs its RTP clock at {expected} Hz, not {got} Hz")]
    ClockRate {
        codec: &'static str,
        expected: u32,
        got: u32,
    },
}

/// Decodes one leg's RTP payloads into 8 kHz PCM.
#[derive(Debug)]
pub enum LegDecoder {
    G711(G711),
    Opus(Box<OpusDecoder>),
}

impl LegDecoder {
    /// A decoder for `codec`.
    pub fn new(codec: LegCodec) -> Result<Self, CodecError> {
        Ok(match codec {
            LegCodec::G711(law) => Self::G711(law),
            LegCodec::Opus(_) => Self::Opus(Box::new(OpusDecoder::new(PCM_RATE)?)),
        })
    }

    /// Decodes `payload` and appends the samples to `out`: every sample of a
    /// G.711 payload; for Opus, whole 20 ms frames (a 10 ms packet's audio
    /// waits for the next one, a 60 ms packet gives three frames). A payload
    /// that is not valid Opus appends nothing and is an error: the packet
    /// came from the network, the caller drops and counts it.
    pub fn decode_into(&mut self, payload: &[u8], out: &mut Vec<i16>) -> Result<(), CodecError> {
        match self {
            Self::G711(law) => {
                out.extend(payload.iter().map(|&byte| law.decode_sample(byte)));
                Ok(())
            }
            Self::Opus(decoder) => Ok(decoder.decode_into(Some(payload), out)?),
        }
    }
}

/// Encodes 20 ms frames of 8 kHz PCM into one leg's RTP payloads.
#[derive(Debug)]
pub enum LegEncoder {
    G711(G711),
    Opus(Box<OpusEncoder>),
}

impl LegEncoder {
    /// An encoder for `codec`.
    pub fn new(codec: LegCodec) -> Result<Self, CodecError> {
        Ok(match codec {
            LegCodec::G711(law) => Self::G711(law),
            LegCodec::Opus(config) => Self::Opus(Box::new(OpusEncoder::new(PCM_RATE, config)?)),
        })
    }

    /// Encodes one 20 ms `frame` (160 samples) into `out`, cleared first:
    /// one RTP payload. G.711 takes any length; Opus refuses a frame that
    /// is not 20 ms.
    pub fn encode_into(&mut self, frame: &[i16], out: &mut Vec<u8>) -> Result<(), CodecError> {
        match self {
            Self::G711(law) => {
                law.encode_into(frame, out);
                Ok(())
            }
            Self::Opus(encoder) => Ok(encoder.encode_into(frame, out)?),
        }
    }
}

/// A leg's decoder and encoder together.
#[derive(Debug)]
pub struct Transcoder {
    pub decoder: LegDecoder,
    pub encoder: LegEncoder,
}

impl Transcoder {
    /// A decoder and an encoder for `codec`.
    pub fn new(codec: LegCodec) -> Result<Self, CodecError> {
        Ok(Self {
            decoder: LegDecoder::new(codec)?,
            encoder: LegEncoder::new(codec)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goertzel::energy_share;
    use crate::tone::{ToneGenerator, TonePlan};

    /// One second of a 440 Hz tone through a codec's encoder and decoder.
    fn round_trip(codec: LegCodec) -> Vec<i16> {
        let mut transcoder = Transcoder::new(codec).expect("codec");
        let mut voice = ToneGenerator::new(TonePlan::steady(&[440.0], -12.0), PCM_RATE);
        let (mut payload, mut heard) = (Vec::new(), Vec::new());
        for _ in 0..50 {
            transcoder
                .encoder
                .encode_into(&voice.next_frame(), &mut payload)
                .expect("encodes");
            transcoder
                .decoder
                .decode_into(&payload, &mut heard)
                .expect("decodes");
        }
        heard
    }

    #[test]
    fn every_codec_gives_back_20_ms_frames_of_8_khz_audio_with_the_tone() {
        for codec in [G711::Pcmu.into(), G711::Pcma.into(), LegCodec::opus()] {
            let heard = round_trip(codec);
            assert_eq!(heard.len(), 50 * 160, "{codec:?}");
            let share = energy_share(&heard[10 * 160..], 440.0, PCM_RATE);
            assert!(share > 0.95, "{codec:?}: 440 Hz share {share}");
        }
    }

    #[test]
    fn only_the_same_law_or_opus_on_both_sides_relays_untouched() {
        let (pcmu, pcma) = (LegCodec::from(G711::Pcmu), LegCodec::from(G711::Pcma));
        let quiet = LegCodec::Opus(OpusConfig {
            bitrate_bps: 12_000,
            ..OpusConfig::default()
        });
        assert!(pcmu.relays_untouched_to(pcmu));
        assert!(LegCodec::opus().relays_untouched_to(quiet));
        assert!(!pcmu.relays_untouched_to(pcma));
        assert!(!pcmu.relays_untouched_to(LegCodec::opus()));
    }

    #[test]
    fn a_leg_must_run_at_its_codecs_clock_rate() {
        assert_eq!(
            LegCodec::opus().check_clock_rate(SampleRate::NARROWBAND),
            Err(CodecError::ClockRate {
                codec: "opus",
                expected: 48_000,
                got: 8_000
            })
        );
        assert_eq!(
            LegCodec::opus().check_clock_rate(SampleRate::FULLBAND),
            Ok(())
        );
        assert_eq!(
            LegCodec::from(G711::Pcma).check_clock_rate(SampleRate::NARROWBAND),
            Ok(())
        );
    }

    #[test]
    fn an_undecodable_opus_payload_is_an_error_and_appends_nothing() {
        let mut decoder = LegDecoder::new(LegCodec::opus()).expect("decoder");
        let mut out = vec![1];
        assert!(matches!(
            decoder.decode_into(&[3, 0], &mut out),
            Err(CodecError::Opus(OpusError::Decode(_)))
        ));
        assert_eq!(out, [1]);
    }
}
