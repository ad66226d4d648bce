//! [`Player`]: a sans-IO queue of things to play to one leg — prompts, tones
//! from [`crate::tone`], silence, music on hold — rendered as 20 ms frames at
//! the leg's rate. Items play back to back without gaps; each one ends with a
//! [`PlayerEvent`] (finished, or stopped by [`Player::stop`] on barge-in),
//! which the IVR uses to move to its next node. The caller's clock drives it:
//! one [`Player::next_frame`] per 20 ms tick.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use rand::seq::SliceRandom;

use super::{Prompt, PromptCache, PromptError, wav_files_in};
use crate::pcm::SampleRate;
use crate::tone::{ToneGenerator, TonePlan};

/// Identifies one item given to [`Player::enqueue`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlayId(u64);

/// How an item left the player.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlayerEvent {
    /// It played to its end.
    Finished(PlayId),
    /// [`Player::stop`] ended it, or removed it before it started.
    Stopped(PlayId),
}

/// Tracks played one after another, over and over, until stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MusicOnHold {
    tracks: Vec<Arc<Prompt>>,
}

impl MusicOnHold {
    /// Music of `tracks`, in this order; `None` when no track holds audio.
    pub fn new(tracks: Vec<Arc<Prompt>>) -> Option<Self> {
        let tracks: Vec<_> = tracks
            .into_iter()
            .filter(|track| !track.samples().is_empty())
            .collect();
        (!tracks.is_empty()).then_some(Self { tracks })
    }

    /// Every `.wav` file directly in `folder`, in name order, loaded at
    /// `rate` through `cache`.
    pub fn from_folder(
        cache: &PromptCache,
        folder: &Path,
        rate: SampleRate,
    ) -> Result<Self, PromptError> {
        let tracks = wav_files_in(folder)?
            .iter()
            .map(|file| cache.load(file, rate))
            .collect::<Result<Vec<_>, _>>()?;
        Self::new(tracks).ok_or_else(|| PromptError::EmptyFolder {
            folder: folder.display().to_string(),
        })
    }

    /// The same tracks in a random order drawn from `rng`.
    pub fn shuffled(mut self, rng: &mut impl Rng) -> Self {
        self.tracks.shuffle(rng);
        self
    }

    pub fn tracks(&self) -> &[Arc<Prompt>] {
        &self.tracks
    }
}

/// Something to play.
#[derive(Debug, Clone, PartialEq)]
pub enum Playable {
    /// A prompt, once.
    Prompt(Arc<Prompt>),
    /// A tone (ringback, busy…) for `duration`, or until stopped when `None`.
    Tone {
        plan: TonePlan,
        duration: Option<Duration>,
    },
    /// Nothing, for a while (a pause between prompts).
    Silence(Duration),
    /// Music on hold, until stopped.
    MusicOnHold(MusicOnHold),
}

/// An item being played, with its position.
#[derive(Debug)]
enum Source {
    Prompt {
        prompt: Arc<Prompt>,
        position: usize,
    },
    Tone {
        generator: ToneGenerator,
        remaining: Option<usize>,
    },
    Silence {
        remaining: usize,
    },
    Music {
        tracks: Vec<Arc<Prompt>>,
        track: usize,
        position: usize,
    },
}

impl Source {
    fn new(playable: Playable, rate: SampleRate) -> Self {
        let at_rate = |prompt: Arc<Prompt>| {
            if prompt.rate() == rate {
                prompt
            } else {
                Arc::new(prompt.to_rate(rate))
            }
        };
        match playable {
            Playable::Prompt(prompt) => Self::Prompt {
                prompt: at_rate(prompt),
                position: 0,
            },
            Playable::Tone { plan, duration } => Self::Tone {
                generator: ToneGenerator::new(plan, rate),
                remaining: duration.map(|duration| rate.samples_in(duration)),
            },
            Playable::Silence(duration) => Self::Silence {
                remaining: rate.samples_in(duration),
            },
            Playable::MusicOnHold(music) => Self::Music {
                tracks: music.tracks.into_iter().map(at_rate).collect(),
                track: 0,
                position: 0,
            },
        }
    }

