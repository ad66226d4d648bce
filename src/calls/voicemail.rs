//! The IVR's `record` (`voicemail`) node: after a beep, what the caller says
//! is recorded — from the call's media endpoint, decoded — into a WAV stored
//! like call recordings (`DATA_DIR/recordings/…/<call>-voicemail-N.wav`,
//! caller in the left channel, with a row on the call), until the caller
//! presses `#`, stops talking for the node's silence time, reaches its
//! maximum length, or hangs up.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kefu_media::endpoint::EndpointEvent;
use kefu_media::pcm::SampleRate;
use kefu_media::tone::{CadenceStep, TonePlan};

use super::CallContext;
use super::cdr::Cdr;
use super::recording::CallRecording;
use super::session::{Ended, Happening, Session};

/// How often the silence and length limits are checked.
const CHECK_EVERY: Duration = Duration::from_millis(100);
/// Mean absolute sample value above which a frame counts as speech
/// (about -40 dBFS; line noise and comfort noise stay below).
const SPEECH_LEVEL: i64 = 330;

/// What to record.
pub(super) struct RecordRequest<'a> {
    pub tenant_id: &'a str,
    pub beep: bool,
    pub max: Duration,
    pub silence: Duration,
    /// Which of the call's voicemails this is (1 for the first).
    pub number: usize,
}

/// Records the caller. Returns how the call ended if the caller hung up;
/// the recording is kept either way.
pub(super) async fn record(
    context: &CallContext,
    cdr: &Cdr,
    session: &mut Session,
    request: RecordRequest<'_>,
) -> Result<(), Ended> {
    let Some(endpoint) = session.endpoint() else {
        return Ok(());
    };
    if request.beep {
        let beep = TonePlan::steady(&[1000.0], -12.0)
            .with_cadence(&[CadenceStep::millis(400, 100)])
            .render_cycle(SampleRate::NARROWBAND);
        if endpoint.play(beep.into()).await.is_ok() {
            wait_for_playback(session).await?;
        }
    }
    let Some(call) = cdr.id() else {
        return Ok(());
    };
    let file = format!("{call}-voicemail-{}", request.number);
    let Some(recording) = CallRecording::start_as(context, call, &file, request.tenant_id).await
    else {
        return Ok(());
    };
    let started = Instant::now();
    let last_speech = Arc::new(AtomicU64::new(0));
    let mut feed = recording.caller_feed();
    let heard = Arc::clone(&last_speech);
    let sink = Box::new(move |at: Instant, pcm: &[i16]| {
        feed(at, pcm);
        let level = pcm.iter().map(|s| i64::from(*s).abs()).sum::<i64>() / pcm.len().max(1) as i64;
        if level > SPEECH_LEVEL {
            let since = at.saturating_duration_since(started).as_millis();
            heard.store(u64::try_from(since).unwrap_or(u64::MAX), Ordering::Relaxed);
        }
    });
    let capturing = match session.endpoint() {
        Some(endpoint) => endpoint.capture(sink).await.is_ok(),
        None => false,
    };
    let outcome = if capturing {
        listen(session, started, &last_speech, &request).await
    } else {
        Ok(Stop::Failed)
    };
    if let Some(endpoint) = session.endpoint() {
        let _ = endpoint.stop_capture().await;
    }
    recording.finish().await;
    let stop = outcome?;
    tracing::info!(
        ?stop,
        seconds = started.elapsed().as_secs(),
        "voicemail recorded"
    );
    Ok(())
}

/// Why a recording stopped.
#[derive(Debug)]
enum Stop {
    Key,
    Silence,
    MaxLength,
    Failed,
}

/// Waits until the recording should stop; `Err` when the caller hung up.
async fn listen(
    session: &mut Session,
    started: Instant,
    last_speech: &AtomicU64,
    request: &RecordRequest<'_>,
) -> Result<Stop, Ended> {
    let mut check = tokio::time::interval(CHECK_EVERY);
    loop {
        tokio::select! {
            happening = session.next() => match happening {
                Happening::Media(EndpointEvent::Dtmf(press)) if press.digit.as_char() == '#' => {
                    return Ok(Stop::Key);
                }
                Happening::Ended(ended) => return Err(ended),
                _ => {}
            },
            _ = check.tick() => {
                let elapsed = started.elapsed();
                if elapsed >= request.max {
                    return Ok(Stop::MaxLength);
                }
                let spoke = Duration::from_millis(last_speech.load(Ordering::Relaxed));
                if elapsed.saturating_sub(spoke) >= request.silence {
                    return Ok(Stop::Silence);
                }
            }
        }
    }
}

async fn wait_for_playback(session: &mut Session) -> Result<(), Ended> {
    loop {
        match session.next().await {
            Happening::Media(EndpointEvent::PlaybackFinished) => return Ok(()),
            Happening::Ended(ended) => return Err(ended),
            _ => {}
        }
    }
}
