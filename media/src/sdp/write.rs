//! Writing SDP: [`answer`] to an offer (RFC 3264 §6) and our own
//! [`offer`]. Both describe one audio stream from `local`, with CRLF line
//! endings; kefu does not multiplex RTCP (no `a=rtcp-mux`).

use std::fmt::Write as _;
use std::net::SocketAddr;

use super::{Codec, Direction, Negotiated, SessionDescription};

/// Our dynamic payload type for Opus in our offers.
const OPUS_PAYLOAD_TYPE: u8 = 96;
/// Our dynamic payload type for telephone-event/8000 in our offers.
const TELEPHONE_EVENT_PAYLOAD_TYPE: u8 = 101;
/// The ptime we ask for in our offers, in milliseconds.
const OFFER_PTIME: u32 = 20;

/// The answer to `offer` with what [`super::negotiate`] chose: as many `m=`
/// lines as the offer, the first audio one on `local`'s port with the
/// chosen codec (and telephone-events, DTMF 0-16), every other one rejected
/// with port 0.
pub fn answer(
    offer: &SessionDescription,
    negotiated: &Negotiated,
    local: SocketAddr,
    session_id: u64,
    version: u64,
) -> String {
    let mut sdp = session_header(local, session_id, version);
    for (index, line) in offer.media.iter().enumerate() {
        if Some(index) == offer.audio && line.port != 0 {
            let mut formats = vec![(negotiated.payload_type, negotiated.codec)];
            if let Some(payload_type) = negotiated.telephone_event {
                formats.push((payload_type, Codec::TelephoneEvent));
            }
            audio_section(
                &mut sdp,
                local.port(),
                &line.protocol,
                &formats,
                negotiated.ptime,
                negotiated.direction,
            );
        } else {
            let formats = if line.formats.is_empty() {
                "0".to_owned()
            } else {
                line.formats.join(" ")
            };
            line_to(
                &mut sdp,
                format_args!("m={} 0 {} {formats}", line.kind, line.protocol),
            );
        }
    }
    sdp
}

/// Our offer of `codecs` (in order of preference, duplicates ignored) on
/// `local`: static payload types for G.711, 96 for Opus (opus/48000/2),
/// 101 for telephone-event/8000. With no codec at all the audio stream is
/// offered disabled (port 0).
pub fn offer(
    codecs: &[Codec],
    local: SocketAddr,
    direction: Direction,
    session_id: u64,
    version: u64,
) -> String {
    let mut formats: Vec<(u8, Codec)> = Vec::new();
    for codec in codecs {
        if !formats.iter().any(|(_, listed)| listed == codec) {
            formats.push((offered_payload_type(*codec), *codec));
        }
    }
    let mut sdp = session_header(local, session_id, version);
    if formats.is_empty() {
        line_to(&mut sdp, format_args!("m=audio 0 RTP/AVP 0"));
    } else {
        audio_section(
            &mut sdp,
            local.port(),
            "RTP/AVP",
            &formats,
            OFFER_PTIME,
            direction,
        );
    }
    sdp
}

/// The payload type we give `codec` in our offers.
fn offered_payload_type(codec: Codec) -> u8 {
    match (codec.static_payload_type(), codec) {
        (Some(payload_type), _) => payload_type,
        (None, Codec::TelephoneEvent) => TELEPHONE_EVENT_PAYLOAD_TYPE,
        (None, _) => OPUS_PAYLOAD_TYPE,
    }
}

/// `v=`, `o=`, `s=`, `c=` and `t=` for `local`.
fn session_header(local: SocketAddr, session_id: u64, version: u64) -> String {
    let address = match local {
        SocketAddr::V4(local) => format!("IN IP4 {}", local.ip()),
        SocketAddr::V6(local) => format!("IN IP6 {}", local.ip()),
    };
    let mut sdp = String::new();
    line_to(&mut sdp, format_args!("v=0"));
    line_to(
        &mut sdp,
        format_args!("o=kefu {session_id} {version} {address}"),
    );
    line_to(&mut sdp, format_args!("s=kefu"));
    line_to(&mut sdp, format_args!("c={address}"));
    line_to(&mut sdp, format_args!("t=0 0"));
    sdp
}

