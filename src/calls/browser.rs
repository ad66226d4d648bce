//! Browsers on calls: WebRTC softphones (JsSIP or SIP.js over SIP/WebSocket,
//! and kefu's agent workspace) whose SDP speaks ICE and DTLS-SRTP instead of
//! plain RTP. Each browser leg runs through a [`kefu_media`] WebRTC gateway,
//! whose engine-facing side is an ordinary plain-RTP peer on kefu's media
//! address; everything else in call control (IVR, echo, the relay, the
//! conference, recording) sees that peer and nothing of WebRTC.
//!
//! - A browser **calling** kefu ([`BrowserCaller`]): its offer is answered by
//!   a gateway, and the INVITE's body is replaced by a plain offer from the
//!   gateway's engine side, so the call is set up as any other; what kefu
//!   answers goes back to the browser as the gateway's answer.
//! - kefu **calling** a browser (a phone registered over WebSocket): the
//!   INVITE carries a gateway's offer in the codec the caller speaks (no
//!   transcoding when the browser takes it), and the browser's answer starts
//!   the gateway ([`BrowserOffer`]).
//!
//! - A browser's **new offer** on a bridged call (hold with `sendonly` or
//!   `inactive`, resume): the gateway answers it in the same session, and
//!   call control sees the same change as a plain offer ([`reoffer`]), so
//!   the other party hears music on hold as with a desk phone.

use std::net::SocketAddr;

use kefu_media::driver::webrtc_task::{
    WebRtcHandle, WebRtcOffer, offer_webrtc_gateway, spawn_webrtc_gateway,
};
use kefu_media::sdp::{Codec, Direction, Negotiated, SessionDescription};
use kefu_media::webrtc::gateway::GatewayConfig;
use kefu_media::webrtc::offer::{GatewayCodec, TelephoneEventFormat};
use kefu_signaling::transaction::Transport;

use super::CallContext;

/// Our payload type for telephone-event/8000 in offers to browsers: 8 kHz
/// with Opus too, the one rate every browser has (Firefox has no other, and
/// answers an offer of telephone-event/48000 without key presses).
const EVENTS_8K: u8 = 101;
/// Opus' payload type in offers to browsers (the one Chromium uses).
const OPUS: u8 = 111;

/// Whether an SDP body asks for WebRTC media (ICE and DTLS-SRTP) rather
/// than plain RTP.
pub(super) fn is_webrtc(body: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(body) else {
        return false;
    };
    text.lines().any(|line| {
        line.starts_with("m=audio ")
            && line
                .split_whitespace()
                .nth(2)
                .is_some_and(|protocol| protocol.contains("SAVPF") || protocol.contains("TLS"))
    })
}

/// Whether a registered phone reached over `transport` is a browser.
pub(super) fn is_browser_transport(transport: Transport) -> bool {
    matches!(transport, Transport::Ws | Transport::Wss)
}

fn gateway_config(context: &CallContext) -> GatewayConfig {
    GatewayConfig {
        public_ip: context.media.public_ip,
        ..GatewayConfig::new(vec![context.media.address])
    }
}

/// A browser that called kefu, answered by a gateway that lives as long as
/// the call.
pub(super) struct BrowserCaller {
    gateway: WebRtcHandle,
}

impl BrowserCaller {
    /// Answers the browser's `offer` with a gateway; returns it and the plain
    /// offer that stands for the browser in the rest of call control.
    pub fn answer(context: &CallContext, offer: &[u8]) -> Result<(Self, String), String> {
        let offer = std::str::from_utf8(offer).map_err(|_| "the SDP is not UTF-8".to_owned())?;
        let (browser, engine) = port_pairs(context)?;
        let gateway = spawn_webrtc_gateway(&gateway_config(context), offer, browser, engine)
            .map_err(|error| error.to_string())?;
        let plain = plain_offer(
            gateway.codec(),
            gateway.rtp_addr_for_engine(),
            Direction::SendRecv,
        );
        Ok((Self { gateway }, plain))
    }

