//! One RTP leg, sans-IO: the peer's address, what it sends us and what we send
//! it. Received packets come in with their source address and the current time
//! ([`RtpLeg::handle_rtp`], [`RtpLeg::handle_rtcp`]); the leg says whether to
//! accept them, rewrites packets it sends ([`RtpLeg::prepare_send`]) and
//! produces its RTCP reports ([`RtpLeg::handle_timeout`], [`RtpLeg::poll_transmit`]).
//!
//! Symmetric RTP (RFC 4961, "comedia"): the leg sends to the address its peer
//! sends from, so phones behind NAT work. It latches to the first source of
//! valid RTP; until then it sends to the address from SDP, if any. After
//! latching, packets from any other address are dropped and counted (strict
//! source, the defence against RTP bleed), except during a short window after
//! the leg starts, when a new source may take over. RTCP is accepted only from
//! the IP address of the peer (latched, or from SDP before latching), and
//! replies go to the port it came from. RTCP is terminated per leg: reports describe this
//! leg's streams, with the SSRC the leg sends with. Reports go out every
//! [`LegConfig::rtcp_interval`] without the randomisation of RFC 3550 §6.3.1,
//! which matters for large sessions, not for two-party legs.
//!
//! When the leg knows the payload type of RFC 4733 `telephone-event`, it also
//! reads the key presses its peer sends ([`RtpLeg::poll_dtmf`]) without
//! changing the packets, so call control hears digits on a relayed call.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use super::clock::{MediaClock, short_ntp_to_duration};
use super::packet::{Rewrite, RtpError, RtpHeader, RtpPacket, rewrite_header};
use super::rewrite::OutboundStream;
use super::rtcp::{RtcpError, RtcpReport, SenderInfo, parse_compound};
use super::stats::ReceiveStats;
use crate::dtmf::Dtmf;
use crate::dtmf::rfc4733::{EventPacket, TelephoneEvent, TelephoneEventReceiver};
use crate::pcm::SampleRate;

/// The usual RTCP report interval (RFC 3550 §6.2 minimum).
pub const DEFAULT_RTCP_INTERVAL: Duration = Duration::from_secs(5);
/// How long after the start a new source may replace the latched one.
pub const DEFAULT_RELATCH_WINDOW: Duration = Duration::from_secs(2);

/// Whom the leg accepts packets from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latching {
    /// Latch to the first source of valid RTP; within `relatch_window` after
    /// the start a different source replaces it, later ones are dropped.
    Symmetric { relatch_window: Duration },
    /// Trust the SDP address: latched to [`LegConfig::remote`] from the start
    /// and strict (without a remote it behaves as `Symmetric` with no window).
    Sdp,
    /// Follow the latest source of valid RTP. Not strict: for trusted networks
    /// where endpoints move, never for the public side.
    FollowLatest,
}

/// What a leg is told when it is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegConfig {
    /// The SSRC we send with; random (RFC 3550 §8.1).
    pub ssrc: u32,
    /// Random first sequence number and timestamp of what we send.
    pub initial_sequence: u16,
    pub initial_timestamp: u32,
    /// RTP clock rate of the stream (telephone-events share it).
    pub clock_rate: SampleRate,
    /// Canonical name in our RTCP reports.
    pub cname: String,
    /// The peer's RTP address from SDP, where we send before latching.
    pub remote: Option<SocketAddr>,
    pub latching: Latching,
    pub rtcp_interval: Duration,
    /// RTCP shares the RTP port (RFC 5761, `a=rtcp-mux` in SDP).
    pub rtcp_mux: bool,
    /// Payload type of `telephone-event` the peer sends, if negotiated.
    pub telephone_event: Option<u8>,
}

/// A packet the leg wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub destination: SocketAddr,
    pub payload: Vec<u8>,
    /// Send from the leg's RTP port (rtcp-mux) instead of its RTCP port.
    pub from_rtp_port: bool,
}

