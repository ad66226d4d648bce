//! The relay: two [`RtpLeg`]s, the caller's and the agent's, bridged.
//!
//! - **Fast path** ([`Relay::new`], or [`Relay::with_codecs`] when both
//!   legs speak the same codec): packet for packet without decoding. A
//!   packet accepted on one leg is rewritten in place to leave on the other
//!   with that leg's SSRC, sequence numbers and timestamps and with its
//!   payload type mapped for the other side (audio and RFC 4733
//!   `telephone-event` alike), then sent to the other leg's peer; its
//!   payload bytes are untouched.
//! - **Transcoding path** ([`Relay::with_codecs`] when the legs have no
//!   codec in common, e.g. Opus and PCMU): each side's audio is decoded to
//!   8 kHz PCM and encoded for the other side frame by frame ([`transcode`]);
//!   the packets leave through [`Relay::poll_transmit`].
//!
//! Key presses in telephone-events are also reported ([`Relay::poll_dtmf`]),
//! and a recording tap ([`Relay::set_tap`]) receives each side's audio
//! decoded to 8 kHz. Sans-IO like the legs: the driver passes bytes, source
//! addresses and the time, and sends what the relay returns.

pub(crate) mod transcode;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use crate::codec::{CodecError, LegCodec, LegDecoder};
use crate::dtmf::Dtmf;
use crate::pcm::SampleRate;
use crate::rtp::leg::{LegConfig, LegStats, Rejected, RtpLeg, Transmit};
use crate::rtp::packet::{RtpHeader, RtpPacket, is_rtcp};
use transcode::{Outgoing, Transcoding};

/// One side of the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Caller,
    Agent,
}

impl Side {
    /// The side across the relay.
    pub fn other(self) -> Self {
        match self {
            Self::Caller => Self::Agent,
            Self::Agent => Self::Caller,
        }
    }

    fn index(self) -> usize {
        match self {
            Self::Caller => 0,
            Self::Agent => 1,
        }
    }
}

/// Payload types of one direction: what each received type leaves as.
/// From SDP negotiation, e.g. PCMU 0 → 0 and telephone-event 101 → 96.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayloadMap {
    /// Every payload type leaves unchanged (both legs negotiated the same).
    Identity,
    /// Only the listed types pass, as (received, sent); others are dropped.
    Mapped(Vec<(u8, u8)>),
}

impl PayloadMap {
    /// The payload type `received` leaves as, if it passes.
    pub fn map(&self, received: u8) -> Option<u8> {
        match self {
            Self::Identity => Some(received),
            Self::Mapped(pairs) => pairs
                .iter()
                .find(|(from, _)| *from == received)
                .map(|(_, to)| *to),
        }
    }
}

/// The two legs and the payload types in each direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayConfig {
    pub caller: LegConfig,
    pub agent: LegConfig,
    pub caller_to_agent: PayloadMap,
    pub agent_to_caller: PayloadMap,
}

/// Why a received RTP packet was not forwarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotForwarded {
    #[error(transparent)]
    Rejected(#[from] Rejected),
    #[error("payload type {0} was not negotiated for the other leg")]
    UnmappedPayloadType(u8),
    #[error("the other leg's peer address is not known yet")]
    NoDestination,
    #[error("RTCP on the RTP port (rtcp-mux): taken by the leg, not forwarded")]
    MuxedRtcp,
    /// Transcoding: the packet was taken in, and what leaves for the other
    /// side (none, one or more packets) waits in [`Relay::poll_transmit`].
    #[error("transcoded: the other side's packets wait in poll_transmit")]
    Transcoded,
    /// The audio could not be decoded (not valid Opus); dropped and counted.
    #[error("the audio payload could not be decoded")]
    Undecodable,
}

/// Both legs' figures, and per receiving side how many packets had a payload
/// type the other side did not negotiate and how many audio packets could
/// not be decoded (where the relay decodes: transcoding, or a tap).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayStats {
    pub caller: LegStats,
    pub agent: LegStats,
    pub caller_unmapped: u64,
    pub agent_unmapped: u64,
    pub caller_undecodable: u64,
    pub agent_undecodable: u64,
}

/// Two legs bridged; see the module doc.
#[derive(Debug)]
pub struct Relay {
    legs: [RtpLeg; 2],
    maps: [PayloadMap; 2],
    unmapped: [u64; 2],
    undecodable: [u64; 2],
    /// Per side, its audio payload type and decoder, when the relay decodes
    /// that side (transcoding, or a recording tap).
    decoders: [Option<(u8, LegDecoder)>; 2],
    /// The samples of the packet being decoded.
    decoded: Vec<i16>,
    transcoding: Option<Box<Transcoding>>,
    /// Transcoded packets to send, and from which side's RTP port.
    transcoded: VecDeque<(Side, Transmit)>,
    tap: Option<Tap>,
}

/// Where decoded audio goes for a recording: per side its audio payload type
/// and RTP clock rate, and the clock that places frames by their RTP
/// timestamps. Its owner decodes (the relay, the conference), so that
/// audio decoded anyway is not decoded twice. The conference taps its
/// caller and agent the same way, so a recording goes on unchanged when a
/// supervisor joins.
#[derive(Debug, Clone)]
pub(crate) struct Tap {
    audio: [(u8, SampleRate); 2],
    clocks: [Option<TapClock>; 2],
    frames: VecDeque<TappedFrame>,
}