    /// The browser's SDP once kefu's leg towards the gateway listens on
    /// `engine_leg`: the gateway's answer.
    pub async fn answer_for(&self, engine_leg: SocketAddr) -> String {
        if let Err(error) = self.gateway.set_engine_peer(engine_leg).await {
            tracing::warn!(%error, "the browser's gateway has ended");
        }
        self.gateway.local_sdp().to_owned()
    }
}

/// The browser's new offer `body` on a call whose gateway is `gateway`:
/// the gateway's answer for the browser, and the plain offer that stands
/// for it in call control (same address and codec, the browser's direction).
pub(super) async fn reoffer(
    gateway: &WebRtcHandle,
    body: &[u8],
) -> Result<(String, String), String> {
    let text = std::str::from_utf8(body).map_err(|_| "the SDP is not UTF-8".to_owned())?;
    let direction = SessionDescription::parse(text)
        .map_err(|error| error.to_string())?
        .audio()
        .map(|audio| audio.direction)
        .ok_or("the new offer has no audio")?;
    let answer = gateway
        .answer_reoffer(text)
        .await
        .map_err(|error| error.to_string())?;
    let plain = plain_offer(gateway.codec(), gateway.rtp_addr_for_engine(), direction);
    Ok((answer, plain))
}

/// A browser phone being rung: the gateway's offer, waiting for its answer.
pub(super) struct BrowserOffer {
    pending: WebRtcOffer,
}

impl BrowserOffer {
    /// An offer in the codec the caller agreed (`codec`, when a browser has
    /// it; Opus otherwise), with telephone-events when the caller has them.
    pub fn new(context: &CallContext, codec: Codec, events: bool) -> Result<Self, String> {
        let codec = offered_codec(codec, events);
        let (browser, engine) = port_pairs(context)?;
        let pending = offer_webrtc_gateway(&gateway_config(context), codec, browser, engine)
            .map_err(|error| error.to_string())?;
        Ok(Self { pending })
    }

    /// The SDP of the INVITE.
    pub fn sdp(&self) -> &str {
        self.pending.offer()
    }

    /// The browser answered with `answer`: the gateway starts, sending the
    /// browser's audio to kefu's leg on `engine_leg`. Returns the gateway and
    /// what that leg agreed with it.
    pub async fn answered(
        self,
        answer: &[u8],
        engine_leg: SocketAddr,
    ) -> Result<(WebRtcHandle, Negotiated), String> {
        let answer = std::str::from_utf8(answer).map_err(|_| "the SDP is not UTF-8".to_owned())?;
        let gateway = self
            .pending
            .accept(answer)
            .map_err(|error| error.to_string())?;
        gateway
            .set_engine_peer(engine_leg)
            .await
            .map_err(|error| error.to_string())?;
        let codec = gateway.codec();
        let negotiated = Negotiated {
            codec: codec.codec,
            payload_type: codec.payload_type,
            telephone_event: codec.telephone_event.map(|events| events.payload_type),
            remote: Some(gateway.rtp_addr_for_engine()),
            direction: Direction::SendRecv,
            ptime: 20,
        };
        Ok((gateway, negotiated))
    }
}

/// What to offer a browser for a caller that agreed `codec`.
fn offered_codec(codec: Codec, events: bool) -> GatewayCodec {
    let (codec, payload_type, clock_rate) = match codec {
        Codec::Pcmu => (Codec::Pcmu, 0, 8_000),
        Codec::Pcma => (Codec::Pcma, 8, 8_000),
        Codec::Opus | Codec::TelephoneEvent => (Codec::Opus, OPUS, 48_000),
    };
    GatewayCodec {
        codec,
        payload_type,
        clock_rate,
        telephone_event: events.then_some(TelephoneEventFormat {
            payload_type: EVENTS_8K,
            clock_rate: 8_000,
        }),
    }
}

/// The gateway's two port pairs: towards the browser and towards the engine.
fn port_pairs(
    context: &CallContext,
) -> Result<
    (
        kefu_media::driver::ports::PortPair,
        kefu_media::driver::ports::PortPair,
    ),
    String,
