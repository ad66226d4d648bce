//! Routing cost of the engine on a mid-size floor: 500 agents (voice 1, chat 3,
//! one of four queues, a skill level each) and 1000 contacts.
//!
//! - `route_1000_contacts_over_500_agents`: contacts arrive one by one on a floor
//!   of ready agents; every offer is accepted and every assigned contact ends at
//!   once, so each arrival is one routing decision.
//! - `arrival_with_1000_waiting`: one arrival and its abandon while 1000 contacts
//!   wait and every agent is busy (the cost of an event at that queue size).
//! - `agent_frees_up_with_1000_waiting`: a busy agent's contact ends and the
//!   engine picks the next of 1000 waiting contacts for them.
//! - `unskilled_free_agent_with_1000_waiting`: an agent is free in the queue
//!   but lacks the skill all 1000 waiting contacts need; an arrival and its
//!   abandon look only at the new contact, not at the line.
//! - `unskilled_agent_frees_up_with_1000_waiting`: the worst case left: that
//!   agent finishes a contact, and the whole line is walked for them.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use kefu_acd::{
    Acd, Action, AgentId, AgentProfile, Capacity, Channel, ContactId, ContactSpec, Event, Priority,
    QueueConfig, QueueId, SkillId, SkillLevel, SkillRequirement, Strategy,
};

const AGENTS: u64 = 500;
const CONTACTS: u64 = 1000;
const QUEUES: u64 = 4;
const SKILL: SkillId = SkillId(1);

fn floor(t0: Instant, ready: bool) -> Acd {
    let mut acd = Acd::new(7);
    let strategies = [
        Strategy::LongestIdle,
        Strategy::SkillsBestMatch,
        Strategy::FewestContacts,
        Strategy::RoundRobin,
    ];
    for (q, strategy) in (0..QUEUES).zip(strategies) {
        let config = QueueConfig::new(strategy);
        handle(
            &mut acd,
            t0,
            Event::QueueConfigChanged {
                queue: QueueId(q),
                config,
            },
        );
    }
    for a in 0..AGENTS {
        let level = SkillLevel::new((a % 10) as u8 + 1).unwrap_or(SkillLevel::MIN);
        let profile = AgentProfile::new(Capacity::voice_only().with(Channel::Chat, 3))
            .with_skill(SKILL, level)
            .in_queue(QueueId(a % QUEUES))
            .in_queue(QueueId((a + 1) % QUEUES));
        handle(
            &mut acd,
            t0,
            Event::AgentLogin {
                agent: AgentId(a),
                profile,
            },
        );
        if ready {
            handle(&mut acd, t0, Event::AgentReady { agent: AgentId(a) });
        }
    }
    while acd.poll_action().is_some() {}
    acd
}

fn contact(n: u64) -> ContactSpec {
    let channel = if n % 3 == 0 {
        Channel::Voice
    } else {
        Channel::Chat
    };
    let priority = Priority::new((n % 10) as u8).unwrap_or(Priority::LOWEST);
    ContactSpec::new(ContactId(n), channel, QueueId(n % QUEUES))
        .with_priority(priority)
        .with_skill(SkillRequirement {
            skill: SKILL,
            min_level: SkillLevel::new((n % 5) as u8 + 1).unwrap_or(SkillLevel::MIN),
        })
}

fn handle(acd: &mut Acd, now: Instant, event: Event) {
    if let Err(e) = acd.handle(now, event) {
        panic!("benchmark event refused: {e}");
    }
}

/// Accepts every offer and ends every assigned contact among pending actions.
fn answer_everything(acd: &mut Acd, now: Instant) {
    while let Some(action) = acd.poll_action() {
        if let Action::Offer { contact, agent, .. } = action {
            handle(acd, now, Event::OfferAccepted { contact, agent });
            handle(acd, now, Event::ContactEnded { contact });
        }
    }
}

