//! [`SessionDescription::parse`]: SDP text to the lines kefu uses. Lines end
//! in CRLF or LF; blank lines and line types kefu does not use are skipped.
//! Everything is read with `split`, `split_once` and `parse`, never by
//! index, so no input can panic.

use std::net::{IpAddr, SocketAddr};

use super::{AudioStream, Direction, MediaLine, RtpMap, SessionDescription};

/// Why an SDP body could not be read (answered with SIP 488).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("SDP body is empty")]
    Empty,
    #[error("SDP must start with v=0, found {0:?}")]
    MissingVersion(String),
    #[error("unsupported SDP version v={0} (only v=0 exists)")]
    Version(String),
    #[error("line {number} is not <type>=<value>: {line:?}")]
    MalformedLine { number: usize, line: String },
    #[error("missing o= line")]
    MissingOrigin,
    #[error(
        "o= line not valid (expected <username> <session-id> <version> IN IP4|IP6 <address>): {0:?}"
    )]
    Origin(String),
    #[error("o= session id not a number: {0:?}")]
    SessionId(String),
    #[error("o= session version not a number: {0:?}")]
    SessionVersion(String),
    #[error("c= line not valid (expected IN IP4|IP6 <address>): {0:?}")]
    Connection(String),
    #[error("c= address is not an IP address (host names are not resolved): {0:?}")]
    ConnectionAddress(String),
    #[error("missing c= line for audio")]
    MissingConnection,
    #[error("m= line not valid (expected <media> <port> <protocol> <format> ...): {0:?}")]
    Media(String),
    #[error("m= port not a number: {0:?}")]
    Port(String),
    #[error("audio m= format is not an RTP payload type (0-127): {0:?}")]
    PayloadType(String),
    #[error(
        "a=rtpmap not valid (expected <payload type> <encoding>/<clock rate>[/<channels>]): {0:?}"
    )]
    RtpMap(String),
}

/// RTP payload types are 7 bits: 0-127.
const PAYLOAD_TYPES: usize = 128;

/// RFC 3551 table 4: the static audio payload types, as (type, encoding,
/// clock rate, channels).
const STATIC_AUDIO: [(u8, &str, u32, u8); 17] = [
    (0, "PCMU", 8_000, 1),
    (3, "GSM", 8_000, 1),
    (4, "G723", 8_000, 1),
    (5, "DVI4", 8_000, 1),
    (6, "DVI4", 16_000, 1),
    (7, "LPC", 8_000, 1),
    (8, "PCMA", 8_000, 1),
    (9, "G722", 8_000, 1),
    (10, "L16", 44_100, 2),
    (11, "L16", 44_100, 1),
    (12, "QCELP", 8_000, 1),
    (13, "CN", 8_000, 1),
    (14, "MPA", 90_000, 1),
    (15, "G728", 8_000, 1),
    (16, "DVI4", 11_025, 1),
    (17, "DVI4", 22_050, 1),
    (18, "G729", 8_000, 1),
];

/// What kefu reads of the session level or of one media section. The `c=`
/// value is only read when the audio stream uses it: a host name on a video
/// stream does not fail the call.
#[derive(Default)]
struct Section<'a> {
    connection: Option<&'a str>,
    attributes: Vec<&'a str>,
}

