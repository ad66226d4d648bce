//! Sample-rate conversion of mono `i16` PCM: [`resample`] converts a whole
//! clip at once (prompts, once, when they are loaded), and [`FrameResampler`]
//! converts a live stream 20 ms frame by 20 ms frame, a fixed number of
//! samples in and out per frame (a G.711 leg at 8 kHz talking to Opus at
//! 48 kHz, say).
//!
//! Both rely on `rubato`'s windowed-sinc resampler (`Async`), which converts
//! between any two rates (8, 16 and 48 kHz on the wire; 11.025, 22.05,
//! 44.1 kHz… in prompt files and in `espeak-ng`'s output) with an
//! anti-aliasing filter. Its FFT resampler would need `rustfft`, whose
//! generic code is compiled into this crate and added about 7 s of CPU to
//! every rebuild of it, so rubato's `fft_resampler` feature is off. The sinc
//! resampler gives a varying number of samples per chunk (fewer at the start,
//! then ±1); a short FIFO evens that out into fixed-size frames. Whole clips
//! go through our own chunk loop rather than rubato's `process_all`, which in
//! 4.0 moves only part of the output when it trims the filter delay. Samples
//! are converted to `f32` for the filter and rounded back with saturation.
//! The filter's phase table is sized to the ratio (`MAX_EXACT_PHASES`),
//! so a converter costs little to make: one per leg and per prompt load.

use std::collections::VecDeque;
use std::time::Duration;

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, FixedAsync, Indexing, Resampler, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};

use crate::pcm::SampleRate;

/// Input chunk of the one-shot conversion.
const CLIP_CHUNK: usize = 1_024;
/// Filter length in samples of the lower rate; longer filters cut closer to
/// the Nyquist frequency at a higher CPU cost.
const SINC_LEN: usize = 64;
/// Most filter phases tabulated for an exact conversion. Between two rates
/// whose ratio reduces to `p/q`, output samples fall on `q` distinct
/// positions between input samples (6 from 8 to 48 kHz, 1 from 48 to 8 kHz,
/// 160 from 22.05 to 8 kHz): with that many phases tabulated the nearest one
/// is the exact one, which is also half the work of interpolating between
/// two. Odder ratios interpolate linearly between 256 phases.
const MAX_EXACT_PHASES: u32 = 1_024;
/// Zeros a [`FrameResampler`] keeps in hand beyond the start-up shortfall,
/// so that a chunk one sample short of a frame never leaves it without a
/// full frame to give.
const FIFO_MARGIN: usize = 2;

/// Why a [`FrameResampler`] cannot be made or cannot take a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ResampleError {
    /// 20 ms is not a whole number of samples at one of the rates.
    #[error(
        "cannot convert 20 ms frames from {from} Hz to {to} Hz: 20 ms must be a whole number of samples at both rates"
    )]
    UnsupportedFrameRates { from: u32, to: u32 },
    /// A frame of the wrong length was given.
    #[error("a 20 ms frame at the input rate holds {expected} samples, got {got}")]
    FrameLength { expected: usize, got: usize },
}

