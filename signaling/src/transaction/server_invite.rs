//! The INVITE server transaction (RFC 3261 §17.2.1, figure 7 as amended by
//! RFC 6026): Proceeding (100 Trying sent at once) → Completed (non-2xx sent,
//! Timer G retransmits until the ACK, Timer H gives up) → Confirmed (Timer I
//! absorbs ACKs), or → Accepted (2xx sent; the TU retransmits it, ACKs go to the TU,
//! Timer L ends it).

use std::time::Instant;

use bytes::Bytes;
use rsip::{Request, Response};

use super::timers::{Retransmit, Timers};
use super::{Effect, TransactionError};
use crate::message::{encode_response, response_to};

/// Where an INVITE server transaction stands.
#[derive(Debug)]
enum State {
    /// Waiting for the TU's final response; retransmitted INVITEs get the last
    /// provisional response again.
    Proceeding { last_provisional: Bytes },
    /// Non-2xx final response sent, waiting for the ACK.
    Completed {
        response: Bytes,
        retransmit: Option<Retransmit>,
        timeout_at: Instant,
    },
    /// ACK received; late ACKs are absorbed until Timer I.
    Confirmed { until: Instant },
    /// 2xx sent (RFC 6026): retransmitted INVITEs are absorbed, ACKs and further
    /// 2xx from the TU pass through, until Timer L.
    Accepted { until: Instant },
}

/// An INVITE we received, and its state.
#[derive(Debug)]
pub(super) struct InviteServer {
    timers: Timers,
    reliable: bool,
    state: State,
}

impl InviteServer {
    /// Starts the transaction and answers `100 Trying` at once (§17.2.1).
    pub(super) fn start(
        invite: &Request,
        timers: Timers,
        reliable: bool,
        effects: &mut Vec<Effect>,
    ) -> Self {
        let trying = encode_response(&response_to(invite, 100, "Trying"));
        effects.push(Effect::Send(trying.clone()));
        Self {
            timers,
            reliable,
            state: State::Proceeding {
                last_provisional: trying,
            },
        }
    }

    /// Whether no final response has been sent yet (a CANCEL still applies).
    pub(super) fn awaits_final_response(&self) -> bool {
        matches!(self.state, State::Proceeding { .. })
    }

    /// The INVITE was received again.
    pub(super) fn on_retransmission(&self, effects: &mut Vec<Effect>) {
        match &self.state {
            State::Proceeding { last_provisional } => {
                effects.push(Effect::Send(last_provisional.clone()));
            }
            State::Completed { response, .. } => effects.push(Effect::Send(response.clone())),
            State::Confirmed { .. } | State::Accepted { .. } => {}
        }
    }

    /// An ACK with this transaction's key arrived.
    pub(super) fn on_ack(&mut self, now: Instant, ack: Request, effects: &mut Vec<Effect>) {
        match self.state {
            State::Completed { .. } if self.reliable => effects.push(Effect::Terminate),
            State::Completed { .. } => {
                self.state = State::Confirmed {
                    until: now + self.timers.t4,
                };
            }
            State::Accepted { .. } => effects.push(Effect::PassAck(ack)),
            State::Proceeding { .. } | State::Confirmed { .. } => {}
        }
    }

    /// The TU answers the INVITE.
    pub(super) fn on_tu_response(
        &mut self,
        now: Instant,
        response: &Response,
        effects: &mut Vec<Effect>,
    ) -> Result<(), TransactionError> {
        let code = response.status_code.code();
        let bytes = encode_response(response);
        match (&self.state, code) {
            (State::Proceeding { .. }, 100..=199) => {
                self.state = State::Proceeding {
                    last_provisional: bytes.clone(),
                };
            }
            (State::Proceeding { .. }, 200..=299) => {
                self.state = State::Accepted {
                    until: now + self.timers.transaction_timeout(),
                };
            }
            (State::Accepted { .. }, 200..=299) => {}
            (State::Proceeding { .. }, 300..) => {
                self.state = State::Completed {
                    response: bytes.clone(),
                    retransmit: Retransmit::first(now, &self.timers, self.reliable),
                    timeout_at: now + self.timers.transaction_timeout(),
                };
            }
            _ => return Err(TransactionError::FinalResponseAlreadySent),
        }
        effects.push(Effect::Send(bytes));
        Ok(())
    }

    /// Fires whatever timer is due at `now`.
    pub(super) fn on_timeout(&mut self, now: Instant, effects: &mut Vec<Effect>) {
        let t2 = self.timers.t2;
        match &mut self.state {
            State::Completed { timeout_at, .. } if *timeout_at <= now => {
                effects.push(Effect::AckNotReceived);
                effects.push(Effect::Terminate);
            }
            State::Completed {
                response,
                retransmit: Some(retransmit),
                ..
            } if retransmit.is_due(now) => {
                *retransmit = retransmit.next(now, Some(t2));
                effects.push(Effect::Send(response.clone()));
            }
            State::Confirmed { until } | State::Accepted { until } if *until <= now => {
                effects.push(Effect::Terminate);
            }
            _ => {}
        }
    }

    /// The next instant [`Self::on_timeout`] has something to do.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        match &self.state {
            State::Proceeding { .. } => None,
            State::Completed {
                retransmit,
                timeout_at,
                ..
            } => Some(retransmit.map_or(*timeout_at, |r| r.at.min(*timeout_at))),
            State::Confirmed { until } | State::Accepted { until } => Some(*until),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;
    use super::super::{Event, Input, Output, TransactionError};
    use rsip::{Method, SipMessage};

    use crate::message::{corpus, response_to};

