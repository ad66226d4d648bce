//! The core's call pathway, sans-IO: what lets call control (in the `kefu`
//! binary) run INVITE sessions without seeing a transaction.
//!
//! [`Calls`] hands call control a [`CallEvent`] for each INVITE that starts a
//! dialog and for everything that happens in a dialog afterwards, and takes its
//! answers ([`Calls::respond`]) and requests ([`Calls::send_request`]). It keeps
//! what RFC 3261 gives the UA core rather than the transaction: the To tag of
//! each INVITE (the same on every response), the [`Dialog`]s, the 2xx
//! retransmission until the ACK arrives (§13.3.1.4: T1 doubling to T2, given up
//! after 64·T1, when call control is told to hang up), CANCEL (200 to the
//! CANCEL, 487 to the INVITE, §9.2), BYE (200, dialog gone, §15.1.2), 481
//! for requests naming a dialog that does not exist (§12.2.2), and session
//! timers (RFC 4028, see [`session_timer`]).

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use rsip::headers::{Contact, UntypedHeader};
use rsip::{Header, Method, Request, Response, Uri};

use super::session_timer::{self, Asked};
use crate::dialog::{Body, Dialog, DialogError, DialogId, tag_of};
use crate::message::{add_to_tag, response_to};
use crate::transaction::{Input, Peer, Timers, TransactionError, TransactionId, TransactionLayer};

/// News for call control. Every event names the Call-ID it belongs to
/// ([`CallEvent::call_id`]), so call control can hand it to the right call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallEvent {
    /// An INVITE that starts a dialog (server transaction `tx`). Answer it with
    /// [`Calls::respond`]: provisional responses, then one final response.
    Invite {
        /// The INVITE server transaction.
        tx: TransactionId,
        /// The INVITE.
        request: Box<Request>,
        /// Where it came from.
        source: Peer,
        /// The user whose digest credentials it carried, verified; `None`
        /// without credentials (call control may ask for them with
        /// [`crate::uas::UasCore::challenge`]).
        user: Option<String>,
    },
    /// The caller cancelled INVITE `tx`; the core already answered 487.
    Cancelled {
        /// The INVITE's server transaction.
        tx: TransactionId,
        /// Its Call-ID.
        call_id: String,
        /// The CANCEL's `Reason` headers (RFC 3326), comma-joined, if any.
        reason: Option<String>,
    },
    /// The ACK for our 2xx arrived; its body answers an offer our 2xx made.
    Ack {
        /// The dialog.
        dialog: DialogId,
        /// The ACK.
        request: Box<Request>,
    },
    /// The ACK for our 2xx never came: the session is dead (§13.3.1.4); call
    /// control should send BYE.
    AckTimeout {
        /// The dialog.
        dialog: DialogId,
    },
    /// The session timer ran out without a refresh (RFC 4028): the far end
    /// is gone; call control should send BYE.
    SessionExpired {
        /// The dialog.
        dialog: DialogId,
    },
    /// A request inside a dialog that call control answers with
    /// [`Calls::respond`]: re-INVITE, UPDATE, INFO, REFER, NOTIFY, MESSAGE.
    Request {
        /// The server transaction.
        tx: TransactionId,
        /// The dialog.
        dialog: DialogId,
        /// The request.
        request: Box<Request>,
    },
    /// The peer hung up: its BYE was answered 200 and the dialog is gone.
    Bye {
        /// The dialog.
        dialog: DialogId,
        /// The BYE (for its `Reason` header).
        request: Box<Request>,
    },
    /// A 2xx to an INVITE we sent ([`Calls::invite`]): the dialog is up and
    /// the core has sent the ACK.
    Answered {
        /// The INVITE client transaction.
        tx: TransactionId,
        /// The dialog the 2xx made.
        dialog: DialogId,
        /// The 2xx (its body answers our offer).
        response: Box<Response>,
    },
    /// A response (other than such a 2xx) to request `tx` we sent.
    Response {
        /// The client transaction.
        tx: TransactionId,
        /// The dialog's Call-ID.
        call_id: String,
        /// The response.
        response: Box<Response>,
    },
    /// Request `tx` got no final response (timeout or transport failure).
    RequestFailed {
        /// The client transaction.
        tx: TransactionId,
        /// The dialog's Call-ID.
        call_id: String,
    },
}

