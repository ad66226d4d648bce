//! RFC 4733 telephone-events: the 4-byte payload ([`TelephoneEvent`]), a
//! receiver that turns a stream of event packets into one [`Dtmf`] per key
//! press ([`TelephoneEventReceiver`]), and a generator that lays out the packets
//! to send for a key press ([`TelephoneEventGenerator`]).
//!
//! Both are sans-IO: the caller passes RTP header fields and the current time,
//! and the receiver says when it next needs [`TelephoneEventReceiver::handle_timeout`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::{Dtmf, DtmfDigit};
use crate::pcm::SampleRate;

/// The payload of one telephone-event RTP packet (RFC 4733 §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TelephoneEvent {
    /// Event code: 0–15 are DTMF digits, 16 is flash, others are tones we ignore.
    pub event: u8,
    /// The E bit: this packet ends the event.
    pub end: bool,
    /// Power level in −dBm0, 0–63 (6 bits).
    pub volume: u8,
    /// Duration of the event so far, in RTP timestamp units.
    pub duration: u16,
}

/// Why a payload is not a telephone-event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TelephoneEventError {
    #[error("telephone-event payload is {len} bytes, needs at least 4")]
    TooShort { len: usize },
}

impl TelephoneEvent {
    /// Bytes in the payload.
    pub const LEN: usize = 4;

    /// Reads the first four bytes of an RTP payload; bytes beyond them (padding
    /// some senders add) are ignored.
    pub fn parse(payload: &[u8]) -> Result<Self, TelephoneEventError> {
        match *payload {
            [event, flags, duration_high, duration_low, ..] => Ok(Self {
                event,
                end: flags & 0x80 != 0,
                volume: flags & 0x3F,
                duration: u16::from_be_bytes([duration_high, duration_low]),
            }),
            _ => Err(TelephoneEventError::TooShort { len: payload.len() }),
        }
    }

    /// The wire form; the reserved bit is zero and the volume is cut to 6 bits.
    pub fn to_bytes(self) -> [u8; Self::LEN] {
        let [duration_high, duration_low] = self.duration.to_be_bytes();
        let end = if self.end { 0x80 } else { 0 };
        [
            self.event,
            end | (self.volume & 0x3F),
            duration_high,
            duration_low,
        ]
    }
}

/// The RTP header fields of a telephone-event packet together with its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventPacket {
    pub sequence: u16,
    /// Identical for every packet of one event: the event's start.
    pub timestamp: u32,
    /// Set on the first packet of an event.
    pub marker: bool,
    pub event: TelephoneEvent,
}

/// How long the receiver waits after the last packet of an event before it
/// takes the event as ended (all end packets lost): five update intervals.
pub const DEFAULT_END_TIMEOUT: Duration = Duration::from_millis(250);
/// How many finished events' timestamps are kept to recognise their
/// retransmitted end packets.
const FINISHED_MEMORY: usize = 16;

/// Turns received telephone-event packets into exactly one [`Dtmf`] per event.
///
/// Packets of one event share a timestamp. An event is reported on its first
/// end packet; the two redundant end packets that follow, and any late packet
/// of a reported event, are dropped. When no end packet arrives, the event is
/// reported with the last duration heard once the next event starts or after
/// the end timeout, whichever comes first. A press longer than 65535
/// timestamp units (8.19 s at 8 kHz), which senders split into segments with
/// new timestamps (RFC 4733 §2.5.2.1), is reported once per segment.
#[derive(Debug, Clone)]
pub struct TelephoneEventReceiver {
    clock_rate: SampleRate,
    end_timeout: Duration,
    current: Option<ActiveEvent>,
    finished: VecDeque<u32>,
    events: VecDeque<Dtmf>,
}

#[derive(Debug, Clone, Copy)]
struct ActiveEvent {
    timestamp: u32,
    digit: DtmfDigit,
    duration: u16,
    last_heard: Instant,
}

impl TelephoneEventReceiver {
    /// A receiver for a stream with the given RTP clock rate (the `/8000` of
    /// `telephone-event/8000`).
    pub fn new(clock_rate: SampleRate) -> Self {
        Self {
            clock_rate,
            end_timeout: DEFAULT_END_TIMEOUT,
            current: None,
            finished: VecDeque::with_capacity(FINISHED_MEMORY),
            events: VecDeque::new(),
        }
    }

    /// Replaces [`DEFAULT_END_TIMEOUT`].
    pub fn with_end_timeout(mut self, end_timeout: Duration) -> Self {
        self.end_timeout = end_timeout;
        self
    }

