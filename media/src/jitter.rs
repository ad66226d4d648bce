//! A sans-IO adaptive jitter buffer for audio streams, used where kefu decodes
//! audio (IVR, recorder, mixer) and never on the relay fast path.
//!
//! Packets go in with their arrival time ([`JitterBuffer::push`]); the playout
//! clock takes one 20 ms frame out per tick ([`JitterBuffer::pop`]), as a
//! decoded packet, a concealment frame or silence. Packets are ordered by
//! their extended RTP sequence number (so 65535 → 0 is just the next one);
//! their timestamps give each packet a due time: the moment it would have
//! arrived over the fastest path seen, plus the target delay. The target
//! delay follows the worst lateness observed — up at once, down slowly — and
//! the playout cursor follows the target by holding a frame (stretching) when
//! it runs ahead and skipping one at most once a second when it lags.
//! Lost packets are concealed by repeating the last frame while it fades to
//! silence over a few frames; after that, playout starts again at the next
//! packet. A jump in sequence numbers (over 3000) or timestamps (over 10 s)
//! starts the buffer over, and it never holds more than twice the maximum
//! delay. Clock drift between sender and receiver is not compensated, and an
//! SSRC change is call control's to handle (with a new buffer).
//!
//! The buffer holds decoded frames: [`JitterBuffer`] decodes G.711 payloads
//! as they arrive, and [`PcmJitterBuffer`] takes frames decoded by its owner
//! (an Opus stream, whose decoder the conference keeps with the leg),
//! timed by the RTP clock of the stream whatever the rate of the samples.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::g711::G711;
use crate::pcm::{FRAME_DURATION, SampleRate};

/// One received RTP packet of a G.711 stream carrying one 20 ms frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpAudioPacket {
    pub sequence: u16,
    pub timestamp: u32,
    /// The encoded G.711 payload.
    pub payload: Vec<u8>,
}

/// A decoded frame of audio with the RTP timestamp of its first sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub timestamp: u32,
    pub samples: Vec<i16>,
}

/// What to play for one tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playout {
    /// A received packet, decoded.
    Packet(Frame),
    /// No packet was there in time: the last frame again, fading.
    Concealed(Frame),
    /// Nothing to play (before the stream starts, or after concealment faded).
    Silence,
}

/// What the buffer did with a pushed packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    Buffered,
    /// Its frame was already played or concealed; dropped.
    Late,
    /// The same sequence number is already buffered; dropped.
    Duplicate,
}

/// Limits of the buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JitterConfig {
    /// Lowest target delay, kept even on a perfect network.
    pub min_delay: Duration,
    /// Highest target delay, whatever the jitter.
    pub max_delay: Duration,
    /// Frames of concealment before a gap turns into silence.
    pub concealment_frames: u32,
}

impl Default for JitterConfig {
    fn default() -> Self {
        Self {
            min_delay: Duration::from_millis(40),
            max_delay: Duration::from_millis(400),
            concealment_frames: 3,
        }
    }
}

/// Counters for RTCP reports and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    pub received: u64,
    pub played: u64,
    pub concealed: u64,
    pub late: u64,
    pub duplicates: u64,
    /// Frames dropped to bring the delay down to the target.
    pub skipped: u64,
    /// Oldest frames dropped because the buffer held more than twice the
    /// maximum delay (playout stalled, or a flood).
    pub overflowed: u64,
    /// Times the stream jumped (sequence numbers or timestamps) and the
    /// buffer started over.
    pub restarts: u64,
}

/// Per received packet, how much slower than the fastest packet it was
/// decays towards the current value by 1/256 (≈ 5 s at 50 packets/s).
const PEAK_DECAY: i64 = 256;
/// Shortest time between two skipped frames.
const SKIP_INTERVAL: Duration = Duration::from_secs(1);
/// A sequence number this far ahead of the highest is a new stream (RFC 3550 A.1 `MAX_DROPOUT`).
const MAX_DROPOUT: u64 = 3_000;
/// A transit time this far from the fastest seen means the timestamps jumped.
const MAX_TRANSIT_JUMP: Duration = Duration::from_secs(10);

/// Reorders, times and conceals one G.711 stream; see the module doc.
#[derive(Debug, Clone)]
pub struct JitterBuffer {
    codec: G711,
    frames: PcmJitterBuffer,
}

