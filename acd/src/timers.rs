//! The engine's schedule: every instant at which something may fall due (an
//! offer rings out, a wrap-up ends, a waiting contact reaches a deadline, an
//! announcement or a tier unlock), kept ordered so that the next one is found
//! without scanning agents or contacts. Entries are removed when what they time
//! goes away, so the schedule holds only live timers.

use std::collections::BTreeSet;
use std::time::Instant;

use crate::ids::{AgentId, ContactId};

/// What a schedule entry times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// An offer of `contact` ringing `agent`.
    Offer { contact: ContactId, agent: AgentId },
    /// The agent's wrap-up.
    WrapUp(AgentId),
    /// The next instant a waiting contact needs looking at.
    Contact(ContactId),
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Schedule {
    entries: BTreeSet<(Instant, Timer)>,
}

impl Schedule {
    pub(crate) fn add(&mut self, at: Instant, timer: Timer) {
        self.entries.insert((at, timer));
    }

    pub(crate) fn cancel(&mut self, at: Instant, timer: Timer) {
        self.entries.remove(&(at, timer));
    }

    /// The earliest instant scheduled.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.entries.first().map(|&(at, _)| at)
    }

    /// Removes and returns the earliest timer due at `now`.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<Timer> {
        let &(at, timer) = self.entries.first()?;
        if at > now {
            return None;
        }
        self.entries.remove(&(at, timer));
        Some(timer)
    }

    #[cfg(test)]
    pub(crate) fn contains(&self, at: Instant, timer: Timer) -> bool {
        self.entries.contains(&(at, timer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timers_come_due_in_time_order_and_only_when_due() {
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        let mut schedule = Schedule::default();
        schedule.add(at(20), Timer::WrapUp(AgentId(1)));
        schedule.add(at(10), Timer::Contact(ContactId(5)));
        schedule.add(at(30), Timer::Contact(ContactId(6)));
        schedule.cancel(at(30), Timer::Contact(ContactId(6)));
        assert_eq!(schedule.next(), Some(at(10)));
        assert_eq!(schedule.pop_due(at(5)), None);
        assert_eq!(schedule.pop_due(at(25)), Some(Timer::Contact(ContactId(5))));
        assert_eq!(schedule.pop_due(at(25)), Some(Timer::WrapUp(AgentId(1))));
        assert_eq!(schedule.pop_due(at(99)), None);
        assert_eq!(schedule.next(), None);
    }
}