/// Maps a side's RTP timestamps to instants: the first frame's arrival plus
/// the media time since, so network jitter does not tear the recording.
/// Re-anchored on a new SSRC or when media time and arrival drift apart by
/// more than [`TAP_MAX_DRIFT`] (a pause, a clock that runs off).
#[derive(Debug, Clone, Copy)]
struct TapClock {
    ssrc: u32,
    timestamp: u32,
    at: Instant,
}

/// How far a frame's media time may stray from its arrival before the tap
/// trusts the arrival again; below the recorder's late allowance (200 ms),
/// so a sender that stalled is re-anchored rather than dropped as late.
const TAP_MAX_DRIFT: Duration = Duration::from_millis(100);

/// Audio a side sent, decoded for a recorder: when it arrived and its PCM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TappedFrame {
    pub side: Side,
    pub at: Instant,
    pub pcm: Vec<i16>,
}

/// Decoded frames kept for the driver; beyond this the oldest are dropped.
const TAP_QUEUE: usize = 64;

impl Relay {
    /// A relay on the fast path, starting at `now`, when the wall clock
    /// reads `wall`.
    pub fn new(config: RelayConfig, now: Instant, wall: SystemTime) -> Self {
        Self {
            legs: [
                RtpLeg::new(config.caller, now, wall),
                RtpLeg::new(config.agent, now, wall),
            ],
            maps: [config.caller_to_agent, config.agent_to_caller],
            unmapped: [0; 2],
            undecodable: [0; 2],
            decoders: [None, None],
            decoded: Vec::with_capacity(SampleRate::NARROWBAND.frame_len()),
            transcoding: None,
            transcoded: VecDeque::new(),
            tap: None,
        }
    }

    /// A relay between legs whose audio is `codecs`, the caller's and the
    /// agent's, each with the payload type it negotiated: on the fast path
    /// when packets of one can go to the other untouched
    /// ([`LegCodec::relays_untouched_to`]), transcoding otherwise. Each
    /// leg's clock rate must be its codec's. When transcoding, the payload
    /// maps still say which other payload types pass (telephone-events);
    /// audio leaves as the other side's audio payload type.
    pub fn with_codecs(
        config: RelayConfig,
        codecs: [(u8, LegCodec); 2],
        now: Instant,
        wall: SystemTime,
    ) -> Result<Self, CodecError> {
        let [(_, caller), (_, agent)] = codecs;
        caller.check_clock_rate(config.caller.clock_rate)?;
        agent.check_clock_rate(config.agent.clock_rate)?;
        let telephone_events = [config.caller.telephone_event, config.agent.telephone_event];
        let mut relay = Self::new(config, now, wall);
        if !caller.relays_untouched_to(agent) {
            relay.transcoding = Some(Box::new(Transcoding::new(codecs, telephone_events)?));
            for (slot, (payload_type, codec)) in relay.decoders.iter_mut().zip(codecs) {
                *slot = Some((payload_type, LegDecoder::new(codec)?));
            }
        }
        Ok(relay)
    }

    /// Whether the relay decodes and re-encodes the audio.
    pub fn is_transcoding(&self) -> bool {
        self.transcoding.is_some()
    }

    /// Starts decoding each side's audio for a recorder: `codecs` gives the
    /// caller's and the agent's audio payload type and codec (a G.711 law
    /// converts into a [`LegCodec`]). Only that payload type is decoded
    /// (telephone-events and comfort noise are not); forwarding is
    /// unchanged. A transcoding relay decodes each side already, with the
    /// codecs it was made with, and the tap takes that audio.
    pub fn set_tap(&mut self, codecs: [(u8, impl Into<LegCodec>); 2]) -> Result<(), CodecError> {
        let mut audio = [(0, SampleRate::NARROWBAND); 2];
        for ((slot, (payload_type, codec)), side) in
            self.decoders.iter_mut().zip(codecs).zip(&mut audio)
        {
            let codec = codec.into();
            if slot.is_none() {
                *slot = Some((payload_type, LegDecoder::new(codec)?));
            }
            if let Some((payload_type, _)) = slot {
                *side = (*payload_type, codec.clock_rate());
            }
        }
        self.tap = Some(Tap::new(audio));
        Ok(())
    }

    /// The next decoded frame for the recorder, oldest first.
    pub fn poll_tap(&mut self) -> Option<TappedFrame> {
        self.tap.as_mut()?.poll()
    }

