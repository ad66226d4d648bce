//! The UAS core (RFC 3261 §8.2), sans-IO.
//!
//! [`UasCore`] runs the receive path the [transaction layer](crate::transaction)
//! describes: parse, stamp `received`/`rport` on the top Via, hand the message to
//! the [`TransactionLayer`], and answer what arrives. `OPTIONS` gets `200` with
//! `Allow` and `Accept`; a request failing [`validate_request`] gets its error
//! response (400 with a `Warning`, 420, 483, ...) when one can be routed back, and
//! is dropped otherwise; so does a request over a stream without the
//! `Content-Length` streams require (RFC 3261 §18.3); with a [`Registration`]
//! attached, a REGISTER goes to the registrar (digest auth, bindings) and every
//! request first passes the per-address guard (bans, rate limit); with
//! [`Calls`] attached, INVITE sessions and everything inside their dialogs go
//! to call control as [`CallEvent`]s (see [`calls`](Calls)); without it INVITE
//! gets `501 Not Implemented`, as does every other method the core does not
//! serve. What cannot be parsed is dropped, and [`UasCore::receive`] says why
//! in its [`Receipt`] so that the driver can log and count it. Like the layer,
//! it reads no socket and no clock, and its To tags come from an injected
//! source.

mod answers;
mod calls;
#[cfg(test)]
mod calls_tests;
mod registration;
mod session_timer;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::fmt;
use std::time::Instant;

use rsip::{Header, Headers, Request, Response, SipMessage};

use crate::dialog::{Body, DialogId};
use crate::message::{
    ParseError, RequestError, add_to_tag, error_response, parse_message, response_to_headers,
    stamp_received, validate_request, warning,
};
use crate::transaction::{
    Event, Input, Output, Peer, TransactionError, TransactionId, TransactionLayer, Transmit,
    response_destination,
};

pub use answers::{ACCEPTED_BODIES, ALLOWED_METHODS, CALL_METHODS, REGISTER_METHODS};
pub use calls::{CallError, CallEvent, Calls, OutgoingInvite};
use calls::{Handling, starts_dialog};
use registration::Caller;
pub use registration::{BindingSink, Registration};

use crate::auth::Admission;

/// The option tags we support, for `Require`: session timers (RFC 4028).
const SUPPORTED_EXTENSIONS: &[&str] = &["timer"];

/// What became of one received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Receipt {
    /// A request, answered or absorbed. `method` is its method as `rsip` knows
    /// it, or `other` for an extension method.
    Request {
        /// The method, for counting.
        method: String,
    },
    /// A response: handed to the transaction layer, which drops it when no
    /// client transaction of ours matches.
    Response,
    /// Dropped without an answer.
    Dropped {
        /// Why, in one word.
        reason: DropReason,
        /// What exactly was wrong.
        detail: String,
    },
}

/// Why a message was dropped without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Larger than [`crate::message::MAX_MESSAGE_SIZE`].
    TooLarge,
    /// Not a SIP message we can read.
    Malformed,
    /// A request whose answer could not be routed back (no usable Via).
    Unanswerable,
    /// The source address is banned after repeated failed authentication.
    Banned,
    /// The source address sends faster than its rate limit.
    RateLimited,
}

impl DropReason {
    /// The label for logs and metrics.
    pub fn label(self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::Malformed => "malformed",
            Self::Unanswerable => "unanswerable",
            Self::Banned => "banned",
            Self::RateLimited => "rate_limited",
        }
    }

    /// Whether this is the guard keeping a source out: expected under attack,
    /// so not worth a log line per message.
    pub fn is_defence(self) -> bool {
        matches!(self, Self::Banned | Self::RateLimited)
    }
}

/// The UAS core and the transaction layer it drives. See the [module docs](self).
pub struct UasCore {
    layer: TransactionLayer,
    to_tags: Box<dyn FnMut() -> String + Send>,
    transmits: VecDeque<Transmit>,
    registration: Option<Registration>,
    calls: Option<Calls>,
}

