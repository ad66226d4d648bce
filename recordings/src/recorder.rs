//! The handle the media engine records a call through, off the media path.
//!
//! [`Recorder::start`] creates the file in the dated layout and hands it to a
//! writer thread; [`Recorder::feed`] passes frames through a bounded
//! `std::sync::mpsc::sync_channel` with `try_send`, so the media thread never
//! blocks and never touches the disk. When the queue is full the frame is
//! dropped and counted ([`Recorder::dropped_frames`], and
//! [`RecordingMeta::dropped_frames`] at the end); its time becomes silence in
//! the file because the next frame's timestamp lands after the gap.
//!
//! The writer thread wakes every [`TICK`], drains the queue, and advances the
//! [`StereoWavWriter`] to `Instant::now()` — the only clock read in the crate —
//! so both channels keep up with wall-clock time even when nothing arrives.
//! Because it sleeps rather than waits on the queue, feeding a frame only
//! enqueues it: no wake-up, no system call on the media thread, and one
//! batch of writes per tick per call.
//!
//! Pause, resume and finish are never dropped: they wait for room in the
//! queue (they come from call control, not from the media thread), and
//! finish waits up to a tick more for the writer. They carry their own
//! instant, so their effect does not depend on how long they waited, unless
//! they arrive after the audio they concern was written (more than
//! [`crate::LATE_ALLOWANCE`] late): a pause then starts, and a resume ends,
//! where the file is, and the metadata says so. If the `Recorder` is dropped
//! without [`Recorder::finish`], the thread finishes the file at its next
//! tick and the metadata is lost.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError, sync_channel};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime};

use crate::layout::{CallId, recording_path};
use crate::meta::RecordingMeta;
use crate::sample_rate::SampleRate;
use crate::timeline::Side;
use crate::utc::TimestampOutOfRange;
use crate::writer::{StereoWavWriter, WriterError};

/// How often the writer thread drains the queue and advances the file.
pub const TICK: Duration = Duration::from_millis(100);

/// Default queue length in frames: 2.5 s of 20 ms frames from both sides,
/// 25 ticks' worth.
pub const DEFAULT_QUEUE_FRAMES: usize = 250;

/// Where and how recordings are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecorderConfig {
    /// The data dir; files go under `DATA_DIR/recordings/`.
    pub data_dir: PathBuf,
    /// Sample rate of the recordings (8 kHz by default).
    pub sample_rate: SampleRate,
    /// How many frames (commands) the queue to the writer thread holds; past
    /// that, frames are dropped. It must hold at least a [`TICK`] of frames
    /// from both sides; 0 is taken as 1.
    pub queue_frames: usize,
}

impl RecorderConfig {
    /// Recordings under `data_dir`, at 8 kHz, with the default queue.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            sample_rate: SampleRate::default(),
            queue_frames: DEFAULT_QUEUE_FRAMES,
        }
    }
}