impl CallEvent {
    /// The Call-ID of the call this event belongs to.
    pub fn call_id(&self) -> &str {
        match self {
            Self::Invite { request, .. } => header_call_id(request),
            Self::Ack { dialog, .. }
            | Self::Answered { dialog, .. }
            | Self::AckTimeout { dialog }
            | Self::SessionExpired { dialog }
            | Self::Request { dialog, .. }
            | Self::Bye { dialog, .. } => &dialog.call_id,
            Self::Cancelled { call_id, .. }
            | Self::Response { call_id, .. }
            | Self::RequestFailed { call_id, .. } => call_id,
        }
    }
}

/// Why call control's command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// The server transaction is not waiting for an answer from call control.
    #[error("no request awaits an answer in transaction {0}")]
    NoSuchRequest(TransactionId),
    /// The dialog does not exist (any more).
    #[error("no dialog {0}")]
    NoSuchDialog(DialogId),
    /// The dialog could not be created from the INVITE.
    #[error("cannot create the dialog: {0}")]
    Dialog(#[from] DialogError),
    /// The transaction layer refused.
    #[error(transparent)]
    Transaction(#[from] TransactionError),
}

/// What the core does with a request it passed to [`Calls::on_request`].
pub(super) enum Handling {
    /// Call control got it as an event and will answer.
    Taken,
    /// The core sends this answer.
    Answer(Response),
    /// Not a call matter: the core answers it, handed back, as it would
    /// without calls.
    NotMine(Box<Request>),
}

/// An INVITE call control sends: a B-leg to a phone or a trunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingInvite {
    /// The Request-URI (a registered contact, or a number at a trunk).
    pub target: Uri,
    /// The `From` value, with a fresh tag (`<sip:4000@kefu>;tag=...`).
    pub from: String,
    /// The `To` value, without a tag.
    pub to: String,
    /// A fresh Call-ID: B-legs never reuse the caller's.
    pub call_id: String,
    /// Our SDP offer.
    pub body: Body,
    /// Where to send it (for a phone behind NAT, where it registered from).
    pub destination: Peer,
    /// Headers carried over from the caller's INVITE (configured, e.g.
    /// `P-Asserted-Identity`); nothing else of the caller's leg leaks.
    pub extra_headers: Vec<Header>,
}

/// An INVITE we sent, until its transaction ends.
struct Outgoing {
    request: Request,
    peer: Peer,
    /// The early or confirmed dialog its responses made.
    dialog: Option<DialogId>,
    /// Whether a 2xx confirmed that dialog.
    confirmed: bool,
}

/// An INVITE waiting for call control's final response.
struct PendingInvite {
    request: Request,
    dialog: Dialog,
    /// The session timer its 2xx grants, in seconds.
    session_timer: Option<u64>,
}

/// A dialog's session timer: its interval and when it runs out.
struct SessionTimer {
    seconds: u64,
    expires: Instant,
}

/// A 2xx we retransmit until its ACK arrives.
struct Unacked {
    response: Response,
    next: Instant,
    interval: Duration,
    give_up: Instant,
    reliable: bool,
}

/// The call pathway. See the [module docs](self).
pub struct Calls {
    contact: Uri,
    timers: Timers,
    pending: HashMap<TransactionId, PendingInvite>,
    in_dialog: HashMap<TransactionId, DialogId>,
    sent: HashMap<TransactionId, String>,
    outgoing: HashMap<TransactionId, Outgoing>,
    dialogs: HashMap<DialogId, Dialog>,
    unacked: HashMap<DialogId, Unacked>,
    session_timers: HashMap<DialogId, SessionTimer>,
    events: VecDeque<CallEvent>,
}

impl Calls {
    /// A pathway whose dialogs use `contact` as our Contact and Via sent-by.
    pub fn new(contact: Uri, timers: Timers) -> Self {
        Self {
            contact,
            timers,
            pending: HashMap::new(),
            in_dialog: HashMap::new(),
            sent: HashMap::new(),
            outgoing: HashMap::new(),
            dialogs: HashMap::new(),
            unacked: HashMap::new(),
            session_timers: HashMap::new(),
            events: VecDeque::new(),
        }
    }

    /// The next event for call control.
    pub fn poll_event(&mut self) -> Option<CallEvent> {
        self.events.pop_front()
    }

    /// How many dialogs are up.
    pub fn dialogs(&self) -> usize {
        self.dialogs.len()
    }