    /// Writes the next samples into `out` (which holds zeros); returns how
    /// many it wrote and whether the item has ended.
    fn fill(&mut self, out: &mut [i16]) -> (usize, bool) {
        match self {
            Self::Prompt { prompt, position } => {
                let rest = &prompt.samples()[*position..];
                let n = rest.len().min(out.len());
                out[..n].copy_from_slice(&rest[..n]);
                *position += n;
                (n, *position == prompt.samples().len())
            }
            Self::Tone {
                generator,
                remaining: None,
            } => {
                generator.fill(out);
                (out.len(), false)
            }
            Self::Tone {
                generator,
                remaining: Some(remaining),
            } => {
                let n = (*remaining).min(out.len());
                generator.fill(&mut out[..n]);
                *remaining -= n;
                (n, *remaining == 0)
            }
            Self::Silence { remaining } => {
                let n = (*remaining).min(out.len());
                *remaining -= n;
                (n, *remaining == 0)
            }
            Self::Music {
                tracks,
                track,
                position,
            } => {
                let mut written = 0;
                while written < out.len() {
                    let samples = tracks[*track].samples();
                    let n = (samples.len() - *position).min(out.len() - written);
                    out[written..written + n].copy_from_slice(&samples[*position..*position + n]);
                    written += n;
                    *position += n;
                    if *position == samples.len() {
                        *track = (*track + 1) % tracks.len();
                        *position = 0;
                    }
                }
                (written, false)
            }
        }
    }
}

/// Plays a queue of [`Playable`]s to one leg, 20 ms at a time.
#[derive(Debug)]
pub struct Player {
    rate: SampleRate,
    next_id: u64,
    playing: Option<(PlayId, Source)>,
    queue: VecDeque<(PlayId, Source)>,
    events: VecDeque<PlayerEvent>,
}

