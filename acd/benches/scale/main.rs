//! The engine at the scale of issue 7: 10,000 agents over 20 queues and 100,000
//! waiting contacts (`--agents`, `--contacts`; smaller in quick runs). It owns
//! the floor, the event stream that drives it and the report; `naive` holds the
//! scan router it is compared with.
//!
//! One run, the same seeded stream for the engine and for the naive router:
//!
//! 1. fill: every agent logs in and goes ready, then contacts arrive until the
//!    floor is full; each arrival that is offered is a decision among free agents;
//! 2. line: contacts arrive until `--contacts` wait; the live heap bytes this
//!    adds (a counting global allocator) divided by the contacts is the memory
//!    per waiting contact;
//! 3. steady: `--events` mixed events with the line kept near its size: contacts
//!    end (the agent frees up and takes the next suitable contact), arrive,
//!    abandon; agents go not ready and ready again; every offer is accepted.
//!    Each `handle` (with its actions drained) is timed; one that produces an
//!    offer is a routing decision. Events per second is events over the summed
//!    time of their `handle` calls. The naive router runs the first
//!    `--naive-events` of the stream (it is slow) and the decisions of both are
//!    compared one by one.
//!
//! Every queue routes longest-idle with all tiers at once, the rules the naive
//! router implements. Figures are printed as a table and, with `--json FILE`,
//! written for bench/results. Nothing here asserts a timing.

mod naive;

use std::alloc::System;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use kefu_acd::{
    Acd, Action, AgentId, AgentProfile, Capacity, Channel, ContactId, ContactSpec, Event,
    Membership, Priority, QueueConfig, QueueId, RandomSource, ReasonCode, SkillId, SkillLevel,
    SkillRequirement, SplitMix64, Strategy,
};
use stats_alloc::{INSTRUMENTED_SYSTEM, StatsAlloc};

use crate::naive::NaiveRouter;

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const QUEUES: u64 = 20;
const SKILLS: u64 = 8;
const SEED: u64 = 7;

/// Something that routes contacts: the engine, or the naive scan.
trait Router {
    /// Applies `event` and appends the offers it makes, as (contact, agent).
    fn handle(&mut self, now: Instant, event: Event, offers: &mut Vec<(ContactId, AgentId)>);
}

impl Router for Acd {
    fn handle(&mut self, now: Instant, event: Event, offers: &mut Vec<(ContactId, AgentId)>) {
        if let Err(e) = Acd::handle(self, now, event) {
            panic!("the engine refused a bench event: {e}");
        }
        while let Some(action) = self.poll_action() {
            if let Action::Offer { contact, agent, .. } = action {
                offers.push((contact, agent));
            }
        }
    }
}

struct Sizes {
    agents: u64,
    contacts: usize,
    events: usize,
    naive_events: usize,
    json: Option<String>,
}

impl Sizes {
    fn from_args() -> Self {
        let mut sizes = Sizes {
            agents: 10_000,
            contacts: 100_000,
            events: 200_000,
            naive_events: 10_000,
            json: None,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let mut value = || args.next().unwrap_or_else(|| panic!("{arg} needs a value"));
            let number = |v: String| -> usize {
                v.replace([',', '_'], "")
                    .parse()
                    .unwrap_or_else(|_| panic!("{arg}: not a number: {v}"))
            };
            match arg.as_str() {
                "--agents" => sizes.agents = number(value()) as u64,
                "--contacts" => sizes.contacts = number(value()),
                "--events" => sizes.events = number(value()),
                "--naive-events" => sizes.naive_events = number(value()),
                "--json" => sizes.json = Some(value()),
                // `cargo bench` passes this to every bench binary.
                "--bench" => {}
                other => panic!(
                    "unknown option {other} (--agents N, --contacts N, --events N, --naive-events N, --json FILE)"
                ),
            }
        }
        sizes.naive_events = sizes.naive_events.min(sizes.events);
        sizes
    }
}

/// Ids with O(1) insert, removal and uniform draw.
struct Pool<T> {
    items: Vec<T>,
    index: HashMap<T, usize>,
}

impl<T> Default for Pool<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            index: HashMap::new(),
        }
    }
}

impl<T: Copy + Eq + std::hash::Hash> Pool<T> {
    fn insert(&mut self, item: T) {
        self.index.insert(item, self.items.len());
        self.items.push(item);
    }

    fn remove(&mut self, item: T) -> bool {
        let Some(at) = self.index.remove(&item) else {
            return false;
        };
        self.items.swap_remove(at);
        if let Some(&moved) = self.items.get(at) {
            self.index.insert(moved, at);
        }
        true
    }

    fn draw(&self, rng: &mut SplitMix64) -> Option<T> {
        (!self.items.is_empty()).then(|| self.items[rng.below(self.items.len())])
    }

