//! The engine's behaviour, one scenario per test, driven through `handle` and
//! read back from the actions and queries.

use std::time::{Duration, Instant};

use crate::*;

const SALES: QueueId = QueueId(1);
const SUPPORT: QueueId = QueueId(2);
const SPANISH: SkillId = SkillId(7);

/// A contact center floor on a fake clock counted in seconds from `t0`.
struct Floor {
    acd: Acd,
    t0: Instant,
}

impl Floor {
    fn new() -> Self {
        Self {
            acd: Acd::new(42),
            t0: Instant::now(),
        }
    }

    fn with_queue(strategy: Strategy) -> Self {
        let mut floor = Self::new();
        floor.queue(SALES, QueueConfig::new(strategy));
        floor
    }

    fn at(&self, secs: u64) -> Instant {
        self.t0 + Duration::from_secs(secs)
    }

    fn try_send(&mut self, secs: u64, event: Event) -> Result<Vec<Action>, AcdError> {
        let outcome = self.acd.handle(self.at(secs), event);
        let actions = self.drain();
        outcome.map(|()| actions)
    }

    fn send(&mut self, secs: u64, event: Event) -> Vec<Action> {
        self.try_send(secs, event).expect("event accepted")
    }

    fn drain(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.acd.poll_action()).collect()
    }

    /// Lets time pass to `secs`, firing every timeout on the way.
    fn run_until(&mut self, secs: u64) -> Vec<Action> {
        let end = self.at(secs);
        let mut actions = Vec::new();
        while let Some(at) = self.acd.poll_timeout().filter(|&at| at <= end) {
            self.acd
                .handle(at, Event::Timeout)
                .expect("timeout accepted");
            actions.extend(self.drain());
        }
        self.acd
            .handle(end, Event::Timeout)
            .expect("timeout accepted");
        actions.extend(self.drain());
        actions
    }

    fn queue(&mut self, queue: QueueId, config: QueueConfig) {
        self.send(0, Event::QueueConfigChanged { queue, config });
    }

    fn login(&mut self, secs: u64, agent: u64, profile: AgentProfile) {
        self.send(
            secs,
            Event::AgentLogin {
                agent: AgentId(agent),
                profile,
            },
        );
    }

    fn ready(&mut self, secs: u64, agent: u64) -> Vec<Action> {
        self.send(
            secs,
            Event::AgentReady {
                agent: AgentId(agent),
            },
        )
    }

    fn staff(&mut self, secs: u64, agent: u64, profile: AgentProfile) -> Vec<Action> {
        self.login(secs, agent, profile);
        self.ready(secs, agent)
    }

    fn arrive(&mut self, secs: u64, spec: ContactSpec) -> Vec<Action> {
        self.send(secs, Event::ContactArrived(spec))
    }

    fn accept(&mut self, secs: u64, contact: u64, agent: u64) -> Vec<Action> {
        self.send(
            secs,
            Event::OfferAccepted {
                contact: ContactId(contact),
                agent: AgentId(agent),
            },
        )
    }

    fn end(&mut self, secs: u64, contact: u64) -> Vec<Action> {
        self.send(
            secs,
            Event::ContactEnded {
                contact: ContactId(contact),
            },
        )
    }

    /// Offers, accepts and ends a contact so an agent has handled something.
    fn serve(&mut self, start: u64, contact: u64, agent: u64, talk: u64) {
        let offered = offers(&self.arrive(start, voice(contact)));
        assert_eq!(
            offered,
            vec![(contact, agent)],
            "setup expected {agent} to get {contact}"
        );
        self.accept(start, contact, agent);
        self.end(start + talk, contact);
    }
}

fn phone_agent() -> AgentProfile {
    AgentProfile::new(Capacity::voice_only()).in_queue(SALES)
}

fn voice(id: u64) -> ContactSpec {
    ContactSpec::new(ContactId(id), Channel::Voice, SALES)
}

fn chat(id: u64) -> ContactSpec {
    ContactSpec::new(ContactId(id), Channel::Chat, SALES)
}

fn priority(p: u8) -> Priority {
    Priority::new(p).expect("valid priority")
}

fn level(l: u8) -> SkillLevel {
    SkillLevel::new(l).expect("valid level")
}

fn spanish(min: u8) -> SkillRequirement {
    SkillRequirement {
        skill: SPANISH,
        min_level: level(min),
    }
}

/// (contact, agent) of every offer among the actions.
fn offers(actions: &[Action]) -> Vec<(u64, u64)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Offer { contact, agent, .. } => Some((contact.0, agent.0)),
            _ => None,
        })
        .collect()
}

fn stops(actions: &[Action]) -> Vec<(u64, u64, StopReason)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::StopOffering {
                contact,
                agent,
                reason,
            } => Some((contact.0, agent.0, *reason)),
            _ => None,
        })
        .collect()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

#[test]
fn longest_idle_offers_the_agent_idle_longest() {
    let mut floor = Floor::with_queue(Strategy::LongestIdle);
    floor.staff(10, 1, phone_agent());
    floor.staff(5, 2, phone_agent());
    floor.staff(20, 3, phone_agent());
    assert_eq!(offers(&floor.arrive(30, voice(100))), vec![(100, 2)]);
}

#[test]
fn longest_idle_counts_from_the_end_of_the_last_contact() {
    let mut floor = Floor::with_queue(Strategy::LongestIdle);
    floor.staff(0, 1, phone_agent());
    floor.serve(10, 100, 1, 20);
    floor.staff(15, 2, phone_agent());
    assert_eq!(offers(&floor.arrive(40, voice(101))), vec![(101, 2)]);
}

#[test]
fn round_robin_rotates_through_agents() {
    let mut floor = Floor::with_queue(Strategy::RoundRobin);
    for agent in 1..=3 {
        floor.staff(0, agent, phone_agent());
    }
    let mut order = Vec::new();
    for contact in 100..104 {
        let offered = offers(&floor.arrive(1, voice(contact)));
        let [(_, agent)] = offered[..] else {
            panic!("one offer expected, got {offered:?}");
        };
        order.push(agent);
        floor.accept(1, contact, agent);
        floor.end(2, contact);
    }
    assert_eq!(order, vec![1, 2, 3, 1]);
}

#[test]
fn fewest_contacts_prefers_the_agent_who_handled_fewest() {
    let mut floor = Floor::with_queue(Strategy::FewestContacts);
    floor.staff(0, 1, phone_agent());
    floor.serve(1, 100, 1, 5);
    floor.serve(10, 101, 1, 5);
    floor.staff(20, 2, phone_agent());
    floor.serve(21, 102, 2, 5);
    // Agent 1 has been idle longer but handled two contacts to agent 2's one.
    assert_eq!(offers(&floor.arrive(40, voice(103))), vec![(103, 2)]);
}