impl SessionDescription {
    /// Parses an offer or answer. Never panics.
    pub fn parse(text: &str) -> Result<Self, SdpError> {
        let mut lines = text
            .split('\n')
            .map(|line| line.strip_suffix('\r').unwrap_or(line))
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty());
        match lines.next() {
            None => return Err(SdpError::Empty),
            Some((_, line)) => match line.strip_prefix("v=") {
                Some(version) if version.trim() == "0" => {}
                Some(version) => return Err(SdpError::Version(version.to_owned())),
                None => return Err(SdpError::MissingVersion(line.to_owned())),
            },
        }
        let mut origin = None;
        let mut session = Section::default();
        let mut media: Vec<(MediaLine, Section)> = Vec::new();
        for (index, line) in lines {
            let Some((kind, value)) = line.split_once('=').filter(|(kind, _)| kind.len() == 1)
            else {
                return Err(SdpError::MalformedLine {
                    number: index + 1,
                    line: line.to_owned(),
                });
            };
            let section = match media.last_mut() {
                Some((_, section)) => section,
                None => &mut session,
            };
            match kind {
                "o" if origin.is_none() => origin = Some(parse_origin(value)?),
                "c" => section.connection = Some(value),
                "a" => section.attributes.push(value),
                "m" => media.push((parse_media(value)?, Section::default())),
                _ => {}
            }
        }
        let (origin_session_id, origin_version) = origin.ok_or(SdpError::MissingOrigin)?;
        let audio = media
            .iter()
            .position(|(line, _)| line.kind.eq_ignore_ascii_case("audio"));
        let audio_stream = match audio.and_then(|index| media.get(index)) {
            Some((line, section)) => Some(audio_stream(&session, line, section)?),
            None => None,
        };
        Ok(Self {
            origin_session_id,
            origin_version,
            media: media.into_iter().map(|(line, _)| line).collect(),
            audio,
            audio_stream,
        })
    }
}

/// `o=<username> <session-id> <version> <nettype> <addrtype> <address>`.
fn parse_origin(value: &str) -> Result<(u64, u64), SdpError> {
    let fields: Vec<&str> = value.split_ascii_whitespace().collect();
    let [_, session_id, version, _, _, _] = fields.as_slice() else {
        return Err(SdpError::Origin(value.to_owned()));
    };
    let session_id = session_id
        .parse()
        .map_err(|_| SdpError::SessionId((*session_id).to_owned()))?;
    let version = version
        .parse()
        .map_err(|_| SdpError::SessionVersion((*version).to_owned()))?;
    Ok((session_id, version))
}

/// `c=IN IP4|IP6 <address>[/<ttl>][/<count>]`.
fn parse_connection(value: &str) -> Result<IpAddr, SdpError> {
    let fields: Vec<&str> = value.split_ascii_whitespace().collect();
    let ["IN", "IP4" | "IP6", address] = fields.as_slice() else {
        return Err(SdpError::Connection(value.to_owned()));
    };
    let host = address.split('/').next().unwrap_or(address);
    host.parse()
        .map_err(|_| SdpError::ConnectionAddress((*address).to_owned()))
}

/// `m=<media> <port>[/<count>] <protocol> <format> ...`.
fn parse_media(value: &str) -> Result<MediaLine, SdpError> {
    let mut fields = value.split_ascii_whitespace();
    let (Some(kind), Some(port), Some(protocol)) = (fields.next(), fields.next(), fields.next())
    else {
        return Err(SdpError::Media(value.to_owned()));
    };
    let port = port
        .split('/')
        .next()
        .unwrap_or(port)
        .parse()
        .map_err(|_| SdpError::Port(port.to_owned()))?;
    Ok(MediaLine {
        kind: kind.to_owned(),
        port,
        protocol: protocol.to_owned(),
        formats: fields.map(str::to_owned).collect(),
    })
}