    fn len(&self) -> usize {
        self.items.len()
    }
}

/// What one router did over one phase.
#[derive(Default)]
struct Phase {
    /// Nanoseconds of each `handle` that made an offer.
    decisions: Vec<u64>,
    events: u64,
    busy: Duration,
    /// Live heap bytes added by the router's `handle` calls.
    heap: i64,
}

impl Phase {
    fn percentile(&self, p: f64) -> Option<u64> {
        let mut sorted = self.decisions.clone();
        sorted.sort_unstable();
        let rank = ((sorted.len() as f64 * p).ceil() as usize).max(1);
        sorted.get(rank - 1).copied()
    }

    fn events_per_second(&self) -> f64 {
        self.events as f64 / self.busy.as_secs_f64().max(1e-9)
    }
}

/// The seeded stream and what the driver knows of the floor, from the offers it saw.
struct Driver<'r> {
    router: &'r mut dyn Router,
    rng: SplitMix64,
    now: Instant,
    next_contact: u64,
    waiting: Pool<ContactId>,
    assigned: Pool<ContactId>,
    ready: Pool<AgentId>,
    not_ready: Pool<AgentId>,
    offers: Vec<(ContactId, AgentId)>,
    decided: Vec<(ContactId, AgentId)>,
    phase: Phase,
}

impl<'r> Driver<'r> {
    fn new(router: &'r mut dyn Router, t0: Instant) -> Self {
        Self {
            router,
            rng: SplitMix64::seeded(SEED),
            now: t0,
            next_contact: 0,
            waiting: Pool::default(),
            assigned: Pool::default(),
            ready: Pool::default(),
            not_ready: Pool::default(),
            offers: Vec::with_capacity(64),
            decided: Vec::new(),
            phase: Phase::default(),
        }
    }

    /// Times one event, then accepts every offer it made (each its own event).
    fn send(&mut self, event: Event) {
        let mut pending = vec![event];
        while let Some(event) = pending.pop() {
            let heap = live_bytes();
            let start = Instant::now();
            self.router.handle(self.now, event, &mut self.offers);
            let took = start.elapsed();
            self.phase.heap += live_bytes() - heap;
            self.phase.busy += took;
            self.phase.events += 1;
            if !self.offers.is_empty() {
                self.phase.decisions.push(took.as_nanos() as u64);
            }
            for (contact, agent) in self.offers.drain(..) {
                self.waiting.remove(contact);
                self.assigned.insert(contact);
                self.decided.push((contact, agent));
                pending.push(Event::OfferAccepted { contact, agent });
            }
        }
    }

    fn take_phase(&mut self) -> Phase {
        std::mem::take(&mut self.phase)
    }

    fn setup(&mut self, agents: u64) {
        for q in 0..QUEUES {
            let config = QueueConfig::new(Strategy::LongestIdle);
            self.send(Event::QueueConfigChanged {
                queue: QueueId(q),
                config,
            });
        }
        for a in 0..agents {
            let agent = AgentId(a);
            let profile = self.profile(a);
            self.send(Event::AgentLogin { agent, profile });
            self.send(Event::AgentReady { agent });
            self.ready.insert(agent);
        }
    }

    /// Two in five agents take one call; two in five one call or three chats;
    /// one in five five chats and two emails. A primary queue (tier 1) and a
    /// second one (tier 2); three of eight skills at random levels.
    fn profile(&mut self, a: u64) -> AgentProfile {
        let capacity = match a % 5 {
            0 | 1 => Capacity::voice_only(),
            2 | 3 => Capacity::voice_only().with(Channel::Chat, 3),
            _ => Capacity::none()
                .with(Channel::Chat, 5)
                .with(Channel::Email, 2),
        };
        let primary = self.rng.below(QUEUES as usize) as u64;
        let second = (primary + 1 + self.rng.below(QUEUES as usize - 1) as u64) % QUEUES;
        let mut profile = AgentProfile::new(capacity)
            .in_queue(QueueId(primary))
            .in_queue_as(
                QueueId(second),
                Membership {
                    tier: 2,
                    penalty: 0,
                },
            );
        profile.voice_blocks_other_channels = a % 5 >= 2;
        while profile.skills.len() < 3 {
            let skill = SkillId(self.rng.below(SKILLS as usize) as u64);
            let level = level(1 + self.rng.below(10) as u8);
            profile = profile.with_skill(skill, level);
        }
        profile
    }

