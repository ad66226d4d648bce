//! The non-INVITE client transaction (RFC 3261 §17.1.2, figure 6): Trying →
//! Proceeding → Completed. Timer E retransmits (doubling up to T2, then every T2
//! once a provisional response arrived), Timer F gives up, Timer K absorbs
//! retransmitted final responses.

use std::time::Instant;

use bytes::Bytes;
use rsip::{Request, Response};

use super::Effect;
use super::timers::{Retransmit, Timers};
use crate::message::encode_request;

/// Where a non-INVITE client transaction stands.
#[derive(Debug)]
enum State {
    /// Request sent, nothing heard.
    Trying {
        retransmit: Option<Retransmit>,
        timeout_at: Instant,
    },
    /// A provisional response arrived; retransmissions continue every T2.
    Proceeding {
        retransmit: Option<Retransmit>,
        timeout_at: Instant,
    },
    /// A final response arrived; its retransmissions are absorbed until Timer K.
    Completed { until: Instant },
}

/// A non-INVITE request we sent, and its state.
#[derive(Debug)]
pub(super) struct NonInviteClient {
    bytes: Bytes,
    timers: Timers,
    reliable: bool,
    state: State,
}

impl NonInviteClient {
    /// Starts the transaction: the request goes out now.
    pub(super) fn start(
        now: Instant,
        request: &Request,
        timers: Timers,
        reliable: bool,
        effects: &mut Vec<Effect>,
    ) -> Self {
        let bytes = encode_request(request);
        effects.push(Effect::Send(bytes.clone()));
        Self {
            bytes,
            timers,
            reliable,
            state: State::Trying {
                retransmit: Retransmit::first(now, &timers, reliable),
                timeout_at: now + timers.transaction_timeout(),
            },
        }
    }

    /// A response matched this transaction.
    pub(super) fn on_response(
        &mut self,
        now: Instant,
        response: Response,
        effects: &mut Vec<Effect>,
    ) {
        let provisional = response.status_code.code() < 200;
        match self.state {
            State::Trying {
                retransmit,
                timeout_at,
            }
            | State::Proceeding {
                retransmit,
                timeout_at,
            } if provisional => {
                self.state = State::Proceeding {
                    retransmit,
                    timeout_at,
                };
                effects.push(Effect::PassResponse(response));
            }
            State::Trying { .. } | State::Proceeding { .. } => {
                effects.push(Effect::PassResponse(response));
                if self.reliable {
                    effects.push(Effect::Terminate);
                } else {
                    self.state = State::Completed {
                        until: now + self.timers.t4,
                    };
                }
            }
            State::Completed { .. } => {}
        }
    }

    /// Fires whatever timer is due at `now`.
    pub(super) fn on_timeout(&mut self, now: Instant, effects: &mut Vec<Effect>) {
        let t2 = self.timers.t2;
        match &mut self.state {
            State::Trying { timeout_at, .. } | State::Proceeding { timeout_at, .. }
                if *timeout_at <= now =>
            {
                effects.push(Effect::NoFinalResponse);
                effects.push(Effect::Terminate);
            }
            State::Trying {
                retransmit: Some(retransmit),
                ..
            } if retransmit.is_due(now) => {
                *retransmit = retransmit.next(now, Some(t2));
                effects.push(Effect::Send(self.bytes.clone()));
            }
            State::Proceeding {
                retransmit: Some(retransmit),
                ..
            } if retransmit.is_due(now) => {
                *retransmit = Retransmit {
                    at: now + t2,
                    interval: t2,
                };
                effects.push(Effect::Send(self.bytes.clone()));
            }
            State::Completed { until } if *until <= now => effects.push(Effect::Terminate),
            _ => {}
        }
    }

    /// The next instant [`Self::on_timeout`] has something to do.
    pub(super) fn next_deadline(&self) -> Option<Instant> {
        match &self.state {
            State::Trying {
                retransmit,
                timeout_at,
            }
            | State::Proceeding {
                retransmit,
                timeout_at,
            } => Some(retransmit.map_or(*timeout_at, |r| r.at.min(*timeout_at))),
            State::Completed { until } => Some(*until),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::harness::*;
    use super::super::{Event, Output};

    #[test]
    fn non_invite_client_retransmits_on_timer_e_doubling_up_to_t2_until_timer_f() {
        let mut h = Harness::new();
        let (id, _) = h.send(options(), udp_peer());
        let log = h.run_until(40_000);
        assert_eq!(
            transmit_times(&log),
            [
                500, 1_500, 3_500, 7_500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500
            ]
        );
        let outputs: Vec<Output> = log.into_iter().map(|(_, output)| output).collect();
        assert_eq!(
            events(&outputs),
            [Event::NoFinalResponse { id }, Event::Terminated { id }]
        );
        assert_eq!(h.elapsed_ms(), 32_000);
    }

    #[test]
    fn non_invite_client_retransmits_every_t2_once_a_provisional_response_arrived() {
        let mut h = Harness::new();
        let (_, outputs) = h.send(options(), udp_peer());
        let sent = sent_request(&outputs);
        assert_eq!(sent_request(&h.at(500)), sent);
        let outputs = h.receive(answer(&sent, 100), udp_peer());
        assert_eq!(passed_statuses(&outputs), [100]);
        let log = h.run_until(12_000);
        assert_eq!(transmit_times(&log), [1_500, 5_500, 9_500]);
    }

    #[test]
    fn non_invite_client_absorbs_retransmitted_final_responses_until_timer_k() {
        let mut h = Harness::new();
        let (id, outputs) = h.send(options(), udp_peer());
        let sent = sent_request(&outputs);
        h.at(100);
        assert_eq!(
            passed_statuses(&h.receive(answer(&sent, 200), udp_peer())),
            [200]
        );
        assert!(h.receive(answer(&sent, 200), udp_peer()).is_empty());
        assert!(h.at(5_099).is_empty());
        assert_eq!(events(&h.at(5_100)), [Event::Terminated { id }]);
    }

    #[test]
    fn non_invite_client_over_tcp_terminates_at_once_after_the_final_response() {
        let mut h = Harness::new();
        let (id, outputs) = h.send(options(), tcp_peer());
        let sent = sent_request(&outputs);
        assert!(transmit_times(&h.run_until(10_000)).is_empty());
        let outputs = h.receive(answer(&sent, 404), tcp_peer());
        assert_eq!(passed_statuses(&outputs), [404]);
        assert_eq!(events(&outputs).last(), Some(&Event::Terminated { id }));
        assert!(h.layer.is_empty());
    }

    #[test]
    fn a_lost_first_request_is_recovered_by_the_retransmission() {
        let mut h = Harness::new();
        let (_, outputs) = h.send(options(), udp_peer());
        let sent = sent_request(&outputs);
        let retransmitted = sent_request(&h.at(500));
        assert_eq!(retransmitted, sent);
        assert_eq!(
            passed_statuses(&h.receive(answer(&retransmitted, 200), udp_peer())),
            [200]
        );
    }
}
