//! [`PromptCache`]: prompt files decoded and converted once per (file, rate)
//! and shared between calls as `Arc<Prompt>`. A file is read again when its
//! modification time or size changes, so an admin who replaces a prompt is
//! heard on the next call without a restart. The cache holds at most a given
//! number of bytes of samples and forgets the least recently used prompts
//! beyond that (texts spoken with callers' names would otherwise pile up);
//! calls still playing a forgotten prompt keep their `Arc`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use super::{Prompt, PromptError};
use crate::pcm::SampleRate;

/// What [`PromptCache::new`] holds at most: an hour of 48 kHz audio, or six
/// hours at 8 kHz.
const DEFAULT_CAPACITY_BYTES: usize = 345_600_000;

/// What identifies one version of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
}

type Key = (PathBuf, SampleRate);

#[derive(Debug)]
struct Entry {
    stamp: FileStamp,
    prompt: Arc<Prompt>,
    /// When it was last loaded, in loads since the cache was made.
    last_use: u64,
}

#[derive(Debug, Default)]
struct Entries {
    by_key: HashMap<Key, Entry>,
    bytes: usize,
    loads: u64,
}

/// Loaded prompts by file and target rate; safe to share between threads.
#[derive(Debug)]
pub struct PromptCache {
    entries: Mutex<Entries>,
    capacity_bytes: usize,
}

impl Default for PromptCache {
    fn default() -> Self {
        Self::new()
    }
}

impl PromptCache {
    /// A cache of up to an hour of 48 kHz audio (330 MiB).
    pub fn new() -> Self {
        Self::with_capacity_bytes(DEFAULT_CAPACITY_BYTES)
    }

    /// A cache of up to `capacity_bytes` of samples (2 bytes each); the
    /// prompt loaded last stays even when it alone is larger.
    pub fn with_capacity_bytes(capacity_bytes: usize) -> Self {
        Self {
            entries: Mutex::new(Entries::default()),
            capacity_bytes,
        }
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
        {
            let mut entries = self.lock();
            entries.loads += 1;
            let now = entries.loads;
            if let Some(entry) = entries.by_key.get_mut(&key) {
                if entry.stamp == stamp {
                    entry.last_use = now;
                    return Ok(Arc::clone(&entry.prompt));
                }
            }
        }
        let prompt = Arc::new(Prompt::from_wav_file(path, rate)?);
        let mut entries = self.lock();
        entries.loads += 1;
        let entry = Entry {
            stamp,
            prompt: Arc::clone(&prompt),
            last_use: entries.loads,
        };
        entries.bytes += size_of_prompt(&prompt);
        if let Some(old) = entries.by_key.insert(key.clone(), entry) {
            entries.bytes -= size_of_prompt(&old.prompt);
        }
        while entries.bytes > self.capacity_bytes {
            let oldest = entries
                .by_key
                .iter()
                .filter(|(cached, _)| **cached != key)
                .min_by_key(|(_, entry)| entry.last_use)
                .map(|(cached, _)| cached.clone());
            let Some(oldest) = oldest else { break };
            if let Some(evicted) = entries.by_key.remove(&oldest) {
                entries.bytes -= size_of_prompt(&evicted.prompt);
            }
        }
        Ok(prompt)
    }

    /// How many (file, rate) pairs are cached.
    pub fn len(&self) -> usize {
        self.lock().by_key.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().by_key.is_empty()
    }

    /// Bytes of samples cached.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn size_of_prompt(prompt: &Prompt) -> usize {
    std::mem::size_of_val(prompt.samples())
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
    fn beyond_its_capacity_the_least_recently_used_prompt_is_forgotten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let paths: Vec<PathBuf> = ["a", "b", "c"]
            .iter()
            .map(|name| {
                let path = dir.path().join(format!("{name}.wav"));
                // 0.1 s at 8 kHz: 800 samples, 1600 bytes.
                std::fs::write(&path, tone_wav(440.0, 8_000, 1, 16, 0.1)).expect("write");
                path
            })
            .collect();
        let rate = SampleRate::NARROWBAND;
        let cache = PromptCache::with_capacity_bytes(2 * 1_600);
        let a = cache.load(&paths[0], rate).expect("a");
        let b = cache.load(&paths[1], rate).expect("b");
        assert_eq!(cache.bytes(), 3_200);
        // a is used again, so b is now the least recently used.
        assert!(Arc::ptr_eq(&a, &cache.load(&paths[0], rate).expect("a")));
        cache.load(&paths[2], rate).expect("c");
        assert_eq!((cache.len(), cache.bytes()), (2, 3_200));
        assert!(Arc::ptr_eq(&a, &cache.load(&paths[0], rate).expect("a")));
        let b_again = cache.load(&paths[1], rate).expect("b");
        assert!(!Arc::ptr_eq(&b, &b_again), "b was kept");
        assert_eq!(b.samples(), b_again.samples());
    }

    #[test]
    fn a_prompt_larger_than_the_cache_is_still_given_and_kept_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("long.wav");
        std::fs::write(&path, tone_wav(440.0, 8_000, 1, 16, 1.0)).expect("write");
        let cache = PromptCache::with_capacity_bytes(100);
        let prompt = cache.load(&path, SampleRate::NARROWBAND).expect("loads");
        assert_eq!(prompt.samples().len(), 8_000);
        assert_eq!((cache.len(), cache.bytes()), (1, 16_000));
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
