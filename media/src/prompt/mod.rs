//! What the IVR plays: a [`Prompt`] is decoded mono PCM at the rate of the leg
//! that plays it, loaded from a WAV file ([`Prompt::from_wav`], which reads any
//! `Read` and so needs no file) and converted to that rate once.
//! [`PromptCache`] shares loaded prompts between calls, [`Tts`] renders text
//! with `espeak-ng` into cached WAV files, and [`Player`] turns a queue of
//! prompts, tones and music on hold into 20 ms frames.
//!
//! `Prompt` and `Player` are sans-IO. `PromptCache` and `Tts` read files and
//! run a program, which blocks: async callers use them from
//! `tokio::task::spawn_blocking`.

mod cache;
mod player;
mod tts;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use cache::PromptCache;
pub use player::{MusicOnHold, PlayId, Playable, Player, PlayerEvent};
pub use tts::{Tts, TtsError};

use crate::pcm::SampleRate;
use crate::resample::resample;

/// Sample rates accepted in prompt files: the wire rates and the usual
/// studio and `espeak-ng` (22 050 Hz) ones.
const ACCEPTED_RATES_HZ: [u32; 8] = [
    8_000, 11_025, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000,
];

/// A prompt file that cannot be played, and what to do about it. The message
/// starts with the file's path.
#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error(
        "{file}: not a usable WAV file ({reason}); convert with: sox in.wav -b 16 -c 1 out.wav"
    )]
    Malformed { file: String, reason: String },
    #[error("{file}: {bits}-bit samples are not supported; convert with: sox in.wav -b 16 out.wav")]
    SampleBits { file: String, bits: u16 },
    #[error(
        "{file}: floating-point samples are not supported; \
         convert with: sox in.wav -b 16 -e signed-integer out.wav"
    )]
    FloatSamples { file: String },
    #[error(
        "{file}: {channels} channels are not supported (mono or stereo only); \
         convert with: sox in.wav -c 1 out.wav"
    )]
    Channels { file: String, channels: u16 },
    #[error(
        "{file}: a sample rate of {hz} Hz is not supported (8000, 11025, 16000, 22050, 24000, \
         32000, 44100 or 48000 Hz); convert with: sox in.wav -r 8000 out.wav"
    )]
    Rate { file: String, hz: u32 },
    #[error("{file}: holds no audio")]
    Empty { file: String },
    #[error("{folder}: no .wav files to play as music on hold")]
    EmptyFolder { folder: String },
}

/// Decoded mono 16-bit PCM at one sample rate, ready to play.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    rate: SampleRate,
    samples: Arc<[i16]>,
}

impl Prompt {
    /// A prompt of `samples` recorded at `rate`.
    pub fn new(samples: Vec<i16>, rate: SampleRate) -> Self {
        Self {
            rate,
            samples: samples.into(),
        }
    }

    /// Reads a WAV file from `wav` — 16-bit integer samples, mono or stereo
    /// (averaged to mono), at one of the accepted rates — and converts it to
    /// `rate`. `file` names the source in error messages.
    pub fn from_wav(file: &str, wav: impl Read, rate: SampleRate) -> Result<Self, PromptError> {
        let malformed = |error: hound::Error| match error {
            // hound reports a short read as `Other` ("Failed to read enough bytes").
            hound::Error::IoError(source)
                if matches!(
                    source.kind(),
                    std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::Other
                ) =>
            {
                PromptError::Malformed {
                    file: file.to_owned(),
                    reason: "it ends early".to_owned(),
                }
            }
            hound::Error::IoError(source) => PromptError::Io {
                file: file.to_owned(),
                source,
            },
            other => PromptError::Malformed {
                file: file.to_owned(),
                reason: other.to_string(),
            },
        };
        let mut reader = hound::WavReader::new(wav).map_err(malformed)?;
        let spec = reader.spec();
        if spec.sample_format == hound::SampleFormat::Float {
            return Err(PromptError::FloatSamples {
                file: file.to_owned(),
            });
        }
        if spec.bits_per_sample != 16 {
            return Err(PromptError::SampleBits {
                file: file.to_owned(),
                bits: spec.bits_per_sample,
            });
        }
        if !(1..=2).contains(&spec.channels) {
            return Err(PromptError::Channels {
                file: file.to_owned(),
                channels: spec.channels,
            });
        }
        let source_rate = ACCEPTED_RATES_HZ
            .contains(&spec.sample_rate)
            .then(|| SampleRate::new(spec.sample_rate))
            .flatten()
            .ok_or_else(|| PromptError::Rate {
                file: file.to_owned(),
                hz: spec.sample_rate,
            })?;
        let interleaved = reader
            .samples::<i16>()
            .collect::<Result<Vec<i16>, _>>()
            .map_err(malformed)?;
        let mono: Vec<i16> = if spec.channels == 2 {
            interleaved
                .chunks_exact(2)
                .map(|pair| ((i32::from(pair[0]) + i32::from(pair[1])) / 2) as i16)
                .collect()
        } else {
            interleaved
        };
        if mono.is_empty() {
            return Err(PromptError::Empty {
                file: file.to_owned(),
            });
        }
        Ok(Self {
            rate,
            samples: resample(&mono, source_rate, rate).into(),
        })
    }

