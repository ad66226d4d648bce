//! Units for linear PCM audio: the [`SampleRate`] newtype and the 20 ms frame
//! every core in this crate exchanges. Samples are always signed 16-bit (`i16`).

use std::num::NonZeroU32;
use std::time::Duration;

/// The packetisation interval used throughout kefu (RTP `ptime`), 20 ms.
pub const FRAME_DURATION: Duration = Duration::from_millis(20);

/// Samples per second of one mono PCM stream (equal to the RTP clock rate for
/// G.711 and telephone-event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SampleRate(NonZeroU32);

impl SampleRate {
    /// 8 kHz, the rate of G.711 and of the PSTN.
    pub const NARROWBAND: Self = Self(NonZeroU32::new(8_000).expect("8000 is not zero"));
    /// 16 kHz (G.722, wideband Opus).
    pub const WIDEBAND: Self = Self(NonZeroU32::new(16_000).expect("16000 is not zero"));
    /// 48 kHz, Opus' native rate.
    pub const FULLBAND: Self = Self(NonZeroU32::new(48_000).expect("48000 is not zero"));

    /// A rate of `hz` samples per second; `None` for 0.
    pub const fn new(hz: u32) -> Option<Self> {
        match NonZeroU32::new(hz) {
            Some(hz) => Some(Self(hz)),
            None => None,
        }
    }

    /// Samples per second.
    pub const fn hz(self) -> u32 {
        self.0.get()
    }

    /// How many whole samples `duration` spans at this rate (rounded down).
    pub fn samples_in(self, duration: Duration) -> usize {
        let samples = duration.as_nanos() * u128::from(self.hz()) / 1_000_000_000;
        usize::try_from(samples).unwrap_or(usize::MAX)
    }

    /// How long `samples` samples last at this rate.
    pub fn duration_of(self, samples: usize) -> Duration {
        let nanos = samples as u128 * 1_000_000_000 / u128::from(self.hz());
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Samples in one [`FRAME_DURATION`] frame (160 at 8 kHz).
    pub fn frame_len(self) -> usize {
        self.samples_in(FRAME_DURATION)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_20_ms_frame_holds_160_samples_at_8_khz_and_960_at_48_khz() {
        assert_eq!(SampleRate::NARROWBAND.frame_len(), 160);
        assert_eq!(SampleRate::WIDEBAND.frame_len(), 320);
        assert_eq!(SampleRate::FULLBAND.frame_len(), 960);
    }

    #[test]
    fn sample_counts_and_durations_convert_both_ways() {
        let rate = SampleRate::NARROWBAND;
        assert_eq!(rate.duration_of(400), Duration::from_millis(50));
        assert_eq!(rate.samples_in(Duration::from_millis(50)), 400);
        assert_eq!(SampleRate::new(0), None);
        assert_eq!(SampleRate::new(8_000), Some(SampleRate::NARROWBAND));
    }
}
