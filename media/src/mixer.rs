//! A conference mixer driven by a hear-matrix: for every ordered pair of
//! participants a flag says whether the listener hears the source. Each
//! participant receives the saturating 16-bit sum of the sources it hears,
//! never its own voice. Supervisor monitor, whisper and barge are just
//! matrices ([`SupervisorMode`]). When the matrix changes, a source that
//! becomes audible fades in over one frame and one that goes silent fades out,
//! so mode switches do not click.
//!
//! All inputs share one frame length and sample rate; legs at other rates are
//! resampled before they reach the mixer.

use crate::pcm::SampleRate;

/// Who hears whom among `participants` participants, indexed from 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HearMatrix {
    participants: usize,
    /// Row-major: `hears[listener * participants + source]`.
    hears: Vec<bool>,
}

/// Why the mixer refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MixerError {
    #[error("participant {participant} does not exist in a mix of {participants}")]
    UnknownParticipant {
        participant: usize,
        participants: usize,
    },
    #[error("participant {0} cannot hear itself")]
    HearsItself(usize),
    #[error("the new hear-matrix has {got} participants, the mix has {expected}")]
    ParticipantCount { expected: usize, got: usize },
    #[error("participant {participant} sent {got} samples, the frame is {expected}")]
    FrameLength {
        participant: usize,
        expected: usize,
        got: usize,
    },
}

impl HearMatrix {
    /// Nobody hears anybody.
    pub fn nobody(participants: usize) -> Self {
        Self {
            participants,
            hears: vec![false; participants * participants],
        }
    }

    /// Everybody hears everybody else (a plain conference).
    pub fn everyone(participants: usize) -> Self {
        let mut matrix = Self::nobody(participants);
        for listener in 0..participants {
            for source in 0..participants {
                matrix.hears[listener * participants + source] = listener != source;
            }
        }
        matrix
    }

    pub fn participants(&self) -> usize {
        self.participants
    }

    /// Whether `listener` hears `source`; `false` for unknown participants.
    pub fn hears(&self, listener: usize, source: usize) -> bool {
        listener < self.participants
            && source < self.participants
            && self.hears[listener * self.participants + source]
    }

    /// Lets `listener` hear `source`, or not.
    pub fn set(&mut self, listener: usize, source: usize, hears: bool) -> Result<(), MixerError> {
        for participant in [listener, source] {
            if participant >= self.participants {
                return Err(MixerError::UnknownParticipant {
                    participant,
                    participants: self.participants,
                });
            }
        }
        if listener == source {
            return Err(MixerError::HearsItself(listener));
        }
        self.hears[listener * self.participants + source] = hears;
        Ok(())
    }
}

/// The parties of a supervised call, in their mixer positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallRole {
    Caller = 0,
    Agent = 1,
    Supervisor = 2,
}

impl CallRole {
    /// Position of this party in a three-way mix.
    pub const fn index(self) -> usize {
        self as usize
    }
}

/// How a supervisor joins an agent's call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SupervisorMode {
    /// The supervisor hears caller and agent; nobody hears the supervisor.
    Monitor,
    /// The supervisor hears both; only the agent hears the supervisor.
    Whisper,
    /// Everyone hears everyone.
    Barge,
}

impl SupervisorMode {
    /// The three-way matrix of this mode, indexed by [`CallRole::index`].
    pub fn hear_matrix(self) -> HearMatrix {
        use CallRole::{Agent, Caller, Supervisor};
        let mut matrix = HearMatrix::everyone(3);
        let muted: &[(CallRole, CallRole)] = match self {
            Self::Monitor => &[(Caller, Supervisor), (Agent, Supervisor)],
            Self::Whisper => &[(Caller, Supervisor)],
            Self::Barge => &[],
        };
        for &(listener, source) in muted {
            matrix.hears[listener.index() * 3 + source.index()] = false;
        }
        matrix
    }
}

/// Mixes one frame per participant into one frame per participant.
#[derive(Debug, Clone)]
pub struct Mixer {
    frame_len: usize,
    matrix: HearMatrix,
    /// The matrix the previous frame was mixed with; differences fade.
    previous: HearMatrix,
    accumulator: Vec<i32>,
}

