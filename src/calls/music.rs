//! What a caller hears while nobody talks to them — waiting in a queue or
//! put on hold by the agent: announcements as they come, and music in
//! between: the WAV files in the prompts folder's `moh/`, in name order,
//! looping, or a soft chime when there are none. Played through the
//! caller's media endpoint, one clip at a time, the next on each
//! `PlaybackFinished`.

use std::collections::VecDeque;
use std::sync::Arc;

use kefu_media::driver::endpoint_task::EndpointHandle;
use kefu_media::pcm::SampleRate;
use kefu_media::prompt::MusicOnHold;
use kefu_media::tone::{CadenceStep, TonePlan};

use super::ivr::Prompts;

/// The folder of hold music inside the prompts folder.
const MUSIC_FOLDER: &str = "moh";

/// What a waiting or held caller hears. See the [module docs](self).
pub(super) struct Hold {
    music: Vec<Arc<[i16]>>,
    next_track: usize,
    announcements: VecDeque<Arc<[i16]>>,
}

impl Hold {
    /// The prompts folder's hold music, or the chime when it has none.
    pub async fn load(prompts: &Arc<Prompts>) -> Self {
        let prompts = prompts.clone();
        let loaded = tokio::task::spawn_blocking(move || {
            let folder = prompts.folder.join(MUSIC_FOLDER);
            MusicOnHold::from_folder(&prompts.cache, &folder, SampleRate::NARROWBAND)
        })
        .await;
        let music = match loaded {
            Ok(Ok(music)) => music.tracks().iter().map(|track| track.clip()).collect(),
            Ok(Err(why)) => {
                tracing::debug!(%why, "no hold music; the chime plays");
                vec![chime()]
            }
            Err(error) => {
                tracing::warn!(%error, "cannot load the hold music; the chime plays");
                vec![chime()]
            }
        };
        Self {
            music,
            next_track: 0,
            announcements: VecDeque::new(),
        }
    }

    /// Plays the next announcement, else the next track of music.
    pub async fn play_next(&mut self, endpoint: Option<&EndpointHandle>) {
        let clip = match self.announcements.pop_front() {
            Some(announcement) => announcement,
            None => {
                let track = self.music[self.next_track % self.music.len()].clone();
                self.next_track += 1;
                track
            }
        };
        if let Some(endpoint) = endpoint {
            let _ = endpoint.play(clip).await;
        }
    }

    /// Interrupts the music for an announcement.
    pub async fn announce(&mut self, endpoint: Option<&EndpointHandle>, clip: Arc<[i16]>) {
        self.announcements.push_back(clip);
        if let Some(endpoint) = endpoint {
            let _ = endpoint.stop_playing().await;
        }
        self.play_next(endpoint).await;
    }
}

/// The chime played when there is no hold music: a soft two-note chord
/// every four seconds.
fn chime() -> Arc<[i16]> {
    TonePlan::steady(&[523.25, 659.25], -24.0)
        .with_cadence(&[CadenceStep::millis(400, 3600)])
        .render_cycle(SampleRate::NARROWBAND)
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chime_is_four_seconds_of_mostly_silence() {
        let chime = chime();
        assert_eq!(chime.len(), 4 * 8000);
        let loud = chime.iter().filter(|s| s.unsigned_abs() > 100).count();
        assert!(loud > 0 && loud < chime.len() / 5, "{loud} loud samples");
    }
}
