//! Property tests: random sequences of events against the engine, checking after
//! every step that no contact rings two agents at once (ring-all aside, whose
//! losers are stopped), no agent's capacity is exceeded, a waiting contact never
//! has an able agent idling, priority order holds, and every contact that
//! arrives ends exactly once.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use proptest::prelude::{
    Just, ProptestConfig, any, prop, prop_assert, prop_assert_eq, prop_oneof, proptest,
};
use proptest::strategy::Strategy as Generator;
use proptest::test_runner::TestCaseError;

use super::{Acd, TICK};
use crate::agent::{Agent, Presence};
use crate::contact::{Holding, Stage};
use crate::timers::Timer;
use crate::*;

const SALES: QueueId = QueueId(1);
const SUPPORT: QueueId = QueueId(2);
const SPANISH: SkillId = SkillId(1);
const AGENTS: u64 = 4;

const STRATEGIES: [Strategy; 8] = [
    Strategy::LongestIdle,
    Strategy::RoundRobin,
    Strategy::FewestContacts,
    Strategy::LeastTalkTime,
    Strategy::RingAll,
    Strategy::TopDown,
    Strategy::Random,
    Strategy::SkillsBestMatch,
];

#[derive(Debug, Clone)]
enum Op {
    Login(u64),
    Logout(u64),
    Ready(u64),
    NotReady(u64),
    WrapUpDone(u64),
    Arrive {
        channel: Channel,
        queue: QueueId,
        priority: u8,
        needs_spanish: Option<u8>,
        customer: Option<u8>,
    },
    Accept(usize),
    Decline(usize),
    RingOut(usize),
    End(usize),
    Abandon(usize),
    Wait(u64),
    Reconfigure(QueueId, Box<QueueConfig>),
    Callback(usize),
}

/// Mostly tier 1 without penalty, so that agents often share a group.
fn membership() -> impl Generator<Value = (u8, u8)> {
    (
        prop_oneof![3 => Just(1u8), 1 => Just(2u8)],
        prop_oneof![3 => Just(0u8), 1 => Just(1u8)],
    )
}

fn agent_profile() -> impl Generator<Value = AgentProfile> {
    (
        prop_oneof![3 => Just(1u8), 1 => Just(0u8)],
        0..=3u8,
        any::<bool>(),
        prop::option::weighted(0.7, 1..=10u8),
        prop::option::weighted(0.8, membership()),
        prop::option::weighted(0.6, membership()),
        prop::option::of(1..=3u32),
    )
        .prop_map(
            |(voice, chat, blocks, spanish, sales, support, max_no_answers)| {
                let mut profile = AgentProfile::new(
                    Capacity::none()
                        .with(Channel::Voice, voice)
                        .with(Channel::Chat, chat),
                );
                profile.voice_blocks_other_channels = blocks;
                profile.max_no_answers = max_no_answers;
                if let Some(level) = spanish.and_then(|l| SkillLevel::new(l).ok()) {
                    profile = profile.with_skill(SPANISH, level);
                }
                if let Some((tier, penalty)) = sales {
                    profile = profile.in_queue_as(SALES, Membership { tier, penalty });
                }
                if let Some((tier, penalty)) = support {
                    profile = profile.in_queue_as(SUPPORT, Membership { tier, penalty });
                }
                profile
            },
        )
}

