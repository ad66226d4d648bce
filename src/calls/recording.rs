//! Recording a bridged call: one stereo WAV per call (caller left, callee
//! right) written by `kefu-recordings` from the relay's tap, and its row in
//! storage, opened when the call is answered and finished when it ends. A
//! recording that cannot start is logged and the call goes on unrecorded.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use kefu_media::driver::relay_task::TapSink;
use kefu_media::relay::Side;
use kefu_recordings::{CallId, Recorder, RecorderConfig};

use super::CallContext;
use crate::store::{Millis, NewRecording, Store};

/// A call's recording in progress.
pub(super) struct CallRecording {
    recorder: Arc<Recorder>,
    row: Option<String>,
    store: Store,
}

impl CallRecording {
    /// Starts recording call `call_id` (the CDR id) of `tenant_id`.
    pub async fn start(context: &CallContext, call_id: &str, tenant_id: &str) -> Option<Self> {
        Self::start_as(context, call_id, call_id, tenant_id).await
    }

    /// Starts a recording of call `call_id` in the file named `file` (a
    /// call's voicemail beside its conversation).
    pub async fn start_as(
        context: &CallContext,
        call_id: &str,
        file: &str,
        tenant_id: &str,
    ) -> Option<Self> {
        let config = RecorderConfig::new(&context.data_dir);
        let started = SystemTime::now();
        let recorder = CallId::new(file)
            .map_err(|error| error.to_string())
            .and_then(|id| {
                Recorder::start(&config, id, started, Instant::now()).map_err(|e| e.to_string())
            });
        let recorder = match recorder {
            Ok(recorder) => recorder,
            Err(error) => {
                tracing::error!(%error, "cannot start the call's recording");
                return None;
            }
        };
        let path = recorder.path().display().to_string();
        let row = NewRecording {
            tenant_id: Some(tenant_id),
            call_id,
            path: &path,
            sample_rate: 8000,
            started_at: Millis::now(),
        };
        let row = match context.store.create_recording(&row).await {
            Ok(id) => Some(id),
            Err(error) => {
                tracing::error!(%error, "cannot store the recording's row");
                None
            }
        };
        Some(Self {
            recorder: Arc::new(recorder),
            row,
            store: context.store.clone(),
        })
    }

    /// Where a relay's or conference's decoded audio goes: each side to its
    /// channel of this recording.
    pub fn sink(&self) -> TapSink {
        let recorder = Arc::clone(&self.recorder);
        Box::new(move |side, at, pcm| {
            let side = match side {
                Side::Caller => kefu_recordings::Side::Caller,
                Side::Agent => kefu_recordings::Side::Agent,
            };
            recorder.feed(side, at, pcm);
        })
    }

    /// Pauses the recording (silence is written, the pause is in the
    /// metadata), e.g. while the caller reads a card number.
    pub fn pause(&self) -> Result<(), String> {
        self.recorder
            .pause(Instant::now())
            .map_err(|e| e.to_string())
    }

    /// Ends a pause.
    pub fn resume(&self) -> Result<(), String> {
        self.recorder
            .resume(Instant::now())
            .map_err(|e| e.to_string())
    }

    /// A feed of what the caller says (the left channel), for an
    /// endpoint's capture.
    pub fn caller_feed(&self) -> impl FnMut(Instant, &[i16]) + Send + 'static {
        let recorder = Arc::clone(&self.recorder);
        move |at, pcm| {
            recorder.feed(kefu_recordings::Side::Caller, at, pcm);
        }
    }

    /// Closes the file (once the relay, holding the tap, has stopped) and
    /// completes the row.
    pub async fn finish(self) {
        let Ok(recorder) = Arc::try_unwrap(self.recorder) else {
            tracing::error!("the recording is still fed; its file stays as written so far");
            return;
        };
        let meta = match tokio::task::spawn_blocking(move || recorder.finish(Instant::now())).await
        {
            Ok(Ok(meta)) => meta,
            Ok(Err(error)) => return tracing::error!(%error, "the recording ended badly"),
            Err(error) => return tracing::error!(%error, "the recording ended badly"),
        };
        let Some(row) = self.row else { return };
        let pauses = serde_json::to_value(&meta.pauses).unwrap_or_default();
        let duration_ms = i64::try_from(meta.duration.as_millis()).unwrap_or(i64::MAX);
        let bytes = i64::try_from(meta.bytes).unwrap_or(i64::MAX);
        let result = self
            .store
            .finish_recording(&row, Millis::now(), duration_ms, bytes, &pauses)
            .await;
        if let Err(error) = result {
            tracing::error!(%error, "cannot complete the recording's row");
        }
    }
}
