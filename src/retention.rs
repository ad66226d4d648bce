//! Recording retention (`recordings.retention_days`): [`sweep`] deletes the
//! recordings older than the retention, their files (through
//! `kefu-recordings`, which owns the dated layout and the cutoff rule) and
//! their rows, and [`start`] runs it from `kefu serve` at start and then every
//! [`SWEEP_INTERVAL`], logging one summary line per sweep and counting in
//! `kefu_recordings_deleted_total`. The sweep takes the current time as a
//! parameter, so a test can run it on any day.

use std::collections::BTreeSet;
use std::io::ErrorKind;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use kefu_recordings::{SweepError, TimestampOutOfRange, retention_cutoff};
use tokio::sync::watch;
use tokio::task::{JoinError, JoinHandle};
use tokio::time::MissedTickBehavior;

use crate::store::{Millis, Store, StoreError};

/// How often the sweep runs after the one at start.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// What one sweep deleted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepSummary {
    /// Recordings deleted: files removed, and rows whose file was already gone.
    pub recordings: u64,
    /// The bytes the removed files took.
    pub freed_bytes: u64,
    /// Files or directories that could not be removed (each logged); the next
    /// sweep retries them, and their rows stay until then.
    pub failures: usize,
}

/// Why a sweep could not run.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    /// The recordings directory could not be swept at all.
    #[error(transparent)]
    Files(#[from] SweepError),
    /// `now` cannot be put on the calendar.
    #[error("the sweep time cannot be dated")]
    Timestamp(#[from] TimestampOutOfRange),
    /// The rows could not be read or deleted.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The file sweep's thread failed.
    #[error("the file sweep did not finish: {0}")]
    Task(#[from] JoinError),
}

/// Deletes the recordings that started more than `keep_days` days before the
/// UTC day of `now`: first the files, then the rows of the files removed and
/// of old recordings whose file is already gone. A row whose file could not
/// be removed, or still exists outside the dated layout, is kept.
pub async fn sweep(
    store: &Store,
    data_dir: &Path,
    keep_days: NonZeroU32,
    now: SystemTime,
) -> Result<SweepSummary, RetentionError> {
    let keep_days = keep_days.get();
    let cutoff = millis(retention_cutoff(keep_days, now)?);
    let dir = data_dir.to_owned();
    let report =
        tokio::task::spawn_blocking(move || kefu_recordings::sweep(&dir, keep_days, now)).await??;
    let blocked: Vec<&Path> = report
        .failures
        .iter()
        .filter(|failure| failure.error.kind() != ErrorKind::NotFound)
        .map(|failure| failure.path.as_path())
        .collect();
    let removed: BTreeSet<String> = report
        .removed_files
        .iter()
        .map(|path| path.display().to_string())
        .collect();
    let mut already_gone = Vec::new();
    for path in store.recording_paths_started_before(cutoff).await? {
        if removed.contains(&path) || blocked.iter().any(|dir| Path::new(&path).starts_with(dir)) {
            continue;
        }
        match tokio::fs::symlink_metadata(data_dir.join(&path)).await {
            Err(error) if error.kind() == ErrorKind::NotFound => {
                tracing::info!(%path, "an expired recording's file was already gone; deleting its row");
                already_gone.push(path);
            }
            Ok(_) => {
                tracing::warn!(%path, "an expired recording's file is outside the dated layout; kept it and its row");
            }
            Err(error) => {
                tracing::warn!(%path, %error, "cannot tell whether an expired recording's file is there; kept its row");
            }
        }
    }
    let recordings = removed.len() + already_gone.len();
    let mut rows: Vec<String> = removed.into_iter().collect();
    rows.append(&mut already_gone);
    store.delete_recordings_at(&rows).await?;
    Ok(SweepSummary {
        recordings: u64::try_from(recordings).unwrap_or(u64::MAX),
        freed_bytes: report.freed_bytes,
        failures: report.failures.len(),
    })
}

/// Runs [`sweep`] now and then every [`SWEEP_INTERVAL`] until `stopping`
/// turns true.
pub fn start(
    store: Store,
    data_dir: PathBuf,
    keep_days: NonZeroU32,
    mut stopping: watch::Receiver<bool>,
) -> JoinHandle<()> {
    metrics::describe_counter!(
        "kefu_recordings_deleted_total",
        "Recordings deleted by the retention sweep"
    );
    metrics::counter!("kefu_recordings_deleted_total").increment(0);
    tracing::info!(
        keep_days,
        "recording retention on: sweeping now and then every 24 hours"
    );
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(SWEEP_INTERVAL);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {
                    sweep_and_report(&store, &data_dir, keep_days).await;
                }
                changed = stopping.changed() => {
                    if changed.is_err() || *stopping.borrow() {
                        return;
                    }
                }
            }
        }
    })
}

async fn sweep_and_report(store: &Store, data_dir: &Path, keep_days: NonZeroU32) {
    match sweep(store, data_dir, keep_days, SystemTime::now()).await {
        Ok(summary) => {
            metrics::counter!("kefu_recordings_deleted_total").increment(summary.recordings);
            let freed_mb = summary.freed_bytes as f64 / 1_000_000.0;
            tracing::info!(
                recordings = summary.recordings,
                freed_bytes = summary.freed_bytes,
                failures = summary.failures,
                keep_days,
                "recording retention: deleted {} recordings, freed {freed_mb:.1} MB",
                summary.recordings
            );
        }
        Err(error) => {
            tracing::error!(%error, "recording retention sweep failed; retrying at the next one");
        }
    }
}

fn millis(at: SystemTime) -> Millis {
    let ms = match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_millis()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    };
    Millis(ms)
}
