//! One browser's WebRTC audio session bridged to a plain-RTP leg, sans-IO:
//! the [`Gateway`] owns a `str0m` `Rtc` in ICE-lite server mode and RTP
//! mode, answers the browser's offer with host candidates on the configured
//! addresses — or, when kefu calls the browser, makes the offer
//! ([`Gateway::offering`]) and takes the browser's answer
//! ([`Gateway::accept_answer`]); later offers of the browser's (hold,
//! resume) are answered in the same session ([`Gateway::answer_reoffer`]) —
//! and is then fed datagrams from the browser (STUN, DTLS and
//! SRTP, told apart by `str0m`), plain RTP from the engine and the time. It
//! hands back datagrams for either side ([`Gateway::poll_transmit`]),
//! connection changes and key presses ([`Gateway::poll_event`]) and when it
//! next needs the time ([`Gateway::poll_timeout`]). Audio crosses packet for
//! packet with the browser's payload types: decrypted RTP keeps its
//! sequence number, timestamp, marker and SSRC on the way to the engine
//! (header extensions are dropped); RTP from the engine is sent to the
//! browser in the gateway's own SRTP stream, numbered as the relay numbers
//! its outgoing streams ([`OutboundStream`]): the engine's first source keeps
//! its sequence numbers and timestamps, and a new source or a jump (the
//! engine's leg replaced, a transfer) follows on from the last packet sent,
//! so that SRTP's replay window never drops it as old. Only the engine's leg — the address call control
//! names — may send engine-side RTP; RTCP is terminated on each side
//! (`str0m` reports to the browser, the engine's RTCP is dropped). Every
//! datagram is untrusted: a bad one is counted and refused, never a panic.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::{Codec as Str0mCodec, CodecConfig, FormatParams, PayloadParams};
use str0m::media::{Direction, Frequency, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{RtpPacket as SrtpPacket, RtpWrite};
use str0m::{Candidate, Event, IceConnectionState, Input, Output, Rtc};

use super::offer::{GatewayCodec, OfferError, TelephoneEventFormat, read_offer};
use crate::dtmf::Dtmf;
use crate::dtmf::rfc4733::{EventPacket, TelephoneEvent, TelephoneEventReceiver};
use crate::pcm::SampleRate;
use crate::rtp::packet::{RtpError, RtpHeader, RtpPacket, is_rtcp};
use crate::rtp::rewrite::OutboundStream;
use crate::sdp::Codec;

/// How long the browser has to complete ICE and DTLS after the answer.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the browser can reach the gateway, and how long it may take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayConfig {
    /// Addresses of the browser-facing socket announced as ICE host
    /// candidates (the media IP; 127.0.0.1 in tests). All of them must
    /// reach the same socket.
    pub host_ips: Vec<IpAddr>,
    /// The public address a 1:1 NAT forwards to that socket, announced as
    /// one more host candidate (ICE-lite announces host candidates only).
    pub public_ip: Option<IpAddr>,
    /// See [`DEFAULT_CONNECT_TIMEOUT`].
    pub connect_timeout: Duration,
}

impl GatewayConfig {
    /// Host candidates on `host_ips`, no NAT, the default connect timeout.
    pub fn new(host_ips: Vec<IpAddr>) -> Self {
        Self {
            host_ips,
            public_ip: None,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

/// Why a gateway could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    #[error(transparent)]
    Offer(#[from] OfferError),
    #[error("the gateway offers opus/48000, PCMU/8000 or PCMA/8000, not {0}")]
    CannotOffer(&'static str),
    #[error("no ICE host candidate: the gateway's host_ips is empty")]
    NoHostCandidate,
    #[error(
        "{0} cannot be an ICE host candidate (unspecified, multicast, broadcast or link-local address)"
    )]
    BadCandidate(SocketAddr),
}

/// Which side of the gateway a datagram goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The browser, from the browser-facing socket.
    Browser,
    /// The engine's leg, from the engine-facing RTP socket.
    Engine,
}

/// A datagram to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub side: Side,
    pub destination: SocketAddr,
    pub payload: Vec<u8>,
}

/// Why a browser session ended or paused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disconnect {
    /// ICE and DTLS did not complete within the connect timeout.
    NotConnected,
    /// The browser stopped answering ICE consent checks; media resumes and
    /// [`GatewayEvent::Connected`] follows if it comes back.
    ConnectivityLost,
    /// The browser closed the session (DTLS close_notify).
    Closed,
    /// The WebRTC session failed (DTLS fingerprint mismatch, …).
    Failed(String),
}

/// What call control hears from a gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayEvent {
    /// ICE and DTLS are up: audio flows (again, after
    /// [`Disconnect::ConnectivityLost`]).
    Connected,
    Disconnected(Disconnect),
    /// A key press the browser sent as an RFC 4733 telephone-event; the
    /// packets also go to the engine.
    Dtmf(Dtmf),
}

/// Why a datagram was refused (each is counted in [`GatewayStats`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("not STUN, DTLS or SRTP: {0}")]
    Unrecognised(String),
    #[error("refused by the WebRTC session: {0}")]
    Session(String),
    #[error("from {0}, not the engine's leg")]
    WrongSource(SocketAddr),
    #[error("not RTP: {0}")]
    NotRtp(#[from] RtpError),
    #[error("payload type {0} was not negotiated with the browser")]
    PayloadType(u8),
    #[error("the browser is not connected")]
    NotConnected,
    #[error("the browser's offer did not let the gateway send audio")]
    NoSendStream,
    #[error("the session has ended")]
    Ended,
}

