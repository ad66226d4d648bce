//! [`TransactionLayer`]: the table of live transactions, the dispatch of inputs to
//! them by key, their timers ordered by deadline, and the queue of outputs.
//!
//! The state machines decide; this module only routes messages to them, turns
//! their effects into [`Output`]s and keeps the keys and deadlines in step.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;

use bytes::Bytes;
use rsip::message::HasHeaders;
use rsip::{Method, Request, Response, SipMessage};

use super::client_invite::InviteClient;
use super::client_non_invite::NonInviteClient;
use super::key::{ClientKey, MAGIC_COOKIE, ServerKey, set_branch, top_via};
use super::server_invite::InviteServer;
use super::server_non_invite::NonInviteServer;
use super::{
    BranchSource, Effect, Event, Input, Output, Peer, Timers, TransactionError, TransactionId,
    Transmit,
};
use crate::message::{cancel_for, encode};

/// All live transactions of one SIP endpoint. See the [module docs](super).
pub struct TransactionLayer {
    timers: Timers,
    branches: Box<dyn BranchSource + Send>,
    next_id: u64,
    transactions: HashMap<TransactionId, Entry>,
    client_keys: HashMap<ClientKey, TransactionId>,
    server_keys: HashMap<ServerKey, TransactionId>,
    deadlines: BTreeSet<(Instant, TransactionId)>,
    outputs: VecDeque<Output>,
}

/// One live transaction.
struct Entry {
    key: Key,
    /// Where its messages go: the request's destination for a client, the response
    /// destination (§18.2.2, RFC 3581) for a server.
    peer: Peer,
    machine: Machine,
    /// The deadline currently registered in `TransactionLayer::deadlines`.
    deadline: Option<Instant>,
}

enum Key {
    Client(ClientKey),
    Server(ServerKey),
}

enum Machine {
    InviteClient {
        transaction: Box<InviteClient>,
        /// A CANCEL the TU asked for before any provisional response
        /// arrived, and its extra headers.
        pending_cancel: Option<(TransactionId, Vec<rsip::Header>)>,
    },
    NonInviteClient(NonInviteClient),
    InviteServer(InviteServer),
    NonInviteServer(NonInviteServer),
}

impl TransactionLayer {
    /// An empty layer with these timer values and branch source.
    pub fn new(timers: Timers, branches: impl BranchSource + Send + 'static) -> Self {
        Self {
            timers,
            branches: Box::new(branches),
            next_id: 0,
            transactions: HashMap::new(),
            client_keys: HashMap::new(),
            server_keys: HashMap::new(),
            deadlines: BTreeSet::new(),
            outputs: VecDeque::new(),
        }
    }

    /// Handles one input at time `now`. Returns the transaction the input went to:
    /// the new client transaction for [`Input::SendRequest`] and [`Input::Cancel`],
    /// the server transaction for [`Input::SendResponse`], the matched or created
    /// transaction for [`Input::Received`]; `None` when no transaction is involved
    /// (a stray response, an ACK for a 2xx, a stateless send, a timeout).
    pub fn handle_input(
        &mut self,
        now: Instant,
        input: Input,
    ) -> Result<Option<TransactionId>, TransactionError> {
        match input {
            Input::Received {
                message: SipMessage::Request(request),
                source,
            } => self.receive_request(now, request, source),
            Input::Received {
                message: SipMessage::Response(response),
                ..
            } => self.receive_response(now, response),
            Input::SendRequest {
                request,
                destination,
            } => self.send_request(now, request, destination).map(Some),
            Input::SendResponse { response } => self.send_response(now, &response).map(Some),
            Input::Cancel { invite, headers } => self.cancel(now, invite, headers).map(Some),
            Input::SendStateless {
                message,
                destination,
            } => {
                self.transmit(destination, encode(&message));
                Ok(None)
            }
            Input::TransportFailed { peer } => {
                self.transport_failed(peer);
                Ok(None)
            }
            Input::Timeout => {
                self.fire_due_timers(now);
                Ok(None)
            }
        }
    }

