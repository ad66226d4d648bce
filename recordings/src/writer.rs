//! The crash-safe stereo WAV file of one call, on `hound`: 16-bit PCM, caller
//! left, agent right, at 8, 16 or 48 kHz.
//!
//! [`StereoWavWriter`] owns the file and a [`Timeline`]; it never reads a clock.
//! Frames come in with the instant of their first sample, and
//! [`StereoWavWriter::advance_to`] with the current instant writes everything
//! older than [`LATE_ALLOWANCE`] (silence where a side sent nothing), so both
//! channels follow wall-clock time. Frames arriving later than that for time
//! already written are dropped (see [`crate::timeline`] for every rule).
//!
//! Crash safety: `hound`'s `WavWriter::flush` writes the buffered samples,
//! then rewrites the RIFF and `data` chunk sizes in the header, then flushes
//! again, so the header never claims more than is on disk. The writer does
//! this every [`CHECKPOINT_INTERVAL`] of audio written, and once right after
//! creating the file, so a process killed at any moment (`kill -9`) leaves a
//! valid WAV holding everything up to the last checkpoint: all but at most
//! `LATE_ALLOWANCE + CHECKPOINT_INTERVAL` plus one driver tick (under a second)
//! of the call. Data reaches the OS, not the disk: surviving a power cut would
//! need `fsync`, which this writer does not do.
//!
//! A WAV `data` chunk holds at most 4 GiB (about 37 h of 8 kHz stereo, 6 h at
//! 48 kHz); audio past that is discarded with a warning and the file stays valid.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hound::{SampleFormat, WavSpec, WavWriter};

use crate::meta::PauseInterval;
use crate::sample_rate::SampleRate;
use crate::timeline::{Side, Timeline};

/// Audio is written this long after its time, so frames arriving a little
/// late still find their place.
pub const LATE_ALLOWANCE: Duration = Duration::from_millis(200);

/// The header is brought up to date at least this often, in audio time.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_millis(500);

/// A frame starting this close to the end of its side's audio is appended
/// without a gap; it absorbs timestamp jitter and is below one 20 ms frame,
/// so a lost frame always becomes silence.
pub const ALIGNMENT_TOLERANCE: Duration = Duration::from_millis(15);

/// Frames timestamped further ahead of the written audio are dropped.
pub const MAX_LEAD: Duration = Duration::from_secs(10);

const CHANNELS: u16 = 2;
const BYTES_PER_FRAME: u64 = 4;
/// The largest data chunk a RIFF header can describe, in whole stereo frames.
const MAX_DATA_FRAMES: u64 = (u32::MAX as u64 - 64) / BYTES_PER_FRAME;

/// Why a recording file could not be created or written.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    /// A file already exists at the path; recordings are never overwritten.
    #[error("a recording already exists at {path:?}")]
    AlreadyExists {
        /// The file that exists.
        path: PathBuf,
    },
    /// The file could not be created.
    #[error("could not create recording {path:?}")]
    Create {
        /// The file being created.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: io::Error,
    },
    /// Writing samples or the header failed (disk full, I/O error).
    #[error("could not write recording {path:?}")]
    Write {
        /// The file being written.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: hound::Error,
    },
}

/// What a finished file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedWav {
    /// Length of the audio in the file.
    pub duration: Duration,
    /// Paused stretches (silence in the file), in order.
    pub pauses: Vec<PauseInterval>,
    /// File size, header included.
    pub bytes: u64,
}

/// One call's stereo WAV file being written.
pub struct StereoWavWriter {
    wav: WavWriter<BufWriter<File>>,
    path: PathBuf,
    rate: SampleRate,
    origin: Instant,
    timeline: Timeline,
    frames_written: u64,
    frames_since_checkpoint: u64,
    max_frames: u64,
    size_limit_reached: bool,
}

impl std::fmt::Debug for StereoWavWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StereoWavWriter")
            .field("path", &self.path)
            .field("rate", &self.rate)
            .field("frames_written", &self.frames_written)
            .finish_non_exhaustive()
    }
}

impl StereoWavWriter {
    /// Creates the file at `path` (its directory must exist; an existing file
    /// is an error) with a valid empty WAV header. `origin` is the instant of
    /// the recording's first sample.
    pub fn create(path: &Path, rate: SampleRate, origin: Instant) -> Result<Self, WriterError> {
        Self::create_with_capacity(path, rate, origin, MAX_DATA_FRAMES)
    }

