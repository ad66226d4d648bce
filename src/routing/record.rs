//! What is persisted: each [`Step`] of a contact's life the service sees
//! becomes one `contact_events` row and the contact's new state, with wait
//! and talk times in milliseconds so that reports can be computed later; each
//! agent state change an `agent_events` row. Pure: the service hands the
//! [`Record`]s to a writer task that applies them in order.

use std::time::Duration;

use serde_json::json;

use kefu_acd::StateCause;

use crate::store::{AgentRecord, ContactRecord, Millis};

/// Something for the writer task to store.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Contact(ContactRecord),
    Agent(AgentRecord),
}

/// The stored name of what caused an agent state change.
pub fn cause_name(cause: StateCause) -> &'static str {
    match cause {
        StateCause::Login => "login",
        StateCause::Logout => "logout",
        StateCause::Requested => "requested",
        StateCause::Offered => "offered",
        StateCause::OfferEnded => "offer_ended",
        StateCause::Accepted => "accepted",
        StateCause::ContactEnded => "contact_ended",
        StateCause::WrapUpElapsed => "wrap_up_elapsed",
        StateCause::NoAnswerLimit => "no_answer_limit",
    }
}

/// Who an event concerns: the agent's user id and extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub user_id: String,
    pub extension: String,
}

