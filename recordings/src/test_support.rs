//! Signals for tests: sine tones, channel splitting and a Goertzel detector
//! of the dominant frequency.

use std::f64::consts::PI;

/// The candidate frequencies `dominant_frequency` chooses from.
const CANDIDATES: [f64; 6] = [300.0, 440.0, 697.0, 1000.0, 1477.0, 2000.0];

/// `len` samples of a sine at `freq` Hz and about half full scale, starting at
/// sample `offset` of an endless tone (so consecutive frames join smoothly).
pub(crate) fn tone(freq: f64, rate: u32, offset: usize, len: usize) -> Vec<i16> {
    (offset..offset + len)
        .map(|n| {
            let phase = 2.0 * PI * freq * n as f64 / f64::from(rate);
            (phase.sin() * 16_000.0).round() as i16
        })
        .collect()
}

/// One channel (0 = left, 1 = right) of interleaved stereo samples.
pub(crate) fn channel(stereo: &[i16], index: usize) -> Vec<i16> {
    stereo.iter().skip(index).step_by(2).copied().collect()
}

/// Goertzel power of `freq` in `samples`.
pub(crate) fn goertzel_power(samples: &[i16], freq: f64, rate: u32) -> f64 {
    let coefficient = 2.0 * (2.0 * PI * freq / f64::from(rate)).cos();
    let (mut previous, mut before_previous) = (0.0, 0.0);
    for &sample in samples {
        let current = f64::from(sample) + coefficient * previous - before_previous;
        before_previous = previous;
        previous = current;
    }
    previous * previous + before_previous * before_previous
        - coefficient * previous * before_previous
}

/// The candidate frequency with the most power, provided it stands out (10×
/// the runner-up); 0.0 for silence or no clear winner.
pub(crate) fn dominant_frequency(samples: &[i16], rate: u32) -> f64 {
    let mut powers: Vec<(f64, f64)> = CANDIDATES
        .iter()
        .map(|&freq| (goertzel_power(samples, freq, rate), freq))
        .collect();
    powers.sort_by(|a, b| b.0.total_cmp(&a.0));
    match powers.as_slice() {
        [(best, freq), (second, _), ..] if *best > 10.0 * second && *best > 1.0 => *freq,
        _ => 0.0,
    }
}

#[test]
fn goertzel_finds_the_tone_and_reports_silence_as_none() {
    assert_eq!(
        dominant_frequency(&tone(440.0, 8_000, 0, 8_000), 8_000),
        440.0
    );
    assert_eq!(
        dominant_frequency(&tone(1000.0, 48_000, 7, 4_800), 48_000),
        1000.0
    );
    assert_eq!(dominant_frequency(&[0; 800], 8_000), 0.0);
}