    fn create_with_capacity(
        path: &Path,
        rate: SampleRate,
        origin: Instant,
        max_frames: u64,
    ) -> Result<Self, WriterError> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|source| match source.kind() {
                io::ErrorKind::AlreadyExists => WriterError::AlreadyExists {
                    path: path.to_path_buf(),
                },
                _ => WriterError::Create {
                    path: path.to_path_buf(),
                    source,
                },
            })?;
        let spec = WavSpec {
            channels: CHANNELS,
            sample_rate: rate.hz(),
            bits_per_sample: 16,
            sample_format: SampleFormat::Int,
        };
        let write_error = |source| WriterError::Write {
            path: path.to_path_buf(),
            source,
        };
        let mut wav = WavWriter::new(BufWriter::new(file), spec).map_err(write_error)?;
        wav.flush().map_err(write_error)?;
        Ok(Self {
            wav,
            path: path.to_path_buf(),
            rate,
            origin,
            timeline: Timeline::new(
                rate.samples_in(ALIGNMENT_TOLERANCE),
                rate.samples_in(MAX_LEAD),
            ),
            frames_written: 0,
            frames_since_checkpoint: 0,
            max_frames,
            size_limit_reached: false,
        })
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sample rate of both channels.
    pub fn sample_rate(&self) -> SampleRate {
        self.rate
    }

    /// Takes one frame of `side`'s mono audio, at the recording's sample
    /// rate, whose first sample was at `at`.
    ///
    /// The frame goes where `at` says, measured against the end of that
    /// side's audio so far: within [`ALIGNMENT_TOLERANCE`] it is appended as
    /// is (jitter); further ahead, the gap becomes silence; further back, it
    /// is late or a duplicate and only the part after the audio already there
    /// is kept (nothing is ever rewritten, and time already written to the
    /// file is final). Frames more than [`MAX_LEAD`] ahead of the file, and
    /// samples from before the recording's origin, are dropped.
    pub fn write_frame(&mut self, side: Side, at: Instant, samples: &[i16]) {
        match at.checked_duration_since(self.origin) {
            Some(offset) => {
                let start = self.rate.samples_in(offset);
                self.timeline.place(side, start, samples);
            }
            None => {
                let early = self.rate.samples_in(self.origin.duration_since(at));
                let early = usize::try_from(early).unwrap_or(usize::MAX);
                if let Some(tail) = samples.get(early..) {
                    self.timeline.place(side, 0, tail);
                }
            }
        }
    }

    /// Silences both channels from `at` until [`Self::resume`].
    pub fn pause(&mut self, at: Instant) {
        let position = self.position(at);
        self.timeline.pause(position);
    }

    /// Ends a pause at `at`.
    pub fn resume(&mut self, at: Instant) {
        let position = self.position(at);
        self.timeline.resume(position);
    }

    /// Writes all audio up to `now - LATE_ALLOWANCE`, silence included, and
    /// checkpoints the header when due.
    pub fn advance_to(&mut self, now: Instant) -> Result<(), WriterError> {
        let target = self
            .position(now)
            .saturating_sub(self.rate.samples_in(LATE_ALLOWANCE));
        self.commit(target)
    }

    /// Writes the rest of the audio, up to `now` or the end of the last frame
    /// received if that is later, closes any open pause, and finalises the header.
    pub fn finish(mut self, now: Instant) -> Result<FinishedWav, WriterError> {
        let end = self.position(now).max(self.timeline.placed_end());
        self.commit(end)?;
        let pauses = self
            .timeline
            .close_pauses(self.frames_written)
            .into_iter()
            .map(|pause| PauseInterval {
                start: self.rate.duration_of(pause.start),
                end: self.rate.duration_of(pause.end),
            })
            .collect();
        let path = self.path.clone();
        self.wav.finalize().map_err(|source| WriterError::Write {
            path: path.clone(),
            source,
        })?;
        let bytes = std::fs::metadata(&path)
            .map_err(|source| WriterError::Write {
                path,
                source: hound::Error::IoError(source),
            })?
            .len();
        Ok(FinishedWav {
            duration: self.rate.duration_of(self.frames_written),
            pauses,
            bytes,
        })
    }

    fn position(&self, at: Instant) -> u64 {
        self.rate
            .samples_in(at.saturating_duration_since(self.origin))
    }

    fn commit(&mut self, target: u64) -> Result<(), WriterError> {
        if target <= self.timeline.committed() {
            return Ok(());
        }
        let stereo = self.timeline.commit(target);
        let room = self.max_frames - self.frames_written;
        let frames = (stereo.len() as u64 / 2).min(room);
        if frames < stereo.len() as u64 / 2 && !self.size_limit_reached {
            self.size_limit_reached = true;
            tracing::warn!(path = %self.path.display(), "recording reached the WAV size limit; later audio is discarded");
        }
        let write_error = |source| WriterError::Write {
            path: self.path.clone(),
            source,
        };
        for &sample in stereo.iter().take(usize::try_from(frames * 2).unwrap_or(0)) {
            self.wav.write_sample(sample).map_err(write_error)?;
        }
        self.frames_written += frames;
        self.frames_since_checkpoint += frames;
        if self.frames_since_checkpoint >= self.rate.samples_in(CHECKPOINT_INTERVAL) {
            self.wav.flush().map_err(write_error)?;
            self.frames_since_checkpoint = 0;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{channel, dominant_frequency, tone};

    const FRAME: Duration = Duration::from_millis(20);

    fn new_writer(dir: &Path, rate: SampleRate) -> (StereoWavWriter, Instant) {
        let origin = Instant::now();
        let writer = StereoWavWriter::create(&dir.join("call.wav"), rate, origin).unwrap();
        (writer, origin)
    }

    /// Feeds both sides 20 ms frames of their tone for `frames` frames from
    /// frame `first`, leaving out the frames `skip_caller` says.
    fn feed_tones(
        writer: &mut StereoWavWriter,
        origin: Instant,
        frames: std::ops::Range<u32>,
        skip_caller: impl Fn(u32) -> bool,
    ) {
        let rate = writer.sample_rate();
        let per_frame = rate.samples_in(FRAME) as usize;
        for index in frames {
            let at = origin + FRAME * index;
            let offset = per_frame * index as usize;
            if !skip_caller(index) {
                let caller = tone(440.0, rate.hz(), offset, per_frame);
                writer.write_frame(Side::Caller, at, &caller);
            }
            let agent = tone(1000.0, rate.hz(), offset, per_frame);
            writer.write_frame(Side::Agent, at, &agent);
            writer.advance_to(at + FRAME).unwrap();
        }
    }

    #[test]
    fn caller_tone_is_left_and_agent_tone_is_right_at_every_rate() {
        for rate in [
            SampleRate::Narrowband,
            SampleRate::Wideband,
            SampleRate::Fullband,
        ] {
            let dir = tempfile::tempdir().unwrap();
            let (mut writer, origin) = new_writer(dir.path(), rate);
            feed_tones(&mut writer, origin, 0..50, |_| false);
            let finished = writer.finish(origin + Duration::from_secs(1)).unwrap();
            assert_eq!(finished.duration, Duration::from_secs(1));

            let mut reader = hound::WavReader::open(dir.path().join("call.wav")).unwrap();
            let spec = reader.spec();
            assert_eq!(
                (spec.channels, spec.sample_rate, spec.bits_per_sample),
                (2, rate.hz(), 16)
            );
            assert_eq!(finished.bytes, 44 + u64::from(rate.hz()) * 4);
            let samples: Vec<i16> = reader.samples().map(Result::unwrap).collect();
            assert_eq!(dominant_frequency(&channel(&samples, 0), rate.hz()), 440.0);
            assert_eq!(dominant_frequency(&channel(&samples, 1), rate.hz()), 1000.0);
        }
    }

    #[test]
    fn a_silent_gap_on_one_side_keeps_both_channels_aligned() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, origin) = new_writer(dir.path(), SampleRate::Narrowband);
        // The caller is silent (sends nothing) from 1.0 s to 2.0 s.
        feed_tones(&mut writer, origin, 0..150, |frame| {
            (50..100).contains(&frame)
        });
        let finished = writer.finish(origin + Duration::from_secs(3)).unwrap();
        assert_eq!(finished.duration, Duration::from_secs(3));

        let samples: Vec<i16> = hound::WavReader::open(dir.path().join("call.wav"))
            .unwrap()
            .samples()
            .map(Result::unwrap)
            .collect();
        let left = channel(&samples, 0);
        let right = channel(&samples, 1);
        assert_eq!(left.len(), 24_000);
        assert!(left[8_000..16_000].iter().all(|&s| s == 0));
        assert_eq!(dominant_frequency(&left[..8_000], 8_000), 440.0);
        // Sample-exact: the tone after the gap resumes where wall clock says.
        assert_eq!(left[16_000..16_160], tone(440.0, 8_000, 16_000, 160)[..]);
        assert_eq!(dominant_frequency(&left[16_000..], 8_000), 440.0);
        assert_eq!(dominant_frequency(&right[8_000..16_000], 8_000), 1000.0);
        assert_eq!(right, tone(1000.0, 8_000, 0, 24_000));
    }

    #[test]
    fn a_pause_writes_silence_on_both_channels_and_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, origin) = new_writer(dir.path(), SampleRate::Narrowband);
        writer.pause(origin + Duration::from_millis(500));
        writer.resume(origin + Duration::from_millis(1500));
        feed_tones(&mut writer, origin, 0..100, |_| false);
        let finished = writer.finish(origin + Duration::from_secs(2)).unwrap();
        assert_eq!(
            finished.pauses,
            vec![PauseInterval {
                start: Duration::from_millis(500),
                end: Duration::from_millis(1500),
            }]
        );
        let samples: Vec<i16> = hound::WavReader::open(dir.path().join("call.wav"))
            .unwrap()
            .samples()
            .map(Result::unwrap)
            .collect();
        assert!(samples[2 * 4_000..2 * 12_000].iter().all(|&s| s == 0));
        assert_eq!(
            dominant_frequency(&channel(&samples[..2 * 4_000], 1), 8_000),
            1000.0
        );
        assert_eq!(
            dominant_frequency(&channel(&samples[2 * 12_000..], 0), 8_000),
            440.0
        );
    }

    #[test]
    fn the_header_is_checkpointed_while_writing() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, origin) = new_writer(dir.path(), SampleRate::Narrowband);
        let path = dir.path().join("call.wav");
        assert_eq!(hound::WavReader::open(&path).unwrap().duration(), 0);

        feed_tones(&mut writer, origin, 0..100, |_| false);
        // 2 s fed, 1.8 s written; the header must be at most one interval behind.
        let on_disk = hound::WavReader::open(&path).unwrap().duration();
        let written = SampleRate::Narrowband.samples_in(Duration::from_millis(1800));
        let checkpoint = SampleRate::Narrowband.samples_in(CHECKPOINT_INTERVAL);
        assert!(
            u64::from(on_disk) + checkpoint >= written,
            "header says {on_disk} frames, {written} written"
        );
        assert!(u64::from(on_disk) <= written);
    }

    #[test]
    fn samples_from_before_the_origin_are_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let (mut writer, origin) = new_writer(dir.path(), SampleRate::Narrowband);
        let early = origin.checked_sub(Duration::from_millis(10)).unwrap();
        let frame: Vec<i16> = (1..=160).collect();
        writer.write_frame(Side::Caller, early, &frame);
        writer.write_frame(Side::Agent, early - Duration::from_secs(1), &frame);
        let finished = writer.finish(origin).unwrap();
        assert_eq!(finished.duration, Duration::from_millis(10));
        let samples: Vec<i16> = hound::WavReader::open(dir.path().join("call.wav"))
            .unwrap()
            .samples()
            .map(Result::unwrap)
            .collect();
        assert_eq!(channel(&samples, 0), (81..=160).collect::<Vec<i16>>());
        assert_eq!(channel(&samples, 1), vec![0; 80]);
    }

    #[test]
    fn an_existing_recording_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("call.wav"), b"keep").unwrap();
        let outcome = StereoWavWriter::create(
            &dir.path().join("call.wav"),
            SampleRate::Narrowband,
            Instant::now(),
        );
        assert!(matches!(outcome, Err(WriterError::AlreadyExists { .. })));
        assert_eq!(std::fs::read(dir.path().join("call.wav")).unwrap(), b"keep");
    }

    #[test]
    fn audio_beyond_the_wav_size_limit_is_discarded_and_the_file_stays_valid() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("call.wav");
        let origin = Instant::now();
        let mut writer =
            StereoWavWriter::create_with_capacity(&path, SampleRate::Narrowband, origin, 800)
                .unwrap();
        writer.write_frame(Side::Caller, origin, &[7; 1_600]);
        let finished = writer.finish(origin + Duration::from_millis(200)).unwrap();
        assert_eq!(finished.duration, Duration::from_millis(100));
        let reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.duration(), 800);
    }
}
