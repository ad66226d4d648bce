//! Time in the engine: what happens when the schedule says something is due
//! (offers ring out, wrap-ups end, waiting contacts reach their max wait or
//! overflow, announcements), and keeping each waiting contact's next wake-up in
//! the schedule as it moves between waiting, ringing and queues.

use std::time::Instant;

use super::{Acd, TICK};
use crate::action::{Action, StateCause};
use crate::agent::{Agent, Presence};
use crate::contact::{Contact, Holding, Stage};
use crate::ids::{AgentId, ContactId, QueueId};
use crate::metrics::QueueExit;
use crate::rng::RandomSource;
use crate::timers::Timer;

impl<R: RandomSource> Acd<R> {
    /// Everything due at `now`, then routing, then the announcements that came due.
    pub(super) fn run(&mut self, now: Instant) {
        let mut announcements = Vec::new();
        while let Some(timer) = self.schedule.pop_due(now) {
            match timer {
                Timer::Offer { contact, agent } => {
                    // The schedule holds only live offers, so this cannot fail.
                    let _ = self.no_answer(contact, agent, true, now);
                }
                Timer::WrapUp(agent) => self.wrap_up_elapsed(agent, now),
                Timer::Contact(contact) => {
                    if self.contact_due(contact, now) {
                        announcements.push(contact);
                    }
                }
            }
        }
        if std::mem::take(&mut self.staffing_dropped) {
            self.send_away_unstaffed(now);
        }
        self.dispatch(now);
        self.announce(&announcements, now);
    }

    fn wrap_up_elapsed(&mut self, agent: AgentId, now: Instant) {
        let due = self
            .agents
            .get(&agent)
            .is_some_and(|a| matches!(a.presence, Presence::WrapUp { until, .. } if until <= now));
        if due {
            if let Ok(before) = self.set_presence(agent, Presence::Ready, now) {
                self.settle(agent, before, StateCause::WrapUpElapsed, now);
            }
        }
    }

    /// Handles a waiting contact's wake-up: max wait or overflow if due, else
    /// reschedules it. Returns whether an announcement is due (it is made, and the
    /// contact rescheduled, after routing, so that a contact offered at once is
    /// not announced).
    fn contact_due(&mut self, id: ContactId, now: Instant) -> bool {
        let Some(contact) = self.contacts.get_mut(&id) else {
            return false;
        };
        contact.wake = None;
        if contact.stage != Stage::Waiting {
            return false;
        }
        // A tier may have unlocked or the sticky window closed.
        self.changes.contacts.insert(id);
        let Some(queue) = self.queues.get(&contact.spec.queue) else {
            return false;
        };
        let holding_on = matches!(contact.holding, Holding::OnLine { .. });
        let timeout = queue
            .config
            .max_wait
            .filter(|_| holding_on)
            .map(|max| contact.entered + max);
        let overflow = queue
            .config
            .overflow
            .map(|o| (contact.entered + o.after.max(TICK), o.to));
        let announce = matches!(
            contact.holding,
            Holding::OnLine { next_announce: Some(at) } if at <= now
        );
        match (timeout, overflow) {
            (_, Some((at, to))) if at <= now && timeout.is_none_or(|t| at < t) => {
                self.overflow(id, to, now);
                false
            }
            (Some(at), _) if at <= now => {
                self.time_out(id, QueueExit::MaxWait, now);
                false
            }
            _ if announce => true,
            _ => {
                self.reschedule(id, now);
                false
            }
        }
    }

    fn announce(&mut self, due: &[ContactId], now: Instant) {
        for &id in due {
            let waiting = self
                .contacts
                .get(&id)
                .is_some_and(|c| c.stage == Stage::Waiting);
            if !waiting {
                continue;
            }
            let Some((position, expected_wait)) = self.position(id) else {
                continue;
            };
            let every = self
                .contacts
                .get(&id)
                .and_then(|c| self.queues.get(&c.spec.queue))
                .and_then(|q| q.config.announce_every)
                .filter(|every| !every.is_zero());
            if let Some(contact) = self.contacts.get_mut(&id) {
                contact.holding = Holding::OnLine {
                    next_announce: every.map(|e| now + e),
                };
            }
            self.actions.push_back(Action::Announce {
                contact: id,
                position,
                expected_wait,
            });
            self.reschedule(id, now);
        }
    }