    /// Half calls, a third chats, the rest emails; seven in ten at the lowest
    /// priority; four in ten need no skill, one in ten a skill at level 8 or more.
    fn contact(&mut self) -> ContactSpec {
        let id = ContactId(self.next_contact);
        self.next_contact += 1;
        let channel = match self.rng.below(100) {
            0..50 => Channel::Voice,
            50..85 => Channel::Chat,
            _ => Channel::Email,
        };
        let queue = QueueId(self.rng.below(QUEUES as usize) as u64);
        let priority = match self.rng.below(100) {
            0..70 => 0,
            70..90 => 1 + self.rng.below(5) as u8,
            _ => 6 + self.rng.below(4) as u8,
        };
        let priority = Priority::new(priority).unwrap_or(Priority::LOWEST);
        let mut spec = ContactSpec::new(id, channel, queue).with_priority(priority);
        let needs = self.rng.below(100);
        if needs >= 40 {
            let skill = SkillId(self.rng.below(SKILLS as usize) as u64);
            let min = if needs < 90 {
                1 + self.rng.below(5) as u8
            } else {
                8 + self.rng.below(3) as u8
            };
            spec = spec.with_skill(SkillRequirement {
                skill,
                min_level: level(min),
            });
        }
        spec
    }

    fn arrive(&mut self) {
        let spec = self.contact();
        self.waiting.insert(spec.id);
        self.send(Event::ContactArrived(spec));
    }

    /// Contacts arrive until `misses` arrivals in a row found no free agent.
    fn fill(&mut self, misses: usize) {
        let mut missed = 0;
        while missed < misses {
            let before = self.phase.decisions.len();
            self.arrive();
            self.tick();
            missed = if self.phase.decisions.len() == before {
                missed + 1
            } else {
                0
            };
        }
    }

    fn line_up(&mut self, contacts: usize) {
        while self.waiting.len() < contacts {
            self.arrive();
            self.tick();
        }
    }

    /// One event of the mixed stream; the line is kept near `line` contacts and
    /// about one agent in twenty not ready.
    fn mixed(&mut self, line: usize, agents: usize) {
        match self.rng.below(100) {
            0..30 => match self.assigned.draw(&mut self.rng) {
                Some(contact) => {
                    self.assigned.remove(contact);
                    self.send(Event::ContactEnded { contact });
                }
                None => self.arrive(),
            },
            30..40 => self.abandon(),
            40..50 => {
                if self.not_ready.len() < agents / 20 {
                    if let Some(agent) = self.ready.draw(&mut self.rng) {
                        self.ready.remove(agent);
                        self.not_ready.insert(agent);
                        let reason = ReasonCode::new("break");
                        self.send(Event::AgentNotReady { agent, reason });
                    }
                } else if let Some(agent) = self.not_ready.draw(&mut self.rng) {
                    self.not_ready.remove(agent);
                    self.ready.insert(agent);
                    self.send(Event::AgentReady { agent });
                }
            }
            _ if self.waiting.len() < line => self.arrive(),
            _ => self.abandon(),
        }
        self.tick();
    }

    fn abandon(&mut self) {
        if let Some(contact) = self.waiting.draw(&mut self.rng) {
            self.waiting.remove(contact);
            self.send(Event::ContactAbandoned { contact });
        }
    }

    fn tick(&mut self) {
        self.now += Duration::from_millis(1);
    }
}

fn level(n: u8) -> SkillLevel {
    SkillLevel::new(n).unwrap_or(SkillLevel::MIN)
}

fn live_bytes() -> i64 {
    let stats = GLOBAL.stats();
    stats.bytes_allocated as i64 - stats.bytes_deallocated as i64 + stats.bytes_reallocated as i64
}

/// One router through the three phases.
struct Run {
    fill: Phase,
    line: Phase,
    line_added: usize,
    steady: Phase,
    decided: Vec<(ContactId, AgentId)>,
    waiting_at_end: usize,
}

fn run(router: &mut dyn Router, sizes: &Sizes, events: usize, t0: Instant) -> Run {
    let mut driver = Driver::new(router, t0);
    driver.setup(sizes.agents);
    driver.take_phase();
    driver.fill(200);
    let fill = driver.take_phase();
    let before = driver.waiting.len();
    driver.line_up(sizes.contacts);
    let line = driver.take_phase();
    let line_added = driver.waiting.len() - before;
    for _ in 0..events {
        driver.mixed(sizes.contacts, sizes.agents as usize);
    }
    let steady = driver.take_phase();
    Run {
        fill,
        line,
        line_added,
        steady,
        waiting_at_end: driver.waiting.len(),
        decided: std::mem::take(&mut driver.decided),
    }
}

fn micros(ns: Option<u64>) -> String {
    ns.map_or_else(|| "-".into(), |ns| format!("{:.1} µs", ns as f64 / 1000.0))
}

fn ratio(naive: Option<u64>, kefu: Option<u64>) -> String {
    match (naive, kefu) {
        (Some(n), Some(k)) if k > 0 => format!("{:.0}x", n as f64 / k as f64),
        _ => "-".into(),
    }
}