impl JitterBuffer {
    /// A buffer for a stream of `codec` at `rate`.
    pub fn new(codec: G711, rate: SampleRate, config: JitterConfig) -> Self {
        Self {
            codec,
            frames: PcmJitterBuffer::new(rate, config),
        }
    }

    /// Takes in a packet that arrived at `now`, decoding its payload.
    pub fn push(&mut self, packet: RtpAudioPacket, now: Instant) -> Arrival {
        let frame = Frame {
            timestamp: packet.timestamp,
            samples: self.codec.decode(&packet.payload),
        };
        self.frames.push(packet.sequence, frame, now)
    }

    /// The frame to play for the tick starting at `now`; call once per 20 ms.
    pub fn pop(&mut self, now: Instant) -> Playout {
        self.frames.pop(now)
    }

    /// The delay the buffer currently aims for between fastest arrival and playout.
    pub fn target_delay(&self) -> Duration {
        self.frames.target_delay()
    }

    /// RFC 3550 interarrival jitter estimate.
    pub fn jitter(&self) -> Duration {
        self.frames.jitter()
    }

    pub fn stats(&self) -> JitterStats {
        self.frames.stats()
    }

    /// Frames waiting to be played.
    pub fn buffered_frames(&self) -> usize {
        self.frames.buffered_frames()
    }

    /// See [`PcmJitterBuffer::start_over`].
    pub fn start_over(&mut self) {
        self.frames.start_over();
    }
}

/// Reorders, times and conceals one stream of frames decoded by the
/// caller; see the module doc.
#[derive(Debug, Clone)]
pub struct PcmJitterBuffer {
    /// The RTP clock rate of the timestamps.
    rate: SampleRate,
    config: JitterConfig,
    frame_len: usize,
    packets: BTreeMap<u64, Frame>,
    /// Highest extended sequence number received.
    highest: Option<u64>,
    /// Arrival time and timestamp of the first packet, the origin of transit times.
    origin: Option<(Instant, u32)>,
    /// Smallest transit time seen, in ns relative to the first packet's.
    min_transit: i64,
    /// Decaying maximum of (transit − min_transit), in ns.
    peak_lateness: i64,
    last_transit: Option<i64>,
    /// RFC 3550 interarrival jitter, in ns.
    jitter: i64,
    cursor: Option<Cursor>,
    /// Lowest extended sequence number still wanted.
    first_wanted: Option<u64>,
    /// Extended sequence number of the last packet played.
    last_played: Option<u64>,
    last_frame: Option<Vec<i16>>,
    concealed_run: u32,
    last_skip: Option<Instant>,
    stats: JitterStats,
}

/// Where playout is while it runs.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    sequence: u64,
    timestamp: u32,
}

impl PcmJitterBuffer {
    /// A buffer for a stream whose RTP clock runs at `clock_rate`, one
    /// 20 ms frame per packet.
    pub fn new(clock_rate: SampleRate, config: JitterConfig) -> Self {
        let rate = clock_rate;
        Self {
            rate,
            config,
            frame_len: rate.frame_len(),
            packets: BTreeMap::new(),
            highest: None,
            origin: None,
            min_transit: 0,
            peak_lateness: 0,
            last_transit: None,
            jitter: 0,
            cursor: None,
            first_wanted: None,
            last_played: None,
            last_frame: None,
            concealed_run: 0,
            last_skip: None,
            stats: JitterStats::default(),
        }
    }

    /// Takes in the decoded `frame` of the packet numbered `sequence`,
    /// which arrived at `now`.
    pub fn push(&mut self, sequence: u16, frame: Frame, now: Instant) -> Arrival {
        self.stats.received += 1;
        let highest = self.highest;
        let received = sequence;
        let mut sequence = self.extend(received);
        if highest.is_some_and(|highest| sequence > highest + MAX_DROPOUT)
            || self.is_timestamp_jump(frame.timestamp, now)
        {
            self.start_over();
            sequence = self.extend(received);
        }
        if self.first_wanted.is_some_and(|first| sequence < first) {
            self.stats.late += 1;
            return Arrival::Late;
        }
        if self.packets.contains_key(&sequence) {
            self.stats.duplicates += 1;
            return Arrival::Duplicate;
        }
        self.observe_transit(frame.timestamp, now);
        self.packets.insert(sequence, frame);
        if self.packets.len() > self.capacity() {
            self.packets.pop_first();
            self.stats.overflowed += 1;
        }
        Arrival::Buffered
    }

