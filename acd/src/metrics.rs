//! Counting what happens: the `MetricEvent`s the engine emits (to be persisted as
//! contact events) and the running tallies behind the `QueueMetrics` and
//! `AgentMetrics` snapshots.

use std::collections::BTreeMap;
use std::time::Duration;

use std::time::Instant;

use crate::agent::Presence;
use crate::ids::{AgentId, ContactId, QueueId, ReasonCode};

/// Why a contact left a queue unserved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueExit {
    /// It waited the queue's maximum wait.
    MaxWait,
    /// The queue was full when it arrived.
    Full,
    /// No logged-in agent could serve it (join-when-empty or leave-when-empty).
    NoAgents,
    /// The queue was closed when it arrived.
    Closed,
}

/// A countable fact about a contact, for reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricEvent {
    /// The contact entered the queue (the contact-center "offered" count).
    Offered {
        /// The queue.
        queue: QueueId,
        /// The contact.
        contact: ContactId,
    },
    /// The customer chose to be called back, keeping their place.
    CallbackRequested {
        /// The queue.
        queue: QueueId,
        /// The contact.
        contact: ContactId,
    },
    /// An agent accepted the contact after it waited `wait` since arrival.
    Answered {
        /// The queue.
        queue: QueueId,
        /// The contact.
        contact: ContactId,
        /// The agent.
        agent: AgentId,
        /// Time from arrival to answer.
        wait: Duration,
    },
    /// The customer left before an agent accepted.
    Abandoned {
        /// The queue.
        queue: QueueId,
        /// The contact.
        contact: ContactId,
        /// Time from arrival to abandon.
        wait: Duration,
    },
    /// An assigned contact ended.
    Completed {
        /// The queue.
        queue: QueueId,
        /// The contact.
        contact: ContactId,
        /// The agent.
        agent: AgentId,
        /// Time from answer to end.
        talk: Duration,
    },
    /// The contact moved on to another queue.
    Overflowed {
        /// The queue it left.
        from: QueueId,
        /// The queue it went to.
        to: QueueId,
        /// The contact.
        contact: ContactId,
        /// Time spent in `from`.
        wait: Duration,
    },
    /// The contact left the queue for its timeout target.
    TimedOut {
        /// The queue.
        queue: QueueId,
        /// The contact.
        contact: ContactId,
        /// Why.
        reason: QueueExit,
        /// Time from arrival.
        wait: Duration,
    },
}

/// A queue's figures at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMetrics {
    /// Contacts waiting or being offered.
    pub waiting: usize,
    /// Wait so far of the longest-waiting of them.
    pub longest_wait: Duration,
    /// Contacts that entered the queue.
    pub offered: u64,
    /// Contacts accepted by an agent.
    pub answered: u64,
    /// Contacts whose customer left first.
    pub abandoned: u64,
    /// Answered within the queue's service-level threshold.
    pub answered_within_service_level: u64,
    /// Contacts moved on to another queue.
    pub overflowed: u64,
    /// Contacts sent to the timeout target.
    pub timed_out: u64,
    /// Average speed of answer.
    pub average_speed_of_answer: Duration,
    /// Average handle time (talk plus the queue's wrap-up) of completed contacts.
    pub average_handle_time: Duration,
    /// Average wait of the contacts whose customer left first.
    pub average_abandon_wait: Duration,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct QueueTally {
    pub(crate) offered: u64,
    pub(crate) answered: u64,
    abandoned: u64,
    abandon_wait_total: Duration,
    pub(crate) answered_within_service_level: u64,
    pub(crate) overflowed: u64,
    pub(crate) timed_out: u64,
    answer_wait_total: Duration,
    completed: u64,
    handle_total: Duration,
}

impl QueueTally {
    pub(crate) fn answered(&mut self, wait: Duration, service_level: Duration) {
        self.answered += 1;
        self.answer_wait_total = self.answer_wait_total.saturating_add(wait);
        if wait <= service_level {
            self.answered_within_service_level += 1;
        }
    }

    pub(crate) fn abandoned(&mut self, wait: Duration) {
        self.abandoned += 1;
        self.abandon_wait_total = self.abandon_wait_total.saturating_add(wait);
    }

    pub(crate) fn completed(&mut self, handle_time: Duration) {
        self.completed += 1;
        self.handle_total = self.handle_total.saturating_add(handle_time);
    }

    pub(crate) fn snapshot(&self, waiting: usize, longest_wait: Duration) -> QueueMetrics {
        QueueMetrics {
            waiting,
            longest_wait,
            offered: self.offered,
            answered: self.answered,
            abandoned: self.abandoned,
            answered_within_service_level: self.answered_within_service_level,
            overflowed: self.overflowed,
            timed_out: self.timed_out,
            average_speed_of_answer: average(self.answer_wait_total, self.answered),
            average_handle_time: average(self.handle_total, self.completed),
            average_abandon_wait: average(self.abandon_wait_total, self.abandoned),
        }
    }
}