    /// A request (not ACK, not CANCEL) arrived in server transaction `tx`.
    /// Returns the response the core sends at once, if it answers itself.
    pub(super) fn on_request(
        &mut self,
        now: Instant,
        tx: TransactionId,
        request: Request,
        source: Peer,
        new_tag: &mut dyn FnMut() -> String,
        user: Option<String>,
    ) -> Handling {
        let Some(local_tag) = to_tag(&request) else {
            if request.method != Method::Invite {
                return Handling::NotMine(Box::new(request));
            }
            let tag = new_tag();
            let session_timer = match session_timer::asked(&request) {
                Asked::Nothing => None,
                Asked::Interval(seconds) => Some(seconds),
                Asked::TooSmall => {
                    let mut too_small = tagged(
                        response_to(&request, 422, "Session Interval Too Small"),
                        &tag,
                    );
                    session_timer::add_min_se(&mut too_small);
                    return Handling::Answer(too_small);
                }
            };
            return match Dialog::uas(&request, &tag, self.contact.clone(), source) {
                Ok(dialog) => {
                    self.pending.insert(
                        tx,
                        PendingInvite {
                            request: request.clone(),
                            dialog,
                            session_timer,
                        },
                    );
                    self.events.push_back(CallEvent::Invite {
                        tx,
                        request: Box::new(request),
                        source,
                        user,
                    });
                    Handling::Taken
                }
                Err(error) => Handling::Answer(tagged(
                    response_to(&request, 400, &format!("Bad Request ({error})")),
                    &tag,
                )),
            };
        };
        let Some((id, dialog)) = self.dialog_of_mut(&request, &local_tag) else {
            return Handling::Answer(response_to(
                &request,
                481,
                "Call/Transaction Does Not Exist",
            ));
        };
        if let Err(error) = dialog.check_remote_cseq(&request) {
            return Handling::Answer(response_to(
                &request,
                500,
                &format!("Server Internal Error ({error})"),
            ));
        }
        if matches!(request.method, Method::Invite | Method::Update) {
            if let Some(timer) = self.session_timers.get_mut(&id) {
                timer.expires = session_timer::deadline(now, timer.seconds);
            }
        }
        match request.method {
            Method::Bye => {
                self.dialogs.remove(&id);
                self.unacked.remove(&id);
                self.session_timers.remove(&id);
                let ok = response_to(&request, 200, "OK");
                self.events.push_back(CallEvent::Bye {
                    dialog: id,
                    request: Box::new(request),
                });
                Handling::Answer(ok)
            }
            Method::Options => Handling::NotMine(Box::new(request)),
            _ => {
                self.in_dialog.insert(tx, id.clone());
                self.events.push_back(CallEvent::Request {
                    tx,
                    dialog: id,
                    request: Box::new(request),
                });
                Handling::Taken
            }
        }
    }

    /// A CANCEL arrived for INVITE `invite`: answers for the core, the CANCEL's
    /// response first, then the INVITE's 487 when it was still pending.
    pub(super) fn on_cancel(
        &mut self,
        cancel: &Request,
        invite: Option<TransactionId>,
    ) -> Option<(Response, Option<(TransactionId, Response)>)> {
        let invite = invite?;
        let pending = self.pending.remove(&invite)?;
        let local_tag = pending.dialog.id().local_tag.clone();
        let ok = tagged(response_to(cancel, 200, "OK"), &local_tag);
        let mut terminated = response_to(cancel, 487, "Request Terminated");
        set_cseq_method(&mut terminated, Method::Invite);
        let terminated = tagged(terminated, &local_tag);
        self.events.push_back(CallEvent::Cancelled {
            tx: invite,
            call_id: pending.dialog.id().call_id.clone(),
            reason: crate::message::reason(cancel),
        });
        Some((ok, Some((invite, terminated))))
    }

    /// An ACK outside any transaction: the ACK for one of our 2xx.
    pub(super) fn on_ack(&mut self, request: Request) {
        let Some(local_tag) = to_tag(&request) else {
            return;
        };
        let Some((id, _)) = self.dialog_of_mut(&request, &local_tag) else {
            return;
        };
        if self.unacked.remove(&id).is_some() {
            self.events.push_back(CallEvent::Ack {
                dialog: id,
                request: Box::new(request),
            });
        }
    }