/// One audio `m=` line with an `a=rtpmap` for each of `formats`, DTMF
/// 0-16 for telephone-events, `a=ptime` and the direction.
fn audio_section(
    sdp: &mut String,
    port: u16,
    protocol: &str,
    formats: &[(u8, Codec)],
    ptime: u32,
    direction: Direction,
) {
    let mut line = format!("m=audio {port} {protocol}");
    for (payload_type, _) in formats {
        let _ = write!(line, " {payload_type}");
    }
    line_to(sdp, format_args!("{line}"));
    for (payload_type, codec) in formats {
        let (name, rate) = (codec.name(), codec.clock_rate());
        match codec.channels() {
            1 => line_to(sdp, format_args!("a=rtpmap:{payload_type} {name}/{rate}")),
            channels => line_to(
                sdp,
                format_args!("a=rtpmap:{payload_type} {name}/{rate}/{channels}"),
            ),
        }
        if *codec == Codec::TelephoneEvent {
            line_to(sdp, format_args!("a=fmtp:{payload_type} 0-16"));
        }
    }
    line_to(sdp, format_args!("a=ptime:{ptime}"));
    line_to(sdp, format_args!("a={}", direction.attribute()));
}

/// Appends one line and its CRLF.
fn line_to(sdp: &mut String, line: std::fmt::Arguments) {
    let _ = sdp.write_fmt(line);
    sdp.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::samples::{self, mutate, mutation};
    use super::super::{accept_answer, negotiate};
    use super::*;

    fn local() -> SocketAddr {
        "198.51.100.1:30000".parse().expect("address")
    }

    fn parse(text: &str) -> SessionDescription {
        SessionDescription::parse(text).expect("parses")
    }

    #[test]
    fn answer_to_baresip_is_exactly_this() {
        let offer = parse(samples::BARESIP);
        let negotiated = negotiate(&offer, &[Codec::Pcma, Codec::Pcmu]).expect("negotiates");
        assert_eq!(
            answer(&offer, &negotiated, local(), 42, 7),
            "v=0\r\n\
             o=kefu 42 7 IN IP4 198.51.100.1\r\n\
             s=kefu\r\n\
             c=IN IP4 198.51.100.1\r\n\
             t=0 0\r\n\
             m=audio 30000 RTP/AVP 8 101\r\n\
             a=rtpmap:8 PCMA/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\n\
             a=fmtp:101 0-16\r\n\
             a=ptime:20\r\n\
             a=sendrecv\r\n"
        );
    }

    #[test]
    fn answer_rejects_video_with_port_0_and_keeps_the_number_of_lines() {
        let offer = parse(samples::LINPHONE);
        let negotiated = negotiate(&offer, &[Codec::Opus]).expect("negotiates");
        let text = answer(&offer, &negotiated, local(), 1, 1);
        assert!(text.contains("m=video 0 RTP/AVP 96 97\r\n"), "{text}");
        assert!(text.contains("a=rtpmap:96 opus/48000/2\r\n"), "{text}");
        let parsed = parse(&text);
        assert_eq!(parsed.media.len(), offer.media.len());
        assert_eq!(parsed.media[1].port, 0);
        let back = accept_answer(&[Codec::Opus, Codec::TelephoneEvent], &parsed).expect("accepts");
        assert_eq!((back.codec, back.payload_type), (Codec::Opus, 96));
        assert_eq!(back.telephone_event, Some(100));
        assert_eq!(back.remote, Some(local()));
    }

    #[test]
    fn answer_rejects_audio_lines_after_the_first_and_disabled_ones() {
        let offer = parse(
            "v=0\no=- 1 1 IN IP4 192.0.2.1\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 0\n\
             m=audio 4002 RTP/AVP 8\nm=application 5000 TCP/MSRP *\n",
        );
        let negotiated = negotiate(&offer, &[Codec::Pcmu]).expect("negotiates");
        let text = answer(&offer, &negotiated, local(), 1, 1);
        let lines: Vec<&str> = text.lines().filter(|line| line.starts_with("m=")).collect();
        assert_eq!(
            lines,
            [
                "m=audio 30000 RTP/AVP 0",
                "m=audio 0 RTP/AVP 8",
                "m=application 0 TCP/MSRP *"
            ]
        );
    }

    #[test]
    fn answer_to_hold_on_ipv6_says_recvonly_from_an_ipv6_address() {
        let offer = parse(samples::HOLD_SENDONLY);
        let negotiated = negotiate(&offer, &[Codec::Pcmu]).expect("negotiates");
        let local: SocketAddr = "[2001:db8::5]:40000".parse().expect("address");
        let text = answer(&offer, &negotiated, local, 9, 10);
        assert!(
            text.contains("o=kefu 9 10 IN IP6 2001:db8::5\r\n"),
            "{text}"
        );
        assert!(text.contains("c=IN IP6 2001:db8::5\r\n"), "{text}");
        assert!(text.ends_with("a=recvonly\r\n"), "{text}");
        let audio = parse(&text).audio().cloned().expect("audio");
        assert_eq!(audio.remote, Some(local));
        assert_eq!(audio.direction, Direction::RecvOnly);
    }

    #[test]
    fn our_offer_uses_static_types_96_for_opus_and_101_for_events() {
        let text = offer(
            &[
                Codec::Opus,
                Codec::Pcmu,
                Codec::Pcma,
                Codec::TelephoneEvent,
                Codec::Pcmu,
            ],
            local(),
            Direction::SendOnly,
            5,
            6,
        );
        assert_eq!(
            text,
            "v=0\r\n\
             o=kefu 5 6 IN IP4 198.51.100.1\r\n\
             s=kefu\r\n\
             c=IN IP4 198.51.100.1\r\n\
             t=0 0\r\n\
             m=audio 30000 RTP/AVP 96 0 8 101\r\n\
             a=rtpmap:96 opus/48000/2\r\n\
             a=rtpmap:0 PCMU/8000\r\n\
             a=rtpmap:8 PCMA/8000\r\n\
             a=rtpmap:101 telephone-event/8000\r\n\
             a=fmtp:101 0-16\r\n\
             a=ptime:20\r\n\
             a=sendonly\r\n"
        );
        let theirs = negotiate(&parse(&text), &[Codec::Pcma, Codec::Opus]).expect("negotiates");
        assert_eq!((theirs.codec, theirs.payload_type), (Codec::Pcma, 8));
        assert_eq!(theirs.telephone_event, Some(101));
        assert_eq!(theirs.direction, Direction::RecvOnly);
    }

    #[test]
    fn offer_without_codecs_disables_audio() {
        let text = offer(&[], local(), Direction::SendRecv, 1, 1);
        assert!(text.ends_with("m=audio 0 RTP/AVP 0\r\n"), "{text}");
        assert_eq!(
            negotiate(&parse(&text), &[Codec::Pcmu]),
            Err(super::super::NegotiationError::AudioDisabled)
        );
    }

    #[test]
    fn offer_answer_round_trip_between_two_kefus() {
        let ours = [Codec::Pcmu, Codec::TelephoneEvent];
        let our_offer = parse(&offer(&ours, local(), Direction::SendRecv, 1, 1));
        let their_choice = negotiate(&our_offer, &[Codec::Pcmu]).expect("negotiates");
        let their_local: SocketAddr = "203.0.113.9:20000".parse().expect("address");
        let their_answer = parse(&answer(&our_offer, &their_choice, their_local, 2, 2));
        let accepted = accept_answer(&ours, &their_answer).expect("accepts");
        assert_eq!(
            accepted,
            Negotiated {
                codec: Codec::Pcmu,
                payload_type: 0,
                telephone_event: Some(101),
                remote: Some(their_local),
                direction: Direction::SendRecv,
                ptime: 20,
            }
        );
    }

    proptest! {
        #[test]
        fn answers_to_any_negotiable_offer_parse_back_to_the_same_choices(
            sample in 0..samples::ALL.len(),
            mutations in proptest::collection::vec(mutation(), 0..4),
            preferences in proptest::sample::subsequence(
                vec![Codec::Opus, Codec::Pcma, Codec::Pcmu, Codec::TelephoneEvent], 1..=4
            ).prop_shuffle(),
        ) {
            let Ok(sdp) = SessionDescription::parse(&mutate(samples::ALL[sample], &mutations)) else {
                return Ok(());
            };
            let Ok(negotiated) = negotiate(&sdp, &preferences) else {
                return Ok(());
            };
            let text = answer(&sdp, &negotiated, local(), 3, 4);
            prop_assert!(!text.replace("\r\n", "").contains('\n'), "only CRLF: {text:?}");
            let parsed = SessionDescription::parse(&text).map_err(|error| {
                TestCaseError::fail(format!("{error}: {text}"))
            })?;
            prop_assert_eq!(parsed.media.len(), sdp.media.len());
            prop_assert_eq!(parsed.audio, sdp.audio);
            let mut offered = vec![negotiated.codec];
            offered.extend(negotiated.telephone_event.map(|_| Codec::TelephoneEvent));
            let back = accept_answer(&offered, &parsed).map_err(|error| {
                TestCaseError::fail(format!("{error}: {text}"))
            })?;
            prop_assert_eq!(back.codec, negotiated.codec);
            prop_assert_eq!(back.payload_type, negotiated.payload_type);
            prop_assert_eq!(back.telephone_event, negotiated.telephone_event);
            prop_assert_eq!(back.ptime, negotiated.ptime);
            prop_assert_eq!(parsed.audio().map(|audio| audio.direction), Some(negotiated.direction));
        }
    }
}