    /// The next output, if any. Drain until `None` after each input.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When to feed [`Input::Timeout`] next, if any timer runs.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines.first().map(|(at, _)| *at)
    }

    /// How many transactions are alive.
    pub fn len(&self) -> usize {
        self.transactions.len()
    }

    /// Whether no transaction is alive.
    pub fn is_empty(&self) -> bool {
        self.transactions.is_empty()
    }

    fn receive_request(
        &mut self,
        now: Instant,
        request: Request,
        source: Peer,
    ) -> Result<Option<TransactionId>, TransactionError> {
        let key = ServerKey::of(&request)?;
        if let Some(&id) = self.server_keys.get(&key) {
            let mut effects = Vec::new();
            if let Some(entry) = self.transactions.get_mut(&id) {
                match (&mut entry.machine, request.method) {
                    (Machine::InviteServer(server), Method::Ack) => {
                        server.on_ack(now, request, &mut effects);
                    }
                    (Machine::InviteServer(server), _) => server.on_retransmission(&mut effects),
                    (Machine::NonInviteServer(server), _) => {
                        server.on_retransmission(&mut effects);
                    }
                    (Machine::InviteClient { .. } | Machine::NonInviteClient(_), _) => {}
                }
            }
            self.apply(id, effects, source);
            return Ok(Some(id));
        }
        if request.method == Method::Ack {
            self.event(Event::Ack {
                request: Box::new(request),
                source,
            });
            return Ok(None);
        }
        let reliable = source.transport.is_reliable();
        let id = self.allocate_id();
        let mut effects = Vec::new();
        let machine = if request.method == Method::Invite {
            Machine::InviteServer(InviteServer::start(
                &request,
                self.timers,
                reliable,
                &mut effects,
            ))
        } else {
            Machine::NonInviteServer(NonInviteServer::start(self.timers, reliable))
        };
        let event = if request.method == Method::Cancel {
            Event::Cancel {
                id,
                invite: self.cancellable_invite(&key),
                request: Box::new(request.clone()),
                source,
            }
        } else {
            Event::Request {
                id,
                request: Box::new(request.clone()),
                source,
            }
        };
        let peer = response_destination(&request, source).unwrap_or(source);
        self.server_keys.insert(key.clone(), id);
        self.insert(id, Key::Server(key), peer, machine);
        self.event(event);
        self.apply(id, effects, source);
        Ok(Some(id))
    }

    /// The INVITE server transaction a CANCEL with `key` targets, while it still
    /// awaits its final response.
    fn cancellable_invite(&self, key: &ServerKey) -> Option<TransactionId> {
        let id = *self.server_keys.get(&key.cancelled_invite())?;
        match &self.transactions.get(&id)?.machine {
            Machine::InviteServer(server) if server.awaits_final_response() => Some(id),
            _ => None,
        }
    }

    /// RFC 6026 §7.1: a response matching no client transaction is dropped.
    fn receive_response(
        &mut self,
        now: Instant,
        response: Response,
    ) -> Result<Option<TransactionId>, TransactionError> {
        let key = ClientKey::of(&response)?;
        let Some(&id) = self.client_keys.get(&key) else {
            return Ok(None);
        };
        let mut effects = Vec::new();
        let Some(entry) = self.transactions.get_mut(&id) else {
            return Ok(None);
        };
        let source = entry.peer;
        match &mut entry.machine {
            Machine::InviteClient { transaction, .. } => {
                transaction.on_response(now, response, &mut effects);
            }
            Machine::NonInviteClient(transaction) => {
                transaction.on_response(now, response, &mut effects);
            }
            Machine::InviteServer(_) | Machine::NonInviteServer(_) => {}
        }
        self.apply(id, effects, source);
        self.settle_pending_cancel(now, id);
        Ok(Some(id))
    }

    fn send_request(
        &mut self,
        now: Instant,
        mut request: Request,
        destination: Peer,
    ) -> Result<TransactionId, TransactionError> {
        if matches!(request.method, Method::Ack | Method::Cancel) {
            return Err(TransactionError::NotForSendRequest(request.method));
        }
        let branch = format!("{MAGIC_COOKIE}{}", self.branches.next_branch());
        set_branch(&mut request, &branch)?;
        let key = ClientKey::of(&request)?;
        if self.client_keys.contains_key(&key) {
            return Err(TransactionError::BranchInUse);
        }
        let id = self.allocate_id();
        self.start_client(now, id, key, request, destination);
        Ok(id)
    }

    fn start_client(
        &mut self,
        now: Instant,
        id: TransactionId,
        key: ClientKey,
        request: Request,
        destination: Peer,
    ) {
        let reliable = destination.transport.is_reliable();
        let mut effects = Vec::new();
        let machine = if request.method == Method::Invite {
            Machine::InviteClient {
                transaction: Box::new(InviteClient::start(
                    now,
                    request,
                    self.timers,
                    reliable,
                    &mut effects,
                )),
                pending_cancel: None,
            }
        } else {
            Machine::NonInviteClient(NonInviteClient::start(
                now,
                &request,
                self.timers,
                reliable,
                &mut effects,
            ))
        };
        self.client_keys.insert(key.clone(), id);
        self.insert(id, Key::Client(key), destination, machine);
        self.apply(id, effects, destination);
    }

    fn send_response(
        &mut self,
        now: Instant,
        response: &Response,
    ) -> Result<TransactionId, TransactionError> {
        let key = ServerKey::of(response)?;
        let id = *self
            .server_keys
            .get(&key)
            .ok_or(TransactionError::NoSuchTransaction)?;
        let entry = self
            .transactions
            .get_mut(&id)
            .ok_or(TransactionError::NoSuchTransaction)?;
        let peer = entry.peer;
        let mut effects = Vec::new();
        match &mut entry.machine {
            Machine::InviteServer(server) => server.on_tu_response(now, response, &mut effects)?,
            Machine::NonInviteServer(server) => {
                server.on_tu_response(now, response, &mut effects)?;
            }
            Machine::InviteClient { .. } | Machine::NonInviteClient(_) => {
                return Err(TransactionError::NoSuchTransaction);
            }
        }
        self.apply(id, effects, peer);
        Ok(id)
    }

    fn cancel(
        &mut self,
        now: Instant,
        invite: TransactionId,
        headers: Vec<rsip::Header>,
    ) -> Result<TransactionId, TransactionError> {
        let entry = self
            .transactions
            .get(&invite)
            .ok_or(TransactionError::NoSuchTransaction)?;
        let Machine::InviteClient {
            transaction,
            pending_cancel,
        } = &entry.machine
        else {
            return Err(TransactionError::NotCancellable);
        };
        if let Some((pending, _)) = pending_cancel {
            return Ok(*pending);
        }
        if !transaction.awaits_final_response() {
            return Err(TransactionError::NotCancellable);
        }
        let cancel = with_headers(cancel_for(transaction.invite()), &headers);
        let key = ClientKey::of(&cancel)?;
        if let Some(&already) = self.client_keys.get(&key) {
            return Ok(already);
        }
        let calling = transaction.is_calling();
        let destination = entry.peer;
        let id = self.allocate_id();
        if calling {
            if let Some(Entry {
                machine: Machine::InviteClient { pending_cancel, .. },
                ..
            }) = self.transactions.get_mut(&invite)
            {
                *pending_cancel = Some((id, headers));
            }
        } else {
            self.start_client(now, id, key, cancel, destination);
        }
        Ok(id)
    }

    /// Sends a CANCEL held back until a provisional response (RFC 3261 §9.1), or
    /// drops it when the INVITE got its final response first.
    fn settle_pending_cancel(&mut self, now: Instant, invite: TransactionId) {
        let Some(Entry {
            machine:
                Machine::InviteClient {
                    transaction,
                    pending_cancel,
                },
            peer,
            ..
        }) = self.transactions.get_mut(&invite)
        else {
            return;
        };
        if transaction.is_calling() {
            return;
        }
        let Some((cancel_id, headers)) = pending_cancel.take() else {
            return;
        };
        if !transaction.awaits_final_response() {
            self.event(Event::Terminated { id: cancel_id });
            return;
        }
        let cancel = with_headers(cancel_for(transaction.invite()), &headers);
        let destination = *peer;
        match ClientKey::of(&cancel) {
            Ok(key) => self.start_client(now, cancel_id, key, cancel, destination),
            Err(_) => self.event(Event::Terminated { id: cancel_id }),
        }
    }

    fn transport_failed(&mut self, peer: Peer) {
        let mut failed: Vec<TransactionId> = self
            .transactions
            .iter()
            .filter(|(_, entry)| entry.peer == peer)
            .map(|(id, _)| *id)
            .collect();
        failed.sort_unstable();
        for id in failed {
            self.event(Event::TransportFailed { id });
            self.terminate(id);
        }
    }

    /// Fires every transaction whose deadline is due, each once: a machine always
    /// moves its deadline past `now` or terminates, so one pass suffices, and a
    /// faulty one cannot make this loop forever.
    fn fire_due_timers(&mut self, now: Instant) {
        let due: Vec<(Instant, TransactionId)> = self
            .deadlines
            .iter()
            .take_while(|(at, _)| *at <= now)
            .copied()
            .collect();
        for (at, id) in due {
            self.deadlines.remove(&(at, id));
            let Some(entry) = self.transactions.get_mut(&id) else {
                continue;
            };
            entry.deadline = None;
            let peer = entry.peer;
            let mut effects = Vec::new();
            match &mut entry.machine {
                Machine::InviteClient { transaction, .. } => {
                    transaction.on_timeout(now, &mut effects);
                }
                Machine::NonInviteClient(transaction) => transaction.on_timeout(now, &mut effects),
                Machine::InviteServer(server) => server.on_timeout(now, &mut effects),
                Machine::NonInviteServer(server) => server.on_timeout(now, &mut effects),
            }
            self.apply(id, effects, peer);
        }
    }

    /// Turns a machine's effects into outputs, then re-registers its deadline.
    /// `source` is where the message that caused them came from.
    fn apply(&mut self, id: TransactionId, effects: Vec<Effect>, source: Peer) {
        let Some(peer) = self.transactions.get(&id).map(|entry| entry.peer) else {
            return;
        };
        let mut terminated = false;
        for effect in effects {
            match effect {
                Effect::Send(payload) => self.transmit(peer, payload),
                Effect::PassResponse(response) => self.event(Event::Response {
                    id,
                    response: Box::new(response),
                }),
                Effect::PassAck(request) => self.event(Event::Ack {
                    request: Box::new(request),
                    source,
                }),
                Effect::NoFinalResponse => self.event(Event::NoFinalResponse { id }),
                Effect::AckNotReceived => self.event(Event::AckNotReceived { id }),
                Effect::Terminate => terminated = true,
            }
        }
        if terminated {
            self.terminate(id);
        } else {
            self.reschedule(id);
        }
    }

    fn reschedule(&mut self, id: TransactionId) {
        let Some(entry) = self.transactions.get_mut(&id) else {
            return;
        };
        let next = match &entry.machine {
            Machine::InviteClient { transaction, .. } => transaction.next_deadline(),
            Machine::NonInviteClient(transaction) => transaction.next_deadline(),
            Machine::InviteServer(server) => server.next_deadline(),
            Machine::NonInviteServer(server) => server.next_deadline(),
        };
        if next == entry.deadline {
            return;
        }
        if let Some(old) = entry.deadline.take() {
            self.deadlines.remove(&(old, id));
        }
        if let Some(at) = next {
            entry.deadline = Some(at);
            self.deadlines.insert((at, id));
        }
    }

    fn terminate(&mut self, id: TransactionId) {
        let Some(entry) = self.transactions.remove(&id) else {
            return;
        };
        if let Some(at) = entry.deadline {
            self.deadlines.remove(&(at, id));
        }
        match entry.key {
            Key::Client(key) => self.client_keys.remove(&key),
            Key::Server(key) => self.server_keys.remove(&key),
        };
        self.event(Event::Terminated { id });
        if let Machine::InviteClient {
            pending_cancel: Some((cancel, _)),
            ..
        } = entry.machine
        {
            self.event(Event::Terminated { id: cancel });
        }
    }

    fn insert(&mut self, id: TransactionId, key: Key, peer: Peer, machine: Machine) {
        self.transactions.insert(
            id,
            Entry {
                key,
                peer,
                machine,
                deadline: None,
            },
        );
    }

    fn allocate_id(&mut self) -> TransactionId {
        self.next_id += 1;
        TransactionId(self.next_id)
    }

    fn transmit(&mut self, destination: Peer, payload: Bytes) {
        self.outputs.push_back(Output::Transmit(Transmit {
            destination,
            payload,
        }));
    }

    fn event(&mut self, event: Event) {
        self.outputs.push_back(Output::Event(event));
    }
}

