//! Routing: which waiting contact is offered to which free agent. Contacts are
//! taken in line order (priority, then arrival) across queues; for each, the
//! free members of its queue able to take it become `Candidate`s (unlocked
//! tier, skills, capacity on its channel, sticky reservation), and the queue's
//! strategy picks. Routing stops as soon as no agent is free, and looks only at
//! what changed since it last ran (see `Changes`).

use std::collections::BTreeSet;
use std::ops::Bound::{Excluded, Unbounded};
use std::time::{Duration, Instant};

use super::{Acd, TICK};
use crate::action::{Action, StateCause};
use crate::agent::{Engagement, Load};
use crate::contact::{Contact, LineKey, PendingOffer, Stage};
use crate::ids::{AgentId, ContactId};
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
        let mut cursor: Option<LineKey> = None;
        if changes.everything || !agents.is_empty() {
            // Walk the whole line; unchanged contacts can only suit changed agents.
            let only = (!changes.everything).then_some(&agents);
            while !self.free.is_empty() && only.is_none_or(|a| !a.is_disjoint(&self.free)) {
                let next = match cursor {
                    None => self.line.first(),
                    Some(last) => self.line.range((Excluded(last), Unbounded)).next(),
                };
                let Some(&key) = next else {
                    break;
                };
                cursor = Some(key);
                let only = only.filter(|_| !contacts.contains(&key));
                self.offer_to_best(key.contact, only, now);
            }
        }
        // Changed contacts the walk did not reach.
        let rest = match cursor {
            None => contacts.range(..),
            Some(last) => contacts.range((Excluded(last), Unbounded)),
        };
        for key in rest {
            if self.free.is_empty() {
                break;
            }
            self.offer_to_best(key.contact, None, now);
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

    /// The agent who last served the customer, while the contact still waits for them.
    pub(super) fn sticky_reservation(
        &self,
        contact: &Contact,
        queue: &Queue,
        now: Instant,
    ) -> Option<AgentId> {
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
