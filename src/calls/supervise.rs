//! Live bridged calls, as the rest of kefu sees them: [`LiveCalls`] (shared
//! with the HTTP API) knows every bridged call of this node by its record id
//! (and by its caller's dialog, which an attended transfer names) and hands
//! it [`CallCommand`]s — join a supervisor's phone in a mode, change the
//! mode, pause or resume the recording, hand the callee over to another
//! call — which the bridged call carries out
//! ([`super::bridge`]: the supervisor's phone is rung like an agent's; on
//! answer the relay gives its ports to a three-way conference whose
//! hear-matrix is the mode; when the supervisor hangs up the relay takes
//! over again and the call goes on untouched). It also tells wallboards
//! which calls are up and who supervises them ([`LiveCalls::calls_of`],
//! with [`LiveCalls::changes`] naming the tenant whenever that changes).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use kefu_media::mixer::SupervisorMode;
use kefu_signaling::dialog::DialogId;
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot};
use utoipa::ToSchema;

use crate::store::Millis;

/// Tenant changes kept for slow wallboards.
const CHANGE_BUFFER: usize = 256;

use super::Adopter;
use super::bridge::AgentSide;
use super::refer::Replaces;

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
    /// Give the callee's side to the call of `adopter` (an attended
    /// transfer of the caller's phone joins it to another call's caller),
    /// hang up the caller and end.
    HandOver {
        adopter: Adopter,
        reply: oneshot::Sender<Result<HandedOver, HandOverError>>,
    },
}

/// A callee's side handed over to another call, and where it came from.
pub(super) struct HandedOver {
    pub side: AgentSide,
    /// The record of the call it left.
    pub record: Option<String>,
}

impl std::fmt::Debug for HandedOver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HandedOver")
            .field("dialog", &self.side.dialog)
            .field("record", &self.record)
            .finish_non_exhaustive()
    }
}

/// Why a call's callee cannot be handed over; each says the final status
/// the transferring phone is told (in a NOTIFY's sipfrag).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(super) enum HandOverError {
    #[error("no live call has that dialog")]
    NoSuchDialog,
    #[error("the call is not between two parties now (supervised, transferring)")]
    Busy,
    #[error("the call's media failed")]
    MediaFailed,
    #[error("the call ended")]
    Ended,
}

impl HandOverError {
    /// The status and reason of the replaced dialog's INVITE, as the
    /// transferring phone is told.
    pub fn status(self) -> (u16, &'static str) {
        match self {
            Self::NoSuchDialog | Self::Ended => (481, "Call/Transaction Does Not Exist"),
            Self::Busy => (486, "Busy Here"),
            Self::MediaFailed => (500, "Server Internal Error"),
        }
    }
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

/// A bridged call as wallboards see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LiveCallView {
    /// The call record's id.
    pub id: String,
    #[serde(skip)]
    pub tenant_id: String,
    /// When the call was bridged (Unix ms).
    pub bridged_at: i64,
    /// The supervisor on the call, if any.
    pub supervision: Option<SupervisionView>,
}

/// Who supervises a call, how, and whether their phone still rings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct SupervisionView {
    /// The supervisor's extension.
    pub supervisor: String,
    /// `monitor`, `whisper` or `barge`.
    pub mode: &'static str,
    /// `ringing` or `joined`.
    pub stage: &'static str,
}

/// The API name of a supervisor mode.
pub fn mode_name(mode: SupervisorMode) -> &'static str {
    match mode {
        SupervisorMode::Monitor => "monitor",
        SupervisorMode::Whisper => "whisper",
        SupervisorMode::Barge => "barge",
    }
}

/// A listed call: where its commands go, how wallboards see it, and its
/// caller's dialog (which an attended transfer names).
struct Entry {
    commands: mpsc::UnboundedSender<CallCommand>,
    view: LiveCallView,
    caller: DialogId,
}

struct Inner {
    calls: Mutex<HashMap<String, Entry>>,
    changes: broadcast::Sender<String>,
}

/// The bridged calls of this node, by record id. Cheap to clone.
#[derive(Clone)]
pub struct LiveCalls(Arc<Inner>);

impl Default for LiveCalls {
    fn default() -> Self {
        LiveCalls(Arc::new(Inner {
            calls: Mutex::new(HashMap::new()),
            changes: broadcast::channel(CHANGE_BUFFER).0,
        }))
    }
}

/// A call's place in [`LiveCalls`]; it leaves when this is dropped.
pub(super) struct LiveCall {
    calls: LiveCalls,
    id: String,
    tenant_id: String,
}

impl LiveCall {
    /// Shows who supervises the call now (wallboards hear of a change).
    pub(super) fn supervised(&self, supervision: Option<SupervisionView>) {
        let changed = match self.calls.lock().get_mut(&self.id) {
            Some(entry) if entry.view.supervision != supervision => {
                entry.view.supervision = supervision;
                true
            }
            _ => false,
        };
        if changed {
            let _ = self.calls.0.changes.send(self.tenant_id.clone());
        }
    }
}

impl Drop for LiveCall {
    fn drop(&mut self) {
        self.calls.lock().remove(&self.id);
        let _ = self.calls.0.changes.send(self.tenant_id.clone());
    }
}