/// One step in a contact's life.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// It entered a queue.
    Queued { queue: String },
    /// An agent is being offered it until `deadline` (Unix ms).
    Offered { agent: Who, deadline: Millis },
    /// The agent declined the offer.
    Declined { agent: Who },
    /// The offer rang out.
    NoAnswer { agent: Who },
    /// The offer was withdrawn (another agent answered, the agent logged out).
    Withdrawn { agent: Who, reason: &'static str },
    /// The agent accepted it after it waited `wait`.
    Accepted { agent: Who, wait: Duration },
    /// The customer left before an agent accepted.
    Abandoned { wait: Duration },
    /// The assigned contact ended after `talk`.
    Ended { agent: Who, talk: Duration },
    /// It moved on to another queue after `wait` in `from`.
    Overflowed {
        from: String,
        to: String,
        wait: Duration,
    },
    /// It left unserved for the queue's timeout target.
    TimedOut {
        reason: &'static str,
        target: String,
        wait: Duration,
    },
    /// The customer asked to be called back, keeping their place.
    CallbackRequested,
    /// kefu stopped while the contact was `waiting` or `assigned`.
    Closed { stage: &'static str },
}

fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The record of `step` for the contact at `at`.
pub fn record(contact_id: &str, at: Millis, step: Step) -> ContactRecord {
    let base = |kind, state, user_id: Option<&Who>, data| ContactRecord {
        contact_id: contact_id.to_owned(),
        at,
        kind,
        user_id: user_id.map(|w| w.user_id.clone()),
        data,
        state,
        assigns: false,
        ends: None,
    };
    match step {
        Step::Queued { queue } => base("queued", "queued", None, json!({ "queue": queue })),
        Step::Offered { agent, deadline } => base(
            "offered",
            "offered",
            Some(&agent),
            json!({ "agent": agent.extension, "deadline": deadline.0 }),
        ),
        Step::Declined { agent } => base(
            "declined",
            "queued",
            Some(&agent),
            json!({ "agent": agent.extension }),
        ),
        Step::NoAnswer { agent } => base(
            "no_answer",
            "queued",
            Some(&agent),
            json!({ "agent": agent.extension }),
        ),
        Step::Withdrawn { agent, reason } => base(
            "offer_withdrawn",
            "queued",
            Some(&agent),
            json!({ "agent": agent.extension, "reason": reason }),
        ),
        Step::Accepted { agent, wait } => ContactRecord {
            assigns: true,
            ..base(
                "accepted",
                "assigned",
                Some(&agent),
                json!({ "agent": agent.extension, "wait_ms": ms(wait) }),
            )
        },
        Step::Abandoned { wait } => ContactRecord {
            ends: Some("abandoned"),
            ..base(
                "abandoned",
                "abandoned",
                None,
                json!({ "wait_ms": ms(wait) }),
            )
        },
        Step::Ended { agent, talk } => ContactRecord {
            ends: Some("completed"),
            ..base(
                "ended",
                "ended",
                Some(&agent),
                json!({ "agent": agent.extension, "talk_ms": ms(talk) }),
            )
        },
        Step::Overflowed { from, to, wait } => base(
            "overflowed",
            "queued",
            None,
            json!({ "from": from, "to": to, "wait_ms": ms(wait) }),
        ),
        Step::TimedOut {
            reason,
            target,
            wait,
        } => ContactRecord {
            ends: Some("timed_out"),
            ..base(
                "timed_out",
                "timed_out",
                None,
                json!({ "reason": reason, "target": target, "wait_ms": ms(wait) }),
            )
        },
        Step::CallbackRequested => base("callback_requested", "queued", None, json!({})),
        Step::Closed { stage } => ContactRecord {
            ends: Some("shutdown"),
            ..base("closed", "closed", None, json!({ "stage": stage }))
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Who {
        Who {
            user_id: "u-1".into(),
            extension: "1001".into(),
        }
    }

    #[test]
    fn accepting_assigns_the_agent_and_keeps_the_wait() {
        let r = record(
            "c",
            Millis(5),
            Step::Accepted {
                agent: alice(),
                wait: Duration::from_millis(2500),
            },
        );
        assert_eq!(
            (r.kind, r.state, r.assigns, r.ends),
            ("accepted", "assigned", true, None)
        );
        assert_eq!(r.user_id.as_deref(), Some("u-1"));
        assert_eq!(r.data, json!({"agent": "1001", "wait_ms": 2500}));
        assert_eq!((r.contact_id.as_str(), r.at), ("c", Millis(5)));
    }

    #[test]
    fn only_final_steps_end_the_contact() {
        let wait = Duration::from_secs(3);
        let finals = [
            (Step::Abandoned { wait }, "abandoned"),
            (
                Step::Ended {
                    agent: alice(),
                    talk: wait,
                },
                "completed",
            ),
            (
                Step::TimedOut {
                    reason: "max_wait",
                    target: "disconnect".into(),
                    wait,
                },
                "timed_out",
            ),
            (Step::Closed { stage: "waiting" }, "shutdown"),
        ];
        for (step, disposition) in finals {
            let r = record("c", Millis(1), step);
            assert_eq!(r.ends, Some(disposition), "{}", r.kind);
            assert!(!r.assigns);
        }
        let ongoing = [
            Step::Queued {
                queue: "sales".into(),
            },
            Step::Offered {
                agent: alice(),
                deadline: Millis(9),
            },
            Step::Declined { agent: alice() },
            Step::NoAnswer { agent: alice() },
            Step::Withdrawn {
                agent: alice(),
                reason: "answered_elsewhere",
            },
            Step::CallbackRequested,
        ];
        for step in ongoing {
            let r = record("c", Millis(1), step);
            assert_eq!(r.ends, None, "{}", r.kind);
        }
    }

    #[test]
    fn an_offer_that_goes_away_puts_the_contact_back_in_line() {
        for step in [
            Step::Declined { agent: alice() },
            Step::NoAnswer { agent: alice() },
        ] {
            let r = record("c", Millis(1), step);
            assert_eq!(r.state, "queued");
            assert_eq!(r.data["agent"], "1001");
        }
        let abandoned = record(
            "c",
            Millis(1),
            Step::Abandoned {
                wait: Duration::from_millis(1234),
            },
        );
        assert_eq!(abandoned.data, json!({"wait_ms": 1234}));
        let ended = record(
            "c",
            Millis(1),
            Step::Ended {
                agent: alice(),
                talk: Duration::from_millis(60_000),
            },
        );
        assert_eq!(ended.data["talk_ms"], 60_000);
    }
}
