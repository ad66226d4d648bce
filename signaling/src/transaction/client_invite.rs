//! The INVITE client transaction (RFC 3261 §17.1.1, figure 5 as amended by
//! RFC 6026): Calling → Proceeding → Completed (non-2xx, ACK sent here) or
//! Accepted (2xx, retransmissions passed to the TU until Timer M).
//!
//! It sees only what the layer hands it and says what to do through [`Effect`]s.

use std::time::Instant;

use bytes::Bytes;
use rsip::{Request, Response};

use super::Effect;
use super::timers::{Retransmit, Timers};
use crate::message::{ack_for_non_2xx, encode_request};

/// Where an INVITE client transaction stands.
#[derive(Debug)]
enum State {
    /// INVITE sent, nothing heard. Timer A retransmits (unreliable only), Timer B
    /// gives up.
    Calling {
        retransmit: Option<Retransmit>,
        timeout_at: Instant,
    },
    /// A provisional response arrived; the TU decides how long to wait.
    Proceeding,
    /// A non-2xx final response arrived and was ACKed; retransmissions of it are
    /// ACKed again until Timer D.
    Completed { ack: Bytes, until: Instant },
    /// A 2xx arrived (RFC 6026); further 2xx go to the TU until Timer M.
    Accepted { until: Instant },
}

/// An INVITE we sent, and its state.
#[derive(Debug)]
pub(super) struct InviteClient {
    invite: Request,
    bytes: Bytes,
    timers: Timers,
    reliable: bool,
    state: State,
}

impl InviteClient {
    /// Starts the transaction: the INVITE goes out now.
    pub(super) fn start(
        now: Instant,
        invite: Request,
        timers: Timers,
        reliable: bool,
        effects: &mut Vec<Effect>,
    ) -> Self {
        let bytes = encode_request(&invite);
        effects.push(Effect::Send(bytes.clone()));
        Self {
            invite,
            bytes,
            timers,
            reliable,
            state: State::Calling {
                retransmit: Retransmit::first(now, &timers, reliable),
                timeout_at: now + timers.transaction_timeout(),
            },
        }
    }

    /// The INVITE this transaction sent.
    pub(super) fn invite(&self) -> &Request {
        &self.invite
    }

    /// Whether no response has been heard yet (Calling): a CANCEL must wait for a
    /// provisional response (RFC 3261 §9.1).
    pub(super) fn is_calling(&self) -> bool {
        matches!(self.state, State::Calling { .. })
    }

    /// Whether no final response has been received yet.
    pub(super) fn awaits_final_response(&self) -> bool {
        matches!(self.state, State::Calling { .. } | State::Proceeding)
    }

    /// A response matched this transaction.
    pub(super) fn on_response(
        &mut self,
        now: Instant,
        response: Response,
        effects: &mut Vec<Effect>,
    ) {
        let code = response.status_code.code();
        match (&self.state, code) {
            (State::Calling { .. } | State::Proceeding, 100..=199) => {
                self.state = State::Proceeding;
                effects.push(Effect::PassResponse(response));
            }
            (State::Calling { .. } | State::Proceeding, 200..=299) => {
                self.state = State::Accepted {
                    until: now + self.timers.transaction_timeout(),
                };
                effects.push(Effect::PassResponse(response));
            }
            (State::Accepted { .. }, 200..=299) => effects.push(Effect::PassResponse(response)),
            (State::Calling { .. } | State::Proceeding, 300..) => {
                let ack = encode_request(&ack_for_non_2xx(&self.invite, &response));
                effects.push(Effect::Send(ack.clone()));
                effects.push(Effect::PassResponse(response));
                if self.reliable {
                    effects.push(Effect::Terminate);
                } else {
                    self.state = State::Completed {
                        ack,
                        until: now + self.timers.timer_d(),
                    };
                }
            }
            (State::Completed { ack, .. }, 300..) => effects.push(Effect::Send(ack.clone())),
            _ => {}
        }
    }