/// Counters of a gateway's traffic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GatewayStats {
    pub connected: bool,
    /// Datagrams from the browser (STUN, DTLS, SRTP) `str0m` took.
    pub browser_datagrams: u64,
    /// Datagrams from the browser refused.
    pub browser_rejected: u64,
    /// Decrypted RTP packets from the browser.
    pub browser_rtp: u64,
    /// RTP packets sent on to the engine.
    pub to_engine: u64,
    /// Browser RTP not forwarded: no engine leg named yet, or a payload
    /// type that was not negotiated.
    pub browser_rtp_dropped: u64,
    /// RTP packets from the engine's leg taken for the browser.
    pub engine_rtp: u64,
    /// RTCP from the engine's leg (dropped: RTCP ends at the gateway).
    pub engine_rtcp: u64,
    /// Datagrams on the engine side refused.
    pub engine_rejected: u64,
}

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Connecting { deadline: Instant },
    Connected,
    Interrupted,
    Ended,
}

/// One browser's WebRTC session bridged to plain RTP; see the module doc.
pub struct Gateway {
    rtc: Rtc,
    /// Our SDP: the answer to the browser's offer, or our offer.
    local_sdp: String,
    /// Our offer, until the browser's answer is accepted.
    pending: Option<SdpPendingOffer>,
    codec: GatewayCodec,
    mid: Mid,
    /// The candidate address every browser datagram is taken to have
    /// arrived at (see [`Gateway::handle_browser_datagram`]).
    receive_at: SocketAddr,
    state: State,
    engine_peer: Option<SocketAddr>,
    rtc_timeout: Instant,
    /// The browser-bound stream's numbering, from the engine's first packet.
    outbound: Option<OutboundStream>,
    /// The extended sequence number of the newest engine packet sent.
    engine_sequence: Option<u64>,
    key_presses: Option<(u8, TelephoneEventReceiver)>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<GatewayEvent>,
    stats: GatewayStats,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("codec", &self.codec)
            .field("state", &self.state)
            .field("engine_peer", &self.engine_peer)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Answers the browser's `offer` for a browser-facing socket on `port`;
    /// the answer is [`Self::local_sdp`].
    pub fn new(
        config: &GatewayConfig,
        port: u16,
        offer: &str,
        now: Instant,
    ) -> Result<Self, GatewayError> {
        let read = read_offer(offer)?;
        let (mut rtc, receive_at) = build_rtc(config, port, read.formats, now)?;
        let answer = rtc
            .sdp_api()
            .accept_offer(read.offer)
            .map_err(|error| OfferError::Refused(error.to_string()))?;
        // str0m announces media only once SRTP is up; its answer names the
        // audio stream now (every m-line of its answers has an a=mid).
        let mid = answer
            .media_lines
            .iter()
            .find(|line| !line.disabled && line.typ.to_string() == "audio")
            .map(|line| line.mid())
            .ok_or(OfferError::NoAudio)?;
        let local_sdp = answer.to_sdp_string();
        Self::started(
            config,
            rtc,
            receive_at,
            (local_sdp, None),
            mid,
            read.codec,
            now,
        )
    }

    /// Offers the browser one audio stream in `codec` (with its
    /// telephone-event, if any) for a browser-facing socket on `port`: kefu
    /// calls a browser. The offer is [`Self::local_sdp`]; the browser's
    /// answer goes to [`Self::accept_answer`].
    pub fn offering(
        config: &GatewayConfig,
        port: u16,
        codec: GatewayCodec,
        now: Instant,
    ) -> Result<Self, GatewayError> {
        let (mut rtc, receive_at) = build_rtc(config, port, offered_formats(codec)?, now)?;
        let mut change = rtc.sdp_api();
        let mid = change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let (offer, pending) = change
            .apply()
            .ok_or_else(|| OfferError::Refused("str0m made no offer".to_owned()))?;
        let local_sdp = offer.to_sdp_string();
        let sdp = (local_sdp, Some(pending));
        Self::started(config, rtc, receive_at, sdp, mid, codec, now)
    }

    fn started(
        config: &GatewayConfig,
        mut rtc: Rtc,
        receive_at: SocketAddr,
        (local_sdp, pending): (String, Option<SdpPendingOffer>),
        mid: Mid,
        codec: GatewayCodec,
        now: Instant,
    ) -> Result<Self, GatewayError> {
        let rtc_timeout = loop {
            match rtc.poll_output() {
                Ok(Output::Timeout(at)) => break at,
                Ok(_) => {}
                Err(error) => return Err(OfferError::Refused(error.to_string()).into()),
            }
        };
        let key_presses = codec.telephone_event.and_then(|format| {
            let rate = SampleRate::new(format.clock_rate)?;
            Some((format.payload_type, TelephoneEventReceiver::new(rate)))
        });
        Ok(Self {
            rtc,
            local_sdp,
            pending,
            codec,
            mid,
            receive_at,
            state: State::Connecting {
                deadline: now + config.connect_timeout,
            },
            engine_peer: None,
            rtc_timeout,
            outbound: None,
            engine_sequence: None,
            key_presses,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            stats: GatewayStats::default(),
        })
    }

    /// Our SDP for the browser — the answer to its offer, or our offer —
    /// with the ICE-lite credentials, the DTLS fingerprint, the host
    /// candidates and [`Self::codec`].
    pub fn local_sdp(&self) -> &str {
        &self.local_sdp
    }

