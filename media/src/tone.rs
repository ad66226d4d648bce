//! Call-progress and test tones: one or more sines switched on and off by a
//! repeating cadence, rendered as PCM frames at any sample rate. The national
//! ringback and busy tones are data ([`ToneRegion`]), and any other plan can be
//! built from a [`TonePlan`] (e.g. read from configuration). Oscillators keep
//! their phase across frames and through silent steps, so frames join without
//! clicks.

use std::str::FromStr;
use std::time::Duration;

use crate::pcm::SampleRate;

/// One step of a cadence: tone on for `on`, then silence for `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CadenceStep {
    pub on: Duration,
    pub off: Duration,
}

impl CadenceStep {
    /// A step of `on_ms` milliseconds of tone and `off_ms` of silence.
    pub const fn millis(on_ms: u64, off_ms: u64) -> Self {
        Self {
            on: Duration::from_millis(on_ms),
            off: Duration::from_millis(off_ms),
        }
    }
}

/// What to play: the sine frequencies summed together, the level of each, and
/// the cadence that repeats forever (empty for a continuous tone).
#[derive(Debug, Clone, PartialEq)]
pub struct TonePlan {
    pub frequencies_hz: Vec<f64>,
    /// Level of each sine relative to a full-scale sine, in dB (≤ 0).
    pub level_dbfs: f64,
    pub cadence: Vec<CadenceStep>,
}

impl TonePlan {
    /// A continuous tone of the given frequencies, each at `level_dbfs`.
    pub fn steady(frequencies_hz: &[f64], level_dbfs: f64) -> Self {
        Self {
            frequencies_hz: frequencies_hz.to_vec(),
            level_dbfs,
            cadence: Vec::new(),
        }
    }

    /// The same tone switched by `cadence`.
    pub fn with_cadence(mut self, cadence: &[CadenceStep]) -> Self {
        self.cadence = cadence.to_vec();
        self
    }

    /// Length of one cadence cycle (zero for a continuous tone).
    pub fn cycle(&self) -> Duration {
        self.cadence.iter().map(|step| step.on + step.off).sum()
    }
}

/// Regions whose ringback and busy tones kefu knows (ITU-T E.180 supplement 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToneRegion {
    /// North America (Bell "precise tone plan").
    Us,
    /// United Kingdom (BT).
    Uk,
    /// China.
    Cn,
    /// Europe (CEPT / ETSI TR 101 041, 425 Hz).
    Eu,
}

/// Level of each sine of a two-frequency tone.
const DUAL_TONE_DBFS: f64 = -19.0;
/// Level of a single-frequency tone (about −13 dBm0 in G.711).
const SINGLE_TONE_DBFS: f64 = -16.0;

impl ToneRegion {
    /// Tone the caller hears while the far end rings.
    pub fn ringback(self) -> TonePlan {
        match self {
            Self::Us => TonePlan::steady(&[440.0, 480.0], DUAL_TONE_DBFS)
                .with_cadence(&[CadenceStep::millis(2_000, 4_000)]),
            Self::Uk => TonePlan::steady(&[400.0, 450.0], DUAL_TONE_DBFS).with_cadence(&[
                CadenceStep::millis(400, 200),
                CadenceStep::millis(400, 2_000),
            ]),
            Self::Cn => TonePlan::steady(&[450.0], SINGLE_TONE_DBFS)
                .with_cadence(&[CadenceStep::millis(1_000, 4_000)]),
            Self::Eu => TonePlan::steady(&[425.0], SINGLE_TONE_DBFS)
                .with_cadence(&[CadenceStep::millis(1_000, 4_000)]),
        }
    }

    /// Tone the caller hears when the far end is busy.
    pub fn busy(self) -> TonePlan {
        match self {
            Self::Us => TonePlan::steady(&[480.0, 620.0], DUAL_TONE_DBFS)
                .with_cadence(&[CadenceStep::millis(500, 500)]),
            Self::Uk => TonePlan::steady(&[400.0], SINGLE_TONE_DBFS)
                .with_cadence(&[CadenceStep::millis(375, 375)]),
            Self::Cn => TonePlan::steady(&[450.0], SINGLE_TONE_DBFS)
                .with_cadence(&[CadenceStep::millis(350, 350)]),
            Self::Eu => TonePlan::steady(&[425.0], SINGLE_TONE_DBFS)
                .with_cadence(&[CadenceStep::millis(500, 500)]),
        }
    }
}