    /// Fires whatever timer is due at `now`.
    pub(super) fn on_timeout(&mut self, now: Instant, effects: &mut Vec<Effect>) {
        match &mut self.state {
            State::Calling { timeout_at, .. } if *timeout_at <= now => {
                effects.push(Effect::NoFinalResponse);
                effects.push(Effect::Terminate);
            }
            State::Calling {
                retransmit: Some(retransmit),
                ..
            } if retransmit.is_due(now) => {
                *retransmit = retransmit.next(now, None);
                effects.push(Effect::Send(self.bytes.clone()));
            }
            State::Completed { until, .. } | State::Accepted { until } if *until <= now => {
                effects.push(Effect::Terminate);
            }
            _ => {}
        }
    }

    /// The next instant [`Self::on_timeout`] has something to do.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        match &self.state {
            State::Calling {
                retransmit,
                timeout_at,
            } => Some(retransmit.map_or(*timeout_at, |r| r.at.min(*timeout_at))),
            State::Proceeding => None,
            State::Completed { until, .. } | State::Accepted { until } => Some(*until),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;
    use super::super::{Event, Input, Output, TransactionError};
    use rsip::headers::ToTypedHeader;
    use rsip::message::HeadersExt;
    use rsip::{Method, SipMessage};

    #[test]
    fn invite_client_sends_the_invite_with_a_fresh_branch() {
        let mut h = Harness::new();
        let (_, outputs) = h.send(invite(), udp_peer());
        let sent = sent_request(&outputs);
        assert_eq!(sent.method, Method::Invite);
        let via = sent.via_header().unwrap().typed().unwrap();
        assert_eq!(via.branch().unwrap().to_string(), "z9hG4bKtest1");
        assert_eq!(transmitted(&outputs)[0].0, udp_peer());
    }

    #[test]
    fn invite_client_retransmits_on_timer_a_doubling_each_time_until_timer_b() {
        let mut h = Harness::new();
        let (id, _) = h.send(invite(), udp_peer());
        let log = h.run_until(40_000);
        assert_eq!(
            transmit_times(&log),
            [500, 1_500, 3_500, 7_500, 15_500, 31_500]
        );
        let outputs: Vec<Output> = log.into_iter().map(|(_, output)| output).collect();
        assert_eq!(
            events(&outputs),
            [Event::NoFinalResponse { id }, Event::Terminated { id }]
        );
        assert_eq!(h.elapsed_ms(), 32_000);
        assert!(h.layer.is_empty());
    }

    #[test]
    fn invite_client_over_tcp_does_not_retransmit_but_still_times_out() {
        let mut h = Harness::new();
        let (id, _) = h.send(invite(), tcp_peer());
        let log = h.run_until(40_000);
        assert!(transmit_times(&log).is_empty());
        assert_eq!(
            log[0],
            (32_000, Output::Event(Event::NoFinalResponse { id }))
        );
    }

    #[test]
    fn invite_client_stops_retransmitting_and_waits_for_the_tu_after_a_provisional_response() {
        let mut h = Harness::new();
        let (id, outputs) = h.send(invite(), udp_peer());
        let sent = sent_request(&outputs);
        let outputs = h.receive(answer(&sent, 180), udp_peer());
        assert_eq!(passed_statuses(&outputs), [180]);
        assert!(h.run_until(120_000).is_empty());
        assert_eq!(h.layer.poll_timeout(), None);
        assert_eq!(h.layer.len(), 1);
        let outputs = h.receive(answer(&sent, 183), udp_peer());
        assert!(matches!(&events(&outputs)[..], [Event::Response { id: got, .. }] if *got == id));
    }

