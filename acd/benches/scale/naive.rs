//! The naive baseline: a router with no index at all. Waiting contacts sit in
//! an unordered `Vec`, agents in another; each decision scans every agent for
//! the free ones and every waiting contact for the best it can place. It follows
//! the engine's rules for what the scale bench feeds it (all tiers at once,
//! longest idle): the best contact by priority, then arrival, that some free
//! agent may take (member of its queue, ready, every skill at the minimum
//! level, room on its channel, voice blocking other channels when configured);
//! among those agents the lowest (tier, penalty), then the longest idle.

use std::cmp::Reverse;
use std::collections::HashMap;
use std::time::Instant;

use kefu_acd::{
    AgentId, AgentProfile, Channel, ContactId, Event, Priority, QueueId, SkillRequirement,
};

use crate::Router;

struct Agent {
    id: AgentId,
    profile: AgentProfile,
    ready: bool,
    load: [u8; 5],
    idle_since: Instant,
}

impl Agent {
    fn can_take(&self, channel: Channel) -> bool {
        self.ready
            && self.load[channel_index(channel)] < self.profile.capacity.of(channel)
            && !(self.profile.voice_blocks_other_channels
                && channel != Channel::Voice
                && self.load[0] > 0)
    }

    fn is_idle(&self) -> bool {
        self.load.iter().all(|&n| n == 0)
    }

    fn qualifies(&self, required: &[SkillRequirement]) -> bool {
        required.iter().all(|r| {
            self.profile
                .skills
                .get(&r.skill)
                .is_some_and(|&level| level >= r.min_level)
        })
    }

    /// The agent's rank for a contact of `queue` (lower first), if they may take it.
    fn rank(&self, contact: &Waiting) -> Option<(u8, u8, Instant, AgentId)> {
        let membership = self.profile.queues.get(&contact.queue)?;
        (self.can_take(contact.channel) && self.qualifies(&contact.skills)).then_some((
            membership.tier.max(1),
            membership.penalty,
            self.idle_since,
            self.id,
        ))
    }
}

struct Waiting {
    id: ContactId,
    channel: Channel,
    queue: QueueId,
    priority: Priority,
    seq: u64,
    skills: Vec<SkillRequirement>,
}

impl Waiting {
    fn line_key(&self) -> (Reverse<Priority>, u64) {
        (Reverse(self.priority), self.seq)
    }
}

/// The scan router; agents are indexed by their number, which the bench keeps dense.
#[derive(Default)]
pub struct NaiveRouter {
    agents: Vec<Option<Agent>>,
    waiting: Vec<Waiting>,
    offered: HashMap<ContactId, (AgentId, Channel)>,
    assigned: HashMap<ContactId, (AgentId, Channel)>,
    next_seq: u64,
}

impl NaiveRouter {
    fn agent_mut(&mut self, id: AgentId) -> Option<&mut Agent> {
        self.agents.get_mut(id.0 as usize)?.as_mut()
    }

    /// Offers the best waiting contact to its best free agent until none fits.
    fn route(&mut self, offers: &mut Vec<(ContactId, AgentId)>) {
        loop {
            let free: Vec<&Agent> = self
                .agents
                .iter()
                .flatten()
                .filter(|a| Channel::ALL.iter().any(|&c| a.can_take(c)))
                .collect();
            if free.is_empty() {
                return;
            }
            let mut best: Option<(usize, AgentId)> = None;
            for (index, contact) in self.waiting.iter().enumerate() {
                if best.is_some_and(|(b, _)| self.waiting[b].line_key() <= contact.line_key()) {
                    continue;
                }
                if let Some(rank) = free.iter().filter_map(|a| a.rank(contact)).min() {
                    best = Some((index, rank.3));
                }
            }
            let Some((index, agent)) = best else {
                return;
            };
            let contact = self.waiting.swap_remove(index);
            if let Some(a) = self.agent_mut(agent) {
                a.load[channel_index(contact.channel)] += 1;
            }
            self.offered.insert(contact.id, (agent, contact.channel));
            offers.push((contact.id, agent));
        }
    }
}

fn channel_index(channel: Channel) -> usize {
    Channel::ALL.iter().position(|&c| c == channel).unwrap_or(0)
}

impl Router for NaiveRouter {
    fn handle(&mut self, now: Instant, event: Event, offers: &mut Vec<(ContactId, AgentId)>) {
        match event {
            Event::AgentLogin { agent, profile } => {
                let index = agent.0 as usize;
                if self.agents.len() <= index {
                    self.agents.resize_with(index + 1, || None);
                }
                self.agents[index] = Some(Agent {
                    id: agent,
                    profile,
                    ready: false,
                    load: [0; 5],
                    idle_since: now,
                });
            }
            Event::AgentReady { agent } => {
                if let Some(a) = self.agent_mut(agent) {
                    if !a.ready && a.is_idle() {
                        a.idle_since = now;
                    }
                    a.ready = true;
                }
                self.route(offers);
            }
            Event::AgentNotReady { agent, .. } => {
                if let Some(a) = self.agent_mut(agent) {
                    a.ready = false;
                }
            }
            Event::ContactArrived(spec) => {
                self.waiting.push(Waiting {
                    id: spec.id,
                    channel: spec.channel,
                    queue: spec.queue,
                    priority: spec.priority,
                    seq: self.next_seq,
                    skills: spec.skills,
                });
                self.next_seq += 1;
                self.route(offers);
            }
            Event::OfferAccepted { contact, .. } => {
                if let Some(offer) = self.offered.remove(&contact) {
                    self.assigned.insert(contact, offer);
                }
            }
            Event::ContactEnded { contact } => {
                if let Some((agent, channel)) = self.assigned.remove(&contact) {
                    if let Some(a) = self.agent_mut(agent) {
                        a.load[channel_index(channel)] -= 1;
                        if a.ready && a.is_idle() {
                            a.idle_since = now;
                        }
                    }
                }
                self.route(offers);
            }
            Event::ContactAbandoned { contact } => {
                if let Some(index) = self.waiting.iter().position(|c| c.id == contact) {
                    self.waiting.swap_remove(index);
                }
            }
            _ => {}
        }
    }
}
