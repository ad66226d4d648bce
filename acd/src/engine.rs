//! `Acd`, the routing engine, built like str0m's `Rtc`: the caller feeds it
//! `handle(now, Event)`, then drains `poll_action()` and asks `poll_timeout()`
//! for the instant at which to call `handle(then, Event::Timeout)`. It owns
//! agents, queues and contacts, and reads no clock, does no I/O, and draws
//! randomness only from the injected `RandomSource`.
//!
//! Within one `handle` call the event is applied first, then everything due at
//! `now` happens in this order: unanswered offers expire, wrap-ups end, contacts
//! of emptied queues leave, queue deadlines (max wait, overflow) fire, waiting
//! contacts are offered to agents, and due announcements are made.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::ops::Bound::{Excluded, Unbounded};
use std::time::{Duration, Instant};

use crate::action::{Action, StateCause, StopReason};
use crate::agent::{Agent, AgentState, Engagement, Load, Presence};
use crate::config::{AgentProfile, QueueConfig};
use crate::contact::{Contact, ContactSpec, LineKey, PendingOffer, Stage};
use crate::error::AcdError;
use crate::estimate::expected_wait;
use crate::event::Event;
use crate::ids::{AgentId, Channel, ContactId, CustomerId, QueueId, ReasonCode};
use crate::metrics::{AgentMetrics, AgentTally, MetricEvent, QueueExit, QueueMetrics};
use crate::queue::Queue;
use crate::rng::{RandomSource, SplitMix64};
use crate::strategy::{self, Candidate};

/// How many customers' last agents are remembered for sticky routing; past this
/// the older half is forgotten.
const REMEMBERED_CUSTOMERS: usize = 100_000;

/// The shortest offer: a zero offer timeout still rings until the next instant.
const MIN_OFFER: Duration = Duration::from_millis(1);

/// The automatic contact distributor.
#[derive(Debug, Clone)]
pub struct Acd<R = SplitMix64> {
    rng: R,
    queues: BTreeMap<QueueId, Queue>,
    agents: BTreeMap<AgentId, Agent>,
    tallies: BTreeMap<AgentId, AgentTally>,
    contacts: BTreeMap<ContactId, Contact>,
    /// Every contact waiting or being offered, in line order across queues.
    line: BTreeSet<LineKey>,
    next_seq: u64,
    last_served: BTreeMap<CustomerId, (AgentId, Instant)>,
    actions: VecDeque<Action>,
    roster_changed: bool,
    now: Option<Instant>,
}

impl Acd<SplitMix64> {
    /// An empty engine whose `random` strategy draws from a generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self::with_rng(SplitMix64::seeded(seed))
    }
}

impl<R: RandomSource> Acd<R> {
    /// An empty engine drawing randomness from `rng`.
    pub fn with_rng(rng: R) -> Self {
        Self {
            rng,
            queues: BTreeMap::new(),
            agents: BTreeMap::new(),
            tallies: BTreeMap::new(),
            contacts: BTreeMap::new(),
            line: BTreeSet::new(),
            next_seq: 0,
            last_served: BTreeMap::new(),
            actions: VecDeque::new(),
            roster_changed: false,
            now: None,
        }
    }

    /// Applies `event` at `now`, then everything that is due at `now`. An event
    /// that does not fit the current state is refused with an error and changes
    /// nothing, but time still advances.
    pub fn handle(&mut self, now: Instant, event: Event) -> Result<(), AcdError> {
        self.now = Some(self.now.map_or(now, |seen| seen.max(now)));
        let outcome = self.apply(now, event);
        self.run(now);
        outcome
    }