    /// Takes in one received packet. Events other than the sixteen digits
    /// (flash, line tones) are ignored.
    pub fn handle_packet(&mut self, packet: &EventPacket, now: Instant) {
        let Some(digit) = DtmfDigit::from_event_code(packet.event.event) else {
            return;
        };
        if self.finished.contains(&packet.timestamp) {
            return;
        }
        if let Some(current) = self.current {
            if current.timestamp != packet.timestamp {
                let age = packet.timestamp.wrapping_sub(current.timestamp);
                if age > u32::MAX / 2 {
                    // A reordered packet of an event older than the current one.
                    return;
                }
                self.finish(current);
            }
        }
        let mut active = match self.current {
            Some(current) if current.timestamp == packet.timestamp => current,
            _ => ActiveEvent {
                timestamp: packet.timestamp,
                digit,
                duration: 0,
                last_heard: now,
            },
        };
        active.duration = active.duration.max(packet.event.duration);
        active.last_heard = now;
        if packet.event.end {
            self.finish(active);
        } else {
            self.current = Some(active);
        }
    }

    /// Ends an event whose end packets were all lost, once its timeout passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(current) = self.current {
            if now >= current.last_heard + self.end_timeout {
                self.finish(current);
            }
        }
    }

    /// When [`Self::handle_timeout`] must next be called, if an event is open.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.current
            .map(|current| current.last_heard + self.end_timeout)
    }

    /// The next finished key press, oldest first.
    pub fn poll_event(&mut self) -> Option<Dtmf> {
        self.events.pop_front()
    }

    fn finish(&mut self, event: ActiveEvent) {
        self.current = None;
        if self.finished.len() == FINISHED_MEMORY {
            self.finished.pop_front();
        }
        self.finished.push_back(event.timestamp);
        self.events.push_back(Dtmf {
            digit: event.digit,
            duration: self.clock_rate.duration_of(usize::from(event.duration)),
        });
    }
}

/// A packet to send, `send_after` the start of the key press.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledEventPacket {
    pub send_after: Duration,
    pub packet: EventPacket,
}

/// Update interval RFC 4733 §2.5.1.2 suggests, and most phones use.
pub const DEFAULT_UPDATE_INTERVAL: Duration = Duration::from_millis(50);
/// Power level of generated events, in −dBm0.
pub const DEFAULT_VOLUME: u8 = 10;
/// How many times the end packet is sent (RFC 4733 §2.5.1.4).
const END_PACKET_COPIES: u64 = 3;

/// Lays out the telephone-event packets for one key press: a first packet
/// with the marker bit, an update every interval, and the end packet three
/// times, one interval apart. Each packet's duration covers the interval that
/// follows its sending.
#[derive(Debug, Clone, Copy)]
pub struct TelephoneEventGenerator {
    clock_rate: SampleRate,
    update_interval: Duration,
    volume: u8,
}

impl TelephoneEventGenerator {
    pub fn new(clock_rate: SampleRate) -> Self {
        Self {
            clock_rate,
            update_interval: DEFAULT_UPDATE_INTERVAL,
            volume: DEFAULT_VOLUME,
        }
    }

