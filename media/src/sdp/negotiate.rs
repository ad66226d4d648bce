//! Choosing what a call uses from an offer ([`negotiate`], we answer) or
//! from the answer to our offer ([`accept_answer`]): one audio codec with the
//! payload type the peer gave it, telephone-events when the peer has them,
//! where to send, which way media flows and the packetisation.

use std::net::SocketAddr;

use super::{AudioStream, Codec, Direction, SessionDescription};

/// The ptime, in milliseconds, when the peer did not ask for one.
const DEFAULT_PTIME: u32 = 20;
/// How many distinct offered formats a [`NegotiationError::NoCommonCodec`]
/// names at most: 127 garbage payload types make no useful 488 reason.
const MAX_LISTED_FORMATS: usize = 16;

/// What the call uses, from our side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Negotiated {
    pub codec: Codec,
    /// The peer's payload type for [`Self::codec`]: what we send and receive.
    pub payload_type: u8,
    /// The peer's payload type for telephone-event/8000, if it has one.
    pub telephone_event: Option<u8>,
    /// Where we send RTP; `None` when the peer asked for nothing to be sent
    /// (`c=0.0.0.0`).
    pub remote: Option<SocketAddr>,
    /// OUR direction: what we write in the answer, or how we may use the
    /// stream after an answer to our offer.
    pub direction: Direction,
    /// The peer's `a=ptime` in milliseconds, else 20.
    pub ptime: u32,
}

/// Why no call can be set up from a description (answered with SIP 488).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiationError {
    #[error("no audio stream (m=audio) in the SDP")]
    NoAudio,
    #[error("the audio stream is disabled (m=audio with port 0)")]
    AudioDisabled,
    #[error(
        "audio uses {0}, which needs SRTP; kefu accepts only RTP/AVP and RTP/AVPF (no SRTP yet)"
    )]
    SrtpRequired(String),
    #[error("audio transport {0} is not supported; kefu accepts only RTP/AVP and RTP/AVPF")]
    UnsupportedProtocol(String),
    #[error("no common codec: offered {}; kefu accepts {}", formats(.offered, *.more), codecs(.accepted))]
    NoCommonCodec {
        /// The audio formats the peer listed, as `name/rate (payload type)`,
        /// each once, at most 16.
        offered: Vec<String>,
        /// The peer listed more formats than `offered` names.
        more: bool,
        accepted: Vec<Codec>,
    },
}

/// Answers `offer`: the first of `preferences` that the offer's audio stream
/// lists, with the offer's payload type for it (dynamic types included), and
/// the offer's telephone-event/8000 whenever it has one. Telephone-events
/// in `preferences` are ignored when choosing the codec. Our direction
/// mirrors the offer's, without sending when the offer's address is
/// 0.0.0.0.
pub fn negotiate(
    offer: &SessionDescription,
    preferences: &[Codec],
) -> Result<Negotiated, NegotiationError> {
    let audio = usable_audio(offer)?;
    let chosen = preferences
        .iter()
        .filter(|codec| **codec != Codec::TelephoneEvent)
        .find_map(|codec| {
            audio
                .formats
                .iter()
                .find(|format| format.codec() == Some(*codec))
                .map(|format| (*codec, format.payload_type))
        });
    let chosen = chosen.ok_or_else(|| no_common_codec(audio, preferences))?;
    Ok(negotiated(audio, chosen, true))
}

/// Reads the answer to our offer of `our_offer_codecs`: the answer's first
/// listed codec that we offered, with the answer's payload type, and its
/// telephone-event/8000 if we offered telephone-events. Our direction is
/// the mirror of the answer's.
pub fn accept_answer(
    our_offer_codecs: &[Codec],
    answer: &SessionDescription,
) -> Result<Negotiated, NegotiationError> {
    let audio = usable_audio(answer)?;
    let chosen = audio.formats.iter().find_map(|format| {
        format
            .codec()
            .filter(|codec| *codec != Codec::TelephoneEvent && our_offer_codecs.contains(codec))
            .map(|codec| (codec, format.payload_type))
    });
    let chosen = chosen.ok_or_else(|| no_common_codec(audio, our_offer_codecs))?;
    Ok(negotiated(
        audio,
        chosen,
        our_offer_codecs.contains(&Codec::TelephoneEvent),
    ))
}