    /// The frame to play for the tick starting at `now`; call once per 20 ms.
    pub fn pop(&mut self, now: Instant) -> Playout {
        let half_frame = duration_ns(FRAME_DURATION) / 2;
        let now_ns = self.since_origin(now);
        let mut cursor = match self.cursor {
            Some(cursor) => cursor,
            None => {
                let Some((&sequence, frame)) = self.packets.first_key_value() else {
                    return Playout::Silence;
                };
                let start = Cursor {
                    sequence,
                    timestamp: frame.timestamp,
                };
                if self.due(start.timestamp) > now_ns + half_frame {
                    return Playout::Silence;
                }
                self.first_wanted = Some(sequence);
                start
            }
        };
        if let Some(frame) = self.packets.get(&cursor.sequence) {
            cursor.timestamp = frame.timestamp;
        }
        let due = self.due(cursor.timestamp);
        if due > now_ns + half_frame {
            // Ahead of the target delay: hold this frame back one tick.
            self.cursor = Some(cursor);
            return self.conceal(cursor.timestamp);
        }
        if now_ns > due + 3 * half_frame && self.may_skip(now) {
            if self.packets.remove(&cursor.sequence).is_some() {
                self.stats.skipped += 1;
            }
            cursor = self.advance(cursor);
            self.last_skip = Some(now);
        }
        let playout = match self.packets.remove(&cursor.sequence) {
            Some(frame) => {
                self.stats.played += 1;
                self.last_played = Some(cursor.sequence);
                self.concealed_run = 0;
                self.last_frame = Some(frame.samples.clone());
                Playout::Packet(frame)
            }
            None => self.conceal(cursor.timestamp),
        };
        cursor = self.advance(cursor);
        self.first_wanted = Some(cursor.sequence);
        self.cursor = Some(cursor);
        if playout == Playout::Silence {
            // The stream paused (silence suppression), ended or lost more than
            // concealment covers: the next packet after the last one played
            // starts playout again at its due time.
            self.cursor = None;
            self.first_wanted = self.last_played.map(|sequence| sequence + 1);
        }
        playout
    }

    /// The delay the buffer currently aims for between fastest arrival and playout.
    pub fn target_delay(&self) -> Duration {
        let wanted =
            Duration::from_nanos(u64::try_from(self.peak_lateness).unwrap_or(0)) + FRAME_DURATION;
        wanted.clamp(self.config.min_delay, self.config.max_delay)
    }

    /// RFC 3550 interarrival jitter estimate.
    pub fn jitter(&self) -> Duration {
        Duration::from_nanos(u64::try_from(self.jitter).unwrap_or(0))
    }

    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Frames waiting to be played.
    pub fn buffered_frames(&self) -> usize {
        self.packets.len()
    }

    /// Most frames held at once: twice the maximum delay.
    fn capacity(&self) -> usize {
        2 * (self.config.max_delay.as_millis() / FRAME_DURATION.as_millis()).max(1) as usize
    }

    /// Forgets the stream but keeps the counters (and the configuration):
    /// for a new stream the buffer cannot tell apart by its numbers, such
    /// as another SSRC after a transfer. Counted as a restart.
    pub fn start_over(&mut self) {
        let stats = JitterStats {
            restarts: self.stats.restarts + 1,
            ..self.stats
        };
        *self = Self {
            stats,
            ..Self::new(self.rate, self.config)
        };
    }

    /// Whether a packet stamped `timestamp` arriving at `now` is so far off the
    /// timing of the packets before it that the sender's timestamps jumped.
    fn is_timestamp_jump(&self, timestamp: u32, now: Instant) -> bool {
        let Some((origin, _)) = self.origin else {
            return false;
        };
        let transit = duration_ns(now.saturating_duration_since(origin)) - self.media_ns(timestamp);
        (transit - self.min_transit).abs() > duration_ns(MAX_TRANSIT_JUMP)
    }

    /// The extended (wrap-free) number of a 16-bit sequence number, taken as
    /// the nearest to the highest seen.
    fn extend(&mut self, sequence: u16) -> u64 {
        let extended = match self.highest {
            None => (1 << 32) | u64::from(sequence),
            Some(highest) => {
                let step = i64::from(sequence.wrapping_sub(highest as u16) as i16);
                highest.saturating_add_signed(step)
            }
        };
        self.highest = Some(
            self.highest
                .map_or(extended, |highest| highest.max(extended)),
        );
        extended
    }

