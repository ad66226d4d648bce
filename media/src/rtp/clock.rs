//! The two clocks RTCP speaks in, derived from the monotonic `Instant`s the
//! caller passes: NTP wall-clock time (from one wall-clock reading taken when
//! the leg starts, so a stepped system clock does not disturb RTT) and the
//! arrival time in RTP timestamp units that the jitter estimate needs.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
const NTP_UNIX_OFFSET_SECS: u64 = 2_208_988_800;

/// Maps `Instant`s to NTP time and to RTP timestamp units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaClock {
    epoch: Instant,
    /// NTP time at `epoch`, 32.32 fixed point.
    epoch_ntp: u64,
}

impl MediaClock {
    /// A clock on which `epoch` is the wall-clock time `wall`.
    pub fn new(epoch: Instant, wall: SystemTime) -> Self {
        let since_unix = wall.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
        let secs = since_unix.as_secs() + NTP_UNIX_OFFSET_SECS;
        Self {
            epoch,
            epoch_ntp: (secs << 32).wrapping_add(duration_to_ntp_fraction(since_unix)),
        }
    }

    /// NTP time at `now`, 32.32 fixed point.
    pub fn ntp(&self, now: Instant) -> u64 {
        let elapsed = now.saturating_duration_since(self.epoch);
        self.epoch_ntp
            .wrapping_add(elapsed.as_secs() << 32)
            .wrapping_add(duration_to_ntp_fraction(elapsed))
    }

    /// The middle 32 bits of [`Self::ntp`], the form LSR and DLSR use.
    pub fn ntp_middle(&self, now: Instant) -> u32 {
        (self.ntp(now) >> 16) as u32
    }

    /// Time since the epoch in units of a `clock_rate` Hz RTP clock, wrapping.
    pub fn rtp_units(&self, now: Instant, clock_rate: u32) -> u32 {
        let nanos = now.saturating_duration_since(self.epoch).as_nanos();
        (nanos * u128::from(clock_rate) / 1_000_000_000) as u32
    }
}

/// The sub-second part of `duration` as a 32-bit binary fraction.
fn duration_to_ntp_fraction(duration: Duration) -> u64 {
    (u64::from(duration.subsec_nanos()) << 32) / 1_000_000_000
}

/// A duration in 1/65536 s (LSR/DLSR units).
pub fn duration_to_short_ntp(duration: Duration) -> u32 {
    let units = duration.as_nanos() * 65_536 / 1_000_000_000;
    u32::try_from(units).unwrap_or(u32::MAX)
}

/// 1/65536 s units as a duration.
pub fn short_ntp_to_duration(units: u32) -> Duration {
    Duration::from_nanos(u64::from(units) * 1_000_000_000 / 65_536)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ntp_time_advances_with_the_instant() {
        let start = Instant::now();
        let clock = MediaClock::new(start, UNIX_EPOCH + Duration::from_secs(10));
        assert_eq!(clock.ntp(start) >> 32, NTP_UNIX_OFFSET_SECS + 10);
        let later = clock.ntp(start + Duration::from_millis(1_500));
        assert_eq!(later >> 32, NTP_UNIX_OFFSET_SECS + 11);
        assert_eq!(later as u32, 1 << 31);
        assert_eq!(
            clock.ntp_middle(start + Duration::from_millis(500)),
            (((NTP_UNIX_OFFSET_SECS + 10) << 16) as u32) | 0x8000
        );
    }

    #[test]
    fn rtp_units_count_samples_since_the_epoch() {
        let start = Instant::now();
        let clock = MediaClock::new(start, SystemTime::now());
        assert_eq!(
            clock.rtp_units(start + Duration::from_millis(20), 8_000),
            160
        );
        assert_eq!(clock.rtp_units(start, 8_000), 0);
    }

    #[test]
    fn short_ntp_units_convert_both_ways() {
        assert_eq!(duration_to_short_ntp(Duration::from_millis(500)), 32_768);
        assert_eq!(short_ntp_to_duration(65_536), Duration::from_secs(1));
    }
}