    /// Puts the contact's next wake-up in the schedule (none unless it is waiting).
    pub(super) fn reschedule(&mut self, id: ContactId, now: Instant) {
        let Some(contact) = self.contacts.get(&id) else {
            return;
        };
        let wake = self.wake(contact, now);
        let old = contact.wake;
        if old == wake {
            return;
        }
        if let Some(at) = old {
            self.schedule.cancel(at, Timer::Contact(id));
        }
        if let Some(at) = wake {
            self.schedule.add(at, Timer::Contact(id));
        }
        if let Some(contact) = self.contacts.get_mut(&id) {
            contact.wake = wake;
        }
    }

    pub(super) fn reschedule_queue(&mut self, queue: QueueId, now: Instant) {
        let in_line: Vec<ContactId> = self.line(queue).collect();
        for id in in_line {
            self.reschedule(id, now);
        }
    }

    /// The earliest instant a waiting contact needs looking at: its max wait,
    /// overflow or announcement (even if already past, so they happen; a
    /// callback has neither max wait nor announcements), or the
    /// end of its sticky window or its next tier unlock (future ones only, as
    /// routing looks at those by itself).
    fn wake(&self, contact: &Contact, now: Instant) -> Option<Instant> {
        if contact.stage != Stage::Waiting {
            return None;
        }
        let queue = self.queues.get(&contact.spec.queue)?;
        let config = &queue.config;
        let sticky_end = config
            .sticky_window
            .filter(|_| contact.sticky_agent.is_some())
            .map(|window| contact.entered + window)
            .filter(|&end| end > now);
        let preferred_end = contact
            .preferred
            .map(|(_, until)| until)
            .filter(|&end| end > now);
        let (max_wait, announce) = match contact.holding {
            Holding::OnLine { next_announce } => (config.max_wait, next_announce),
            Holding::ForCallback => (None, None),
        };
        [
            max_wait.map(|max| contact.entered + max),
            config.overflow.map(|o| contact.entered + o.after.max(TICK)),
            announce,
            sticky_end,
            preferred_end,
            queue.next_tier_unlock(contact.entered, now),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Raises the highest tier of the agent's queues to the agent's tiers; the
    /// contacts of a queue that gained a higher tier have another unlock ahead
    /// and are rescheduled.
    pub(super) fn note_tiers(&mut self, agent: AgentId, now: Instant) {
        let Some(profile) = self.agents.get(&agent).map(|a| &a.profile) else {
            return;
        };
        let mut raised = Vec::new();
        for (id, membership) in &profile.queues {
            if let Some(queue) = self.queues.get_mut(id) {
                if membership.tier > queue.highest_tier {
                    queue.highest_tier = membership.tier;
                    raised.push(*id);
                }
            }
        }
        for queue in raised {
            self.reschedule_queue(queue, now);
        }
    }

    /// Sends waiting contacts of leave-when-empty queues away when no logged-in
    /// agent could serve them any more.
    fn send_away_unstaffed(&mut self, now: Instant) {
        let mut leaving = Vec::new();
        for (&id, queue) in &self.queues {
            if !queue.config.leave_when_empty {
                continue;
            }
            let members: Vec<&Agent> = self
                .agents
                .values()
                .filter(|a| a.membership(id).is_some())
                .collect();
            let unstaffed = queue
                .line
                .iter()
                .filter_map(|key| self.contacts.get(&key.contact))
                .filter(|c| c.stage == Stage::Waiting)
                .filter(|c| !members.iter().any(|a| a.qualifies(&c.spec.skills)));
            leaving.extend(unstaffed.map(|c| c.spec.id));
        }
        for id in leaving {
            self.time_out(id, QueueExit::NoAgents, now);
        }
    }
}