fn grouped(n: f64) -> String {
    let digits = format!("{:.0}", n);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn phase_json(phase: &Phase) -> String {
    let us = |p: f64| {
        phase
            .percentile(p)
            .map_or("null".into(), |ns| format!("{:.2}", ns as f64 / 1000.0))
    };
    format!(
        "{{\"decisions\": {}, \"p50_us\": {}, \"p99_us\": {}, \"max_us\": {}, \"events\": {}, \"events_per_second\": {:.0}}}",
        phase.decisions.len(),
        us(0.5),
        us(0.99),
        us(1.0),
        phase.events,
        phase.events_per_second()
    )
}

fn main() {
    let sizes = Sizes::from_args();
    let t0 = Instant::now();
    println!(
        "acd scale: {} agents over {QUEUES} queues, {} waiting contacts, {} mixed events ({} for the naive scan)",
        grouped(sizes.agents as f64),
        grouped(sizes.contacts as f64),
        grouped(sizes.events as f64),
        grouped(sizes.naive_events as f64),
    );
    let mut acd = Acd::new(SEED);
    let kefu = run(&mut acd, &sizes, sizes.events, t0);
    drop(acd);
    let mut scan = NaiveRouter::default();
    let naive = run(&mut scan, &sizes, sizes.naive_events, t0);
    drop(scan);

    let per_contact = |r: &Run| r.line.heap as f64 / r.line_added.max(1) as f64;
    let agree = kefu
        .decided
        .iter()
        .zip(&naive.decided)
        .take_while(|(k, n)| k == n)
        .count();
    let compared = naive.decided.len().min(kefu.decided.len());

    let mut table = String::new();
    let _ = writeln!(
        table,
        "| | kefu | naive scan | naive / kefu |\n|---|---|---|---|"
    );
    for (name, k, n) in [
        ("fill (arrival, free agents)", &kefu.fill, &naive.fill),
        ("steady (mixed stream)", &kefu.steady, &naive.steady),
    ] {
        for (label, p) in [("p50", 0.5), ("p99", 0.99), ("max", 1.0)] {
            let (kp, np) = (k.percentile(p), n.percentile(p));
            let _ = writeln!(
                table,
                "| {name}: decision {label} | {} | {} | {} |",
                micros(kp),
                micros(np),
                ratio(np, kp)
            );
        }
        let _ = writeln!(
            table,
            "| {name}: decisions / events / events per second | {} / {} / {} | {} / {} / {} | {:.0}x |",
            grouped(k.decisions.len() as f64),
            grouped(k.events as f64),
            grouped(k.events_per_second()),
            grouped(n.decisions.len() as f64),
            grouped(n.events as f64),
            grouped(n.events_per_second()),
            k.events_per_second() / n.events_per_second().max(1e-9),
        );
    }
    let _ = writeln!(
        table,
        "| heap bytes per waiting contact ({} added) | {:.0} B | {:.0} B | |",
        grouped(kefu.line_added as f64),
        per_contact(&kefu),
        per_contact(&naive),
    );
    print!("{table}");
    println!(
        "waiting at the end: kefu {}, naive {}; decisions identical for the first {} of {} compared",
        grouped(kefu.waiting_at_end as f64),
        grouped(naive.waiting_at_end as f64),
        grouped(agree as f64),
        grouped(compared as f64),
    );
    println!(
        "decision p99: kefu {}, naive scan {} ({})",
        micros(kefu.steady.percentile(0.99)),
        micros(naive.steady.percentile(0.99)),
        ratio(naive.steady.percentile(0.99), kefu.steady.percentile(0.99)),
    );

    if let Some(path) = &sizes.json {
        let json = format!(
            "{{\n  \"agents\": {},\n  \"queues\": {QUEUES},\n  \"waiting_contacts\": {},\n  \"events\": {},\n  \"naive_events\": {},\n  \"kefu\": {{\"fill\": {}, \"steady\": {}, \"bytes_per_waiting_contact\": {:.0}}},\n  \"naive\": {{\"fill\": {}, \"steady\": {}, \"bytes_per_waiting_contact\": {:.0}}},\n  \"identical_decisions\": {agree},\n  \"compared_decisions\": {compared}\n}}\n",
            sizes.agents,
            sizes.contacts,
            sizes.events,
            sizes.naive_events,
            phase_json(&kefu.fill),
            phase_json(&kefu.steady),
            per_contact(&kefu),
            phase_json(&naive.fill),
            phase_json(&naive.steady),
            per_contact(&naive),
        );
        if let Err(e) = std::fs::write(path, json) {
            panic!("cannot write {path}: {e}");
        }
        println!("written to {path}");
    }
}
