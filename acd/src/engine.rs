//! `Acd`, the routing engine, built like str0m's `Rtc`: the caller feeds it
//! `handle(now, Event)`, then drains `poll_action()` and asks `poll_timeout()`
//! for the instant at which to call `handle(then, Event::Timeout)`. It owns
//! agents, queues and contacts, and reads no clock, does no I/O, and draws
//! randomness only from the injected `RandomSource`.
//!
//! Within one `handle` call the event is applied first; then the timers due at
//! `now` fire in time order (offers ring out, wrap-ups end, waiting contacts
//! reach their max wait or overflow), contacts of queues left without agents
//! leave, waiting contacts are offered to free agents, and due announcements are
//! made. The routing lives in `routing`, the timers in `timing`; this file holds
//! the state, the queries and what each event does.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use crate::action::{Action, StateCause, StopReason};
use crate::agent::{Agent, AgentState, Engagement, Load, Presence};
use crate::config::{AgentProfile, QueueConfig};
use crate::contact::{Contact, ContactSpec, Holding, LineKey, PendingOffer, Stage};
use crate::error::AcdError;
use crate::estimate::expected_wait;
use crate::event::Event;
use crate::ids::{AgentId, ContactId, CustomerId, QueueId, ReasonCode};
use crate::metrics::{AgentMetrics, AgentTally, MetricEvent, QueueExit, QueueMetrics};
use crate::queue::Queue;
use crate::rng::{RandomSource, SplitMix64};
use crate::timers::{Schedule, Timer};

/// How many customers' last agents are remembered for sticky routing; past this
/// the older half is forgotten.
const REMEMBERED_CUSTOMERS: usize = 100_000;

/// The shortest offer or overflow delay: zero from configuration still fires
/// after the current instant, so that nothing loops within one `handle`.
const TICK: Duration = Duration::from_millis(1);

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
    /// Agents left or changed: waiting contacts of leave-when-empty queues may
    /// have nobody left to serve them.
    staffing_dropped: bool,
    schedule: Schedule,
    /// Logged-in agents with room for one more contact on some channel.
    free: BTreeSet<AgentId>,
    /// The same agents by the queues they serve.
    free_members: BTreeMap<QueueId, BTreeSet<AgentId>>,
    /// What changed since routing last ran.
    changes: Changes,
}