    fn observe_transit(&mut self, timestamp: u32, now: Instant) {
        let (origin_time, _) = *self.origin.get_or_insert((now, timestamp));
        let arrival = duration_ns(now.saturating_duration_since(origin_time));
        let transit = arrival - self.media_ns(timestamp);
        if let Some(last) = self.last_transit {
            self.jitter += ((transit - last).abs() - self.jitter) / 16;
        }
        self.last_transit = Some(transit);
        self.min_transit = self.min_transit.min(transit);
        let lateness = transit - self.min_transit;
        self.peak_lateness = if lateness >= self.peak_lateness {
            lateness
        } else {
            self.peak_lateness - (self.peak_lateness - lateness) / PEAK_DECAY
        };
    }

    /// Media time of `timestamp` relative to the first packet's, in ns.
    fn media_ns(&self, timestamp: u32) -> i64 {
        let origin_timestamp = self.origin.map_or(timestamp, |(_, origin)| origin);
        let samples = i64::from(timestamp.wrapping_sub(origin_timestamp) as i32);
        samples * 1_000_000_000 / i64::from(self.rate.hz())
    }

    /// When the frame stamped `timestamp` should start playing, in ns since the origin.
    fn due(&self, timestamp: u32) -> i64 {
        self.media_ns(timestamp) + self.min_transit + duration_ns(self.target_delay())
    }

    fn since_origin(&self, now: Instant) -> i64 {
        self.origin.map_or(0, |(origin, _)| {
            duration_ns(now.saturating_duration_since(origin))
        })
    }

    fn may_skip(&self, now: Instant) -> bool {
        self.last_skip
            .is_none_or(|last| now.saturating_duration_since(last) >= SKIP_INTERVAL)
    }

    fn advance(&self, cursor: Cursor) -> Cursor {
        Cursor {
            sequence: cursor.sequence + 1,
            timestamp: cursor.timestamp.wrapping_add(self.frame_len as u32),
        }
    }

    /// The last frame again, stamped `timestamp`, fading out over the
    /// concealment frames; then silence.
    fn conceal(&mut self, timestamp: u32) -> Playout {
        let frames = self.config.concealment_frames;
        let Some(last) = &self.last_frame else {
            return Playout::Silence;
        };
        if self.concealed_run >= frames {
            return Playout::Silence;
        }
        let run = self.concealed_run;
        self.concealed_run += 1;
        self.stats.concealed += 1;
        let len = last.len().max(1) as f64;
        let samples = last
            .iter()
            .enumerate()
            .map(|(i, &sample)| {
                let progress = (f64::from(run) + (i as f64 + 1.0) / len) / f64::from(frames);
                (f64::from(sample) * (1.0 - progress)).round() as i16
            })
            .collect();
        Playout::Concealed(Frame { timestamp, samples })
    }
}