#[test]
fn least_talk_time_prefers_the_agent_who_talked_least() {
    let mut floor = Floor::with_queue(Strategy::LeastTalkTime);
    floor.staff(0, 1, phone_agent());
    floor.serve(1, 100, 1, 300);
    floor.staff(310, 2, phone_agent());
    floor.serve(311, 101, 2, 30);
    floor.serve(342, 102, 2, 30);
    assert_eq!(offers(&floor.arrive(400, voice(103))), vec![(103, 2)]);
}

#[test]
fn ring_all_offers_everyone_and_stops_the_losers() {
    let mut floor = Floor::with_queue(Strategy::RingAll);
    for agent in 1..=3 {
        floor.staff(0, agent, phone_agent());
    }
    assert_eq!(
        offers(&floor.arrive(1, voice(100))),
        vec![(100, 1), (100, 2), (100, 3)]
    );
    let actions = floor.accept(3, 100, 2);
    assert_eq!(
        stops(&actions),
        vec![
            (100, 1, StopReason::AnsweredElsewhere),
            (100, 3, StopReason::AnsweredElsewhere)
        ]
    );
    assert!(actions.contains(&Action::Assigned {
        contact: ContactId(100),
        agent: AgentId(2),
        queue: SALES,
        waited: secs(2),
    }));
    assert_eq!(floor.acd.agent_state(AgentId(1)), AgentState::Ready);
    assert_eq!(floor.acd.agent_state(AgentId(2)), AgentState::Busy);
}

#[test]
fn ring_all_returns_to_line_only_when_every_ringing_agent_let_go() {
    let mut floor = Floor::with_queue(Strategy::RingAll);
    floor.staff(0, 1, phone_agent());
    floor.staff(0, 2, phone_agent());
    floor.arrive(1, voice(100));
    let declined = floor.send(
        2,
        Event::OfferDeclined {
            contact: ContactId(100),
            agent: AgentId(1),
        },
    );
    assert!(offers(&declined).is_empty(), "agent 2 is still ringing");
    let accepted = floor.accept(3, 100, 2);
    assert!(stops(&accepted).is_empty(), "agent 1 already let go");
    assert!(
        accepted
            .iter()
            .any(|a| matches!(a, Action::Assigned { .. }))
    );
}

#[test]
fn top_down_always_starts_from_the_first_agent() {
    let mut floor = Floor::with_queue(Strategy::TopDown);
    for agent in [3, 1, 2] {
        floor.staff(0, agent, phone_agent());
    }
    floor.serve(1, 100, 1, 5);
    floor.serve(10, 101, 1, 5);
    floor.arrive(20, voice(102));
    assert_eq!(offers(&floor.arrive(20, voice(103))), vec![(103, 2)]);
}

#[test]
fn random_strategy_is_replayable_from_the_seed() {
    let run = |seed| {
        let mut floor = Floor::with_queue(Strategy::Random);
        floor.acd = Acd::new(seed);
        floor.queue(SALES, QueueConfig::new(Strategy::Random));
        for agent in 1..=5 {
            floor.staff(0, agent, phone_agent());
        }
        (100..105)
            .flat_map(|c| offers(&floor.arrive(1, voice(c))))
            .map(|(_, agent)| agent)
            .collect::<Vec<_>>()
    };
    let first = run(9);
    assert_eq!(first, run(9));
    let mut sorted = first.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, vec![1, 2, 3, 4, 5], "five contacts, five agents");
    assert!(
        (0..20).any(|seed| run(seed) != first),
        "other seeds spread differently"
    );
}

#[test]
fn skills_best_match_prefers_higher_levels() {
    let mut floor = Floor::with_queue(Strategy::SkillsBestMatch);
    floor.staff(0, 1, phone_agent().with_skill(SPANISH, level(4)));
    floor.staff(5, 2, phone_agent().with_skill(SPANISH, level(9)));
    floor.staff(0, 3, phone_agent().with_skill(SPANISH, level(6)));
    let contact = voice(100).with_skill(spanish(2));
    assert_eq!(offers(&floor.arrive(10, contact)), vec![(100, 2)]);
}

#[test]
fn contact_needing_a_skill_waits_for_a_qualified_agent() {
    let mut floor = Floor::with_queue(Strategy::LongestIdle);
    floor.staff(0, 1, phone_agent().with_skill(SPANISH, level(3)));
    assert!(offers(&floor.arrive(1, voice(100).with_skill(spanish(5)))).is_empty());
    let actions = floor.staff(2, 2, phone_agent().with_skill(SPANISH, level(5)));
    assert_eq!(offers(&actions), vec![(100, 2)]);
}

#[test]
fn chat_capacity_allows_five_concurrent_chats() {
    let mut floor = Floor::with_queue(Strategy::LongestIdle);
    floor.staff(
        0,
        1,
        AgentProfile::new(Capacity::none().with(Channel::Chat, 5)).in_queue(SALES),
    );
    for contact in 100..106 {
        floor.arrive(1, chat(contact));
    }
    for contact in 100..104 {
        floor.accept(2, contact, 1);
    }
    let metrics = floor.acd.queue_metrics(SALES, floor.at(2)).expect("queue");
    assert_eq!(metrics.waiting, 2, "the fifth is ringing, the sixth waits");
    let actions = floor.end(3, 100);
    assert_eq!(offers(&actions), vec![(105, 1)]);
}

#[test]
fn voice_call_blocks_chat_offers_when_configured() {
    let mut floor = Floor::with_queue(Strategy::LongestIdle);
    let mut blended =
        AgentProfile::new(Capacity::voice_only().with(Channel::Chat, 3)).in_queue(SALES);
    blended.voice_blocks_other_channels = true;
    floor.staff(0, 1, blended);
    floor.arrive(1, voice(100));
    floor.accept(2, 100, 1);
    assert!(offers(&floor.arrive(3, chat(101))).is_empty());
    assert_eq!(offers(&floor.end(60, 100)), vec![(101, 1)]);
}

#[test]
fn chats_keep_flowing_during_a_call_when_not_blocked() {
    let mut floor = Floor::with_queue(Strategy::LongestIdle);
    let blended = AgentProfile::new(Capacity::voice_only().with(Channel::Chat, 3)).in_queue(SALES);
    floor.staff(0, 1, blended);
    floor.arrive(1, voice(100));
    floor.accept(2, 100, 1);
    assert_eq!(offers(&floor.arrive(3, chat(101))), vec![(101, 1)]);
    assert!(
        offers(&floor.arrive(3, voice(102))).is_empty(),
        "voice capacity is one"
    );
}