    /// A response arrived for client transaction `tx`.
    pub(super) fn on_response(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        tx: TransactionId,
        response: Response,
    ) {
        if self.outgoing.contains_key(&tx) {
            self.on_invite_response(now, layer, tx, response);
            return;
        }
        let Some(call_id) = self.sent.get(&tx).cloned() else {
            return;
        };
        if response.status_code.code() >= 200 {
            self.sent.remove(&tx);
        }
        self.events.push_back(CallEvent::Response {
            tx,
            call_id,
            response: Box::new(response),
        });
    }

    /// A response to one of our INVITEs: 1xx with a tag makes an early
    /// dialog, 2xx confirms it and is ACKed (again for each retransmission),
    /// a failure ends the early dialog.
    fn on_invite_response(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        tx: TransactionId,
        response: Response,
    ) {
        let Some(outgoing) = self.outgoing.get_mut(&tx) else {
            return;
        };
        let code = response.status_code.code();
        let call_id = header_call_id(&outgoing.request).to_owned();
        let dialog = match &outgoing.dialog {
            Some(id) if self.dialogs.contains_key(id) => Some(id.clone()),
            _ if (101..300).contains(&code) => {
                match Dialog::uac(
                    &outgoing.request,
                    &response,
                    self.contact.clone(),
                    outgoing.peer,
                ) {
                    Ok(dialog) => {
                        let id = dialog.id().clone();
                        self.dialogs.insert(id.clone(), dialog);
                        outgoing.dialog = Some(id.clone());
                        Some(id)
                    }
                    Err(error) => {
                        tracing::debug!(%error, "a response to our INVITE makes no dialog");
                        None
                    }
                }
            }
            _ => None,
        };
        match (code, dialog) {
            (200..=299, Some(id)) => {
                outgoing.confirmed = true;
                let first = self.sent.remove(&tx).is_some();
                if let Some(dialog) = self.dialogs.get(&id) {
                    let cseq = dialog.local_cseq();
                    let branch = format!("ack{}{}", id.local_tag, id.remote_tag.len());
                    let ack = dialog.ack(cseq, None, &branch);
                    let destination = dialog.peer();
                    let send = Input::SendStateless {
                        message: rsip::SipMessage::Request(ack),
                        destination,
                    };
                    if let Err(error) = layer.handle_input(now, send) {
                        tracing::debug!(%error, "cannot send the ACK");
                    }
                }
                if first {
                    self.events.push_back(CallEvent::Answered {
                        tx,
                        dialog: id,
                        response: Box::new(response),
                    });
                }
            }
            (300.., early) => {
                if let Some(id) = early {
                    self.dialogs.remove(&id);
                }
                if self.sent.remove(&tx).is_some() {
                    self.events.push_back(CallEvent::Response {
                        tx,
                        call_id,
                        response: Box::new(response),
                    });
                }
            }
            _ => self.events.push_back(CallEvent::Response {
                tx,
                call_id,
                response: Box::new(response),
            }),
        }
    }

    /// Takes INVITE `tx` out of the pending ones for a final response the
    /// core builds (a challenge): its request and To tag.
    pub(super) fn take_pending(&mut self, tx: TransactionId) -> Option<(Request, String)> {
        let pending = self.pending.remove(&tx)?;
        let tag = pending.dialog.id().local_tag.clone();
        Some((pending.request, tag))
    }

    /// Call control sends an INVITE (a B-leg); its responses come back as
    /// [`CallEvent::Response`] and [`CallEvent::Answered`].
    pub fn invite(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        invite: OutgoingInvite,
    ) -> Result<TransactionId, CallError> {
        let request = self.invite_request(&invite);
        let send = Input::SendRequest {
            request: request.clone(),
            destination: invite.destination,
        };
        let tx = layer
            .handle_input(now, send)?
            .ok_or(TransactionError::NoSuchTransaction)?;
        self.sent.insert(tx, invite.call_id.clone());
        self.outgoing.insert(
            tx,
            Outgoing {
                request,
                peer: invite.destination,
                dialog: None,
                confirmed: false,
            },
        );
        Ok(tx)
    }

    /// Call control gives up on INVITE `tx` (another fork answered, the caller
    /// hung up, nobody answered in time): CANCEL, with `headers` (a `Reason`,
    /// RFC 3326), once it is ringing.
    pub fn cancel(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        tx: TransactionId,
        headers: Vec<rsip::Header>,
    ) -> Result<(), CallError> {
        layer.handle_input(
            now,
            Input::Cancel {
                invite: tx,
                headers,
            },
        )?;
        Ok(())
    }