/// Why a received packet was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("malformed RTP: {0}")]
    MalformedRtp(RtpError),
    #[error("malformed RTCP: {0}")]
    MalformedRtcp(RtcpError),
    #[error("RTCP from {from} before the leg knows its peer")]
    NoPeerYet { from: SocketAddr },
    #[error("packet from {from}, the leg is latched to {latched}")]
    ForeignSource {
        from: SocketAddr,
        latched: SocketAddr,
    },
}

/// An accepted RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    pub header: RtpHeader,
    pub payload_len: usize,
}

/// The counters and quality figures of a leg, for metrics and the call record.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LegStats {
    /// Where the leg sends to (latched, or from SDP).
    pub remote: Option<SocketAddr>,
    pub packets_received: u64,
    /// Packets from other addresses than the latched one (RTP and RTCP).
    pub foreign_dropped: u64,
    /// Packets that were not valid RTP or RTCP.
    pub malformed: u64,
    /// Times the latched address changed.
    pub relatches: u64,
    /// Times the peer's SSRC changed.
    pub source_changes: u64,
    /// RFC 3550 A.3 over the whole leg.
    pub packets_expected: u64,
    pub packets_lost: i64,
    /// Fraction lost in the last report interval, in 1/256.
    pub fraction_lost: u8,
    /// Interarrival jitter of the incoming stream.
    pub jitter: Duration,
    /// Round-trip time from the peer's last report about our stream.
    pub rtt: Option<Duration>,
    /// What the peer last reported about our stream: fraction lost in 1/256,
    /// cumulative lost, and jitter.
    pub remote_fraction_lost: Option<u8>,
    pub remote_packets_lost: Option<i32>,
    pub remote_jitter: Option<Duration>,
    pub packets_sent: u64,
    pub octets_sent: u64,
    /// Packets we had to send before knowing any address for the peer.
    pub unroutable: u64,
    pub reports_sent: u64,
    pub reports_received: u64,
}

/// Where the leg stands with its peer's address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peer {
    /// No valid RTP yet; send to the SDP address if there is one.
    Unlatched(Option<SocketAddr>),
    Latched(SocketAddr),
}

/// One RTP leg; see the module doc.
#[derive(Debug, Clone)]
pub struct RtpLeg {
    config: LegConfig,
    clock: MediaClock,
    started: Instant,
    peer: Peer,
    rtcp_peer: Option<SocketAddr>,
    receive: ReceiveStats,
    outbound: OutboundStream,
    sent_since_report: bool,
    next_report: Instant,
    transmits: VecDeque<Transmit>,
    key_presses: TelephoneEventReceiver,
    stats: LegStats,
}

impl RtpLeg {
    /// A leg starting at `now`, when the wall clock reads `wall`.
    pub fn new(config: LegConfig, now: Instant, wall: SystemTime) -> Self {
        let peer = match (config.latching, config.remote) {
            (Latching::Sdp, Some(remote)) => Peer::Latched(remote),
            (_, remote) => Peer::Unlatched(remote),
        };
        let outbound = OutboundStream::new(
            config.ssrc,
            config.initial_sequence,
            config.initial_timestamp,
            config.clock_rate.hz(),
        );
        Self {
            next_report: now + config.rtcp_interval,
            clock: MediaClock::new(now, wall),
            started: now,
            peer,
            rtcp_peer: None,
            receive: ReceiveStats::default(),
            outbound,
            sent_since_report: false,
            transmits: VecDeque::new(),
            key_presses: TelephoneEventReceiver::new(config.clock_rate),
            stats: LegStats::default(),
            config,
        }
    }