    /// The next thing to do, in the order the engine decided them.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When to call `handle(at, Event::Timeout)` next, if anything is scheduled.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let seen = self.now;
        let mut next: Option<Instant> = None;
        let mut consider = |at: Instant| {
            if seen.is_none_or(|now| at > now) {
                next = Some(next.map_or(at, |n| n.min(at)));
            }
        };
        for agent in self.agents.values() {
            if let Presence::WrapUp { until, .. } = agent.presence {
                consider(until);
            }
        }
        for contact in self.contacts.values() {
            match &contact.stage {
                Stage::Assigned { .. } => {}
                Stage::Offered(offers) => offers.iter().for_each(|o| consider(o.deadline)),
                Stage::Waiting => {
                    let Some(queue) = self.queues.get(&contact.spec.queue) else {
                        continue;
                    };
                    let config = &queue.config;
                    if let Some(max_wait) = config.max_wait {
                        consider(contact.entered + max_wait);
                    }
                    if let Some(overflow) = &config.overflow {
                        consider(contact.entered + overflow.after);
                    }
                    if let Some(at) = contact.next_announce {
                        consider(at);
                    }
                    if let (Some(window), Some(_)) = (config.sticky_window, contact.sticky_agent) {
                        consider(contact.entered + window);
                    }
                    if let Some(at) =
                        seen.and_then(|now| queue.next_tier_unlock(contact.entered, now))
                    {
                        consider(at);
                    }
                }
            }
        }
        next
    }

    /// Position in line (1 = next) and expected wait of a contact not yet assigned.
    pub fn position(&self, contact: ContactId) -> Option<(usize, Duration)> {
        let contact = self.contacts.get(&contact)?;
        if matches!(contact.stage, Stage::Assigned { .. }) {
            return None;
        }
        let queue_id = contact.spec.queue;
        let queue = self.queues.get(&queue_id)?;
        let position = queue.line.range(..contact.line_key()).count() + 1;
        let staffed = self
            .agents
            .values()
            .filter(|a| a.is_staffing() && a.membership(queue_id).is_some())
            .count();
        Some((
            position,
            expected_wait(position, queue.average_handle_time(), staffed),
        ))
    }

    /// The agent's current state.
    pub fn agent_state(&self, agent: AgentId) -> AgentState {
        self.agents
            .get(&agent)
            .map_or(AgentState::LoggedOut, Agent::state)
    }

    /// Every logged-in agent and their state, by agent id.
    pub fn agents(&self) -> impl Iterator<Item = (AgentId, AgentState)> + '_ {
        self.agents.iter().map(|(&id, agent)| (id, agent.state()))
    }

    /// Every configured queue, by queue id.
    pub fn queues(&self) -> impl Iterator<Item = (QueueId, &QueueConfig)> + '_ {
        self.queues.iter().map(|(&id, queue)| (id, &queue.config))
    }

    /// The contacts waiting or being offered in a queue, next in line first.
    pub fn line(&self, queue: QueueId) -> impl Iterator<Item = ContactId> + '_ {
        self.queues
            .get(&queue)
            .into_iter()
            .flat_map(|q| q.line.iter().map(|key| key.contact))
    }

    /// What arrived for a contact still in the engine.
    pub fn contact(&self, contact: ContactId) -> Option<&ContactSpec> {
        self.contacts.get(&contact).map(|c| &c.spec)
    }

    /// The queue's figures at `now`.
    pub fn queue_metrics(&self, queue: QueueId, now: Instant) -> Option<QueueMetrics> {
        let queue = self.queues.get(&queue)?;
        let longest_wait = queue
            .line
            .iter()
            .filter_map(|key| self.contacts.get(&key.contact))
            .map(|c| now.saturating_duration_since(c.arrived))
            .max()
            .unwrap_or_default();
        Some(queue.tally.snapshot(queue.line.len(), longest_wait))
    }

    /// The agent's figures at `now`, for any agent who ever logged in.
    pub fn agent_metrics(&self, agent: AgentId, now: Instant) -> Option<AgentMetrics> {
        let tally = self.tallies.get(&agent)?;
        let presence = self.agents.get(&agent).map(|a| &a.presence);
        Some(tally.snapshot(presence, now))
    }

    fn apply(&mut self, now: Instant, event: Event) -> Result<(), AcdError> {
        match event {
            Event::AgentLogin { agent, profile } => self.login(agent, profile, now),
            Event::AgentLogout { agent } => self.logout(agent, now),
            Event::AgentReady { agent } => self.ready(agent, now),
            Event::AgentNotReady { agent, reason } => {
                let before =
                    self.set_presence(agent, Presence::NotReady { reason, since: now }, now)?;
                self.settle(agent, before, StateCause::Requested, now);
                Ok(())
            }
            Event::WrapUpDone { agent } => self.wrap_up_done(agent, now),
            Event::AgentConfigChanged { agent, profile } => self.reconfigure_agent(agent, profile),
            Event::QueueConfigChanged { queue, config } => {
                self.configure_queue(queue, config);
                Ok(())
            }
            Event::ContactArrived(spec) => self.arrive(spec, now),
            Event::OfferAccepted { contact, agent } => self.accept(contact, agent, now),
            Event::OfferDeclined { contact, agent } => self.decline(contact, agent, now),
            Event::OfferTimedOut { contact, agent } => self.no_answer(contact, agent, false, now),
            Event::ContactEnded { contact } => self.end(contact, now),
            Event::ContactAbandoned { contact } => self.abandon(contact, now),
            Event::Timeout => Ok(()),
        }
    }

    fn login(&mut self, id: AgentId, profile: AgentProfile, now: Instant) -> Result<(), AcdError> {
        if self.agents.contains_key(&id) {
            return Err(AcdError::AgentAlreadyLoggedIn(id));
        }
        self.agents.insert(id, Agent::logged_in(profile, now));
        self.tallies.entry(id).or_default();
        self.roster_changed = true;
        self.settle(id, AgentState::LoggedOut, StateCause::Login, now);
        Ok(())
    }

    fn logout(&mut self, id: AgentId, now: Instant) -> Result<(), AcdError> {
        let agent = self.agents.get(&id).ok_or(AcdError::AgentNotLoggedIn(id))?;
        if agent.has_assigned_contacts() {
            return Err(AcdError::AgentHasContacts(id));
        }
        let before = agent.state();
        let ringing: Vec<ContactId> = agent.desk.keys().copied().collect();
        for contact in ringing {
            if let Some(c) = self.contacts.get_mut(&contact) {
                c.withdraw_offer(id);
            }
            self.actions.push_back(Action::StopOffering {
                contact,
                agent: id,
                reason: StopReason::AgentLoggedOut,
            });
        }
        if let Some(agent) = self.agents.remove(&id) {
            self.tally(id).left(agent.presence, now);
        }
        self.roster_changed = true;
        self.actions.push_back(Action::AgentStateChanged {
            agent: id,
            from: before,
            to: AgentState::LoggedOut,
            cause: StateCause::Logout,
        });
        Ok(())
    }

    fn ready(&mut self, id: AgentId, now: Instant) -> Result<(), AcdError> {
        let before = self.set_presence(id, Presence::Ready, now)?;
        if let Some(agent) = self.agents.get_mut(&id) {
            agent.consecutive_no_answers = 0;
        }
        self.settle(id, before, StateCause::Requested, now);
        Ok(())
    }

    fn wrap_up_done(&mut self, id: AgentId, now: Instant) -> Result<(), AcdError> {
        let agent = self.agents.get(&id).ok_or(AcdError::AgentNotLoggedIn(id))?;
        if !matches!(agent.presence, Presence::WrapUp { .. }) {
            return Err(AcdError::NotInWrapUp(id));
        }
        let before = self.set_presence(id, Presence::Ready, now)?;
        self.settle(id, before, StateCause::Requested, now);
        Ok(())
    }

    fn reconfigure_agent(&mut self, id: AgentId, profile: AgentProfile) -> Result<(), AcdError> {
        let agent = self
            .agents
            .get_mut(&id)
            .ok_or(AcdError::AgentNotLoggedIn(id))?;
        agent.profile = profile;
        self.roster_changed = true;
        Ok(())
    }

    fn configure_queue(&mut self, id: QueueId, config: QueueConfig) {
        match self.queues.get_mut(&id) {
            Some(queue) => queue.config = config,
            None => {
                self.queues.insert(id, Queue::new(config));
            }
        }
        self.roster_changed = true;
    }

    fn arrive(&mut self, spec: ContactSpec, now: Instant) -> Result<(), AcdError> {
        if self.contacts.contains_key(&spec.id) {
            return Err(AcdError::DuplicateContact(spec.id));
        }
        let queue = self
            .queues
            .get(&spec.queue)
            .ok_or(AcdError::UnknownQueue(spec.queue))?;
        let refusal = if !queue.config.join_when_empty && !self.staffed_for(&spec) {
            Some(QueueExit::NoAgents)
        } else if queue
            .config
            .max_size
            .is_some_and(|max| queue.line.len() >= max)
        {
            Some(QueueExit::Full)
        } else {
            None
        };
        let sticky_agent = queue
            .config
            .sticky_window
            .and(spec.customer.as_ref())
            .and_then(|customer| self.last_served.get(customer))
            .map(|&(agent, _)| agent);
        let next_announce = queue.config.announce_every.map(|_| now);
        self.entered(spec.queue, spec.id);
        if let Some(reason) = refusal {
            self.emit_time_out(spec.queue, spec.id, reason, Duration::ZERO);
            return Ok(());
        }
        let mut contact = Contact::new(spec, now, self.next_seq);
        self.next_seq += 1;
        contact.sticky_agent = sticky_agent;
        contact.next_announce = next_announce;
        self.put_in_line(contact);
        Ok(())
    }

    fn accept(&mut self, id: ContactId, agent: AgentId, now: Instant) -> Result<(), AcdError> {
        let contact = self
            .contacts
            .get_mut(&id)
            .ok_or(AcdError::UnknownContact(id))?;
        if !contact.offers().iter().any(|o| o.agent == agent) {
            return Err(AcdError::NoSuchOffer { contact: id, agent });
        }
        let losers: Vec<AgentId> = contact
            .offers()
            .iter()
            .map(|o| o.agent)
            .filter(|&a| a != agent)
            .collect();
        contact.stage = Stage::Assigned { agent };
        let key = contact.line_key();
        let queue_id = contact.spec.queue;
        let waited = now.saturating_duration_since(contact.arrived);
        let customer = contact.spec.customer.clone();
        self.line.remove(&key);
        if let Some(queue) = self.queues.get_mut(&queue_id) {
            queue.line.remove(&key);
            let service_level = queue.config.service_level;
            queue.tally.answered(waited, service_level);
        }
        for loser in losers {
            self.actions.push_back(Action::StopOffering {
                contact: id,
                agent: loser,
                reason: StopReason::AnsweredElsewhere,
            });
            self.release_offer(loser, id, now);
        }
        if let Some(winner) = self.agents.get_mut(&agent) {
            let before = winner.state();
            if let Some(load) = winner.desk.get_mut(&id) {
                load.engagement = Engagement::Assigned { since: now };
            }
            winner.consecutive_no_answers = 0;
            self.settle(agent, before, StateCause::Accepted, now);
        }
        self.actions.push_back(Action::Assigned {
            contact: id,
            agent,
            queue: queue_id,
            waited,
        });
        self.actions
            .push_back(Action::Metric(MetricEvent::Answered {
                queue: queue_id,
                contact: id,
                agent,
                wait: waited,
            }));
        if let Some(customer) = customer {
            self.remember(customer, agent, now);
        }
        Ok(())
    }

    fn decline(&mut self, id: ContactId, agent: AgentId, now: Instant) -> Result<(), AcdError> {
        self.withdraw(id, agent)?;
        self.release_offer(agent, id, now);
        Ok(())
    }

    /// An offer rang out: by the engine's own timer (`ours`) or as reported.
    fn no_answer(
        &mut self,
        id: ContactId,
        agent: AgentId,
        ours: bool,
        now: Instant,
    ) -> Result<(), AcdError> {
        self.withdraw(id, agent)?;
        if ours {
            self.actions.push_back(Action::StopOffering {
                contact: id,
                agent,
                reason: StopReason::NoAnswer,
            });
        }
        self.release_offer(agent, id, now);
        self.tally(agent).no_answers += 1;
        let Some(paused) = self.agents.get_mut(&agent) else {
            return Ok(());
        };
        paused.consecutive_no_answers += 1;
        let count = paused.consecutive_no_answers;
        let limit_reached = paused
            .profile
            .max_no_answers
            .is_some_and(|max| count >= max);
        if limit_reached && !matches!(paused.presence, Presence::NotReady { .. }) {
            let before = self.set_presence(
                agent,
                Presence::NotReady {
                    reason: ReasonCode::no_answer(),
                    since: now,
                },
                now,
            )?;
            self.actions.push_back(Action::AgentAutoPaused {
                agent,
                no_answers: count,
            });
            self.settle(agent, before, StateCause::NoAnswerLimit, now);
        }
        Ok(())
    }

    fn end(&mut self, id: ContactId, now: Instant) -> Result<(), AcdError> {
        let contact = self.contacts.get(&id).ok_or(AcdError::UnknownContact(id))?;
        let Stage::Assigned { agent } = contact.stage else {
            return Err(AcdError::ContactNotAssigned(id));
        };
        let queue_id = contact.spec.queue;
        self.contacts.remove(&id);
        let wrap_up = self
            .queues
            .get(&queue_id)
            .map_or(Duration::ZERO, |q| q.config.wrap_up);
        let mut talk = Duration::ZERO;
        if let Some(handler) = self.agents.get_mut(&agent) {
            let before = handler.state();
            if let Some(Load {
                engagement: Engagement::Assigned { since },
                ..
            }) = handler.desk.remove(&id)
            {
                talk = now.saturating_duration_since(since);
            }
            if !wrap_up.is_zero() {
                handler.presence = match handler.presence.clone() {
                    Presence::Ready => Presence::WrapUp {
                        since: now,
                        until: now + wrap_up,
                    },
                    Presence::WrapUp { since, until } => Presence::WrapUp {
                        since,
                        until: until.max(now + wrap_up),
                    },
                    not_ready @ Presence::NotReady { .. } => not_ready,
                };
            }
            self.settle(agent, before, StateCause::ContactEnded, now);
        }
        let tally = self.tally(agent);
        tally.handled += 1;
        tally.talk_time = tally.talk_time.saturating_add(talk);
        if let Some(queue) = self.queues.get_mut(&queue_id) {
            queue.tally.completed(talk + wrap_up);
            queue.handle_times.record(talk + wrap_up);
        }
        self.actions
            .push_back(Action::Metric(MetricEvent::Completed {
                queue: queue_id,
                contact: id,
                agent,
                talk,
            }));
        Ok(())
    }

    fn abandon(&mut self, id: ContactId, now: Instant) -> Result<(), AcdError> {
        let contact = self.contacts.get(&id).ok_or(AcdError::UnknownContact(id))?;
        if matches!(contact.stage, Stage::Assigned { .. }) {
            return Err(AcdError::ContactAssigned(id));
        }
        let Some(contact) = self.take_out_of_line(id) else {
            return Err(AcdError::UnknownContact(id));
        };
        for offer in contact.offers() {
            self.actions.push_back(Action::StopOffering {
                contact: id,
                agent: offer.agent,
                reason: StopReason::Abandoned,
            });
            self.release_offer(offer.agent, id, now);
        }
        let queue = contact.spec.queue;
        if let Some(q) = self.queues.get_mut(&queue) {
            q.tally.abandoned += 1;
        }
        self.actions
            .push_back(Action::Metric(MetricEvent::Abandoned {
                queue,
                contact: id,
                wait: now.saturating_duration_since(contact.arrived),
            }));
        Ok(())
    }

    fn run(&mut self, now: Instant) {
        self.expire_offers(now);
        self.end_wrap_ups(now);
        if std::mem::take(&mut self.roster_changed) {
            self.refresh_tiers();
            self.send_away_unstaffed(now);
        }
        self.apply_queue_deadlines(now);
        self.dispatch(now);
        self.announce(now);
    }

    fn expire_offers(&mut self, now: Instant) {
        let expired: Vec<(ContactId, AgentId)> = self
            .contacts
            .values()
            .flat_map(|c| {
                c.offers()
                    .iter()
                    .filter(|o| o.deadline <= now)
                    .map(|o| (c.spec.id, o.agent))
            })
            .collect();
        for (contact, agent) in expired {
            // The offer was just seen, so this cannot fail.
            let _ = self.no_answer(contact, agent, true, now);
        }
    }

    fn end_wrap_ups(&mut self, now: Instant) {
        let done: Vec<AgentId> = self
            .agents
            .iter()
            .filter(|(_, a)| matches!(a.presence, Presence::WrapUp { until, .. } if until <= now))
            .map(|(&id, _)| id)
            .collect();
        for id in done {
            if let Ok(before) = self.set_presence(id, Presence::Ready, now) {
                self.settle(id, before, StateCause::WrapUpElapsed, now);
            }
        }
    }

    fn refresh_tiers(&mut self) {
        for (id, queue) in &mut self.queues {
            queue.highest_tier = self
                .agents
                .values()
                .filter_map(|a| a.membership(*id))
                .map(|m| m.tier.max(1))
                .max()
                .unwrap_or(1);
        }
    }

    fn send_away_unstaffed(&mut self, now: Instant) {
        let leaving: Vec<ContactId> = self
            .contacts
            .values()
            .filter(|c| c.stage == Stage::Waiting)
            .filter(|c| {
                self.queues
                    .get(&c.spec.queue)
                    .is_some_and(|q| q.config.leave_when_empty)
            })
            .filter(|c| !self.staffed_for(&c.spec))
            .map(|c| c.spec.id)
            .collect();
        for id in leaving {
            self.time_out(id, QueueExit::NoAgents, now);
        }
    }

    fn apply_queue_deadlines(&mut self, now: Instant) {
        enum Due {
            TimeOut,
            Overflow(QueueId),
        }
        let mut due = Vec::new();
        for contact in self.contacts.values() {
            if contact.stage != Stage::Waiting {
                continue;
            }
            let Some(queue) = self.queues.get(&contact.spec.queue) else {
                continue;
            };
            let timeout = queue
                .config
                .max_wait
                .map(|max| (contact.entered + max, Due::TimeOut));
            let overflow = queue
                .config
                .overflow
                .map(|o| (contact.entered + o.after, Due::Overflow(o.to)));
            let first = match (timeout, overflow) {
                (Some(t), Some(o)) => Some(if o.0 < t.0 { o } else { t }),
                (t, o) => t.or(o),
            };
            if let Some((at, what)) = first {
                if at <= now {
                    due.push((contact.spec.id, what));
                }
            }
        }
        for (id, what) in due {
            match what {
                Due::TimeOut => self.time_out(id, QueueExit::MaxWait, now),
                Due::Overflow(to) => self.overflow(id, to, now),
            }
        }
    }

    /// Offers waiting contacts, in line order, to the free agents able to take them.
    fn dispatch(&mut self, now: Instant) {
        let mut free: Vec<AgentId> = self
            .agents
            .iter()
            .filter(|(_, a)| a.can_take_any())
            .map(|(&id, _)| id)
            .collect();
        let mut openings = self.openings(&free);
        let mut cursor: Option<LineKey> = None;
        while !openings.is_empty() {
            let next = match cursor {
                None => self.line.first(),
                Some(last) => self.line.range((Excluded(last), Unbounded)).next(),
            };
            let Some(&key) = next else {
                break;
            };
            cursor = Some(key);
            let open = self
                .contacts
                .get(&key.contact)
                .is_some_and(|c| openings.contains(&(c.spec.queue, c.spec.channel)));
            if !open {
                continue;
            }
            let chosen = self.pick_agents(key.contact, &free, now);
            if chosen.is_empty() {
                continue;
            }
            for agent in chosen {
                self.offer(key.contact, agent, now);
            }
            free.retain(|a| self.agents.get(a).is_some_and(Agent::can_take_any));
            openings = self.openings(&free);
        }
    }

    /// The (queue, channel) pairs for which some of the `free` agents has room,
    /// so that contacts nobody free could take are skipped cheaply.
    fn openings(&self, free: &[AgentId]) -> BTreeSet<(QueueId, Channel)> {
        let mut openings = BTreeSet::new();
        for agent in free.iter().filter_map(|id| self.agents.get(id)) {
            for channel in Channel::ALL.into_iter().filter(|&c| agent.can_take(c)) {
                for &queue in agent.profile.queues.keys() {
                    openings.insert((queue, channel));
                }
            }
        }
        openings
    }

    fn pick_agents(&mut self, id: ContactId, free: &[AgentId], now: Instant) -> Vec<AgentId> {
        let Some(contact) = self.contacts.get(&id) else {
            return Vec::new();
        };
        if contact.stage != Stage::Waiting {
            return Vec::new();
        }
        let Some(queue) = self.queues.get(&contact.spec.queue) else {
            return Vec::new();
        };
        let reserved = self.sticky_reservation(contact, queue, now);
        let candidates: Vec<Candidate> = free
            .iter()
            .filter(|&&agent| reserved.is_none_or(|r| r == agent))
            .filter_map(|&agent| self.candidate(agent, contact, queue, now))
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
    fn sticky_reservation(
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

    fn candidate(
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
        let deadline = now + queue.config.offer_timeout.max(MIN_OFFER);
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
        self.settle(agent, before, StateCause::Offered, now);
    }

    fn announce(&mut self, now: Instant) {
        let due: Vec<ContactId> = self
            .contacts
            .values()
            .filter(|c| c.stage == Stage::Waiting && c.next_announce.is_some_and(|at| at <= now))
            .map(|c| c.spec.id)
            .collect();
        for id in due {
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
                contact.next_announce = every.map(|e| now + e);
            }
            self.actions.push_back(Action::Announce {
                contact: id,
                position,
                expected_wait,
            });
        }
    }

    fn overflow(&mut self, id: ContactId, to: QueueId, now: Instant) {
        let Some(mut contact) = self.take_out_of_line(id) else {
            return;
        };
        let from = contact.spec.queue;
        if let Some(queue) = self.queues.get_mut(&from) {
            queue.tally.overflowed += 1;
        }
        self.actions.push_back(Action::Overflow {
            contact: id,
            from,
            to,
        });
        self.actions
            .push_back(Action::Metric(MetricEvent::Overflowed {
                from,
                to,
                contact: id,
                wait: now.saturating_duration_since(contact.entered),
            }));
        let Some(target) = self.queues.get(&to) else {
            return;
        };
        contact.next_announce = target
            .config
            .announce_every
            .map(|_| contact.next_announce.unwrap_or(now));
        contact.spec.queue = to;
        contact.entered = now;
        contact.tried.clear();
        self.entered(to, id);
        self.put_in_line(contact);
    }

    fn time_out(&mut self, id: ContactId, reason: QueueExit, now: Instant) {
        if let Some(contact) = self.take_out_of_line(id) {
            let wait = now.saturating_duration_since(contact.arrived);
            self.emit_time_out(contact.spec.queue, id, reason, wait);
        }
    }

    fn emit_time_out(
        &mut self,
        queue: QueueId,
        contact: ContactId,
        reason: QueueExit,
        wait: Duration,
    ) {
        let Some(q) = self.queues.get_mut(&queue) else {
            return;
        };
        q.tally.timed_out += 1;
        self.actions.push_back(Action::QueueTimeout {
            contact,
            queue,
            reason,
            target: q.config.timeout_target.clone(),
        });
        self.actions
            .push_back(Action::Metric(MetricEvent::TimedOut {
                queue,
                contact,
                reason,
                wait,
            }));
    }

    fn entered(&mut self, queue: QueueId, contact: ContactId) {
        if let Some(q) = self.queues.get_mut(&queue) {
            q.tally.offered += 1;
        }
        self.actions
            .push_back(Action::Metric(MetricEvent::Offered { queue, contact }));
    }

    fn put_in_line(&mut self, contact: Contact) {
        let key = contact.line_key();
        self.line.insert(key);
        if let Some(queue) = self.queues.get_mut(&contact.spec.queue) {
            queue.line.insert(key);
        }
        self.contacts.insert(contact.spec.id, contact);
    }

    fn take_out_of_line(&mut self, id: ContactId) -> Option<Contact> {
        let contact = self.contacts.remove(&id)?;
        let key = contact.line_key();
        self.line.remove(&key);
        if let Some(queue) = self.queues.get_mut(&contact.spec.queue) {
            queue.line.remove(&key);
        }
        Some(contact)
    }

    /// Removes the offer of `contact` to `agent`, remembering the agent tried it.
    fn withdraw(&mut self, contact: ContactId, agent: AgentId) -> Result<(), AcdError> {
        let c = self
            .contacts
            .get_mut(&contact)
            .ok_or(AcdError::UnknownContact(contact))?;
        if !c.withdraw_offer(agent) {
            return Err(AcdError::NoSuchOffer { contact, agent });
        }
        c.tried.insert(agent);
        Ok(())
    }

    /// Takes an offered contact off the agent's desk.
    fn release_offer(&mut self, agent: AgentId, contact: ContactId, now: Instant) {
        if let Some(a) = self.agents.get_mut(&agent) {
            let before = a.state();
            a.desk.remove(&contact);
            self.settle(agent, before, StateCause::OfferEnded, now);
        }
    }

    /// Changes presence, closing a not-ready or wrap-up period; returns the state before.
    fn set_presence(
        &mut self,
        id: AgentId,
        presence: Presence,
        now: Instant,
    ) -> Result<AgentState, AcdError> {
        let agent = self
            .agents
            .get_mut(&id)
            .ok_or(AcdError::AgentNotLoggedIn(id))?;
        let before = agent.state();
        let old = std::mem::replace(&mut agent.presence, presence);
        self.tally(id).left(old, now);
        Ok(before)
    }

    /// Reports the agent's state change, if any, and starts their idle time when
    /// they become ready for work (not when an offer merely went away).
    fn settle(&mut self, id: AgentId, before: AgentState, cause: StateCause, now: Instant) {
        let Some(agent) = self.agents.get_mut(&id) else {
            return;
        };
        let after = agent.state();
        if after == before {
            return;
        }
        if after == AgentState::Ready && cause != StateCause::OfferEnded {
            agent.idle_since = now;
        }
        self.actions.push_back(Action::AgentStateChanged {
            agent: id,
            from: before,
            to: after,
            cause,
        });
    }

    /// Whether some logged-in member of the contact's queue could serve it.
    fn staffed_for(&self, spec: &ContactSpec) -> bool {
        self.agents
            .values()
            .any(|a| a.membership(spec.queue).is_some() && a.qualifies(&spec.skills))
    }

    fn remember(&mut self, customer: CustomerId, agent: AgentId, now: Instant) {
        self.last_served.insert(customer, (agent, now));
        if self.last_served.len() > REMEMBERED_CUSTOMERS {
            let mut served: Vec<Instant> = self.last_served.values().map(|&(_, at)| at).collect();
            let middle = served.len() / 2;
            let (_, &mut cutoff, _) = served.select_nth_unstable(middle);
            self.last_served.retain(|_, &mut (_, at)| at > cutoff);
        }
    }

    fn tally(&mut self, agent: AgentId) -> &mut AgentTally {
        self.tallies.entry(agent).or_default()
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod invariants;
