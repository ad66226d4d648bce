//! Live bridged calls, as the rest of kefu sees them: [`LiveCalls`] (shared
//! with the HTTP API) knows every bridged call of this node by its record id
//! and hands it [`CallCommand`]s — join a supervisor's phone in a mode,
//! change the mode, pause or resume the recording — which the bridged call
//! carries out
//! ([`super::bridge`]: the supervisor's phone is rung like an agent's; on
//! answer the relay gives its ports to a three-way conference whose
//! hear-matrix is the mode; when the supervisor hangs up the relay takes
//! over again and the call goes on untouched).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kefu_media::mixer::SupervisorMode;
use tokio::sync::{mpsc, oneshot};

/// What a bridged call is asked to do.
#[derive(Debug)]
pub(super) enum CallCommand {
    /// Ring `extension`'s phones and join the answer in `mode`.
    Supervise {
        extension: String,
        mode: SupervisorMode,
        reply: oneshot::Sender<Result<(), SuperviseError>>,
    },
    /// Change the supervisor's mode (also while their phone rings).
    SetMode {
        mode: SupervisorMode,
        reply: oneshot::Sender<Result<(), SuperviseError>>,
    },
    /// Pause (`true`) or resume the call's recording.
    PauseRecording {
        pause: bool,
        reply: oneshot::Sender<Result<(), SuperviseError>>,
    },
}

/// Why a supervisor cannot join, or change how.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SuperviseError {
    #[error("call `{0}` is not bridged on this node (not answered yet, or over)")]
    NotLive(String),
    #[error("the call has a supervisor already; change the mode with PUT")]
    Supervised,
    #[error("no supervisor is on the call; join one with POST")]
    Unsupervised,
    #[error("the supervisor cannot be rung: {0}")]
    Unreachable(String),
    #[error("the call ended")]
    Ended,
    #[error("the call is not recorded")]
    NotRecorded,
    #[error("the recording cannot be paused or resumed now: {0}")]
    Recording(String),
}

/// The bridged calls of this node, by record id. Cheap to clone.
#[derive(Clone, Default)]
pub struct LiveCalls(Arc<Mutex<HashMap<String, mpsc::UnboundedSender<CallCommand>>>>);

/// A call's place in [`LiveCalls`]; it leaves when this is dropped.
pub(super) struct LiveCall {
    calls: LiveCalls,
    id: String,
}

impl Drop for LiveCall {
    fn drop(&mut self) {
        self.calls.lock().remove(&self.id);
    }
}

impl LiveCalls {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, mpsc::UnboundedSender<CallCommand>>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Lists call `id` while the returned guard lives; its commands arrive
    /// on the receiver.
    pub(super) fn enter(&self, id: &str) -> (LiveCall, mpsc::UnboundedReceiver<CallCommand>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        self.lock().insert(id.to_owned(), sender);
        let call = LiveCall {
            calls: self.clone(),
            id: id.to_owned(),
        };
        (call, receiver)
    }

    /// Rings the phones of user `extension` and joins the answer to call
    /// `id` in `mode`; returns once the phones ring.
    pub async fn supervise(
        &self,
        id: &str,
        extension: &str,
        mode: SupervisorMode,
    ) -> Result<(), SuperviseError> {
        self.ask(id, |reply| CallCommand::Supervise {
            extension: extension.to_owned(),
            mode,
            reply,
        })
        .await
    }

    /// Changes how the supervisor of call `id` takes part.
    pub async fn set_mode(&self, id: &str, mode: SupervisorMode) -> Result<(), SuperviseError> {
        self.ask(id, |reply| CallCommand::SetMode { mode, reply })
            .await
    }

    /// Pauses (`true`) or resumes the recording of call `id`.
    pub async fn pause_recording(&self, id: &str, pause: bool) -> Result<(), SuperviseError> {
        self.ask(id, |reply| CallCommand::PauseRecording { pause, reply })
            .await
    }

    async fn ask(
        &self,
        id: &str,
        command: impl FnOnce(oneshot::Sender<Result<(), SuperviseError>>) -> CallCommand,
    ) -> Result<(), SuperviseError> {
        let sender = self
            .lock()
            .get(id)
            .cloned()
            .ok_or_else(|| SuperviseError::NotLive(id.to_owned()))?;
        let (reply, answer) = oneshot::channel();
        sender
            .send(command(reply))
            .map_err(|_| SuperviseError::Ended)?;
        answer.await.map_err(|_| SuperviseError::Ended)?
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_that_left_cannot_be_supervised() {
        let calls = LiveCalls::default();
        let (call, _commands) = calls.enter("c1");
        drop(call);
        let refused = calls.supervise("c1", "1003", SupervisorMode::Monitor).await;
        assert_eq!(refused, Err(SuperviseError::NotLive("c1".to_owned())));
    }
}
