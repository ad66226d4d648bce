//! `kefu-recordings`: call recordings as files.
//!
//! It owns the crash-safe stereo WAV writer (caller left, agent right, kept in
//! step with wall-clock time, valid after `kill -9`), the [`Recorder`] handle
//! the media engine feeds without ever blocking, pause/resume for PCI DSS, the
//! on-disk layout `DATA_DIR/recordings/YYYY/MM/DD/<call-id>.wav`, the
//! [`RecordingMeta`] the binary stores as a row, retention sweeps, and
//! [`open_for_read`], which refuses any path outside the recordings directory.
//!
//! It deliberately does not decode RTP, store rows, check who may listen to a
//! recording or serve HTTP: the media engine hands it PCM frames, the binary
//! stores the metadata and checks access. It depends on nothing else of
//! kefu's, and reads no clock except in the recorder's writer thread.
//!
//! ```
//! use std::time::{Duration, Instant, SystemTime};
//!
//! use kefu_recordings::{CallId, Fed, Recorder, RecorderConfig, Side, open_for_read};
//!
//! # let data = tempfile::tempdir()?;
//! let config = RecorderConfig::new(data.path());
//! let origin = Instant::now();
//! let call = CallId::new("a84b4c76e66710@pc33.example.com")?;
//! let recorder = Recorder::start(&config, call, SystemTime::now(), origin)?;
//!
//! // From the media engine, per 20 ms frame of each leg (8 kHz: 160 samples).
//! let frame = [0i16; 160];
//! assert_eq!(recorder.feed(Side::Caller, origin, &frame), Fed::Queued);
//! assert_eq!(recorder.feed(Side::Agent, origin, &frame), Fed::Queued);
//!
//! // From call control, while a card number is read.
//! recorder.pause(origin + Duration::from_millis(20))?;
//! recorder.resume(origin + Duration::from_millis(40))?;
//!
//! let meta = recorder.finish(origin + Duration::from_millis(60))?;
//! assert_eq!(meta.duration, Duration::from_millis(60));
//! assert_eq!(meta.pauses.len(), 1);
//! let file = open_for_read(data.path(), &meta.path)?;
//! assert_eq!(file.metadata()?.len(), meta.bytes);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod layout;
mod meta;
mod recorder;
mod retention;
mod sample_rate;
mod timeline;
mod utc;
mod writer;

#[cfg(test)]
mod test_support;

pub use layout::{
    AccessError, CallId, CallIdError, RECORDINGS_DIR, open_for_read, recording_path,
    recordings_root,
};
pub use meta::{PauseInterval, RecordingMeta};
pub use recorder::{DEFAULT_QUEUE_FRAMES, Fed, Recorder, RecorderConfig, RecorderError, TICK};
pub use retention::{SweepError, SweepFailure, SweepReport, retention_cutoff, sweep};
pub use sample_rate::{SampleRate, UnsupportedSampleRate};
pub use timeline::Side;
pub use utc::TimestampOutOfRange;
pub use writer::{
    ALIGNMENT_TOLERANCE, CHECKPOINT_INTERVAL, FinishedWav, LATE_ALLOWANCE, MAX_LEAD,
    StereoWavWriter, WriterError,
};
