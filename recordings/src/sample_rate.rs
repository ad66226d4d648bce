//! The sample rates a recording can be written at (8, 16 or 48 kHz), and the
//! conversions between a duration and a count of samples at that rate.

use std::time::Duration;

use serde::{Deserialize, Serialize};

const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// A supported recording sample rate; 8 kHz (telephone band) is the default.
///
/// Serialised as its frequency in hertz (`8000`, `16000`, `48000`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub enum SampleRate {
    /// 8 kHz, what G.711 carries.
    #[default]
    Narrowband,
    /// 16 kHz, wideband codecs (G.722, Opus at 16 kHz).
    Wideband,
    /// 48 kHz, Opus at full band.
    Fullband,
}

impl SampleRate {
    /// The rate in hertz.
    pub fn hz(self) -> u32 {
        match self {
            Self::Narrowband => 8_000,
            Self::Wideband => 16_000,
            Self::Fullband => 48_000,
        }
    }

    /// How many samples (per channel) cover `duration`, rounded down.
    pub fn samples_in(self, duration: Duration) -> u64 {
        let samples = duration.as_nanos() * u128::from(self.hz()) / NANOS_PER_SECOND;
        u64::try_from(samples).unwrap_or(u64::MAX)
    }

    /// How long `samples` samples (per channel) last, rounded down to the nanosecond.
    pub fn duration_of(self, samples: u64) -> Duration {
        let nanos = u128::from(samples) * NANOS_PER_SECOND / u128::from(self.hz());
        let secs = u64::try_from(nanos / NANOS_PER_SECOND).unwrap_or(u64::MAX);
        let subsec = u32::try_from(nanos % NANOS_PER_SECOND).unwrap_or(0);
        Duration::new(secs, subsec)
    }
}

/// A sample rate other than 8, 16 or 48 kHz was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unsupported recording sample rate {0} Hz: use 8000, 16000 or 48000")]
pub struct UnsupportedSampleRate(pub u32);

impl TryFrom<u32> for SampleRate {
    type Error = UnsupportedSampleRate;

    fn try_from(hz: u32) -> Result<Self, Self::Error> {
        match hz {
            8_000 => Ok(Self::Narrowband),
            16_000 => Ok(Self::Wideband),
            48_000 => Ok(Self::Fullband),
            other => Err(UnsupportedSampleRate(other)),
        }
    }
}

impl From<SampleRate> for u32 {
    fn from(rate: SampleRate) -> Self {
        rate.hz()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rate_is_telephone_narrowband() {
        assert_eq!(SampleRate::default().hz(), 8_000);
    }

    #[test]
    fn only_8_16_and_48_khz_are_accepted() {
        assert_eq!(SampleRate::try_from(16_000), Ok(SampleRate::Wideband));
        assert_eq!(SampleRate::try_from(48_000), Ok(SampleRate::Fullband));
        assert_eq!(
            SampleRate::try_from(44_100),
            Err(UnsupportedSampleRate(44_100))
        );
    }

    #[test]
    fn durations_and_sample_counts_convert_both_ways() {
        let rate = SampleRate::Fullband;
        assert_eq!(rate.samples_in(Duration::from_millis(20)), 960);
        assert_eq!(rate.duration_of(960), Duration::from_millis(20));
        assert_eq!(
            SampleRate::Narrowband.samples_in(Duration::from_secs(3)),
            24_000
        );
    }

    #[test]
    fn serialises_as_hertz_and_rejects_unknown_rates() {
        assert_eq!(
            serde_json::to_string(&SampleRate::Wideband).unwrap(),
            "16000"
        );
        assert!(serde_json::from_str::<SampleRate>("11025").is_err());
    }
}
