//! In-band DTMF detection for trunks that send key presses as tones in the
//! audio. Eight Goertzel filters run over fixed blocks of 12.75 ms (102 samples
//! at 8 kHz); a block holds a digit when one row and one column tone are loud
//! enough, stand out from their group, carry most of the block's energy, fill
//! the whole block, and keep the twist (level difference between the two
//! groups) within ITU-T Q.24-like limits. A digit is reported once, when it
//! has been followed by a gap, if it lasted the minimum duration; its
//! duration is counted in whole blocks, so it is within one block of the truth.
//!
//! Time is the sample count: the detector needs no clock.

use std::collections::VecDeque;
use std::time::Duration;

use super::{COLUMN_FREQUENCIES_HZ, Dtmf, DtmfDigit, ROW_FREQUENCIES_HZ};
use crate::goertzel::{Goertzel, block_energy, sine_amplitude};
use crate::pcm::SampleRate;

/// Analysis block: 102 samples at 8 kHz, short enough to see 40 ms tones and
/// gaps, long enough to tell 697 Hz from 770 Hz.
const BLOCK_DURATION: Duration = Duration::from_micros(12_750);
/// Share of the block's energy the two tones must hold together (speech and
/// noise spread theirs over many frequencies).
const MIN_TONE_ENERGY_SHARE: f64 = 0.7;
/// How much stronger (power ratio, 6 dB) the chosen tone must be than the
/// next strongest of its group.
const MIN_GROUP_DOMINANCE: f64 = 4.0;
/// Lowest energy ratio between the two halves of a block; tones only partly
/// inside a block (the edges of a short blip) fail it.
const MIN_HALF_BLOCK_BALANCE: f64 = 0.7;

/// Limits of the in-band detector; the defaults follow ITU-T Q.24.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InbandConfig {
    /// Shortest tone reported (Q.24: at least 40 ms must be accepted).
    pub min_duration: Duration,
    /// Pauses this long always separate two presses (Q.24: 40 ms); shorter
    /// dropouts inside one tone are bridged.
    pub min_gap: Duration,
    /// Quietest tone accepted, per frequency, in dB relative to a full-scale sine.
    pub min_tone_level_dbfs: f64,
    /// How far the column tone may be below the row tone (normal twist), in dB.
    pub max_normal_twist_db: f64,
    /// How far the row tone may be below the column tone (reverse twist), in dB.
    pub max_reverse_twist_db: f64,
}

impl Default for InbandConfig {
    fn default() -> Self {
        Self {
            min_duration: Duration::from_millis(40),
            min_gap: Duration::from_millis(40),
            min_tone_level_dbfs: -32.0,
            max_normal_twist_db: 8.0,
            max_reverse_twist_db: 4.0,
        }
    }
}

/// Finds DTMF key presses in a stream of mono PCM at one sample rate.
#[derive(Debug, Clone)]
pub struct InbandDtmfDetector {
    rate: SampleRate,
    block_len: usize,
    rows: [Goertzel; 4],
    columns: [Goertzel; 4],
    min_amplitude: f64,
    max_normal_twist: f64,
    max_reverse_twist: f64,
    /// Whole blocks a tone of the minimum duration always covers.
    min_blocks: usize,
    /// Blocks without the digit that end it (whole blocks in a minimum gap).
    gap_blocks: usize,
    pending: Vec<i16>,
    state: ToneState,
    events: VecDeque<Dtmf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ToneState {
    Quiet,
    Tone {
        digit: DtmfDigit,
        blocks: usize,
        misses: usize,
    },
}

impl InbandDtmfDetector {
    /// A detector with the default (Q.24) limits.
    pub fn new(rate: SampleRate) -> Self {
        Self::with_config(rate, InbandConfig::default())
    }

    pub fn with_config(rate: SampleRate, config: InbandConfig) -> Self {
        let block_len = rate.samples_in(BLOCK_DURATION).max(1);
        // A span of L samples at any alignment contains at least
        // floor((L + 1) / B) - 1 whole blocks of B samples.
        let whole_blocks = |span: Duration| {
            ((rate.samples_in(span) + 1) / block_len)
                .saturating_sub(1)
                .max(1)
        };
        let filters = |frequencies: [f64; 4]| frequencies.map(|hz| Goertzel::new(hz, rate));
        Self {
            rate,
            block_len,
            rows: filters(ROW_FREQUENCIES_HZ),
            columns: filters(COLUMN_FREQUENCIES_HZ),
            min_amplitude: f64::from(i16::MAX) * 10f64.powf(config.min_tone_level_dbfs / 20.0),
            max_normal_twist: 10f64.powf(config.max_normal_twist_db / 10.0),
            max_reverse_twist: 10f64.powf(config.max_reverse_twist_db / 10.0),
            min_blocks: whole_blocks(config.min_duration),
            gap_blocks: whole_blocks(config.min_gap),
            pending: Vec::with_capacity(block_len),
            state: ToneState::Quiet,
            events: VecDeque::new(),
        }
    }