fn sticky_floor(window: u64) -> Floor {
    let mut floor = Floor::new();
    let mut config = QueueConfig::new(Strategy::LongestIdle);
    config.sticky_window = Some(secs(window));
    floor.queue(SALES, config);
    floor.staff(0, 1, phone_agent());
    floor.staff(0, 2, phone_agent());
    let alice = voice(100).with_customer(CustomerId("alice".into()));
    assert_eq!(offers(&floor.arrive(1, alice)), vec![(100, 1)]);
    floor.accept(1, 100, 1);
    floor.end(100, 100);
    floor
}

#[test]
fn sticky_agent_wins_within_window() {
    let mut floor = sticky_floor(30);
    // Agent 2 has been idle longer, but Alice comes back to agent 1.
    let again = voice(101).with_customer(CustomerId("alice".into()));
    assert_eq!(offers(&floor.arrive(200, again)), vec![(101, 1)]);
}

#[test]
fn sticky_contact_waits_for_its_agent_until_the_window_closes() {
    let mut floor = sticky_floor(30);
    floor.send(
        150,
        Event::AgentNotReady {
            agent: AgentId(1),
            reason: ReasonCode::new("lunch"),
        },
    );
    let again = voice(101).with_customer(CustomerId("alice".into()));
    assert!(offers(&floor.arrive(200, again)).is_empty());
    assert!(offers(&floor.run_until(229)).is_empty());
    assert_eq!(offers(&floor.run_until(230)), vec![(101, 2)]);
}

#[test]
fn a_contact_for_an_agent_waits_for_them_then_goes_to_the_queue() {
    let mut floor = Floor::new();
    floor.queue(SALES, QueueConfig::new(Strategy::LongestIdle));
    floor.staff(0, 1, phone_agent());
    floor.staff(1, 2, phone_agent());
    // Agent 1 has been idle longer, but the contact is for agent 2.
    let for_two = voice(100).for_agent(AgentId(2), secs(30));
    assert_eq!(offers(&floor.arrive(10, for_two)), vec![(100, 2)]);
    let declined = floor.send(
        11,
        Event::OfferDeclined {
            contact: ContactId(100),
            agent: AgentId(2),
        },
    );
    assert_eq!(offers(&declined), vec![(100, 1)], "declined: the queue's");
    floor.accept(12, 100, 1);
    // Agent 2 away: the next contact for them waits until its time is up,
    // even once agent 1 is free.
    floor.send(
        20,
        Event::AgentNotReady {
            agent: AgentId(2),
            reason: ReasonCode::new("lunch"),
        },
    );
    let waiting = voice(101).for_agent(AgentId(2), secs(30));
    assert!(offers(&floor.arrive(21, waiting)).is_empty());
    assert!(offers(&floor.end(30, 100)).is_empty(), "waits for agent 2");
    assert!(offers(&floor.run_until(50)).is_empty());
    assert_eq!(offers(&floor.run_until(51)), vec![(101, 1)]);
}

#[test]
fn other_customers_are_not_sticky() {
    let mut floor = sticky_floor(30);
    let bob = voice(101).with_customer(CustomerId("bob".into()));
    assert_eq!(offers(&floor.arrive(200, bob)), vec![(101, 2)]);
}

fn tiered_floor() -> Floor {
    let mut floor = Floor::new();
    let mut config = QueueConfig::new(Strategy::LongestIdle);
    config.tiers = TierPolicy::Progressive { step: secs(30) };
    floor.queue(SALES, config);
    let tier = |tier| Membership { tier, penalty: 0 };
    floor.staff(
        0,
        1,
        AgentProfile::new(Capacity::voice_only()).in_queue_as(SALES, tier(1)),
    );
    floor.staff(
        0,
        2,
        AgentProfile::new(Capacity::voice_only()).in_queue_as(SALES, tier(2)),
    );
    floor
}

#[test]
fn overflow_unlocks_tier_two_after_30s() {
    let mut floor = tiered_floor();
    floor.arrive(1, voice(100));
    floor.accept(2, 100, 1);
    assert!(offers(&floor.arrive(10, voice(101))).is_empty());
    assert_eq!(floor.acd.poll_timeout(), Some(floor.at(40)));
    assert!(offers(&floor.run_until(39)).is_empty());
    assert_eq!(offers(&floor.run_until(40)), vec![(101, 2)]);
}

#[test]
fn lower_tier_is_preferred_even_over_a_longer_idle_agent() {
    let mut floor = Floor::with_queue(Strategy::LongestIdle);
    let tier = |tier| Membership { tier, penalty: 0 };
    floor.staff(
        0,
        2,
        AgentProfile::new(Capacity::voice_only()).in_queue_as(SALES, tier(2)),
    );
    floor.staff(
        5,
        1,
        AgentProfile::new(Capacity::voice_only()).in_queue_as(SALES, tier(1)),
    );
    assert_eq!(offers(&floor.arrive(10, voice(100))), vec![(100, 1)]);
}

#[test]
fn lower_penalty_is_preferred_within_a_tier() {
    let mut floor = Floor::with_queue(Strategy::LongestIdle);
    let penalty = |penalty| Membership { tier: 1, penalty };
    floor.staff(
        0,
        1,
        AgentProfile::new(Capacity::voice_only()).in_queue_as(SALES, penalty(5)),
    );
    floor.staff(
        5,
        2,
        AgentProfile::new(Capacity::voice_only()).in_queue_as(SALES, penalty(0)),
    );
    assert_eq!(offers(&floor.arrive(10, voice(100))), vec![(100, 2)]);
}

#[test]
fn overflow_moves_the_contact_to_another_queue() {
    let mut floor = Floor::new();
    let mut sales = QueueConfig::new(Strategy::LongestIdle);
    sales.overflow = Some(Overflow {
        after: secs(60),
        to: SUPPORT,
    });
    floor.queue(SALES, sales);
    floor.queue(SUPPORT, QueueConfig::new(Strategy::LongestIdle));
    floor.staff(
        0,
        9,
        AgentProfile::new(Capacity::voice_only()).in_queue(SUPPORT),
    );
    floor.send(
        0,
        Event::AgentNotReady {
            agent: AgentId(9),
            reason: ReasonCode::new("busy"),
        },
    );
    floor.arrive(1, voice(100));
    let actions = floor.run_until(61);
    assert!(actions.contains(&Action::Overflow {
        contact: ContactId(100),
        from: SALES,
        to: SUPPORT
    }));
    assert_eq!(
        floor.acd.contact(ContactId(100)).map(|c| c.queue),
        Some(SUPPORT)
    );
    assert_eq!(offers(&floor.ready(70, 9)), vec![(100, 9)]);
    let sales = floor.acd.queue_metrics(SALES, floor.at(70)).expect("sales");
    assert_eq!((sales.offered, sales.overflowed, sales.waiting), (1, 1, 0));
}

