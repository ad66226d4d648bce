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
//! Queries answer at any time: [`Acd::position`] (place in line and expected
//! wait), [`Acd::agent_state`], [`Acd::agents`], [`Acd::queues`], [`Acd::line`],
//! [`Acd::contact`], [`Acd::queue_metrics`], [`Acd::agent_metrics`].
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
