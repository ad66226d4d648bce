//! Routing: which waiting contact is offered to which free agent. Contacts are
//! taken in line order (priority, then arrival) across queues; for each, the
//! free members of its queue able to take it become `Candidate`s (unlocked
//! tier, skills, capacity on its channel, sticky reservation), and the queue's
//! strategy picks. Routing stops as soon as no agent is free, and looks only at
//! what changed since it last ran (see `Changes`): for an agent who gained
//! room, the lines of their queues on the channels they have room on.

use std::collections::BTreeSet;
use std::ops::Bound::{Excluded, Unbounded};
use std::time::{Duration, Instant};

use super::{Acd, TICK};
use crate::action::{Action, StateCause};
use crate::agent::{Engagement, Load};
use crate::contact::{Contact, LineKey, PendingOffer, Stage};
use crate::ids::{AgentId, Channel, ContactId, QueueId};
use crate::queue::Queue;
use crate::rng::RandomSource;
use crate::strategy::{self, Candidate};
use crate::timers::Timer;

impl<R: RandomSource> Acd<R> {
    /// Offers waiting contacts, in line order, to the free agents able to take
    /// them, looking only where something changed since routing last ran.
    pub(super) fn dispatch(&mut self, now: Instant) {
        let changes = std::mem::take(&mut self.changes);
        let agents: BTreeSet<AgentId> = changes
            .agents
            .into_iter()
            .filter(|a| self.free.contains(a))
            .collect();
        let contacts: BTreeSet<LineKey> = changes
            .contacts
            .iter()
            .filter_map(|id| self.contacts.get(id))
            .map(Contact::line_key)
            .collect();
        // Unchanged contacts can only suit changed agents, so only the lines of
        // their queues on the channels they have room for are walked (the
        // whole line when everything changed); changed contacts are taken in
        // line order with them, for any free agent.
        let lines: BTreeSet<(QueueId, Channel)> = agents
            .iter()
            .filter_map(|a| self.agents.get(a))
            .flat_map(|a| {
                let channels = Channel::ALL.into_iter().filter(|&c| a.can_take(c));
                a.profile
                    .queues
                    .keys()
                    .flat_map(move |&q| channels.clone().map(move |c| (q, c)))
            })
            .collect();
        let mut cursor: Option<LineKey> = None;
        while !self.free.is_empty() {
            let after = |line: &BTreeSet<LineKey>| match cursor {
                None => line.first().copied(),
                Some(last) => line.range((Excluded(last), Unbounded)).next().copied(),
            };
            let agents_left = changes.everything || !agents.is_disjoint(&self.free);
            let from_line = if !agents_left {
                None
            } else if changes.everything {
                after(&self.line)
            } else {
                lines
                    .iter()
                    .filter_map(|(q, c)| Some(after(self.queues.get(q)?.line_of(*c))))
                    .flatten()
                    .min()
            };
            let Some(key) = from_line.into_iter().chain(after(&contacts)).min() else {
                break;
            };
            cursor = Some(key);
            let only = (!changes.everything && !contacts.contains(&key)).then_some(&agents);
            self.offer_to_best(key.contact, only, now);
        }
    }

    fn offer_to_best(&mut self, id: ContactId, only: Option<&BTreeSet<AgentId>>, now: Instant) {
        for agent in self.pick_agents(id, only, now) {
            self.offer(id, agent, now);
        }
    }