    /// Takes a datagram received on side `from`'s RTP port from `source`. RTP
    /// is rewritten in place for the other side and the result says where to
    /// send it (from the other side's RTP port); RTCP (rtcp-mux) goes to the
    /// leg and is not forwarded.
    pub fn handle_rtp(
        &mut self,
        from: Side,
        now: Instant,
        source: SocketAddr,
        packet: &mut [u8],
    ) -> Result<SocketAddr, NotForwarded> {
        if is_rtcp(packet) {
            self.legs[from.index()].handle_rtcp(now, source, packet)?;
            return Err(NotForwarded::MuxedRtcp);
        }
        let accepted = self.legs[from.index()].handle_rtp(now, source, packet)?;
        let header = accepted.header;
        let decoded = self.decode(from, now, &header, packet);
        if let Some(transcoding) = &mut self.transcoding {
            if header.payload_type == transcoding.audio_payload_type(from) {
                decoded?;
                let Self {
                    legs,
                    transcoded,
                    decoded,
                    ..
                } = self;
                transcoding.audio(from, &header, decoded, |outgoing| {
                    send_transcoded(legs, transcoded, from.other(), now, outgoing);
                });
                return Err(NotForwarded::Transcoded);
            }
        }
        let Some(payload_type) = self.maps[from.index()].map(header.payload_type) else {
            self.unmapped[from.index()] += 1;
            return Err(NotForwarded::UnmappedPayloadType(header.payload_type));
        };
        if let Some(transcoding) = &mut self.transcoding {
            let payload = RtpPacket::parse(packet)
                .map_err(Rejected::MalformedRtp)?
                .payload;
            let outgoing = transcoding.other(from, &header, payload_type, payload);
            send_transcoded(
                &mut self.legs,
                &mut self.transcoded,
                from.other(),
                now,
                outgoing,
            );
            return Err(NotForwarded::Transcoded);
        }
        self.legs[from.other().index()]
            .prepare_send(
                now,
                &accepted.header,
                payload_type,
                packet,
                accepted.payload_len,
            )
            .ok_or(NotForwarded::NoDestination)
    }

    /// Takes an RTCP packet received on side `from`'s RTCP port; RTCP is
    /// terminated per leg and not forwarded.
    pub fn handle_rtcp(
        &mut self,
        from: Side,
        now: Instant,
        source: SocketAddr,
        packet: &[u8],
    ) -> Result<(), Rejected> {
        self.legs[from.index()].handle_rtcp(now, source, packet)
    }

    /// When [`Self::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Instant {
        self.legs[0].poll_timeout().min(self.legs[1].poll_timeout())
    }

    /// Runs both legs' timers (RTCP reports, key presses whose end was lost).
    pub fn handle_timeout(&mut self, now: Instant) {
        for leg in &mut self.legs {
            leg.handle_timeout(now);
        }
    }

    /// The next key press a side's peer finished (RFC 4733 events, which are
    /// relayed all the same).
    pub fn poll_dtmf(&mut self) -> Option<(Side, Dtmf)> {
        [Side::Caller, Side::Agent]
            .into_iter()
            .find_map(|side| Some((side, self.legs[side.index()].poll_dtmf()?)))
    }

    /// The next packet to send, and from which side's ports: transcoded
    /// RTP from its RTP port, RTCP from the port the transmit says.
    pub fn poll_transmit(&mut self) -> Option<(Side, Transmit)> {
        self.transcoded.pop_front().or_else(|| {
            [Side::Caller, Side::Agent]
                .into_iter()
                .find_map(|side| Some((side, self.legs[side.index()].poll_transmit()?)))
        })
    }

    /// Side `side`'s peer changed (re-INVITE, transfer): see [`RtpLeg::repoint`].
    pub fn repoint(&mut self, side: Side, now: Instant, remote: Option<SocketAddr>) {
        self.legs[side.index()].repoint(now, remote);
    }

    /// New payload types per direction after a renegotiation.
    pub fn set_payload_maps(&mut self, caller_to_agent: PayloadMap, agent_to_caller: PayloadMap) {
        self.maps = [caller_to_agent, agent_to_caller];
    }

    /// One side's leg, to read its state.
    pub fn leg(&self, side: Side) -> &RtpLeg {
        &self.legs[side.index()]
    }

    /// Both legs' figures now.
    pub fn stats(&self) -> RelayStats {
        RelayStats {
            caller: self.legs[0].stats(),
            agent: self.legs[1].stats(),
            caller_unmapped: self.unmapped[0],
            agent_unmapped: self.unmapped[1],
            caller_undecodable: self.undecodable[0],
            agent_undecodable: self.undecodable[1],
        }
    }

    /// Decodes `packet` into `self.decoded` when it is `from`'s audio and
    /// the relay decodes that side, and hands the audio to the tap. An
    /// undecodable payload is counted and is an error; a packet that is not
    /// decoded leaves `self.decoded` empty.
    fn decode(
        &mut self,
        from: Side,
        now: Instant,
        header: &RtpHeader,
        packet: &[u8],
    ) -> Result<(), NotForwarded> {
        self.decoded.clear();
        let Some((audio, decoder)) = &mut self.decoders[from.index()] else {
            return Ok(());
        };
        if header.payload_type != *audio {
            return Ok(());
        }
        let payload = RtpPacket::parse(packet)
            .map_err(Rejected::MalformedRtp)?
            .payload;
        if decoder.decode_into(payload, &mut self.decoded).is_err() {
            self.undecodable[from.index()] += 1;
            return Err(NotForwarded::Undecodable);
        }
        if let Some(tap) = &mut self.tap {
            tap.take(from, now, header, &self.decoded);
        }
        Ok(())
    }
}