/// Why a recording could not be started or finished.
#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    /// The start time cannot be put in the dated layout.
    #[error("recording start time cannot be dated")]
    Timestamp(#[from] TimestampOutOfRange),
    /// The day directory could not be created.
    #[error("could not create recording directory {path:?}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The file could not be created or written.
    #[error(transparent)]
    Writer(#[from] WriterError),
    /// The writer thread could not be started.
    #[error("could not start the recording writer thread")]
    Spawn(#[source] std::io::Error),
    /// The writer thread is gone (it failed); [`Recorder::finish`] returns why.
    #[error("the recording writer has stopped")]
    WriterStopped,
    /// The writer thread panicked.
    #[error("the recording writer thread panicked")]
    WriterPanicked,
}

/// What became of a frame offered to [`Recorder::feed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fed {
    /// Queued for the writer.
    Queued,
    /// The queue was full: dropped and counted; its time will be silence.
    Overflow,
    /// The writer has stopped (it failed); [`Recorder::finish`] returns why.
    WriterStopped,
}

enum Command {
    Frame {
        side: Side,
        at: Instant,
        samples: Vec<i16>,
    },
    Pause(Instant),
    Resume(Instant),
    Finish(Instant),
}

/// A call being recorded.
#[derive(Debug)]
pub struct Recorder {
    commands: SyncSender<Command>,
    dropped_frames: Arc<AtomicU64>,
    writer_thread: JoinHandle<Result<RecordingMeta, RecorderError>>,
    path: PathBuf,
}

impl Recorder {
    /// Creates `DATA_DIR/recordings/YYYY/MM/DD/<call-id>.wav` (dated by
    /// `started_at`, the wall-clock time of `origin`) and starts its writer
    /// thread. `origin` is the media instant of the first sample.
    pub fn start(
        config: &RecorderConfig,
        call_id: CallId,
        started_at: SystemTime,
        origin: Instant,
    ) -> Result<Self, RecorderError> {
        let path = recording_path(&call_id, started_at)?;
        let file = config.data_dir.join(&path);
        if let Some(day_dir) = file.parent() {
            std::fs::create_dir_all(day_dir).map_err(|source| RecorderError::CreateDir {
                path: day_dir.to_path_buf(),
                source,
            })?;
        }
        let writer = StereoWavWriter::create(&file, config.sample_rate, origin)?;
        let (commands, inbox) = sync_channel(config.queue_frames.max(1));
        let dropped_frames = Arc::new(AtomicU64::new(0));
        let call_id_text = call_id.as_str().to_owned();
        let session = WriterSession {
            writer,
            inbox,
            dropped_frames: Arc::clone(&dropped_frames),
            call_id,
            path: path.clone(),
            started_at,
        };
        let writer_thread = thread::Builder::new()
            .name("kefu-recorder".into())
            .spawn(move || session.run())
            .map_err(RecorderError::Spawn)?;
        tracing::info!(call_id = call_id_text, path = %path.display(), "recording started");
        Ok(Self {
            commands,
            dropped_frames,
            writer_thread,
            path,
        })
    }

    /// The recording's path relative to the data dir.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Offers one frame of `side`'s mono audio, at the recording's sample
    /// rate, whose first sample was at `at`. Never blocks: a full queue drops
    /// the frame (see [`Fed`]).
    pub fn feed(&self, side: Side, at: Instant, samples: &[i16]) -> Fed {
        let frame = Command::Frame {
            side,
            at,
            samples: samples.to_vec(),
        };
        match self.commands.try_send(frame) {
            Ok(()) => Fed::Queued,
            Err(TrySendError::Full(_)) => {
                self.dropped_frames.fetch_add(1, Ordering::Relaxed);
                Fed::Overflow
            }
            Err(TrySendError::Disconnected(_)) => Fed::WriterStopped,
        }
    }

    /// Frames dropped so far because the queue was full.
    pub fn dropped_frames(&self) -> u64 {
        self.dropped_frames.load(Ordering::Relaxed)
    }

    /// Silences both channels from `at` (e.g. while a card number is read).
    pub fn pause(&self, at: Instant) -> Result<(), RecorderError> {
        self.send(Command::Pause(at))
    }

    /// Ends a pause at `at`.
    pub fn resume(&self, at: Instant) -> Result<(), RecorderError> {
        self.send(Command::Resume(at))
    }

    /// Ends the recording at `now` (or at the end of the last frame fed, if
    /// later), waits for the file to be complete and returns its metadata.
    pub fn finish(self, now: Instant) -> Result<RecordingMeta, RecorderError> {
        // A send error means the thread already ended; joining says why.
        let _ = self.commands.send(Command::Finish(now));
        self.writer_thread
            .join()
            .map_err(|_| RecorderError::WriterPanicked)?
    }

    fn send(&self, command: Command) -> Result<(), RecorderError> {
        self.commands
            .send(command)
            .map_err(|_| RecorderError::WriterStopped)
    }
}

/// The writer thread's state.
struct WriterSession {
    writer: StereoWavWriter,
    inbox: Receiver<Command>,
    dropped_frames: Arc<AtomicU64>,
    call_id: CallId,
    path: PathBuf,
    started_at: SystemTime,
}

impl WriterSession {
    fn run(self) -> Result<RecordingMeta, RecorderError> {
        let call_id = self.call_id.as_str().to_owned();
        let outcome = self.record();
        match &outcome {
            Ok(meta) => tracing::info!(
                call_id,
                duration_ms = meta.duration.as_millis(),
                dropped_frames = meta.dropped_frames,
                "recording finished"
            ),
            Err(error) => tracing::warn!(call_id, %error, "recording failed"),
        }
        outcome
    }

    fn record(mut self) -> Result<RecordingMeta, RecorderError> {
        let finished_at = 'recording: loop {
            thread::sleep(TICK);
            loop {
                match self.inbox.try_recv() {
                    Ok(Command::Frame { side, at, samples }) => {
                        self.writer.write_frame(side, at, &samples);
                    }
                    Ok(Command::Pause(at)) => self.writer.pause(at),
                    Ok(Command::Resume(at)) => self.writer.resume(at),
                    Ok(Command::Finish(now)) => break 'recording now,
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => break 'recording Instant::now(),
                }
            }
            self.writer.advance_to(Instant::now())?;
        };
        let sample_rate = self.writer.sample_rate();
        let finished = self.writer.finish(finished_at)?;
        Ok(RecordingMeta {
            call_id: self.call_id.as_str().to_owned(),
            path: self.path,
            started_at: self.started_at,
            ended_at: self.started_at + finished.duration,
            duration: finished.duration,
            sample_rate,
            bytes: finished.bytes,
            pauses: finished.pauses,
            dropped_frames: self.dropped_frames.load(Ordering::Relaxed),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::process::{Child, Command as Process, Stdio};
    use std::time::UNIX_EPOCH;

    use super::*;
    use crate::layout::open_for_read;
    use crate::meta::PauseInterval;
    use crate::test_support::{channel, dominant_frequency, tone};

    const FRAME: Duration = Duration::from_millis(20);
    const FRAME_SAMPLES: usize = 160;

    /// 2026-11-25T12:00:00Z
    fn nov_25() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_795_608_000)
    }

    fn read_samples(path: &Path) -> Vec<i16> {
        hound::WavReader::open(path)
            .unwrap()
            .samples()
            .map(Result::unwrap)
            .collect()
    }

    /// Feeds frame `index` of both sides' tones, 440 Hz caller, 1000 Hz agent.
    fn feed_tone_frame(recorder: &Recorder, origin: Instant, index: u32) -> [Fed; 2] {
        let at = origin + FRAME * index;
        let offset = FRAME_SAMPLES * index as usize;
        [
            recorder.feed(Side::Caller, at, &tone(440.0, 8_000, offset, FRAME_SAMPLES)),
            recorder.feed(Side::Agent, at, &tone(1000.0, 8_000, offset, FRAME_SAMPLES)),
        ]
    }

    #[test]
    fn each_leg_can_feed_from_its_own_media_thread() {
        let data = tempfile::tempdir().unwrap();
        let origin = Instant::now();
        let call = CallId::new("two-legs").unwrap();
        let recorder = Arc::new(
            Recorder::start(&RecorderConfig::new(data.path()), call, nov_25(), origin).unwrap(),
        );
        let legs: Vec<_> = [(Side::Caller, 440.0), (Side::Agent, 1000.0)]
            .into_iter()
            .map(|(side, freq)| {
                let recorder = Arc::clone(&recorder);
                thread::spawn(move || {
                    (0..50u32).all(|index| {
                        let offset = FRAME_SAMPLES * index as usize;
                        let samples = tone(freq, 8_000, offset, FRAME_SAMPLES);
                        recorder.feed(side, origin + FRAME * index, &samples) == Fed::Queued
                    })
                })
            })
            .collect();
        for leg in legs {
            assert!(leg.join().unwrap());
        }
        let recorder = Arc::into_inner(recorder).unwrap();
        let meta = recorder.finish(origin + Duration::from_secs(1)).unwrap();
        let samples = read_samples(&data.path().join(&meta.path));
        assert_eq!(channel(&samples, 0), tone(440.0, 8_000, 0, 8_000));
        assert_eq!(channel(&samples, 1), tone(1000.0, 8_000, 0, 8_000));
    }

    #[test]
    fn finishing_returns_the_metadata_of_a_file_in_the_dated_layout() {
        let data = tempfile::tempdir().unwrap();
        let origin = Instant::now();
        let call = CallId::new("a84b4c76e66710@pc33.example.com").unwrap();
        let recorder =
            Recorder::start(&RecorderConfig::new(data.path()), call, nov_25(), origin).unwrap();
        assert_eq!(
            recorder.path(),
            Path::new("recordings/2026/11/25/a84b4c76e66710@pc33%2Eexample%2Ecom.wav")
        );
        for index in 0..100 {
            assert_eq!(feed_tone_frame(&recorder, origin, index), [Fed::Queued; 2]);
        }
        recorder.pause(origin + Duration::from_millis(500)).unwrap();
        recorder
            .resume(origin + Duration::from_millis(750))
            .unwrap();
        let meta = recorder.finish(origin + Duration::from_secs(2)).unwrap();

        assert_eq!(meta.call_id, "a84b4c76e66710@pc33.example.com");
        assert_eq!(meta.started_at, nov_25());
        assert_eq!(meta.duration, Duration::from_secs(2));
        assert_eq!(meta.ended_at, nov_25() + Duration::from_secs(2));
        assert_eq!(meta.sample_rate, SampleRate::Narrowband);
        assert_eq!(meta.bytes, 44 + 2 * 8_000 * 4);
        assert_eq!(meta.dropped_frames, 0);
        assert_eq!(
            meta.pauses,
            [PauseInterval {
                start: Duration::from_millis(500),
                end: Duration::from_millis(750),
            }]
        );

        let mut bytes = Vec::new();
        open_for_read(data.path(), &meta.path)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        assert_eq!(bytes.len() as u64, meta.bytes);
        let samples = read_samples(&data.path().join(&meta.path));
        assert!(samples[2 * 4_000..2 * 6_000].iter().all(|&s| s == 0));
        assert_eq!(
            dominant_frequency(&channel(&samples[..2 * 4_000], 0), 8_000),
            440.0
        );
        assert_eq!(
            dominant_frequency(&channel(&samples[2 * 6_000..], 1), 8_000),
            1000.0
        );
    }

    #[test]
    fn wideband_recordings_are_written_at_their_rate() {
        let data = tempfile::tempdir().unwrap();
        let origin = Instant::now();
        let config = RecorderConfig {
            sample_rate: SampleRate::Wideband,
            ..RecorderConfig::new(data.path())
        };
        let recorder =
            Recorder::start(&config, CallId::new("wb").unwrap(), nov_25(), origin).unwrap();
        recorder.feed(Side::Agent, origin, &tone(1000.0, 16_000, 0, 16_000));
        let meta = recorder.finish(origin).unwrap();
        assert_eq!(meta.sample_rate, SampleRate::Wideband);
        assert_eq!(meta.duration, Duration::from_secs(1));
        let reader = hound::WavReader::open(data.path().join(&meta.path)).unwrap();
        assert_eq!(reader.spec().sample_rate, 16_000);
    }

    #[test]
    fn a_full_queue_drops_and_counts_frames_whose_time_becomes_silence() {
        let data = tempfile::tempdir().unwrap();
        let origin = Instant::now();
        let config = RecorderConfig {
            queue_frames: 10,
            ..RecorderConfig::new(data.path())
        };
        let recorder =
            Recorder::start(&config, CallId::new("busy").unwrap(), nov_25(), origin).unwrap();
        // 8 s of caller audio offered at once: far more than the writer
        // drains in one tick.
        let mut overflows = 0;
        for index in 0..400 {
            let at = origin + FRAME * index;
            if recorder.feed(Side::Caller, at, &[1_000; FRAME_SAMPLES]) == Fed::Overflow {
                overflows += 1;
            }
        }
        assert_eq!(recorder.dropped_frames(), overflows);
        let meta = recorder.finish(origin + Duration::from_secs(8)).unwrap();

        assert!(
            overflows >= 200,
            "only {overflows} of 400 frames overflowed"
        );
        assert_eq!(meta.dropped_frames, overflows);
        assert_eq!(meta.duration, Duration::from_secs(8));
        let left = channel(&read_samples(&data.path().join(&meta.path)), 0);
        assert_eq!(left.len(), 64_000);
        let voiced = left.iter().filter(|&&s| s == 1_000).count();
        let silent = left.iter().filter(|&&s| s == 0).count();
        assert_eq!(voiced, FRAME_SAMPLES * (400 - overflows as usize));
        assert_eq!(silent, FRAME_SAMPLES * overflows as usize);
    }

    #[test]
    fn a_call_is_never_recorded_over_an_existing_file() {
        let data = tempfile::tempdir().unwrap();
        let config = RecorderConfig::new(data.path());
        let call = CallId::new("twice").unwrap();
        let first = Recorder::start(&config, call.clone(), nov_25(), Instant::now()).unwrap();
        let second = Recorder::start(&config, call, nov_25(), Instant::now());
        assert!(matches!(
            second,
            Err(RecorderError::Writer(WriterError::AlreadyExists { .. }))
        ));
        assert_eq!(first.finish(Instant::now()).unwrap().dropped_frames, 0);
    }

    #[test]
    fn dropping_the_recorder_without_finishing_still_completes_the_file() {
        let data = tempfile::tempdir().unwrap();
        let origin = Instant::now();
        let recorder = Recorder::start(
            &RecorderConfig::new(data.path()),
            CallId::new("dropped").unwrap(),
            nov_25(),
            origin,
        )
        .unwrap();
        for index in 0..50 {
            feed_tone_frame(&recorder, origin, index);
        }
        let file = data.path().join(recorder.path());
        drop(recorder);

        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let frames = hound::WavReader::open(&file).unwrap().duration();
            if frames >= 8_000 {
                break;
            }
            assert!(Instant::now() < deadline, "only {frames} frames after drop");
            thread::sleep(Duration::from_millis(10));
        }
        let samples = read_samples(&file);
        assert_eq!(dominant_frequency(&channel(&samples, 0), 8_000), 440.0);
        assert_eq!(dominant_frequency(&channel(&samples, 1), 8_000), 1000.0);
    }

    /// Set in the child process of the write-error test: the data dir.
    const FILE_LIMIT_CHILD_ENV: &str = "KEFU_RECORDINGS_FILE_LIMIT_CHILD_DATA_DIR";
    const FILE_LIMIT_TEST: &str =
        "recorder::tests::a_write_error_stops_the_recorder_and_leaves_a_valid_file";
    /// The child's file size limit (`ulimit -f`, KiB): about 2 s of audio.
    const FILE_LIMIT_KIB: u64 = 64;

    /// Records until the file size limit makes writes fail, then checks that
    /// feeding reports it and finishing returns the write error.
    fn record_into_the_file_limit(data_dir: &Path) {
        let origin = Instant::now();
        let call = CallId::new("full").unwrap();
        let recorder =
            Recorder::start(&RecorderConfig::new(data_dir), call, nov_25(), origin).unwrap();
        let mut index = 0;
        while feed_tone_frame(&recorder, origin, index) != [Fed::WriterStopped; 2] {
            assert!(index < 500, "the writer never hit the file size limit");
            thread::sleep((origin + FRAME * (index + 1)).saturating_duration_since(Instant::now()));
            index += 1;
        }
        let outcome = recorder.finish(Instant::now());
        assert!(
            matches!(
                outcome,
                Err(RecorderError::Writer(WriterError::Write { .. }))
            ),
            "{outcome:?}"
        );
    }

    #[test]
    fn a_write_error_stops_the_recorder_and_leaves_a_valid_file() {
        if let Some(data_dir) = std::env::var_os(FILE_LIMIT_CHILD_ENV) {
            return record_into_the_file_limit(Path::new(&data_dir));
        }
        let data = tempfile::tempdir().unwrap();
        // A file size limit stands in for a full disk: writes past it fail
        // with EFBIG (SIGXFSZ is ignored so the process is not killed).
        let status = Process::new("bash")
            .arg("-c")
            .arg(format!(
                r#"trap '' XFSZ; ulimit -f {FILE_LIMIT_KIB}; exec "$0" "$@""#
            ))
            .arg(std::env::current_exe().unwrap())
            .args([
                FILE_LIMIT_TEST,
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(FILE_LIMIT_CHILD_ENV, data.path())
            .stdout(Stdio::null())
            .status()
            .expect("bash is needed to set a file size limit for the child");
        assert!(status.success(), "the child's checks failed: {status}");

        let file = data
            .path()
            .join(recording_path(&CallId::new("full").unwrap(), nov_25()).unwrap());
        let reader = hound::WavReader::open(&file).unwrap();
        let frames = u64::from(reader.duration());
        assert!(frames * 4 <= FILE_LIMIT_KIB * 1024);
        assert!(
            frames >= 8_000,
            "the last checkpoint before the error should hold over a second, got {frames} frames"
        );
        let samples: Vec<i16> = reader.into_samples().map(Result::unwrap).collect();
        assert_eq!(dominant_frequency(&channel(&samples, 0), 8_000), 440.0);
        assert_eq!(dominant_frequency(&channel(&samples, 1), 8_000), 1000.0);
    }

    /// Set in the child process of the crash test: the data dir to record into.
    const CRASH_CHILD_ENV: &str = "KEFU_RECORDINGS_CRASH_CHILD_DATA_DIR";
    const CRASH_TEST: &str = "recorder::tests::a_recording_survives_sigkill_of_the_writer_process";

    /// Records tones in real time for at most 30 s, until killed.
    fn record_until_killed(data_dir: &Path) {
        let origin = Instant::now();
        let call = CallId::new("crash").unwrap();
        let recorder =
            Recorder::start(&RecorderConfig::new(data_dir), call, nov_25(), origin).unwrap();
        for index in 0..1_500 {
            feed_tone_frame(&recorder, origin, index);
            thread::sleep((origin + FRAME * (index + 1)).saturating_duration_since(Instant::now()));
        }
        recorder.finish(Instant::now()).unwrap();
    }

    /// Kills the child if the test fails before it does.
    struct KillOnDrop(Child);

    impl Drop for KillOnDrop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    #[test]
    fn a_recording_survives_sigkill_of_the_writer_process() {
        if let Some(data_dir) = std::env::var_os(CRASH_CHILD_ENV) {
            return record_until_killed(Path::new(&data_dir));
        }
        let data = tempfile::tempdir().unwrap();
        let mut child = KillOnDrop(
            Process::new(std::env::current_exe().unwrap())
                .args([CRASH_TEST, "--exact", "--nocapture", "--test-threads=1"])
                .env(CRASH_CHILD_ENV, data.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let relative = recording_path(&CallId::new("crash").unwrap(), nov_25()).unwrap();
        let file = data.path().join(relative);
        let deadline = Instant::now() + Duration::from_secs(10);
        while !file.exists() {
            assert!(
                Instant::now() < deadline,
                "the child never created {file:?}"
            );
            thread::sleep(Duration::from_millis(5));
        }
        let created = Instant::now();

        thread::sleep(Duration::from_millis(2_500));
        child.0.kill().unwrap(); // SIGKILL on Unix
        let elapsed = created.elapsed();
        let status = child.0.wait().unwrap();
        assert!(!status.success(), "the child must die by the signal");

        let reader = hound::WavReader::open(&file).unwrap();
        let spec = reader.spec();
        assert_eq!(
            (spec.channels, spec.sample_rate, spec.bits_per_sample),
            (2, 8_000, 16)
        );
        let kept = SampleRate::Narrowband.duration_of(u64::from(reader.duration()));
        let samples: Vec<i16> = reader.into_samples().map(Result::unwrap).collect();
        assert_eq!(
            samples.len() as u64,
            2 * SampleRate::Narrowband.samples_in(kept)
        );
        assert!(
            kept + Duration::from_secs(1) >= elapsed,
            "only {kept:?} of {elapsed:?} survived"
        );
        assert_eq!(dominant_frequency(&channel(&samples, 0), 8_000), 440.0);
        assert_eq!(dominant_frequency(&channel(&samples, 1), 8_000), 1000.0);
        eprintln!("killed after {elapsed:?} of recording; the file holds {kept:?}");
    }
}