    /// Checks an RTP packet from `source`: latches or drops by source, and
    /// counts it in the receive statistics.
    pub fn handle_rtp(
        &mut self,
        now: Instant,
        source: SocketAddr,
        packet: &[u8],
    ) -> Result<Accepted, Rejected> {
        let parsed = match RtpPacket::parse(packet) {
            Ok(parsed) => parsed,
            Err(error) => {
                self.stats.malformed += 1;
                return Err(Rejected::MalformedRtp(error));
            }
        };
        self.admit(now, source)?;
        self.stats.packets_received += 1;
        let arrival = self.clock.rtp_units(now, self.config.clock_rate.hz());
        self.receive.record(&parsed.header, arrival);
        if Some(parsed.header.payload_type) == self.config.telephone_event {
            // A short payload is not an event; the packet is still relayed.
            if let Ok(event) = TelephoneEvent::parse(parsed.payload) {
                let packet = EventPacket {
                    sequence: parsed.header.sequence,
                    timestamp: parsed.header.timestamp,
                    marker: parsed.header.marker,
                    event,
                };
                self.key_presses.handle_packet(&packet, now);
            }
        }
        Ok(Accepted {
            header: parsed.header,
            payload_len: parsed.payload.len(),
        })
    }

    /// Latches to `source` or refuses it, per [`Latching`].
    fn admit(&mut self, now: Instant, source: SocketAddr) -> Result<(), Rejected> {
        let latched = match self.peer {
            Peer::Unlatched(_) => {
                self.peer = Peer::Latched(source);
                return Ok(());
            }
            Peer::Latched(latched) if latched == source => return Ok(()),
            Peer::Latched(latched) => latched,
        };
        let may_relatch = match self.config.latching {
            Latching::Symmetric { relatch_window } => {
                now.saturating_duration_since(self.started) < relatch_window
            }
            Latching::Sdp => false,
            Latching::FollowLatest => true,
        };
        if may_relatch {
            self.peer = Peer::Latched(source);
            self.rtcp_peer = None;
            self.stats.relatches += 1;
            Ok(())
        } else {
            self.stats.foreign_dropped += 1;
            Err(Rejected::ForeignSource {
                from: source,
                latched,
            })
        }
    }

    /// Reads a compound RTCP packet from `source`: sender reports for our
    /// LSR echo, report blocks about our stream for RTT and the peer's view.
    pub fn handle_rtcp(
        &mut self,
        now: Instant,
        source: SocketAddr,
        packet: &[u8],
    ) -> Result<(), Rejected> {
        match self.remote() {
            Some(remote) if remote.ip() == source.ip() => {}
            Some(remote) => {
                self.stats.foreign_dropped += 1;
                return Err(Rejected::ForeignSource {
                    from: source,
                    latched: remote,
                });
            }
            None => {
                self.stats.foreign_dropped += 1;
                return Err(Rejected::NoPeerYet { from: source });
            }
        }
        let reports = parse_compound(packet).map_err(|error| {
            self.stats.malformed += 1;
            Rejected::MalformedRtcp(error)
        })?;
        self.rtcp_peer = Some(source);
        for report in reports {
            self.stats.reports_received += 1;
            if let Some(sender) = report.sender {
                self.receive
                    .record_sender_report(report.ssrc, sender.ntp_timestamp, now);
            }
            let about_us = report
                .blocks
                .iter()
                .find(|block| block.ssrc == self.outbound.ssrc());
            if let Some(block) = about_us {
                self.stats.remote_fraction_lost = Some(block.fraction_lost);
                self.stats.remote_packets_lost = Some(block.cumulative_lost);
                self.stats.remote_jitter = Some(Duration::from_nanos(
                    u64::from(block.jitter) * 1_000_000_000
                        / u64::from(self.config.clock_rate.hz()),
                ));
                if block.last_sr != 0 {
                    let rtt = self
                        .clock
                        .ntp_middle(now)
                        .wrapping_sub(block.last_sr)
                        .wrapping_sub(block.delay_since_last_sr);
                    // A "negative" RTT (clock confusion, a forged block) is ignored.
                    if rtt < 1 << 31 {
                        self.stats.rtt = Some(short_ntp_to_duration(rtt));
                    }
                }
            }
        }
        Ok(())
    }