/// The audio stream of `description`, if it is enabled and plain RTP.
fn usable_audio(description: &SessionDescription) -> Result<&AudioStream, NegotiationError> {
    let (Some(audio), Some(line)) = (
        description.audio(),
        description
            .audio
            .and_then(|index| description.media.get(index)),
    ) else {
        return Err(NegotiationError::NoAudio);
    };
    if audio.port == 0 {
        return Err(NegotiationError::AudioDisabled);
    }
    let protocol = line.protocol.to_ascii_uppercase();
    if protocol.contains("SAVP") {
        return Err(NegotiationError::SrtpRequired(line.protocol.clone()));
    }
    if protocol != "RTP/AVP" && protocol != "RTP/AVPF" {
        return Err(NegotiationError::UnsupportedProtocol(line.protocol.clone()));
    }
    Ok(audio)
}

/// `chosen` is the codec and the peer's payload type for it.
fn negotiated(audio: &AudioStream, chosen: (Codec, u8), telephone_events: bool) -> Negotiated {
    let telephone_event = audio
        .formats
        .iter()
        .find(|format| telephone_events && format.codec() == Some(Codec::TelephoneEvent))
        .map(|format| format.payload_type);
    let direction = audio.direction.answer();
    Negotiated {
        codec: chosen.0,
        payload_type: chosen.1,
        telephone_event,
        remote: audio.remote,
        direction: match audio.remote {
            Some(_) => direction,
            None => direction.without_sending(),
        },
        ptime: audio.ptime.unwrap_or(DEFAULT_PTIME),
    }
}

fn no_common_codec(audio: &AudioStream, accepted: &[Codec]) -> NegotiationError {
    let mut offered: Vec<String> = Vec::new();
    let mut more = false;
    for format in &audio.formats {
        let name = format!(
            "{}/{} ({})",
            format.name, format.clock_rate, format.payload_type
        );
        if offered.contains(&name) {
            continue;
        }
        if offered.len() == MAX_LISTED_FORMATS {
            more = true;
            break;
        }
        offered.push(name);
    }
    NegotiationError::NoCommonCodec {
        offered,
        more,
        accepted: accepted
            .iter()
            .copied()
            .filter(|codec| *codec != Codec::TelephoneEvent)
            .collect(),
    }
}

/// `offered` for [`NegotiationError::NoCommonCodec`]'s message.
fn formats(offered: &[String], more: bool) -> String {
    match (offered.is_empty(), more) {
        (true, _) => "no known format".to_owned(),
        (false, true) => format!("{}, ...", offered.join(", ")),
        (false, false) => offered.join(", "),
    }
}