    /// Feeds the next samples of the stream, in pieces of any length.
    pub fn process(&mut self, pcm: &[i16]) {
        let mut rest = pcm;
        while !rest.is_empty() {
            let take = (self.block_len - self.pending.len()).min(rest.len());
            self.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.pending.len() == self.block_len {
                let digit = self.classify(&self.pending);
                self.pending.clear();
                self.advance(digit);
            }
        }
    }

    /// The next finished key press, oldest first.
    pub fn poll_event(&mut self) -> Option<Dtmf> {
        self.events.pop_front()
    }

    /// The digit one block holds, if it passes every check.
    fn classify(&self, block: &[i16]) -> Option<DtmfDigit> {
        let energy = block_energy(block);
        if energy == 0.0 {
            return None;
        }
        let (row, row_power) = dominant(&self.rows, block)?;
        let (column, column_power) = dominant(&self.columns, block)?;
        let amplitude = |power: f64| sine_amplitude(power, block.len());
        if amplitude(row_power).min(amplitude(column_power)) < self.min_amplitude {
            return None;
        }
        if row_power > column_power * self.max_normal_twist
            || column_power > row_power * self.max_reverse_twist
        {
            return None;
        }
        let share = 2.0 * (row_power + column_power) / (block.len() as f64 * energy);
        if share < MIN_TONE_ENERGY_SHARE {
            return None;
        }
        let (first, second) = block.split_at(block.len() / 2);
        let (first, second) = (block_energy(first), block_energy(second));
        if first.min(second) < MIN_HALF_BLOCK_BALANCE * first.max(second) {
            return None;
        }
        DtmfDigit::at(row, column)
    }

    fn advance(&mut self, heard: Option<DtmfDigit>) {
        self.state = match (self.state, heard) {
            (ToneState::Quiet, None) => ToneState::Quiet,
            (ToneState::Quiet, Some(digit)) => ToneState::Tone {
                digit,
                blocks: 1,
                misses: 0,
            },
            (
                ToneState::Tone {
                    digit,
                    blocks,
                    misses,
                },
                Some(same),
            ) if same == digit => {
                // A dropout shorter than a gap belongs to the tone.
                ToneState::Tone {
                    digit,
                    blocks: blocks + misses + 1,
                    misses: 0,
                }
            }
            (ToneState::Tone { digit, blocks, .. }, Some(other)) => {
                self.finish(digit, blocks);
                ToneState::Tone {
                    digit: other,
                    blocks: 1,
                    misses: 0,
                }
            }
            (
                ToneState::Tone {
                    digit,
                    blocks,
                    misses,
                },
                None,
            ) => {
                if misses + 1 >= self.gap_blocks {
                    self.finish(digit, blocks);
                    ToneState::Quiet
                } else {
                    ToneState::Tone {
                        digit,
                        blocks,
                        misses: misses + 1,
                    }
                }
            }
        };
    }

