//! The relay fast path: two [`RtpLeg`]s, the caller's and the agent's,
//! bridged packet for packet without decoding. A packet accepted on one leg
//! is rewritten in place to leave on the other with that leg's SSRC,
//! sequence numbers and timestamps and with its payload type mapped for the
//! other side (audio and RFC 4733 `telephone-event` alike), then sent to the
//! other leg's peer. Key presses in those events are also reported
//! ([`Relay::poll_dtmf`]). Sans-IO like the legs: the driver passes bytes, source
//! addresses and the time, and sends what the relay returns.

use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use crate::dtmf::Dtmf;
use crate::rtp::leg::{LegConfig, LegStats, Rejected, RtpLeg, Transmit};
use crate::rtp::packet::is_rtcp;

/// One side of the relay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Caller,
    Agent,
}

impl Side {
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
}

/// Both legs' figures, and per receiving side how many packets had a payload
/// type the other side did not negotiate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RelayStats {
    pub caller: LegStats,
    pub agent: LegStats,
    pub caller_unmapped: u64,
    pub agent_unmapped: u64,
}

/// Two legs bridged; see the module doc.
#[derive(Debug, Clone)]
pub struct Relay {
    legs: [RtpLeg; 2],
    maps: [PayloadMap; 2],
    unmapped: [u64; 2],
}

impl Relay {
    /// A relay starting at `now`, when the wall clock reads `wall`.
    pub fn new(config: RelayConfig, now: Instant, wall: SystemTime) -> Self {
        Self {
            legs: [
                RtpLeg::new(config.caller, now, wall),
                RtpLeg::new(config.agent, now, wall),
            ],
            maps: [config.caller_to_agent, config.agent_to_caller],
            unmapped: [0; 2],
        }
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
        let Some(payload_type) = self.maps[from.index()].map(accepted.header.payload_type) else {
            self.unmapped[from.index()] += 1;
            return Err(NotForwarded::UnmappedPayloadType(
                accepted.header.payload_type,
            ));
        };
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

    /// The next RTCP packet to send, and from which side's RTCP port.
    pub fn poll_transmit(&mut self) -> Option<(Side, Transmit)> {
        [Side::Caller, Side::Agent]
            .into_iter()
            .find_map(|side| Some((side, self.legs[side.index()].poll_transmit()?)))
    }

    pub fn leg(&self, side: Side) -> &RtpLeg {
        &self.legs[side.index()]
    }

    pub fn stats(&self) -> RelayStats {
        RelayStats {
            caller: self.legs[0].stats(),
            agent: self.legs[1].stats(),
            caller_unmapped: self.unmapped[0],
            agent_unmapped: self.unmapped[1],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtmf::rfc4733::TelephoneEvent;
    use crate::pcm::SampleRate;
    use crate::rtp::leg::{DEFAULT_RTCP_INTERVAL, Latching};
    use crate::rtp::packet::{RtpHeader, RtpPacket};
    use std::time::Duration;

    const FRAME: Duration = Duration::from_millis(20);

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, 1], port))
    }

    fn leg(ssrc: u32, remote: SocketAddr) -> LegConfig {
        LegConfig {
            ssrc,
            initial_sequence: 65_530,
            initial_timestamp: 1_000,
            clock_rate: SampleRate::NARROWBAND,
            cname: "kefu".to_owned(),
            remote: Some(remote),
            latching: Latching::Symmetric {
                relatch_window: Duration::ZERO,
            },
            rtcp_interval: DEFAULT_RTCP_INTERVAL,
            rtcp_mux: false,
            telephone_event: Some(101),
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