#[test]
fn overflow_to_a_queue_the_engine_does_not_have_hands_the_contact_out() {
    let mut floor = Floor::new();
    let mut sales = QueueConfig::new(Strategy::LongestIdle);
    sales.overflow = Some(Overflow {
        after: secs(60),
        to: QueueId(99),
    });
    floor.queue(SALES, sales);
    floor.arrive(1, voice(100));
    let actions = floor.run_until(61);
    assert!(actions.contains(&Action::Overflow {
        contact: ContactId(100),
        from: SALES,
        to: QueueId(99)
    }));
    assert_eq!(floor.acd.contact(ContactId(100)), None);
}

#[test]
fn no_answer_reoffers_to_next_agent_and_pauses_after_three() {
    let mut floor = Floor::with_queue(Strategy::TopDown);
    let mut sleepy = phone_agent();
    sleepy.max_no_answers = Some(3);
    floor.staff(0, 1, sleepy);
    floor.staff(0, 2, phone_agent());
    for (round, contact) in (100..103).enumerate() {
        let start = round as u64 * 100;
        assert_eq!(
            offers(&floor.arrive(start, voice(contact))),
            vec![(contact, 1)]
        );
        let actions = floor.run_until(start + 20);
        assert_eq!(stops(&actions), vec![(contact, 1, StopReason::NoAnswer)]);
        assert_eq!(
            offers(&actions),
            vec![(contact, 2)],
            "re-offered to the next agent"
        );
        floor.accept(start + 21, contact, 2);
        floor.end(start + 30, contact);
        let paused = actions.contains(&Action::AgentAutoPaused {
            agent: AgentId(1),
            no_answers: 3,
        });
        assert_eq!(paused, round == 2, "round {round}");
    }
    assert_eq!(
        floor.acd.agent_state(AgentId(1)),
        AgentState::NotReady(ReasonCode::no_answer())
    );
    assert_eq!(offers(&floor.arrive(400, voice(103))), vec![(103, 2)]);
    let metrics = floor
        .acd
        .agent_metrics(AgentId(1), floor.at(400))
        .expect("agent");
    assert_eq!(metrics.no_answers, 3);
}

#[test]
fn answering_resets_the_no_answer_count() {
    let mut floor = Floor::with_queue(Strategy::TopDown);
    let mut agent = phone_agent();
    agent.max_no_answers = Some(2);
    floor.staff(0, 1, agent);
    floor.arrive(0, voice(100));
    floor.run_until(20);
    floor.accept(21, 100, 1);
    floor.end(30, 100);
    floor.arrive(40, voice(101));
    let actions = floor.run_until(60);
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::AgentAutoPaused { .. }))
    );
}

#[test]
fn declined_offer_goes_to_next_agent() {
    let mut floor = Floor::with_queue(Strategy::TopDown);
    floor.staff(0, 1, phone_agent());
    floor.staff(0, 2, phone_agent());
    floor.arrive(1, voice(100));
    let actions = floor.send(
        2,
        Event::OfferDeclined {
            contact: ContactId(100),
            agent: AgentId(1),
        },
    );
    assert_eq!(offers(&actions), vec![(100, 2)]);
    assert!(stops(&actions).is_empty(), "the agent who declined knows");
}

#[test]
fn reported_ring_timeout_counts_as_no_answer_without_a_stop() {
    let mut floor = Floor::with_queue(Strategy::TopDown);
    floor.staff(0, 1, phone_agent());
    floor.staff(0, 2, phone_agent());
    floor.arrive(1, voice(100));
    let actions = floor.send(
        5,
        Event::OfferTimedOut {
            contact: ContactId(100),
            agent: AgentId(1),
        },
    );
    assert_eq!(offers(&actions), vec![(100, 2)]);
    assert!(stops(&actions).is_empty());
    let metrics = floor
        .acd
        .agent_metrics(AgentId(1), floor.at(5))
        .expect("agent");
    assert_eq!(metrics.no_answers, 1);
}

#[test]
fn priority_caller_overtakes_those_waiting() {
    let mut floor = Floor::with_queue(Strategy::LongestIdle);
    floor.login(0, 1, phone_agent());
    floor.arrive(1, voice(100));
    floor.arrive(2, voice(101).with_priority(priority(5)));
    floor.arrive(3, voice(102).with_priority(priority(9)));
    floor.arrive(4, voice(103).with_priority(priority(5)));
    assert_eq!(floor.acd.position(ContactId(102)).map(|p| p.0), Some(1));
    assert_eq!(floor.acd.position(ContactId(100)).map(|p| p.0), Some(4));
    let mut served = Vec::new();
    let mut actions = floor.ready(10, 1);
    for step in 0..4 {
        let [(contact, _)] = offers(&actions)[..] else {
            panic!("one offer expected, got {actions:?}");
        };
        served.push(contact);
        floor.accept(20 + step, contact, 1);
        actions = floor.end(30 + step, contact);
    }
    assert_eq!(served, vec![102, 101, 103, 100]);
}

#[test]
fn max_wait_sends_the_contact_to_the_timeout_target() {
    let mut floor = Floor::new();
    let mut config = QueueConfig::new(Strategy::LongestIdle);
    config.max_wait = Some(secs(120));
    config.timeout_target = TimeoutTarget::Voicemail("sales-vm".into());
    floor.queue(SALES, config);
    floor.arrive(0, voice(100));
    assert_eq!(floor.acd.poll_timeout(), Some(floor.at(120)));
    let actions = floor.run_until(200);
    assert!(actions.contains(&Action::QueueTimeout {
        contact: ContactId(100),
        queue: SALES,
        reason: QueueExit::MaxWait,
        target: TimeoutTarget::Voicemail("sales-vm".into()),
    }));
    assert!(actions.contains(&Action::Metric(MetricEvent::TimedOut {
        queue: SALES,
        contact: ContactId(100),
        reason: QueueExit::MaxWait,
        wait: secs(120),
    })));
    assert_eq!(floor.acd.contact(ContactId(100)), None);
}

#[test]
fn max_wait_lets_a_ringing_offer_finish_first() {
    let mut floor = Floor::new();
    let mut config = QueueConfig::new(Strategy::LongestIdle);
    config.max_wait = Some(secs(10));
    floor.queue(SALES, config);
    floor.staff(0, 1, phone_agent());
    floor.arrive(0, voice(100));
    assert!(floor.run_until(15).is_empty(), "still ringing");
    floor.accept(15, 100, 1);
    assert_eq!(floor.acd.agent_state(AgentId(1)), AgentState::Busy);
}