impl LiveCalls {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.0
            .calls
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Lists call `id` of tenant `tenant_id`, whose caller is in dialog
    /// `caller`, while the returned guard lives; its commands arrive on the
    /// receiver.
    pub(super) fn enter(
        &self,
        id: &str,
        tenant_id: &str,
        caller: &DialogId,
    ) -> (LiveCall, mpsc::UnboundedReceiver<CallCommand>) {
        let (commands, receiver) = mpsc::unbounded_channel();
        let view = LiveCallView {
            id: id.to_owned(),
            tenant_id: tenant_id.to_owned(),
            bridged_at: Millis::now().0,
            supervision: None,
        };
        self.lock().insert(
            id.to_owned(),
            Entry {
                commands,
                view,
                caller: caller.clone(),
            },
        );
        let _ = self.0.changes.send(tenant_id.to_owned());
        let call = LiveCall {
            calls: self.clone(),
            id: id.to_owned(),
            tenant_id: tenant_id.to_owned(),
        };
        (call, receiver)
    }

    /// The tenant's bridged calls on this node, oldest first.
    pub fn calls_of(&self, tenant_id: &str) -> Vec<LiveCallView> {
        let mut calls: Vec<LiveCallView> = self
            .lock()
            .values()
            .filter(|entry| entry.view.tenant_id == tenant_id)
            .map(|entry| entry.view.clone())
            .collect();
        calls.sort_by(|a, b| (a.bridged_at, &a.id).cmp(&(b.bridged_at, &b.id)));
        calls
    }

    /// From now on, the tenant id of each call that is bridged, ends, or
    /// whose supervision changes.
    pub fn changes(&self) -> broadcast::Receiver<String> {
        self.0.changes.subscribe()
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

    /// Asks the call whose caller is in the dialog `replaces` names to
    /// hand its callee's side to `adopter`'s call.
    pub(super) async fn hand_over(
        &self,
        replaces: &Replaces,
        adopter: Adopter,
    ) -> Result<HandedOver, HandOverError> {
        let sender = self
            .lock()
            .values()
            .find(|listed| replaces.names(&listed.caller))
            .map(|listed| listed.commands.clone())
            .ok_or(HandOverError::NoSuchDialog)?;
        let (reply, answer) = oneshot::channel();
        sender
            .send(CallCommand::HandOver { adopter, reply })
            .map_err(|_| HandOverError::Ended)?;
        answer.await.map_err(|_| HandOverError::Ended)?
    }

    async fn ask(
        &self,
        id: &str,
        command: impl FnOnce(oneshot::Sender<Result<(), SuperviseError>>) -> CallCommand,
    ) -> Result<(), SuperviseError> {
        let sender = self
            .lock()
            .get(id)
            .map(|entry| entry.commands.clone())
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

    fn dialog(call_id: &str) -> DialogId {
        DialogId {
            call_id: call_id.to_owned(),
            local_tag: "kefu".to_owned(),
            remote_tag: "phone".to_owned(),
        }
    }

    #[tokio::test]
    async fn a_call_that_left_cannot_be_supervised() {
        let calls = LiveCalls::default();
        let (call, _commands) = calls.enter("c1", "t", &dialog("sip-1"));
        drop(call);
        let refused = calls.supervise("c1", "1003", SupervisorMode::Monitor).await;
        assert_eq!(refused, Err(SuperviseError::NotLive("c1".to_owned())));
    }

    #[test]
    fn wallboards_hear_of_calls_and_their_supervision_per_tenant() {
        let calls = LiveCalls::default();
        let mut changes = calls.changes();
        let (first, _commands) = calls.enter("c1", "t", &dialog("sip-1"));
        let (_other, _other_commands) = calls.enter("c2", "u", &dialog("sip-2"));
        assert_eq!(changes.try_recv().ok().as_deref(), Some("t"));
        assert_eq!(changes.try_recv().ok().as_deref(), Some("u"));
        let listed: Vec<String> = calls.calls_of("t").into_iter().map(|c| c.id).collect();
        assert_eq!(listed, ["c1"]);

        let ringing = SupervisionView {
            supervisor: "1009".into(),
            mode: mode_name(SupervisorMode::Whisper),
            stage: "ringing",
        };
        first.supervised(Some(ringing.clone()));
        first.supervised(Some(ringing.clone()));
        assert_eq!(changes.try_recv().ok().as_deref(), Some("t"));
        assert!(
            changes.try_recv().is_err(),
            "an unchanged supervision is not news"
        );
        assert_eq!(calls.calls_of("t")[0].supervision, Some(ringing));

        drop(first);
        assert_eq!(changes.try_recv().ok().as_deref(), Some("t"));
        assert!(calls.calls_of("t").is_empty());
    }

    #[tokio::test]
    async fn a_hand_over_finds_the_call_by_its_callers_dialog_only() {
        let calls = LiveCalls::default();
        let (_call, mut commands) = calls.enter("c1", "t", &dialog("sip-1"));
        let registry = crate::calls::Registry::default();
        let (routes, _events) = registry.add_call("sip-2").unwrap();
        let named = |local: &str| Replaces {
            call_id: "sip-1".to_owned(),
            to_tag: local.to_owned(),
            from_tag: "phone".to_owned(),
        };
        let wrong_tag = calls.hand_over(&named("other"), routes.adopter()).await;
        assert_eq!(wrong_tag.err(), Some(HandOverError::NoSuchDialog));
        let right = named("kefu");
        let asking = calls.hand_over(&right, routes.adopter());
        let answering = async {
            let Some(CallCommand::HandOver { reply, .. }) = commands.recv().await else {
                panic!("no hand-over asked");
            };
            let _ = reply.send(Err(HandOverError::Busy));
        };
        let (asked, ()) = tokio::join!(asking, answering);
        assert_eq!(asked.err(), Some(HandOverError::Busy));
    }
}