/// Where responses to a request from `source` go (RFC 3261 §18.2.2 with RFC
/// 3581), judged by `message`'s top Via (the request's, or the response's copy of
/// it): back on the connection for reliable transports; for UDP to the source
/// address, at the source port when the top Via asks for `rport`, else at the
/// sent-by port. `None` when the top Via is missing or malformed.
pub fn response_destination(message: &impl HasHeaders, source: Peer) -> Option<Peer> {
    let via = top_via(message).ok()?;
    if source.transport.is_reliable() {
        return Some(source);
    }
    let wants_rport = via.params.iter().any(|param| {
        matches!(param, rsip::Param::Other(name, _) if name.value().eq_ignore_ascii_case("rport"))
    });
    if wants_rport {
        return Some(source);
    }
    let port = via
        .uri
        .host_with_port
        .port
        .map_or(5060, |port| *port.value());
    Some(Peer {
        transport: source.transport,
        addr: SocketAddr::new(source.addr.ip(), port),
    })
}

/// `request` with `headers` added before its `Content-Length`.
fn with_headers(mut request: Request, headers: &[rsip::Header]) -> Request {
    let mut all: Vec<rsip::Header> = request.headers.iter().cloned().collect();
    let at = all
        .iter()
        .position(|h| matches!(h, rsip::Header::ContentLength(_)))
        .unwrap_or(all.len());
    all.splice(at..at, headers.iter().cloned());
    request.headers = all.into();
    request
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;
    use super::super::{Event, Input, Output, TransactionError};
    use rsip::headers::ToTypedHeader;
    use rsip::message::HeadersExt;
    use rsip::{Method, SipMessage};

    use crate::message::{cancel_for, response_to};

    #[test]
    fn a_received_cancel_is_its_own_transaction_and_names_the_invite_it_cancels() {
        let mut h = Harness::new();
        let invite_id = h
            .input(Input::Received {
                message: invite().into(),
                source: udp_peer(),
            })
            .unwrap();
        h.drain();
        let cancel = cancel_for(&invite());
        let outputs = h.receive(cancel.clone(), udp_peer());
        let [Event::Cancel { id, invite, .. }] = &events(&outputs)[..] else {
            panic!("expected a CANCEL event, got {outputs:?}");
        };
        assert_eq!(*invite, Some(invite_id));
        assert_ne!(*id, invite_id);
        assert_eq!(
            sent_statuses(&h.respond(response_to(&cancel, 200, "OK"))),
            [200]
        );
        assert_eq!(
            sent_statuses(&h.respond(answer(&super::super::harness::invite(), 487))),
            [487]
        );
    }

    #[test]
    fn a_cancel_for_an_answered_or_unknown_invite_names_none() {
        let mut h = Harness::new();
        let outputs = h.receive(cancel_for(&invite()), udp_peer());
        assert!(matches!(
            &events(&outputs)[..],
            [Event::Cancel { invite: None, .. }]
        ));

        let mut h = Harness::new();
        h.receive(invite(), udp_peer());
        h.respond(answer(&invite(), 200));
        let outputs = h.receive(cancel_for(&invite()), udp_peer());
        assert!(matches!(
            &events(&outputs)[..],
            [Event::Cancel { invite: None, .. }]
        ));
    }

    #[test]
    fn our_cancel_waits_for_a_provisional_response_then_uses_the_invite_branch() {
        let mut h = Harness::new();
        let (invite_id, outputs) = h.send(invite(), udp_peer());
        let sent = sent_request(&outputs);
        let cancel_id = h
            .input(Input::Cancel {
                invite: invite_id,
                headers: Vec::new(),
            })
            .unwrap();
        assert!(
            h.drain().is_empty(),
            "no CANCEL before a provisional response"
        );
        let outputs = h.receive(answer(&sent, 180), udp_peer());
        assert_eq!(sent_methods(&outputs), [Method::Cancel]);
        let cancel = sent_request(&outputs);
        assert_eq!(cancel.via_header().unwrap(), sent.via_header().unwrap());
        let outputs = h.receive(answer(&cancel, 200), udp_peer());
        assert!(matches!(&events(&outputs)[..], [Event::Response { id, .. }] if *id == cancel_id));
        let outputs = h.receive(answer(&sent, 487), udp_peer());
        assert_eq!(sent_methods(&outputs), [Method::Ack]);
        assert_eq!(passed_statuses(&outputs), [487]);
    }

    #[test]
    fn a_held_cancel_is_dropped_when_the_invite_gets_a_final_response_first() {
        let mut h = Harness::new();
        let (invite_id, outputs) = h.send(invite(), udp_peer());
        let sent = sent_request(&outputs);
        let cancel_id = h
            .input(Input::Cancel {
                invite: invite_id,
                headers: Vec::new(),
            })
            .unwrap();
        let outputs = h.receive(answer(&sent, 200), udp_peer());
        assert!(sent_methods(&outputs).is_empty());
        assert!(events(&outputs).contains(&Event::Terminated { id: cancel_id }));
    }

    #[test]
    fn only_an_invite_awaiting_its_final_response_can_be_cancelled() {
        let mut h = Harness::new();
        let (options_id, _) = h.send(options(), udp_peer());
        assert_eq!(
            h.layer.handle_input(
                h.now,
                Input::Cancel {
                    invite: options_id,
                    headers: Vec::new(),
                }
            ),
            Err(TransactionError::NotCancellable)
        );
        let (invite_id, outputs) = h.send(invite(), udp_peer());
        h.receive(answer(&sent_request(&outputs), 200), udp_peer());
        assert_eq!(
            h.layer.handle_input(
                h.now,
                Input::Cancel {
                    invite: invite_id,
                    headers: Vec::new(),
                }
            ),
            Err(TransactionError::NotCancellable)
        );
    }

    #[test]
    fn a_transport_failure_ends_the_transactions_of_that_peer_only() {
        let mut h = Harness::new();
        let (on_tcp, _) = h.send(options(), tcp_peer());
        let (on_udp, _) = h.send(options(), udp_peer());
        h.input(Input::TransportFailed { peer: tcp_peer() });
        assert_eq!(
            events(&h.drain()),
            [
                Event::TransportFailed { id: on_tcp },
                Event::Terminated { id: on_tcp }
            ]
        );
        assert_eq!(h.layer.len(), 1);
        assert!(
            h.run_until(1_000)
                .iter()
                .all(|(_, output)| !matches!(output,
            Output::Event(Event::Terminated { id }) if *id == on_udp))
        );
    }

    #[test]
    fn poll_timeout_names_the_earliest_deadline_of_all_transactions() {
        let mut h = Harness::new();
        assert_eq!(h.layer.poll_timeout(), None);
        h.send(options(), tcp_peer());
        assert_eq!(
            h.layer.poll_timeout(),
            Some(h.now + std::time::Duration::from_secs(32))
        );
        h.send(options(), udp_peer());
        assert_eq!(
            h.layer.poll_timeout(),
            Some(h.now + std::time::Duration::from_millis(500))
        );
    }

    #[test]
    fn duplicates_of_a_request_create_one_transaction() {
        let mut h = Harness::new();
        let first = h.receive(options(), udp_peer());
        let second = h.receive(options(), udp_peer());
        assert_eq!(events(&first).len(), 1);
        assert!(second.is_empty());
        assert_eq!(h.layer.len(), 1);
    }

    #[test]
    fn stateless_sends_go_straight_out() {
        let mut h = Harness::new();
        let ack = with_branch(&request(crate::message::corpus::ACK), "z9hG4bKtu");
        let result = h.layer.handle_input(
            h.now,
            Input::SendStateless {
                message: SipMessage::Request(ack.clone()),
                destination: udp_peer(),
            },
        );
        assert_eq!(result, Ok(None));
        assert_eq!(sent_request(&h.drain()), ack);
        assert!(h.layer.is_empty());
    }

    #[test]
    fn a_request_without_via_cannot_be_matched() {
        let mut h = Harness::new();
        let mut bye = request(crate::message::corpus::BYE);
        bye.headers
            .retain(|header| !matches!(header, rsip::Header::Via(_)));
        let result = h.layer.handle_input(
            h.now,
            Input::Received {
                message: bye.into(),
                source: udp_peer(),
            },
        );
        assert!(matches!(result, Err(TransactionError::Unmatchable(_))));
    }

    #[test]
    fn each_request_we_send_gets_its_own_branch() {
        let mut h = Harness::new();
        let (_, first) = h.send(options(), udp_peer());
        let (_, second) = h.send(options(), udp_peer());
        let branch = |outputs: &[Output]| {
            sent_request(outputs)
                .via_header()
                .unwrap()
                .typed()
                .unwrap()
                .branch()
                .unwrap()
                .to_string()
        };
        assert_ne!(branch(&first), branch(&second));
    }
}
