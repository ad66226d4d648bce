//! The channel between the endpoint task and call control: [`CallEvent`]s go
//! up, [`SipCommands`] come down. Call control lives in another task (in the
//! `kefu` binary), so it never holds the core; it names transactions and
//! dialogs by id, and the endpoint task applies its commands in order.

use rsip::{Method, Response};
use tokio::sync::{mpsc, oneshot};

use crate::dialog::{Body, DialogId};
use crate::transaction::{Peer, TransactionError, TransactionId};
use crate::uas::{CallError, CallEvent, OutgoingInvite};

/// What call control asks of the core.
#[derive(Debug)]
pub(super) enum Command {
    Respond {
        tx: TransactionId,
        response: Box<Response>,
        reply: oneshot::Sender<Result<Option<DialogId>, CallError>>,
    },
    SendRequest {
        dialog: DialogId,
        method: Method,
        body: Option<Body>,
        headers: Vec<rsip::Header>,
        reply: oneshot::Sender<Result<TransactionId, CallError>>,
    },
    Invite {
        invite: Box<OutgoingInvite>,
        reply: oneshot::Sender<Result<TransactionId, CallError>>,
    },
    Cancel {
        tx: TransactionId,
        headers: Vec<rsip::Header>,
    },
    Challenge {
        tx: TransactionId,
    },
    Contacts {
        realm: String,
        user: String,
        reply: oneshot::Sender<Vec<(String, Peer)>>,
    },
}

/// Call control's end of the channel: the events, and a handle for commands.
pub struct CallChannel {
    /// Every [`CallEvent`], in order. Unbounded so that the endpoint task never
    /// waits for call control; call control must keep reading.
    pub events: mpsc::UnboundedReceiver<CallEvent>,
    /// Sends answers and requests; clone it into each call.
    pub commands: SipCommands,
}

/// Sends call control's commands to the core. Cheap to clone.
#[derive(Debug, Clone)]
pub struct SipCommands {
    sender: mpsc::UnboundedSender<Command>,
}

impl SipCommands {
    pub(super) fn new(sender: mpsc::UnboundedSender<Command>) -> Self {
        Self { sender }
    }

    /// Answers server transaction `tx` (see [`crate::uas::Calls::respond`]);
    /// returns the dialog a 2xx to an INVITE created.
    pub async fn respond(
        &self,
        tx: TransactionId,
        response: Response,
    ) -> Result<Option<DialogId>, CallError> {
        let (reply, answer) = oneshot::channel();
        let command = Command::Respond {
            tx,
            response: Box::new(response),
            reply,
        };
        let stopped = || CallError::NoSuchRequest(tx);
        self.sender.send(command).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Sends `method` in `dialog` and returns its client transaction, whose
    /// responses arrive as [`CallEvent::Response`].
    pub async fn send_request(
        &self,
        dialog: &DialogId,
        method: Method,
        body: Option<Body>,
    ) -> Result<TransactionId, CallError> {
        self.send_request_with(dialog, method, body, Vec::new())
            .await
    }

    /// [`Self::send_request`] with extra headers, e.g. a NOTIFY's `Event`
    /// and `Subscription-State`.
    pub async fn send_request_with(
        &self,
        dialog: &DialogId,
        method: Method,
        body: Option<Body>,
        headers: Vec<rsip::Header>,
    ) -> Result<TransactionId, CallError> {
        let (reply, answer) = oneshot::channel();
        let command = Command::SendRequest {
            dialog: dialog.clone(),
            method,
            body,
            headers,
            reply,
        };
        let stopped = || CallError::NoSuchDialog(dialog.clone());
        self.sender.send(command).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Sends an INVITE (a B-leg) and returns its client transaction.
    pub async fn invite(&self, invite: OutgoingInvite) -> Result<TransactionId, CallError> {
        let (reply, answer) = oneshot::channel();
        let command = Command::Invite {
            invite: Box::new(invite),
            reply,
        };
        let stopped = || CallError::Transaction(TransactionError::NoSuchTransaction);
        self.sender.send(command).map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }

    /// Answers INVITE `tx` with a digest challenge (see
    /// [`crate::uas::UasCore::challenge`]).
    pub fn challenge(&self, tx: TransactionId) {
        if self.sender.send(Command::Challenge { tx }).is_err() {
            tracing::debug!(%tx, "SIP driver stopped; challenge not sent");
        }
    }

    /// Cancels INVITE `tx` (sent once it is ringing; nothing if it ended).
    pub fn cancel(&self, tx: TransactionId) {
        self.cancel_with(tx, Vec::new());
    }

    /// [`Self::cancel`] with extra headers on the CANCEL: why (`Reason`,
    /// RFC 3326), e.g. another phone answered.
    pub fn cancel_with(&self, tx: TransactionId, headers: Vec<rsip::Header>) {
        if self.sender.send(Command::Cancel { tx, headers }).is_err() {
            tracing::debug!(%tx, "SIP driver stopped; CANCEL not sent");
        }
    }

    /// The live registered contacts of `user` in `realm`, with the address
    /// each registered from.
    pub async fn contacts(&self, realm: &str, user: &str) -> Vec<(String, Peer)> {
        let (reply, answer) = oneshot::channel();
        let command = Command::Contacts {
            realm: realm.to_owned(),
            user: user.to_owned(),
            reply,
        };
        if self.sender.send(command).is_err() {
            return Vec::new();
        }
        answer.await.unwrap_or_default()
    }
}