impl UasCore {
    /// A core over `layer`; `to_tags` gives a fresh random To tag per call
    /// (RFC 3261 §19.3: at least 32 random bits).
    pub fn new(layer: TransactionLayer, to_tags: impl FnMut() -> String + Send + 'static) -> Self {
        Self {
            layer,
            to_tags: Box::new(to_tags),
            transmits: VecDeque::new(),
            registration: None,
            calls: None,
        }
    }

    /// Hands INVITE sessions to call control through `calls` (see [`Calls`])
    /// instead of answering INVITE with 501.
    pub fn with_calls(mut self, calls: Calls) -> Self {
        self.calls = Some(calls);
        self
    }

    /// The next event for call control, when calls are on.
    pub fn poll_event(&mut self) -> Option<CallEvent> {
        self.calls.as_mut()?.poll_event()
    }

    /// Call control answers server transaction `tx` (see [`Calls::respond`]).
    pub fn respond(
        &mut self,
        now: Instant,
        tx: TransactionId,
        response: Response,
    ) -> Result<Option<DialogId>, CallError> {
        let calls = self.calls.as_mut().ok_or(CallError::NoSuchRequest(tx))?;
        let result = calls.respond(now, &mut self.layer, tx, response);
        self.drain(now);
        result
    }

    /// Call control sends an INVITE (see [`Calls::invite`]).
    pub fn invite(
        &mut self,
        now: Instant,
        invite: OutgoingInvite,
    ) -> Result<TransactionId, CallError> {
        let calls = self
            .calls
            .as_mut()
            .ok_or(CallError::Transaction(TransactionError::NoSuchTransaction))?;
        let result = calls.invite(now, &mut self.layer, invite);
        self.drain(now);
        result
    }

    /// Call control asks the sender of INVITE `tx` for credentials: a 401
    /// digest challenge ends the transaction (the phone retries with them).
    pub fn challenge(&mut self, now: Instant, tx: TransactionId) -> Result<(), CallError> {
        let (Some(calls), Some(registration)) = (&mut self.calls, &mut self.registration) else {
            return Err(CallError::NoSuchRequest(tx));
        };
        let (request, tag) = calls.take_pending(tx).ok_or(CallError::NoSuchRequest(tx))?;
        let challenge = registration.challenge(now, &request, &tag);
        self.send_response(now, challenge);
        self.drain(now);
        Ok(())
    }

    /// Call control cancels INVITE `tx`, the CANCEL carrying `headers` (see
    /// [`Calls::cancel`]).
    pub fn cancel(
        &mut self,
        now: Instant,
        tx: TransactionId,
        headers: Vec<rsip::Header>,
    ) -> Result<(), CallError> {
        let calls = self.calls.as_mut().ok_or(CallError::NoSuchRequest(tx))?;
        let result = calls.cancel(now, &mut self.layer, tx, headers);
        self.drain(now);
        result
    }

    /// The live contacts registered for `user` in `realm`, each with the
    /// address its REGISTER came from (where to reach it behind NAT).
    pub fn contacts(&self, now: Instant, realm: &str, user: &str) -> Vec<(String, Peer)> {
        self.registration
            .as_ref()
            .map(|registration| registration.contacts(now, realm, user))
            .unwrap_or_default()
    }

    /// Call control sends a request in `dialog` (see [`Calls::send_request`]).
    pub fn send_request(
        &mut self,
        now: Instant,
        dialog: &DialogId,
        method: rsip::Method,
        body: Option<Body>,
    ) -> Result<TransactionId, CallError> {
        self.send_request_with(now, dialog, method, body, Vec::new())
    }