/// A sinc resampler from `from` to `to` taking `chunk` input samples per call.
fn sinc_resampler(from: SampleRate, to: SampleRate, chunk: usize) -> Async<f32> {
    // The filter spans SINC_LEN samples of the lower rate, which is
    // SINC_LEN × from/to input samples when going down.
    let downsampling = from.hz().div_ceil(to.hz()).max(1) as usize;
    let phases = to.hz() / gcd(from.hz(), to.hz());
    let (oversampling, interpolation) = if phases <= MAX_EXACT_PHASES {
        (phases as usize, SincInterpolationType::Nearest)
    } else {
        (256, SincInterpolationType::Linear)
    };
    let parameters =
        SincInterpolationParameters::new(SINC_LEN * downsampling, WindowFunction::BlackmanHarris2)
            .oversampling_factor(oversampling)
            .interpolation(interpolation);
    let ratio = f64::from(to.hz()) / f64::from(from.hz());
    Async::<f32>::new_sinc(ratio, 1.0, &parameters, chunk, 1, FixedAsync::Input)
        .expect("rubato accepts any positive ratio, a relative range of 1 and a non-zero chunk")
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The whole of `samples`, recorded at `from`, at the rate `to`. The output
/// holds `ceil(len × to / from)` samples, aligned with the input (the filter
/// delay is removed).
pub fn resample(samples: &[i16], from: SampleRate, to: SampleRate) -> Vec<i16> {
    if from == to || samples.is_empty() {
        return samples.to_vec();
    }
    let mut resampler = sinc_resampler(from, to, CLIP_CHUNK);
    let input: Vec<f32> = samples.iter().copied().map(to_float).collect();
    let adapter = InterleavedSlice::new(&input, 1, input.len())
        .expect("a mono slice holds exactly its own length in frames");
    let mut chunk = vec![0.0; resampler.output_frames_max()];
    // The exact output length is rational; rubato would round it in floating point.
    let len = (samples.len() as u64 * u64::from(to.hz())).div_ceil(u64::from(from.hz()));
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    let delay = resampler.output_delay();
    let mut output = Vec::with_capacity(delay + len + chunk.len());
    let mut offset = 0;
    while output.len() < delay + len {
        let left = input.len() - offset;
        let mut indexing = Indexing::new().input_offset(offset);
        if left < resampler.input_frames_next() {
            indexing = indexing.partial_len(left);
        }
        let capacity = chunk.len();
        let mut chunk_adapter = InterleavedSlice::new_mut(&mut chunk, 1, capacity)
            .expect("the chunk buffer holds the most one chunk gives");
        let (consumed, written) = resampler
            .process_into_buffer(&adapter, &mut chunk_adapter, Some(&indexing))
            .expect("buffers are sized to the resampler's chunks");
        offset += consumed.min(left);
        output.extend_from_slice(&chunk[..written]);
    }
    output[delay..delay + len]
        .iter()
        .copied()
        .map(from_float)
        .collect()
}

/// A stream converter from one rate to another for consecutive 20 ms frames:
/// each call takes exactly one frame at the input rate and gives exactly one
/// at the output rate, delayed by [`FrameResampler::delay`].
pub struct FrameResampler {
    from: SampleRate,
    to: SampleRate,
    /// `None` when both rates are the same and frames pass through.
    sinc: Option<Async<f32>>,
    input: Vec<f32>,
    output: Vec<f32>,
    /// Converted samples not given out yet.
    fifo: VecDeque<i16>,
    /// Zeros the FIFO started with.
    prime: usize,
}

impl std::fmt::Debug for FrameResampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameResampler")
            .field("from", &self.from)
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

impl FrameResampler {
    /// A converter of 20 ms frames from `from` to `to`; both rates must be
    /// multiples of 50 Hz (8, 16, 22.05, 44.1, 48 kHz…).
    pub fn new(from: SampleRate, to: SampleRate) -> Result<Self, ResampleError> {
        if from.hz() % 50 != 0 || to.hz() % 50 != 0 {
            return Err(ResampleError::UnsupportedFrameRates {
                from: from.hz(),
                to: to.hz(),
            });
        }
        let sinc = (from != to).then(|| sinc_resampler(from, to, from.frame_len()));
        let output_max = sinc.as_ref().map_or(0, |sinc| sinc.output_frames_max());
        // The first chunk comes out short by part of the filter's length:
        // start with that much silence, plus the margin for later chunks.
        let prime = sinc.as_ref().map_or(0, |sinc| {
            to.frame_len().saturating_sub(sinc.output_frames_next()) + FIFO_MARGIN
        });
        Ok(Self {
            from,
            to,
            sinc,
            input: vec![0.0; from.frame_len()],
            output: vec![0.0; output_max],
            fifo: std::iter::repeat_n(0, prime).collect(),
            prime,
        })
    }

    /// The input rate.
    pub fn from_rate(&self) -> SampleRate {
        self.from
    }

    /// The output rate.
    pub fn to_rate(&self) -> SampleRate {
        self.to
    }

    /// How late a sound comes out compared with when it went in (a few
    /// milliseconds when the rates differ, nothing when they are the same).
    pub fn delay(&self) -> Duration {
        match &self.sinc {
            Some(sinc) => self.to.duration_of(sinc.output_delay() + self.prime),
            None => Duration::ZERO,
        }
    }

    /// Converts one 20 ms `frame` at the input rate into `out` (cleared
    /// first), which then holds one 20 ms frame at the output rate.
    pub fn process_into(&mut self, frame: &[i16], out: &mut Vec<i16>) -> Result<(), ResampleError> {
        let expected = self.from.frame_len();
        if frame.len() != expected {
            return Err(ResampleError::FrameLength {
                expected,
                got: frame.len(),
            });
        }
        out.clear();
        let Some(sinc) = &mut self.sinc else {
            out.extend_from_slice(frame);
            return Ok(());
        };
        for (slot, &sample) in self.input.iter_mut().zip(frame) {
            *slot = to_float(sample);
        }
        let capacity = self.output.len();
        let input = InterleavedSlice::new(&self.input, 1, expected)
            .expect("the input buffer holds one frame");
        let mut output = InterleavedSlice::new_mut(&mut self.output, 1, capacity)
            .expect("the output buffer holds the most one chunk gives");
        let (_, written) = sinc
            .process_into_buffer(&input, &mut output, None)
            .expect("buffers are sized to the resampler's chunks");
        self.fifo
            .extend(self.output[..written].iter().copied().map(from_float));
        let frame_out = self.to.frame_len();
        let available = self.fifo.len().min(frame_out);
        out.extend(self.fifo.drain(..available));
        // Not reached while the rates are exact multiples of 50 Hz: the FIFO
        // margin covers the ±1 sample the chunks vary by.
        out.resize(frame_out, 0);
        Ok(())
    }

    /// One 20 ms frame at the input rate, converted.
    pub fn process(&mut self, frame: &[i16]) -> Result<Vec<i16>, ResampleError> {
        let mut out = Vec::with_capacity(self.to.frame_len());
        self.process_into(frame, &mut out)?;
        Ok(out)
    }
}

fn to_float(sample: i16) -> f32 {
    f32::from(sample) / 32_768.0
}

fn from_float(value: f32) -> i16 {
    (value * 32_768.0)
        .round()
        .clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goertzel::{Goertzel, energy_share, sine_amplitude};
    use crate::tone::{ToneGenerator, TonePlan};

    const RATES: [SampleRate; 3] = [
        SampleRate::NARROWBAND,
        SampleRate::WIDEBAND,
        SampleRate::FULLBAND,
    ];

    fn sine(hz: f64, level_dbfs: f64, rate: SampleRate, samples: usize) -> Vec<i16> {
        let mut out = vec![0; samples];
        ToneGenerator::new(TonePlan::steady(&[hz], level_dbfs), rate).fill(&mut out);
        out
    }

    fn amplitude(block: &[i16], hz: f64, rate: SampleRate) -> f64 {
        sine_amplitude(Goertzel::new(hz, rate).power(block), block.len())
    }

    fn db(ratio: f64) -> f64 {
        20.0 * ratio.log10()
    }

    #[test]
    fn a_440_hz_tone_keeps_frequency_and_level_through_8k_48k_8k() {
        let rate = SampleRate::NARROWBAND;
        let original = sine(440.0, -12.0, rate, 8_000);
        let up = resample(&original, rate, SampleRate::FULLBAND);
        assert_eq!(up.len(), 48_000);
        let back = resample(&up, SampleRate::FULLBAND, rate);
        assert_eq!(back.len(), 8_000);

        let middle = &back[2_000..6_000];
        let share = energy_share(middle, 440.0, rate);
        assert!(share > 0.99, "440 Hz share {share}");
        let change =
            db(amplitude(middle, 440.0, rate) / amplitude(&original[2_000..6_000], 440.0, rate));
        assert!(change.abs() < 0.5, "level changed by {change} dB");
        let up_share = energy_share(&up[12_000..36_000], 440.0, SampleRate::FULLBAND);
        assert!(up_share > 0.99, "440 Hz share at 48 kHz {up_share}");
    }

    #[test]
    fn the_clip_stays_aligned_with_its_input() {
        // A tone that starts 100 ms in starts 100 ms in after conversion too.
        let rate = SampleRate::NARROWBAND;
        let mut clip = vec![0; 800];
        clip.extend(sine(1_000.0, -6.0, rate, 800));
        let up = resample(&clip, rate, SampleRate::FULLBAND);
        let loud = |block: &[i16]| block.iter().map(|&s| i32::from(s).abs()).max().unwrap_or(0);
        assert!(loud(&up[..4_500]) < 500, "sound before the tone");
        assert!(loud(&up[5_000..5_400]) > 10_000, "no tone where it starts");
    }

    #[test]
    fn clip_lengths_follow_the_rate_ratio_for_every_pair() {
        let cases = [
            (8_000, 16_000, 160, 320),
            (16_000, 8_000, 333, 167),
            (48_000, 8_000, 961, 161),
            (8_000, 48_000, 1, 6),
            (22_050, 8_000, 22_050, 8_000),
            (44_100, 16_000, 441, 160),
        ];
        for (from, to, len_in, len_out) in cases {
            let from = SampleRate::new(from).expect("non-zero");
            let to = SampleRate::new(to).expect("non-zero");
            let out = resample(&vec![1_000; len_in], from, to);
            assert_eq!(out.len(), len_out, "{from:?} -> {to:?}");
        }
        assert!(resample(&[], SampleRate::NARROWBAND, SampleRate::FULLBAND).is_empty());
    }

    #[test]
    fn downsampling_filters_out_what_the_lower_rate_cannot_carry() {
        // 6 kHz at 16 kHz would alias to 2 kHz at 8 kHz without a filter.
        let tone = sine(6_000.0, -6.0, SampleRate::WIDEBAND, 16_000);
        let down = resample(&tone, SampleRate::WIDEBAND, SampleRate::NARROWBAND);
        let alias = amplitude(&down[1_000..7_000], 2_000.0, SampleRate::NARROWBAND);
        let original = amplitude(&tone, 6_000.0, SampleRate::WIDEBAND);
        assert!(
            db(alias / original) < -40.0,
            "alias at {} dB",
            db(alias / original)
        );
    }

    #[test]
    fn a_22050_hz_espeak_rendering_converts_to_the_leg_rate() {
        let from = SampleRate::new(22_050).expect("non-zero");
        let tone = sine(440.0, -12.0, from, 22_050);
        let down = resample(&tone, from, SampleRate::NARROWBAND);
        assert_eq!(down.len(), 8_000);
        assert!(energy_share(&down[1_000..7_000], 440.0, SampleRate::NARROWBAND) > 0.99);
    }

    #[test]
    fn streaming_frames_have_fixed_sizes_for_every_pair_of_wire_rates() {
        for from in RATES {
            for to in RATES {
                let mut resampler = FrameResampler::new(from, to).expect("supported pair");
                let frame = sine(440.0, -12.0, from, from.frame_len());
                for _ in 0..3 {
                    let out = resampler.process(&frame).expect("right frame length");
                    assert_eq!(out.len(), to.frame_len(), "{from:?} -> {to:?}");
                }
            }
        }
    }

    #[test]
    fn streaming_keeps_a_440_hz_tone_through_8k_48k_8k() {
        let narrow = SampleRate::NARROWBAND;
        let mut up = FrameResampler::new(narrow, SampleRate::FULLBAND).expect("supported");
        let mut down = FrameResampler::new(SampleRate::FULLBAND, narrow).expect("supported");
        let mut generator = ToneGenerator::new(TonePlan::steady(&[440.0], -12.0), narrow);
        let mut wide = Vec::new();
        let mut received = Vec::new();
        let mut frame = Vec::new();
        for _ in 0..50 {
            up.process_into(&generator.next_frame(), &mut wide)
                .expect("frame");
            assert_eq!(wide.len(), 960);
            down.process_into(&wide, &mut frame).expect("frame");
            received.extend_from_slice(&frame);
        }
        assert_eq!(received.len(), 50 * 160);
        let steady = &received[1_600..];
        let share = energy_share(steady, 440.0, narrow);
        assert!(share > 0.99, "440 Hz share {share}");
        let expected = f64::from(i16::MAX) * 10f64.powf(-12.0 / 20.0);
        let change = db(amplitude(steady, 440.0, narrow) / expected);
        assert!(change.abs() < 0.5, "level changed by {change} dB");
    }

    #[test]
    fn the_reported_delay_is_where_a_tone_burst_comes_out() {
        for (from, to) in [
            (SampleRate::NARROWBAND, SampleRate::FULLBAND),
            (SampleRate::FULLBAND, SampleRate::NARROWBAND),
            (SampleRate::WIDEBAND, SampleRate::NARROWBAND),
        ] {
            let mut resampler = FrameResampler::new(from, to).expect("supported");
            let mut generator = ToneGenerator::new(TonePlan::steady(&[1_000.0], -6.0), from);
            let mut out = Vec::new();
            for frame in 0..10 {
                let input = if frame < 5 {
                    vec![0; from.frame_len()]
                } else {
                    generator.next_frame()
                };
                out.extend(resampler.process(&input).expect("frame"));
            }
            let onset = out
                .iter()
                .position(|&s| s.abs() > 4_000)
                .expect("the burst");
            let tone_start = 5 * to.frame_len();
            let measured = to.duration_of(onset - tone_start);
            let delay = resampler.delay();
            assert!(
                delay > Duration::ZERO && delay < Duration::from_millis(10),
                "{delay:?}"
            );
            let error = measured.abs_diff(delay);
            assert!(
                error <= Duration::from_millis(1),
                "{from:?} -> {to:?}: burst after {measured:?}, reported {delay:?}"
            );
        }
    }

    #[test]
    fn the_fifo_neither_runs_dry_nor_grows_over_ten_seconds() {
        for (from, to) in [
            (SampleRate::NARROWBAND, SampleRate::FULLBAND),
            (SampleRate::FULLBAND, SampleRate::NARROWBAND),
            (SampleRate::NARROWBAND, SampleRate::WIDEBAND),
            (
                SampleRate::new(22_050).expect("non-zero"),
                SampleRate::NARROWBAND,
            ),
        ] {
            let mut resampler = FrameResampler::new(from, to).expect("supported");
            let frame = vec![0; from.frame_len()];
            let mut out = Vec::new();
            for _ in 0..500 {
                let held = resampler.fifo.len();
                let coming = resampler
                    .sinc
                    .as_ref()
                    .expect("rates differ")
                    .output_frames_next();
                assert!(
                    held + coming >= to.frame_len(),
                    "{from:?} -> {to:?} ran dry"
                );
                resampler.process_into(&frame, &mut out).expect("frame");
                assert!(
                    resampler.fifo.len() <= FIFO_MARGIN + 1,
                    "{from:?} -> {to:?} grew"
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

        #[test]
        fn any_clip_at_any_accepted_rate_has_the_exact_converted_length(
            samples in proptest::collection::vec(proptest::prelude::any::<i16>(), 0..3_000),
            from in proptest::sample::select(vec![8_000, 11_025, 16_000, 22_050, 44_100, 48_000]),
            to in proptest::sample::select(vec![8_000, 16_000, 48_000]),
        ) {
            let (from, to) = (SampleRate::new(from).expect("non-zero"), SampleRate::new(to).expect("non-zero"));
            let out = resample(&samples, from, to);
            let expected = (samples.len() as u64 * u64::from(to.hz())).div_ceil(u64::from(from.hz()));
            proptest::prop_assert_eq!(out.len() as u64, expected);
        }
    }

    #[test]
    fn same_rate_streams_pass_through_untouched() {
        let mut resampler =
            FrameResampler::new(SampleRate::WIDEBAND, SampleRate::WIDEBAND).expect("same rate");
        let frame = sine(1_000.0, -3.0, SampleRate::WIDEBAND, 320);
        assert_eq!(resampler.process(&frame), Ok(frame));
        assert_eq!(resampler.delay(), Duration::ZERO);
    }

    #[test]
    fn a_frame_of_the_wrong_length_is_refused() {
        let mut resampler =
            FrameResampler::new(SampleRate::NARROWBAND, SampleRate::FULLBAND).expect("supported");
        assert_eq!(
            resampler.process(&[0; 100]),
            Err(ResampleError::FrameLength {
                expected: 160,
                got: 100
            })
        );
    }

    #[test]
    fn rates_without_whole_20_ms_frames_are_refused_for_streaming() {
        // 20 ms at 11 025 Hz is 220.5 samples.
        let odd = SampleRate::new(11_025).expect("non-zero");
        assert_eq!(
            FrameResampler::new(odd, SampleRate::NARROWBAND).unwrap_err(),
            ResampleError::UnsupportedFrameRates {
                from: 11_025,
                to: 8_000
            }
        );
    }
}
