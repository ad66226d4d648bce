//! How one side of a call, as its SDP negotiated it, becomes a media leg:
//! the codec kefu decodes and encodes it with (G.711 or Opus) and the leg's
//! RTP settings — peer address, clock rate (48 kHz for Opus, 8 kHz for
//! G.711), telephone-event payload type, fresh random SSRC, sequence and
//! timestamp. Every endpoint, relay and conference leg of a call is made
//! here, so they agree.

use kefu_media::codec::LegCodec;
use kefu_media::g711::G711;
use kefu_media::pcm::SampleRate;
use kefu_media::rtp::leg::LegConfig;
use kefu_media::sdp::{Codec, Negotiated};

/// The codec of a negotiated side; `None` for a codec kefu cannot carry
/// (telephone-events alone).
pub(super) fn leg_codec(codec: Codec) -> Option<LegCodec> {
    match codec {
        Codec::Pcmu => Some(LegCodec::G711(G711::Pcmu)),
        Codec::Pcma => Some(LegCodec::G711(G711::Pcma)),
        Codec::Opus => Some(LegCodec::opus()),
        Codec::TelephoneEvent => None,
    }
}

/// The leg's audio: its payload type and codec.
pub(super) fn audio(side: &Negotiated) -> Result<(u8, LegCodec), String> {
    leg_codec(side.codec)
        .map(|codec| (side.payload_type, codec))
        .ok_or_else(|| format!("{} carries no audio", side.codec.name()))
}

/// The RTP settings of a leg towards this side.
pub(super) fn leg_config(side: &Negotiated) -> LegConfig {
    let mut config = LegConfig::new(rand::random(), rand::random(), rand::random());
    config.remote = side.remote;
    config.telephone_event = side.telephone_event;
    if side.codec == Codec::Opus {
        config.clock_rate = SampleRate::FULLBAND;
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_media::sdp::Direction;

    fn side(codec: Codec, payload_type: u8) -> Negotiated {
        Negotiated {
            codec,
            payload_type,
            telephone_event: Some(101),
            remote: None,
            direction: Direction::SendRecv,
            ptime: 20,
        }
    }

    #[test]
    fn opus_legs_run_on_a_48_khz_clock_and_g711_on_8() {
        assert_eq!(
            leg_config(&side(Codec::Opus, 111)).clock_rate,
            SampleRate::FULLBAND
        );
        assert_eq!(
            leg_config(&side(Codec::Pcma, 8)).clock_rate,
            SampleRate::NARROWBAND
        );
        assert_eq!(
            audio(&side(Codec::Pcmu, 0)),
            Ok((0, LegCodec::G711(G711::Pcmu)))
        );
        assert!(audio(&side(Codec::TelephoneEvent, 101)).is_err());
    }
}
