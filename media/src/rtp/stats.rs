//! Receive statistics for the stream arriving on one leg, as RFC 3550
//! appendix A computes them: extended sequence numbers with wrap and restart
//! detection (A.1), expected and lost packets and the fraction lost per report
//! interval (A.3), interarrival jitter (A.8), and the LSR/DLSR echo of the last
//! sender report. When the source's SSRC changes the sequence state starts
//! over; expected and lost packets of earlier sources stay in the totals.

use std::time::{Duration, Instant};

use super::clock::duration_to_short_ntp;
use super::packet::RtpHeader;
use super::rtcp::ReportBlock;

/// A jump ahead of more than this many sequence numbers is a restart (A.1).
const MAX_DROPOUT: u16 = 3_000;
/// A sequence number up to this far behind the highest is reordering (A.1).
const MAX_MISORDER: u16 = 100;
const SEQ_MOD: u32 = 1 << 16;

/// What one source has sent us, as far as the receiver can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SourceState {
    ssrc: u32,
    base_seq: u32,
    max_seq: u16,
    /// Wraps of the sequence number, times 65536.
    cycles: u32,
    /// The sequence number after a large jump, to confirm a restart.
    bad_seq: Option<u32>,
    received: u64,
    expected_prior: u64,
    received_prior: u64,
    /// Arrival minus RTP timestamp of the previous packet, in RTP units.
    transit: Option<u32>,
    /// Jitter in RTP units, times 16 (A.8's fixed-point form).
    jitter_q4: u32,
    /// Middle 32 bits of the last SR's NTP time, and when it arrived.
    last_sr: Option<(u32, Instant)>,
}

impl SourceState {
    fn new(header: &RtpHeader) -> Self {
        let seq = u32::from(header.sequence);
        Self {
            ssrc: header.ssrc,
            base_seq: seq,
            max_seq: header.sequence,
            cycles: 0,
            bad_seq: None,
            received: 0,
            expected_prior: 0,
            received_prior: 0,
            transit: None,
            jitter_q4: 0,
            last_sr: None,
        }
    }

    fn extended_max(&self) -> u64 {
        u64::from(self.cycles) + u64::from(self.max_seq)
    }

    fn expected(&self) -> u64 {
        (self.extended_max() + 1).saturating_sub(u64::from(self.base_seq))
    }

    fn lost(&self) -> i64 {
        self.expected() as i64 - self.received as i64
    }

    /// A.1 `update_seq`, without the restart itself (see [`SeqUpdate`]).
    fn update_seq(&mut self, seq: u16) -> SeqUpdate {
        let delta = seq.wrapping_sub(self.max_seq);
        if delta < MAX_DROPOUT {
            if seq < self.max_seq {
                self.cycles = self.cycles.wrapping_add(SEQ_MOD);
            }
            self.max_seq = seq;
        } else if delta <= u16::MAX - MAX_MISORDER {
            if self.bad_seq == Some(u32::from(seq)) {
                return SeqUpdate::Restarted;
            }
            self.bad_seq = Some((u32::from(seq) + 1) & (SEQ_MOD - 1));
            return SeqUpdate::Held;
        }
        SeqUpdate::Counted
    }

    fn update_jitter(&mut self, arrival: u32, timestamp: u32) {
        let transit = arrival.wrapping_sub(timestamp);
        if let Some(previous) = self.transit {
            let d = (transit.wrapping_sub(previous) as i32).unsigned_abs();
            self.jitter_q4 = self
                .jitter_q4
                .saturating_add(d)
                .saturating_sub((self.jitter_q4 + 8) >> 4);
        }
        self.transit = Some(transit);
    }
}

/// What a sequence number did to the source's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SeqUpdate {
    /// In sequence, reordered or a duplicate: count it.
    Counted,
    /// A large jump: not counted until the next packet confirms it.
    Held,
    /// The packet after a jump: the sender restarted its sequence.
    Restarted,
}

/// Receive statistics of one leg's incoming stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiveStats {
    source: Option<SourceState>,
    /// Expected and lost packets of sources that are no longer sending.
    earlier_expected: u64,
    earlier_lost: i64,
    source_changes: u64,
}