    /// Takes the browser's answer to [`Self::offering`]'s offer. An answer
    /// without our telephone-event leaves key presses out.
    pub fn accept_answer(&mut self, answer: &str, now: Instant) -> Result<(), OfferError> {
        let pending = self
            .pending
            .take()
            .ok_or_else(|| OfferError::Refused("no offer is waiting for an answer".to_owned()))?;
        let answer = SdpAnswer::from_sdp_string(answer)
            .map_err(|error| OfferError::Syntax(error.to_string()))?;
        let answered: Vec<PayloadParams> = answer
            .media_lines
            .iter()
            .filter(|line| !line.disabled && line.typ.to_string() == "audio")
            .flat_map(|line| line.rtp_params())
            .collect();
        if !answered
            .iter()
            .any(|params| *params.pt() == self.codec.payload_type)
        {
            return Err(OfferError::NoCommonCodec {
                offered: format!("an answer without {}", self.codec.codec.name()),
            });
        }
        if let Some(events) = self.codec.telephone_event {
            if !answered
                .iter()
                .any(|params| *params.pt() == events.payload_type)
            {
                self.codec.telephone_event = None;
                self.key_presses = None;
            }
        }
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|error| OfferError::Refused(error.to_string()))?;
        self.drain(now);
        Ok(())
    }

    /// Answers a new offer the browser makes in the same session — hold
    /// (`sendonly`, `inactive`) or resume — with ICE, DTLS and the stream
    /// kept; the answer mirrors the direction asked for. The codec in use
    /// must stay offered: an offer without it is refused and changes
    /// nothing.
    pub fn answer_reoffer(&mut self, offer: &str, now: Instant) -> Result<String, OfferError> {
        let offer = SdpOffer::from_sdp_string(offer)
            .map_err(|error| OfferError::Syntax(error.to_string()))?;
        let keeps_codec = offer
            .media_lines
            .iter()
            .filter(|line| !line.disabled && line.typ.to_string() == "audio")
            .flat_map(|line| line.rtp_params())
            .any(|params| *params.pt() == self.codec.payload_type);
        if !keeps_codec {
            return Err(OfferError::NoCommonCodec {
                offered: format!("a new offer without {}", self.codec.codec.name()),
            });
        }
        let answer = self
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|error| OfferError::Refused(error.to_string()))?;
        self.local_sdp = answer.to_sdp_string();
        self.drain(now);
        Ok(self.local_sdp.clone())
    }

    /// The negotiated codec and payload types, for the engine's leg.
    pub fn codec(&self) -> GatewayCodec {
        self.codec
    }

    /// Whether ICE and DTLS are up.
    pub fn is_connected(&self) -> bool {
        self.state == State::Connected
    }

    /// Names the engine's leg: where browser audio goes, and the only
    /// source of engine-side RTP accepted.
    pub fn set_engine_peer(&mut self, peer: Option<SocketAddr>) {
        self.engine_peer = peer;
    }

    /// Takes a datagram that arrived on the browser-facing socket. All host
    /// candidates are addresses of that one socket, so it is taken to have
    /// arrived at the first of them whatever address the browser used.
    pub fn handle_browser_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        datagram: &[u8],
    ) -> Result<(), Rejected> {
        let result = self.receive_from_browser(now, source, datagram);
        match result {
            Ok(()) => self.stats.browser_datagrams += 1,
            Err(_) => self.stats.browser_rejected += 1,
        }
        result
    }

    fn receive_from_browser(
        &mut self,
        now: Instant,
        source: SocketAddr,
        datagram: &[u8],
    ) -> Result<(), Rejected> {
        if self.state == State::Ended {
            return Err(Rejected::Ended);
        }
        let receive = Receive::new(Protocol::Udp, source, self.receive_at, datagram)
            .map_err(|error| Rejected::Unrecognised(error.to_string()))?;
        let result = self.rtc.handle_input(Input::Receive(now, receive));
        self.drain(now);
        result.map_err(|error| Rejected::Session(error.to_string()))
    }

    /// Takes a datagram that arrived on the engine-facing RTP or RTCP port.
    pub fn handle_engine_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        datagram: &[u8],
    ) -> Result<(), Rejected> {
        let result = self.receive_from_engine(now, source, datagram);
        if result.is_err() {
            self.stats.engine_rejected += 1;
        }
        result
    }

    fn receive_from_engine(
        &mut self,
        now: Instant,
        source: SocketAddr,
        datagram: &[u8],
    ) -> Result<(), Rejected> {
        // The leg's RTP port, or its RTCP port next to it.
        let from_peer = self.engine_peer.is_some_and(|peer| {
            peer.ip() == source.ip()
                && (peer.port() == source.port()
                    || peer.port().checked_add(1) == Some(source.port()))
        });
        if !from_peer {
            return Err(Rejected::WrongSource(source));
        }
        if is_rtcp(datagram) {
            self.stats.engine_rtcp += 1;
            return Ok(());
        }
        let packet = RtpPacket::parse(datagram)?;
        let header = packet.header;
        let negotiated = header.payload_type == self.codec.payload_type
            || self
                .codec
                .telephone_event
                .is_some_and(|format| format.payload_type == header.payload_type);
        if !negotiated {
            return Err(Rejected::PayloadType(header.payload_type));
        }
        match self.state {
            State::Connected => {}
            State::Ended => return Err(Rejected::Ended),
            State::Connecting { .. } | State::Interrupted => return Err(Rejected::NotConnected),
        }
        let outbound = self.outbound.get_or_insert_with(|| {
            OutboundStream::new(
                header.ssrc,
                header.sequence,
                header.timestamp,
                self.codec.clock_rate,
            )
        });
        let rewritten = outbound.rewrite(&header, now);
        let sequence = self.extend_sequence(rewritten.sequence);
        let mut direct = self.rtc.direct_api();
        let Some(stream) = direct.stream_tx_by_mid(self.mid, None) else {
            return Err(Rejected::NoSendStream);
        };
        stream.write_rtp(
            RtpWrite::new(
                header.payload_type.into(),
                sequence.into(),
                rewritten.timestamp,
                now,
                packet.payload,
            )
            .marker(header.marker),
        );
        self.stats.engine_rtp += 1;
        self.drain(now);
        // str0m queues what is written and sends it on its next timeout,
        // due at once: the packet leaves now, not a driver wake-up later.
        if self.rtc_timeout <= now {
            self.handle_timeout(now);
        }
        Ok(())
    }

    /// Extends a 16-bit sequence number from the engine to the 64-bit one
    /// SRTP's rollover counter needs, relative to the newest one seen.
    fn extend_sequence(&mut self, sequence: u16) -> u64 {
        let extended = match self.engine_sequence {
            None => u64::from(sequence),
            Some(newest) => {
                // Truncation intended: the distance from the newest number,
                // forwards or backwards, within half the 16-bit space.
                let distance = sequence.wrapping_sub(newest as u16) as i16;
                newest.saturating_add_signed(i64::from(distance))
            }
        };
        if self.engine_sequence.is_none_or(|newest| extended > newest) {
            self.engine_sequence = Some(extended);
        }
        extended
    }

    /// When [`Self::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Instant {
        let mut at = self.rtc_timeout;
        if let State::Connecting { deadline } = self.state {
            at = at.min(deadline);
        }
        if let Some(key_timeout) = self
            .key_presses
            .as_ref()
            .and_then(|(_, receiver)| receiver.poll_timeout())
        {
            at = at.min(key_timeout);
        }
        at
    }

    /// Moves time forward: ICE consent, DTLS retransmission, RTCP, the
    /// connect deadline and key presses whose end packets were lost.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let State::Connecting { deadline } = self.state {
            if now >= deadline {
                self.end(Disconnect::NotConnected);
            }
        }
        if self.state != State::Ended {
            if let Err(error) = self.rtc.handle_input(Input::Timeout(now)) {
                self.end(Disconnect::Failed(error.to_string()));
            }
            self.drain(now);
        }
        if let Some((_, receiver)) = &mut self.key_presses {
            receiver.handle_timeout(now);
        }
        self.collect_key_presses();
    }

    /// Ends the session: an RTCP BYE and a DTLS close_notify to the browser
    /// are queued for sending; nothing crosses the gateway afterwards.
    pub fn close(&mut self, now: Instant) {
        if self.state == State::Ended {
            return;
        }
        self.state = State::Ended;
        if self.rtc.close().is_ok() {
            self.drain(now);
        }
        self.rtc.disconnect();
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next connection change or key press.
    pub fn poll_event(&mut self) -> Option<GatewayEvent> {
        self.events.pop_front()
    }

    /// The counters so far.
    pub fn stats(&self) -> GatewayStats {
        GatewayStats {
            connected: self.is_connected(),
            ..self.stats
        }
    }

    /// Drains `str0m` until it names its next timeout (after every input,
    /// as its API requires).
    fn drain(&mut self, now: Instant) {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(at)) => {
                    self.rtc_timeout = at;
                    break;
                }
                Ok(Output::Transmit(transmit)) => self.transmits.push_back(Transmit {
                    side: Side::Browser,
                    destination: transmit.destination,
                    payload: transmit.contents.into(),
                }),
                Ok(Output::Event(event)) => self.handle_event(now, event),
                Err(error) => {
                    self.end(Disconnect::Failed(error.to_string()));
                    break;
                }
            }
        }
    }

    fn handle_event(&mut self, now: Instant, event: Event) {
        use IceConnectionState::{Completed, Connected, Disconnected};
        match (event, self.state) {
            (Event::Connected, State::Connecting { .. })
            | (Event::IceConnectionStateChange(Connected | Completed), State::Interrupted) => {
                self.state = State::Connected;
                self.events.push_back(GatewayEvent::Connected);
            }
            (Event::IceConnectionStateChange(Disconnected), State::Connected) => {
                self.state = State::Interrupted;
                self.events
                    .push_back(GatewayEvent::Disconnected(Disconnect::ConnectivityLost));
            }
            (Event::Closed, _) => self.end(Disconnect::Closed),
            (Event::RtpPacket(packet), _) => self.forward_to_engine(now, &packet),
            _ => {}
        }
    }

    fn forward_to_engine(&mut self, now: Instant, packet: &SrtpPacket) {
        self.stats.browser_rtp += 1;
        let payload_type = *packet.header.payload_type;
        let is_key_press = self
            .key_presses
            .as_ref()
            .is_some_and(|(event_type, _)| *event_type == payload_type);
        if is_key_press {
            self.hear_key_press(now, packet);
        } else if payload_type != self.codec.payload_type {
            self.stats.browser_rtp_dropped += 1;
            return;
        }
        let Some(destination) = self.engine_peer else {
            self.stats.browser_rtp_dropped += 1;
            return;
        };
        let header = RtpHeader {
            marker: packet.header.marker,
            payload_type,
            sequence: packet.header.sequence_number,
            timestamp: packet.header.timestamp,
            ssrc: *packet.header.ssrc,
        };
        self.transmits.push_back(Transmit {
            side: Side::Engine,
            destination,
            payload: header.encode(&packet.payload),
        });
        self.stats.to_engine += 1;
    }

    fn hear_key_press(&mut self, now: Instant, packet: &SrtpPacket) {
        let (Some((_, receiver)), Ok(event)) = (
            &mut self.key_presses,
            TelephoneEvent::parse(&packet.payload),
        ) else {
            return;
        };
        receiver.handle_packet(
            &EventPacket {
                sequence: packet.header.sequence_number,
                timestamp: packet.header.timestamp,
                marker: packet.header.marker,
                event,
            },
            now,
        );
        self.collect_key_presses();
    }

    fn collect_key_presses(&mut self) {
        if let Some((_, receiver)) = &mut self.key_presses {
            while let Some(key_press) = receiver.poll_event() {
                self.events.push_back(GatewayEvent::Dtmf(key_press));
            }
        }
    }

    fn end(&mut self, reason: Disconnect) {
        if self.state != State::Ended {
            self.state = State::Ended;
            self.rtc.disconnect();
            self.events.push_back(GatewayEvent::Disconnected(reason));
        }
    }
}