/// Sends a transcoded packet on `to`'s leg, queued for the driver.
fn send_transcoded(
    legs: &mut [RtpLeg; 2],
    transcoded: &mut VecDeque<(Side, Transmit)>,
    to: Side,
    now: Instant,
    mut outgoing: Outgoing,
) {
    let leg = &mut legs[to.index()];
    let destination = leg.prepare_send(
        now,
        &outgoing.header,
        outgoing.header.payload_type,
        &mut outgoing.packet,
        outgoing.payload_len,
    );
    if let Some(destination) = destination {
        transcoded.push_back((
            to,
            Transmit {
                destination,
                payload: outgoing.packet,
                from_rtp_port: true,
            },
        ));
    }
}

impl Tap {
    /// A tap of the caller's and the agent's audio, each given by its
    /// payload type and RTP clock rate, in that order.
    pub(crate) fn new(audio: [(u8, SampleRate); 2]) -> Self {
        Self {
            audio,
            clocks: [None; 2],
            frames: VecDeque::new(),
        }
    }

    /// The next decoded frame, oldest first.
    pub(crate) fn poll(&mut self) -> Option<TappedFrame> {
        self.frames.pop_front()
    }

    /// Keeps `pcm`, the decoded audio of a packet with `header`, if it is
    /// `side`'s audio (and not empty: an Opus packet of 10 ms gives its
    /// audio with the next one), placed at the instant its RTP timestamp
    /// stands for.
    pub(crate) fn take(&mut self, side: Side, now: Instant, header: &RtpHeader, pcm: &[i16]) {
        if header.payload_type != self.audio[side.index()].0 || pcm.is_empty() {
            return;
        }
        let at = self.place(side, now, header);
        if self.frames.len() == TAP_QUEUE {
            self.frames.pop_front();
        }
        self.frames.push_back(TappedFrame {
            side,
            at,
            pcm: pcm.to_vec(),
        });
    }