    #[test]
    fn invite_client_acks_a_non_2xx_final_response_itself() {
        let mut h = Harness::new();
        let (_, outputs) = h.send(invite(), udp_peer());
        let sent = sent_request(&outputs);
        let busy = answer(&sent, 486);
        let outputs = h.receive(busy, udp_peer());
        assert_eq!(passed_statuses(&outputs), [486]);
        let ack = sent_request(&outputs);
        assert_eq!(ack.method, Method::Ack);
        assert_eq!(ack.via_header().unwrap(), sent.via_header().unwrap());
        assert_eq!(
            ack.to_header().unwrap().tag().unwrap().unwrap().to_string(),
            "far"
        );
        let cseq = ack.cseq_header().unwrap().typed().unwrap();
        assert_eq!(cseq.method, Method::Ack);
    }

    #[test]
    fn invite_client_re_acks_retransmitted_final_responses_until_timer_d() {
        let mut h = Harness::new();
        let (id, outputs) = h.send(invite(), udp_peer());
        let sent = sent_request(&outputs);
        h.receive(answer(&sent, 486), udp_peer());
        h.at(2_000);
        let outputs = h.receive(answer(&sent, 486), udp_peer());
        assert_eq!(sent_methods(&outputs), [Method::Ack]);
        assert!(
            passed_statuses(&outputs).is_empty(),
            "retransmission is absorbed"
        );
        assert!(h.at(31_999).is_empty());
        assert_eq!(events(&h.at(32_000)), [Event::Terminated { id }]);
    }

    #[test]
    fn invite_client_over_tcp_terminates_at_once_after_a_non_2xx_final_response() {
        let mut h = Harness::new();
        let (id, outputs) = h.send(invite(), tcp_peer());
        let sent = sent_request(&outputs);
        let outputs = h.receive(answer(&sent, 603), tcp_peer());
        assert_eq!(sent_methods(&outputs), [Method::Ack]);
        assert_eq!(events(&outputs).last(), Some(&Event::Terminated { id }));
        assert!(h.layer.is_empty());
    }

    #[test]
    fn invite_client_passes_every_2xx_to_the_tu_until_timer_m() {
        let mut h = Harness::new();
        let (id, outputs) = h.send(invite(), udp_peer());
        let sent = sent_request(&outputs);
        let outputs = h.receive(answer(&sent, 200), udp_peer());
        assert_eq!(passed_statuses(&outputs), [200]);
        assert!(
            sent_methods(&outputs).is_empty(),
            "the TU acknowledges a 2xx"
        );
        h.at(4_000);
        assert_eq!(
            passed_statuses(&h.receive(answer(&sent, 200), udp_peer())),
            [200]
        );
        assert_eq!(events(&h.at(32_000)), [Event::Terminated { id }]);
        assert!(
            h.receive(answer(&sent, 200), udp_peer()).is_empty(),
            "stray 2xx dropped"
        );
    }

    #[test]
    fn invite_client_ignores_a_non_2xx_after_a_2xx() {
        let mut h = Harness::new();
        let (_, outputs) = h.send(invite(), udp_peer());
        let sent = sent_request(&outputs);
        h.receive(answer(&sent, 200), udp_peer());
        assert!(h.receive(answer(&sent, 500), udp_peer()).is_empty());
    }

    #[test]
    fn a_response_with_an_unknown_branch_is_dropped() {
        let mut h = Harness::new();
        let stray = answer(&invite(), 200);
        let result = h.layer.handle_input(
            h.now,
            Input::Received {
                message: SipMessage::Response(stray),
                source: udp_peer(),
            },
        );
        assert_eq!(result, Ok(None));
        assert!(h.drain().is_empty());
    }

    #[test]
    fn ack_and_cancel_are_not_sent_as_transactions() {
        let mut h = Harness::new();
        for method in [Method::Ack, Method::Cancel] {
            let mut request = invite();
            request.method = method;
            let result = h.layer.handle_input(
                h.now,
                Input::SendRequest {
                    request,
                    destination: udp_peer(),
                },
            );
            assert_eq!(result, Err(TransactionError::NotForSendRequest(method)));
        }
    }
}