/// A `str0m` peer in ICE-lite server and RTP mode that knows only
/// `formats`, with a host candidate per configured address on `port`, and
/// the candidate address browser datagrams are taken to arrive at.
fn build_rtc(
    config: &GatewayConfig,
    port: u16,
    formats: Vec<PayloadParams>,
    now: Instant,
) -> Result<(Rtc, SocketAddr), GatewayError> {
    let candidates: Vec<SocketAddr> = config
        .host_ips
        .iter()
        .chain(&config.public_ip)
        .map(|&ip| SocketAddr::new(ip, port))
        .collect();
    let Some(&receive_at) = candidates.first() else {
        return Err(GatewayError::NoHostCandidate);
    };
    let mut rtc_config = Rtc::builder()
        .set_ice_lite(true)
        .set_rtp_mode(true)
        .clear_codecs();
    *rtc_config.codec_config() = CodecConfig::new_from_payload_params(formats);
    let mut rtc = rtc_config.build(now);
    for &address in &candidates {
        let candidate =
            Candidate::host(address, "udp").map_err(|_| GatewayError::BadCandidate(address))?;
        // None: the same address twice; the first one stands.
        let _ = rtc.add_local_candidate(candidate);
    }
    Ok((rtc, receive_at))
}

/// The formats of an offer in `codec`: the codec and its telephone-event.
fn offered_formats(codec: GatewayCodec) -> Result<Vec<PayloadParams>, GatewayError> {
    let (str0m_codec, rate, channels, format) = match codec.codec {
        Codec::Opus => (
            Str0mCodec::Opus,
            Frequency::FORTY_EIGHT_KHZ,
            Some(2),
            FormatParams {
                min_p_time: Some(10),
                use_inband_fec: Some(true),
                ..FormatParams::default()
            },
        ),
        Codec::Pcmu => (
            Str0mCodec::PCMU,
            Frequency::EIGHT_KHZ,
            None,
            FormatParams::default(),
        ),
        Codec::Pcma => (
            Str0mCodec::PCMA,
            Frequency::EIGHT_KHZ,
            None,
            FormatParams::default(),
        ),
        Codec::TelephoneEvent => return Err(GatewayError::CannotOffer(codec.codec.name())),
    };
    let mut config = CodecConfig::new_from_payload_params(Vec::new());
    config.add_config(
        codec.payload_type.into(),
        None,
        str0m_codec,
        rate,
        channels,
        format,
    );
    if let Some(TelephoneEventFormat {
        payload_type,
        clock_rate,
    }) = codec.telephone_event
    {
        let rate = if clock_rate == 48_000 {
            Frequency::FORTY_EIGHT_KHZ
        } else {
            Frequency::EIGHT_KHZ
        };
        let events = FormatParams::default();
        config.add_config(
            payload_type.into(),
            None,
            Str0mCodec::Tele,
            rate,
            None,
            events,
        );
    }
    Ok(config.params().to_vec())
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use proptest::prelude::*;
    use str0m::change::SdpOffer;
    use str0m::format::{Codec as Str0mCodec, FormatParams};
    use str0m::media::{Direction, Frequency, MediaKind};

    use super::*;
    use crate::sdp::Codec;
    use crate::webrtc::offer::TelephoneEventFormat;

    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
    const PORT: u16 = 40_000;

    /// What Chromium offers for audio: opus, PCMU, PCMA and telephone-events
    /// at 48 and 8 kHz.
    fn chromium_codecs(codecs: &mut CodecConfig) {
        codecs.enable_opus(true, false);
        codecs.enable_pcmu(true, false);
        codecs.enable_pcma(true, false);
        telephone_events(codecs);
    }

    fn telephone_events(codecs: &mut CodecConfig) {
        for (payload_type, rate) in [
            (110, Frequency::FORTY_EIGHT_KHZ),
            (126, Frequency::EIGHT_KHZ),
        ] {
            codecs.add_config(
                payload_type.into(),
                None,
                Str0mCodec::Tele,
                rate,
                None,
                FormatParams::default(),
            );
        }
    }

    fn browser_offer(kind: MediaKind, codecs: impl FnOnce(&mut CodecConfig)) -> String {
        let mut config = Rtc::builder().set_rtp_mode(true).clear_codecs();
        codecs(config.codec_config());
        let mut rtc = config.build(Instant::now());
        let candidate = Candidate::host(SocketAddr::new(LOOPBACK, 50_000), "udp").unwrap();
        rtc.add_local_candidate(candidate);
        let mut change = rtc.sdp_api();
        change.add_media(kind, Direction::SendRecv, None, None, None);
        let (offer, _pending) = change.apply().unwrap();
        offer.to_sdp_string()
    }

    fn gateway(offer: &str) -> Result<Gateway, GatewayError> {
        Gateway::new(
            &GatewayConfig::new(vec![LOOPBACK]),
            PORT,
            offer,
            Instant::now(),
        )
    }

    fn offer_error(offer: &str) -> OfferError {
        match gateway(offer) {
            Err(GatewayError::Offer(error)) => error,
            other => panic!("expected an offer error, got {other:?}"),
        }
    }

    #[test]
    fn a_chromium_offer_is_answered_ice_lite_with_opus_and_the_48khz_telephone_event() {
        let gateway = gateway(&browser_offer(MediaKind::Audio, chromium_codecs)).unwrap();
        assert_eq!(
            gateway.codec(),
            GatewayCodec {
                codec: Codec::Opus,
                payload_type: 111,
                clock_rate: 48_000,
                telephone_event: Some(TelephoneEventFormat {
                    payload_type: 110,
                    clock_rate: 48_000
                }),
            }
        );
        let answer = gateway.local_sdp();
        for expected in [
            "a=ice-lite",
            "a=ice-ufrag:",
            "a=ice-pwd:",
            "a=fingerprint:sha-256 ",
            "a=setup:passive",
            "a=candidate:",
            "127.0.0.1 40000 typ host",
            "a=rtpmap:111 opus/48000/2",
            "a=rtpmap:110 telephone-event/48000",
            "a=sendrecv",
        ] {
            assert!(
                answer.contains(expected),
                "{expected:?} missing in\n{answer}"
            );
        }
        for unexpected in ["PCMU", "PCMA", "telephone-event/8000"] {
            assert!(!answer.contains(unexpected), "{unexpected:?} in\n{answer}");
        }
        assert!(!gateway.is_connected());
    }

    /// Firefox 153 ESR's offer for the workspace's call (JsSIP), verbatim
    /// but for its line ends: host candidates as mDNS names, actpass, a
    /// recvonly extmap, braced msids, and telephone-event at 8 kHz only.
    const FIREFOX_OFFER: &str = "\
v=0
o=mozilla...THIS_IS_SDPARTA-99.0 4310839741672573887 0 IN IP4 0.0.0.0
s=-
t=0 0
a=sendrecv
a=fingerprint:sha-256 D3:86:F5:A4:09:C4:2B:3F:2F:08:25:38:78:0B:69:A1:4D:90:64:55:68:58:47:42:90:CB:03:EA:0B:08:5B:E7
a=group:BUNDLE 0
a=ice-options:trickle
a=msid-semantic:WMS *
m=audio 9 UDP/TLS/RTP/SAVPF 109 9 0 8 101
c=IN IP4 0.0.0.0
a=candidate:0 1 UDP 2122187007 4d08058a-9f38-4edd-aca1-7cb7d207394d.local 34196 typ host
a=candidate:1 1 UDP 2122252543 c46f24d6-1b9f-45dd-a497-ed0ac0be94a9.local 43993 typ host
a=candidate:2 1 TCP 2105458943 4d08058a-9f38-4edd-aca1-7cb7d207394d.local 9 typ host tcptype active
a=candidate:3 1 TCP 2105524479 c46f24d6-1b9f-45dd-a497-ed0ac0be94a9.local 9 typ host tcptype active
a=candidate:0 2 UDP 2122187006 4d08058a-9f38-4edd-aca1-7cb7d207394d.local 45758 typ host
a=candidate:1 2 UDP 2122252542 c46f24d6-1b9f-45dd-a497-ed0ac0be94a9.local 33236 typ host
a=candidate:2 2 TCP 2105458942 4d08058a-9f38-4edd-aca1-7cb7d207394d.local 9 typ host tcptype active
a=candidate:3 2 TCP 2105524478 c46f24d6-1b9f-45dd-a497-ed0ac0be94a9.local 9 typ host tcptype active
a=sendrecv
a=end-of-candidates
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
a=extmap:2/recvonly urn:ietf:params:rtp-hdrext:csrc-audio-level
a=extmap:3 urn:ietf:params:rtp-hdrext:sdes:mid
a=extmap:7 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01
a=extmap-allow-mixed
a=fmtp:109 maxplaybackrate=48000;stereo=1;useinbandfec=1
a=fmtp:101 0-15
a=ice-pwd:04ff261368d67e4c67fe70e716cdbcfd
a=ice-ufrag:63386e3a
a=mid:0
a=msid:{899e151f-c531-4e21-a294-5da8e79a2141} {06654646-3c98-4cae-a04b-730dd67e42d4}
a=rtcp:45758 IN IP4 4d08058a-9f38-4edd-aca1-7cb7d207394d.local
a=rtcp-fb:109 transport-cc
a=rtcp-fb:9 transport-cc
a=rtcp-fb:0 transport-cc
a=rtcp-fb:8 transport-cc
a=rtcp-mux
a=rtpmap:109 opus/48000/2
a=rtpmap:9 G722/8000/1
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=setup:actpass
a=ssrc:544992750 cname:{ae98fc2e-da1c-4fa0-a8e2-7b33f41d8fca}
";

    /// What Firefox answers with: opus, PCMU, PCMA, and telephone-event at
    /// 8 kHz only (it has no other rate).
    fn firefox_codecs(codecs: &mut CodecConfig) {
        codecs.enable_opus(true, false);
        codecs.enable_pcmu(true, false);
        codecs.enable_pcma(true, false);
        codecs.add_config(
            101.into(),
            None,
            Str0mCodec::Tele,
            Frequency::EIGHT_KHZ,
            None,
            FormatParams::default(),
        );
    }

    /// A browser that knows `codecs` answers `offer`.
    fn browser_answer(offer: &str, codecs: impl FnOnce(&mut CodecConfig)) -> String {
        let mut config = Rtc::builder().set_rtp_mode(true).clear_codecs();
        codecs(config.codec_config());
        let mut rtc = config.build(Instant::now());
        let candidate = Candidate::host(SocketAddr::new(LOOPBACK, 50_000), "udp").unwrap();
        rtc.add_local_candidate(candidate);
        let offer = SdpOffer::from_sdp_string(offer).unwrap();
        rtc.sdp_api().accept_offer(offer).unwrap().to_sdp_string()
    }

    /// kefu calling a browser in Opus with telephone-events at `rate`.
    fn opus_offer(events_rate: u32) -> Gateway {
        let codec = GatewayCodec {
            codec: Codec::Opus,
            payload_type: 111,
            clock_rate: 48_000,
            telephone_event: Some(TelephoneEventFormat {
                payload_type: 101,
                clock_rate: events_rate,
            }),
        };
        Gateway::offering(
            &GatewayConfig::new(vec![LOOPBACK]),
            PORT,
            codec,
            Instant::now(),
        )
        .unwrap()
    }

    #[test]
    fn a_firefox_offer_is_answered_ice_lite_with_opus_and_its_8khz_telephone_event() {
        let gateway = gateway(&FIREFOX_OFFER.replace('\n', "\r\n")).unwrap();
        assert_eq!(
            gateway.codec(),
            GatewayCodec {
                codec: Codec::Opus,
                payload_type: 109,
                clock_rate: 48_000,
                telephone_event: Some(TelephoneEventFormat {
                    payload_type: 101,
                    clock_rate: 8_000
                }),
            }
        );
        let answer = gateway.local_sdp();
        for expected in [
            "a=ice-lite",
            "a=setup:passive",
            "127.0.0.1 40000 typ host",
            "a=rtpmap:109 opus/48000/2",
            "a=rtpmap:101 telephone-event/8000",
        ] {
            assert!(
                answer.contains(expected),
                "{expected:?} missing in\n{answer}"
            );
        }
        for unexpected in ["G722", "PCMU", "PCMA"] {
            assert!(!answer.contains(unexpected), "{unexpected:?} in\n{answer}");
        }
    }

    #[test]
    fn firefox_keeps_an_opus_offers_key_presses_only_at_8khz() {
        let mut at_8khz = opus_offer(8_000);
        let answer = browser_answer(at_8khz.local_sdp(), firefox_codecs);
        at_8khz.accept_answer(&answer, Instant::now()).unwrap();
        let codec = at_8khz.codec();
        assert_eq!((codec.codec, codec.payload_type), (Codec::Opus, 111));
        assert_eq!(
            codec.telephone_event,
            Some(TelephoneEventFormat {
                payload_type: 101,
                clock_rate: 8_000
            })
        );
        assert!(at_8khz.key_presses.is_some());
        // Chromium has both rates; Firefox answers 48 kHz without key presses.
        let mut at_48khz = opus_offer(48_000);
        let answer = browser_answer(at_48khz.local_sdp(), firefox_codecs);
        at_48khz.accept_answer(&answer, Instant::now()).unwrap();
        assert_eq!(at_48khz.codec().telephone_event, None);
        assert!(at_48khz.key_presses.is_none());
        let mut chromium = opus_offer(8_000);
        let answer = browser_answer(chromium.local_sdp(), chromium_codecs);
        chromium.accept_answer(&answer, Instant::now()).unwrap();
        assert_eq!(chromium.codec(), codec);
    }

    #[test]
    fn a_g711_offer_gets_pcmu_before_pcma_and_the_8khz_telephone_event() {
        let offer = browser_offer(MediaKind::Audio, |codecs| {
            codecs.enable_pcma(true, false);
            codecs.enable_pcmu(true, false);
            telephone_events(codecs);
        });
        let pcmu = gateway(&offer).unwrap();
        assert_eq!(
            pcmu.codec(),
            GatewayCodec {
                codec: Codec::Pcmu,
                payload_type: 0,
                clock_rate: 8_000,
                telephone_event: Some(TelephoneEventFormat {
                    payload_type: 126,
                    clock_rate: 8_000
                }),
            }
        );
        assert!(pcmu.local_sdp().contains("a=rtpmap:0 PCMU/8000"));
        let pcma_only = browser_offer(MediaKind::Audio, |codecs| codecs.enable_pcma(true, false));
        let codec = gateway(&pcma_only).unwrap().codec();
        assert_eq!((codec.codec, codec.payload_type), (Codec::Pcma, 8));
        assert_eq!(codec.telephone_event, None);
    }

    #[test]
    fn a_public_ip_is_announced_as_one_more_host_candidate() {
        let config = GatewayConfig {
            public_ip: Some(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7))),
            ..GatewayConfig::new(vec![IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3))])
        };
        let offer = browser_offer(MediaKind::Audio, chromium_codecs);
        let gateway = Gateway::new(&config, PORT, &offer, Instant::now()).unwrap();
        assert!(gateway.local_sdp().contains("10.1.2.3 40000 typ host"));
        assert!(gateway.local_sdp().contains("203.0.113.7 40000 typ host"));
    }

    #[test]
    fn an_absent_or_broken_offer_is_an_error_that_says_what_is_wrong() {
        assert_eq!(offer_error(""), OfferError::Missing);
        assert_eq!(offer_error(" \r\n"), OfferError::Missing);
        let OfferError::Syntax(reason) = offer_error("hello") else {
            panic!("garbage is a syntax error")
        };
        assert!(!reason.is_empty());
        let chromium = browser_offer(MediaKind::Audio, chromium_codecs);
        assert!(matches!(
            offer_error(&chromium[..chromium.len() / 3]),
            OfferError::Syntax(_) | OfferError::NoAudio
        ));
        let video = browser_offer(MediaKind::Video, |codecs| codecs.enable_vp8(true));
        assert_eq!(offer_error(&video), OfferError::NoAudio);
        let g722 = browser_offer(MediaKind::Audio, |codecs| codecs.enable_g722(true, false));
        let error = offer_error(&g722);
        assert!(
            matches!(&error, OfferError::NoCommonCodec { offered } if offered.contains("G722"))
        );
        assert!(
            error
                .to_string()
                .contains("accepts opus/48000, PCMU/8000 and PCMA/8000")
        );
    }

    #[test]
    fn an_offer_without_dtls_fingerprint_or_from_an_ice_lite_peer_is_refused() {
        let offer = browser_offer(MediaKind::Audio, chromium_codecs);
        let unsigned: String = offer
            .split_inclusive("\r\n")
            .filter(|line| !line.starts_with("a=fingerprint"))
            .collect();
        let OfferError::Refused(reason) = offer_error(&unsigned) else {
            panic!("an offer without a fingerprint is refused")
        };
        assert!(reason.contains("fingerprint"), "{reason}");
        let lite = offer.replacen("t=0 0\r\n", "t=0 0\r\na=ice-lite\r\n", 1);
        assert!(
            matches!(offer_error(&lite), OfferError::Refused(reason) if reason.contains("ICE-Lite"))
        );
    }

    #[test]
    fn candidates_must_be_configured_and_usable() {
        let offer = browser_offer(MediaKind::Audio, chromium_codecs);
        let none = Gateway::new(&GatewayConfig::new(vec![]), PORT, &offer, Instant::now());
        assert_eq!(none.unwrap_err(), GatewayError::NoHostCandidate);
        let unspecified = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
        let error = Gateway::new(
            &GatewayConfig::new(vec![unspecified]),
            PORT,
            &offer,
            Instant::now(),
        )
        .unwrap_err();
        assert_eq!(
            error,
            GatewayError::BadCandidate(SocketAddr::new(unspecified, PORT))
        );
    }

    #[test]
    fn engine_rtp_is_taken_only_from_the_named_leg_with_a_negotiated_payload_type() {
        let mut gateway = gateway(&browser_offer(MediaKind::Audio, chromium_codecs)).unwrap();
        let now = Instant::now();
        let leg = SocketAddr::new(LOOPBACK, 41_000);
        let packet = |payload_type| {
            RtpHeader {
                marker: false,
                payload_type,
                sequence: 1,
                timestamp: 960,
                ssrc: 7,
            }
            .encode(&[1, 2, 3])
        };
        assert_eq!(
            gateway.handle_engine_datagram(now, leg, &packet(111)),
            Err(Rejected::WrongSource(leg))
        );
        gateway.set_engine_peer(Some(leg));
        let stranger = SocketAddr::new(LOOPBACK, 41_002);
        assert_eq!(
            gateway.handle_engine_datagram(now, stranger, &packet(111)),
            Err(Rejected::WrongSource(stranger))
        );
        assert_eq!(
            gateway.handle_engine_datagram(now, leg, &packet(0)),
            Err(Rejected::PayloadType(0))
        );
        assert_eq!(
            gateway.handle_engine_datagram(now, leg, &packet(111)),
            Err(Rejected::NotConnected)
        );
        assert!(matches!(
            gateway.handle_engine_datagram(now, leg, &[0x80]),
            Err(Rejected::NotRtp(_))
        ));
        let rtcp_port = SocketAddr::new(LOOPBACK, 41_001);
        let receiver_report = [0x80, 201, 0, 1, 0, 0, 0, 7];
        assert_eq!(
            gateway.handle_engine_datagram(now, rtcp_port, &receiver_report),
            Ok(())
        );
        let stats = gateway.stats();
        assert_eq!((stats.engine_rtcp, stats.engine_rejected), (1, 5));
        assert_eq!(gateway.poll_transmit(), None);
    }

    #[test]
    fn a_browser_that_never_connects_is_reported_at_the_deadline() {
        let offer = browser_offer(MediaKind::Audio, chromium_codecs);
        let start = Instant::now();
        let config = GatewayConfig {
            connect_timeout: Duration::from_secs(5),
            ..GatewayConfig::new(vec![LOOPBACK])
        };
        let mut gateway = Gateway::new(&config, PORT, &offer, start).unwrap();
        assert!(gateway.poll_timeout() <= start + Duration::from_secs(5));
        let mut now = start;
        while now < start + Duration::from_secs(6) {
            now = gateway.poll_timeout().max(now + Duration::from_millis(10));
            gateway.handle_timeout(now);
        }
        assert_eq!(
            gateway.poll_event(),
            Some(GatewayEvent::Disconnected(Disconnect::NotConnected))
        );
        assert_eq!(gateway.poll_event(), None);
        let browser = SocketAddr::new(LOOPBACK, 50_000);
        assert_eq!(
            gateway.handle_browser_datagram(now, browser, &[0; 20]),
            Err(Rejected::Ended)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// An offer with any of its lines missing or cut short is answered
        /// or refused with an error, never a panic.
        #[test]
        fn offers_with_lines_missing_or_cut_never_panic(
            dropped in prop::collection::vec(any::<bool>(), 40),
            cut in 0usize..120,
        ) {
            let offer = browser_offer(MediaKind::Audio, chromium_codecs);
            let mangled: String = offer
                .split_inclusive("\r\n")
                .zip(dropped.iter().chain(std::iter::repeat(&false)))
                .filter(|(_, drop)| !**drop)
                .map(|(line, _)| match line.char_indices().nth(cut) {
                    Some((at, _)) if cut % 3 == 0 => &line[..at],
                    _ => line,
                })
                .collect();
            let _ = gateway(&mangled);
        }

        /// Whatever arrives on either side is refused or taken, never a panic,
        /// and every datagram is counted once.
        #[test]
        fn arbitrary_datagrams_on_both_sides_never_panic(
            datagrams in prop::collection::vec(
                (any::<bool>(), prop::collection::vec(any::<u8>(), 0..300)),
                1..40,
            )
        ) {
            let offer = browser_offer(MediaKind::Audio, chromium_codecs);
            let mut gateway = gateway(&offer).unwrap();
            let leg = SocketAddr::new(LOOPBACK, 41_000);
            gateway.set_engine_peer(Some(leg));
            let browser = SocketAddr::new(LOOPBACK, 50_000);
            let mut now = Instant::now();
            for (from_browser, mut datagram) in datagrams {
                if from_browser {
                    // Steer some datagrams into STUN, DTLS and RTP's ranges.
                    if let Some(first) = datagram.first_mut() {
                        *first = [0, 1, 22, 23, 0x80, 0x90][usize::from(*first) % 6];
                    }
                    let _ = gateway.handle_browser_datagram(now, browser, &datagram);
                } else {
                    let _ = gateway.handle_engine_datagram(now, leg, &datagram);
                }
                now += Duration::from_millis(7);
                gateway.handle_timeout(now);
                while gateway.poll_transmit().is_some() {}
                while gateway.poll_event().is_some() {}
            }
            let stats = gateway.stats();
            prop_assert_eq!(stats.browser_rtp, 0);
            prop_assert_eq!(stats.engine_rtp, 0);
        }
    }
}