    /// The instant `header`'s timestamp stands for on `side`'s clock.
    fn place(&mut self, side: Side, now: Instant, header: &RtpHeader) -> Instant {
        let rate = self.audio[side.index()].1;
        let clock = &mut self.clocks[side.index()];
        if let Some(anchor) = clock.filter(|anchor| anchor.ssrc == header.ssrc) {
            let ticks = header.timestamp.wrapping_sub(anchor.timestamp);
            // Timestamps a little behind the anchor (reordering) wrap to huge
            // values and fail the drift check below, re-anchoring.
            let at = anchor.at
                + Duration::from_nanos(u64::from(ticks) * 1_000_000_000 / u64::from(rate.hz()));
            let drift = if at > now { at - now } else { now - at };
            if drift <= TAP_MAX_DRIFT {
                return at;
            }
        }
        *clock = Some(TapClock {
            ssrc: header.ssrc,
            timestamp: header.timestamp,
            at: now,
        });
        now
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtmf::rfc4733::TelephoneEvent;
    use crate::g711::G711;
    use crate::rtp::leg::{DEFAULT_RTCP_INTERVAL, Latching};
    use crate::rtp::packet::{RtpHeader, RtpPacket};
    use std::time::Duration;

    const FRAME: Duration = Duration::from_millis(20);

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, 1], port))
    }

    fn leg(ssrc: u32, remote: SocketAddr) -> LegConfig {
        LegConfig {
            remote: Some(remote),
            latching: Latching::Symmetric {
                relatch_window: Duration::ZERO,
            },
            telephone_event: Some(101),
            ..LegConfig::new(ssrc, 65_530, 1_000)
        }
    }

    fn relay(caller_to_agent: PayloadMap) -> Relay {
        Relay::new(
            RelayConfig {
                caller: leg(0xCA11, addr(4000)),
                agent: leg(0xA6E7, addr(6000)),
                caller_to_agent,
                agent_to_caller: PayloadMap::Identity,
            },
            Instant::now(),
            SystemTime::now(),
        )
    }

    fn packet(
        payload_type: u8,
        ssrc: u32,
        sequence: u16,
        timestamp: u32,
        payload: &[u8],
    ) -> Vec<u8> {
        RtpHeader {
            marker: false,
            payload_type,
            sequence,
            timestamp,
            ssrc,
        }
        .encode(payload)
    }

    fn header_of(bytes: &[u8]) -> RtpHeader {
        RtpPacket::parse(bytes).unwrap().header
    }

    #[test]
    fn forwarded_packets_leave_with_the_other_legs_ssrc_and_continuous_numbers() {
        let mut relay = relay(PayloadMap::Identity);
        let start = Instant::now();
        let mut out = Vec::new();
        // The caller's SSRC changes halfway (a re-INVITE) with new numbering.
        for i in 0..20u16 {
            let (ssrc, sequence) = if i < 10 { (1, 100 + i) } else { (2, 9_000 + i) };
            let mut bytes = packet(0, ssrc, sequence, u32::from(sequence) * 160, &[0xD5; 160]);
            let now = start + FRAME * u32::from(i);
            assert_eq!(
                relay.handle_rtp(Side::Caller, now, addr(4000), &mut bytes),
                Ok(addr(6000))
            );
            out.push(header_of(&bytes));
        }
        assert!(out.iter().all(|header| header.ssrc == 0xA6E7));
        for pair in out.windows(2) {
            assert_eq!(pair[1].sequence, pair[0].sequence.wrapping_add(1));
            assert_eq!(pair[1].timestamp, pair[0].timestamp.wrapping_add(160));
        }
        assert_eq!(out[0].sequence, 65_530);
        let stats = relay.stats();
        assert_eq!(stats.caller.source_changes, 1);
        assert_eq!(stats.agent.packets_sent, 20);
        assert_eq!(stats.agent.octets_sent, 20 * 160);
    }

    #[test]
    fn a_tap_decodes_each_sides_audio_and_nothing_else_while_forwarding_stays_the_same() {
        let mut relay = relay(PayloadMap::Identity);
        relay.set_tap([(0, G711::Pcmu), (8, G711::Pcma)]).unwrap();
        let now = Instant::now();
        let tone: Vec<i16> = (0..160)
            .map(|i| (8000.0 * (f64::from(i) * 0.3).sin()) as i16)
            .collect();
        let mut caller = packet(0, 1, 1, 160, &G711::Pcmu.encode(&tone));
        let mut agent = packet(8, 2, 1, 160, &G711::Pcma.encode(&tone));
        let mut event = packet(101, 1, 2, 160, &[1, 0x80, 0, 160]);
        assert_eq!(
            relay.handle_rtp(Side::Caller, now, addr(4000), &mut caller),
            Ok(addr(6000))
        );
        assert_eq!(
            relay.handle_rtp(Side::Agent, now, addr(6000), &mut agent),
            Ok(addr(4000))
        );
        assert!(
            relay
                .handle_rtp(Side::Caller, now, addr(4000), &mut event)
                .is_ok()
        );
        let frames: Vec<TappedFrame> = std::iter::from_fn(|| relay.poll_tap()).collect();
        assert_eq!(frames.len(), 2, "telephone-events are not audio");
        assert_eq!(
            (frames[0].side, frames[1].side),
            (Side::Caller, Side::Agent)
        );
        for frame in &frames {
            assert_eq!(frame.at, now, "the first frame of a side anchors its clock");
            assert_eq!(frame.pcm.len(), 160);
            let error = frame
                .pcm
                .iter()
                .zip(&tone)
                .map(|(a, b)| (a - b).abs())
                .max();
            assert!(error < Some(600), "decoded within G.711's error: {error:?}");
        }
    }

    #[test]
    fn tapped_frames_are_placed_by_their_timestamps_not_their_jittery_arrival() {
        let mut relay = relay(PayloadMap::Identity);
        relay.set_tap([(0, G711::Pcmu), (0, G711::Pcmu)]).unwrap();
        let start = Instant::now();
        let arrivals_ms = [0, 35, 38, 61, 95, 100];
        for (i, arrival) in arrivals_ms.iter().enumerate() {
            let i = i as u16;
            let mut bytes = packet(0, 7, i, u32::from(i) * 160, &[0xFF; 160]);
            let now = start + Duration::from_millis(*arrival);
            relay
                .handle_rtp(Side::Caller, now, addr(4000), &mut bytes)
                .unwrap();
        }
        let placed: Vec<Duration> = std::iter::from_fn(|| relay.poll_tap())
            .map(|frame| frame.at - start)
            .collect();
        let expected: Vec<Duration> = (0..6).map(|i| FRAME * i).collect();
        assert_eq!(placed, expected, "every 20 ms, whatever the network did");

        let mut late = packet(0, 7, 6, 6 * 160, &[0xFF; 160]);
        let pause = start + Duration::from_secs(2);
        relay
            .handle_rtp(Side::Caller, pause, addr(4000), &mut late)
            .unwrap();
        assert_eq!(
            relay.poll_tap().unwrap().at,
            pause,
            "a long drift re-anchors"
        );
    }

    #[test]
    fn telephone_events_pass_with_their_payload_type_mapped() {
        let mut relay = relay(PayloadMap::Mapped(vec![(0, 0), (101, 96)]));
        let now = Instant::now();
        let event = TelephoneEvent {
            event: 5,
            end: false,
            volume: 10,
            duration: 160,
        };
        let mut audio = packet(0, 1, 10, 1_600, &[0xD5; 160]);
        relay
            .handle_rtp(Side::Caller, now, addr(4000), &mut audio)
            .unwrap();
        let mut sent = Vec::new();
        for (i, duration) in [160u16, 320, 480].into_iter().enumerate() {
            let payload = TelephoneEvent { duration, ..event }.to_bytes();
            let mut bytes = packet(101, 1, 11 + i as u16, 1_760, &payload);
            relay
                .handle_rtp(Side::Caller, now + FRAME, addr(4000), &mut bytes)
                .unwrap();
            sent.push(bytes);
        }
        for (i, bytes) in sent.iter().enumerate() {
            let parsed = RtpPacket::parse(bytes).unwrap();
            assert_eq!(parsed.header.payload_type, 96);
            assert_eq!(
                parsed.header.timestamp,
                1_000 + 160,
                "one event, one timestamp"
            );
            assert_eq!(
                TelephoneEvent::parse(parsed.payload).unwrap().duration,
                160 * (i as u16 + 1)
            );
        }
        let mut comfort_noise = packet(13, 1, 15, 2_000, &[0; 1]);
        assert_eq!(
            relay.handle_rtp(Side::Caller, now, addr(4000), &mut comfort_noise),
            Err(NotForwarded::UnmappedPayloadType(13))
        );
        assert_eq!(relay.stats().caller_unmapped, 1);
    }

    #[test]
    fn packets_from_a_third_address_are_not_forwarded() {
        let mut relay = relay(PayloadMap::Identity);
        let now = Instant::now();
        let mut first = packet(0, 1, 1, 160, &[0; 160]);
        relay
            .handle_rtp(Side::Caller, now, addr(4000), &mut first)
            .unwrap();
        let mut attack = packet(0, 66, 1, 160, &[0x55; 160]);
        let untouched = attack.clone();
        assert!(matches!(
            relay.handle_rtp(Side::Caller, now, addr(9999), &mut attack),
            Err(NotForwarded::Rejected(Rejected::ForeignSource { .. }))
        ));
        assert_eq!(attack, untouched);
        assert_eq!(relay.stats().caller.foreign_dropped, 1);
        assert_eq!(relay.stats().agent.packets_sent, 1);
    }

    #[test]
    fn rtcp_on_the_rtp_port_is_taken_by_the_leg_and_not_forwarded() {
        let mut relay = relay(PayloadMap::Identity);
        let now = Instant::now();
        let mut audio = packet(0, 1, 1, 160, &[0; 160]);
        relay
            .handle_rtp(Side::Caller, now, addr(4000), &mut audio)
            .unwrap();
        let mut report = crate::rtp::rtcp::RtcpReport {
            ssrc: 1,
            sender: None,
            blocks: vec![],
        }
        .encode("caller");
        assert_eq!(
            relay.handle_rtp(Side::Caller, now, addr(4000), &mut report),
            Err(NotForwarded::MuxedRtcp)
        );
        let stats = relay.stats();
        assert_eq!(stats.caller.reports_received, 1);
        assert_eq!(stats.agent.packets_sent, 1);
    }

    #[test]
    fn after_a_transfer_the_new_agent_phone_is_heard_in_the_same_stream() {
        let mut relay = relay(PayloadMap::Identity);
        let start = Instant::now();
        let mut to_caller = Vec::new();
        for i in 0..3u16 {
            let mut bytes = packet(0, 5, i, u32::from(i) * 160, &[1; 160]);
            let now = start + FRAME * u32::from(i);
            relay
                .handle_rtp(Side::Agent, now, addr(6000), &mut bytes)
                .unwrap();
            to_caller.push(header_of(&bytes));
        }
        let transfer = start + Duration::from_secs(30);
        relay.repoint(Side::Agent, transfer, Some(addr(8000)));
        relay.set_payload_maps(PayloadMap::Identity, PayloadMap::Mapped(vec![(8, 8)]));
        let mut pcma = packet(8, 77, 4_000, 0, &[2; 160]);
        relay
            .handle_rtp(Side::Agent, transfer, addr(8000), &mut pcma)
            .unwrap();
        to_caller.push(header_of(&pcma));
        let mut stale = packet(0, 5, 3, 480, &[1; 160]);
        assert!(
            relay
                .handle_rtp(
                    Side::Agent,
                    transfer + Duration::from_secs(5),
                    addr(6000),
                    &mut stale
                )
                .is_err()
        );
        let mut to_new_phone = packet(0, 9, 1, 160, &[3; 160]);
        assert_eq!(
            relay.handle_rtp(Side::Caller, transfer, addr(4000), &mut to_new_phone),
            Ok(addr(8000))
        );
        assert!(to_caller.iter().all(|header| header.ssrc == 0xCA11));
        assert_eq!(to_caller[3].sequence, to_caller[2].sequence.wrapping_add(1));
        assert_eq!(to_caller[3].payload_type, 8);
    }

    /// Where a simulated datagram goes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
    enum Hop {
        RelayRtp(usize),
        RelayRtcp(usize),
        PhoneRtp(usize),
        PhoneRtcp(usize),
    }

    const SIDES: [Side; 2] = [Side::Caller, Side::Agent];

    /// Ten seconds of a call on a simulated network, stepped in 5 ms: the
    /// caller's path to the relay loses every 20th packet and alternates 30
    /// and 40 ms of delay; its RTCP takes 35 ms each way; the agent's path is
    /// a clean 20 ms. Each leg's figures must match that network.
    #[test]
    fn a_simulated_call_gives_each_leg_the_loss_jitter_and_rtt_of_its_network() {
        use crate::rtp::leg::RtpLeg;
        use std::collections::BTreeMap;

        let start = Instant::now();
        let wall = SystemTime::now();
        let mut relay = relay(PayloadMap::Identity);
        let phone_addrs = [addr(4000), addr(6000)];
        let relay_addr = SocketAddr::from(([198, 51, 100, 1], 20_000));
        let mut phones = [0x1111, 0x2222].map(|ssrc| {
            let config = LegConfig {
                remote: Some(relay_addr),
                ..LegConfig::new(ssrc, 0, 0)
            };
            RtpLeg::new(config, start, wall)
        });
        let rtcp_delay = [Duration::from_millis(35), Duration::from_millis(20)];
        let mut network: BTreeMap<(Instant, u64), (Hop, Vec<u8>)> = BTreeMap::new();
        let mut sent = 0u64;
        let mut send = |network: &mut BTreeMap<_, _>, at: Instant, hop: Hop, bytes: Vec<u8>| {
            sent += 1;
            network.insert((at, sent), (hop, bytes));
        };
        let step = Duration::from_millis(5);
        for tick in 0..2_100u32 {
            let now = start + step * tick;
            if tick % 4 == 0 && tick / 4 < 500 {
                let i = (tick / 4) as u16;
                for (side, phone) in phones.iter_mut().enumerate() {
                    let header = RtpHeader {
                        marker: false,
                        payload_type: 0,
                        sequence: i,
                        timestamp: u32::from(i) * 160,
                        ssrc: 7,
                    };
                    let mut bytes = header.encode(&[0xD5; 160]);
                    phone
                        .prepare_send(now, &header, 0, &mut bytes, 160)
                        .unwrap();
                    let (lost, delay) = match side {
                        0 => (
                            i % 20 == 19,
                            Duration::from_millis(if i % 2 == 0 { 30 } else { 40 }),
                        ),
                        _ => (false, Duration::from_millis(20)),
                    };
                    if !lost {
                        send(&mut network, now + delay, Hop::RelayRtp(side), bytes);
                    }
                }
            }
            while let Some(entry) = network.first_entry() {
                if entry.key().0 > now {
                    break;
                }
                let (hop, mut bytes) = entry.remove();
                match hop {
                    Hop::RelayRtp(side) => {
                        let destination = relay
                            .handle_rtp(SIDES[side], now, phone_addrs[side], &mut bytes)
                            .unwrap();
                        let to = 1 - side;
                        assert_eq!(destination, phone_addrs[to]);
                        send(&mut network, now + rtcp_delay[to], Hop::PhoneRtp(to), bytes);
                    }
                    Hop::RelayRtcp(side) => {
                        let mut source = phone_addrs[side];
                        source.set_port(source.port() + 1);
                        relay.handle_rtcp(SIDES[side], now, source, &bytes).unwrap();
                    }
                    Hop::PhoneRtp(side) => {
                        phones[side].handle_rtp(now, relay_addr, &bytes).unwrap();
                    }
                    Hop::PhoneRtcp(side) => {
                        phones[side].handle_rtcp(now, relay_addr, &bytes).unwrap();
                    }
                }
            }
            if now >= relay.poll_timeout() {
                relay.handle_timeout(now);
            }
            while let Some((side, transmit)) = relay.poll_transmit() {
                let side = side.index();
                send(
                    &mut network,
                    now + rtcp_delay[side],
                    Hop::PhoneRtcp(side),
                    transmit.payload,
                );
            }
            for side in 0..2 {
                if now >= phones[side].poll_timeout() {
                    phones[side].handle_timeout(now);
                }
                while let Some(transmit) = phones[side].poll_transmit() {
                    send(
                        &mut network,
                        now + rtcp_delay[side],
                        Hop::RelayRtcp(side),
                        transmit.payload,
                    );
                }
            }
        }

        let stats = relay.stats();
        // Caller: 0..=498 expected (499 never arrives), every 20th lost.
        assert_eq!(stats.caller.packets_expected, 499);
        assert_eq!(stats.caller.packets_lost, 24);
        assert!(
            (10..=16).contains(&stats.caller.fraction_lost),
            "{}",
            stats.caller.fraction_lost
        );
        let jitter = stats.caller.jitter;
        assert!(
            jitter.abs_diff(Duration::from_millis(10)) <= Duration::from_millis(1),
            "{jitter:?}"
        );
        let rtt = stats.caller.rtt.unwrap();
        assert!(
            rtt.abs_diff(Duration::from_millis(70)) < Duration::from_millis(1),
            "{rtt:?}"
        );
        // What the caller's phone says about the agent's audio the relay sends it.
        assert_eq!(stats.caller.remote_packets_lost, Some(0));
        assert_eq!(stats.caller.remote_jitter, Some(Duration::ZERO));
        // Agent: a clean network.
        assert_eq!(stats.agent.packets_lost, 0);
        assert_eq!(stats.agent.jitter, Duration::ZERO);
        let rtt = stats.agent.rtt.unwrap();
        assert!(
            rtt.abs_diff(Duration::from_millis(40)) < Duration::from_millis(1),
            "{rtt:?}"
        );
        assert_eq!(stats.agent.packets_sent, 475);
        assert_eq!(phones[1].stats().packets_received, 475);
        // Gaps pass through the renumbering, so the agent's phone conceals them
        // and its reports show the caller's loss.
        assert_eq!(phones[1].stats().packets_lost, 24);
        assert_eq!(stats.agent.remote_packets_lost, Some(24));
        assert!(stats.caller.reports_received >= 2 && stats.agent.reports_sent >= 2);
    }

    /// A caller on Opus (48 kHz, payload type 111) and an agent on PCMU.
    fn transcoding_relay() -> Relay {
        let caller = LegConfig {
            clock_rate: SampleRate::FULLBAND,
            ..leg(0xCA11, addr(4000))
        };
        Relay::with_codecs(
            RelayConfig {
                caller,
                agent: leg(0xA6E7, addr(6000)),
                caller_to_agent: PayloadMap::Mapped(vec![(101, 101)]),
                agent_to_caller: PayloadMap::Mapped(vec![(101, 101)]),
            },
            [(111, LegCodec::opus()), (0, G711::Pcmu.into())],
            Instant::now(),
            SystemTime::now(),
        )
        .unwrap()
    }

    #[test]
    fn codecs_in_common_keep_the_fast_path_and_others_transcode() {
        let config = || RelayConfig {
            caller: leg(1, addr(4000)),
            agent: leg(2, addr(6000)),
            caller_to_agent: PayloadMap::Identity,
            agent_to_caller: PayloadMap::Identity,
        };
        let pcmu = (0, LegCodec::from(G711::Pcmu));
        let same = Relay::with_codecs(config(), [pcmu, pcmu], Instant::now(), SystemTime::now());
        assert!(!same.unwrap().is_transcoding());
        let pcma = (8, LegCodec::from(G711::Pcma));
        let laws = Relay::with_codecs(config(), [pcmu, pcma], Instant::now(), SystemTime::now());
        assert!(laws.unwrap().is_transcoding());
        assert!(transcoding_relay().is_transcoding());
        let opus_at_8_khz = Relay::with_codecs(
            config(),
            [(111, LegCodec::opus()), pcmu],
            Instant::now(),
            SystemTime::now(),
        );
        assert!(matches!(
            opus_at_8_khz,
            Err(CodecError::ClockRate { got: 8_000, .. })
        ));
    }

    #[test]
    fn a_transcoded_frame_leaves_on_the_other_legs_stream_and_clock() {
        let mut relay = transcoding_relay();
        let start = Instant::now();
        let mut encoder =
            crate::opus::OpusEncoder::new(SampleRate::NARROWBAND, Default::default()).unwrap();
        let mut sent = Vec::new();
        for i in 0..3u16 {
            let payload = encoder.encode(&[0; 160]).unwrap();
            let mut bytes = packet(111, 9, i, 960 * u32::from(i), &payload);
            let now = start + FRAME * u32::from(i);
            assert_eq!(
                relay.handle_rtp(Side::Caller, now, addr(4000), &mut bytes),
                Err(NotForwarded::Transcoded)
            );
            while let Some((side, transmit)) = relay.poll_transmit() {
                assert_eq!((side, transmit.destination), (Side::Agent, addr(6000)));
                assert!(transmit.from_rtp_port);
                sent.push(transmit.payload);
            }
        }
        let headers: Vec<RtpHeader> = sent.iter().map(|bytes| header_of(bytes)).collect();
        assert_eq!(headers.len(), 3);
        for (i, header) in headers.iter().enumerate() {
            assert_eq!(header.ssrc, 0xA6E7);
            assert_eq!(header.payload_type, 0);
            assert_eq!(header.sequence, 65_530u16.wrapping_add(i as u16));
            assert_eq!(header.timestamp, 1_000 + 160 * i as u32);
        }
        assert!(sent.iter().all(|bytes| bytes.len() == 12 + 160));
        assert_eq!(relay.stats().agent.packets_sent, 3);
    }

    proptest::proptest! {
        /// Whatever a phone sends a transcoding relay, it is transcoded,
        /// forwarded or dropped, never a panic.
        #[test]
        fn any_datagram_into_a_transcoding_relay_is_handled_without_panicking(
            datagrams in proptest::collection::vec(
                (proptest::prelude::any::<bool>(), proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)),
                1..8,
            )
        ) {
            let mut relay = transcoding_relay();
            let now = Instant::now();
            for (i, (caller, payload)) in datagrams.iter().enumerate() {
                let (side, source, payload_type) = if *caller {
                    (Side::Caller, addr(4000), [111, 101, 13][i % 3])
                } else {
                    (Side::Agent, addr(6000), [0, 101, 13][i % 3])
                };
                let mut bytes = packet(payload_type, 5, i as u16, 960 * i as u32, payload);
                let _ = relay.handle_rtp(side, now, source, &mut bytes);
                let mut raw = payload.clone();
                let _ = relay.handle_rtp(side, now, source, &mut raw);
                while relay.poll_transmit().is_some() {}
            }
        }
    }

    #[test]
    fn each_leg_reports_on_its_own_rtcp_schedule() {
        let mut relay = relay(PayloadMap::Identity);
        let start = relay.poll_timeout() - DEFAULT_RTCP_INTERVAL;
        relay.handle_timeout(start + DEFAULT_RTCP_INTERVAL);
        let sides: Vec<_> = std::iter::from_fn(|| relay.poll_transmit())
            .map(|(side, transmit)| (side, transmit.destination))
            .collect();
        assert_eq!(
            sides,
            vec![(Side::Caller, addr(4001)), (Side::Agent, addr(6001))]
        );
        assert_eq!(relay.leg(Side::Agent).stats().reports_sent, 1);
    }
}
