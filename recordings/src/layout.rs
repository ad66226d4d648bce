//! Where recordings live: `DATA_DIR/recordings/YYYY/MM/DD/<call-id>.wav`, the
//! date being the UTC day the recording started.
//!
//! A SIP Call-ID is untrusted network input, so it becomes a file name only
//! through [`CallId`], which percent-encodes every byte outside
//! `[A-Za-z0-9_@-]`: the result has no `/`, no `.`, no NUL and no leading dot,
//! so it can never name another directory, and two different Call-IDs never
//! share a file. [`open_for_read`] is the one way back in from a path that
//! came from outside (the HTTP layer checks who may listen; this checks where).

use std::fs::File;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use crate::utc::{TimestampOutOfRange, to_utc};

/// The directory under the data dir that holds every recording.
pub const RECORDINGS_DIR: &str = "recordings";

/// File names are kept well under the 255-byte limit of common file systems.
const MAX_FILE_STEM_BYTES: usize = 200;

/// A call's identifier, with the file-name-safe form it is recorded under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallId {
    raw: String,
    file_stem: String,
}

/// A Call-ID that cannot name a recording.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallIdError {
    /// The Call-ID is empty.
    #[error("call id is empty")]
    Empty,
    /// Encoded for the file system, the Call-ID would make too long a file name.
    #[error(
        "call id is too long to name a file: {encoded_len} bytes once encoded, at most {MAX_FILE_STEM_BYTES}"
    )]
    TooLong {
        /// Length of the percent-encoded form.
        encoded_len: usize,
    },
}

impl CallId {
    /// Accepts any non-empty Call-ID whose encoded form fits in a file name.
    pub fn new(raw: impl Into<String>) -> Result<Self, CallIdError> {
        let raw = raw.into();
        if raw.is_empty() {
            return Err(CallIdError::Empty);
        }
        let file_stem = encode_file_stem(&raw);
        if file_stem.len() > MAX_FILE_STEM_BYTES {
            return Err(CallIdError::TooLong {
                encoded_len: file_stem.len(),
            });
        }
        Ok(Self { raw, file_stem })
    }

    /// The Call-ID as it was given.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The file name the recording gets, without the `.wav` extension.
    pub fn file_stem(&self) -> &str {
        &self.file_stem
    }
}

fn encode_file_stem(raw: &str) -> String {
    let mut stem = String::with_capacity(raw.len());
    for byte in raw.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'@' | b'-') {
            stem.push(char::from(byte));
        } else {
            stem.push_str(&format!("%{byte:02X}"));
        }
    }
    stem
}

/// `DATA_DIR/recordings`.
pub fn recordings_root(data_dir: &Path) -> PathBuf {
    data_dir.join(RECORDINGS_DIR)
}

/// The path of a call's recording relative to the data dir:
/// `recordings/YYYY/MM/DD/<call-id>.wav`, dated by the UTC day of `started_at`.
pub fn recording_path(
    call_id: &CallId,
    started_at: SystemTime,
) -> Result<PathBuf, TimestampOutOfRange> {
    let date = to_utc(started_at)?.date();
    Ok(PathBuf::from(RECORDINGS_DIR)
        .join(format!("{:04}", date.year()))
        .join(format!("{:02}", u8::from(date.month())))
        .join(format!("{:02}", date.day()))
        .join(format!("{}.wav", call_id.file_stem())))
}

/// Why a recording could not be opened for reading.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The path is not a file inside `DATA_DIR/recordings` (absolute, `..`,
    /// NUL, a directory, or a symlink leading out).
    #[error("refused to open {path:?}: not a recording inside the recordings directory")]
    Refused {
        /// The path as it was asked for.
        path: PathBuf,
    },
    /// No such recording.
    #[error("no recording at {path:?}")]
    NotFound {
        /// The path as it was asked for.
        path: PathBuf,
    },
    /// The file system failed otherwise.
    #[error("could not open recording {path:?}")]
    Io {
        /// The path as it was asked for.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: io::Error,
    },
}