    fn received_invite(
        h: &mut Harness,
        source: super::super::Peer,
    ) -> (super::super::TransactionId, Vec<Output>) {
        let outputs = h.receive(invite(), source);
        let id = match events(&outputs).first() {
            Some(Event::Request { id, .. }) => *id,
            other => panic!("expected a new request, got {other:?}"),
        };
        (id, outputs)
    }

    fn ack() -> rsip::Request {
        request(corpus::ACK)
    }

    #[test]
    fn invite_server_answers_100_trying_at_once_and_passes_the_invite_up() {
        let mut h = Harness::new();
        let (_, outputs) = received_invite(&mut h, udp_peer());
        assert_eq!(sent_statuses(&outputs), [100]);
        assert!(
            matches!(&events(&outputs)[..], [Event::Request { request, source, .. }]
            if request.method == Method::Invite && *source == udp_peer())
        );
    }

    #[test]
    fn invite_server_answers_a_retransmitted_invite_with_the_last_provisional_response() {
        let mut h = Harness::new();
        received_invite(&mut h, udp_peer());
        assert_eq!(sent_statuses(&h.receive(invite(), udp_peer())), [100]);
        h.respond(answer(&invite(), 180));
        let outputs = h.receive(invite(), udp_peer());
        assert_eq!(sent_statuses(&outputs), [180]);
        assert!(
            events(&outputs).is_empty(),
            "a retransmission is not a new request"
        );
    }

    #[test]
    fn invite_server_retransmits_a_non_2xx_on_timer_g_until_the_ack() {
        let mut h = Harness::new();
        let (id, _) = received_invite(&mut h, udp_peer());
        assert_eq!(sent_statuses(&h.respond(answer(&invite(), 486))), [486]);
        let log = h.run_until(8_000);
        assert_eq!(transmit_times(&log), [500, 1_500, 3_500, 7_500]);
        let outputs = h.receive(ack(), udp_peer());
        assert!(
            outputs.is_empty(),
            "the ACK for a non-2xx is absorbed: {outputs:?}"
        );
        assert!(h.receive(ack(), udp_peer()).is_empty(), "a late ACK too");
        assert!(
            h.receive(invite(), udp_peer()).is_empty(),
            "and a late INVITE"
        );
        let log = h.run_until(60_000);
        assert_eq!(log, [(12_500, Output::Event(Event::Terminated { id }))]);
    }

    #[test]
    fn invite_server_caps_timer_g_at_t2() {
        let mut h = Harness::new();
        received_invite(&mut h, udp_peer());
        h.respond(answer(&invite(), 500));
        let log = h.run_until(20_000);
        assert_eq!(
            transmit_times(&log),
            [500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500]
        );
    }

    #[test]
    fn invite_server_reports_a_missing_ack_on_timer_h() {
        let mut h = Harness::new();
        let (id, _) = received_invite(&mut h, udp_peer());
        h.respond(answer(&invite(), 404));
        let log = h.run_until(60_000);
        let events: Vec<(u128, Event)> = log
            .into_iter()
            .filter_map(|(at, output)| match output {
                Output::Event(event) => Some((at, event)),
                Output::Transmit(_) => None,
            })
            .collect();
        assert_eq!(
            events,
            [
                (32_000, Event::AckNotReceived { id }),
                (32_000, Event::Terminated { id })
            ]
        );
    }

    #[test]
    fn invite_server_over_tcp_does_not_retransmit_and_ends_at_the_ack() {
        let mut h = Harness::new();
        let (id, _) = received_invite(&mut h, tcp_peer());
        h.respond(answer(&invite(), 486));
        assert!(transmit_times(&h.run_until(10_000)).is_empty());
        assert_eq!(
            events(&h.receive(ack(), tcp_peer())),
            [Event::Terminated { id }]
        );
    }

    #[test]
    fn invite_server_in_accepted_state_absorbs_invites_and_passes_acks_and_2xx() {
        let mut h = Harness::new();
        let (id, _) = received_invite(&mut h, udp_peer());
        assert_eq!(sent_statuses(&h.respond(answer(&invite(), 200))), [200]);
        assert!(
            h.receive(invite(), udp_peer()).is_empty(),
            "retransmitted INVITE absorbed"
        );
        assert_eq!(
            sent_statuses(&h.respond(answer(&invite(), 200))),
            [200],
            "TU retransmits the 2xx"
        );
        let outputs = h.receive(ack(), udp_peer());
        assert!(
            matches!(&events(&outputs)[..], [Event::Ack { request, .. }] if request.method == Method::Ack)
        );
        assert!(transmit_times(&h.run_until(31_999)).is_empty());
        assert_eq!(events(&h.at(32_000)), [Event::Terminated { id }]);
    }

    #[test]
    fn an_ack_for_a_2xx_with_its_own_branch_goes_to_the_tu() {
        let mut h = Harness::new();
        let ack = with_branch(&ack(), "z9hG4bKack2xx");
        let result = h.layer.handle_input(
            h.now,
            Input::Received {
                message: SipMessage::Request(ack.clone()),
                source: udp_peer(),
            },
        );
        assert_eq!(result, Ok(None));
        assert_eq!(
            events(&h.drain()),
            [Event::Ack {
                request: Box::new(ack),
                source: udp_peer()
            }]
        );
    }

    #[test]
    fn invite_server_refuses_a_second_final_response() {
        let mut h = Harness::new();
        received_invite(&mut h, udp_peer());
        h.respond(answer(&invite(), 486));
        let again = h.layer.handle_input(
            h.now,
            Input::SendResponse {
                response: response_to(&invite(), 200, "OK"),
            },
        );
        assert_eq!(again, Err(TransactionError::FinalResponseAlreadySent));
    }
}
