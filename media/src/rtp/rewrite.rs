//! The outgoing stream of one leg: the SSRC, sequence numbers and timestamps
//! a relayed packet leaves with. Packets of one incoming source keep their
//! spacing (gaps and reordering pass through as offsets); when the incoming
//! SSRC changes (a re-INVITE, a transfer) or its sequence jumps, the offsets
//! are chosen again so that the far end sees the next sequence number and a
//! timestamp advanced by the time that passed, and by at least one packet's
//! worth — one continuous stream.

use std::time::Instant;

use super::packet::RtpHeader;
use crate::pcm::FRAME_DURATION;

/// A sequence jump at least this far ahead starts a new mapping (RFC 3550 A.1).
const MAX_DROPOUT: u16 = 3_000;
/// A sequence number up to this far behind is reordering, not a jump.
const MAX_MISORDER: u16 = 100;

/// How one incoming source maps onto the outgoing stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mapping {
    ssrc: u32,
    sequence_offset: u16,
    timestamp_offset: u32,
    /// Highest incoming sequence number seen.
    highest_in: u16,
}

/// The most advanced packet sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Sent {
    sequence: u16,
    timestamp: u32,
    at: Instant,
}

/// The sequence number and timestamp a packet leaves with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewritten {
    pub sequence: u16,
    pub timestamp: u32,
}

/// One leg's outgoing stream; see the module doc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundStream {
    ssrc: u32,
    clock_rate: u32,
    initial_sequence: u16,
    initial_timestamp: u32,
    mapping: Option<Mapping>,
    last: Option<Sent>,
    /// Timestamp step between consecutive packets, last seen (one 20 ms
    /// frame until then): the least a new source's first packet advances.
    packet_units: u32,
}

