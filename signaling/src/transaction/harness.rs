//! Test harness for the transaction layer: a fake clock, two peers, and helpers
//! that build the messages the far end would send and read back what we sent.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rsip::headers::{To, UntypedHeader};
use rsip::{Header, Method, Request, Response, SipMessage};

use super::{Event, Input, Output, Peer, Timers, TransactionId, TransactionLayer, Transport};
use crate::message::{corpus, parse_message, response_to};

/// The far end, over UDP.
pub(super) fn udp_peer() -> Peer {
    peer(Transport::Udp, "192.0.2.10:5060")
}

/// The far end, over TCP.
pub(super) fn tcp_peer() -> Peer {
    peer(Transport::Tcp, "192.0.2.10:40000")
}

pub(super) fn peer(transport: Transport, addr: &str) -> Peer {
    Peer {
        transport,
        addr: addr.parse::<SocketAddr>().unwrap(),
    }
}

/// A request from the corpus.
pub(super) fn request(bytes: &[u8]) -> Request {
    match parse_message(bytes) {
        Ok(SipMessage::Request(request)) => request,
        other => panic!("expected a request, got {other:?}"),
    }
}

/// The corpus INVITE, as the TU would build it for sending.
pub(super) fn invite() -> Request {
    request(corpus::INVITE)
}

/// The corpus OPTIONS.
pub(super) fn options() -> Request {
    request(corpus::OPTIONS)
}

/// `request` with its top Via's branch replaced by `branch` (a new transaction).
pub(super) fn with_branch(request: &Request, branch: &str) -> Request {
    let mut request = request.clone();
    super::key::set_branch(&mut request, branch).unwrap();
    request
}

/// The response the far end (or our TU) sends to `request`, with a To tag.
pub(super) fn answer(request: &Request, code: u16) -> Response {
    let mut response = response_to(request, code, "Reason");
    if code > 100 {
        for header in response.headers.iter_mut() {
            if let Header::To(to) = header {
                *to = To::new(format!("{};tag=far", to.value()));
            }
        }
    }
    response
}

/// A layer with a fake clock, collecting what it outputs.
pub(super) struct Harness {
    pub(super) layer: TransactionLayer,
    pub(super) now: Instant,
    start: Instant,
}

impl Harness {
    pub(super) fn new() -> Self {
        let mut counter = 0;
        let branches = move || {
            counter += 1;
            format!("test{counter}")
        };
        let start = Instant::now();
        Self {
            layer: TransactionLayer::new(Timers::default(), branches),
            now: start,
            start,
        }
    }

    /// Milliseconds since the harness started.
    pub(super) fn elapsed_ms(&self) -> u128 {
        (self.now - self.start).as_millis()
    }

    /// Feeds `input` now, expecting it to be accepted.
    pub(super) fn input(&mut self, input: Input) -> Option<TransactionId> {
        self.layer.handle_input(self.now, input).unwrap()
    }

    /// Sends `request` as the TU; returns the client transaction and the outputs.
    pub(super) fn send(
        &mut self,
        request: Request,
        destination: Peer,
    ) -> (TransactionId, Vec<Output>) {
        let id = self
            .input(Input::SendRequest {
                request,
                destination,
            })
            .unwrap();
        (id, self.drain())
    }

    /// Delivers `message` from `source`; returns the outputs.
    pub(super) fn receive(&mut self, message: impl Into<SipMessage>, source: Peer) -> Vec<Output> {
        self.input(Input::Received {
            message: message.into(),
            source,
        });
        self.drain()
    }

    /// The TU answers with `response`; returns the outputs.
    pub(super) fn respond(&mut self, response: Response) -> Vec<Output> {
        self.input(Input::SendResponse { response });
        self.drain()
    }

    /// Moves the clock to `at_ms` after the start and fires due timers.
    pub(super) fn at(&mut self, at_ms: u64) -> Vec<Output> {
        self.now = self.start + Duration::from_millis(at_ms);
        self.input(Input::Timeout);
        self.drain()
    }

    /// Follows `poll_timeout` until nothing is scheduled or `limit_ms` is passed,
    /// recording at which millisecond each output appeared.
    pub(super) fn run_until(&mut self, limit_ms: u128) -> Vec<(u128, Output)> {
        let mut log = Vec::new();
        while let Some(next) = self.layer.poll_timeout() {
            if (next - self.start).as_millis() > limit_ms {
                break;
            }
            self.now = next;
            self.input(Input::Timeout);
            let at = self.elapsed_ms();
            log.extend(self.drain().into_iter().map(|output| (at, output)));
        }
        log
    }

    pub(super) fn drain(&mut self) -> Vec<Output> {
        std::iter::from_fn(|| self.layer.poll_output()).collect()
    }
}

/// The messages among `outputs`, parsed, with their destinations.
pub(super) fn transmitted(outputs: &[Output]) -> Vec<(Peer, SipMessage)> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Transmit(transmit) => Some((
                transmit.destination,
                parse_message(&transmit.payload).unwrap(),
            )),
            Output::Event(_) => None,
        })
        .collect()
}

/// The single request among `outputs`.
pub(super) fn sent_request(outputs: &[Output]) -> Request {
    let mut sent = transmitted(outputs);
    assert_eq!(sent.len(), 1, "expected one transmission in {outputs:?}");
    match sent.remove(0).1 {
        SipMessage::Request(request) => request,
        SipMessage::Response(response) => panic!("expected a request, sent {response}"),
    }
}

/// The status codes of the responses among `outputs`.
pub(super) fn sent_statuses(outputs: &[Output]) -> Vec<u16> {
    transmitted(outputs)
        .into_iter()
        .filter_map(|(_, message)| match message {
            SipMessage::Response(response) => Some(response.status_code.code()),
            SipMessage::Request(_) => None,
        })
        .collect()
}

/// The methods of the requests among `outputs`.
pub(super) fn sent_methods(outputs: &[Output]) -> Vec<Method> {
    transmitted(outputs)
        .into_iter()
        .filter_map(|(_, message)| match message {
            SipMessage::Request(request) => Some(request.method),
            SipMessage::Response(_) => None,
        })
        .collect()
}

/// The events among `outputs`.
pub(super) fn events(outputs: &[Output]) -> Vec<Event> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Event(event) => Some(event.clone()),
            Output::Transmit(_) => None,
        })
        .collect()
}

/// The status codes of the responses passed to the TU among `outputs`.
pub(super) fn passed_statuses(outputs: &[Output]) -> Vec<u16> {
    events(outputs)
        .into_iter()
        .filter_map(|event| match event {
            Event::Response { response, .. } => Some(response.status_code.code()),
            _ => None,
        })
        .collect()
}

/// The milliseconds at which a message was transmitted in `log`.
pub(super) fn transmit_times(log: &[(u128, Output)]) -> Vec<u128> {
    log.iter()
        .filter(|(_, output)| matches!(output, Output::Transmit(_)))
        .map(|(at, _)| *at)
        .collect()
}