/// `accepted` for [`NegotiationError::NoCommonCodec`]'s message.
fn codecs(accepted: &[Codec]) -> String {
    if accepted.is_empty() {
        return "nothing".to_owned();
    }
    accepted
        .iter()
        .map(|codec| format!("{}/{}", codec.name(), codec.clock_rate()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::super::samples;
    use super::*;

    const G711: [Codec; 2] = [Codec::Pcmu, Codec::Pcma];

    fn parse(text: &str) -> SessionDescription {
        SessionDescription::parse(text).expect("sample parses")
    }

    fn offer_with(media: &str) -> SessionDescription {
        parse(&format!(
            "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n{media}"
        ))
    }

    #[test]
    fn sipp_offer_negotiates_pcmu_sendrecv_at_20_ms_without_events() {
        let negotiated = negotiate(&parse(samples::SIPP), &G711).expect("negotiates");
        assert_eq!(
            negotiated,
            Negotiated {
                codec: Codec::Pcmu,
                payload_type: 0,
                telephone_event: None,
                remote: Some("192.0.2.10:6000".parse().expect("address")),
                direction: Direction::SendRecv,
                ptime: 20,
            }
        );
    }

    #[test]
    fn our_preference_order_wins_over_the_offer_order() {
        let baresip = parse(samples::BARESIP);
        let pcma = negotiate(&baresip, &[Codec::Pcma, Codec::Pcmu]).expect("negotiates");
        assert_eq!((pcma.codec, pcma.payload_type), (Codec::Pcma, 8));
        assert_eq!(pcma.telephone_event, Some(101));
        let opus = negotiate(&baresip, &[Codec::Opus, Codec::Pcmu]).expect("negotiates");
        assert_eq!((opus.codec, opus.payload_type), (Codec::Opus, 96));
        let asterisk = negotiate(&parse(samples::ASTERISK), &G711).expect("negotiates");
        assert_eq!((asterisk.codec, asterisk.payload_type), (Codec::Pcmu, 0));
        assert_eq!(asterisk.ptime, 30, "the offer's ptime");
    }

    #[test]
    fn telephone_events_are_the_8_khz_ones_even_when_not_in_preferences() {
        let linphone = negotiate(
            &parse(samples::LINPHONE),
            &[Codec::TelephoneEvent, Codec::Pcma],
        )
        .expect("negotiates");
        assert_eq!((linphone.codec, linphone.payload_type), (Codec::Pcma, 8));
        assert_eq!(linphone.telephone_event, Some(100));
        let ipv6 = negotiate(&parse(samples::IPV6), &G711).expect("negotiates");
        assert_eq!(ipv6.telephone_event, Some(101));
        assert_eq!(
            ipv6.remote,
            Some("[2001:db8::10]:5004".parse().expect("address"))
        );
    }

    #[test]
    fn dynamic_payload_types_are_taken_from_the_offer() {
        let offer = offer_with(
            "m=audio 4000 RTP/AVPF 110 111 112\r\na=rtpmap:110 PCMA/8000\r\n\
             a=rtpmap:111 OPUS/48000/2\r\na=rtpmap:112 telephone-event/8000\r\n",
        );
        let negotiated = negotiate(&offer, &[Codec::Opus, Codec::Pcma]).expect("negotiates");
        assert_eq!(
            (negotiated.codec, negotiated.payload_type),
            (Codec::Opus, 111)
        );
        assert_eq!(negotiated.telephone_event, Some(112));
        let pcma = negotiate(&offer, &[Codec::Pcma]).expect("negotiates");
        assert_eq!((pcma.codec, pcma.payload_type), (Codec::Pcma, 110));
    }

    #[test]
    fn hold_offers_are_answered_with_the_mirrored_direction() {
        let sendonly = negotiate(&parse(samples::HOLD_SENDONLY), &G711).expect("negotiates");
        assert_eq!(sendonly.direction, Direction::RecvOnly);
        assert!(!sendonly.direction.sends() && sendonly.direction.receives());
        let inactive = negotiate(&parse(samples::HOLD_INACTIVE), &G711).expect("negotiates");
        assert_eq!(inactive.direction, Direction::Inactive);
        let zero = negotiate(&parse(samples::HOLD_ZERO_ADDRESS), &G711).expect("negotiates");
        assert_eq!((zero.remote, zero.direction), (None, Direction::RecvOnly));
        let zero_sendonly = negotiate(
            &offer_with("m=audio 4000 RTP/AVP 0\r\nc=IN IP4 0.0.0.0\r\na=recvonly\r\n"),
            &G711,
        )
        .expect("negotiates");
        assert_eq!(zero_sendonly.direction, Direction::Inactive);
    }

    #[test]
    fn direction_mirrors_and_says_who_sends() {
        assert_eq!(Direction::SendOnly.answer(), Direction::RecvOnly);
        assert_eq!(Direction::RecvOnly.answer(), Direction::SendOnly);
        assert_eq!(Direction::SendRecv.answer(), Direction::SendRecv);
        assert_eq!(Direction::Inactive.answer(), Direction::Inactive);
        assert!(Direction::SendRecv.sends() && Direction::SendRecv.receives());
        assert!(!Direction::Inactive.sends() && !Direction::Inactive.receives());
    }

    #[test]
    fn no_common_codec_names_what_was_offered() {
        let offer = offer_with(
            "m=audio 4000 RTP/AVP 18 97 101\r\na=rtpmap:97 iLBC/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\n",
        );
        let error = negotiate(&offer, &[Codec::Opus, Codec::Pcmu, Codec::TelephoneEvent])
            .expect_err("no common codec");
        assert_eq!(
            error.to_string(),
            "no common codec: offered G729/8000 (18), iLBC/8000 (97), telephone-event/8000 (101); \
             kefu accepts opus/48000, PCMU/8000"
        );
        let nothing = negotiate(&offer_with("m=audio 4000 RTP/AVP 120\r\n"), &G711)
            .expect_err("no known format");
        assert_eq!(
            nothing.to_string(),
            "no common codec: offered no known format; kefu accepts PCMU/8000, PCMA/8000"
        );
    }

    #[test]
    fn no_common_codec_names_each_offered_format_once_and_at_most_16() {
        let types: Vec<String> = (0..=127)
            .chain(0..=127)
            .map(|pt: u8| pt.to_string())
            .collect();
        let offer = offer_with(&format!("m=audio 4000 RTP/AVP {}\r\n", types.join(" ")));
        let Err(NegotiationError::NoCommonCodec { offered, more, .. }) =
            negotiate(&offer, &[Codec::Opus])
        else {
            panic!("expected no common codec");
        };
        assert_eq!(offered.len(), 16);
        assert!(more);
        assert_eq!(offered[0], "PCMU/8000 (0)");
        assert_eq!(offered[15], "DVI4/22050 (17)", "G729 (18) is the 17th");
        let error = negotiate(&offer, &[Codec::Opus]).expect_err("no common codec");
        assert!(
            error
                .to_string()
                .contains("DVI4/22050 (17), ...; kefu accepts opus/48000")
        );
    }

    #[test]
    fn srtp_offers_are_refused_saying_srtp_is_needed() {
        let savp = negotiate(&parse(samples::SAVP), &G711).expect_err("SRTP");
        assert_eq!(
            savp.to_string(),
            "audio uses RTP/SAVP, which needs SRTP; kefu accepts only RTP/AVP and RTP/AVPF (no SRTP yet)"
        );
        let chrome = negotiate(&parse(samples::CHROME), &G711).expect_err("DTLS-SRTP");
        assert_eq!(
            chrome,
            NegotiationError::SrtpRequired("UDP/TLS/RTP/SAVPF".to_owned())
        );
    }

    #[test]
    fn missing_disabled_and_non_rtp_audio_are_refused() {
        let video_only = offer_with("m=video 5000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n");
        assert_eq!(
            negotiate(&video_only, &G711),
            Err(NegotiationError::NoAudio)
        );
        let disabled = offer_with("m=audio 0 RTP/AVP 0\r\n");
        assert_eq!(
            negotiate(&disabled, &G711),
            Err(NegotiationError::AudioDisabled)
        );
        let tcp = offer_with("m=audio 4000 TCP/RTP/AVP 0\r\n");
        assert_eq!(
            negotiate(&tcp, &G711).map_err(|error| error.to_string()),
            Err("audio transport TCP/RTP/AVP is not supported; kefu accepts only RTP/AVP and RTP/AVPF".to_owned())
        );
    }

    #[test]
    fn answer_to_our_offer_takes_its_first_codec_that_we_offered() {
        let ours = [Codec::Opus, Codec::Pcmu, Codec::TelephoneEvent];
        let answer = offer_with(
            "m=audio 4000 RTP/AVP 8 0 109 101\r\na=rtpmap:109 opus/48000/2\r\n\
             a=rtpmap:101 telephone-event/8000\r\na=recvonly\r\na=ptime:40\r\n",
        );
        let negotiated = accept_answer(&ours, &answer).expect("accepts");
        assert_eq!(
            negotiated,
            Negotiated {
                codec: Codec::Pcmu,
                payload_type: 0,
                telephone_event: Some(101),
                remote: Some("192.0.2.1:4000".parse().expect("address")),
                direction: Direction::SendOnly,
                ptime: 40,
            }
        );
        let opus = accept_answer(&[Codec::Opus], &answer).expect("accepts");
        assert_eq!((opus.codec, opus.payload_type), (Codec::Opus, 109));
        assert_eq!(opus.telephone_event, None, "we did not offer events");
        assert_eq!(
            accept_answer(&[Codec::Pcma], &offer_with("m=audio 4000 RTP/AVP 0\r\n")),
            Err(NegotiationError::NoCommonCodec {
                offered: vec!["PCMU/8000 (0)".to_owned()],
                more: false,
                accepted: vec![Codec::Pcma],
            })
        );
        assert_eq!(
            accept_answer(&ours, &offer_with("m=audio 0 RTP/AVP 0\r\n")),
            Err(NegotiationError::AudioDisabled)
        );
    }
}
