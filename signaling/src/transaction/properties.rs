//! Property tests: random interleavings of TU commands, far-end messages (new,
//! retransmitted, answered), transport failures and time never panic the layer,
//! never leave a due timer unfired, never speak of a transaction after its
//! `Terminated`, and leave nothing behind once every request has a final answer
//! and the timers have run out.

use std::collections::HashSet;
use std::time::Duration;

use proptest::prelude::*;
use rsip::{Request, SipMessage};

use super::harness::{Harness, answer, invite, options, tcp_peer, udp_peer, with_branch};
use super::{Event, Input, Output, TransactionId};

#[derive(Debug, Clone)]
enum Step {
    /// The TU sends an INVITE or an OPTIONS.
    TuSends { invite: bool, reliable: bool },
    /// The far end answers the n-th request we sent.
    FarEndAnswers { nth: usize, code: u16 },
    /// The far end sends a request (new branch `n`, or a retransmission of it).
    FarEndSends {
        branch: u8,
        invite: bool,
        reliable: bool,
    },
    /// The far end sends the ACK or CANCEL for its branch `n`.
    FarEndAcksOrCancels { branch: u8, cancel: bool },
    /// The TU answers the n-th request it received.
    TuAnswers { nth: usize, code: u16 },
    /// The TU cancels the n-th request it sent.
    TuCancels { nth: usize },
    /// TCP to the far end breaks.
    TcpFails,
    /// Time passes.
    Wait { ms: u64 },
}

fn code() -> impl Strategy<Value = u16> {
    prop::sample::select(vec![100, 180, 183, 200, 202, 302, 404, 486, 487, 503])
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        (any::<bool>(), any::<bool>())
            .prop_map(|(invite, reliable)| Step::TuSends { invite, reliable }),
        (0usize..8, code()).prop_map(|(nth, code)| Step::FarEndAnswers { nth, code }),
        (0u8..4, any::<bool>(), any::<bool>()).prop_map(|(branch, invite, reliable)| {
            Step::FarEndSends {
                branch,
                invite,
                reliable,
            }
        }),
        (0u8..4, any::<bool>())
            .prop_map(|(branch, cancel)| Step::FarEndAcksOrCancels { branch, cancel }),
        (0usize..8, code()).prop_map(|(nth, code)| Step::TuAnswers { nth, code }),
        (0usize..8).prop_map(|nth| Step::TuCancels { nth }),
        Just(Step::TcpFails),
        (1u64..40_000).prop_map(|ms| Step::Wait { ms }),
    ]
}

/// What the model remembers to drive the far end and check the outputs.
#[derive(Default)]
struct World {
    sent: Vec<(TransactionId, Request)>,
    received: Vec<Request>,
    terminated: HashSet<TransactionId>,
}

impl World {
    fn observe(&mut self, outputs: Vec<Output>) {
        for output in outputs {
            let Output::Event(event) = output else {
                continue;
            };
            let id = match &event {
                Event::Request { id, request, .. } | Event::Cancel { id, request, .. } => {
                    self.received.push(request.as_ref().clone());
                    Some(*id)
                }
                Event::Response { id, .. }
                | Event::NoFinalResponse { id }
                | Event::AckNotReceived { id }
                | Event::TransportFailed { id } => Some(*id),
                Event::Terminated { id } => {
                    assert!(self.terminated.insert(*id), "{id} terminated twice");
                    None
                }
                Event::Ack { .. } => None,
            };
            if let Some(id) = id {
                assert!(
                    !self.terminated.contains(&id),
                    "{event:?} after {id} terminated"
                );
            }
        }
    }
}

fn far_end_request(branch: u8, invite_request: bool) -> Request {
    let base = if invite_request { invite() } else { options() };
    with_branch(&base, &format!("z9hG4bKfar{branch}{invite_request}"))
}

fn run(h: &mut Harness, world: &mut World, step: Step) {
    let peer = |reliable: bool| if reliable { tcp_peer() } else { udp_peer() };
    let input = match step {
        Step::TuSends {
            invite: is_invite,
            reliable,
        } => {
            let request = if is_invite { invite() } else { options() };
            let (id, outputs) = h.send(request, peer(reliable));
            let sent = outputs.iter().find_map(|output| match output {
                Output::Transmit(transmit) => crate::message::parse_message(&transmit.payload).ok(),
                Output::Event(_) => None,
            });
            if let Some(SipMessage::Request(request)) = sent {
                world.sent.push((id, request));
            }
            world.observe(outputs);
            return;
        }
        Step::FarEndAnswers { nth, code } => match world.sent.get(nth) {
            Some((_, request)) => Input::Received {
                message: answer(request, code).into(),
                source: udp_peer(),
            },
            None => return,
        },
        Step::FarEndSends {
            branch,
            invite,
            reliable,
        } => Input::Received {
            message: far_end_request(branch, invite).into(),
            source: peer(reliable),
        },
        Step::FarEndAcksOrCancels { branch, cancel } => {
            let invite = far_end_request(branch, true);
            let message = if cancel {
                crate::message::cancel_for(&invite)
            } else {
                crate::message::ack_for_non_2xx(&invite, &answer(&invite, 486))
            };
            Input::Received {
                message: message.into(),
                source: udp_peer(),
            }
        }
        Step::TuAnswers { nth, code } => match world.received.get(nth) {
            Some(request) => Input::SendResponse {
                response: answer(request, code),
            },
            None => return,
        },
        Step::TuCancels { nth } => match world.sent.get(nth) {
            Some((id, _)) => Input::Cancel {
                invite: *id,
                headers: Vec::new(),
            },
            None => return,
        },
        Step::TcpFails => Input::TransportFailed { peer: tcp_peer() },
        Step::Wait { ms } => {
            h.now += Duration::from_millis(ms);
            Input::Timeout
        }
    };
    let _ = h.layer.handle_input(h.now, input);
    let outputs = h.drain();
    world.observe(outputs);
    if let Some(next) = h.layer.poll_timeout() {
        assert!(
            next > h.now || !matches!(step, Step::Wait { .. }),
            "a due timer was left unfired"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn any_interleaving_keeps_the_layer_consistent(steps in prop::collection::vec(step(), 1..40)) {
        let mut h = Harness::new();
        let mut world = World::default();
        for step in steps {
            run(&mut h, &mut world, step);
        }
        let sent: Vec<Request> = world.sent.iter().map(|(_, request)| request.clone()).collect();
        for request in sent {
            run_input(&mut h, &mut world, Input::Received { message: answer(&request, 486).into(), source: udp_peer() });
        }
        for request in world.received.clone() {
            run_input(&mut h, &mut world, Input::SendResponse { response: answer(&request, 500) });
        }
        h.now += Duration::from_secs(100);
        run_input(&mut h, &mut world, Input::Timeout);
        h.now += Duration::from_secs(100);
        run_input(&mut h, &mut world, Input::Timeout);
        prop_assert!(h.layer.is_empty(), "{} transactions left", h.layer.len());
        prop_assert_eq!(h.layer.poll_timeout(), None);
    }
}

fn run_input(h: &mut Harness, world: &mut World, input: Input) {
    let _ = h.layer.handle_input(h.now, input);
    let outputs = h.drain();
    world.observe(outputs);
}
