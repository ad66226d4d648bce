//! Retention: deleting recordings older than a number of days, by the date in
//! the layout (`recordings/YYYY/MM/DD/`), given the current time.
//!
//! A recording dated day D is removed when D is before `today - keep_days`
//! (UTC): with 30 days kept, on 25 November everything up to 25 October goes
//! and 26 October stays. Only regular `.wav` files inside well-formed day
//! directories are removed; then day directories that became empty, and
//! month and year directories that are empty and wholly before the cutoff
//! (so a directory a recording is about to be written into is never taken
//! away). Symlinks are never followed nor removed, and anything that does not
//! fit the layout is left alone. An I/O error on one entry does not stop the
//! sweep: it is reported and the sweep goes on.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use time::{Date, Month};

use crate::layout::{RECORDINGS_DIR, recordings_root};
use crate::utc::{TimestampOutOfRange, from_utc, to_utc};

/// What a sweep removed, as paths relative to the data dir (the form of
/// [`crate::RecordingMeta::path`], so the matching rows can be deleted).
#[derive(Debug, Default)]
pub struct SweepReport {
    /// Recordings deleted.
    pub removed_files: Vec<PathBuf>,
    /// The bytes those recordings took.
    pub freed_bytes: u64,
    /// Day, month and year directories deleted because they became empty.
    pub removed_dirs: Vec<PathBuf>,
    /// Entries that could not be read or removed; the next sweep retries them.
    pub failures: Vec<SweepFailure>,
}

/// An entry the sweep could not read or remove.
#[derive(Debug)]
pub struct SweepFailure {
    /// The entry, relative to the data dir.
    pub path: PathBuf,
    /// What went wrong.
    pub error: io::Error,
}

/// Why a sweep could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// `now` cannot be put on the calendar.
    #[error("sweep time cannot be dated")]
    Timestamp(#[from] TimestampOutOfRange),
    /// The recordings directory exists but cannot be read.
    #[error("could not read the recordings directory {path:?}")]
    Root {
        /// The recordings directory.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: io::Error,
    },
}

/// The first day kept: `keep_days` days before the UTC day of `now`.
fn cutoff_date(keep_days: u32, now: SystemTime) -> Result<Date, TimestampOutOfRange> {
    Ok(to_utc(now)?
        .date()
        .checked_sub(time::Duration::days(i64::from(keep_days)))
        .unwrap_or(Date::MIN))
}

/// The start (UTC midnight) of the first day [`sweep`] keeps: a recording
/// that started before this instant is dated before the cutoff and goes, so
/// its metadata row can go with it.
pub fn retention_cutoff(
    keep_days: u32,
    now: SystemTime,
) -> Result<SystemTime, TimestampOutOfRange> {
    from_utc(cutoff_date(keep_days, now)?.midnight().assume_utc())
}

/// Deletes the recordings under `DATA_DIR/recordings` dated more than
/// `keep_days` days before the UTC day of `now`, and the directories that
/// leaves empty. A missing recordings directory is an empty sweep.
pub fn sweep(data_dir: &Path, keep_days: u32, now: SystemTime) -> Result<SweepReport, SweepError> {
    let cutoff = cutoff_date(keep_days, now)?;
    let root = recordings_root(data_dir);
    let years = match fs::read_dir(&root) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(SweepReport::default()),
        Err(source) => return Err(SweepError::Root { path: root, source }),
    };
    let mut sweeper = Sweeper {
        data_dir,
        cutoff,
        report: SweepReport::default(),
    };
    let relative_root = PathBuf::from(RECORDINGS_DIR);
    for (year_dir, year) in sweeper.subdirectories(&relative_root, years, 4) {
        sweeper.sweep_year(&year_dir, year);
    }
    Ok(sweeper.report)
}

struct Sweeper<'a> {
    data_dir: &'a Path,
    cutoff: Date,
    report: SweepReport,
}