impl ReceiveStats {
    /// Counts a packet that arrived at `arrival` (RTP units of its clock).
    pub fn record(&mut self, header: &RtpHeader, arrival: u32) {
        if self.source.is_some_and(|source| source.ssrc != header.ssrc) {
            self.source_changes += 1;
            self.start_over(header);
        }
        let source = self.source.get_or_insert_with(|| SourceState::new(header));
        match source.update_seq(header.sequence) {
            SeqUpdate::Held => return,
            SeqUpdate::Restarted => {
                let last_sr = source.last_sr;
                self.start_over(header);
                if let Some(source) = self.source.as_mut() {
                    source.last_sr = last_sr;
                }
            }
            SeqUpdate::Counted => {}
        }
        if let Some(source) = self.source.as_mut() {
            source.received += 1;
            source.update_jitter(arrival, header.timestamp);
        }
    }

    /// Folds the current source into the totals and starts a new one at `header`.
    fn start_over(&mut self, header: &RtpHeader) {
        if let Some(old) = self.source.replace(SourceState::new(header)) {
            self.earlier_expected += old.expected();
            self.earlier_lost += old.lost();
        }
    }

    /// Notes a sender report from the current source, received at `now`.
    pub fn record_sender_report(&mut self, ssrc: u32, ntp_timestamp: u64, now: Instant) {
        if let Some(source) = self.source.as_mut().filter(|source| source.ssrc == ssrc) {
            source.last_sr = Some(((ntp_timestamp >> 16) as u32, now));
        }
    }

    /// The report block about the current source, closing a report interval
    /// for the fraction lost (A.3). None before any packet arrived.
    pub fn report_block(&mut self, now: Instant) -> Option<ReportBlock> {
        let source = self.source.as_mut()?;
        let expected = source.expected();
        let expected_interval = expected.saturating_sub(source.expected_prior);
        let received_interval = source.received.saturating_sub(source.received_prior);
        source.expected_prior = expected;
        source.received_prior = source.received;
        let lost_interval = expected_interval.saturating_sub(received_interval);
        let fraction_lost = (lost_interval << 8)
            .checked_div(expected_interval)
            .map_or(0, |fraction| fraction.min(255) as u8);
        let (last_sr, delay_since_last_sr) = source.last_sr.map_or((0, 0), |(lsr, at)| {
            (
                lsr,
                duration_to_short_ntp(now.saturating_duration_since(at)),
            )
        });
        Some(ReportBlock {
            ssrc: source.ssrc,
            fraction_lost,
            cumulative_lost: source
                .lost()
                .clamp(i64::from(i32::MIN), i64::from(i32::MAX))
                as i32,
            highest_sequence: source.extended_max() as u32,
            jitter: source.jitter_q4 >> 4,
            last_sr,
            delay_since_last_sr,
        })
    }

    /// Packets expected from every source so far (A.3).
    pub fn expected(&self) -> u64 {
        self.earlier_expected + self.source.map_or(0, |source| source.expected())
    }

    /// Packets lost from every source so far; negative when duplicates outnumber losses.
    pub fn lost(&self) -> i64 {
        self.earlier_lost + self.source.map_or(0, |source| source.lost())
    }

    /// The current source's interarrival jitter in RTP units.
    pub fn jitter(&self) -> u32 {
        self.source.map_or(0, |source| source.jitter_q4 >> 4)
    }

    /// The current source's jitter as time on a `clock_rate` Hz clock.
    pub fn jitter_duration(&self, clock_rate: u32) -> Duration {
        Duration::from_nanos(u64::from(self.jitter()) * 1_000_000_000 / u64::from(clock_rate))
    }