/// Opens a recording for reading, given its path relative to the data dir
/// (as stored in [`crate::RecordingMeta::path`]), refusing anything that does
/// not resolve to a regular file inside `DATA_DIR/recordings`.
///
/// Lexical checks come first (relative, only plain components, starting with
/// `recordings/`, no NUL); then both paths are canonicalised so that a symlink
/// leading out of the recordings directory is refused too. The canonical path
/// is what gets opened.
pub fn open_for_read(data_dir: &Path, relative_path: &Path) -> Result<File, AccessError> {
    let refused = || AccessError::Refused {
        path: relative_path.to_path_buf(),
    };
    let io_error = |source: io::Error| {
        if source.kind() == io::ErrorKind::NotFound {
            AccessError::NotFound {
                path: relative_path.to_path_buf(),
            }
        } else {
            AccessError::Io {
                path: relative_path.to_path_buf(),
                source,
            }
        }
    };

    if relative_path.as_os_str().as_encoded_bytes().contains(&0) {
        return Err(refused());
    }
    let mut components = relative_path.components();
    if components.next() != Some(Component::Normal(RECORDINGS_DIR.as_ref())) {
        return Err(refused());
    }
    let mut depth = 0;
    for component in components {
        if !matches!(component, Component::Normal(_)) {
            return Err(refused());
        }
        depth += 1;
    }
    if depth == 0 {
        return Err(refused());
    }

    let root = recordings_root(data_dir).canonicalize().map_err(io_error)?;
    let target = data_dir
        .join(relative_path)
        .canonicalize()
        .map_err(io_error)?;
    if !target.starts_with(&root) || !target.metadata().map_err(io_error)?.is_file() {
        return Err(refused());
    }
    File::open(&target).map_err(io_error)
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    /// 2026-11-25T12:00:00Z
    fn nov_25() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_795_608_000)
    }

    #[test]
    fn path_is_dated_by_the_utc_start_day() {
        let call = CallId::new("a84b4c76e66710@pc33.example.com").unwrap();
        assert_eq!(
            recording_path(&call, nov_25()).unwrap(),
            Path::new("recordings/2026/11/25/a84b4c76e66710@pc33%2Eexample%2Ecom.wav")
        );
        let just_after_midnight = nov_25() + Duration::from_secs(12 * 3600);
        assert!(
            recording_path(&call, just_after_midnight)
                .unwrap()
                .starts_with("recordings/2026/11/26")
        );
    }

    #[test]
    fn call_id_cannot_escape_the_day_directory() {
        for hostile in [
            "../../etc/passwd",
            "/etc/passwd",
            "a\0b",
            "..",
            ".hidden",
            "a/b",
        ] {
            let stem = CallId::new(hostile).unwrap().file_stem().to_owned();
            assert!(
                !stem.contains(['/', '\\', '.', '\0']),
                "{hostile:?} became {stem:?}"
            );
            let path = recording_path(&CallId::new(hostile).unwrap(), nov_25()).unwrap();
            assert_eq!(path.parent(), Some(Path::new("recordings/2026/11/25")));
            assert_eq!(path.components().count(), 5);
        }
        assert_eq!(CallId::new("../x").unwrap().file_stem(), "%2E%2E%2Fx");
        assert_eq!(CallId::new("a\0b").unwrap().file_stem(), "a%00b");
    }

    #[test]
    fn distinct_call_ids_get_distinct_files() {
        let slash = CallId::new("a/b").unwrap();
        let underscore = CallId::new("a_b").unwrap();
        let encoded = CallId::new("a%2Fb").unwrap();
        assert_ne!(slash.file_stem(), underscore.file_stem());
        assert_ne!(slash.file_stem(), encoded.file_stem());
    }

    #[test]
    fn empty_and_overlong_call_ids_are_rejected() {
        assert_eq!(CallId::new(""), Err(CallIdError::Empty));
        assert_eq!(
            CallId::new(".".repeat(100)),
            Err(CallIdError::TooLong { encoded_len: 300 })
        );
        assert!(CallId::new("x".repeat(200)).is_ok());
    }

    fn data_dir_with_recording() -> tempfile::TempDir {
        let data = tempfile::tempdir().unwrap();
        let day = data.path().join("recordings/2026/11/25");
        std::fs::create_dir_all(&day).unwrap();
        std::fs::write(day.join("call.wav"), b"RIFF").unwrap();
        std::fs::write(data.path().join("kefu.sqlite"), b"secret").unwrap();
        data
    }

    #[test]
    fn opens_a_recording_inside_the_recordings_directory() {
        let data = data_dir_with_recording();
        let mut file =
            open_for_read(data.path(), Path::new("recordings/2026/11/25/call.wav")).unwrap();
        let mut contents = Vec::new();
        file.read_to_end(&mut contents).unwrap();
        assert_eq!(contents, b"RIFF");
    }

    #[test]
    fn refuses_paths_outside_the_recordings_directory() {
        let data = data_dir_with_recording();
        let absolute = data.path().join("recordings/2026/11/25/call.wav");
        for path in [
            Path::new("kefu.sqlite"),
            Path::new("recordings/../kefu.sqlite"),
            Path::new("recordings/2026/../../kefu.sqlite"),
            Path::new("../recordings/2026/11/25/call.wav"),
            Path::new("./recordings/2026/11/25/call.wav"),
            Path::new("/etc/passwd"),
            absolute.as_path(),
            Path::new("recordings"),
            Path::new("recordings/2026/11/25"),
            Path::new("recordings/2026/11/25/call.wav\0"),
            Path::new(""),
        ] {
            let outcome = open_for_read(data.path(), path);
            assert!(
                matches!(outcome, Err(AccessError::Refused { .. })),
                "{path:?} gave {outcome:?}"
            );
        }
    }

    #[test]
    fn refuses_a_symlink_leading_out_of_the_recordings_directory() {
        let data = data_dir_with_recording();
        let day = data.path().join("recordings/2026/11/25");
        std::os::unix::fs::symlink(data.path().join("kefu.sqlite"), day.join("leak.wav")).unwrap();
        std::os::unix::fs::symlink(data.path(), day.join("up")).unwrap();
        for path in [
            "recordings/2026/11/25/leak.wav",
            "recordings/2026/11/25/up/kefu.sqlite",
        ] {
            let outcome = open_for_read(data.path(), Path::new(path));
            assert!(
                matches!(outcome, Err(AccessError::Refused { .. })),
                "{path:?} gave {outcome:?}"
            );
        }
    }

    #[test]
    fn a_missing_recording_is_not_found() {
        let data = data_dir_with_recording();
        let outcome = open_for_read(data.path(), Path::new("recordings/2026/11/25/other.wav"));
        assert!(matches!(outcome, Err(AccessError::NotFound { .. })));
    }

    fn percent_decode(stem: &str) -> Vec<u8> {
        let bytes = stem.as_bytes();
        let mut decoded = Vec::new();
        let mut index = 0;
        while index < bytes.len() {
            if bytes[index] == b'%' {
                let hex = std::str::from_utf8(&bytes[index + 1..index + 3]).unwrap();
                decoded.push(u8::from_str_radix(hex, 16).unwrap());
                index += 3;
            } else {
                decoded.push(bytes[index]);
                index += 1;
            }
        }
        decoded
    }

    proptest::proptest! {
        /// Any Call-ID maps to a plain file name that decodes back to it, so
        /// no Call-ID escapes the day directory or collides with another.
        #[test]
        fn any_call_id_becomes_a_plain_reversible_file_name(
            chars in proptest::collection::vec(proptest::arbitrary::any::<char>(), 1..16)
        ) {
            let raw: String = chars.into_iter().collect();
            let call = CallId::new(raw.clone()).unwrap();
            let stem = call.file_stem();
            proptest::prop_assert!(stem
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'@' | b'-' | b'%')));
            proptest::prop_assert_eq!(percent_decode(stem), raw.as_bytes());
            let path = recording_path(&call, nov_25()).unwrap();
            proptest::prop_assert_eq!(path.parent(), Some(Path::new("recordings/2026/11/25")));
        }
    }
}