impl Sweeper<'_> {
    fn sweep_year(&mut self, year_dir: &Path, year: u16) {
        let year = i32::from(year);
        for (month_dir, month) in self.list_subdirectories(year_dir, 2) {
            let Some(month) = u8::try_from(month)
                .ok()
                .and_then(|m| Month::try_from(m).ok())
            else {
                continue;
            };
            self.sweep_month(&month_dir, year, month);
        }
        let next_year = Date::from_calendar_date(year + 1, Month::January, 1);
        if next_year.is_ok_and(|next| next <= self.cutoff) {
            self.remove_dir_if_empty(year_dir);
        }
    }

    fn sweep_month(&mut self, month_dir: &Path, year: i32, month: Month) {
        for (day_dir, day) in self.list_subdirectories(month_dir, 2) {
            let date = u8::try_from(day)
                .ok()
                .and_then(|day| Date::from_calendar_date(year, month, day).ok());
            if date.is_some_and(|date| date < self.cutoff) {
                self.sweep_day(&day_dir);
            }
        }
        let next_month = match month {
            Month::December => Date::from_calendar_date(year + 1, Month::January, 1),
            _ => Date::from_calendar_date(year, month.next(), 1),
        };
        if next_month.is_ok_and(|next| next <= self.cutoff) {
            self.remove_dir_if_empty(month_dir);
        }
    }

    fn sweep_day(&mut self, day_dir: &Path) {
        let entries = match fs::read_dir(self.data_dir.join(day_dir)) {
            Ok(entries) => entries,
            Err(error) => return self.fail(day_dir, error),
        };
        let mut recordings = Vec::new();
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => return self.fail(day_dir, error),
            };
            let path = day_dir.join(entry.file_name());
            let is_recording = entry.file_type().is_ok_and(|kind| kind.is_file())
                && path.extension().is_some_and(|ext| ext == "wav");
            if is_recording {
                let bytes = entry.metadata().map_or(0, |meta| meta.len());
                recordings.push((path, bytes));
            }
        }
        recordings.sort();
        for (path, bytes) in recordings {
            match fs::remove_file(self.data_dir.join(&path)) {
                Ok(()) => {
                    self.report.removed_files.push(path);
                    self.report.freed_bytes += bytes;
                }
                Err(error) => self.fail(&path, error),
            }
        }
        self.remove_dir_if_empty(day_dir);
    }

    fn list_subdirectories(&mut self, dir: &Path, digits: usize) -> Vec<(PathBuf, u16)> {
        match fs::read_dir(self.data_dir.join(dir)) {
            Ok(entries) => self.subdirectories(dir, entries, digits),
            Err(error) => {
                self.fail(dir, error);
                Vec::new()
            }
        }
    }

    /// The real (not symlinked) subdirectories of `dir` named by exactly
    /// `digits` decimal digits, with their number.
    fn subdirectories(
        &mut self,
        dir: &Path,
        entries: fs::ReadDir,
        digits: usize,
    ) -> Vec<(PathBuf, u16)> {
        let mut found = Vec::new();
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(error) => {
                    self.fail(dir, error);
                    break;
                }
            };
            let name = entry.file_name();
            let number = name
                .to_str()
                .filter(|name| name.len() == digits && name.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|name| name.parse().ok());
            let is_real_dir = entry.file_type().is_ok_and(|kind| kind.is_dir());
            if let (Some(number), true) = (number, is_real_dir) {
                found.push((dir.join(name), number));
            }
        }
        found.sort();
        found
    }

    fn remove_dir_if_empty(&mut self, dir: &Path) {
        match fs::remove_dir(self.data_dir.join(dir)) {
            Ok(()) => self.report.removed_dirs.push(dir.to_path_buf()),
            Err(error) if error.kind() == io::ErrorKind::DirectoryNotEmpty => {}
            Err(error) => self.fail(dir, error),
        }
    }

    fn fail(&mut self, path: &Path, error: io::Error) {
        tracing::warn!(path = %path.display(), %error, "recording retention sweep skipped an entry");
        self.report.failures.push(SweepFailure {
            path: path.to_path_buf(),
            error,
        });
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    /// 2026-11-25T12:00:00Z
    fn nov_25() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_795_608_000)
    }

    fn put(data: &Path, relative: &str) {
        let path = data.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, b"RIFF").unwrap();
    }

    fn paths(list: &[PathBuf]) -> Vec<&str> {
        list.iter().map(|p| p.to_str().unwrap()).collect()
    }

    #[test]
    fn removes_recordings_older_than_the_kept_days_and_their_empty_directories() {
        let data = tempfile::tempdir().unwrap();
        put(data.path(), "recordings/2025/12/31/old.wav");
        put(data.path(), "recordings/2026/10/25/a.wav");
        put(data.path(), "recordings/2026/10/25/b.wav");
        put(data.path(), "recordings/2026/10/26/kept.wav");
        put(data.path(), "recordings/2026/11/25/today.wav");

        let report = sweep(data.path(), 30, nov_25()).unwrap();

        assert_eq!(
            paths(&report.removed_files),
            [
                "recordings/2025/12/31/old.wav",
                "recordings/2026/10/25/a.wav",
                "recordings/2026/10/25/b.wav",
            ]
        );
        assert_eq!(
            paths(&report.removed_dirs),
            [
                "recordings/2025/12/31",
                "recordings/2025/12",
                "recordings/2025",
                "recordings/2026/10/25",
            ]
        );
        assert_eq!(report.freed_bytes, 3 * 4);
        assert!(report.failures.is_empty());
        assert!(data.path().join("recordings/2026/10/26/kept.wav").exists());
        assert!(data.path().join("recordings/2026/11/25/today.wav").exists());
        assert!(!data.path().join("recordings/2025").exists());
    }

    #[test]
    fn a_month_still_inside_the_kept_period_is_not_removed_even_if_empty() {
        let data = tempfile::tempdir().unwrap();
        put(data.path(), "recordings/2026/10/01/a.wav");
        fs::create_dir_all(data.path().join("recordings/2026/11")).unwrap();
        let report = sweep(data.path(), 30, nov_25()).unwrap();
        assert_eq!(
            paths(&report.removed_files),
            ["recordings/2026/10/01/a.wav"]
        );
        assert_eq!(paths(&report.removed_dirs), ["recordings/2026/10/01"]);
        assert!(data.path().join("recordings/2026/10").is_dir());
        assert!(data.path().join("recordings/2026/11").is_dir());
    }

    #[test]
    fn never_follows_or_removes_symlinks() {
        let data = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        put(outside.path(), "2020/01/01/victim.wav");
        put(outside.path(), "precious.wav");
        put(data.path(), "recordings/2020/02/01/old.wav");
        let year = data.path().join("recordings/2019");
        std::os::unix::fs::symlink(outside.path().join("2020"), &year).unwrap();
        let day = data.path().join("recordings/2020/02/01");
        std::os::unix::fs::symlink(outside.path().join("precious.wav"), day.join("link.wav"))
            .unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("2020/01/01"),
            data.path().join("recordings/2020/02/02"),
        )
        .unwrap();

        let report = sweep(data.path(), 30, nov_25()).unwrap();

        assert_eq!(
            paths(&report.removed_files),
            ["recordings/2020/02/01/old.wav"]
        );
        assert!(outside.path().join("2020/01/01/victim.wav").exists());
        assert!(outside.path().join("precious.wav").exists());
        assert!(day.join("link.wav").is_symlink());
        assert!(year.is_symlink());
    }

    #[test]
    fn leaves_anything_outside_the_layout_alone() {
        let data = tempfile::tempdir().unwrap();
        put(data.path(), "recordings/2020/01/01/notes.txt");
        put(data.path(), "recordings/2020/01/1/short.wav");
        put(data.path(), "recordings/2020/13/01/bad-month.wav");
        put(data.path(), "recordings/2020/02/30/bad-day.wav");
        put(data.path(), "recordings/misc/01/01/x.wav");
        put(data.path(), "kefu.sqlite");

        let report = sweep(data.path(), 0, nov_25()).unwrap();

        assert!(report.removed_files.is_empty());
        assert!(report.removed_dirs.is_empty());
        for kept in [
            "recordings/2020/01/01/notes.txt",
            "recordings/2020/01/1/short.wav",
            "recordings/2020/13/01/bad-month.wav",
            "recordings/2020/02/30/bad-day.wav",
            "recordings/misc/01/01/x.wav",
            "kefu.sqlite",
        ] {
            assert!(data.path().join(kept).exists(), "{kept} was removed");
        }
    }

    #[test]
    fn a_data_dir_without_recordings_is_an_empty_sweep() {
        let data = tempfile::tempdir().unwrap();
        let report = sweep(data.path(), 30, nov_25()).unwrap();
        assert!(report.removed_files.is_empty() && report.removed_dirs.is_empty());
    }

    #[test]
    fn the_cutoff_is_utc_midnight_of_the_first_day_kept() {
        // 2026-10-26T00:00:00Z: 30 days before 25 November, the first day kept.
        let oct_26 = UNIX_EPOCH + Duration::from_secs(1_792_972_800);
        assert_eq!(retention_cutoff(30, nov_25()).unwrap(), oct_26);
        // 2026-11-25T00:00:00Z
        let midnight = nov_25() - Duration::from_secs(12 * 3600);
        assert_eq!(retention_cutoff(0, nov_25()).unwrap(), midnight);
    }

    #[test]
    fn keeping_zero_days_keeps_only_today() {
        let data = tempfile::tempdir().unwrap();
        put(data.path(), "recordings/2026/11/24/yesterday.wav");
        put(data.path(), "recordings/2026/11/25/today.wav");
        let report = sweep(data.path(), 0, nov_25()).unwrap();
        assert_eq!(
            paths(&report.removed_files),
            ["recordings/2026/11/24/yesterday.wav"]
        );
    }
}