impl Mixer {
    /// A mixer of 20 ms frames at `rate` with the given matrix.
    pub fn new(matrix: HearMatrix, rate: SampleRate) -> Self {
        let frame_len = rate.frame_len();
        Self {
            frame_len,
            previous: matrix.clone(),
            matrix,
            accumulator: vec![0; frame_len],
        }
    }

    /// Samples per frame.
    pub fn frame_len(&self) -> usize {
        self.frame_len
    }

    pub fn matrix(&self) -> &HearMatrix {
        &self.matrix
    }

    /// Uses `matrix` from the next frame on; the changes fade over that frame.
    pub fn set_matrix(&mut self, matrix: HearMatrix) -> Result<(), MixerError> {
        if matrix.participants != self.matrix.participants {
            return Err(MixerError::ParticipantCount {
                expected: self.matrix.participants,
                got: matrix.participants,
            });
        }
        self.matrix = matrix;
        Ok(())
    }

    /// Mixes one frame. `inputs[p]` is participant `p`'s frame, or `None` when
    /// it sent nothing (silence); `outputs[p]` is replaced by what `p` hears.
    pub fn mix(
        &mut self,
        inputs: &[Option<&[i16]>],
        outputs: &mut [Vec<i16>],
    ) -> Result<(), MixerError> {
        let participants = self.matrix.participants;
        for count in [inputs.len(), outputs.len()] {
            if count != participants {
                return Err(MixerError::ParticipantCount {
                    expected: participants,
                    got: count,
                });
            }
        }
        for (participant, input) in inputs.iter().enumerate() {
            if let Some(frame) = input {
                if frame.len() != self.frame_len {
                    return Err(MixerError::FrameLength {
                        participant,
                        expected: self.frame_len,
                        got: frame.len(),
                    });
                }
            }
        }
        let len = self.frame_len as i32;
        for (listener, output) in outputs.iter_mut().enumerate() {
            self.accumulator.fill(0);
            for (source, input) in inputs.iter().enumerate() {
                let Some(frame) = input else { continue };
                let before = self.previous.hears(listener, source);
                let now = self.matrix.hears(listener, source);
                match (before, now) {
                    (true, true) => {
                        for (sum, &sample) in self.accumulator.iter_mut().zip(frame.iter()) {
                            *sum += i32::from(sample);
                        }
                    }
                    (false, true) | (true, false) => {
                        for (i, (sum, &sample)) in
                            self.accumulator.iter_mut().zip(frame.iter()).enumerate()
                        {
                            let ramp = i as i32 + 1;
                            let gain = if now { ramp } else { len - ramp };
                            *sum += i32::from(sample) * gain / len;
                        }
                    }
                    (false, false) => {}
                }
            }
            output.clear();
            output.extend(
                self.accumulator
                    .iter()
                    .map(|&sum| sum.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16),
            );
        }
        // Reuses the allocation: this runs every frame on the media path.
        self.previous.hears.clone_from(&self.matrix.hears);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goertzel::energy_share;
    use crate::tone::{ToneGenerator, TonePlan};
    use CallRole::{Agent, Caller, Supervisor};

    const RATE: SampleRate = SampleRate::NARROWBAND;
    const CALLER_HZ: f64 = 440.0;
    const AGENT_HZ: f64 = 1_000.0;
    const SUPERVISOR_HZ: f64 = 1_800.0;

    /// A three-way call where every party speaks its own tone.
    struct ToneCall {
        mixer: Mixer,
        voices: [ToneGenerator; 3],
        heard: Vec<Vec<i16>>,
    }

    impl ToneCall {
        fn new(mode: SupervisorMode) -> Self {
            let voice = |hz| ToneGenerator::new(TonePlan::steady(&[hz], -12.0), RATE);
            Self {
                mixer: Mixer::new(mode.hear_matrix(), RATE),
                voices: [voice(CALLER_HZ), voice(AGENT_HZ), voice(SUPERVISOR_HZ)],
                heard: vec![Vec::new(); 3],
            }
        }

        /// Mixes one frame and returns the sources' frames of it.
        fn frame(&mut self) -> [Vec<i16>; 3] {
            let spoken = [0, 1, 2].map(|p| self.voices[p].next_frame());
            let inputs: Vec<Option<&[i16]>> =
                spoken.iter().map(|frame| Some(frame.as_slice())).collect();
            self.mixer.mix(&inputs, &mut self.heard).unwrap();
            spoken
        }

        /// The tones `role` hears in the last frame.
        fn tones_heard_by(&self, role: CallRole) -> Vec<f64> {
            let heard = &self.heard[role.index()];
            [CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ]
                .into_iter()
                .filter(|&hz| {
                    let share = energy_share(heard, hz, RATE);
                    assert!(
                        !(0.01..=0.3).contains(&share),
                        "ambiguous {share} at {hz} Hz"
                    );
                    share > 0.3
                })
                .collect()
        }
    }

    #[test]
    fn monitor_lets_only_the_supervisor_listen() {
        let mut call = ToneCall::new(SupervisorMode::Monitor);
        call.frame();
        assert_eq!(call.tones_heard_by(Caller), [AGENT_HZ]);
        assert_eq!(call.tones_heard_by(Agent), [CALLER_HZ]);
        assert_eq!(call.tones_heard_by(Supervisor), [CALLER_HZ, AGENT_HZ]);
    }

    #[test]
    fn whisper_lets_only_the_agent_hear_the_supervisor() {
        let mut call = ToneCall::new(SupervisorMode::Whisper);
        call.frame();
        assert_eq!(call.tones_heard_by(Caller), [AGENT_HZ]);
        assert_eq!(call.tones_heard_by(Agent), [CALLER_HZ, SUPERVISOR_HZ]);
        assert_eq!(call.tones_heard_by(Supervisor), [CALLER_HZ, AGENT_HZ]);
    }

    #[test]
    fn barge_lets_everyone_hear_everyone_else() {
        let mut call = ToneCall::new(SupervisorMode::Barge);
        call.frame();
        assert_eq!(call.tones_heard_by(Caller), [AGENT_HZ, SUPERVISOR_HZ]);
        assert_eq!(call.tones_heard_by(Agent), [CALLER_HZ, SUPERVISOR_HZ]);
        assert_eq!(call.tones_heard_by(Supervisor), [CALLER_HZ, AGENT_HZ]);
    }

    #[test]
    fn switching_modes_fades_the_supervisor_in_over_one_frame() {
        let mut call = ToneCall::new(SupervisorMode::Monitor);
        call.frame();
        call.mixer
            .set_matrix(SupervisorMode::Whisper.hear_matrix())
            .unwrap();
        let spoken = call.frame();
        // What the agent hears beyond the caller is the supervisor, scaled by the ramp.
        let supervisor_part: Vec<i32> = call.heard[Agent.index()]
            .iter()
            .zip(&spoken[Caller.index()])
            .map(|(&heard, &caller)| i32::from(heard) - i32::from(caller))
            .collect();
        let amplitude = 32_767.0 * 10f64.powf(-12.0 / 20.0);
        assert!(
            f64::from(supervisor_part[0].abs()) < amplitude / 100.0,
            "click: {}",
            supervisor_part[0]
        );
        let quarter = |q: usize| -> f64 {
            let part = &supervisor_part[q * 40..(q + 1) * 40];
            part.iter().map(|&s| f64::from(s).powi(2)).sum()
        };
        assert!(quarter(0) < quarter(1) && quarter(1) < quarter(2) && quarter(2) < quarter(3));
        let spoken = call.frame();
        assert_eq!(
            call.heard[Agent.index()],
            spoken[Caller.index()]
                .iter()
                .zip(&spoken[Supervisor.index()])
                .map(|(&a, &b)| a + b)
                .collect::<Vec<_>>()
        );
        assert_eq!(call.tones_heard_by(Agent), [CALLER_HZ, SUPERVISOR_HZ]);
    }

    #[test]
    fn leaving_barge_fades_the_supervisor_out_over_one_frame() {
        let mut call = ToneCall::new(SupervisorMode::Barge);
        call.frame();
        call.mixer
            .set_matrix(SupervisorMode::Monitor.hear_matrix())
            .unwrap();
        let spoken = call.frame();
        let last = call.heard[Caller.index()].len() - 1;
        let supervisor_tail =
            i32::from(call.heard[Caller.index()][last]) - i32::from(spoken[Agent.index()][last]);
        assert!(
            supervisor_tail.abs() <= 1,
            "supervisor still at {supervisor_tail}"
        );
        call.frame();
        assert_eq!(call.tones_heard_by(Caller), [AGENT_HZ]);
    }

    #[test]
    fn sums_saturate_at_full_scale() {
        let mut mixer = Mixer::new(HearMatrix::everyone(3), RATE);
        let loud = vec![i16::MAX; 160];
        let quiet_negative = vec![-20_000; 160];
        let mut heard = vec![Vec::new(); 3];
        mixer
            .mix(
                &[Some(&loud), Some(&loud), Some(&quiet_negative)],
                &mut heard,
            )
            .unwrap();
        assert!(
            heard[2].iter().all(|&s| s == i16::MAX),
            "two full-scale sources clip at +32767"
        );
        assert!(heard[0].iter().all(|&s| s == i16::MAX - 20_000));
        let low = vec![i16::MIN; 160];
        mixer
            .mix(&[Some(&low), Some(&low), None], &mut heard)
            .unwrap();
        assert!(heard[2].iter().all(|&s| s == i16::MIN));
        assert!(
            heard[0].iter().all(|&s| s == i16::MIN),
            "a silent source adds nothing"
        );
    }

    #[test]
    fn nobody_hears_itself() {
        let mut matrix = HearMatrix::everyone(4);
        assert!((0..4).all(|p| !matrix.hears(p, p)));
        assert_eq!(matrix.set(2, 2, true), Err(MixerError::HearsItself(2)));
        assert_eq!(
            matrix.set(0, 4, true),
            Err(MixerError::UnknownParticipant {
                participant: 4,
                participants: 4
            })
        );
        matrix.set(0, 3, false).unwrap();
        assert!(!matrix.hears(0, 3) && matrix.hears(3, 0));
        assert!(!matrix.hears(9, 0));
    }

    #[test]
    fn frames_of_the_wrong_shape_are_refused() {
        let mut mixer = Mixer::new(HearMatrix::everyone(2), RATE);
        let mut heard = vec![Vec::new(); 2];
        let short = vec![0; 80];
        assert_eq!(
            mixer.mix(&[Some(&short), None], &mut heard),
            Err(MixerError::FrameLength {
                participant: 0,
                expected: 160,
                got: 80
            })
        );
        assert_eq!(
            mixer.mix(&[None], &mut heard),
            Err(MixerError::ParticipantCount {
                expected: 2,
                got: 1
            })
        );
        assert_eq!(
            mixer.set_matrix(HearMatrix::everyone(3)),
            Err(MixerError::ParticipantCount {
                expected: 2,
                got: 3
            })
        );
    }

    proptest::proptest! {
        #[test]
        fn a_steady_matrix_gives_each_listener_the_saturated_sum_of_its_sources(
            hears in proptest::collection::vec(proptest::prelude::any::<bool>(), 16),
            samples in proptest::collection::vec(proptest::prelude::any::<i16>(), 4),
        ) {
            let mut matrix = HearMatrix::nobody(4);
            for listener in 0..4 {
                for source in (0..4).filter(|&source| source != listener) {
                    matrix.set(listener, source, hears[listener * 4 + source]).unwrap();
                }
            }
            let mut mixer = Mixer::new(matrix.clone(), RATE);
            let frames: Vec<Vec<i16>> = samples.iter().map(|&sample| vec![sample; 160]).collect();
            let inputs: Vec<Option<&[i16]>> = frames.iter().map(|frame| Some(frame.as_slice())).collect();
            let mut heard = vec![Vec::new(); 4];
            mixer.mix(&inputs, &mut heard).unwrap();
            for (listener, output) in heard.iter().enumerate() {
                let sum: i32 = (0..4)
                    .filter(|&source| matrix.hears(listener, source))
                    .map(|source| i32::from(samples[source]))
                    .sum();
                let expected = sum.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
                proptest::prop_assert!(output.iter().all(|&sample| sample == expected));
            }
        }
    }
}