/// The audio stream of `media` and its `section`, with `session`'s
/// connection and direction as defaults.
fn audio_stream(
    session: &Section,
    media: &MediaLine,
    section: &Section,
) -> Result<AudioStream, SdpError> {
    let connection = section.connection.or(session.connection);
    let remote = match connection.map(parse_connection).transpose()? {
        Some(address) if media.port != 0 && !address.is_unspecified() => {
            Some(SocketAddr::new(address, media.port))
        }
        Some(_) => None,
        None if media.port == 0 => None,
        None => return Err(SdpError::MissingConnection),
    };
    // By payload type, the first of each: one slot per RTP payload type
    // keeps the lookups linear however many formats and attributes come.
    let mut rtpmaps: Vec<Option<RtpMap>> = vec![None; PAYLOAD_TYPES];
    let mut fmtps: Vec<Option<&str>> = vec![None; PAYLOAD_TYPES];
    let mut ptime = None;
    let mut rtcp_mux = false;
    for attribute in &section.attributes {
        let (name, value) = attribute.split_once(':').unwrap_or((attribute, ""));
        match name.trim() {
            "rtpmap" => {
                let map = parse_rtpmap(value)?;
                if let Some(slot @ None) = rtpmaps.get_mut(usize::from(map.payload_type)) {
                    *slot = Some(map);
                }
            }
            "fmtp" => {
                if let Some((payload_type, parameters)) = value
                    .trim_start()
                    .split_once(|c: char| c.is_ascii_whitespace())
                {
                    let slot = payload_type
                        .parse::<usize>()
                        .ok()
                        .and_then(|payload_type| fmtps.get_mut(payload_type));
                    if let Some(slot @ None) = slot {
                        *slot = Some(parameters.trim());
                    }
                }
            }
            "ptime" => ptime = value.trim().parse().ok().filter(|&ptime: &u32| ptime != 0),
            "rtcp-mux" => rtcp_mux = true,
            _ => {}
        }
    }
    let direction = direction_of(&section.attributes).or_else(|| direction_of(&session.attributes));
    let mut formats = Vec::new();
    if media.protocol.to_ascii_uppercase().contains("RTP/") {
        for format in &media.formats {
            let payload_type = format
                .parse::<u8>()
                .ok()
                .filter(|&payload_type| usize::from(payload_type) < PAYLOAD_TYPES)
                .ok_or_else(|| SdpError::PayloadType(format.clone()))?;
            let slot = usize::from(payload_type);
            let map = rtpmaps
                .get(slot)
                .cloned()
                .flatten()
                .or_else(|| static_format(payload_type));
            if let Some(mut map) = map {
                map.fmtp = fmtps.get(slot).copied().flatten().map(str::to_owned);
                formats.push(map);
            }
        }
    }
    Ok(AudioStream {
        remote,
        port: media.port,
        formats,
        direction: direction.unwrap_or(Direction::SendRecv),
        ptime,
        rtcp_mux,
    })
}

/// The last direction attribute among `attributes`.
fn direction_of(attributes: &[&str]) -> Option<Direction> {
    attributes
        .iter()
        .filter_map(|attribute| match attribute.trim() {
            "sendrecv" => Some(Direction::SendRecv),
            "sendonly" => Some(Direction::SendOnly),
            "recvonly" => Some(Direction::RecvOnly),
            "inactive" => Some(Direction::Inactive),
            _ => None,
        })
        .next_back()
}

/// `a=rtpmap:<payload type> <encoding>/<clock rate>[/<channels>]`.
fn parse_rtpmap(value: &str) -> Result<RtpMap, SdpError> {
    let invalid = || SdpError::RtpMap(value.to_owned());
    let (payload_type, encoding) = value
        .trim()
        .split_once(|c: char| c.is_ascii_whitespace())
        .ok_or_else(invalid)?;
    let payload_type = payload_type
        .parse::<u8>()
        .ok()
        .filter(|&payload_type| usize::from(payload_type) < PAYLOAD_TYPES)
        .ok_or_else(invalid)?;
    let mut parts = encoding.trim().split('/');
    let (Some(name), Some(clock_rate)) = (parts.next(), parts.next()) else {
        return Err(invalid());
    };
    let clock_rate = clock_rate.parse().map_err(|_| invalid())?;
    let channels = match parts.next() {
        Some(channels) => channels.parse().map_err(|_| invalid())?,
        None => 1,
    };
    if name.is_empty() || parts.next().is_some() {
        return Err(invalid());
    }
    Ok(RtpMap {
        payload_type,
        name: name.to_owned(),
        clock_rate,
        channels,
        fmtp: None,
    })
}