    /// Reads the WAV file at `path` (see [`Prompt::from_wav`]).
    pub fn from_wav_file(path: &Path, rate: SampleRate) -> Result<Self, PromptError> {
        let file = std::fs::File::open(path).map_err(|source| PromptError::Io {
            file: path.display().to_string(),
            source,
        })?;
        Self::from_wav(
            &path.display().to_string(),
            std::io::BufReader::new(file),
            rate,
        )
    }

    /// The same audio at `rate`.
    pub fn to_rate(&self, rate: SampleRate) -> Self {
        Self {
            rate,
            samples: resample(&self.samples, self.rate, rate).into(),
        }
    }

    pub fn rate(&self) -> SampleRate {
        self.rate
    }

    pub fn samples(&self) -> &[i16] {
        &self.samples
    }

    /// The samples as a shared clip, without copying them: what
    /// [`crate::endpoint::Endpoint::play`] takes (at 8 kHz).
    pub fn clip(&self) -> Arc<[i16]> {
        Arc::clone(&self.samples)
    }

    pub fn duration(&self) -> Duration {
        self.rate.duration_of(self.samples.len())
    }
}

/// The `.wav` files directly in `folder`, in name order.
fn wav_files_in(folder: &Path) -> Result<Vec<PathBuf>, PromptError> {
    let io_error = |source| PromptError::Io {
        file: folder.display().to_string(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(folder).map_err(io_error)? {
        let path = entry.map_err(io_error)?.path();
        let is_wav = path
            .extension()
            .is_some_and(|extension| extension.eq_ignore_ascii_case("wav"));
        if is_wav && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
pub(crate) mod test_wav {
    //! WAV files made in memory for the tests of this module.

    use crate::pcm::SampleRate;
    use crate::tone::{ToneGenerator, TonePlan};

    /// `seconds` of a `hz` tone at −12 dBFS, as a WAV file of `channels`
    /// channels (the same signal in each) and `bits`-bit integer samples
    /// (16 or more).
    pub fn tone_wav(hz: f64, rate_hz: u32, channels: u16, bits: u16, seconds: f64) -> Vec<u8> {
        let rate = SampleRate::new(rate_hz).expect("non-zero rate");
        let mut samples = vec![0; (seconds * f64::from(rate_hz)) as usize];
        ToneGenerator::new(TonePlan::steady(&[hz], -12.0), rate).fill(&mut samples);
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate_hz,
            bits_per_sample: bits,
            sample_format: hound::SampleFormat::Int,
        };
        let mut bytes = std::io::Cursor::new(Vec::new());
        let mut writer = hound::WavWriter::new(&mut bytes, spec).expect("writer");
        for sample in samples {
            for _ in 0..channels {
                writer
                    .write_sample(i32::from(sample) << (bits - 16))
                    .expect("sample");
            }
        }
        writer.finalize().expect("finalize");
        bytes.into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::test_wav::tone_wav;
    use super::*;
    use crate::goertzel::energy_share;

    const NARROW: SampleRate = SampleRate::NARROWBAND;

    #[test]
    fn wavs_at_every_accepted_rate_load_at_the_leg_rate_with_their_tone() {
        for hz in ACCEPTED_RATES_HZ {
            let wav = tone_wav(440.0, hz, 1, 16, 0.5);
            let prompt = Prompt::from_wav("t.wav", wav.as_slice(), NARROW).expect("loads");
            assert_eq!(prompt.rate(), NARROW);
            assert_eq!(prompt.samples().len(), 4_000, "from {hz} Hz");
            assert_eq!(prompt.duration(), Duration::from_millis(500));
            let share = energy_share(&prompt.samples()[500..3_500], 440.0, NARROW);
            assert!(share > 0.99, "440 Hz share {share} from {hz} Hz");
        }
    }

    #[test]
    fn stereo_is_averaged_to_mono() {
        let wav = tone_wav(1_000.0, 16_000, 2, 16, 0.25);
        let mono = tone_wav(1_000.0, 16_000, 1, 16, 0.25);
        let wide = SampleRate::WIDEBAND;
        let stereo = Prompt::from_wav("s.wav", wav.as_slice(), wide).expect("stereo loads");
        let reference = Prompt::from_wav("m.wav", mono.as_slice(), wide).expect("mono loads");
        assert_eq!(stereo, reference);
    }

    #[test]
    fn unsupported_files_are_refused_with_the_file_name_and_the_fix() {
        let cases: [(Vec<u8>, &str); 5] = [
            (
                tone_wav(440.0, 8_000, 1, 24, 0.1),
                "prompts/welcome.wav: 24-bit samples are not supported; convert with: sox in.wav -b 16 out.wav",
            ),
            (
                tone_wav(440.0, 8_000, 3, 16, 0.1),
                "prompts/welcome.wav: 3 channels are not supported (mono or stereo only); convert with: sox in.wav -c 1 out.wav",
            ),
            (
                tone_wav(440.0, 12_345, 1, 16, 0.1),
                "prompts/welcome.wav: a sample rate of 12345 Hz is not supported",
            ),
            (
                b"RIFF\x04\x00\x00\x00WAVE".to_vec(),
                "prompts/welcome.wav: not a usable WAV file (it ends early)",
            ),
            (
                b"ID3\x03\x00\x00\x00\x00\x00\x00 an mp3".to_vec(),
                "prompts/welcome.wav: not a usable WAV file (",
            ),
        ];
        for (wav, message) in cases {
            let error = Prompt::from_wav("prompts/welcome.wav", wav.as_slice(), NARROW)
                .expect_err("refused");
            assert!(
                error.to_string().starts_with(message),
                "{error} does not start with {message}"
            );
        }
    }

    #[test]
    fn a_wav_without_samples_is_refused() {
        let wav = tone_wav(440.0, 8_000, 1, 16, 0.0);
        let error = Prompt::from_wav("empty.wav", wav.as_slice(), NARROW).expect_err("refused");
        assert_eq!(error.to_string(), "empty.wav: holds no audio");
    }

    #[test]
    fn a_missing_file_names_its_path() {
        let error = Prompt::from_wav_file(Path::new("/nonexistent/welcome.wav"), NARROW)
            .expect_err("missing");
        assert!(
            error
                .to_string()
                .starts_with("/nonexistent/welcome.wav: cannot read:"),
            "{error}"
        );
    }

    #[test]
    fn a_prompt_converts_to_another_rate() {
        let wav = tone_wav(440.0, 8_000, 1, 16, 0.2);
        let prompt = Prompt::from_wav("t.wav", wav.as_slice(), NARROW).expect("loads");
        let full = prompt.to_rate(SampleRate::FULLBAND);
        assert_eq!(full.samples().len(), 9_600);
        assert_eq!(full.duration(), prompt.duration());
    }

    #[test]
    fn a_prompt_hands_out_its_samples_as_a_shared_clip() {
        let prompt = Prompt::new(vec![1, 2, 3], NARROW);
        let (first, second) = (prompt.clip(), prompt.clip());
        assert!(Arc::ptr_eq(&first, &second));
        assert_eq!(&*first, prompt.samples());
    }
}