    /// How often the sender's SSRC changed.
    pub fn source_changes(&self) -> u64 {
        self.source_changes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(ssrc: u32, sequence: u16, timestamp: u32) -> RtpHeader {
        RtpHeader {
            marker: false,
            payload_type: 0,
            sequence,
            timestamp,
            ssrc,
        }
    }

    #[test]
    fn a_clean_stream_loses_nothing_and_has_no_jitter() {
        let mut stats = ReceiveStats::default();
        for i in 0..100u16 {
            let ts = u32::from(i) * 160;
            stats.record(&header(1, 65_500u16.wrapping_add(i), ts), ts + 1_000);
        }
        assert_eq!(stats.expected(), 100);
        assert_eq!(stats.lost(), 0);
        assert_eq!(stats.jitter(), 0);
        let block = stats.report_block(Instant::now()).unwrap();
        assert_eq!(block.fraction_lost, 0);
        assert_eq!(block.highest_sequence, (1 << 16) + 63);
    }

    #[test]
    fn every_fourth_packet_lost_gives_a_quarter_lost() {
        let mut stats = ReceiveStats::default();
        for i in (0..200u16).filter(|i| i % 4 != 3) {
            stats.record(&header(1, i, u32::from(i) * 160), u32::from(i) * 160);
        }
        // Packets 0..=198 expected (199 is never seen), 150 received.
        assert_eq!(stats.expected(), 199);
        assert_eq!(stats.lost(), 49);
        let block = stats.report_block(Instant::now()).unwrap();
        assert_eq!(block.cumulative_lost, 49);
        assert_eq!(block.fraction_lost, (49 * 256 / 199) as u8);
        // The next interval without packets reports no new loss.
        assert_eq!(stats.report_block(Instant::now()).unwrap().fraction_lost, 0);
    }

    #[test]
    fn jitter_converges_to_the_constant_transit_difference() {
        // Every other packet arrives 10 ms (80 units) late: |D| is 80 each time.
        let mut stats = ReceiveStats::default();
        for i in 0..1_000u32 {
            let late = if i % 2 == 1 { 80 } else { 0 };
            stats.record(&header(1, i as u16, i * 160), i * 160 + late);
        }
        assert!((79..=80).contains(&stats.jitter()), "{}", stats.jitter());
        assert_eq!(
            stats.jitter_duration(8_000),
            Duration::from_millis(10) / 80 * stats.jitter()
        );
    }

    #[test]
    fn jitter_after_one_late_packet_follows_the_a8_formula() {
        let mut stats = ReceiveStats::default();
        stats.record(&header(1, 0, 0), 0);
        stats.record(&header(1, 1, 160), 160 + 160);
        // J = 0 + (160 - 0) / 16 = 10
        assert_eq!(stats.jitter(), 10);
    }

    #[test]
    fn a_new_ssrc_restarts_sequence_state_and_keeps_earlier_loss() {
        let mut stats = ReceiveStats::default();
        for i in [0u16, 1, 3] {
            stats.record(&header(1, i, 0), 0);
        }
        for i in [5_000u16, 5_001] {
            stats.record(&header(2, i, 0), 0);
        }
        assert_eq!(stats.expected(), 4 + 2);
        assert_eq!(stats.lost(), 1);
        assert_eq!(stats.source_changes(), 1);
        assert_eq!(stats.report_block(Instant::now()).unwrap().ssrc, 2);
    }

    #[test]
    fn a_sequence_jump_is_a_restart_only_once_confirmed() {
        let mut stats = ReceiveStats::default();
        stats.record(&header(1, 0, 0), 0);
        stats.record(&header(1, 1, 0), 0);
        stats.record(&header(1, 40_000, 0), 0);
        assert_eq!(stats.expected(), 2, "an isolated jump is not counted");
        stats.record(&header(1, 40_001, 0), 0);
        stats.record(&header(1, 40_002, 0), 0);
        assert_eq!(stats.expected(), 2 + 2);
        assert_eq!(stats.lost(), 0);
        assert_eq!(
            stats.report_block(Instant::now()).unwrap().highest_sequence,
            40_002
        );
    }

    #[test]
    fn lsr_and_dlsr_echo_the_last_sender_report() {
        let mut stats = ReceiveStats::default();
        let start = Instant::now();
        stats.record(&header(1, 0, 0), 0);
        stats.record_sender_report(1, 0x1111_2222_3333_4444, start);
        stats.record_sender_report(9, 0xFFFF_FFFF_FFFF_FFFF, start);
        let block = stats
            .report_block(start + Duration::from_millis(250))
            .unwrap();
        assert_eq!(block.last_sr, 0x2222_3333);
        assert_eq!(block.delay_since_last_sr, 16_384);
    }
}