#[test]
fn full_queue_refuses_arrivals() {
    let mut floor = Floor::new();
    let mut config = QueueConfig::new(Strategy::LongestIdle);
    config.max_size = Some(2);
    config.timeout_target = TimeoutTarget::Callback;
    floor.queue(SALES, config);
    floor.arrive(0, voice(100));
    floor.arrive(0, voice(101));
    let actions = floor.arrive(0, voice(102));
    assert!(actions.contains(&Action::QueueTimeout {
        contact: ContactId(102),
        queue: SALES,
        reason: QueueExit::Full,
        target: TimeoutTarget::Callback,
    }));
    assert_eq!(floor.acd.position(ContactId(102)), None);
}

#[test]
fn join_when_empty_off_refuses_contacts_nobody_could_serve() {
    let mut floor = Floor::new();
    let mut config = QueueConfig::new(Strategy::LongestIdle);
    config.join_when_empty = false;
    config.timeout_target = TimeoutTarget::Flow("after-hours".into());
    floor.queue(SALES, config);
    let actions = floor.arrive(0, voice(100));
    assert!(matches!(
        actions.as_slice(),
        [
            Action::Metric(MetricEvent::Offered { .. }),
            Action::QueueTimeout {
                reason: QueueExit::NoAgents,
                ..
            },
            Action::Metric(MetricEvent::TimedOut { .. })
        ]
    ));
    floor.login(1, 1, phone_agent());
    let actions = floor.arrive(2, voice(101));
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::QueueTimeout { .. })),
        "a not-ready agent still staffs the queue"
    );
}

#[test]
fn a_closed_queue_turns_new_contacts_away_but_serves_those_waiting() {
    let mut floor = Floor::new();
    let mut config = QueueConfig::new(Strategy::LongestIdle);
    config.timeout_target = TimeoutTarget::Voicemail("after-hours".into());
    floor.queue(SALES, config.clone());
    floor.login(0, 1, phone_agent());
    floor.arrive(1, voice(100));
    config.open = false;
    floor.queue(SALES, config);
    let actions = floor.arrive(2, voice(101));
    assert!(actions.contains(&Action::QueueTimeout {
        contact: ContactId(101),
        queue: SALES,
        reason: QueueExit::Closed,
        target: TimeoutTarget::Voicemail("after-hours".into()),
    }));
    assert_eq!(offers(&floor.ready(3, 1)), vec![(100, 1)]);
}

#[test]
fn chats_ending_together_end_one_wrap_up_on_time() {
    let mut floor = Floor::new();
    let mut config = QueueConfig::new(Strategy::LongestIdle);
    config.wrap_up = secs(10);
    floor.queue(SALES, config);
    let chatter = AgentProfile::new(Capacity::none().with(Channel::Chat, 2)).in_queue(SALES);
    floor.staff(0, 1, chatter);
    floor.arrive(1, chat(100));
    floor.arrive(1, chat(101));
    floor.accept(2, 100, 1);
    floor.accept(2, 101, 1);
    floor.end(30, 100);
    floor.end(30, 101);
    assert_eq!(
        floor.acd.agent_state(AgentId(1)),
        AgentState::WrapUp {
            until: floor.at(40)
        }
    );
    assert_eq!(floor.acd.poll_timeout(), Some(floor.at(40)));
    floor.run_until(40);
    assert_eq!(floor.acd.agent_state(AgentId(1)), AgentState::Ready);
}

#[test]
fn leave_when_empty_sends_waiting_contacts_away_when_the_last_agent_logs_out() {
    let mut floor = Floor::new();
    let mut config = QueueConfig::new(Strategy::LongestIdle);
    config.leave_when_empty = true;
    floor.queue(SALES, config);
    floor.login(0, 1, phone_agent());
    floor.arrive(1, voice(100));
    let actions = floor.send(5, Event::AgentLogout { agent: AgentId(1) });
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::QueueTimeout {
            contact: ContactId(100),
            reason: QueueExit::NoAgents,
            ..
        }
    )));
}

#[test]
fn wrap_up_delays_the_next_offer() {
    let mut floor = Floor::new();
    let mut config = QueueConfig::new(Strategy::LongestIdle);
    config.wrap_up = secs(30);
    floor.queue(SALES, config);
    floor.staff(0, 1, phone_agent());
    floor.serve(0, 100, 1, 60);
    assert_eq!(
        floor.acd.agent_state(AgentId(1)),
        AgentState::WrapUp {
            until: floor.at(90)
        }
    );
    assert!(offers(&floor.arrive(70, voice(101))).is_empty());
    assert_eq!(floor.acd.poll_timeout(), Some(floor.at(90)));
    assert_eq!(offers(&floor.run_until(90)), vec![(101, 1)]);
    let metrics = floor
        .acd
        .agent_metrics(AgentId(1), floor.at(90))
        .expect("agent");
    assert_eq!(metrics.wrap_up_time, secs(30));
}

#[test]
fn wrap_up_done_ends_wrap_up_early() {
    let mut floor = Floor::new();
    let mut config = QueueConfig::new(Strategy::LongestIdle);
    config.wrap_up = secs(30);
    floor.queue(SALES, config);
    floor.staff(0, 1, phone_agent());
    floor.serve(0, 100, 1, 60);
    floor.arrive(65, voice(101));
    let actions = floor.send(70, Event::WrapUpDone { agent: AgentId(1) });
    assert_eq!(offers(&actions), vec![(101, 1)]);
    assert_eq!(
        floor.try_send(71, Event::WrapUpDone { agent: AgentId(1) }),
        Err(AcdError::NotInWrapUp(AgentId(1)))
    );
}

#[test]
fn caller_abandoning_while_ringing_stops_the_offer_and_counts_the_wait() {
    let mut floor = Floor::with_queue(Strategy::LongestIdle);
    floor.staff(0, 1, phone_agent());
    floor.arrive(10, voice(100));
    let actions = floor.send(
        25,
        Event::ContactAbandoned {
            contact: ContactId(100),
        },
    );
    assert_eq!(stops(&actions), vec![(100, 1, StopReason::Abandoned)]);
    assert!(actions.contains(&Action::Metric(MetricEvent::Abandoned {
        queue: SALES,
        contact: ContactId(100),
        wait: secs(15),
    })));
    assert_eq!(floor.acd.agent_state(AgentId(1)), AgentState::Ready);
    let metrics = floor.acd.queue_metrics(SALES, floor.at(25)).expect("queue");
    assert_eq!((metrics.abandoned, metrics.waiting), (1, 0));
    assert_eq!(metrics.average_abandon_wait, secs(15));
}