    /// Packets for `digit` held for `duration`, numbered from `first_sequence`
    /// and stamped `timestamp` (the RTP time the key press starts). Durations
    /// beyond 65535 timestamp units (8.19 s at 8 kHz) are cut to that.
    pub fn packets(
        &self,
        digit: DtmfDigit,
        duration: Duration,
        first_sequence: u16,
        timestamp: u32,
    ) -> Vec<ScheduledEventPacket> {
        let units = |span: Duration| -> u16 {
            u16::try_from(self.clock_rate.samples_in(span)).unwrap_or(u16::MAX)
        };
        let total = units(duration);
        let packet = |index: u64, event_duration: u16, end: bool| ScheduledEventPacket {
            send_after: self.update_interval * u32::try_from(index).unwrap_or(u32::MAX),
            packet: EventPacket {
                sequence: first_sequence.wrapping_add(index as u16),
                timestamp,
                marker: index == 0,
                event: TelephoneEvent {
                    event: digit.event_code(),
                    end,
                    volume: self.volume,
                    duration: event_duration,
                },
            },
        };
        let mut packets = Vec::new();
        let mut index = 0;
        loop {
            let covered = units(self.update_interval * (index as u32 + 1));
            if covered >= total {
                break;
            }
            packets.push(packet(index, covered, false));
            index += 1;
        }
        packets.extend((0..END_PACKET_COPIES).map(|copy| packet(index + copy, total, true)));
        packets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: SampleRate = SampleRate::NARROWBAND;

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    /// Feeds scheduled packets to a receiver at their send times.
    fn deliver(
        receiver: &mut TelephoneEventReceiver,
        packets: &[ScheduledEventPacket],
        start: Instant,
    ) {
        for scheduled in packets {
            receiver.handle_packet(&scheduled.packet, start + scheduled.send_after);
        }
    }

    fn drain(receiver: &mut TelephoneEventReceiver) -> Vec<Dtmf> {
        std::iter::from_fn(|| receiver.poll_event()).collect()
    }

    #[test]
    fn payload_parses_and_builds_the_wire_format() {
        let bytes = [0x05, 0x8A, 0x03, 0x20];
        let event = TelephoneEvent::parse(&bytes).unwrap();
        assert_eq!(
            event,
            TelephoneEvent {
                event: 5,
                end: true,
                volume: 10,
                duration: 800
            }
        );
        assert_eq!(event.to_bytes(), bytes);
        let start = TelephoneEvent {
            event: 11,
            end: false,
            volume: 63,
            duration: 0,
        };
        assert_eq!(start.to_bytes(), [11, 0x3F, 0, 0]);
        // The reserved bit is ignored on input.
        assert_eq!(TelephoneEvent::parse(&[11, 0x7F, 0, 0, 0]).unwrap(), start);
    }

    #[test]
    fn short_payloads_are_rejected() {
        assert_eq!(
            TelephoneEvent::parse(&[1, 2, 3]),
            Err(TelephoneEventError::TooShort { len: 3 })
        );
        assert!(TelephoneEvent::parse(&[]).is_err());
    }

    #[test]
    fn generator_sends_start_updates_every_50_ms_and_three_end_packets() {
        let packets =
            TelephoneEventGenerator::new(RATE).packets(DtmfDigit::D1, ms(200), 65_534, 1_000);
        let summary: Vec<(Duration, u16, bool, bool, u16)> = packets
            .iter()
            .map(|p| {
                (
                    p.send_after,
                    p.packet.sequence,
                    p.packet.marker,
                    p.packet.event.end,
                    p.packet.event.duration,
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (ms(0), 65_534, true, false, 400),
                (ms(50), 65_535, false, false, 800),
                (ms(100), 0, false, false, 1_200),
                (ms(150), 1, false, true, 1_600),
                (ms(200), 2, false, true, 1_600),
                (ms(250), 3, false, true, 1_600),
            ]
        );
        assert!(
            packets
                .iter()
                .all(|p| p.packet.timestamp == 1_000 && p.packet.event.event == 1)
        );
    }

    #[test]
    fn a_key_press_shorter_than_one_interval_is_only_end_packets() {
        let packets = TelephoneEventGenerator::new(RATE).packets(DtmfDigit::Pound, ms(40), 7, 0);
        assert_eq!(packets.len(), 3);
        assert!(packets[0].packet.marker);
        assert!(
            packets
                .iter()
                .all(|p| p.packet.event.end && p.packet.event.duration == 320)
        );
    }

    #[test]
    fn receiver_reports_each_generated_digit_once_with_its_duration() {
        let generator = TelephoneEventGenerator::new(RATE);
        let mut receiver = TelephoneEventReceiver::new(RATE);
        let start = Instant::now();
        let mut sequence = 100u16;
        for (index, digit) in DtmfDigit::ALL.into_iter().enumerate() {
            let timestamp = index as u32 * 8_000;
            let packets = generator.packets(digit, ms(120), sequence, timestamp);
            sequence = sequence.wrapping_add(packets.len() as u16);
            deliver(
                &mut receiver,
                &packets,
                start + Duration::from_secs(index as u64),
            );
        }
        let expected: Vec<Dtmf> = DtmfDigit::ALL
            .into_iter()
            .map(|digit| Dtmf {
                digit,
                duration: ms(120),
            })
            .collect();
        assert_eq!(drain(&mut receiver), expected);
        assert_eq!(receiver.poll_timeout(), None);
    }

    #[test]
    fn lost_end_packets_end_the_event_after_the_timeout() {
        let mut packets = TelephoneEventGenerator::new(RATE).packets(DtmfDigit::D7, ms(200), 0, 0);
        packets.retain(|p| !p.packet.event.end);
        let mut receiver = TelephoneEventReceiver::new(RATE);
        let start = Instant::now();
        deliver(&mut receiver, &packets, start);
        assert_eq!(receiver.poll_event(), None);
        let deadline = receiver.poll_timeout().unwrap();
        assert_eq!(deadline, start + ms(100) + DEFAULT_END_TIMEOUT);
        receiver.handle_timeout(deadline - ms(1));
        assert_eq!(receiver.poll_event(), None);
        receiver.handle_timeout(deadline);
        assert_eq!(
            drain(&mut receiver),
            [Dtmf {
                digit: DtmfDigit::D7,
                duration: ms(150)
            }]
        );
        // End packets arriving after the timeout do not report it again.
        let late_end = EventPacket {
            sequence: 3,
            timestamp: 0,
            marker: false,
            event: TelephoneEvent {
                event: 7,
                end: true,
                volume: 10,
                duration: 1_600,
            },
        };
        receiver.handle_packet(&late_end, deadline + ms(10));
        assert_eq!(receiver.poll_event(), None);
    }

    #[test]
    fn the_next_event_ends_one_whose_end_packets_were_lost() {
        let generator = TelephoneEventGenerator::new(RATE);
        let mut first = generator.packets(DtmfDigit::D2, ms(100), 0, 0);
        first.retain(|p| !p.packet.event.end);
        let second = generator.packets(DtmfDigit::D3, ms(100), 10, 1_600);
        let mut receiver = TelephoneEventReceiver::new(RATE);
        let start = Instant::now();
        deliver(&mut receiver, &first, start);
        deliver(&mut receiver, &second, start + ms(150));
        assert_eq!(
            drain(&mut receiver),
            [
                Dtmf {
                    digit: DtmfDigit::D2,
                    duration: ms(50)
                },
                Dtmf {
                    digit: DtmfDigit::D3,
                    duration: ms(100)
                },
            ]
        );
    }

    #[test]
    fn reordered_packets_of_an_older_event_are_dropped() {
        let generator = TelephoneEventGenerator::new(RATE);
        let old = generator.packets(DtmfDigit::D4, ms(100), 0, u32::MAX - 100);
        let new = generator.packets(DtmfDigit::D5, ms(100), 10, 700);
        let mut receiver = TelephoneEventReceiver::new(RATE);
        let now = Instant::now();
        receiver.handle_packet(&new[0].packet, now);
        receiver.handle_packet(&old[0].packet, now);
        deliver(&mut receiver, &new[1..], now);
        assert_eq!(
            drain(&mut receiver),
            [Dtmf {
                digit: DtmfDigit::D5,
                duration: ms(100)
            }]
        );
    }

    #[test]
    fn non_digit_events_are_ignored() {
        let flash = EventPacket {
            sequence: 1,
            timestamp: 0,
            marker: true,
            event: TelephoneEvent {
                event: 16,
                end: true,
                volume: 10,
                duration: 800,
            },
        };
        let mut receiver = TelephoneEventReceiver::new(RATE);
        receiver.handle_packet(&flash, Instant::now());
        assert_eq!(receiver.poll_event(), None);
        assert_eq!(receiver.poll_timeout(), None);
    }

    #[test]
    fn the_end_timeout_is_configurable() {
        let mut receiver = TelephoneEventReceiver::new(RATE).with_end_timeout(ms(1_000));
        let packets = TelephoneEventGenerator::new(RATE).packets(DtmfDigit::A, ms(500), 0, 0);
        let now = Instant::now();
        receiver.handle_packet(&packets[0].packet, now);
        assert_eq!(receiver.poll_timeout(), Some(now + ms(1_000)));
    }

    proptest::proptest! {
        #[test]
        fn any_payload_of_four_bytes_or_more_parses_and_rebuilds(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 4..12)) {
            let event = TelephoneEvent::parse(&bytes).unwrap();
            let rebuilt = event.to_bytes();
            proptest::prop_assert_eq!(rebuilt, [bytes[0], bytes[1] & 0xBF, bytes[2], bytes[3]]);
        }

        #[test]
        fn any_packet_stream_reports_at_most_one_event_per_timestamp(
            packets in proptest::collection::vec((0u8..20, proptest::prelude::any::<bool>(), 0u32..6, proptest::prelude::any::<u16>(), 0u64..400), 0..60)
        ) {
            let mut receiver = TelephoneEventReceiver::new(RATE);
            let start = Instant::now();
            let mut timestamps = std::collections::HashSet::new();
            for (sequence, (event, end, timestamp, duration, at)) in packets.into_iter().enumerate() {
                if event < 16 {
                    timestamps.insert(timestamp);
                }
                let packet = EventPacket {
                    sequence: sequence as u16,
                    timestamp,
                    marker: false,
                    event: TelephoneEvent { event, end, volume: 10, duration },
                };
                receiver.handle_packet(&packet, start + ms(at));
            }
            receiver.handle_timeout(start + Duration::from_secs(10));
            proptest::prop_assert!(drain(&mut receiver).len() <= timestamps.len());
            proptest::prop_assert_eq!(receiver.poll_timeout(), None);
        }
    }
}