fn queue_config() -> impl Generator<Value = QueueConfig> {
    (
        0..STRATEGIES.len(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::option::of(30..120u64),
        prop::option::of(1..6usize),
        any::<bool>(),
        any::<bool>(),
        0..=1u64,
        prop::bool::weighted(0.9),
    )
        .prop_map(
            |(
                strategy,
                progressive,
                overflows,
                sticky,
                max_wait,
                max_size,
                join,
                leave,
                wrap,
                open,
            )| {
                let mut config = QueueConfig::new(STRATEGIES[strategy]);
                config.offer_timeout = Duration::from_secs(15);
                config.wrap_up = Duration::from_secs(10 * wrap);
                if progressive {
                    config.tiers = TierPolicy::Progressive {
                        step: Duration::from_secs(20),
                    };
                }
                if sticky {
                    config.sticky_window = Some(Duration::from_secs(15));
                }
                config.max_wait = max_wait.map(Duration::from_secs);
                config.max_size = max_size;
                config.open = open;
                config.join_when_empty = join;
                config.leave_when_empty = leave;
                config.announce_every = Some(Duration::from_secs(45));
                if overflows {
                    config.overflow = Some(Overflow {
                        after: Duration::from_secs(50),
                        to: SUPPORT,
                    });
                }
                config
            },
        )
}

fn op() -> impl Generator<Value = Op> {
    let agent = 1..=AGENTS;
    prop_oneof![
        1 => agent.clone().prop_map(Op::Login),
        1 => agent.clone().prop_map(Op::Logout),
        3 => agent.clone().prop_map(Op::Ready),
        1 => agent.clone().prop_map(Op::NotReady),
        1 => agent.prop_map(Op::WrapUpDone),
        4 => (
            prop_oneof![Just(Channel::Voice), Just(Channel::Chat)],
            prop_oneof![Just(SALES), Just(SUPPORT)],
            0..=9u8,
            prop::option::weighted(0.3, 1..=10u8),
            prop::option::of(0..3u8),
        )
            .prop_map(|(channel, queue, priority, needs_spanish, customer)| Op::Arrive {
                channel,
                queue,
                priority,
                needs_spanish,
                customer,
            }),
        5 => any::<usize>().prop_map(Op::Accept),
        1 => any::<usize>().prop_map(Op::Decline),
        1 => any::<usize>().prop_map(Op::RingOut),
        2 => any::<usize>().prop_map(Op::End),
        1 => any::<usize>().prop_map(Op::Abandon),
        1 => any::<usize>().prop_map(Op::Callback),
        3 => (0..40u64).prop_map(Op::Wait),
        1 => (prop_oneof![Just(SALES), Just(SUPPORT)], queue_config())
            .prop_map(|(queue, config)| Op::Reconfigure(queue, Box::new(config))),
    ]
}

/// The engine plus what the test learned about it from its actions alone.
struct World {
    acd: Acd,
    clock: Instant,
    profiles: BTreeMap<AgentId, AgentProfile>,
    ringing: BTreeMap<ContactId, BTreeSet<AgentId>>,
    assigned: BTreeMap<ContactId, AgentId>,
    channels: BTreeMap<ContactId, Channel>,
    arrived: Vec<ContactId>,
    finished: BTreeMap<ContactId, u32>,
}

impl World {
    fn new(
        seed: u64,
        sales: QueueConfig,
        support: QueueConfig,
        profiles: Vec<AgentProfile>,
    ) -> Self {
        let t0 = Instant::now();
        let mut world = Self {
            acd: Acd::new(seed),
            clock: t0,
            profiles: (1..=AGENTS).map(AgentId).zip(profiles).collect(),
            ringing: BTreeMap::new(),
            assigned: BTreeMap::new(),
            channels: BTreeMap::new(),
            arrived: Vec::new(),
            finished: BTreeMap::new(),
        };
        for (queue, config) in [(SALES, sales), (SUPPORT, support)] {
            let outcome = world
                .acd
                .handle(t0, Event::QueueConfigChanged { queue, config });
            assert_eq!(outcome, Ok(()));
        }
        for (&agent, profile) in &world.profiles {
            let login = Event::AgentLogin {
                agent,
                profile: profile.clone(),
            };
            assert_eq!(world.acd.handle(t0, login), Ok(()));
            assert_eq!(world.acd.handle(t0, Event::AgentReady { agent }), Ok(()));
        }
        while world.acd.poll_action().is_some() {}
        world
    }

    fn ringing_pairs(&self) -> Vec<(ContactId, AgentId)> {
        self.ringing
            .iter()
            .flat_map(|(&c, agents)| agents.iter().map(move |&a| (c, a)))
            .collect()
    }

    fn unassigned(&self) -> Vec<ContactId> {
        self.arrived
            .iter()
            .copied()
            .filter(|c| !self.finished.contains_key(c) && !self.assigned.contains_key(c))
            .collect()
    }

    fn step(&mut self, op: Op) -> Result<(), TestCaseError> {
        let now = self.clock;
        match op {
            Op::Login(a) => {
                let agent = AgentId(a);
                let profile = self
                    .profiles
                    .get(&agent)
                    .cloned()
                    .unwrap_or(AgentProfile::new(Capacity::none()));
                let _ = self.acd.handle(now, Event::AgentLogin { agent, profile });
            }
            Op::Logout(a) => {
                let busy = self.assigned.values().any(|&x| x == AgentId(a));
                let outcome = self
                    .acd
                    .handle(now, Event::AgentLogout { agent: AgentId(a) });
                if busy {
                    prop_assert_eq!(outcome, Err(AcdError::AgentHasContacts(AgentId(a))));
                }
            }
            Op::Ready(a) => {
                let _ = self
                    .acd
                    .handle(now, Event::AgentReady { agent: AgentId(a) });
            }
            Op::NotReady(a) => {
                let reason = ReasonCode::new("break");
                let _ = self.acd.handle(
                    now,
                    Event::AgentNotReady {
                        agent: AgentId(a),
                        reason,
                    },
                );
            }
            Op::WrapUpDone(a) => {
                let _ = self
                    .acd
                    .handle(now, Event::WrapUpDone { agent: AgentId(a) });
            }
            Op::Arrive {
                channel,
                queue,
                priority,
                needs_spanish,
                customer,
            } => {
                let id = ContactId(self.arrived.len() as u64 + 1000);
                let mut spec = ContactSpec::new(id, channel, queue).with_priority(
                    Priority::new(priority).map_err(|e| TestCaseError::fail(e.to_string()))?,
                );
                if let Some(level) = needs_spanish.and_then(|l| SkillLevel::new(l).ok()) {
                    spec = spec.with_skill(SkillRequirement {
                        skill: SPANISH,
                        min_level: level,
                    });
                }
                if let Some(customer) = customer {
                    spec = spec.with_customer(CustomerId(format!("customer-{customer}")));
                }
                self.arrived.push(id);
                self.channels.insert(id, channel);
                prop_assert_eq!(self.acd.handle(now, Event::ContactArrived(spec)), Ok(()));
            }
            Op::Accept(_) | Op::Decline(_) | Op::RingOut(_) if self.ringing_pairs().is_empty() => {}
            Op::Accept(pick) => {
                let pairs = self.ringing_pairs();
                let (contact, agent) = pairs[pick % pairs.len()];
                prop_assert_eq!(
                    self.acd
                        .handle(now, Event::OfferAccepted { contact, agent }),
                    Ok(())
                );
            }
            Op::Decline(pick) | Op::RingOut(pick) => {
                let pairs = self.ringing_pairs();
                let (contact, agent) = pairs[pick % pairs.len()];
                if let Some(set) = self.ringing.get_mut(&contact) {
                    set.remove(&agent);
                }
                let event = if matches!(op, Op::Decline(_)) {
                    Event::OfferDeclined { contact, agent }
                } else {
                    Event::OfferTimedOut { contact, agent }
                };
                prop_assert_eq!(self.acd.handle(now, event), Ok(()));
            }
            Op::End(pick) => {
                let assigned: Vec<ContactId> = self.assigned.keys().copied().collect();
                if let Some(&contact) = assigned.get(pick % assigned.len().max(1)) {
                    prop_assert_eq!(
                        self.acd.handle(now, Event::ContactEnded { contact }),
                        Ok(())
                    );
                }
            }
            Op::Abandon(pick) => {
                let waiting = self.unassigned();
                if let Some(&contact) = waiting.get(pick % waiting.len().max(1)) {
                    prop_assert_eq!(
                        self.acd.handle(now, Event::ContactAbandoned { contact }),
                        Ok(())
                    );
                }
            }
            Op::Callback(pick) => {
                let waiting = self.unassigned();
                if let Some(&contact) = waiting.get(pick % waiting.len().max(1)) {
                    let event = Event::CallbackRequested { contact };
                    prop_assert_eq!(self.acd.handle(now, event), Ok(()));
                }
            }
            Op::Wait(secs) => return self.wait(Duration::from_secs(secs)),
            Op::Reconfigure(queue, config) => {
                let event = Event::QueueConfigChanged {
                    queue,
                    config: *config,
                };
                prop_assert_eq!(self.acd.handle(now, event), Ok(()));
            }
        }
        self.observe()?;
        self.check()
    }

    fn wait(&mut self, span: Duration) -> Result<(), TestCaseError> {
        let end = self.clock + span;
        while let Some(at) = self.acd.poll_timeout().filter(|&at| at <= end) {
            prop_assert!(at >= self.clock, "timeouts never go back in time");
            self.clock = at;
            prop_assert_eq!(self.acd.handle(at, Event::Timeout), Ok(()));
            self.observe()?;
            self.check()?;
        }
        self.clock = end;
        prop_assert_eq!(self.acd.handle(end, Event::Timeout), Ok(()));
        self.observe()?;
        self.check()
    }

    fn load(&self, agent: AgentId, channel: Channel) -> usize {
        let ringing = self
            .ringing
            .iter()
            .filter(|(c, agents)| agents.contains(&agent) && self.channels.get(c) == Some(&channel))
            .count();
        let assigned = self
            .assigned
            .iter()
            .filter(|(c, a)| **a == agent && self.channels.get(c) == Some(&channel))
            .count();
        ringing + assigned
    }

    fn finish(&mut self, contact: ContactId) -> Result<(), TestCaseError> {
        let count = self.finished.entry(contact).or_default();
        *count += 1;
        prop_assert_eq!(*count, 1, "contact {} ended twice", contact);
        Ok(())
    }

    /// Learns from the actions, checking each as it comes.
    fn observe(&mut self) -> Result<(), TestCaseError> {
        while let Some(action) = self.acd.poll_action() {
            match action {
                Action::Offer {
                    contact,
                    agent,
                    channel,
                    ..
                } => {
                    let ringing = self.ringing.entry(contact).or_default();
                    prop_assert!(ringing.insert(agent));
                    if ringing.len() > 1 {
                        // Only ring-all rings several agents; the queue may change
                        // strategy later while those offers still ring.
                        let strategy = self
                            .acd
                            .contact(contact)
                            .and_then(|c| self.acd.queues.get(&c.queue))
                            .map(|q| q.config.strategy);
                        prop_assert_eq!(
                            strategy,
                            Some(Strategy::RingAll),
                            "{} rings twice",
                            contact
                        );
                    }
                    let profile = self
                        .profiles
                        .get(&agent)
                        .cloned()
                        .unwrap_or(AgentProfile::new(Capacity::none()));
                    prop_assert!(
                        self.load(agent, channel) <= usize::from(profile.capacity.of(channel)),
                        "agent {} over capacity on {:?}",
                        agent,
                        channel
                    );
                    if profile.voice_blocks_other_channels && channel != Channel::Voice {
                        prop_assert_eq!(self.load(agent, Channel::Voice), 0);
                    }
                }
                Action::StopOffering { contact, agent, .. } => {
                    let removed = self
                        .ringing
                        .get_mut(&contact)
                        .is_some_and(|set| set.remove(&agent));
                    prop_assert!(removed, "stopped an offer that was not ringing");
                }
                Action::Assigned { contact, agent, .. } => {
                    let ringing = self.ringing.remove(&contact).unwrap_or_default();
                    prop_assert_eq!(ringing, BTreeSet::from([agent]), "losers not stopped first");
                    self.assigned.insert(contact, agent);
                }
                Action::Metric(MetricEvent::Completed { contact, .. }) => {
                    prop_assert!(self.assigned.remove(&contact).is_some());
                    self.finish(contact)?;
                }
                Action::Metric(MetricEvent::Abandoned { contact, .. })
                | Action::QueueTimeout { contact, .. } => {
                    prop_assert!(self.ringing.get(&contact).is_none_or(BTreeSet::is_empty));
                    prop_assert!(!self.assigned.contains_key(&contact));
                    self.finish(contact)?;
                }
                _ => {}
            }
        }
        self.ringing.retain(|_, agents| !agents.is_empty());
        Ok(())
    }

    fn check(&self) -> Result<(), TestCaseError> {
        for contact in &self.arrived {
            let in_engine = self.acd.contact(*contact).is_some();
            prop_assert_eq!(
                in_engine,
                !self.finished.contains_key(contact),
                "contact {} lost",
                contact
            );
        }
        for (id, agent) in &self.acd.agents {
            for channel in Channel::ALL {
                prop_assert!(
                    agent.load(channel) <= usize::from(agent.profile.capacity.of(channel))
                );
                prop_assert_eq!(agent.load(channel), self.load(*id, channel));
            }
        }
        for queue in self.acd.queues.values() {
            for channel in Channel::ALL {
                for key in queue.line_of(channel) {
                    prop_assert!(queue.line.contains(key));
                    let spec = self.acd.contacts.get(&key.contact).map(|c| &c.spec);
                    prop_assert_eq!(spec.map(|s| s.channel), Some(channel));
                }
            }
            let split: usize = Channel::ALL.iter().map(|&c| queue.line_of(c).len()).sum();
            prop_assert_eq!(
                split,
                queue.line.len(),
                "channel lines differ from the line"
            );
        }
        self.check_schedule()?;
        self.check_no_able_agent_idles()
    }

    /// The schedule misses nothing: it wakes no later than the earliest deadline
    /// found by looking at every agent and contact, nothing due is left behind,
    /// and the free-agent index matches the agents.
    fn check_schedule(&self) -> Result<(), TestCaseError> {
        let next = self.acd.poll_timeout();
        prop_assert!(
            next.is_none_or(|at| at > self.clock),
            "a due timer was left behind"
        );
        if let Some(expected) = self.earliest_deadline() {
            prop_assert!(
                next.is_some_and(|at| at <= expected),
                "{:?} misses {:?}",
                next,
                expected
            );
        }
        for contact in self.acd.contacts.values() {
            if let Some(at) = contact.wake {
                prop_assert!(
                    self.acd
                        .schedule
                        .contains(at, Timer::Contact(contact.spec.id))
                );
            }
            for offer in contact.offers() {
                let timer = Timer::Offer {
                    contact: contact.spec.id,
                    agent: offer.agent,
                };
                prop_assert!(self.acd.schedule.contains(offer.deadline, timer));
            }
        }
        let free: BTreeSet<AgentId> = self
            .acd
            .agents
            .iter()
            .filter(|(_, a)| a.can_take_any())
            .map(|(&id, _)| id)
            .collect();
        prop_assert_eq!(&free, &self.acd.free);
        for (queue, members) in &self.acd.free_members {
            let expected: BTreeSet<AgentId> = free
                .iter()
                .copied()
                .filter(|id| {
                    self.acd
                        .agents
                        .get(id)
                        .is_some_and(|a| a.membership(*queue).is_some())
                })
                .collect();
            prop_assert_eq!(members, &expected, "free members of {}", queue);
        }
        for id in &free {
            let queues = self
                .acd
                .agents
                .get(id)
                .map(|a| a.profile.queues.keys().copied().collect::<Vec<_>>())
                .unwrap_or_default();
            for queue in queues {
                let indexed = self
                    .acd
                    .free_members
                    .get(&queue)
                    .is_some_and(|m| m.contains(id));
                prop_assert!(indexed, "{} free but not indexed in {}", id, queue);
            }
        }
        Ok(())
    }

    /// The earliest deadline, found the slow way.
    fn earliest_deadline(&self) -> Option<Instant> {
        let now = self.clock;
        let mut deadlines = Vec::new();
        for agent in self.acd.agents.values() {
            if let Agent {
                presence: Presence::WrapUp { until, .. },
                ..
            } = agent
            {
                deadlines.push(*until);
            }
        }
        for contact in self.acd.contacts.values() {
            match &contact.stage {
                Stage::Assigned { .. } => {}
                Stage::Offered(offers) => deadlines.extend(offers.iter().map(|o| o.deadline)),
                Stage::Waiting => {
                    let Some(queue) = self.acd.queues.get(&contact.spec.queue) else {
                        continue;
                    };
                    let config = &queue.config;
                    if let Holding::OnLine { next_announce } = contact.holding {
                        deadlines.extend(config.max_wait.map(|max| contact.entered + max));
                        deadlines.extend(next_announce);
                    }
                    deadlines.extend(config.overflow.map(|o| contact.entered + o.after.max(TICK)));
                    if let (Some(window), Some(_)) = (config.sticky_window, contact.sticky_agent) {
                        deadlines.extend(Some(contact.entered + window).filter(|&end| end > now));
                    }
                    if let Some((_, until)) = contact.preferred {
                        deadlines.extend(Some(until).filter(|&end| end > now));
                    }
                    deadlines.extend(queue.next_tier_unlock(contact.entered, now));
                }
            }
        }
        deadlines.into_iter().min()
    }

    /// A waiting contact has no agent the engine could offer it to right now.
    fn check_no_able_agent_idles(&self) -> Result<(), TestCaseError> {
        for contact in self
            .acd
            .contacts
            .values()
            .filter(|c| c.stage == Stage::Waiting)
        {
            let Some(queue) = self.acd.queues.get(&contact.spec.queue) else {
                continue;
            };
            let reserved = self.acd.sticky_reservation(contact, queue, self.clock);
            for id in self.acd.agents.keys() {
                let allowed = reserved.is_none_or(|r| r == *id);
                let able = self
                    .acd
                    .candidate(*id, contact, queue, self.clock)
                    .is_some();
                prop_assert!(
                    !(allowed && able),
                    "agent {} idles while {} waits",
                    id,
                    contact.spec.id
                );
            }
        }
        Ok(())
    }

    /// Ends everything still in the engine, then checks every contact ended once.
    fn wind_down(&mut self) -> Result<(), TestCaseError> {
        let now = self.clock;
        for contact in self.arrived.clone() {
            if self.finished.contains_key(&contact) {
                continue;
            }
            let event = if self.assigned.contains_key(&contact) {
                Event::ContactEnded { contact }
            } else {
                Event::ContactAbandoned { contact }
            };
            prop_assert_eq!(self.acd.handle(now, event), Ok(()));
            self.observe()?;
        }
        prop_assert!(
            self.arrived
                .iter()
                .all(|c| self.finished.get(c) == Some(&1))
        );
        prop_assert!(self.acd.contacts.is_empty());
        prop_assert!(self.acd.line.is_empty());
        let lines_empty =
            self.acd.queues.values().all(|q| {
                q.line.is_empty() && Channel::ALL.iter().all(|&c| q.line_of(c).is_empty())
            });
        prop_assert!(lines_empty);
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_event_sequences_keep_every_invariant(
        seed in any::<u64>(),
        sales in queue_config(),
        support in queue_config(),
        profiles in prop::collection::vec(agent_profile(), AGENTS as usize),
        ops in prop::collection::vec(op(), 1..80),
    ) {
        let mut world = World::new(seed, sales, support, profiles);
        for op in ops {
            world.step(op)?;
        }
        world.wind_down()?;
    }

    #[test]
    fn waiting_contacts_are_served_by_priority_then_arrival(
        priorities in prop::collection::vec(0..=9u8, 1..30),
        strategy in 0..STRATEGIES.len(),
    ) {
        let t0 = Instant::now();
        let mut acd = Acd::new(1);
        let queue = QueueId(1);
        prop_assert_eq!(acd.handle(t0, Event::QueueConfigChanged { queue, config: QueueConfig::new(STRATEGIES[strategy]) }), Ok(()));
        let profile = AgentProfile::new(Capacity::voice_only()).in_queue(queue);
        prop_assert_eq!(acd.handle(t0, Event::AgentLogin { agent: AgentId(1), profile }), Ok(()));
        let mut expected = Vec::new();
        for (n, &p) in priorities.iter().enumerate() {
            let priority = Priority::new(p).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let spec = ContactSpec::new(ContactId(n as u64), Channel::Voice, queue).with_priority(priority);
            prop_assert_eq!(acd.handle(t0, Event::ContactArrived(spec)), Ok(()));
            expected.push((std::cmp::Reverse(p), n as u64));
        }
        expected.sort();
        let mut served = Vec::new();
        prop_assert_eq!(acd.handle(t0, Event::AgentReady { agent: AgentId(1) }), Ok(()));
        for _ in 0..priorities.len() {
            let offered = std::iter::from_fn(|| acd.poll_action()).find_map(|a| match a {
                Action::Offer { contact, agent, .. } => Some((contact, agent)),
                _ => None,
            });
            let Some((contact, agent)) = offered else {
                return Err(TestCaseError::fail("the ready agent got no offer"));
            };
            served.push(contact.0);
            prop_assert_eq!(acd.handle(t0, Event::OfferAccepted { contact, agent }), Ok(()));
            prop_assert_eq!(acd.handle(t0, Event::ContactEnded { contact }), Ok(()));
        }
        let expected: Vec<u64> = expected.into_iter().map(|(_, n)| n).collect();
        prop_assert_eq!(served, expected);
    }
}