fn average(total: Duration, count: u64) -> Duration {
    match u32::try_from(count) {
        Ok(0) => Duration::ZERO,
        Ok(n) => total / n,
        Err(_) => Duration::from_secs_f64(total.as_secs_f64() / count as f64),
    }
}

/// An agent's figures at one instant, since the engine started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentMetrics {
    /// Contacts completed.
    pub handled: u64,
    /// Time spent on assigned contacts.
    pub talk_time: Duration,
    /// Time spent in wrap-up.
    pub wrap_up_time: Duration,
    /// Time spent logged in (for occupancy: talk and wrap-up over logged-in time
    /// less not-ready time).
    pub logged_in_time: Duration,
    /// Time spent not ready, all reasons together.
    pub not_ready_time: Duration,
    /// Time spent not ready, per reason.
    pub not_ready_by_reason: BTreeMap<ReasonCode, Duration>,
    /// Offers that rang out unanswered.
    pub no_answers: u64,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct AgentTally {
    pub(crate) handled: u64,
    pub(crate) talk_time: Duration,
    wrap_up_time: Duration,
    logged_in_time: Duration,
    not_ready: BTreeMap<ReasonCode, Duration>,
    pub(crate) no_answers: u64,
}

impl AgentTally {
    /// Counts the time spent in a presence the agent just left.
    pub(crate) fn left(&mut self, presence: Presence, now: Instant) {
        match presence {
            Presence::NotReady { reason, since } => {
                let total = self.not_ready.entry(reason).or_default();
                *total = total.saturating_add(now.saturating_duration_since(since));
            }
            Presence::WrapUp { since, .. } => {
                self.wrap_up_time = self
                    .wrap_up_time
                    .saturating_add(now.saturating_duration_since(since));
            }
            Presence::Ready => {}
        }
    }

    /// Counts a session that just ended with a logout.
    pub(crate) fn logged_out(&mut self, logged_in_at: Instant, presence: Presence, now: Instant) {
        self.left(presence, now);
        self.logged_in_time = self
            .logged_in_time
            .saturating_add(now.saturating_duration_since(logged_in_at));
    }

    /// The snapshot at `now`, counting the current session (if logged in since
    /// the given instant, in the given presence) as if it ended now.
    pub(crate) fn snapshot(
        &self,
        session: Option<(Instant, &Presence)>,
        now: Instant,
    ) -> AgentMetrics {
        let mut tally = self.clone();
        if let Some((logged_in_at, presence)) = session {
            tally.logged_out(logged_in_at, presence.clone(), now);
        }
        AgentMetrics {
            handled: tally.handled,
            talk_time: tally.talk_time,
            wrap_up_time: tally.wrap_up_time,
            logged_in_time: tally.logged_in_time,
            not_ready_time: tally.not_ready.values().sum(),
            not_ready_by_reason: tally.not_ready,
            no_answers: tally.no_answers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_level_counts_answers_at_or_under_the_threshold() {
        let mut tally = QueueTally::default();
        let threshold = Duration::from_secs(20);
        tally.answered(Duration::from_secs(10), threshold);
        tally.answered(Duration::from_secs(20), threshold);
        tally.answered(Duration::from_secs(60), threshold);
        let snap = tally.snapshot(0, Duration::ZERO);
        assert_eq!(snap.answered, 3);
        assert_eq!(snap.answered_within_service_level, 2);
        assert_eq!(snap.average_speed_of_answer, Duration::from_secs(30));
        assert_eq!(snap.average_handle_time, Duration::ZERO);
    }

    #[test]
    fn agent_snapshot_includes_the_open_period() {
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        let lunch = ReasonCode::new("lunch");
        let mut tally = AgentTally::default();
        tally.left(
            Presence::NotReady {
                reason: lunch.clone(),
                since: t0,
            },
            at(60),
        );
        tally.left(
            Presence::WrapUp {
                since: at(60),
                until: at(90),
            },
            at(70),
        );
        let open = Presence::NotReady {
            reason: lunch.clone(),
            since: at(100),
        };
        let snap = tally.snapshot(Some((at(95), &open)), at(130));
        assert_eq!(snap.logged_in_time, Duration::from_secs(35));
        assert_eq!(
            snap.not_ready_by_reason.get(&lunch),
            Some(&Duration::from_secs(90))
        );
        assert_eq!(snap.not_ready_time, Duration::from_secs(90));
        assert_eq!(snap.wrap_up_time, Duration::from_secs(10));
        assert_eq!(
            tally.snapshot(None, at(500)).not_ready_time,
            Duration::from_secs(60)
        );
    }
}
