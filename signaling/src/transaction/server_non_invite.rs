//! The non-INVITE server transaction (RFC 3261 §17.2.2, figure 8): Trying →
//! Proceeding → Completed. Retransmitted requests get the last response again;
//! Timer J keeps the final response around for them.

use std::time::Instant;

use bytes::Bytes;
use rsip::Response;

use super::timers::Timers;
use super::{Effect, TransactionError};
use crate::message::encode_response;

/// Where a non-INVITE server transaction stands.
#[derive(Debug)]
enum State {
    /// Request passed to the TU, nothing sent yet: retransmissions are absorbed.
    Trying,
    /// A provisional response was sent; retransmissions get it again.
    Proceeding { last_provisional: Bytes },
    /// The final response was sent; retransmissions get it again until Timer J.
    Completed { response: Bytes, until: Instant },
}

/// A non-INVITE request we received, and its state.
#[derive(Debug)]
pub(super) struct NonInviteServer {
    timers: Timers,
    reliable: bool,
    state: State,
}

impl NonInviteServer {
    /// Starts the transaction; nothing is sent until the TU answers.
    pub(super) fn start(timers: Timers, reliable: bool) -> Self {
        Self {
            timers,
            reliable,
            state: State::Trying,
        }
    }

    /// The request was received again.
    pub(super) fn on_retransmission(&self, effects: &mut Vec<Effect>) {
        match &self.state {
            State::Trying => {}
            State::Proceeding { last_provisional } => {
                effects.push(Effect::Send(last_provisional.clone()));
            }
            State::Completed { response, .. } => effects.push(Effect::Send(response.clone())),
        }
    }

    /// The TU answers the request.
    pub(super) fn on_tu_response(
        &mut self,
        now: Instant,
        response: &Response,
        effects: &mut Vec<Effect>,
    ) -> Result<(), TransactionError> {
        if matches!(self.state, State::Completed { .. }) {
            return Err(TransactionError::FinalResponseAlreadySent);
        }
        let bytes = encode_response(response);
        effects.push(Effect::Send(bytes.clone()));
        if response.status_code.code() < 200 {
            self.state = State::Proceeding {
                last_provisional: bytes,
            };
        } else if self.reliable {
            effects.push(Effect::Terminate);
        } else {
            self.state = State::Completed {
                response: bytes,
                until: now + self.timers.transaction_timeout(),
            };
        }
        Ok(())
    }

    /// Fires Timer J if due.
    pub(super) fn on_timeout(&mut self, now: Instant, effects: &mut Vec<Effect>) {
        if let State::Completed { until, .. } = self.state {
            if until <= now {
                effects.push(Effect::Terminate);
            }
        }
    }

    /// The next instant [`Self::on_timeout`] has something to do.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        match &self.state {
            State::Trying | State::Proceeding { .. } => None,
            State::Completed { until, .. } => Some(*until),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;
    use super::super::{Event, Input, Output, TransactionError, Transport};
    use crate::message::response_to;

    #[test]
    fn non_invite_server_passes_the_request_up_and_sends_nothing_itself() {
        let mut h = Harness::new();
        let outputs = h.receive(options(), udp_peer());
        assert!(sent_statuses(&outputs).is_empty());
        assert!(matches!(&events(&outputs)[..], [Event::Request { .. }]));
        assert_eq!(h.layer.poll_timeout(), None);
    }

    #[test]
    fn non_invite_server_answers_retransmissions_with_the_last_response() {
        let mut h = Harness::new();
        h.receive(options(), udp_peer());
        assert!(
            h.receive(options(), udp_peer()).is_empty(),
            "absorbed while Trying"
        );
        h.respond(answer(&options(), 100));
        assert_eq!(sent_statuses(&h.receive(options(), udp_peer())), [100]);
        h.respond(answer(&options(), 200));
        let outputs = h.receive(options(), udp_peer());
        assert_eq!(sent_statuses(&outputs), [200]);
        assert!(events(&outputs).is_empty());
    }

    #[test]
    fn non_invite_server_keeps_the_final_response_until_timer_j() {
        let mut h = Harness::new();
        let id = h
            .input(Input::Received {
                message: options().into(),
                source: udp_peer(),
            })
            .unwrap();
        h.drain();
        assert_eq!(sent_statuses(&h.respond(answer(&options(), 200))), [200]);
        let again = h.layer.handle_input(
            h.now,
            Input::SendResponse {
                response: answer(&options(), 200),
            },
        );
        assert_eq!(again, Err(TransactionError::FinalResponseAlreadySent));
        let log = h.run_until(60_000);
        assert_eq!(log, [(32_000, Output::Event(Event::Terminated { id }))]);
    }

    #[test]
    fn non_invite_server_over_tcp_terminates_with_the_final_response() {
        let mut h = Harness::new();
        h.receive(options(), tcp_peer());
        let outputs = h.respond(answer(&options(), 200));
        assert!(matches!(&events(&outputs)[..], [Event::Terminated { .. }]));
        assert!(h.layer.is_empty());
    }

    #[test]
    fn responses_over_udp_go_to_the_sent_by_port_unless_rport_is_asked() {
        let mut h = Harness::new();
        let source = peer(Transport::Udp, "192.0.2.30:40001");
        h.receive(options(), source);
        let outputs = h.respond(answer(&options(), 200));
        assert_eq!(
            transmitted(&outputs)[0].0,
            peer(Transport::Udp, "192.0.2.30:5061")
        );

        let source = peer(Transport::Udp, "192.0.2.10:40002");
        h.receive(invite(), source);
        let outputs = h.respond(answer(&invite(), 180));
        assert_eq!(
            transmitted(&outputs)[0].0,
            source,
            "the INVITE's Via has rport"
        );
    }

    #[test]
    fn a_response_for_no_transaction_is_refused() {
        let mut h = Harness::new();
        let result = h.layer.handle_input(
            h.now,
            Input::SendResponse {
                response: response_to(&options(), 200, "OK"),
            },
        );
        assert_eq!(result, Err(TransactionError::NoSuchTransaction));
    }
}