    /// [`Self::send_request`] with extra headers (`Event` and
    /// `Subscription-State` of a NOTIFY, say).
    pub fn send_request_with(
        &mut self,
        now: Instant,
        dialog: &DialogId,
        method: rsip::Method,
        body: Option<Body>,
        headers: Vec<rsip::Header>,
    ) -> Result<TransactionId, CallError> {
        let calls = self
            .calls
            .as_mut()
            .ok_or_else(|| CallError::NoSuchDialog(dialog.clone()))?;
        let result = calls.send_request(now, &mut self.layer, dialog, method, body, headers);
        self.drain(now);
        result
    }

    /// Adds REGISTER handling and the per-address guard in front of every request.
    pub fn with_registration(mut self, registration: Registration) -> Self {
        self.registration = Some(registration);
        self
    }

    /// The registrar's bindings, when registration is on.
    pub fn bindings(&self) -> Option<&crate::registrar::Bindings> {
        self.registration.as_ref().map(Registration::bindings)
    }

    /// Handles the bytes of one message (a datagram, or one frame of a stream)
    /// that arrived from `source` at `now`. Never panics, whatever `bytes` hold.
    pub fn receive(&mut self, now: Instant, bytes: &[u8], source: Peer) -> Receipt {
        if let Some(registration) = &mut self.registration {
            match registration.admit(source.addr.ip(), now) {
                Admission::Admit => {}
                Admission::Banned => return dropped(DropReason::Banned, &"banned source"),
                Admission::RateLimited => {
                    return dropped(DropReason::RateLimited, &"over the request rate limit");
                }
            }
        }
        let receipt = match parse_message(bytes) {
            Ok(SipMessage::Request(mut request)) => {
                stamp_received(&mut request.headers, source.addr);
                if source.transport.is_reliable() && !has_content_length(&request) {
                    self.refuse_without_content_length(now, &request, source)
                } else {
                    self.receive_request(now, request, source)
                }
            }
            Ok(SipMessage::Response(response)) => {
                let input = Input::Received {
                    message: SipMessage::Response(response),
                    source,
                };
                match self.layer.handle_input(now, input) {
                    Ok(_) => Receipt::Response,
                    Err(error) => dropped(DropReason::Malformed, &error),
                }
            }
            Err(ParseError::UnknownMethod { mut headers, .. }) => {
                self.answer_from_headers(now, &mut headers, source, (501, "Not Implemented"), None)
            }
            Err(ParseError::UnsupportedUriScheme { mut headers, .. }) => self.answer_from_headers(
                now,
                &mut headers,
                source,
                (416, "Unsupported URI Scheme"),
                None,
            ),
            Err(ParseError::UnsupportedVersion { mut headers, .. }) => self.answer_from_headers(
                now,
                &mut headers,
                source,
                (505, "Version Not Supported"),
                None,
            ),
            Err(ParseError::BadRequest {
                detail,
                mut headers,
            }) => self.answer_from_headers(
                now,
                &mut headers,
                source,
                (400, "Bad Request"),
                Some(&detail),
            ),
            Err(error @ ParseError::TooLarge { .. }) => dropped(DropReason::TooLarge, &error),
            Err(error) => dropped(DropReason::Malformed, &error),
        };
        self.drain(now);
        receipt
    }