    /// Rewrites `packet` (an RTP packet whose fixed header is `header`) to
    /// leave on this leg with our SSRC, sequence and timestamp and
    /// `payload_type`; returns where to send it, or None if the peer's
    /// address is not known yet.
    pub fn prepare_send(
        &mut self,
        now: Instant,
        header: &RtpHeader,
        payload_type: u8,
        packet: &mut [u8],
        payload_len: usize,
    ) -> Option<SocketAddr> {
        let Some(destination) = self.remote() else {
            self.stats.unroutable += 1;
            return None;
        };
        let rewritten = self.outbound.rewrite(header, now);
        let written = rewrite_header(
            packet,
            Rewrite {
                payload_type,
                sequence: rewritten.sequence,
                timestamp: rewritten.timestamp,
                ssrc: self.outbound.ssrc(),
            },
        );
        if !written {
            return None;
        }
        self.stats.packets_sent += 1;
        self.stats.octets_sent += payload_len as u64;
        self.sent_since_report = true;
        Some(destination)
    }

    /// The peer's RTP address: latched, or from SDP.
    pub fn remote(&self) -> Option<SocketAddr> {
        match self.peer {
            Peer::Unlatched(remote) => remote,
            Peer::Latched(remote) => Some(remote),
        }
    }

    /// The peer's RTCP address: its RTP address with rtcp-mux, else where
    /// its RTCP comes from, else its RTP port + 1.
    fn rtcp_remote(&self) -> Option<SocketAddr> {
        if self.config.rtcp_mux {
            return self.remote();
        }
        self.rtcp_peer.or_else(|| {
            self.remote().map(|mut remote| {
                remote.set_port(remote.port().wrapping_add(1));
                remote
            })
        })
    }

    /// When [`Self::handle_timeout`] is next due.
    pub fn poll_timeout(&self) -> Instant {
        self.key_presses
            .poll_timeout()
            .map_or(self.next_report, |event_end| {
                event_end.min(self.next_report)
            })
    }