#[test]
fn position_and_expected_wait_follow_the_line_and_handle_times() {
    let mut floor = Floor::new();
    let mut config = QueueConfig::new(Strategy::LongestIdle);
    config.expected_handle_time = secs(100);
    floor.queue(SALES, config);
    floor.login(0, 1, phone_agent());
    floor.login(0, 2, phone_agent());
    floor.arrive(1, voice(100));
    floor.arrive(2, voice(101));
    floor.arrive(3, voice(102));
    // Logged-in agents who are not ready do not count as staffed; assume one.
    assert_eq!(floor.acd.position(ContactId(102)), Some((3, secs(300))));
    floor.ready(4, 1);
    floor.accept(4, 100, 1);
    floor.end(64, 100);
    floor.send(
        64,
        Event::AgentNotReady {
            agent: AgentId(1),
            reason: ReasonCode::new("x"),
        },
    );
    floor.ready(64, 1);
    floor.ready(64, 2);
    // Now 101 and 102 ring; a new contact is third in line behind them.
    floor.arrive(65, voice(103));
    assert_eq!(floor.acd.position(ContactId(103)), Some((3, secs(90))));
}

#[test]
fn announcements_repeat_at_the_configured_interval() {
    let mut floor = Floor::new();
    let mut config = QueueConfig::new(Strategy::LongestIdle);
    config.announce_every = Some(secs(60));
    config.expected_handle_time = secs(120);
    floor.queue(SALES, config);
    floor.arrive(0, voice(100));
    let actions = floor.arrive(0, voice(101));
    assert!(actions.contains(&Action::Announce {
        contact: ContactId(101),
        position: 2,
        expected_wait: secs(240),
    }));
    let later = floor.run_until(120);
    let announced: Vec<u64> = later
        .iter()
        .filter_map(|a| match a {
            Action::Announce { contact, .. } => Some(contact.0),
            _ => None,
        })
        .collect();
    assert_eq!(announced, vec![100, 101, 100, 101]);
}

#[test]
fn queue_metrics_report_service_level_asa_and_aht() {
    let mut floor = Floor::new();
    let mut config = QueueConfig::new(Strategy::LongestIdle);
    config.service_level = secs(20);
    config.wrap_up = secs(10);
    floor.queue(SALES, config);
    floor.staff(0, 1, phone_agent());
    floor.arrive(0, voice(100));
    floor.accept(10, 100, 1);
    floor.end(110, 100);
    floor.arrive(100, voice(101));
    floor.run_until(120);
    floor.accept(130, 101, 1);
    floor.end(190, 101);
    floor.arrive(200, voice(102));
    let metrics = floor
        .acd
        .queue_metrics(SALES, floor.at(205))
        .expect("queue");
    assert_eq!(
        metrics,
        QueueMetrics {
            waiting: 1,
            longest_wait: secs(5),
            offered: 3,
            answered: 2,
            abandoned: 0,
            answered_within_service_level: 1,
            overflowed: 0,
            timed_out: 0,
            average_speed_of_answer: secs(20),
            average_handle_time: secs(90),
            average_abandon_wait: Duration::ZERO,
        }
    );
}

#[test]
fn agent_metrics_report_handled_talk_and_not_ready_by_reason() {
    let mut floor = Floor::with_queue(Strategy::LongestIdle);
    floor.login(0, 1, phone_agent());
    floor.ready(30, 1);
    floor.serve(40, 100, 1, 100);
    floor.send(
        200,
        Event::AgentNotReady {
            agent: AgentId(1),
            reason: ReasonCode::new("lunch"),
        },
    );
    let metrics = floor
        .acd
        .agent_metrics(AgentId(1), floor.at(260))
        .expect("agent");
    assert_eq!(metrics.handled, 1);
    assert_eq!(metrics.talk_time, secs(100));
    assert_eq!(metrics.not_ready_time, secs(90));
    assert_eq!(
        metrics.not_ready_by_reason.get(&ReasonCode::new("lunch")),
        Some(&secs(60))
    );
    floor.send(300, Event::AgentLogout { agent: AgentId(1) });
    let after = floor
        .acd
        .agent_metrics(AgentId(1), floor.at(900))
        .expect("kept after logout");
    assert_eq!(after.not_ready_time, secs(130));
    assert_eq!(after.logged_in_time, secs(300), "counted until logout");
}

#[test]
fn state_changes_are_logged_with_their_cause() {
    let mut floor = Floor::with_queue(Strategy::LongestIdle);
    let mut log = Vec::new();
    let mut record = |actions: Vec<Action>| {
        log.extend(actions.into_iter().filter_map(|a| match a {
            Action::AgentStateChanged { to, cause, .. } => Some((to, cause)),
            _ => None,
        }));
    };
    record(floor.send(
        0,
        Event::AgentLogin {
            agent: AgentId(1),
            profile: phone_agent(),
        },
    ));
    record(floor.ready(1, 1));
    record(floor.arrive(2, voice(100)));
    record(floor.accept(3, 100, 1));
    record(floor.end(4, 100));
    record(floor.send(5, Event::AgentLogout { agent: AgentId(1) }));
    assert_eq!(
        log,
        vec![
            (
                AgentState::NotReady(ReasonCode::logged_in()),
                StateCause::Login
            ),
            (AgentState::Ready, StateCause::Requested),
            (AgentState::Busy, StateCause::Offered),
            (AgentState::Ready, StateCause::ContactEnded),
            (AgentState::LoggedOut, StateCause::Logout),
        ]
    );
}

#[test]
fn logging_out_while_ringing_reroutes_the_contact() {
    let mut floor = Floor::with_queue(Strategy::TopDown);
    floor.staff(0, 1, phone_agent());
    floor.staff(0, 2, phone_agent());
    floor.arrive(1, voice(100));
    let actions = floor.send(2, Event::AgentLogout { agent: AgentId(1) });
    assert_eq!(stops(&actions), vec![(100, 1, StopReason::AgentLoggedOut)]);
    assert_eq!(offers(&actions), vec![(100, 2)]);
}

#[test]
fn an_agent_with_a_contact_cannot_log_out() {
    let mut floor = Floor::with_queue(Strategy::TopDown);
    floor.staff(0, 1, phone_agent());
    floor.arrive(1, voice(100));
    floor.accept(2, 100, 1);
    assert_eq!(
        floor.try_send(3, Event::AgentLogout { agent: AgentId(1) }),
        Err(AcdError::AgentHasContacts(AgentId(1)))
    );
    assert_eq!(floor.acd.agent_state(AgentId(1)), AgentState::Busy);
}

