//! The Goertzel algorithm: the power of one frequency in a block of PCM,
//! cheaper than an FFT when only a handful of frequencies matter. The in-band
//! DTMF detector and the tests that check which tone reached whom both use it.
//!
//! Hand-written: it is ten lines, and the crates that offer it work on `f32`
//! slices with integer bins, while DTMF needs exact (non-bin) frequencies.

use crate::pcm::SampleRate;

/// A single-frequency detector for blocks of `i16` samples at one sample rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Goertzel {
    coefficient: f64,
}

impl Goertzel {
    /// A detector of `frequency_hz` (any frequency, not only FFT bin centres).
    pub fn new(frequency_hz: f64, rate: SampleRate) -> Self {
        let omega = 2.0 * std::f64::consts::PI * frequency_hz / f64::from(rate.hz());
        Self {
            coefficient: 2.0 * omega.cos(),
        }
    }

    /// Squared magnitude of the block's component at the frequency; a sine of
    /// amplitude `A` over `N` samples gives about `(A·N/2)²`.
    pub fn power(&self, block: &[i16]) -> f64 {
        let (mut s1, mut s2) = (0.0_f64, 0.0_f64);
        for &sample in block {
            let s0 = f64::from(sample) + self.coefficient * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        s1 * s1 + s2 * s2 - self.coefficient * s1 * s2
    }

    /// Share of the block's energy found at the frequency, in `0.0..=~1.0`:
    /// about 1 for a pure sine at this frequency, 0.5 for each tone of an
    /// equal-level pair, about `2/N` for white noise; 0 for a silent block.
    pub fn energy_share(&self, block: &[i16]) -> f64 {
        let energy = block_energy(block);
        if energy == 0.0 {
            return 0.0;
        }
        2.0 * self.power(block) / (block.len() as f64 * energy)
    }
}

/// The peak amplitude (in sample units) of the sine that gives `power` over
/// a block of `block_len` samples.
pub fn sine_amplitude(power: f64, block_len: usize) -> f64 {
    if block_len == 0 {
        return 0.0;
    }
    2.0 * power.sqrt() / block_len as f64
}

/// Sum of squared samples.
pub fn block_energy(block: &[i16]) -> f64 {
    block.iter().map(|&s| f64::from(s) * f64::from(s)).sum()
}

/// Share of `block`'s energy at `frequency_hz` (see [`Goertzel::energy_share`]).
pub fn energy_share(block: &[i16], frequency_hz: f64, rate: SampleRate) -> f64 {
    Goertzel::new(frequency_hz, rate).energy_share(block)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::{ToneGenerator, TonePlan};

    fn tone(frequencies: &[f64], samples: usize) -> Vec<i16> {
        let mut generator =
            ToneGenerator::new(TonePlan::steady(frequencies, -6.0), SampleRate::NARROWBAND);
        let mut out = vec![0; samples];
        generator.fill(&mut out);
        out
    }

    #[test]
    fn a_pure_tone_puts_nearly_all_its_energy_at_its_frequency() {
        let block = tone(&[1_000.0], 205);
        let share = energy_share(&block, 1_000.0, SampleRate::NARROWBAND);
        assert!((0.95..1.05).contains(&share), "share {share}");
        assert!(energy_share(&block, 1_336.0, SampleRate::NARROWBAND) < 0.02);
    }

    #[test]
    fn a_two_tone_pair_splits_the_energy_between_both_frequencies() {
        let block = tone(&[697.0, 1_209.0], 205);
        for frequency in [697.0, 1_209.0] {
            let share = energy_share(&block, frequency, SampleRate::NARROWBAND);
            assert!(
                (0.45..0.55).contains(&share),
                "{frequency} Hz share {share}"
            );
        }
    }

    #[test]
    fn amplitude_estimates_the_sine_peak() {
        let block = tone(&[1_000.0], 160);
        let expected = 32_767.0 * 10f64.powf(-6.0 / 20.0);
        let power = Goertzel::new(1_000.0, SampleRate::NARROWBAND).power(&block);
        let amplitude = sine_amplitude(power, block.len());
        assert!(
            (amplitude - expected).abs() < expected * 0.05,
            "{amplitude} vs {expected}"
        );
    }

    #[test]
    fn silence_has_no_share_anywhere() {
        assert_eq!(energy_share(&[0; 160], 440.0, SampleRate::NARROWBAND), 0.0);
        assert_eq!(sine_amplitude(0.0, 0), 0.0);
    }
}