    fn finish(&mut self, digit: DtmfDigit, blocks: usize) {
        if blocks >= self.min_blocks {
            self.events.push_back(Dtmf {
                digit,
                duration: self.rate.duration_of(blocks * self.block_len),
            });
        }
    }
}

/// Index and power of the strongest of four filters, when it dominates the others.
fn dominant(filters: &[Goertzel; 4], block: &[i16]) -> Option<(usize, f64)> {
    let powers = filters.map(|filter| filter.power(block));
    let (index, &strongest) = powers
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))?;
    let dominates = powers
        .iter()
        .enumerate()
        .all(|(other, &power)| other == index || strongest >= MIN_GROUP_DOMINANCE * power);
    dominates.then_some((index, strongest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::{ToneGenerator, TonePlan};
    use std::path::Path;
    use std::process::Command;

    const RATE: SampleRate = SampleRate::NARROWBAND;

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    fn silence(duration: Duration) -> Vec<i16> {
        vec![0; RATE.samples_in(duration)]
    }

    /// A row and a column tone at their own levels, summed.
    fn dual_tone(
        digit: DtmfDigit,
        row_dbfs: f64,
        column_dbfs: f64,
        duration: Duration,
    ) -> Vec<i16> {
        let (row_hz, column_hz) = digit.frequencies_hz();
        let mut row = vec![0; RATE.samples_in(duration)];
        let mut column = row.clone();
        ToneGenerator::new(TonePlan::steady(&[row_hz], row_dbfs), RATE).fill(&mut row);
        ToneGenerator::new(TonePlan::steady(&[column_hz], column_dbfs), RATE).fill(&mut column);
        row.iter()
            .zip(&column)
            .map(|(&a, &b)| a.saturating_add(b))
            .collect()
    }

    fn key_press(digit: DtmfDigit, duration: Duration) -> Vec<i16> {
        dual_tone(digit, -10.0, -10.0, duration)
    }

    /// Runs `signal` followed by 100 ms of silence through a fresh detector in
    /// 20 ms frames and returns every event.
    fn detect(signal: &[i16]) -> Vec<Dtmf> {
        let mut detector = InbandDtmfDetector::new(RATE);
        let mut stream = signal.to_vec();
        stream.extend(silence(ms(100)));
        for frame in stream.chunks(RATE.frame_len()) {
            detector.process(frame);
        }
        std::iter::from_fn(|| detector.poll_event()).collect()
    }

    fn digits(events: &[Dtmf]) -> String {
        events.iter().map(|event| event.digit.as_char()).collect()
    }

    /// Deterministic white noise (xorshift), uniform in `-peak..peak`.
    fn white_noise(samples: usize, peak: i16) -> Vec<i16> {
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        (0..samples)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                ((state >> 48) as i16 as i32 * i32::from(peak) / 32_768) as i16
            })
            .collect()
    }

    #[test]
    fn finds_all_sixteen_digits_generated_in_rust() {
        let mut signal = Vec::new();
        for digit in DtmfDigit::ALL {
            signal.extend(key_press(digit, ms(100)));
            signal.extend(silence(ms(60)));
        }
        let events = detect(&signal);
        assert_eq!(digits(&events), "0123456789*#ABCD");
        for event in events {
            // Measured in whole blocks: within one block (12.75 ms) of the truth.
            assert!((ms(87)..=ms(113)).contains(&event.duration), "{event:?}");
        }
    }

    #[test]
    fn finds_all_sixteen_digits_generated_with_sox() {
        let dir = std::env::temp_dir().join(format!("kefu-media-dtmf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for digit in DtmfDigit::ALL {
            let (row_hz, column_hz) = digit.frequencies_hz();
            let path = dir.join(format!("dtmf-{}.wav", digit.event_code()));
            sox(&[
                "-n",
                "-r",
                "8000",
                "-c",
                "1",
                "-b",
                "16",
                path_str(&path),
                "synth",
                "0.1",
                "sine",
                &row_hz.to_string(),
                "sine",
                &column_hz.to_string(),
                "pad",
                "0.05",
                "0.05",
            ]);
            let samples: Vec<i16> = hound::WavReader::open(&path)
                .unwrap()
                .into_samples::<i16>()
                .collect::<Result<_, _>>()
                .unwrap();
            let events = detect(&samples);
            assert_eq!(
                digits(&events),
                digit.to_string(),
                "sox file {}",
                path.display()
            );
            assert!(events[0].duration >= ms(87), "{:?}", events[0]);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn path_str(path: &Path) -> &str {
        path.to_str().unwrap()
    }

    /// Runs sox; a missing sox fails the test with the command that installs it.
    fn sox(args: &[&str]) {
        let status = Command::new("sox")
            .args(args)
            .status()
            .unwrap_or_else(|error| {
                panic!("cannot run sox ({error}); install it with `apt-get install -y sox`")
            });
        assert!(status.success(), "sox {args:?} failed: {status}");
    }

    #[test]
    fn accepts_a_40_ms_press_at_any_alignment_but_no_20_ms_blip() {
        for offset in (0..102).step_by(17) {
            let mut press = silence(RATE.duration_of(offset));
            press.extend(key_press(DtmfDigit::D5, ms(40)));
            assert_eq!(digits(&detect(&press)), "5", "40 ms at offset {offset}");
            let mut blip = silence(RATE.duration_of(offset));
            blip.extend(key_press(DtmfDigit::D5, ms(20)));
            assert_eq!(detect(&blip), [], "20 ms blip at offset {offset}");
        }
    }

    #[test]
    fn finds_a_digit_in_moderate_noise() {
        let press = key_press(DtmfDigit::D6, ms(100));
        let noise = white_noise(press.len(), 1_000);
        let noisy: Vec<i16> = press
            .iter()
            .zip(&noise)
            .map(|(&a, &b)| a.saturating_add(b))
            .collect();
        assert_eq!(digits(&detect(&noisy)), "6");
    }

    #[test]
    fn rejects_white_noise() {
        assert_eq!(detect(&white_noise(16_000, 16_000)), []);
    }

    #[test]
    fn rejects_a_speech_like_multi_tone_signal() {
        // A voiced sound: harmonics of 116.2 Hz (the 6th is 697 Hz) with a
        // falling spectrum, the way a vowel's pitch and formants look.
        let harmonics: Vec<f64> = (1..=20).map(|k| 697.0 / 6.0 * f64::from(k)).collect();
        let mut voice = vec![0i16; 16_000];
        for (k, &hz) in harmonics.iter().enumerate() {
            let mut harmonic = vec![0; voice.len()];
            let level = -14.0 - 2.0 * k as f64;
            ToneGenerator::new(TonePlan::steady(&[hz], level), RATE).fill(&mut harmonic);
            for (sum, sample) in voice.iter_mut().zip(harmonic) {
                *sum = sum.saturating_add(sample);
            }
        }
        // Plus a pair of DTMF frequencies drowned among other partials.
        let mut chord = vec![0; 16_000];
        ToneGenerator::new(
            TonePlan::steady(&[697.0, 1_209.0, 500.0, 1_800.0, 2_400.0], -16.0),
            RATE,
        )
        .fill(&mut chord);
        assert_eq!(detect(&voice), []);
        assert_eq!(detect(&chord), []);
    }

    #[test]
    fn rejects_a_single_440_hz_tone() {
        let mut tone = vec![0; 8_000];
        ToneGenerator::new(TonePlan::steady(&[440.0], -6.0), RATE).fill(&mut tone);
        assert_eq!(detect(&tone), []);
    }

    #[test]
    fn rejects_a_single_dtmf_frequency() {
        let mut tone = vec![0; 8_000];
        ToneGenerator::new(TonePlan::steady(&[1_336.0], -6.0), RATE).fill(&mut tone);
        assert_eq!(detect(&tone), []);
    }

    #[test]
    fn twist_beyond_the_limits_is_rejected() {
        let press = |row_dbfs, column_dbfs| {
            digits(&detect(&dual_tone(
                DtmfDigit::D8,
                row_dbfs,
                column_dbfs,
                ms(100),
            )))
        };
        assert_eq!(press(-10.0, -16.0), "8", "normal twist 6 dB");
        assert_eq!(press(-10.0, -20.0), "", "normal twist 10 dB");
        assert_eq!(press(-13.0, -10.0), "8", "reverse twist 3 dB");
        assert_eq!(press(-16.0, -10.0), "", "reverse twist 6 dB");
    }

    #[test]
    fn tones_below_the_minimum_level_are_ignored() {
        assert_eq!(
            detect(&dual_tone(DtmfDigit::D2, -28.0, -28.0, ms(100))).len(),
            1
        );
        assert_eq!(detect(&dual_tone(DtmfDigit::D2, -40.0, -40.0, ms(100))), []);
    }

    #[test]
    fn a_gap_separates_repeated_digits_but_a_short_dropout_does_not() {
        let mut two_presses = key_press(DtmfDigit::D9, ms(80));
        two_presses.extend(silence(ms(45)));
        two_presses.extend(key_press(DtmfDigit::D9, ms(80)));
        assert_eq!(digits(&detect(&two_presses)), "99");

        let mut with_dropout = key_press(DtmfDigit::D9, ms(80));
        with_dropout.extend(silence(ms(10)));
        with_dropout.extend(key_press(DtmfDigit::D9, ms(80)));
        let events = detect(&with_dropout);
        assert_eq!(digits(&events), "9");
        assert!(events[0].duration >= ms(150), "{:?}", events[0]);
    }

    #[test]
    fn a_digit_followed_directly_by_another_reports_both() {
        let mut signal = key_press(DtmfDigit::D1, ms(80));
        signal.extend(key_press(DtmfDigit::D2, ms(80)));
        assert_eq!(digits(&detect(&signal)), "12");
    }

    #[test]
    fn detects_at_16_khz_too() {
        let rate = SampleRate::WIDEBAND;
        let mut detector = InbandDtmfDetector::new(rate);
        let mut tone = vec![0; rate.samples_in(ms(100))];
        let (row, column) = DtmfDigit::Star.frequencies_hz();
        ToneGenerator::new(TonePlan::steady(&[row, column], -10.0), rate).fill(&mut tone);
        detector.process(&tone);
        detector.process(&vec![0; rate.samples_in(ms(100))]);
        assert_eq!(
            detector.poll_event().map(|event| event.digit),
            Some(DtmfDigit::Star)
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_audio_never_panics_and_only_reports_long_enough_digits(
            audio in proptest::collection::vec(proptest::prelude::any::<i16>(), 0..4_000),
            chunk in 1usize..400,
        ) {
            let mut detector = InbandDtmfDetector::new(RATE);
            for piece in audio.chunks(chunk) {
                detector.process(piece);
            }
            while let Some(event) = detector.poll_event() {
                proptest::prop_assert!(event.duration >= ms(25));
            }
        }
    }
}