fn duration_ns(duration: Duration) -> i64 {
    i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATE: SampleRate = SampleRate::NARROWBAND;
    const CODEC: G711 = G711::Pcmu;

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    /// The packet `index` places after sequence number `first`; its samples hold
    /// a constant level that tells frames apart after decoding.
    fn packet(first: u16, index: u32) -> RtpAudioPacket {
        let level = 1_000 + 100 * (index % 50) as i16;
        RtpAudioPacket {
            sequence: first.wrapping_add(index as u16),
            timestamp: 160 * index,
            payload: CODEC.encode(&[level; 160]),
        }
    }

    fn level_of(frame: &Frame) -> i16 {
        frame.samples[0]
    }

    fn expected_level(index: u32) -> i16 {
        CODEC.decode_sample(CODEC.encode_sample(1_000 + 100 * (index % 50) as i16))
    }

    /// A buffer with the default limits, and the time the stream starts.
    fn buffer() -> (JitterBuffer, Instant) {
        (
            JitterBuffer::new(CODEC, RATE, JitterConfig::default()),
            Instant::now(),
        )
    }

    fn played_levels(playouts: &[Playout]) -> Vec<Option<i16>> {
        playouts
            .iter()
            .map(|playout| match playout {
                Playout::Packet(frame) => Some(level_of(frame)),
                _ => None,
            })
            .collect()
    }

    /// Pops every 20 ms from `from` for `ticks` ticks.
    fn pop_ticks(buffer: &mut JitterBuffer, from: Instant, ticks: u32) -> Vec<Playout> {
        (0..ticks)
            .map(|tick| buffer.pop(from + FRAME_DURATION * tick))
            .collect()
    }

    #[test]
    fn waits_for_the_target_delay_then_plays_in_order() {
        let (mut buffer, t0) = buffer();
        for index in 0..5 {
            buffer.push(packet(10, index), t0 + FRAME_DURATION * index);
        }
        assert_eq!(buffer.pop(t0), Playout::Silence, "still buffering");
        let playouts = pop_ticks(&mut buffer, t0 + ms(40), 5);
        let expected: Vec<Option<i16>> = (0..5).map(|index| Some(expected_level(index))).collect();
        assert_eq!(played_levels(&playouts), expected);
        assert_eq!(buffer.stats().played, 5);
    }

    #[test]
    fn reorders_packets() {
        let (mut buffer, t0) = buffer();
        // Packets 1 and 3 take 25 ms longer than the others and arrive after their successors.
        for (index, delay) in [(0, 0), (2, 0), (1, 25), (4, 0), (3, 25)] {
            let arrival = t0 + FRAME_DURATION * index + ms(delay);
            assert_eq!(buffer.push(packet(500, index), arrival), Arrival::Buffered);
        }
        let playouts = pop_ticks(&mut buffer, t0 + ms(60), 5);
        let expected: Vec<Option<i16>> = (0..5).map(|index| Some(expected_level(index))).collect();
        assert_eq!(played_levels(&playouts), expected);
    }

    #[test]
    fn drops_packets_that_arrive_after_their_frame_was_concealed() {
        let (mut buffer, t0) = buffer();
        for index in [0, 2, 3] {
            buffer.push(packet(0, index), t0 + FRAME_DURATION * index);
        }
        let playouts = pop_ticks(&mut buffer, t0 + ms(40), 2);
        assert!(
            matches!(playouts[1], Playout::Concealed(_)),
            "{:?}",
            playouts[1]
        );
        assert_eq!(buffer.push(packet(0, 1), t0 + ms(90)), Arrival::Late);
        assert_eq!(buffer.push(packet(0, 0), t0 + ms(95)), Arrival::Late);
        assert_eq!(buffer.stats().late, 2);
        let rest = pop_ticks(&mut buffer, t0 + ms(80), 2);
        assert_eq!(
            played_levels(&rest),
            [Some(expected_level(2)), Some(expected_level(3))]
        );
    }

    #[test]
    fn drops_duplicates() {
        let (mut buffer, t0) = buffer();
        assert_eq!(buffer.push(packet(0, 0), t0), Arrival::Buffered);
        assert_eq!(buffer.push(packet(0, 0), t0 + ms(1)), Arrival::Duplicate);
        assert_eq!(buffer.stats().duplicates, 1);
        let playouts = pop_ticks(&mut buffer, t0 + ms(40), 2);
        assert_eq!(played_levels(&playouts)[0], Some(expected_level(0)));
        assert!(
            matches!(playouts[1], Playout::Concealed(_)),
            "the duplicate is not played again"
        );
    }

    #[test]
    fn sequence_numbers_wrap_from_65535_to_0() {
        let (mut buffer, t0) = buffer();
        // 65533, 65534, 0, 65535, 1, 2 in arrival order.
        for (index, delay) in [(0, 0), (1, 0), (3, 0), (2, 25), (4, 0), (5, 0)] {
            let arrival = t0 + FRAME_DURATION * index + ms(delay);
            assert_eq!(
                buffer.push(packet(65_533, index), arrival),
                Arrival::Buffered
            );
        }
        let playouts = pop_ticks(&mut buffer, t0 + ms(60), 6);
        let expected: Vec<Option<i16>> = (0..6).map(|index| Some(expected_level(index))).collect();
        assert_eq!(played_levels(&playouts), expected);
    }

    #[test]
    fn conceals_a_lost_packet_by_fading_the_last_frame_then_goes_silent() {
        let (mut buffer, t0) = buffer();
        for index in 0..3 {
            buffer.push(packet(0, index), t0 + FRAME_DURATION * index);
        }
        let playouts = pop_ticks(&mut buffer, t0 + ms(40), 8);
        let last_level = f64::from(expected_level(2));
        let mut previous_end = last_level;
        for playout in &playouts[3..6] {
            let Playout::Concealed(frame) = playout else {
                panic!("expected concealment, got {playout:?}");
            };
            let (start, end) = (f64::from(frame.samples[0]), f64::from(frame.samples[159]));
            assert!(
                start <= previous_end + 1.0 && end < start,
                "fades: {start} → {end}"
            );
            previous_end = end;
        }
        assert!(previous_end.abs() <= 1.0, "faded to {previous_end}");
        assert!(
            playouts[6..]
                .iter()
                .all(|playout| *playout == Playout::Silence)
        );
        assert_eq!(buffer.stats().concealed, 3);
    }

    #[test]
    fn resumes_after_a_loss_and_after_a_pause() {
        let (mut buffer, t0) = buffer();
        for index in [0, 1, 3, 4] {
            buffer.push(packet(0, index), t0 + FRAME_DURATION * index);
        }
        let playouts = pop_ticks(&mut buffer, t0 + ms(40), 5);
        let levels = played_levels(&playouts);
        assert_eq!(
            levels[..2],
            [Some(expected_level(0)), Some(expected_level(1))]
        );
        assert!(matches!(playouts[2], Playout::Concealed(_)));
        assert_eq!(
            levels[3..],
            [Some(expected_level(3)), Some(expected_level(4))]
        );
        // Two seconds of silence (no packets), then the talker goes on.
        let _ = pop_ticks(&mut buffer, t0 + ms(140), 100);
        // Sequence numbers go on from 5; timestamps jumped over the pause.
        let resume = t0 + ms(2_100);
        for index in 0..3 {
            let talk = RtpAudioPacket {
                sequence: 5 + index as u16,
                timestamp: 160 * (105 + index),
                payload: CODEC.encode(&[2_000; 160]),
            };
            assert_eq!(
                buffer.push(talk, resume + FRAME_DURATION * index),
                Arrival::Buffered
            );
        }
        let after = pop_ticks(&mut buffer, resume + ms(40), 3);
        assert!(
            after
                .iter()
                .all(|playout| matches!(playout, Playout::Packet(_))),
            "{after:?}"
        );
    }

    #[test]
    fn target_delay_grows_with_jitter_at_once_and_shrinks_slowly() {
        let (mut buffer, t0) = buffer();
        let mut index = 0;
        let mut send = |buffer: &mut JitterBuffer, extra: Duration| {
            buffer.push(packet(0, index), t0 + FRAME_DURATION * index + extra);
            index += 1;
        };
        for _ in 0..50 {
            send(&mut buffer, Duration::ZERO);
        }
        assert_eq!(
            buffer.target_delay(),
            ms(40),
            "the minimum on a clean network"
        );
        send(&mut buffer, ms(100));
        assert!(
            buffer.target_delay() >= ms(120),
            "{:?}",
            buffer.target_delay()
        );
        assert!(buffer.jitter() > Duration::ZERO);
        for _ in 0..50 {
            send(&mut buffer, Duration::ZERO);
        }
        assert!(
            buffer.target_delay() >= ms(90),
            "after 1 s: {:?}",
            buffer.target_delay()
        );
        for _ in 0..1_500 {
            send(&mut buffer, Duration::ZERO);
        }
        assert_eq!(
            buffer.target_delay(),
            ms(40),
            "back to the minimum after 30 s"
        );
    }

    #[test]
    fn playout_follows_the_target_so_jittered_packets_are_not_lost() {
        let (mut buffer, t0) = buffer();
        // Network delay between 0 and 60 ms, pseudo-random but repeatable.
        let mut state = 12_345u32;
        let mut arrivals: Vec<(Instant, u32)> = (0..500)
            .map(|index| {
                state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                let delay = ms(u64::from((state >> 16) % 61));
                (t0 + FRAME_DURATION * index + delay, index)
            })
            .collect();
        arrivals.sort();
        let mut arrivals = arrivals.into_iter().peekable();
        let mut late_after_warm_up = 0;
        let mut played = Vec::new();
        for tick in 0..520 {
            let now = t0 + FRAME_DURATION * tick;
            while let Some(&(at, index)) = arrivals.peek() {
                if at > now {
                    break;
                }
                if buffer.push(packet(0, index), at) == Arrival::Late && tick > 100 {
                    late_after_warm_up += 1;
                }
                arrivals.next();
            }
            if let Playout::Packet(frame) = buffer.pop(now) {
                played.push(frame.timestamp / 160);
            }
        }
        assert_eq!(late_after_warm_up, 0, "{:?}", buffer.stats());
        assert!(
            buffer.target_delay() >= ms(60),
            "{:?}",
            buffer.target_delay()
        );
        assert!(
            played.windows(2).all(|pair| pair[0] < pair[1]),
            "played in order"
        );
        assert!(played.len() >= 480, "played {} of 500", played.len());
    }

    #[test]
    fn a_loss_longer_than_concealment_resumes_at_the_next_packet() {
        let (mut buffer, t0) = buffer();
        for index in (0..3).chain(10..14) {
            buffer.push(packet(0, index), t0 + FRAME_DURATION * index);
        }
        let playouts = pop_ticks(&mut buffer, t0 + ms(40), 14);
        let levels = played_levels(&playouts);
        assert_eq!(
            levels[..3],
            [0, 1, 2].map(|index| Some(expected_level(index)))
        );
        let resumed: Vec<i16> = levels[3..].iter().flatten().copied().collect();
        assert_eq!(
            resumed,
            [10, 11, 12, 13].map(expected_level),
            "{playouts:?}"
        );
        assert_eq!(buffer.stats().late, 0);
    }

    #[test]
    fn a_jump_in_sequence_numbers_or_timestamps_starts_over() {
        let (mut buffer, t0) = buffer();
        for index in 0..3 {
            buffer.push(packet(0, index), t0 + FRAME_DURATION * index);
        }
        let _ = pop_ticks(&mut buffer, t0 + ms(40), 3);
        // The sender restarted: sequence numbers 20000 ahead, timestamps from 0.
        let restart = t0 + ms(100);
        for index in 0..3 {
            buffer.push(packet(20_000, index), restart + FRAME_DURATION * index);
        }
        assert_eq!(buffer.stats().restarts, 1);
        let after = pop_ticks(&mut buffer, restart + ms(40), 3);
        assert_eq!(
            played_levels(&after),
            [0, 1, 2].map(|index| Some(expected_level(index)))
        );
        // Timestamps alone jumping by an hour also start over.
        let jumped = RtpAudioPacket {
            timestamp: 8_000 * 3_600,
            ..packet(20_000, 3)
        };
        buffer.push(jumped, restart + ms(60));
        assert_eq!(buffer.stats().restarts, 2);
        assert!(matches!(buffer.pop(restart + ms(100)), Playout::Packet(_)));
    }

    #[test]
    fn holds_at_most_twice_the_maximum_delay_when_playout_stalls() {
        let (mut buffer, t0) = buffer();
        for index in 0..1_000 {
            buffer.push(packet(0, index), t0 + FRAME_DURATION * index);
        }
        assert_eq!(buffer.buffered_frames(), 40);
        assert_eq!(buffer.stats().overflowed, 960);
    }

    proptest::proptest! {
        #[test]
        fn any_arrival_pattern_plays_each_packet_at_most_once(
            arrivals in proptest::collection::vec((proptest::prelude::any::<u16>(), 0u32..400, 0u64..200, proptest::prelude::any::<bool>()), 0..200)
        ) {
            let (mut buffer, t0) = buffer();
            let mut played = std::collections::HashSet::new();
            let mut sent = std::collections::HashSet::new();
            for (tick, (sequence, frame_index, jitter_ms, pop)) in arrivals.into_iter().enumerate() {
                let now = t0 + FRAME_DURATION * tick as u32;
                let payload = CODEC.encode(&[i16::try_from(frame_index).unwrap(); 160]);
                sent.insert(sequence);
                buffer.push(RtpAudioPacket { sequence, timestamp: 160 * frame_index, payload }, now + ms(jitter_ms));
                if pop {
                    if let Playout::Packet(frame) = buffer.pop(now) {
                        played.insert(frame.timestamp);
                    }
                }
            }
            let stats = buffer.stats();
            proptest::prop_assert!(stats.played as usize <= sent.len());
            proptest::prop_assert!(stats.played + stats.late + stats.duplicates <= stats.received);
            proptest::prop_assert!(buffer.target_delay() <= JitterConfig::default().max_delay);
        }
    }
}
