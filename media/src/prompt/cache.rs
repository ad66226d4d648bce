//! [`PromptCache`]: prompt files decoded and converted once per (file, rate)
//! and shared between calls as `Arc<Prompt>`. A file is read again when its
//! modification time or size changes, so an admin who replaces a prompt is
//! heard on the next call without a restart.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use super::{Prompt, PromptError};
use crate::pcm::SampleRate;

/// What identifies one version of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
}

#[derive(Debug)]
struct Entry {
    stamp: FileStamp,
    prompt: Arc<Prompt>,
}

/// Loaded prompts by file and target rate; safe to share between threads.
#[derive(Debug, Default)]
pub struct PromptCache {
    entries: Mutex<HashMap<(PathBuf, SampleRate), Entry>>,
}

impl PromptCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// The WAV file at `path` at `rate`: from the cache when the file has
    /// not changed since it was loaded, else read, converted and cached.
    /// Decoding happens outside the cache's lock, so loads of other files do
    /// not wait for it.
    pub fn load(&self, path: &Path, rate: SampleRate) -> Result<Arc<Prompt>, PromptError> {
        let metadata = std::fs::metadata(path).map_err(|source| PromptError::Io {
            file: path.display().to_string(),
            source,
        })?;
        let stamp = FileStamp {
            modified: metadata.modified().ok(),
            len: metadata.len(),
        };
        let key = (path.to_path_buf(), rate);
        if let Some(entry) = self.lock().get(&key) {
            if entry.stamp == stamp {
                return Ok(Arc::clone(&entry.prompt));
            }
        }
        let prompt = Arc::new(Prompt::from_wav_file(path, rate)?);
        self.lock().insert(
            key,
            Entry {
                stamp,
                prompt: Arc::clone(&prompt),
            },
        );
        Ok(prompt)
    }

    /// How many (file, rate) pairs are cached.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(PathBuf, SampleRate), Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::prompt::test_wav::tone_wav;

    #[test]
    fn a_file_is_loaded_once_per_rate_and_shared() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("welcome.wav");
        std::fs::write(&path, tone_wav(440.0, 16_000, 1, 16, 0.5)).expect("write");
        let cache = PromptCache::new();
        let first = cache.load(&path, SampleRate::NARROWBAND).expect("loads");
        let again = cache.load(&path, SampleRate::NARROWBAND).expect("loads");
        assert!(Arc::ptr_eq(&first, &again));
        let wide = cache.load(&path, SampleRate::WIDEBAND).expect("loads");
        assert_eq!(wide.samples().len(), 8_000);
        assert_eq!(first.samples().len(), 4_000);
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn a_replaced_file_is_read_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("welcome.wav");
        std::fs::write(&path, tone_wav(440.0, 8_000, 1, 16, 0.5)).expect("write");
        let cache = PromptCache::new();
        let old = cache.load(&path, SampleRate::NARROWBAND).expect("loads");

        std::fs::write(&path, tone_wav(440.0, 8_000, 1, 16, 1.0)).expect("rewrite");
        let later = SystemTime::now() + Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .and_then(|file| file.set_modified(later))
            .expect("touch");
        let new = cache.load(&path, SampleRate::NARROWBAND).expect("loads");
        assert!(!Arc::ptr_eq(&old, &new));
        assert_eq!(old.duration(), Duration::from_millis(500));
        assert_eq!(new.duration(), Duration::from_secs(1));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_file_that_disappears_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("gone.wav");
        std::fs::write(&path, tone_wav(440.0, 8_000, 1, 16, 0.1)).expect("write");
        let cache = PromptCache::new();
        cache.load(&path, SampleRate::NARROWBAND).expect("loads");
        std::fs::remove_file(&path).expect("remove");
        let error = cache
            .load(&path, SampleRate::NARROWBAND)
            .expect_err("missing");
        assert!(
            error.to_string().contains("gone.wav: cannot read"),
            "{error}"
        );
    }
}
