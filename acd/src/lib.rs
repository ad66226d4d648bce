//! `kefu-acd`: the automatic contact distributor, kefu's one routing brain.
//!
//! It owns queues, skills, agent states and capacities, and the decision of
//! which agent is offered which contact, for every channel (voice, chat, WeChat,
//! SMS, email). It is pure and sans-IO: it takes events and the current time and
//! returns actions and its next timeout; it performs no I/O and reads no clock.
//!
//! The whole engine is one [`Acd`] value, driven like str0m's `Rtc`:
//!
//! 1. feed it `acd.handle(now, Event::…)` (an agent logs in, a contact arrives,
//!    an offer is accepted…, or [`Event::Timeout`] when the instant from
//!    `poll_timeout` comes);
//! 2. drain `acd.poll_action()` and carry out each [`Action`] (ring an agent,
//!    stop ringing, connect, announce, overflow, time out, log a state change
//!    or a metric);
//! 3. sleep until `acd.poll_timeout()`.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use kefu_acd::{Acd, Action, AgentId, AgentProfile, Capacity, Channel, ContactId,
//!                ContactSpec, Event, QueueConfig, QueueId, Strategy};
//!
//! let sales = QueueId(1);
//! let mut acd = Acd::new(0);
//! let t0 = Instant::now();
//! acd.handle(t0, Event::QueueConfigChanged {
//!     queue: sales,
//!     config: QueueConfig::new(Strategy::LongestIdle),
//! })?;
//! let profile = AgentProfile::new(Capacity::voice_only().with(Channel::Chat, 5)).in_queue(sales);
//! acd.handle(t0, Event::AgentLogin { agent: AgentId(1001), profile })?;
//! acd.handle(t0, Event::AgentReady { agent: AgentId(1001) })?;
//! acd.handle(t0, Event::ContactArrived(ContactSpec::new(ContactId(7), Channel::Voice, sales)))?;
//!
//! let offer = std::iter::from_fn(|| acd.poll_action()).find_map(|action| match action {
//!     Action::Offer { contact, agent, deadline, .. } => Some((contact, agent, deadline)),
//!     _ => None,
//! });
//! let (contact, agent, deadline) = offer.expect("agent 1001 is offered the call");
//! assert_eq!((contact, agent), (ContactId(7), AgentId(1001)));
//! assert_eq!(acd.poll_timeout(), Some(deadline)); // ring timeout
//!
//! acd.handle(t0 + Duration::from_secs(3), Event::OfferAccepted { contact, agent })?;
//! assert!(std::iter::from_fn(|| acd.poll_action())
//!     .any(|a| matches!(a, Action::Assigned { .. })));
//! # Ok::<(), kefu_acd::AcdError>(())
//! ```
//!
//! Queries answer at any time: [`Acd::position`] (place in line and expected
//! wait), [`Acd::agent_state`], [`Acd::agents`], [`Acd::queues`], [`Acd::line`],
//! [`Acd::contact`], [`Acd::queue_metrics`], [`Acd::agent_metrics`].
//!
//! # Routing rules
//!
//! - Contacts wait in one line per queue, higher [`Priority`] first, then by
//!   arrival; an overflowed contact keeps its place. When agents free up, the
//!   line is served in that order across all queues.
//! - A contact may be offered to an agent who is ready (or busy with room),
//!   serves its queue at an unlocked tier, has every required skill at the
//!   minimum level, and has capacity left on its channel (a voice contact blocks
//!   the other channels when the profile says so). Among those, the lowest
//!   (tier, penalty) group is kept and the queue's [`Strategy`] picks one agent,
//!   or the whole group for ring-all.
//! - A returning customer waits up to the queue's sticky window for the agent
//!   who last served them, if that agent is logged in and able.
//! - An offer that is declined or rings out goes to an agent who has not let the
//!   contact go yet; when everyone able has, they are tried again. Consecutive
//!   unanswered offers pause an agent (`no-answer`) at the profile's limit.
//! - Not-ready and wrap-up stop new offers on every channel; contacts in hand
//!   and offers already ringing continue. Wrap-up follows each contact of a
//!   queue with a wrap-up time.
//! - Max wait, overflow and announcements apply while a contact waits; an offer
//!   that is ringing finishes first. A customer who asked for a callback keeps
//!   their place with neither announcements nor max wait.
//! - Every contact that arrives ends exactly once: completed after being
//!   assigned, abandoned, timed out to the queue's target, or overflowed to a
//!   queue the engine does not have. Each end is a [`MetricEvent`].
//!
//! It deliberately does not know about SIP, chat transports, storage or
//! business-hours calendars: the caller maps its own ids to [`AgentId`],
//! [`ContactId`] and [`QueueId`], persists [`MetricEvent`]s, and closes queues
//! by configuration.

mod action;
mod agent;
mod config;
mod contact;
mod engine;
mod error;
mod estimate;
mod event;
mod ids;
mod metrics;
mod queue;
mod rng;
mod strategy;
mod timers;

pub use action::{Action, StateCause, StopReason};
pub use agent::AgentState;
pub use config::{
    AgentProfile, Capacity, Membership, Overflow, QueueConfig, SkillRequirement, Strategy,
    TierPolicy, TimeoutTarget,
};
pub use contact::ContactSpec;
pub use engine::Acd;
pub use error::AcdError;
pub use event::Event;
pub use ids::{
    AgentId, Channel, ContactId, CustomerId, Priority, QueueId, ReasonCode, SkillId, SkillLevel,
};
pub use metrics::{AgentMetrics, MetricEvent, QueueExit, QueueMetrics};
pub use rng::{RandomSource, SplitMix64};