    /// Fires the transaction timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(registration) = &mut self.registration {
            registration.expire(now);
        }
        if let Some(calls) = &mut self.calls {
            calls.handle_timeout(now, &mut self.layer);
        }
        self.input(now, Input::Timeout);
    }

    /// The transport could not deliver to `peer` (a connection closed or failed).
    pub fn transport_failed(&mut self, now: Instant, peer: Peer) {
        self.input(now, Input::TransportFailed { peer });
    }

    /// The next message to put on the wire, if any. Drain after each call: once
    /// it returns `None`, everything before was sent, and the registrar's
    /// binding changes go to the [`BindingSink`] (after their responses).
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        let next = self.transmits.pop_front();
        if next.is_none() {
            if let Some(registration) = &mut self.registration {
                registration.hand_over_changes();
            }
        }
        next
    }

    /// When to call [`UasCore::handle_timeout`] next, if any timer runs.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let expiry = self
            .registration
            .as_ref()
            .and_then(Registration::next_expiry);
        let calls = self.calls.as_ref().and_then(Calls::poll_timeout);
        [self.layer.poll_timeout(), expiry, calls]
            .into_iter()
            .flatten()
            .min()
    }

    fn receive_request(&mut self, now: Instant, request: Request, source: Peer) -> Receipt {
        let method = request.method.to_string();
        let input = Input::Received {
            message: SipMessage::Request(request.clone()),
            source,
        };
        match self.layer.handle_input(now, input) {
            Ok(_) => Receipt::Request { method },
            Err(TransactionError::Unmatchable(key_error)) => {
                match validate_request(&request, SUPPORTED_EXTENSIONS) {
                    Err(error) if error.can_be_answered() => {
                        let response = error_for(&request, &error, &(self.to_tags)());
                        if self.send_stateless(now, response, source) {
                            Receipt::Request { method }
                        } else {
                            dropped(DropReason::Unanswerable, &error)
                        }
                    }
                    Err(error) => dropped(DropReason::Unanswerable, &error),
                    Ok(()) => dropped(DropReason::Unanswerable, &key_error),
                }
            }
            Err(error) => dropped(DropReason::Unanswerable, &error),
        }
    }

    /// Answers 400 to a request that came over a stream without `Content-Length`,
    /// which is mandatory there (RFC 3261 §18.3, §20.14): where its body ends was
    /// a guess. The answer is stateless, like other answers to requests no
    /// transaction takes.
    fn refuse_without_content_length(
        &mut self,
        now: Instant,
        request: &Request,
        source: Peer,
    ) -> Receipt {
        let error = RequestError::MissingHeader("Content-Length");
        let response = error_for(request, &error, &(self.to_tags)());
        if self.send_stateless(now, response, source) {
            Receipt::Request {
                method: request.method.to_string(),
            }
        } else {
            dropped(DropReason::Unanswerable, &error)
        }
    }

    /// Answers statelessly a request `rsip` cannot represent or read, from its
    /// headers, with a `Warning` saying why when there is one.
    fn answer_from_headers(
        &mut self,
        now: Instant,
        headers: &mut Headers,
        source: Peer,
        (code, reason): (u16, &str),
        why: Option<&str>,
    ) -> Receipt {
        stamp_received(headers, source.addr);
        let mut response = response_to_headers(headers, code, reason);
        if let Some(why) = why {
            response.headers.push(warning(why));
        }
        add_to_tag(&mut response, &(self.to_tags)());
        if self.send_stateless(now, response, source) {
            Receipt::Request {
                method: "other".to_owned(),
            }
        } else {
            dropped(
                DropReason::Unanswerable,
                &format!("{code} {reason} has no Via to follow"),
            )
        }
    }

    /// Sends `response` outside any transaction to where its Via says. Returns
    /// false when the Via cannot route it.
    fn send_stateless(&mut self, now: Instant, response: Response, source: Peer) -> bool {
        let Some(destination) = response_destination(&response, source) else {
            return false;
        };
        self.input(
            now,
            Input::SendStateless {
                message: SipMessage::Response(response),
                destination,
            },
        );
        true
    }

    fn input(&mut self, now: Instant, input: Input) {
        if let Err(error) = self.layer.handle_input(now, input) {
            tracing::warn!(%error, "the transaction layer refused an input");
        }
        self.drain(now);
    }

    /// Moves the layer's outputs out: transmits are queued, requests answered.
    fn drain(&mut self, now: Instant) {
        while let Some(output) = self.layer.poll_output() {
            match output {
                Output::Transmit(transmit) => self.transmits.push_back(transmit),
                Output::Event(Event::Request {
                    id,
                    request,
                    source,
                }) => {
                    if let Some(response) = self.answer_request(now, id, *request, source) {
                        self.send_response(now, response);
                    }
                }
                Output::Event(Event::Cancel {
                    request, invite, ..
                }) => self.answer_cancel(now, &request, invite),
                Output::Event(Event::Ack { request, .. }) => {
                    if let Some(calls) = &mut self.calls {
                        calls.on_ack(*request);
                    }
                }
                Output::Event(event) => {
                    if let Some(calls) = &mut self.calls {
                        match event {
                            Event::Response { id, response } => {
                                calls.on_response(now, &mut self.layer, id, *response);
                            }
                            Event::NoFinalResponse { id } | Event::TransportFailed { id } => {
                                calls.on_request_failed(id);
                            }
                            Event::Terminated { id } => calls.on_terminated(id),
                            _ => {}
                        }
                    }
                }
            }
        }
    }

    /// The core's answer to a new request, or `None` when call control answers.
    fn answer_request(
        &mut self,
        now: Instant,
        id: TransactionId,
        request: Request,
        source: Peer,
    ) -> Option<Response> {
        if let Err(error) = validate_request(&request, SUPPORTED_EXTENSIONS) {
            return Some(error_for(&request, &error, &(self.to_tags)()));
        }
        if let (Some(registration), rsip::Method::Register) =
            (&mut self.registration, &request.method)
        {
            return Some(registration.register(now, &request, source));
        }
        if let Some(calls) = &mut self.calls {
            let mut user = None;
            if let (true, Some(registration)) = (starts_dialog(&request), &mut self.registration) {
                let tag = (self.to_tags)();
                match registration.check_caller(now, &request, source, &tag) {
                    Caller::Authenticated(name) => user = Some(name),
                    Caller::Anonymous => {}
                    Caller::Refused(response) => return Some(response),
                }
            }
            return match calls.on_request(now, id, request, source, &mut *self.to_tags, user) {
                Handling::Taken => None,
                Handling::Answer(response) => Some(response),
                Handling::NotMine(request) => Some(self.answer_plainly(&request)),
            };
        }
        Some(self.answer_plainly(&request))
    }

    /// The core's own answer to a request no registrar or call takes.
    fn answer_plainly(&mut self, request: &Request) -> Response {
        let registers = self.registration.is_some();
        let calls = self.calls.is_some();
        answers::answer(request, &(self.to_tags)(), registers, calls)
    }

    fn answer_cancel(&mut self, now: Instant, cancel: &Request, invite: Option<TransactionId>) {
        if let Err(error) = validate_request(cancel, SUPPORTED_EXTENSIONS) {
            let response = error_for(cancel, &error, &(self.to_tags)());
            self.send_response(now, response);
            return;
        }
        let handled = self
            .calls
            .as_mut()
            .and_then(|calls| calls.on_cancel(cancel, invite));
        match handled {
            Some((ok, terminated)) => {
                self.send_response(now, ok);
                if let Some((_, terminated)) = terminated {
                    self.send_response(now, terminated);
                }
            }
            None => {
                let response = answers::answer_cancel(cancel, &(self.to_tags)());
                self.send_response(now, response);
            }
        }
    }

    fn send_response(&mut self, now: Instant, response: Response) {
        if let Err(error) = self
            .layer
            .handle_input(now, Input::SendResponse { response })
        {
            tracing::warn!(%error, "cannot send a response");
        }
    }
}

fn error_for(request: &Request, error: &RequestError, to_tag: &str) -> Response {
    let mut response = error_response(request, error);
    add_to_tag(&mut response, to_tag);
    response
}

fn has_content_length(request: &Request) -> bool {
    request
        .headers
        .iter()
        .any(|header| matches!(header, Header::ContentLength(_)))
}

fn dropped(reason: DropReason, detail: &dyn fmt::Display) -> Receipt {
    Receipt::Dropped {
        reason,
        detail: detail.to_string(),
    }
}