    /// The agents to offer a waiting contact to, among the free members of its
    /// queue (and of `only`, if given): those who have not let it go yet, or all
    /// of them again once everyone able has.
    fn pick_agents(
        &mut self,
        id: ContactId,
        only: Option<&BTreeSet<AgentId>>,
        now: Instant,
    ) -> Vec<AgentId> {
        let Some(contact) = self.contacts.get(&id) else {
            return Vec::new();
        };
        if contact.stage != Stage::Waiting {
            return Vec::new();
        }
        let Some(queue) = self.queues.get(&contact.spec.queue) else {
            return Vec::new();
        };
        let Some(free) = self.free_members.get(&contact.spec.queue) else {
            return Vec::new();
        };
        let reserved = self.sticky_reservation(contact, queue, now);
        // Walk the smaller of the queue's free members and `only`.
        let pool: Vec<AgentId> = match only {
            Some(only) if only.len() < free.len() => {
                only.iter().filter(|a| free.contains(a)).copied().collect()
            }
            _ => free
                .iter()
                .filter(|a| only.is_none_or(|o| o.contains(a)))
                .copied()
                .collect(),
        };
        let candidates: Vec<Candidate> = pool
            .into_iter()
            .filter(|&agent| reserved.is_none_or(|r| r == agent))
            .filter_map(|agent| self.candidate(agent, contact, queue, now))
            .collect();
        let untried: Vec<Candidate> = candidates
            .iter()
            .filter(|c| !contact.tried.contains(&c.agent))
            .copied()
            .collect();
        let everyone_tried = untried.is_empty();
        let pool = if everyone_tried {
            &candidates
        } else {
            &untried
        };
        let chosen = strategy::choose(
            queue.config.strategy,
            pool,
            queue.round_robin_after,
            &mut self.rng,
        );
        if everyone_tried && !chosen.is_empty() {
            if let Some(contact) = self.contacts.get_mut(&id) {
                contact.tried.clear();
            }
        }
        chosen
    }

    /// The agent the contact is for (a transfer) or else the one who last
    /// served the customer, while the contact still waits for them.
    pub(super) fn sticky_reservation(
        &self,
        contact: &Contact,
        queue: &Queue,
        now: Instant,
    ) -> Option<AgentId> {
        if let Some((preferred, until)) = contact.preferred {
            let waits = now < until && !contact.tried.contains(&preferred);
            let able = self.agents.get(&preferred).is_some_and(|agent| {
                agent.membership(contact.spec.queue).is_some()
                    && agent.qualifies(&contact.spec.skills)
            });
            if waits && able {
                return Some(preferred);
            }
        }
        let window = queue.config.sticky_window?;
        let sticky = contact.sticky_agent?;
        if now >= contact.entered + window || contact.tried.contains(&sticky) {
            return None;
        }
        let agent = self.agents.get(&sticky)?;
        (agent.membership(contact.spec.queue).is_some() && agent.qualifies(&contact.spec.skills))
            .then_some(sticky)
    }

    /// The agent as a candidate for the contact, if they could be offered it now.
    pub(super) fn candidate(
        &self,
        id: AgentId,
        contact: &Contact,
        queue: &Queue,
        now: Instant,
    ) -> Option<Candidate> {
        let agent = self.agents.get(&id)?;
        if !agent.can_take(contact.spec.channel) || !agent.qualifies(&contact.spec.skills) {
            return None;
        }
        let membership = agent.membership(contact.spec.queue)?;
        if !queue.tier_unlocked(membership.tier, contact.entered, now) {
            return None;
        }
        let tally = self.tallies.get(&id);
        Some(Candidate {
            agent: id,
            tier: membership.tier,
            penalty: membership.penalty,
            idle_since: agent.idle_since,
            handled: tally.map_or(0, |t| t.handled),
            talk_time: tally.map_or(Duration::ZERO, |t| t.talk_time),
            skill_score: agent.skill_score(&contact.spec.skills),
        })
    }

    fn offer(&mut self, id: ContactId, agent: AgentId, now: Instant) {
        let Some(contact) = self.contacts.get_mut(&id) else {
            return;
        };
        let Some(queue) = self.queues.get_mut(&contact.spec.queue) else {
            return;
        };
        let Some(ringing) = self.agents.get_mut(&agent) else {
            return;
        };
        let deadline = now + queue.config.offer_timeout.max(TICK);
        queue.round_robin_after = Some(agent);
        let offer = PendingOffer { agent, deadline };
        match &mut contact.stage {
            Stage::Offered(offers) => offers.push(offer),
            stage => *stage = Stage::Offered(vec![offer]),
        }
        let before = ringing.state();
        let channel = contact.spec.channel;
        ringing.desk.insert(
            id,
            Load {
                channel,
                engagement: Engagement::Offered,
            },
        );
        self.actions.push_back(Action::Offer {
            contact: id,
            agent,
            queue: contact.spec.queue,
            channel,
            deadline,
        });
        self.schedule
            .add(deadline, Timer::Offer { contact: id, agent });
        self.reschedule(id, now);
        self.settle(agent, before, StateCause::Offered, now);
    }
}