impl Player {
    /// A player producing frames at `rate`.
    pub fn new(rate: SampleRate) -> Self {
        Self {
            rate,
            next_id: 0,
            playing: None,
            queue: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    pub fn rate(&self) -> SampleRate {
        self.rate
    }

    /// Adds `playable` to the end of the queue. Prompts at another rate than
    /// the player's are converted here, on every play: load them at the
    /// player's rate (through the [`PromptCache`]) to convert once.
    pub fn enqueue(&mut self, playable: Playable) -> PlayId {
        let id = PlayId(self.next_id);
        self.next_id += 1;
        self.queue.push_back((id, Source::new(playable, self.rate)));
        id
    }

    /// Whether anything is playing or queued.
    pub fn is_playing(&self) -> bool {
        self.playing.is_some() || !self.queue.is_empty()
    }

    /// Barge-in: ends the item playing and drops the queue, each reported as
    /// [`PlayerEvent::Stopped`]. The next frame is silence (`None`).
    pub fn stop(&mut self) {
        let stopped = self.playing.take().into_iter().chain(self.queue.drain(..));
        self.events
            .extend(stopped.map(|(id, _)| PlayerEvent::Stopped(id)));
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<PlayerEvent> {
        self.events.pop_front()
    }

    /// Writes the next 20 ms into `out` (resized to one frame) and returns
    /// `true`, or clears `out` and returns `false` when there is nothing to
    /// play. When the last item ends inside a frame, the rest of that frame
    /// is silence.
    pub fn next_frame_into(&mut self, out: &mut Vec<i16>) -> bool {
        out.clear();
        out.resize(self.rate.frame_len(), 0);
        let mut written = 0;
        while written < out.len() {
            if self.playing.is_none() {
                self.playing = self.queue.pop_front();
            }
            let Some((id, source)) = &mut self.playing else {
                break;
            };
            let (n, ended) = source.fill(&mut out[written..]);
            written += n;
            if ended {
                self.events.push_back(PlayerEvent::Finished(*id));
                self.playing = None;
            }
        }
        if written == 0 {
            out.clear();
        }
        written > 0
    }

    /// The next 20 ms, or `None` when there is nothing to play.
    pub fn next_frame(&mut self) -> Option<Vec<i16>> {
        let mut frame = Vec::with_capacity(self.rate.frame_len());
        self.next_frame_into(&mut frame).then_some(frame)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::goertzel::energy_share;
    use crate::prompt::test_wav::tone_wav;
    use crate::tone::ToneRegion;

    const RATE: SampleRate = SampleRate::NARROWBAND;

    fn ramp(len: usize, start: i16) -> Arc<Prompt> {
        Arc::new(Prompt::new(
            (0..len as i16).map(|i| start + i).collect(),
            RATE,
        ))
    }

    fn events(player: &mut Player) -> Vec<PlayerEvent> {
        std::iter::from_fn(|| player.poll_event()).collect()
    }

    /// Every frame until the player runs dry (at most `limit`), concatenated.
    fn drain(player: &mut Player, limit: usize) -> Vec<i16> {
        std::iter::from_fn(|| player.next_frame())
            .take(limit)
            .flatten()
            .collect()
    }

    #[test]
    fn a_prompt_plays_in_20_ms_frames_and_reports_its_end() {
        let mut player = Player::new(RATE);
        let prompt = ramp(450, 1);
        let id = player.enqueue(Playable::Prompt(Arc::clone(&prompt)));
        assert!(player.is_playing());
        for _ in 0..2 {
            assert_eq!(player.next_frame().map(|frame| frame.len()), Some(160));
            assert_eq!(player.poll_event(), None);
        }
        let last = player.next_frame().expect("the last 130 samples");
        assert_eq!(&last[..130], &prompt.samples()[320..]);
        assert!(last[130..].iter().all(|&s| s == 0));
        assert_eq!(events(&mut player), [PlayerEvent::Finished(id)]);
        assert!(!player.is_playing());
        assert_eq!(player.next_frame(), None);
    }

    #[test]
    fn queued_items_play_back_to_back_without_gaps() {
        let mut player = Player::new(RATE);
        let (first, second) = (ramp(100, 1), ramp(300, 1_000));
        let a = player.enqueue(Playable::Prompt(Arc::clone(&first)));
        let pause = player.enqueue(Playable::Silence(Duration::from_millis(5)));
        let b = player.enqueue(Playable::Prompt(Arc::clone(&second)));
        let played = drain(&mut player, 10);
        assert_eq!(played.len(), 3 * 160);
        assert_eq!(&played[..100], first.samples());
        assert!(played[100..140].iter().all(|&s| s == 0));
        assert_eq!(&played[140..440], second.samples());
        assert_eq!(
            events(&mut player),
            [
                PlayerEvent::Finished(a),
                PlayerEvent::Finished(pause),
                PlayerEvent::Finished(b)
            ]
        );
    }

    #[test]
    fn a_prompt_ending_on_a_frame_boundary_is_reported_with_that_frame() {
        let mut player = Player::new(RATE);
        let id = player.enqueue(Playable::Prompt(ramp(320, 1)));
        player.next_frame().expect("first frame");
        player.next_frame().expect("second frame");
        assert_eq!(events(&mut player), [PlayerEvent::Finished(id)]);
    }

    #[test]
    fn barge_in_stops_the_prompt_and_drops_the_queue() {
        let mut player = Player::new(RATE);
        let welcome = player.enqueue(Playable::Prompt(ramp(8_000, 1)));
        let menu = player.enqueue(Playable::Prompt(ramp(8_000, 1)));
        player.next_frame().expect("playing");
        player.stop();
        assert_eq!(player.next_frame(), None);
        assert_eq!(
            events(&mut player),
            [PlayerEvent::Stopped(welcome), PlayerEvent::Stopped(menu)]
        );
        let next = player.enqueue(Playable::Prompt(ramp(10, 1)));
        assert!(player.next_frame().is_some());
        assert_eq!(events(&mut player), [PlayerEvent::Finished(next)]);
    }

    #[test]
    fn ringback_plays_the_tone_module_cadence_until_stopped() {
        let mut player = Player::new(RATE);
        let plan = ToneRegion::Us.ringback();
        let id = player.enqueue(Playable::Tone {
            plan: plan.clone(),
            duration: None,
        });
        let played = drain(&mut player, 400);
        assert_eq!(played.len(), 400 * 160, "8 s of ringback, still going");
        let mut reference = vec![0; played.len()];
        ToneGenerator::new(plan, RATE).fill(&mut reference);
        assert_eq!(played, reference);
        for hz in [440.0, 480.0] {
            assert!(energy_share(&played[..8_000], hz, RATE) > 0.4, "{hz} Hz");
        }
        assert!(played[16_000..48_000].iter().all(|&s| s == 0), "4 s off");
        assert_eq!(player.poll_event(), None);
        player.stop();
        assert_eq!(events(&mut player), [PlayerEvent::Stopped(id)]);
    }

    #[test]
    fn a_timed_busy_tone_ends_and_the_next_prompt_follows() {
        let mut player = Player::new(SampleRate::WIDEBAND);
        let busy = player.enqueue(Playable::Tone {
            plan: ToneRegion::Cn.busy(),
            duration: Some(Duration::from_secs(1)),
        });
        let sorry = Arc::new(Prompt::new(vec![1_000; 3_200], SampleRate::WIDEBAND));
        let after = player.enqueue(Playable::Prompt(sorry));
        let played = drain(&mut player, 100);
        assert_eq!(played.len(), 16_000 + 3_200);
        let on = &played[..SampleRate::WIDEBAND.samples_in(Duration::from_millis(350))];
        assert!(energy_share(on, 450.0, SampleRate::WIDEBAND) > 0.9);
        assert!(played[16_000..].iter().all(|&s| s == 1_000));
        assert_eq!(
            events(&mut player),
            [PlayerEvent::Finished(busy), PlayerEvent::Finished(after)]
        );
    }

    #[test]
    fn prompts_at_another_rate_are_converted_to_the_players() {
        let mut player = Player::new(SampleRate::FULLBAND);
        let wav = tone_wav(440.0, 8_000, 1, 16, 0.2);
        let prompt = Prompt::from_wav("t.wav", wav.as_slice(), RATE).expect("loads");
        player.enqueue(Playable::Prompt(Arc::new(prompt)));
        let played = drain(&mut player, 100);
        assert_eq!(played.len(), 9_600);
        assert!(energy_share(&played[960..8_640], 440.0, SampleRate::FULLBAND) > 0.99);
    }

    /// A folder with a 440 Hz track `a.wav`, a 1 kHz track `b.wav`, 100 ms
    /// each, and a file that is not a WAV.
    fn music_folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("b.wav"),
            tone_wav(1_000.0, 16_000, 1, 16, 0.1),
        )
        .expect("write");
        std::fs::write(dir.path().join("a.wav"), tone_wav(440.0, 8_000, 1, 16, 0.1))
            .expect("write");
        std::fs::write(dir.path().join("README.txt"), "not music").expect("write");
        dir
    }

    /// The dominant of 440 Hz and 1 kHz in each 100 ms block.
    fn track_order(played: &[i16]) -> Vec<u32> {
        played
            .chunks(800)
            .map(|block| {
                if energy_share(block, 440.0, RATE) > energy_share(block, 1_000.0, RATE) {
                    440
                } else {
                    1_000
                }
            })
            .collect()
    }

    #[test]
    fn music_on_hold_loops_a_folder_in_name_order_until_stopped() {
        let folder = music_folder();
        let cache = PromptCache::new();
        let music = MusicOnHold::from_folder(&cache, folder.path(), RATE).expect("music");
        assert_eq!(music.tracks().len(), 2);
        let mut player = Player::new(RATE);
        let id = player.enqueue(Playable::MusicOnHold(music));
        let played = drain(&mut player, 30);
        assert_eq!(played.len(), 30 * 160);
        assert_eq!(track_order(&played), [440, 1_000, 440, 1_000, 440, 1_000]);
        player.stop();
        assert_eq!(events(&mut player), [PlayerEvent::Stopped(id)]);
    }

    #[test]
    fn shuffled_music_on_hold_follows_the_injected_rng() {
        let tracks: Vec<Arc<Prompt>> = (0..8).map(|i| ramp(10, i * 100)).collect();
        let music = MusicOnHold::new(tracks.clone()).expect("tracks");
        let once = music.clone().shuffled(&mut StdRng::seed_from_u64(7));
        let twice = music.clone().shuffled(&mut StdRng::seed_from_u64(7));
        assert_eq!(once, twice);
        assert_ne!(once, music, "eight tracks kept their order");
        let mut sorted = once.tracks().to_vec();
        sorted.sort_by_key(|track| track.samples()[0]);
        assert_eq!(sorted, tracks);
    }

    #[test]
    fn an_empty_music_folder_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let error =
            MusicOnHold::from_folder(&PromptCache::new(), dir.path(), RATE).expect_err("no music");
        assert!(
            error
                .to_string()
                .ends_with("no .wav files to play as music on hold")
        );
        assert_eq!(MusicOnHold::new(vec![ramp(0, 0)]), None);
    }
}