#[test]
fn events_that_do_not_fit_are_refused() {
    let mut floor = Floor::with_queue(Strategy::TopDown);
    floor.staff(0, 1, phone_agent());
    floor.arrive(1, voice(100));
    let refused = |floor: &mut Floor, event| floor.try_send(2, event).err();
    assert_eq!(
        refused(
            &mut floor,
            Event::OfferAccepted {
                contact: ContactId(100),
                agent: AgentId(2)
            }
        ),
        Some(AcdError::NoSuchOffer {
            contact: ContactId(100),
            agent: AgentId(2)
        })
    );
    assert_eq!(
        refused(
            &mut floor,
            Event::ContactEnded {
                contact: ContactId(100)
            }
        ),
        Some(AcdError::ContactNotAssigned(ContactId(100)))
    );
    assert_eq!(
        refused(&mut floor, Event::ContactArrived(voice(100))),
        Some(AcdError::DuplicateContact(ContactId(100)))
    );
    assert_eq!(
        refused(
            &mut floor,
            Event::ContactArrived(ContactSpec::new(ContactId(5), Channel::Sms, QueueId(77)))
        ),
        Some(AcdError::UnknownQueue(QueueId(77)))
    );
    assert_eq!(
        refused(
            &mut floor,
            Event::AgentLogin {
                agent: AgentId(1),
                profile: phone_agent()
            }
        ),
        Some(AcdError::AgentAlreadyLoggedIn(AgentId(1)))
    );
    assert_eq!(
        refused(&mut floor, Event::AgentReady { agent: AgentId(3) }),
        Some(AcdError::AgentNotLoggedIn(AgentId(3)))
    );
    floor.accept(3, 100, 1);
    assert_eq!(
        refused(
            &mut floor,
            Event::ContactAbandoned {
                contact: ContactId(100)
            }
        ),
        Some(AcdError::ContactAssigned(ContactId(100)))
    );
    assert_eq!(
        refused(
            &mut floor,
            Event::ContactEnded {
                contact: ContactId(101)
            }
        ),
        Some(AcdError::UnknownContact(ContactId(101)))
    );
}

#[test]
fn offers_carry_their_deadline_and_poll_timeout_reports_it() {
    let mut floor = Floor::new();
    let mut config = QueueConfig::new(Strategy::LongestIdle);
    config.offer_timeout = secs(15);
    floor.queue(SALES, config);
    floor.staff(0, 1, phone_agent());
    let actions = floor.arrive(5, voice(100));
    assert!(actions.contains(&Action::Offer {
        contact: ContactId(100),
        agent: AgentId(1),
        queue: SALES,
        channel: Channel::Voice,
        deadline: floor.at(20),
    }));
    assert_eq!(floor.acd.poll_timeout(), Some(floor.at(20)));
}

#[test]
fn listings_show_agents_queues_and_lines() {
    let mut floor = Floor::with_queue(Strategy::LongestIdle);
    floor.queue(SUPPORT, QueueConfig::new(Strategy::RingAll));
    floor.login(0, 1, phone_agent());
    floor.staff(0, 2, phone_agent());
    floor.send(
        0,
        Event::AgentNotReady {
            agent: AgentId(2),
            reason: ReasonCode::new("x"),
        },
    );
    floor.arrive(1, voice(100));
    floor.arrive(2, voice(101).with_priority(priority(3)));
    let agents: Vec<(AgentId, AgentState)> = floor.acd.agents().collect();
    assert_eq!(
        agents,
        vec![
            (AgentId(1), AgentState::NotReady(ReasonCode::logged_in())),
            (AgentId(2), AgentState::NotReady(ReasonCode::new("x"))),
        ]
    );
    let queues: Vec<(QueueId, Strategy)> =
        floor.acd.queues().map(|(id, c)| (id, c.strategy)).collect();
    assert_eq!(
        queues,
        vec![(SALES, Strategy::LongestIdle), (SUPPORT, Strategy::RingAll)]
    );
    let line: Vec<ContactId> = floor.acd.line(SALES).collect();
    assert_eq!(line, vec![ContactId(101), ContactId(100)]);
    assert_eq!(floor.acd.line(QueueId(9)).count(), 0);
}

#[test]
fn an_idle_engine_schedules_nothing() {
    let mut floor = Floor::with_queue(Strategy::LongestIdle);
    floor.staff(0, 1, phone_agent());
    assert_eq!(floor.acd.poll_timeout(), None);
}

#[test]
fn a_zero_offer_timeout_still_expires_and_reoffers() {
    let mut floor = Floor::new();
    let mut config = QueueConfig::new(Strategy::TopDown);
    config.offer_timeout = Duration::ZERO;
    floor.queue(SALES, config);
    floor.staff(0, 1, phone_agent());
    floor.staff(0, 2, phone_agent());
    floor.arrive(1, voice(100));
    let next = floor.acd.poll_timeout().expect("the offer is timed");
    assert_eq!(next, floor.at(1) + Duration::from_millis(1));
    floor
        .acd
        .handle(next, Event::Timeout)
        .expect("timeout accepted");
    let actions = floor.drain();
    assert_eq!(stops(&actions), vec![(100, 1, StopReason::NoAnswer)]);
    assert_eq!(offers(&actions), vec![(100, 2)]);
}

#[test]
fn a_zero_announcement_interval_announces_once() {
    let mut floor = Floor::new();
    let mut config = QueueConfig::new(Strategy::LongestIdle);
    config.announce_every = Some(Duration::ZERO);
    floor.queue(SALES, config);
    let first = floor.arrive(0, voice(100));
    assert_eq!(
        first
            .iter()
            .filter(|a| matches!(a, Action::Announce { .. }))
            .count(),
        1
    );
    assert_eq!(floor.acd.poll_timeout(), None);
    assert!(floor.run_until(100).is_empty());
}

#[test]
fn contacts_of_other_channels_do_not_block_the_line() {
    let mut floor = Floor::with_queue(Strategy::LongestIdle);
    for contact in 100..110 {
        floor.arrive(0, voice(contact).with_priority(priority(9)));
    }
    floor.arrive(1, chat(200));
    let chatter = AgentProfile::new(Capacity::none().with(Channel::Chat, 2)).in_queue(SALES);
    assert_eq!(offers(&floor.staff(2, 1, chatter)), vec![(200, 1)]);
}