/// What may allow new matches since routing last ran. After routing, no
/// waiting contact has an agent able to take it; so only contacts that started
/// waiting (or whose tier or sticky window opened) and agents who gained room
/// can form a new match, unless a configuration change or a logout changed the
/// rules for everyone.
#[derive(Debug, Clone, Default)]
struct Changes {
    contacts: BTreeSet<ContactId>,
    agents: BTreeSet<AgentId>,
    everything: bool,
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
            staffing_dropped: false,
            schedule: Schedule::default(),
            free: BTreeSet::new(),
            free_members: BTreeMap::new(),
            changes: Changes::default(),
        }
    }

    /// Applies `event` at `now`, then everything that is due at `now`. An event
    /// that does not fit the current state is refused with an error and changes
    /// nothing, but time still advances.
    pub fn handle(&mut self, now: Instant, event: Event) -> Result<(), AcdError> {
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
        self.schedule.next()
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
        let session = self
            .agents
            .get(&agent)
            .map(|a| (a.logged_in_at, &a.presence));
        Some(tally.snapshot(session, now))
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
            Event::AgentConfigChanged { agent, profile } => {
                self.reconfigure_agent(agent, profile, now)
            }
            Event::QueueConfigChanged { queue, config } => {
                self.configure_queue(queue, config, now);
                Ok(())
            }
            Event::ContactArrived(spec) => self.arrive(spec, now),
            Event::OfferAccepted { contact, agent } => self.accept(contact, agent, now),
            Event::OfferDeclined { contact, agent } => self.decline(contact, agent, now),
            Event::OfferTimedOut { contact, agent } => self.no_answer(contact, agent, false, now),
            Event::ContactEnded { contact } => self.end(contact, now),
            Event::ContactAbandoned { contact } => self.abandon(contact, now),
            Event::CallbackRequested { contact } => self.keep_for_callback(contact, now),
            Event::Timeout => Ok(()),
        }
    }

    fn login(&mut self, id: AgentId, profile: AgentProfile, now: Instant) -> Result<(), AcdError> {
        if self.agents.contains_key(&id) {
            return Err(AcdError::AgentAlreadyLoggedIn(id));
        }
        self.agents.insert(id, Agent::logged_in(profile, now));
        self.tallies.entry(id).or_default();
        self.note_tiers(id, now);
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
            let withdrawn = self
                .contacts
                .get_mut(&contact)
                .and_then(|c| c.withdraw_offer(id));
            if let Some(offer) = withdrawn {
                self.schedule
                    .cancel(offer.deadline, Timer::Offer { contact, agent: id });
            }
            self.reschedule(contact, now);
            self.actions.push_back(Action::StopOffering {
                contact,
                agent: id,
                reason: StopReason::AgentLoggedOut,
            });
        }
        self.forget_free(id);
        if let Some(agent) = self.agents.remove(&id) {
            if let Presence::WrapUp { until, .. } = agent.presence {
                self.schedule.cancel(until, Timer::WrapUp(id));
            }
            self.tally(id)
                .logged_out(agent.logged_in_at, agent.presence, now);
        }
        self.staffing_dropped = true;
        self.changes.everything = true;
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

    fn reconfigure_agent(
        &mut self,
        id: AgentId,
        profile: AgentProfile,
        now: Instant,
    ) -> Result<(), AcdError> {
        if !self.agents.contains_key(&id) {
            return Err(AcdError::AgentNotLoggedIn(id));
        }
        self.forget_free(id);
        if let Some(agent) = self.agents.get_mut(&id) {
            agent.profile = profile;
        }
        self.staffing_dropped = true;
        self.changes.everything = true;
        self.refresh_free(id);
        self.note_tiers(id, now);
        Ok(())
    }

    fn configure_queue(&mut self, id: QueueId, config: QueueConfig, now: Instant) {
        let highest_tier = self
            .agents
            .values()
            .filter_map(|a| a.membership(id))
            .map(|m| m.tier.max(1))
            .max()
            .unwrap_or(1);
        let queue = self
            .queues
            .entry(id)
            .or_insert_with(|| Queue::new(config.clone()));
        queue.config = config;
        queue.highest_tier = highest_tier;
        self.staffing_dropped = true;
        self.changes.everything = true;
        self.reschedule_queue(id, now);
    }

    fn arrive(&mut self, spec: ContactSpec, now: Instant) -> Result<(), AcdError> {
        if self.contacts.contains_key(&spec.id) {
            return Err(AcdError::DuplicateContact(spec.id));
        }
        let queue = self
            .queues
            .get(&spec.queue)
            .ok_or(AcdError::UnknownQueue(spec.queue))?;
        let refusal = if !queue.config.open {
            Some(QueueExit::Closed)
        } else if !queue.config.join_when_empty && !self.staffed_for(&spec) {
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
        contact.preferred = contact
            .spec
            .preferred_agent
            .map(|(agent, wait)| (agent, now + wait));
        contact.holding = Holding::OnLine { next_announce };
        let id = contact.spec.id;
        self.put_in_line(contact);
        self.reschedule(id, now);
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
        let rung: Vec<PendingOffer> = contact.offers().to_vec();
        contact.stage = Stage::Assigned { agent };
        let key = contact.line_key();
        let queue_id = contact.spec.queue;
        let waited = now.saturating_duration_since(contact.arrived);
        let customer = contact.spec.customer.clone();
        let channel = contact.spec.channel;
        self.line.remove(&key);
        if let Some(queue) = self.queues.get_mut(&queue_id) {
            queue.leave_line(&key, channel);
            let service_level = queue.config.service_level;
            queue.tally.answered(waited, service_level);
        }
        for offer in rung {
            let timer = Timer::Offer {
                contact: id,
                agent: offer.agent,
            };
            self.schedule.cancel(offer.deadline, timer);
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
        self.withdraw(id, agent, now)?;
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
        self.withdraw(id, agent, now)?;
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
            self.changes.agents.insert(agent);
            let wrap_up_until = match handler.presence {
                _ if wrap_up.is_zero() => None,
                Presence::Ready => Some(now + wrap_up),
                Presence::WrapUp { until, .. } => Some(until.max(now + wrap_up)),
                Presence::NotReady { .. } => None,
            };
            if let Some(until) = wrap_up_until {
                // The agent is logged in, so this cannot fail.
                let _ = self.set_presence(agent, Presence::WrapUp { since: now, until }, now);
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
            let timer = Timer::Offer {
                contact: id,
                agent: offer.agent,
            };
            self.schedule.cancel(offer.deadline, timer);
            self.actions.push_back(Action::StopOffering {
                contact: id,
                agent: offer.agent,
                reason: StopReason::Abandoned,
            });
            self.release_offer(offer.agent, id, now);
        }
        let queue = contact.spec.queue;
        if let Some(q) = self.queues.get_mut(&queue) {
            q.tally
                .abandoned(now.saturating_duration_since(contact.arrived));
        }
        self.actions
            .push_back(Action::Metric(MetricEvent::Abandoned {
                queue,
                contact: id,
                wait: now.saturating_duration_since(contact.arrived),
            }));
        Ok(())
    }

    fn keep_for_callback(&mut self, id: ContactId, now: Instant) -> Result<(), AcdError> {
        let contact = self
            .contacts
            .get_mut(&id)
            .ok_or(AcdError::UnknownContact(id))?;
        if matches!(contact.stage, Stage::Assigned { .. }) {
            return Err(AcdError::ContactAssigned(id));
        }
        contact.holding = Holding::ForCallback;
        let queue = contact.spec.queue;
        self.reschedule(id, now);
        self.actions
            .push_back(Action::Metric(MetricEvent::CallbackRequested {
                queue,
                contact: id,
            }));
        Ok(())
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
        if let Holding::OnLine { next_announce } = contact.holding {
            contact.holding = Holding::OnLine {
                next_announce: target
                    .config
                    .announce_every
                    .map(|_| next_announce.unwrap_or(now)),
            };
        }
        contact.spec.queue = to;
        contact.entered = now;
        contact.tried.clear();
        self.entered(to, id);
        self.put_in_line(contact);
        self.reschedule(id, now);
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
            queue.enter_line(key, contact.spec.channel);
        }
        self.changes.contacts.insert(contact.spec.id);
        self.contacts.insert(contact.spec.id, contact);
    }

    fn take_out_of_line(&mut self, id: ContactId) -> Option<Contact> {
        let contact = self.contacts.remove(&id)?;
        if let Some(at) = contact.wake {
            self.schedule.cancel(at, Timer::Contact(id));
        }
        let key = contact.line_key();
        self.line.remove(&key);
        if let Some(queue) = self.queues.get_mut(&contact.spec.queue) {
            queue.leave_line(&key, contact.spec.channel);
        }
        Some(contact)
    }

    /// Removes the offer of `contact` to `agent`, remembering the agent tried it.
    fn withdraw(
        &mut self,
        contact: ContactId,
        agent: AgentId,
        now: Instant,
    ) -> Result<(), AcdError> {
        let c = self
            .contacts
            .get_mut(&contact)
            .ok_or(AcdError::UnknownContact(contact))?;
        let offer = c
            .withdraw_offer(agent)
            .ok_or(AcdError::NoSuchOffer { contact, agent })?;
        c.tried.insert(agent);
        self.changes.contacts.insert(contact);
        self.schedule
            .cancel(offer.deadline, Timer::Offer { contact, agent });
        self.reschedule(contact, now);
        Ok(())
    }

    /// Takes an offered contact off the agent's desk.
    fn release_offer(&mut self, agent: AgentId, contact: ContactId, now: Instant) {
        if let Some(a) = self.agents.get_mut(&agent) {
            let before = a.state();
            a.desk.remove(&contact);
            self.changes.agents.insert(agent);
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
        if let Presence::WrapUp { until, .. } = agent.presence {
            self.schedule.cancel(until, Timer::WrapUp(id));
        }
        match presence {
            Presence::WrapUp { until, .. } => self.schedule.add(until, Timer::WrapUp(id)),
            Presence::Ready => {
                self.changes.agents.insert(id);
            }
            Presence::NotReady { .. } => {}
        }
        let old = std::mem::replace(&mut agent.presence, presence);
        self.tally(id).left(old, now);
        Ok(before)
    }

    /// Reports the agent's state change, if any, and starts their idle time when
    /// they become ready for work (not when an offer merely went away).
    fn settle(&mut self, id: AgentId, before: AgentState, cause: StateCause, now: Instant) {
        self.refresh_free(id);
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

    /// Puts the agent in or out of the free-agent indexes, by their current state.
    fn refresh_free(&mut self, id: AgentId) {
        let Some(agent) = self.agents.get(&id) else {
            return;
        };
        let free = agent.can_take_any();
        for &queue in agent.profile.queues.keys() {
            let members = self.free_members.entry(queue).or_default();
            if free {
                members.insert(id);
            } else {
                members.remove(&id);
            }
        }
        if free {
            self.free.insert(id);
        } else {
            self.free.remove(&id);
        }
    }

    /// Takes the agent out of the free-agent indexes (before logout or a new profile).
    fn forget_free(&mut self, id: AgentId) {
        self.free.remove(&id);
        if let Some(agent) = self.agents.get(&id) {
            for queue in agent.profile.queues.keys() {
                if let Some(members) = self.free_members.get_mut(queue) {
                    members.remove(&id);
                }
            }
        }
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

mod routing;
mod timing;

#[cfg(test)]
mod tests;

#[cfg(test)]
mod invariants;