impl TonePlan {
    /// One cadence cycle of the tone at `rate` (one second of a continuous
    /// tone), for playing in a loop.
    pub fn render_cycle(&self, rate: SampleRate) -> Vec<i16> {
        let length = if self.cadence.is_empty() {
            Duration::from_secs(1)
        } else {
            self.cycle()
        };
        let samples =
            usize::try_from(length.as_millis()).unwrap_or(usize::MAX) * rate.hz() as usize / 1000;
        let mut generator = ToneGenerator::new(self.clone(), rate);
        let mut out = vec![0; samples];
        generator.fill(&mut out);
        out
    }
}

/// A region name that is not one of `us`, `uk`, `cn`, `eu`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown tone region {0:?}: expected one of \"us\", \"uk\", \"cn\", \"eu\"")]
pub struct UnknownToneRegion(pub String);

impl FromStr for ToneRegion {
    type Err = UnknownToneRegion;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.to_ascii_lowercase().as_str() {
            "us" => Ok(Self::Us),
            "uk" | "gb" => Ok(Self::Uk),
            "cn" => Ok(Self::Cn),
            "eu" => Ok(Self::Eu),
            _ => Err(UnknownToneRegion(name.to_owned())),
        }
    }
}

/// Renders a [`TonePlan`] at one sample rate, frame after frame.
#[derive(Debug, Clone)]
pub struct ToneGenerator {
    rate: SampleRate,
    amplitude: f64,
    /// Per sine: current phase and phase step per sample, in radians.
    oscillators: Vec<(f64, f64)>,
    /// Cadence in samples: (on, off) per step.
    cadence: Vec<(usize, usize)>,
    cycle_len: usize,
    position: usize,
}

impl ToneGenerator {
    pub fn new(plan: TonePlan, rate: SampleRate) -> Self {
        let oscillators = plan
            .frequencies_hz
            .iter()
            .map(|&hz| (0.0, std::f64::consts::TAU * hz / f64::from(rate.hz())))
            .collect();
        let cadence: Vec<(usize, usize)> = plan
            .cadence
            .iter()
            .map(|step| (rate.samples_in(step.on), rate.samples_in(step.off)))
            .collect();
        let cycle_len = cadence.iter().map(|(on, off)| on + off).sum();
        Self {
            rate,
            amplitude: f64::from(i16::MAX) * 10f64.powf(plan.level_dbfs / 20.0),
            oscillators,
            cadence,
            cycle_len,
            position: 0,
        }
    }

    /// The next 20 ms of the tone.
    pub fn next_frame(&mut self) -> Vec<i16> {
        let mut frame = vec![0; self.rate.frame_len()];
        self.fill(&mut frame);
        frame
    }

    /// Writes the next `out.len()` samples of the tone.
    pub fn fill(&mut self, out: &mut [i16]) {
        for sample in out {
            let audible = self.is_on();
            let mut value = 0.0;
            for (phase, step) in &mut self.oscillators {
                value += phase.sin();
                *phase = (*phase + *step) % std::f64::consts::TAU;
            }
            *sample = if audible {
                (value * self.amplitude)
                    .round()
                    .clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16
            } else {
                0
            };
            if self.cycle_len > 0 {
                self.position = (self.position + 1) % self.cycle_len;
            }
        }
    }