    fn invite_request(&self, invite: &OutgoingInvite) -> Request {
        use rsip::headers::{CSeq, CallId, ContentLength, ContentType, From, MaxForwards, To, Via};
        let via = format!(
            "SIP/2.0/{} {};rport",
            crate::dialog::transport_token(invite.destination),
            self.contact.host_with_port
        );
        let mut headers: Vec<Header> = vec![
            Header::Via(Via::new(via)),
            Header::MaxForwards(MaxForwards::new("70")),
            Header::From(From::new(invite.from.clone())),
            Header::To(To::new(invite.to.clone())),
            Header::CallId(CallId::new(invite.call_id.clone())),
            Header::CSeq(CSeq::new("1 INVITE")),
            Header::Contact(Contact::new(format!("<{}>", self.contact))),
            Header::ContentType(ContentType::new(invite.body.content_type.clone())),
            Header::ContentLength(ContentLength::new(invite.body.bytes.len().to_string())),
        ];
        headers.extend(invite.extra_headers.iter().cloned());
        Request {
            method: Method::Invite,
            uri: invite.target.clone(),
            version: rsip::Version::V2,
            headers: headers.into(),
            body: invite.body.bytes.clone(),
        }
    }

    /// Client transaction `tx` ended without a final response.
    pub(super) fn on_request_failed(&mut self, tx: TransactionId) {
        if let Some(call_id) = self.sent.remove(&tx) {
            self.events
                .push_back(CallEvent::RequestFailed { tx, call_id });
        }
    }

    /// Transaction `tx` is gone: forget what waited on it.
    pub(super) fn on_terminated(&mut self, tx: TransactionId) {
        self.pending.remove(&tx);
        self.in_dialog.remove(&tx);
        if let Some(outgoing) = self.outgoing.remove(&tx) {
            if let (Some(id), false) = (outgoing.dialog, outgoing.confirmed) {
                self.dialogs.remove(&id);
            }
        }
        self.on_request_failed(tx);
    }

    /// Call control answers the request of server transaction `tx`. The To tag
    /// is added; a 2xx to an INVITE gets our Contact, creates the dialog and is
    /// retransmitted until its ACK. Returns the dialog a 2xx created.
    pub fn respond(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        tx: TransactionId,
        mut response: Response,
    ) -> Result<Option<DialogId>, CallError> {
        let code = response.status_code.code();
        if let Some(pending) = self.pending.get(&tx) {
            add_to_tag(&mut response, &pending.dialog.id().local_tag);
            if (101..300).contains(&code) {
                add_contact(&mut response, &self.contact);
            }
            if let (200..=299, Some(seconds)) = (code, pending.session_timer) {
                session_timer::grant(&mut response, seconds);
            }
            layer.handle_input(
                now,
                Input::SendResponse {
                    response: response.clone(),
                },
            )?;
            if code < 200 {
                return Ok(None);
            }
            let Some(pending) = self.pending.remove(&tx) else {
                return Ok(None);
            };
            if code >= 300 {
                return Ok(None);
            }
            let dialog = pending.dialog;
            let id = dialog.id().clone();
            if let Some(seconds) = pending.session_timer {
                let expires = session_timer::deadline(now, seconds);
                self.session_timers
                    .insert(id.clone(), SessionTimer { seconds, expires });
            }
            let interval = self.timers.t1;
            self.unacked.insert(
                id.clone(),
                Unacked {
                    response,
                    next: now + interval,
                    interval,
                    give_up: now + self.timers.transaction_timeout(),
                    reliable: dialog.peer().transport.is_reliable(),
                },
            );
            self.dialogs.insert(id.clone(), dialog);
            return Ok(Some(id));
        }
        if let Some(id) = self.in_dialog.remove(&tx) {
            let refresh = response_cseq_method(&response)
                .is_some_and(|method| matches!(method, Method::Invite | Method::Update));
            if let (200..=299, true, Some(timer)) = (code, refresh, self.session_timers.get(&id)) {
                session_timer::grant(&mut response, timer.seconds);
            }
            layer.handle_input(now, Input::SendResponse { response })?;
            return Ok(None);
        }
        Err(CallError::NoSuchRequest(tx))
    }