#[test]
fn a_callback_keeps_its_place_without_announcements_or_max_wait() {
    let mut floor = Floor::new();
    let mut config = QueueConfig::new(Strategy::LongestIdle);
    config.announce_every = Some(secs(30));
    config.max_wait = Some(secs(120));
    floor.queue(SALES, config);
    floor.arrive(0, voice(100));
    floor.arrive(5, voice(101));
    let actions = floor.send(
        10,
        Event::CallbackRequested {
            contact: ContactId(100),
        },
    );
    assert!(
        actions.contains(&Action::Metric(MetricEvent::CallbackRequested {
            queue: SALES,
            contact: ContactId(100),
        }))
    );
    let later = floor.run_until(200);
    let about_100 = |a: &&Action| match a {
        Action::Announce { contact, .. } | Action::QueueTimeout { contact, .. } => {
            *contact == ContactId(100)
        }
        _ => false,
    };
    assert_eq!(later.iter().filter(about_100).count(), 0);
    assert!(later.iter().any(|a| matches!(
        a,
        Action::QueueTimeout {
            contact: ContactId(101),
            ..
        }
    )));
    assert_eq!(floor.acd.position(ContactId(100)).map(|p| p.0), Some(1));
    assert_eq!(offers(&floor.staff(300, 1, phone_agent())), vec![(100, 1)]);
    floor.accept(301, 100, 1);
    assert_eq!(
        floor.try_send(
            302,
            Event::CallbackRequested {
                contact: ContactId(100)
            }
        ),
        Err(AcdError::ContactAssigned(ContactId(100)))
    );
}

#[test]
fn an_agent_in_two_queues_gets_the_higher_priority_contact_of_either() {
    let mut floor = Floor::with_queue(Strategy::LongestIdle);
    floor.queue(SUPPORT, QueueConfig::new(Strategy::LongestIdle));
    floor.arrive(0, voice(100));
    floor.arrive(
        1,
        ContactSpec::new(ContactId(200), Channel::Voice, SUPPORT).with_priority(priority(4)),
    );
    floor.arrive(2, voice(101));
    let both = phone_agent().in_queue(SUPPORT);
    assert_eq!(offers(&floor.staff(3, 1, both)), vec![(200, 1)]);
}

#[test]
fn an_overflowed_contact_keeps_its_place_in_line() {
    let mut floor = Floor::new();
    let mut sales = QueueConfig::new(Strategy::LongestIdle);
    sales.overflow = Some(Overflow {
        after: secs(30),
        to: SUPPORT,
    });
    floor.queue(SALES, sales);
    floor.queue(SUPPORT, QueueConfig::new(Strategy::LongestIdle));
    floor.arrive(0, voice(100));
    floor.arrive(
        10,
        ContactSpec::new(ContactId(200), Channel::Voice, SUPPORT),
    );
    floor.run_until(30);
    let line: Vec<ContactId> = floor.acd.line(SUPPORT).collect();
    assert_eq!(
        line,
        vec![ContactId(100), ContactId(200)],
        "it arrived first"
    );
    assert_eq!(floor.acd.position(ContactId(200)).map(|p| p.0), Some(2));
}

#[test]
fn a_new_skill_routes_a_contact_that_was_waiting_for_it() {
    let mut floor = Floor::with_queue(Strategy::LongestIdle);
    floor.staff(0, 1, phone_agent());
    floor.arrive(1, voice(100).with_skill(spanish(3)));
    let learned = phone_agent().with_skill(SPANISH, level(4));
    let actions = floor.send(
        2,
        Event::AgentConfigChanged {
            agent: AgentId(1),
            profile: learned,
        },
    );
    assert_eq!(offers(&actions), vec![(100, 1)]);
}

#[test]
fn leave_when_empty_keeps_contacts_while_an_agent_is_only_not_ready() {
    let mut floor = Floor::new();
    let mut config = QueueConfig::new(Strategy::LongestIdle);
    config.leave_when_empty = true;
    floor.queue(SALES, config);
    floor.staff(0, 1, phone_agent());
    floor.send(
        0,
        Event::AgentNotReady {
            agent: AgentId(1),
            reason: ReasonCode::new("break"),
        },
    );
    floor.arrive(1, voice(100));
    floor.login(2, 2, phone_agent());
    let actions = floor.send(3, Event::AgentLogout { agent: AgentId(2) });
    assert!(
        !actions
            .iter()
            .any(|a| matches!(a, Action::QueueTimeout { .. }))
    );
    assert_eq!(floor.acd.position(ContactId(100)).map(|p| p.0), Some(1));
}

#[test]
fn ring_all_ringing_out_counts_a_no_answer_for_every_agent() {
    let mut floor = Floor::with_queue(Strategy::RingAll);
    floor.staff(0, 1, phone_agent());
    floor.staff(0, 2, phone_agent());
    floor.arrive(0, voice(100));
    let actions = floor.run_until(20);
    assert_eq!(
        stops(&actions),
        vec![
            (100, 1, StopReason::NoAnswer),
            (100, 2, StopReason::NoAnswer)
        ]
    );
    assert_eq!(
        offers(&actions),
        vec![(100, 1), (100, 2)],
        "and rings them all again"
    );
    for agent in [1, 2] {
        let metrics = floor
            .acd
            .agent_metrics(AgentId(agent), floor.at(20))
            .expect("agent");
        assert_eq!(metrics.no_answers, 1);
    }
}

#[test]
fn the_sticky_agent_is_remembered_across_queues() {
    let mut floor = Floor::new();
    let mut sticky = QueueConfig::new(Strategy::LongestIdle);
    sticky.sticky_window = Some(secs(30));
    floor.queue(SALES, QueueConfig::new(Strategy::LongestIdle));
    floor.queue(SUPPORT, sticky);
    let both = || phone_agent().in_queue(SUPPORT);
    floor.staff(0, 1, both());
    floor.staff(5, 2, both());
    let alice = || CustomerId("alice".into());
    floor.serve(10, 100, 1, 10);
    // Served by agent 1 in sales without a customer; now again as Alice.
    let first = voice(101).with_customer(alice());
    assert_eq!(offers(&floor.arrive(30, first)), vec![(101, 2)]);
    floor.accept(30, 101, 2);
    floor.end(40, 101);
    let again = ContactSpec::new(ContactId(102), Channel::Voice, SUPPORT).with_customer(alice());
    assert_eq!(
        offers(&floor.arrive(50, again)),
        vec![(102, 2)],
        "agent 1 idles longer"
    );
}

#[test]
fn a_declined_contact_goes_back_to_the_same_agent_when_nobody_else_can_take_it() {
    let mut floor = Floor::with_queue(Strategy::LongestIdle);
    floor.staff(0, 1, phone_agent());
    floor.arrive(1, voice(100));
    let actions = floor.send(
        2,
        Event::OfferDeclined {
            contact: ContactId(100),
            agent: AgentId(1),
        },
    );
    assert_eq!(offers(&actions), vec![(100, 1)]);
}