    /// Queues an RTCP report when one is due, and ends a key press whose
    /// end packets were lost.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.key_presses.handle_timeout(now);
        if now < self.next_report {
            return;
        }
        self.next_report = now + self.config.rtcp_interval;
        let report = self.report(now);
        if let Some(destination) = self.rtcp_remote() {
            self.stats.reports_sent += 1;
            self.transmits.push_back(Transmit {
                destination,
                payload: report.encode(&self.config.cname),
                from_rtp_port: self.config.rtcp_mux,
            });
        }
    }

    /// An SR if we sent since the last report, else an RR; closes the
    /// receive statistics' report interval.
    fn report(&mut self, now: Instant) -> RtcpReport {
        let sender = self.sent_since_report.then(|| SenderInfo {
            ntp_timestamp: self.clock.ntp(now),
            rtp_timestamp: self.outbound.timestamp_at(now),
            packet_count: self.stats.packets_sent as u32,
            octet_count: self.stats.octets_sent as u32,
        });
        self.sent_since_report = false;
        let block = self.receive.report_block(now);
        if let Some(block) = block {
            self.stats.fraction_lost = block.fraction_lost;
        }
        RtcpReport {
            ssrc: self.outbound.ssrc(),
            sender,
            blocks: block.into_iter().collect(),
        }
    }

    /// The next key press the peer finished, oldest first.
    pub fn poll_dtmf(&mut self) -> Option<Dtmf> {
        self.key_presses.poll_event()
    }

    /// The next RTCP packet to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    pub fn stats(&self) -> LegStats {
        LegStats {
            remote: self.remote(),
            source_changes: self.receive.source_changes(),
            packets_expected: self.receive.expected(),
            packets_lost: self.receive.lost(),
            jitter: self.receive.jitter_duration(self.config.clock_rate.hz()),
            ..self.stats
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Duration = Duration::from_millis(20);

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, 1], port))
    }

    fn config(latching: Latching, remote: Option<SocketAddr>) -> LegConfig {
        LegConfig {
            ssrc: 0xABCD,
            initial_sequence: 1_000,
            initial_timestamp: 50_000,
            clock_rate: SampleRate::NARROWBAND,
            cname: "kefu".to_owned(),
            remote,
            latching,
            rtcp_interval: DEFAULT_RTCP_INTERVAL,
            rtcp_mux: false,
            telephone_event: Some(101),
        }
    }

    fn symmetric(window: Duration) -> Latching {
        Latching::Symmetric {
            relatch_window: window,
        }
    }

    fn packet(ssrc: u32, sequence: u16) -> Vec<u8> {
        RtpHeader {
            marker: false,
            payload_type: 0,
            sequence,
            timestamp: u32::from(sequence) * 160,
            ssrc,
        }
        .encode(&[0xFF; 160])
    }

    #[test]
    fn leg_latches_to_the_first_valid_source_instead_of_the_sdp_address() {
        let start = Instant::now();
        let mut leg = RtpLeg::new(
            config(symmetric(Duration::ZERO), Some(addr(4000))),
            start,
            SystemTime::now(),
        );
        assert_eq!(leg.remote(), Some(addr(4000)));
        assert!(matches!(
            leg.handle_rtp(start, addr(5000), &[0x80, 0]),
            Err(Rejected::MalformedRtp(_))
        ));
        assert_eq!(leg.remote(), Some(addr(4000)), "garbage does not latch");
        leg.handle_rtp(start, addr(5000), &packet(1, 0)).unwrap();
        assert_eq!(leg.remote(), Some(addr(5000)));
        assert_eq!(leg.stats().malformed, 1);
    }

    #[test]
    fn after_latching_other_sources_are_dropped_and_counted() {
        let start = Instant::now();
        let mut leg = RtpLeg::new(
            config(symmetric(Duration::from_secs(2)), None),
            start,
            SystemTime::now(),
        );
        leg.handle_rtp(start, addr(5000), &packet(1, 0)).unwrap();
        let late = start + Duration::from_secs(3);
        for sequence in 0..5 {
            assert_eq!(
                leg.handle_rtp(late, addr(6666), &packet(99, sequence)),
                Err(Rejected::ForeignSource {
                    from: addr(6666),
                    latched: addr(5000)
                })
            );
        }
        leg.handle_rtp(late, addr(5000), &packet(1, 1)).unwrap();
        let stats = leg.stats();
        assert_eq!(stats.foreign_dropped, 5);
        assert_eq!(stats.packets_received, 2);
        assert_eq!(stats.remote, Some(addr(5000)));
        assert_eq!(
            stats.packets_lost, 0,
            "the attacker's packets are not counted"
        );
    }

    #[test]
    fn within_the_relatch_window_a_new_source_takes_over() {
        let start = Instant::now();
        let mut leg = RtpLeg::new(
            config(symmetric(Duration::from_secs(2)), None),
            start,
            SystemTime::now(),
        );
        leg.handle_rtp(start, addr(5000), &packet(1, 0)).unwrap();
        leg.handle_rtp(start + Duration::from_secs(1), addr(5002), &packet(1, 1))
            .unwrap();
        assert_eq!(leg.remote(), Some(addr(5002)));
        assert_eq!(leg.stats().relatches, 1);
    }

    #[test]
    fn sdp_latching_is_strict_from_the_start() {
        let start = Instant::now();
        let mut leg = RtpLeg::new(
            config(Latching::Sdp, Some(addr(4000))),
            start,
            SystemTime::now(),
        );
        assert!(leg.handle_rtp(start, addr(5000), &packet(1, 0)).is_err());
        leg.handle_rtp(start, addr(4000), &packet(1, 0)).unwrap();
        assert_eq!(leg.stats().foreign_dropped, 1);
    }

    #[test]
    fn follow_latest_moves_to_every_new_source() {
        let start = Instant::now();
        let mut leg = RtpLeg::new(
            config(Latching::FollowLatest, None),
            start,
            SystemTime::now(),
        );
        leg.handle_rtp(start, addr(5000), &packet(1, 0)).unwrap();
        leg.handle_rtp(start + Duration::from_secs(60), addr(5002), &packet(1, 1))
            .unwrap();
        assert_eq!(leg.remote(), Some(addr(5002)));
    }

    #[test]
    fn rtcp_from_another_ip_or_before_any_peer_is_dropped() {
        let start = Instant::now();
        let mut leg = RtpLeg::new(
            config(symmetric(Duration::ZERO), None),
            start,
            SystemTime::now(),
        );
        let report = RtcpReport {
            ssrc: 1,
            sender: None,
            blocks: vec![],
        }
        .encode("peer");
        let stranger = SocketAddr::from(([198, 51, 100, 7], 5001));
        assert_eq!(
            leg.handle_rtcp(start, stranger, &report),
            Err(Rejected::NoPeerYet { from: stranger })
        );
        leg.handle_rtp(start, addr(5000), &packet(1, 0)).unwrap();
        assert!(matches!(
            leg.handle_rtcp(start, stranger, &report),
            Err(Rejected::ForeignSource { .. })
        ));
        leg.handle_rtcp(start, addr(5001), &report).unwrap();
        assert_eq!(leg.stats().reports_received, 1);
        assert_eq!(leg.stats().foreign_dropped, 2);
    }

    #[test]
    fn unroutable_packets_are_counted_and_not_rewritten() {
        let start = Instant::now();
        let mut leg = RtpLeg::new(
            config(symmetric(Duration::ZERO), None),
            start,
            SystemTime::now(),
        );
        let mut bytes = packet(1, 0);
        let header = RtpPacket::parse(&bytes).unwrap().header;
        assert_eq!(leg.prepare_send(start, &header, 0, &mut bytes, 160), None);
        assert_eq!(bytes, packet(1, 0));
        assert_eq!(leg.stats().unroutable, 1);
    }

    /// Two legs facing each other: each one's reports reach the other.
    #[test]
    fn rtcp_reports_round_trip_and_give_rtt_loss_and_jitter() {
        let start = Instant::now();
        let wall = SystemTime::now();
        let mut ours = RtpLeg::new(
            config(symmetric(Duration::ZERO), Some(addr(4000))),
            start,
            wall,
        );
        let theirs_config = LegConfig {
            ssrc: 0x7777,
            ..config(symmetric(Duration::ZERO), Some(addr(3000)))
        };
        let mut theirs = RtpLeg::new(theirs_config, start, wall);
        let one_way = Duration::from_millis(30);

        // We send 100 packets to them, losing every tenth on the way.
        for i in 0..100u16 {
            let now = start + FRAME * u32::from(i);
            let mut bytes = packet(0x5555, i);
            let header = RtpPacket::parse(&bytes).unwrap().header;
            assert_eq!(
                ours.prepare_send(now, &header, 0, &mut bytes, 160),
                Some(addr(4000))
            );
            if i % 10 != 9 {
                theirs
                    .handle_rtp(now + one_way, addr(3000), &bytes)
                    .unwrap();
            }
        }
        // Our SR reaches them; 200 ms later their RR comes back.
        ours.handle_timeout(start + DEFAULT_RTCP_INTERVAL);
        let sr = ours.poll_transmit().unwrap();
        assert_eq!(sr.destination, addr(4001));
        let sr_parsed = parse_compound(&sr.payload).unwrap();
        assert_eq!(sr_parsed[0].sender.unwrap().packet_count, 100);
        theirs
            .handle_rtcp(
                start + DEFAULT_RTCP_INTERVAL + one_way,
                addr(3001),
                &sr.payload,
            )
            .unwrap();
        let their_report_at = start + DEFAULT_RTCP_INTERVAL + one_way + Duration::from_millis(200);
        theirs.handle_timeout(their_report_at);
        let rr = theirs.poll_transmit().unwrap();
        assert_eq!(
            rr.destination,
            addr(3001),
            "RTCP goes back where it came from"
        );
        ours.handle_rtcp(their_report_at + one_way, addr(4001), &rr.payload)
            .unwrap();

        let stats = ours.stats();
        let rtt = stats.rtt.unwrap();
        assert!(
            rtt.abs_diff(2 * one_way) < Duration::from_millis(1),
            "{rtt:?}"
        );
        // 99 expected (0..=98), 90 received.
        assert_eq!(stats.remote_packets_lost, Some(9));
        assert_eq!(stats.remote_fraction_lost, Some((9 * 256 / 99) as u8));
        assert_eq!(stats.remote_jitter, Some(Duration::ZERO));
        assert_eq!(theirs.stats().packets_lost, 9);
        assert_eq!(theirs.stats().fraction_lost, (9 * 256 / 99) as u8);
    }

    #[test]
    fn with_rtcp_mux_reports_go_to_the_rtp_address_from_the_rtp_port() {
        let start = Instant::now();
        let mut leg = RtpLeg::new(
            LegConfig {
                rtcp_mux: true,
                ..config(symmetric(Duration::ZERO), Some(addr(4000)))
            },
            start,
            SystemTime::now(),
        );
        leg.handle_timeout(start + DEFAULT_RTCP_INTERVAL);
        let report = leg.poll_transmit().unwrap();
        assert_eq!(report.destination, addr(4000));
        assert!(report.from_rtp_port);
    }

    #[test]
    fn key_presses_are_read_from_telephone_events_and_lost_ends_time_out() {
        let start = Instant::now();
        let mut leg = RtpLeg::new(
            config(symmetric(Duration::ZERO), None),
            start,
            SystemTime::now(),
        );
        let event = |code, end, duration| TelephoneEvent {
            event: code,
            end,
            volume: 10,
            duration,
        };
        let send = |leg: &mut RtpLeg, sequence, timestamp, event: TelephoneEvent, at| {
            let bytes = RtpHeader {
                marker: false,
                payload_type: 101,
                sequence,
                timestamp,
                ssrc: 1,
            }
            .encode(&event.to_bytes());
            leg.handle_rtp(at, addr(5000), &bytes).unwrap();
        };
        send(&mut leg, 1, 800, event(5, false, 400), start);
        send(&mut leg, 2, 800, event(5, true, 800), start + FRAME);
        send(&mut leg, 3, 800, event(5, true, 800), start + FRAME);
        assert_eq!(
            leg.poll_dtmf(),
            Some(Dtmf {
                digit: crate::dtmf::DtmfDigit::D5,
                duration: Duration::from_millis(100)
            })
        );
        assert_eq!(leg.poll_dtmf(), None, "redundant end packets are one press");
        // A press whose end packets are all lost ends by timeout.
        send(
            &mut leg,
            4,
            4_000,
            event(11, false, 160),
            start + FRAME * 10,
        );
        let due = leg.poll_timeout();
        assert!(due < start + DEFAULT_RTCP_INTERVAL);
        leg.handle_timeout(due);
        assert_eq!(
            leg.poll_dtmf().map(|press| press.digit.as_char()),
            Some('#')
        );
    }

    #[test]
    fn reports_are_due_every_interval_and_rr_when_nothing_was_sent() {
        let start = Instant::now();
        let mut leg = RtpLeg::new(
            config(symmetric(Duration::ZERO), Some(addr(4000))),
            start,
            SystemTime::now(),
        );
        assert_eq!(leg.poll_timeout(), start + DEFAULT_RTCP_INTERVAL);
        leg.handle_timeout(start + Duration::from_secs(1));
        assert_eq!(leg.poll_transmit(), None, "not due yet");
        leg.handle_timeout(start + DEFAULT_RTCP_INTERVAL);
        let report = leg.poll_transmit().unwrap();
        assert_eq!(parse_compound(&report.payload).unwrap()[0].sender, None);
        assert_eq!(leg.poll_timeout(), start + 2 * DEFAULT_RTCP_INTERVAL);
        assert_eq!(leg.stats().reports_sent, 1);
    }
}