    /// Sends a new request in `dialog` (BYE ends the dialog at once, §15).
    pub fn send_request(
        &mut self,
        now: Instant,
        layer: &mut TransactionLayer,
        dialog: &DialogId,
        method: Method,
        body: Option<Body>,
        headers: Vec<rsip::Header>,
    ) -> Result<TransactionId, CallError> {
        let state = self
            .dialogs
            .get_mut(dialog)
            .ok_or_else(|| CallError::NoSuchDialog(dialog.clone()))?;
        let mut request = state.request(method, body);
        request.headers.extend(headers);
        let destination = state.peer();
        if method == Method::Bye {
            self.dialogs.remove(dialog);
            self.unacked.remove(dialog);
            self.session_timers.remove(dialog);
        }
        let tx = layer
            .handle_input(
                now,
                Input::SendRequest {
                    request,
                    destination,
                },
            )?
            .ok_or(CallError::NoSuchDialog(dialog.clone()))?;
        self.sent.insert(tx, dialog.call_id.clone());
        Ok(tx)
    }

    /// When the next 2xx retransmission or give-up is due.
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        let retransmits = self.unacked.values().map(|unacked| {
            if unacked.reliable {
                unacked.give_up
            } else {
                unacked.next.min(unacked.give_up)
            }
        });
        let timers = self.session_timers.values().map(|timer| timer.expires);
        retransmits.chain(timers).min()
    }

    /// Retransmits due 2xx responses and gives up on those never ACKed.
    pub(super) fn handle_timeout(&mut self, now: Instant, layer: &mut TransactionLayer) {
        let t2 = self.timers.t2;
        let mut dead = Vec::new();
        for (id, unacked) in &mut self.unacked {
            if unacked.give_up <= now {
                dead.push(id.clone());
            } else if !unacked.reliable && unacked.next <= now {
                let resend = Input::SendResponse {
                    response: unacked.response.clone(),
                };
                if let Err(error) = layer.handle_input(now, resend) {
                    tracing::debug!(%error, dialog = %id, "cannot retransmit a 2xx");
                }
                unacked.interval = (unacked.interval * 2).min(t2);
                unacked.next = now + unacked.interval;
            }
        }
        for id in dead {
            self.unacked.remove(&id);
            self.events.push_back(CallEvent::AckTimeout { dialog: id });
        }
        let expired: Vec<DialogId> = self
            .session_timers
            .iter()
            .filter(|(_, timer)| timer.expires <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.session_timers.remove(&id);
            self.events
                .push_back(CallEvent::SessionExpired { dialog: id });
        }
    }

    fn dialog_of_mut(
        &mut self,
        request: &Request,
        local_tag: &str,
    ) -> Option<(DialogId, &mut Dialog)> {
        let remote_tag = request.headers.iter().find_map(|h| match h {
            Header::From(from) => tag_of(from.value()),
            _ => None,
        })?;
        let id = DialogId {
            call_id: header_call_id(request).to_owned(),
            local_tag: local_tag.to_owned(),
            remote_tag,
        };
        let dialog = self.dialogs.get_mut(&id)?;
        Some((id, dialog))
    }
}

/// Whether `request` is an INVITE outside any dialog (no To tag).
pub(super) fn starts_dialog(request: &Request) -> bool {
    request.method == Method::Invite && to_tag(request).is_none()
}

fn to_tag(request: &Request) -> Option<String> {
    request.headers.iter().find_map(|h| match h {
        Header::To(to) => tag_of(to.value()),
        _ => None,
    })
}

fn header_call_id(request: &Request) -> &str {
    request
        .headers
        .iter()
        .find_map(|h| match h {
            Header::CallId(id) => Some(id.value()),
            _ => None,
        })
        .unwrap_or_default()
}

fn tagged(mut response: Response, tag: &str) -> Response {
    add_to_tag(&mut response, tag);
    response
}

fn add_contact(response: &mut Response, contact: &Uri) {
    if !response
        .headers
        .iter()
        .any(|h| matches!(h, Header::Contact(_)))
    {
        response
            .headers
            .push(Header::Contact(Contact::new(format!("<{contact}>"))));
    }
}

/// The method in a response's CSeq.
fn response_cseq_method(response: &Response) -> Option<Method> {
    response.headers.iter().find_map(|header| match header {
        Header::CSeq(cseq) => cseq.value().split_whitespace().nth(1)?.parse().ok(),
        _ => None,
    })
}

fn set_cseq_method(response: &mut Response, method: Method) {
    for header in response.headers.iter_mut() {
        if let Header::CSeq(cseq) = header {
            let _ = cseq.mut_method(method);
        }
    }
}