    fn is_on(&self) -> bool {
        if self.cycle_len == 0 {
            return true;
        }
        let mut start = 0;
        for &(on, off) in &self.cadence {
            if self.position < start + on {
                return true;
            }
            if self.position < start + on + off {
                return false;
            }
            start += on + off;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goertzel::energy_share;

    const RATE: SampleRate = SampleRate::NARROWBAND;

    /// Frames of `plan` covering `duration`, concatenated.
    fn render(plan: TonePlan, rate: SampleRate, duration: Duration) -> Vec<i16> {
        let mut generator = ToneGenerator::new(plan, rate);
        let frames = duration.as_millis() / 20;
        (0..frames).flat_map(|_| generator.next_frame()).collect()
    }

    /// On/off state of every 10 ms block, `true` when it holds sound.
    fn on_off_pattern(samples: &[i16], rate: SampleRate) -> Vec<bool> {
        samples
            .chunks(rate.samples_in(Duration::from_millis(10)))
            .map(|block| block.iter().any(|&s| s != 0))
            .collect()
    }

    #[test]
    fn frames_last_20_ms_at_every_rate() {
        for rate in [
            SampleRate::NARROWBAND,
            SampleRate::WIDEBAND,
            SampleRate::FULLBAND,
        ] {
            let mut generator = ToneGenerator::new(ToneRegion::Eu.busy(), rate);
            assert_eq!(generator.next_frame().len(), rate.frame_len());
        }
    }

    #[test]
    fn us_ringback_is_440_plus_480_hz_two_seconds_on_four_off() {
        let samples = render(ToneRegion::Us.ringback(), RATE, Duration::from_secs(12));
        let pattern = on_off_pattern(&samples, RATE);
        assert!(pattern[..200].iter().all(|&on| on));
        assert!(pattern[200..600].iter().all(|&on| !on));
        assert!(pattern[600..800].iter().all(|&on| on));
        let first_second = &samples[..8_000];
        for hz in [440.0, 480.0] {
            assert!(
                energy_share(first_second, hz, RATE) > 0.4,
                "{hz} Hz missing"
            );
        }
    }

    #[test]
    fn uk_ringback_has_the_double_ring_cadence() {
        let samples = render(ToneRegion::Uk.ringback(), RATE, Duration::from_secs(3));
        let pattern = on_off_pattern(&samples, RATE);
        let expected: Vec<bool> = [(40, true), (20, false), (40, true), (200, false)]
            .iter()
            .flat_map(|&(blocks, on)| std::iter::repeat_n(on, blocks))
            .collect();
        assert_eq!(pattern, expected);
    }

    #[test]
    fn busy_tones_follow_each_regions_frequency_and_cadence() {
        let cases = [
            (ToneRegion::Us, &[480.0, 620.0][..], 500),
            (ToneRegion::Uk, &[400.0][..], 375),
            (ToneRegion::Cn, &[450.0][..], 350),
            (ToneRegion::Eu, &[425.0][..], 500),
        ];
        for (region, frequencies, half_period_ms) in cases {
            let plan = region.busy();
            assert_eq!(plan.cycle(), Duration::from_millis(2 * half_period_ms));
            let samples = render(plan, RATE, Duration::from_secs(2));
            let on = &samples[..RATE.samples_in(Duration::from_millis(300))];
            let share: f64 = frequencies
                .iter()
                .map(|&hz| energy_share(on, hz, RATE))
                .sum();
            assert!(share > 0.9, "{region:?} busy share {share}");
            let off_start = RATE.samples_in(Duration::from_millis(half_period_ms));
            assert!(
                samples[off_start..off_start + 100].iter().all(|&s| s == 0),
                "{region:?}"
            );
        }
    }

    #[test]
    fn regions_parse_from_configuration_names() {
        assert_eq!("us".parse(), Ok(ToneRegion::Us));
        assert_eq!("UK".parse(), Ok(ToneRegion::Uk));
        assert_eq!("cn".parse(), Ok(ToneRegion::Cn));
        assert_eq!("eu".parse(), Ok(ToneRegion::Eu));
        let error = "fr".parse::<ToneRegion>().unwrap_err();
        assert!(error.to_string().contains("\"us\", \"uk\", \"cn\", \"eu\""));
    }

    #[test]
    fn consecutive_frames_are_phase_continuous() {
        let mut generator = ToneGenerator::new(TonePlan::steady(&[1_000.0], -6.0), RATE);
        let mut whole = vec![0; 480];
        ToneGenerator::new(TonePlan::steady(&[1_000.0], -6.0), RATE).fill(&mut whole);
        let framed: Vec<i16> = (0..3).flat_map(|_| generator.next_frame()).collect();
        assert_eq!(framed, whole);
        // No jump at the frame joins bigger than the sine's own slope allows.
        let max_step = 32_767.0 * 0.5 * std::f64::consts::TAU * 1_000.0 / 8_000.0;
        for join in [159, 319] {
            let step = (f64::from(framed[join + 1]) - f64::from(framed[join])).abs();
            assert!(step <= max_step + 1.0, "jump of {step} at sample {join}");
        }
    }

    #[test]
    fn a_custom_plan_can_be_configured() {
        let plan =
            TonePlan::steady(&[1_400.0], -10.0).with_cadence(&[CadenceStep::millis(100, 100)]);
        let samples = render(plan, SampleRate::WIDEBAND, Duration::from_millis(400));
        let pattern = on_off_pattern(&samples, SampleRate::WIDEBAND);
        assert_eq!(
            pattern,
            [
                true, true, true, true, true, true, true, true, true, true, false, false, false,
                false, false, false, false, false, false, false
            ]
            .repeat(2)
        );
        assert!(energy_share(&samples[..1_600], 1_400.0, SampleRate::WIDEBAND) > 0.95);
    }

    #[test]
    fn one_rendered_cycle_holds_the_cadence() {
        let rate = SampleRate::NARROWBAND;
        let ringback = ToneRegion::Us.ringback().render_cycle(rate);
        assert_eq!(ringback.len(), 6 * 8000, "2 s on, 4 s off");
        let (on, off) = ringback.split_at(2 * 8000);
        assert!(on.iter().filter(|s| s.unsigned_abs() > 100).count() > 15_000);
        assert!(off.iter().all(|s| *s == 0));
        let steady = TonePlan::steady(&[1000.0], -6.0).render_cycle(rate);
        assert_eq!(steady.len(), 8000, "a continuous tone renders a second");
    }
}