impl OutboundStream {
    /// A stream with its own `ssrc` and random starting points (RFC 3550 §5.1).
    pub fn new(ssrc: u32, initial_sequence: u16, initial_timestamp: u32, clock_rate: u32) -> Self {
        Self {
            ssrc,
            clock_rate,
            initial_sequence,
            initial_timestamp,
            mapping: None,
            last: None,
            packet_units: frame_units(clock_rate),
        }
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Where a packet with `header`, sent at `now`, goes in the outgoing stream.
    pub fn rewrite(&mut self, header: &RtpHeader, now: Instant) -> Rewritten {
        let mapping = match self.mapping {
            Some(mapping) if mapping.ssrc == header.ssrc && !is_jump(mapping, header.sequence) => {
                mapping
            }
            _ => self.rebase(header, now),
        };
        let rewritten = Rewritten {
            sequence: header.sequence.wrapping_add(mapping.sequence_offset),
            timestamp: header.timestamp.wrapping_add(mapping.timestamp_offset),
        };
        let ahead_in = header.sequence.wrapping_sub(mapping.highest_in) < MAX_DROPOUT;
        self.mapping = Some(Mapping {
            highest_in: if ahead_in {
                header.sequence
            } else {
                mapping.highest_in
            },
            ..mapping
        });
        let ahead_out = self
            .last
            .is_none_or(|last| rewritten.sequence.wrapping_sub(last.sequence) < MAX_DROPOUT);
        let step = self
            .last
            .filter(|last| rewritten.sequence == last.sequence.wrapping_add(1))
            .map(|last| rewritten.timestamp.wrapping_sub(last.timestamp));
        if let Some(step) = step.filter(|step| (1..self.clock_rate).contains(step)) {
            self.packet_units = step;
        }
        if ahead_out {
            self.last = Some(Sent {
                sequence: rewritten.sequence,
                timestamp: rewritten.timestamp,
                at: now,
            });
        }
        rewritten
    }

    /// The outgoing RTP timestamp that corresponds to `now`, for sender reports.
    pub fn timestamp_at(&self, now: Instant) -> u32 {
        self.last.map_or(self.initial_timestamp, |last| {
            last.timestamp
                .wrapping_add(self.units_between(last.at, now))
        })
    }

    /// Offsets that put `header` right after the last packet sent.
    fn rebase(&self, header: &RtpHeader, now: Instant) -> Mapping {
        let (sequence, timestamp) = match self.last {
            Some(last) => (
                last.sequence.wrapping_add(1),
                last.timestamp
                    .wrapping_add(self.units_between(last.at, now).max(self.packet_units)),
            ),
            None => (self.initial_sequence, self.initial_timestamp),
        };
        Mapping {
            ssrc: header.ssrc,
            sequence_offset: sequence.wrapping_sub(header.sequence),
            timestamp_offset: timestamp.wrapping_sub(header.timestamp),
            highest_in: header.sequence,
        }
    }

    fn units_between(&self, from: Instant, to: Instant) -> u32 {
        let nanos = to.saturating_duration_since(from).as_nanos();
        (nanos * u128::from(self.clock_rate) / 1_000_000_000) as u32
    }
}

/// Timestamp units in one 20 ms frame.
fn frame_units(clock_rate: u32) -> u32 {
    (u128::from(clock_rate) * FRAME_DURATION.as_nanos() / 1_000_000_000) as u32
}

/// Whether `sequence` is neither a small step ahead nor a little behind.
fn is_jump(mapping: Mapping, sequence: u16) -> bool {
    let delta = sequence.wrapping_sub(mapping.highest_in);
    (MAX_DROPOUT..=u16::MAX - MAX_MISORDER).contains(&delta)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn header(ssrc: u32, sequence: u16, timestamp: u32) -> RtpHeader {
        RtpHeader {
            marker: false,
            payload_type: 0,
            sequence,
            timestamp,
            ssrc,
        }
    }

    fn rewritten(sequence: u16, timestamp: u32) -> Rewritten {
        Rewritten {
            sequence,
            timestamp,
        }
    }

    #[test]
    fn the_first_source_starts_at_the_initial_sequence_and_timestamp() {
        let mut stream = OutboundStream::new(42, 1_000, 5_000, 8_000);
        let now = Instant::now();
        assert_eq!(
            stream.rewrite(&header(7, 30, 900), now),
            rewritten(1_000, 5_000)
        );
        assert_eq!(
            stream.rewrite(&header(7, 31, 1_060), now),
            rewritten(1_001, 5_160)
        );
        // Gaps and reordering of the source pass through.
        assert_eq!(
            stream.rewrite(&header(7, 34, 1_540), now),
            rewritten(1_004, 5_640)
        );
        assert_eq!(
            stream.rewrite(&header(7, 33, 1_380), now),
            rewritten(1_003, 5_480)
        );
        assert_eq!(stream.ssrc(), 42);
    }

    #[test]
    fn a_new_source_ssrc_continues_the_sequence_and_advances_time() {
        let mut stream = OutboundStream::new(42, 100, 0, 8_000);
        let start = Instant::now();
        for i in 0..10u16 {
            stream.rewrite(
                &header(7, i, u32::from(i) * 160),
                start + FRAME * u32::from(i),
            );
        }
        // 100 ms after the last packet a new source takes over with other numbers.
        let switch = start + FRAME * 9 + Duration::from_millis(100);
        assert_eq!(
            stream.rewrite(&header(8, 50_000, 123_456), switch),
            rewritten(110, 9 * 160 + 800)
        );
        assert_eq!(
            stream.rewrite(&header(8, 50_001, 123_616), switch + FRAME),
            rewritten(111, 9 * 160 + 960)
        );
    }

    #[test]
    fn a_new_source_right_after_the_last_packet_still_advances_one_packet() {
        let mut stream = OutboundStream::new(42, 0, 0, 8_000);
        let now = Instant::now();
        // 30 ms packets (240 units) sent in a burst, then the source changes.
        stream.rewrite(&header(7, 0, 0), now);
        stream.rewrite(&header(7, 1, 240), now);
        assert_eq!(stream.rewrite(&header(8, 77, 5), now), rewritten(2, 480));
        let mut fresh = OutboundStream::new(42, 0, 0, 8_000);
        fresh.rewrite(&header(7, 0, 0), now);
        assert_eq!(fresh.rewrite(&header(8, 9, 9), now), rewritten(1, 160));
    }

    #[test]
    fn outgoing_sequence_wraps_through_zero() {
        let mut stream = OutboundStream::new(1, 65_534, u32::MAX - 160, 8_000);
        let now = Instant::now();
        let out: Vec<_> = (0..4u16)
            .map(|i| stream.rewrite(&header(7, i, u32::from(i) * 160), now))
            .collect();
        assert_eq!(
            out,
            vec![
                rewritten(65_534, u32::MAX - 160),
                rewritten(65_535, u32::MAX),
                rewritten(0, 159),
                rewritten(1, 319)
            ]
        );
    }

    #[test]
    fn a_sequence_jump_within_one_ssrc_is_rebased() {
        let mut stream = OutboundStream::new(1, 10, 0, 8_000);
        let now = Instant::now();
        stream.rewrite(&header(7, 5, 0), now);
        assert_eq!(
            stream.rewrite(&header(7, 40_000, 999_999), now + FRAME),
            rewritten(11, 160)
        );
    }

    #[test]
    fn timestamp_at_follows_the_clock_after_the_last_packet() {
        let mut stream = OutboundStream::new(1, 0, 1_000, 8_000);
        let now = Instant::now();
        assert_eq!(stream.timestamp_at(now), 1_000);
        stream.rewrite(&header(7, 0, 0), now);
        assert_eq!(stream.timestamp_at(now + Duration::from_secs(1)), 9_000);
    }

    const FRAME: Duration = Duration::from_millis(20);

    proptest::proptest! {
        /// Whatever the sources and their numbering, in-order packets leave
        /// as one stream: consecutive sequence numbers, timestamps moving on.
        #[test]
        fn in_order_sources_leave_as_one_continuous_stream(
            segments in proptest::collection::vec(
                (proptest::prelude::any::<u16>(), proptest::prelude::any::<u32>(), 1usize..30),
                1..6,
            ),
            initial_sequence in proptest::prelude::any::<u16>(),
            initial_timestamp in proptest::prelude::any::<u32>(),
        ) {
            let mut stream = OutboundStream::new(9, initial_sequence, initial_timestamp, 8_000);
            let start = Instant::now();
            let mut sent: Vec<Rewritten> = Vec::new();
            // Each segment is a new source (its own SSRC) with its own numbering.
            for (ssrc, (first_sequence, first_timestamp, count)) in segments.into_iter().enumerate() {
                for i in 0..count {
                    let now = start + FRAME * sent.len() as u32;
                    let header = header(
                        ssrc as u32,
                        first_sequence.wrapping_add(i as u16),
                        first_timestamp.wrapping_add(160 * i as u32),
                    );
                    sent.push(stream.rewrite(&header, now));
                }
            }
            proptest::prop_assert_eq!(sent[0], rewritten(initial_sequence, initial_timestamp));
            for pair in sent.windows(2) {
                proptest::prop_assert_eq!(pair[1].sequence, pair[0].sequence.wrapping_add(1));
                let step = pair[1].timestamp.wrapping_sub(pair[0].timestamp);
                proptest::prop_assert!((160..=320).contains(&step), "step {}", step);
            }
        }
    }
}