fn benches(c: &mut Criterion) {
    let t0 = Instant::now();
    let ready = floor(t0, true);
    c.bench_function("route_1000_contacts_over_500_agents", |b| {
        b.iter_batched(
            || ready.clone(),
            |mut acd| {
                for n in 0..CONTACTS {
                    let now = t0 + Duration::from_millis(n);
                    handle(&mut acd, now, Event::ContactArrived(contact(n)));
                    answer_everything(&mut acd, now);
                }
                black_box(acd)
            },
            BatchSize::LargeInput,
        );
    });

    let mut crowded = floor(t0, false);
    for n in 0..CONTACTS {
        handle(&mut crowded, t0, Event::ContactArrived(contact(n)));
    }
    while crowded.poll_action().is_some() {}
    let extra = ContactId(CONTACTS + 1);
    c.bench_function("arrival_with_1000_waiting", |b| {
        b.iter(|| {
            let spec = ContactSpec::new(extra, Channel::Voice, QueueId(0));
            handle(&mut crowded, t0, Event::ContactArrived(spec));
            handle(&mut crowded, t0, Event::ContactAbandoned { contact: extra });
            while crowded.poll_action().is_some() {}
        });
    });

    let mut busy = floor(t0, false);
    for n in 0..CONTACTS {
        handle(&mut busy, t0, Event::ContactArrived(contact(n)));
    }
    handle(&mut busy, t0, Event::AgentReady { agent: AgentId(0) });
    let offered = std::iter::from_fn(|| busy.poll_action()).find_map(|a| match a {
        Action::Offer { contact, .. } => Some(contact),
        _ => None,
    });
    let Some(first) = offered else {
        panic!("agent 0 got no offer");
    };
    handle(
        &mut busy,
        t0,
        Event::OfferAccepted {
            contact: first,
            agent: AgentId(0),
        },
    );
    while busy.poll_action().is_some() {}
    c.bench_function("agent_frees_up_with_1000_waiting", |b| {
        b.iter_batched(
            || busy.clone(),
            |mut acd| {
                handle(&mut acd, t0, Event::ContactEnded { contact: first });
                black_box(acd.poll_action());
                acd
            },
            BatchSize::LargeInput,
        );
    });
}

fn worst_case(c: &mut Criterion) {
    let t0 = Instant::now();
    let mut acd = Acd::new(7);
    let queue = QueueId(0);
    let config = QueueConfig::new(Strategy::LongestIdle);
    handle(&mut acd, t0, Event::QueueConfigChanged { queue, config });
    let profile = AgentProfile::new(Capacity::voice_only()).in_queue(queue);
    handle(
        &mut acd,
        t0,
        Event::AgentLogin {
            agent: AgentId(0),
            profile,
        },
    );
    handle(&mut acd, t0, Event::AgentReady { agent: AgentId(0) });
    let rare = SkillRequirement {
        skill: SkillId(99),
        min_level: SkillLevel::MAX,
    };
    for n in 0..CONTACTS {
        let spec = ContactSpec::new(ContactId(n), Channel::Voice, queue).with_skill(rare);
        handle(&mut acd, t0, Event::ContactArrived(spec));
    }
    while acd.poll_action().is_some() {}
    let extra = ContactId(CONTACTS + 1);
    let mut busy = acd.clone();
    c.bench_function("unskilled_free_agent_with_1000_waiting", |b| {
        b.iter(|| {
            let spec = ContactSpec::new(extra, Channel::Voice, queue).with_skill(rare);
            handle(&mut acd, t0, Event::ContactArrived(spec));
            handle(&mut acd, t0, Event::ContactAbandoned { contact: extra });
            while acd.poll_action().is_some() {}
        });
    });

    let plain = ContactSpec::new(extra, Channel::Voice, queue).with_priority(Priority::HIGHEST);
    handle(&mut busy, t0, Event::ContactArrived(plain));
    handle(
        &mut busy,
        t0,
        Event::OfferAccepted {
            contact: extra,
            agent: AgentId(0),
        },
    );
    while busy.poll_action().is_some() {}
    c.bench_function("unskilled_agent_frees_up_with_1000_waiting", |b| {
        b.iter_batched(
            || busy.clone(),
            |mut acd| {
                handle(&mut acd, t0, Event::ContactEnded { contact: extra });
                acd
            },
            BatchSize::LargeInput,
        );
    });
}

criterion_group!(routing, benches, worst_case);
criterion_main!(routing);