> {
    let allocate = || {
        context
            .media
            .ports
            .allocate()
            .map_err(|error| format!("no RTP port for the browser: {error}"))
    };
    Ok((allocate()?, allocate()?))
}

/// A plain RTP offer of the gateway's engine side at `at`, in the browser's
/// payload types (the gateway passes packets through with them), going
/// `direction`.
fn plain_offer(codec: GatewayCodec, at: SocketAddr, direction: Direction) -> String {
    let family = if at.is_ipv4() { "IP4" } else { "IP6" };
    let ip = at.ip();
    let mut formats = codec.payload_type.to_string();
    let rtpmap = match codec.codec {
        Codec::Opus => "opus/48000/2",
        Codec::Pcma => "PCMA/8000",
        Codec::Pcmu | Codec::TelephoneEvent => "PCMU/8000",
    };
    let mut attributes = format!("a=rtpmap:{} {rtpmap}\r\n", codec.payload_type);
    if let Some(events) = codec.telephone_event {
        formats.push_str(&format!(" {}", events.payload_type));
        attributes.push_str(&format!(
            "a=rtpmap:{pt} telephone-event/{rate}\r\na=fmtp:{pt} 0-16\r\n",
            pt = events.payload_type,
            rate = events.clock_rate
        ));
    }
    format!(
        "v=0\r\no=- 1 1 IN {family} {ip}\r\ns=kefu browser\r\nc=IN {family} {ip}\r\nt=0 0\r\n\
         m=audio {port} RTP/AVP {formats}\r\n{attributes}a=ptime:20\r\na={direction}\r\n",
        port = at.port(),
        direction = direction.attribute()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_media::sdp;

    #[test]
    fn webrtc_offers_are_told_from_plain_ones() {
        let webrtc = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\n";
        let plain = "v=0\r\nm=audio 4000 RTP/AVP 0 101\r\n";
        assert!(is_webrtc(webrtc.as_bytes()));
        assert!(!is_webrtc(plain.as_bytes()));
        assert!(!is_webrtc(b"\xff\xfe"));
        assert!(!is_webrtc(b""));
    }

    #[test]
    fn the_plain_offer_keeps_the_browsers_payload_types() {
        let codec = GatewayCodec {
            codec: Codec::Opus,
            payload_type: 111,
            clock_rate: 48_000,
            telephone_event: Some(TelephoneEventFormat {
                payload_type: 110,
                clock_rate: 48_000,
            }),
        };
        let at: SocketAddr = "127.0.0.1:30000".parse().unwrap();
        let offer =
            SessionDescription::parse(&plain_offer(codec, at, Direction::SendRecv)).unwrap();
        let agreed = sdp::negotiate(&offer, super::super::session::PREFERENCES).unwrap();
        assert_eq!((agreed.codec, agreed.payload_type), (Codec::Opus, 111));
        assert_eq!(agreed.remote, Some(at));
        let held = SessionDescription::parse(&plain_offer(codec, at, Direction::SendOnly)).unwrap();
        assert_eq!(held.audio().unwrap().direction, Direction::SendOnly);
    }

    #[test]
    fn a_browser_is_offered_the_callers_g711_or_else_opus() {
        let pcma = offered_codec(Codec::Pcma, true);
        assert_eq!((pcma.codec, pcma.payload_type), (Codec::Pcma, 8));
        assert_eq!(pcma.telephone_event.map(|e| e.clock_rate), Some(8_000));
        let opus = offered_codec(Codec::Opus, false);
        assert_eq!((opus.codec, opus.payload_type), (Codec::Opus, 111));
        assert_eq!(opus.telephone_event, None);
    }

    #[test]
    fn key_presses_are_offered_to_browsers_at_8khz_even_with_opus_for_firefox() {
        for codec in [Codec::Pcmu, Codec::Pcma, Codec::Opus] {
            assert_eq!(
                offered_codec(codec, true).telephone_event,
                Some(TelephoneEventFormat {
                    payload_type: 101,
                    clock_rate: 8_000
                }),
                "{codec:?}"
            );
        }
    }
}