/// The RFC 3551 meaning of a static payload type.
fn static_format(payload_type: u8) -> Option<RtpMap> {
    STATIC_AUDIO
        .iter()
        .find(|(static_type, ..)| *static_type == payload_type)
        .map(|&(payload_type, name, clock_rate, channels)| RtpMap {
            payload_type,
            name: name.to_owned(),
            clock_rate,
            channels,
            fmtp: None,
        })
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use proptest::prelude::*;

    use super::super::samples::{self, mutate, mutation};
    use super::*;

    fn addr(text: &str) -> Option<SocketAddr> {
        Some(text.parse().expect("test address"))
    }

    fn names(audio: &AudioStream) -> Vec<(u8, &str, u32)> {
        audio
            .formats
            .iter()
            .map(|format| (format.payload_type, format.name.as_str(), format.clock_rate))
            .collect()
    }

    #[test]
    fn sipp_offer_gives_its_origin_address_and_pcmu() {
        let sdp = SessionDescription::parse(samples::SIPP).expect("parses");
        assert_eq!(sdp.origin_session_id, 53_655_765);
        assert_eq!(sdp.origin_version, 2_353_687_637);
        assert_eq!(sdp.audio, Some(0));
        let audio = sdp.audio().expect("audio");
        assert_eq!(audio.remote, addr("192.0.2.10:6000"));
        assert_eq!(audio.port, 6000);
        assert_eq!(names(audio), [(0, "PCMU", 8000)]);
        assert_eq!(audio.direction, Direction::SendRecv);
        assert_eq!(audio.ptime, None);
        assert!(!audio.rtcp_mux);
    }

    #[test]
    fn baresip_offer_keeps_format_order_fmtp_ptime_and_rtcp_mux() {
        let sdp = SessionDescription::parse(samples::BARESIP).expect("parses");
        let audio = sdp.audio().expect("audio");
        assert_eq!(
            names(audio),
            [
                (96, "opus", 48000),
                (0, "PCMU", 8000),
                (8, "PCMA", 8000),
                (101, "telephone-event", 8000)
            ]
        );
        assert_eq!(audio.formats[0].channels, 2);
        assert_eq!(
            audio.formats[0].fmtp.as_deref(),
            Some("stereo=1;sprop-stereo=1;maxaveragebitrate=28000")
        );
        assert_eq!(audio.formats[3].fmtp.as_deref(), Some("0-15"));
        assert_eq!(audio.ptime, Some(20));
        assert!(audio.rtcp_mux);
        assert_eq!(audio.remote, addr("192.0.2.20:10000"));
    }

    #[test]
    fn static_payload_types_without_rtpmap_are_filled_in_and_unknown_dynamic_ones_left_out() {
        let sdp = SessionDescription::parse(
            "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n\
             m=audio 4000 RTP/AVP 18 0 8 102\na=fmtp:18 annexb=no\n",
        )
        .expect("parses");
        let audio = sdp.audio().expect("audio");
        assert_eq!(
            names(audio),
            [(18, "G729", 8000), (0, "PCMU", 8000), (8, "PCMA", 8000)]
        );
        assert_eq!(audio.formats[0].fmtp.as_deref(), Some("annexb=no"));
        assert_eq!(sdp.media[0].formats, ["18", "0", "8", "102"]);
    }

    #[test]
    fn audio_and_video_offer_lists_both_lines_and_details_the_audio_one() {
        let sdp = SessionDescription::parse(samples::LINPHONE).expect("parses");
        assert_eq!(sdp.media.len(), 2);
        assert_eq!(sdp.media[1].kind, "video");
        assert_eq!(sdp.media[1].port, 9078);
        assert_eq!(sdp.media[1].protocol, "RTP/AVP");
        assert_eq!(sdp.media[1].formats, ["96", "97"]);
        let audio = sdp.audio().expect("audio");
        assert_eq!(audio.formats.len(), 9);
        assert_eq!(audio.formats[5].name, "G729");
        assert_eq!(audio.formats[5].fmtp.as_deref(), Some("annexb=yes"));
        assert_eq!(audio.formats[0].name, "opus", "video's 96 is not audio's");
    }

    #[test]
    fn video_before_audio_points_audio_at_the_second_line() {
        let sdp = SessionDescription::parse(
            "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n\
             m=video 5000 RTP/AVP 96\na=rtpmap:96 VP8/90000\na=recvonly\n\
             m=audio 4000 RTP/AVP 0\n",
        )
        .expect("parses");
        assert_eq!(sdp.audio, Some(1));
        let audio = sdp.audio().expect("audio");
        assert_eq!(audio.remote, addr("192.0.2.1:4000"));
        assert_eq!(audio.direction, Direction::SendRecv, "video's recvonly");
    }

    #[test]
    fn webrtc_offer_on_address_zero_has_no_remote() {
        let sdp = SessionDescription::parse(samples::CHROME).expect("parses");
        assert_eq!(sdp.origin_session_id, 4_611_731_400_430_051_336);
        assert_eq!(sdp.media[0].protocol, "UDP/TLS/RTP/SAVPF");
        let audio = sdp.audio().expect("audio");
        assert_eq!(audio.remote, None);
        assert_eq!(audio.port, 9);
        assert!(audio.rtcp_mux);
        assert_eq!(audio.formats.len(), 8);
    }

    #[test]
    fn ipv6_media_connection_overrides_the_session_one() {
        let sdp = SessionDescription::parse(samples::IPV6).expect("parses");
        let audio = sdp.audio().expect("audio");
        assert_eq!(audio.remote, addr("[2001:db8::10]:5004"));
        assert_eq!(
            names(audio),
            [(8, "PCMA", 8000), (101, "telephone-event", 8000)]
        );
    }

    #[test]
    fn hold_directions_come_from_session_or_media_level() {
        let sendonly = SessionDescription::parse(samples::HOLD_SENDONLY).expect("parses");
        assert_eq!(
            sendonly.audio().map(|audio| audio.direction),
            Some(Direction::SendOnly)
        );
        let inactive = SessionDescription::parse(samples::HOLD_INACTIVE).expect("parses");
        assert_eq!(
            inactive.audio().map(|audio| audio.direction),
            Some(Direction::Inactive)
        );
        let zero = SessionDescription::parse(samples::HOLD_ZERO_ADDRESS).expect("parses");
        let audio = zero.audio().expect("audio");
        assert_eq!(audio.remote, None);
        assert_eq!(audio.direction, Direction::SendRecv);
        let overridden = SessionDescription::parse(
            "v=0\no=- 1 1 IN IP4 192.0.2.1\nc=IN IP4 192.0.2.1\na=sendonly\n\
             m=audio 4000 RTP/AVP 0\na=recvonly\n",
        )
        .expect("parses without s= and t=");
        assert_eq!(
            overridden.audio().map(|audio| audio.direction),
            Some(Direction::RecvOnly)
        );
    }

    #[test]
    fn rejected_audio_needs_no_connection_and_has_no_remote() {
        let sdp = SessionDescription::parse(
            "v=0\r\no=- 1 2 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n",
        )
        .expect("parses");
        let audio = sdp.audio().expect("audio");
        assert_eq!((audio.port, audio.remote), (0, None));
    }

    #[test]
    fn description_without_audio_has_none() {
        let sdp = SessionDescription::parse(
            "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\nc=IN IP4 192.0.2.1\nt=0 0\n\
             m=image 4000 udptl t38\n",
        )
        .expect("parses");
        assert_eq!((sdp.audio, sdp.audio()), (None, None));
        assert_eq!(sdp.media[0].formats, ["t38"]);
    }

    fn error(text: &str) -> String {
        SessionDescription::parse(text)
            .expect_err("must not parse")
            .to_string()
    }

    #[test]
    fn errors_say_which_line_was_wrong_and_how() {
        const HEAD: &str = "v=0\no=- 1 1 IN IP4 192.0.2.1\ns=-\n";
        assert_eq!(error(""), "SDP body is empty");
        assert_eq!(error("\r\n \r\n"), "SDP body is empty");
        assert_eq!(
            error("o=- 1 1 IN IP4 192.0.2.1\n"),
            "SDP must start with v=0, found \"o=- 1 1 IN IP4 192.0.2.1\""
        );
        assert_eq!(
            error("v=1\n"),
            "unsupported SDP version v=1 (only v=0 exists)"
        );
        assert_eq!(
            error("v=0\ns=-\nm=audio 4000 RTP/AVP 0\n"),
            "missing o= line"
        );
        assert_eq!(
            error("v=0\no=- 1 1\n"),
            "o= line not valid (expected <username> <session-id> <version> IN IP4|IP6 <address>): \"- 1 1\""
        );
        assert_eq!(
            error("v=0\no=- x1 1 IN IP4 192.0.2.1\n"),
            "o= session id not a number: \"x1\""
        );
        assert_eq!(
            error("v=0\no=- 1 -1 IN IP4 192.0.2.1\n"),
            "o= session version not a number: \"-1\""
        );
        assert_eq!(
            error(&format!("{HEAD}this is not sdp\n")),
            "line 4 is not <type>=<value>: \"this is not sdp\""
        );
        assert_eq!(
            error(&format!("{HEAD}c=IN IP4\nm=audio 4000 RTP/AVP 0\n")),
            "c= line not valid (expected IN IP4|IP6 <address>): \"IN IP4\""
        );
        assert_eq!(
            error(&format!(
                "{HEAD}m=audio 4000 RTP/AVP 0\nc=IN IP4 pbx.example.com\n"
            )),
            "c= address is not an IP address (host names are not resolved): \"pbx.example.com\""
        );
        assert_eq!(
            error(&format!("{HEAD}m=audio 4000\n")),
            "m= line not valid (expected <media> <port> <protocol> <format> ...): \"audio 4000\""
        );
        assert_eq!(
            error(&format!(
                "{HEAD}c=IN IP4 192.0.2.1\nm=audio 70000 RTP/AVP 0\n"
            )),
            "m= port not a number: \"70000\""
        );
        assert_eq!(
            error(&format!("{HEAD}m=audio 4000 RTP/AVP 0\n")),
            "missing c= line for audio"
        );
        assert_eq!(
            error(&format!(
                "{HEAD}c=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 0 PCMU\n"
            )),
            "audio m= format is not an RTP payload type (0-127): \"PCMU\""
        );
        assert_eq!(
            error(&format!(
                "{HEAD}c=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 0\na=rtpmap:0 PCMU\n"
            )),
            "a=rtpmap not valid (expected <payload type> <encoding>/<clock rate>[/<channels>]): \"0 PCMU\""
        );
    }

    #[test]
    fn the_first_rtpmap_and_fmtp_of_a_payload_type_count() {
        let sdp = SessionDescription::parse(
            "v=0\no=- 1 1 IN IP4 192.0.2.1\nc=IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 96 0\n\
             a=rtpmap:96 PCMA/8000\na=rtpmap:96 opus/48000/2\na=fmtp:96\ta=1\na=fmtp:96 b=2\n\
             a=rtpmap:0\ttelephone-event/8000\na=rtcp-mux \n",
        )
        .expect("parses");
        let audio = sdp.audio().expect("audio");
        assert_eq!(
            names(audio),
            [(96, "PCMA", 8000), (0, "telephone-event", 8000)]
        );
        assert_eq!(audio.formats[0].fmtp.as_deref(), Some("a=1"));
        assert!(audio.rtcp_mux, "trailing space");
    }

    #[test]
    fn connection_lines_are_only_read_for_the_audio_stream() {
        let sdp = SessionDescription::parse(
            "v=0\no=- 1 1 IN IP4 192.0.2.1\nm=audio 4000 RTP/AVP 0\nc=IN IP4 192.0.2.1\n\
             m=video 5000 RTP/AVP 96\nc=IN IP4 video.example.com\n",
        )
        .expect("the video's host name does not matter");
        assert_eq!(
            sdp.audio().and_then(|audio| audio.remote),
            addr("192.0.2.1:4000")
        );
    }

    #[test]
    fn multicast_ttl_and_port_count_suffixes_are_read_past() {
        let sdp = SessionDescription::parse(
            "v=0\no=- 1 1 IN IP4 192.0.2.1\nc=IN IP4 233.252.0.1/127\nm=audio 4000/2 RTP/AVP 0\n",
        )
        .expect("parses");
        let audio = sdp.audio().expect("audio");
        assert_eq!(audio.remote, addr("233.252.0.1:4000"));
    }

    proptest! {
        #[test]
        fn mutated_real_offers_never_panic(
            sample in 0..samples::ALL.len(),
            mutations in proptest::collection::vec(mutation(), 1..6),
        ) {
            let text = mutate(samples::ALL[sample], &mutations);
            if let Ok(sdp) = SessionDescription::parse(&text) {
                prop_assert_eq!(sdp.audio.is_some(), sdp.audio().is_some());
                prop_assert!(sdp.audio.is_none_or(|index| index < sdp.media.len()));
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in "(?s).{0,400}") {
            let _ = SessionDescription::parse(&text);
            let _ = SessionDescription::parse(&format!("v=0\no=- 1 1 IN IP4 192.0.2.1\n{text}"));
        }
    }
}
