//! [`Tts`]: text to speech for IVR `say` nodes. Text is rendered once per
//! (voice, text) by the `espeak-ng` program into
//! `DATA_DIR/tts/<sha256(voice, text)>.wav`; later requests load that file
//! through the [`PromptCache`]. Concurrent requests for the same text wait
//! for one rendering, which is written to a temporary file and renamed into
//! place, so a half-written file is never played (not even by another kefu
//! process sharing the data directory).
//!
//! `espeak-ng` runs with `std::process::Command` and no shell: the text is one
//! argument after `--`. Debian's espeak-ng 1.51 has `en` (also `en-us`,
//! `en-gb`…) for English and `cmn` (alias `zh`) for Mandarin; `espeak-ng
//! --voices` lists the rest.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, PoisonError};

use sha2::{Digest, Sha256};

use super::{Prompt, PromptCache, PromptError};
use crate::pcm::SampleRate;

/// Why text could not be turned into a prompt.
#[derive(Debug, thiserror::Error)]
pub enum TtsError {
    #[error(
        "{program} is not installed (IVR `say` nodes need it); install it with \
         scripts/install-deps.sh run (or apt-get install espeak-ng)"
    )]
    NotInstalled { program: String },
    #[error(
        "{voice:?} is not a voice name (a letter or digit, then letters, digits, '-', '_' \
         and '+'); \
         list voices with: espeak-ng --voices"
    )]
    InvalidVoice { voice: String },
    #[error("there is no text to say")]
    EmptyText,
    #[error("{program} failed for voice {voice:?} ({status}): {stderr}")]
    Failed {
        program: String,
        voice: String,
        status: std::process::ExitStatus,
        stderr: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Prompt(#[from] PromptError),
}

/// Renders text with `espeak-ng` into a cache directory; safe to share
/// between threads.
#[derive(Debug)]
pub struct Tts {
    dir: PathBuf,
    program: PathBuf,
    /// One lock per file being rendered, so each text is rendered once.
    rendering: Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>,
}

impl Tts {
    /// Renders into `data_dir/tts` with the `espeak-ng` found on `PATH`.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            dir: data_dir.join("tts"),
            program: PathBuf::from("espeak-ng"),
            rendering: Mutex::new(HashMap::new()),
        }
    }

    /// Uses `program` (a path or a name on `PATH`) instead of `espeak-ng`;
    /// it must take the same arguments.
    pub fn with_program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = program.into();
        self
    }

    /// Where the rendering of `text` in `voice` is kept.
    pub fn wav_path(&self, voice: &str, text: &str) -> PathBuf {
        let mut hash = Sha256::new();
        hash.update(voice.as_bytes());
        // A separator no voice name contains keeps ("en", "x") and ("e", "nx") apart.
        hash.update([0]);
        hash.update(text.as_bytes());
        let name: String = hash
            .finalize()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        self.dir.join(format!("{name}.wav"))
    }

    /// The WAV file of `text` spoken in `voice`, rendered now unless it
    /// already was.
    pub fn render(&self, voice: &str, text: &str) -> Result<PathBuf, TtsError> {
        let valid_voice = voice.starts_with(|c: char| c.is_ascii_alphanumeric())
            && voice
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '+'));
        if !valid_voice {
            return Err(TtsError::InvalidVoice {
                voice: voice.to_owned(),
            });
        }
        if text.trim().is_empty() {
            return Err(TtsError::EmptyText);
        }
        let path = self.wav_path(voice, text);
        if path.is_file() {
            return Ok(path);
        }
        let lock = Arc::clone(
            self.rendering
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(path.clone())
                .or_default(),
        );
        let result = {
            let _rendering = lock.lock().unwrap_or_else(PoisonError::into_inner);
            if path.is_file() {
                Ok(())
            } else {
                self.run(voice, text, &path)
            }
        };
        let mut rendering = self
            .rendering
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // The last one out forgets the lock (the map and this one hold it);
        // a request still waiting keeps it, so requests never run in parallel.
        if Arc::strong_count(&lock) == 2 {
            rendering.remove(&path);
        }
        drop(rendering);
        result.map(|()| path)
    }

    /// `text` spoken in `voice` as a prompt at `rate`, rendered if needed and
    /// loaded through `cache`.
    pub fn prompt(
        &self,
        cache: &PromptCache,
        voice: &str,
        text: &str,
        rate: SampleRate,
    ) -> Result<Arc<Prompt>, TtsError> {
        let path = self.render(voice, text)?;
        Ok(cache.load(&path, rate)?)
    }

    /// Runs the program into a temporary file beside `path`, then renames it.
    fn run(&self, voice: &str, text: &str, path: &Path) -> Result<(), TtsError> {
        let io_error = |path: &Path| {
            let path = path.display().to_string();
            move |source| TtsError::Io { path, source }
        };
        std::fs::create_dir_all(&self.dir).map_err(io_error(&self.dir))?;
        let partial = path.with_extension(format!("{}.partial", std::process::id()));
        let output = Command::new(&self.program)
            .arg("-v")
            .arg(voice)
            .arg("-w")
            .arg(&partial)
            .arg("--")
            .arg(text)
            .stdin(Stdio::null())
            .output();
        let program = self.program.display().to_string();
        let output = match output {
            Ok(output) => output,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(TtsError::NotInstalled { program });
            }
            Err(source) => {
                return Err(TtsError::Io {
                    path: program,
                    source,
                });
            }
        };
        if !output.status.success() || !partial.is_file() {
            // Nothing to clean up when the program wrote no file.
            let _ = std::fs::remove_file(&partial);
            return Err(TtsError::Failed {
                program,
                voice: voice.to_owned(),
                status: output.status,
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        std::fs::rename(&partial, path).map_err(io_error(path))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;

    use super::*;
    use crate::goertzel::block_energy;

    /// Root-mean-square level of `samples`, in sample units.
    fn rms(samples: &[i16]) -> f64 {
        (block_energy(samples) / samples.len() as f64).sqrt()
    }

    /// Share of 20 ms blocks that hold sound (RMS over 300, about −40 dBFS).
    fn voiced_share(prompt: &Prompt) -> f64 {
        let blocks: Vec<&[i16]> = prompt.samples().chunks(prompt.rate().frame_len()).collect();
        let voiced = blocks.iter().filter(|block| rms(block) > 300.0).count();
        voiced as f64 / blocks.len() as f64
    }

    fn assert_spoken(prompt: &Prompt, shortest: Duration, longest: Duration) {
        let duration = prompt.duration();
        assert!(
            (shortest..=longest).contains(&duration),
            "rendered {duration:?}, expected {shortest:?} to {longest:?}"
        );
        assert!(
            rms(prompt.samples()) > 1_000.0,
            "too quiet: {}",
            rms(prompt.samples())
        );
        let voiced = voiced_share(prompt);
        assert!(voiced > 0.5, "only {voiced} of the blocks hold speech");
    }

    #[test]
    fn english_text_is_rendered_once_and_spoken() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (tts, cache) = (Tts::new(dir.path()), PromptCache::new());
        let text = "Welcome to kefu. Press one for sales, two for support.";
        let prompt = tts
            .prompt(&cache, "en", text, SampleRate::NARROWBAND)
            .expect("rendered");
        assert_eq!(prompt.rate(), SampleRate::NARROWBAND);
        assert_spoken(&prompt, Duration::from_secs(2), Duration::from_secs(8));

        let path = tts.wav_path("en", text);
        assert_eq!(path.parent(), Some(dir.path().join("tts").as_path()));
        let rendered_at = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .expect("file");
        let again = tts
            .prompt(&cache, "en", text, SampleRate::NARROWBAND)
            .expect("cached");
        assert!(Arc::ptr_eq(&prompt, &again));
        let still = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .expect("file");
        assert_eq!(rendered_at, still);
    }

    #[test]
    fn mandarin_text_is_spoken_with_the_cmn_voice() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (tts, cache) = (Tts::new(dir.path()), PromptCache::new());
        let text = "您好，欢迎致电客服中心。";
        let prompt = tts
            .prompt(&cache, "cmn", text, SampleRate::WIDEBAND)
            .expect("rendered");
        assert_spoken(&prompt, Duration::from_secs(2), Duration::from_secs(8));
        // The same text in another voice is another rendering.
        assert_ne!(tts.wav_path("cmn", text), tts.wav_path("en", text));
        // An IVR `say` with `language = "zh"` gets Mandarin, not Cantonese.
        let zh = tts
            .prompt(&cache, "zh", text, SampleRate::WIDEBAND)
            .expect("rendered");
        assert_eq!(zh.samples(), prompt.samples());
    }

    #[test]
    fn concurrent_requests_for_the_same_text_render_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let runs = dir.path().join("runs");
        // Counts its runs, takes its time, then does what espeak-ng does.
        let script = dir.path().join("counting-espeak");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho run >> '{}'\nsleep 0.3\nexec espeak-ng \"$@\"\n",
                runs.display()
            ),
        )
        .expect("script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let tts = Tts::new(dir.path()).with_program(&script);
        let paths: Vec<PathBuf> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| scope.spawn(|| tts.render("en", "Please hold.")))
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("thread").expect("rendered"))
                .collect()
        });
        assert!(paths.iter().all(|path| path == &paths[0] && path.is_file()));
        let count = std::fs::read_to_string(&runs)
            .expect("runs")
            .lines()
            .count();
        assert_eq!(count, 1);
        let leftovers = std::fs::read_dir(dir.path().join("tts"))
            .expect("dir")
            .count();
        assert_eq!(leftovers, 1, "temporary files left behind");
        assert!(
            tts.rendering.lock().expect("lock").is_empty(),
            "a lock was kept"
        );
    }

    #[test]
    fn requests_after_a_failed_rendering_retry_one_at_a_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (runs, busy) = (dir.path().join("runs"), dir.path().join("busy"));
        // Fails every time; notes when it finds another run still going.
        let script = dir.path().join("failing-espeak");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\nmkdir '{busy}' 2>/dev/null || echo overlap >> '{runs}'\n\
                 echo run >> '{runs}'\nsleep 0.2\nrmdir '{busy}'\n\
                 echo 'synthesis failed' >&2\nexit 1\n",
                busy = busy.display(),
                runs = runs.display()
            ),
        )
        .expect("script");
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let tts = Tts::new(dir.path()).with_program(&script);
        // The second request waits for the first; the third arrives while
        // the second is running, the fourth while the third waits.
        let arrivals_ms = [0, 50, 250, 300];
        std::thread::scope(|scope| {
            let handles: Vec<_> = arrivals_ms
                .iter()
                .map(|&ms| {
                    let tts = &tts;
                    scope.spawn(move || {
                        std::thread::sleep(Duration::from_millis(ms));
                        tts.render("en", "Please hold.")
                    })
                })
                .collect();
            for handle in handles {
                let error = handle.join().expect("thread").expect_err("fails");
                assert!(error.to_string().contains("synthesis failed"), "{error}");
            }
        });
        let log = std::fs::read_to_string(&runs).expect("runs");
        assert_eq!(log.lines().filter(|line| *line == "run").count(), 4);
        assert!(!log.contains("overlap"), "two renderings ran at once");
        assert!(tts.rendering.lock().expect("lock").is_empty());
    }

    #[test]
    fn a_missing_program_names_the_install_command() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tts = Tts::new(dir.path()).with_program("/nonexistent/espeak-ng");
        let error = tts.render("en", "hello").expect_err("missing program");
        assert!(matches!(error, TtsError::NotInstalled { .. }));
        let message = error.to_string();
        assert!(message.contains("scripts/install-deps.sh run"), "{message}");
        assert!(message.contains("apt-get install espeak-ng"), "{message}");
    }

    #[test]
    fn an_unknown_voice_reports_what_espeak_ng_said() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tts = Tts::new(dir.path());
        let error = tts
            .render("nosuchvoice", "hello")
            .expect_err("no such voice");
        assert!(
            error.to_string().contains("voice does not exist"),
            "{error}"
        );
        assert!(!tts.wav_path("nosuchvoice", "hello").exists());
    }

    #[test]
    fn voice_names_and_text_are_checked_before_running_anything() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tts = Tts::new(dir.path()).with_program("/nonexistent/espeak-ng");
        for voice in ["", "--help", "en us", "../en"] {
            assert!(
                matches!(tts.render(voice, "hi"), Err(TtsError::InvalidVoice { .. })),
                "{voice:?}"
            );
        }
        assert!(matches!(tts.render("en", "  "), Err(TtsError::EmptyText)));
    }
}
