//! The ACD as a running service: one tokio task per kefu node owns the
//! sans-IO [`kefu_acd::Acd`] engine for every tenant, and everything else
//! talks to it through a cheap, cloneable [`AcdHandle`].
//!
//! # Design
//!
//! - **One task owns the engine.** Routing decisions need the whole picture
//!   (every waiting contact, every agent's load) and the engine is a plain
//!   `&mut` value, so a single task applies events in order: no locks, no
//!   lost updates, and the engine's invariants (a contact offered to one agent
//!   at a time, capacity never exceeded) hold because nothing else touches it.
//!   Handles send commands over a channel and get answers on oneshots; the
//!   task sleeps until the engine's `poll_timeout` between commands.
//! - **Ids.** The store knows agents, queues, skills and contacts by UUID and
//!   people know them by tenant-scoped names (extension, queue name); the
//!   [`directory`] maps both to the engine's numbers, so tenants never mix.
//!   The configuration is loaded from the store at start and again by
//!   [`AcdHandle::reload`] after a change through the API.
//! - **Persistence.** A contact's row is written (`created`) before
//!   [`AcdHandle::enqueue`] returns; every later step (queued, offered,
//!   declined, no_answer, accepted, abandoned, ended, timed_out…) becomes a
//!   `contact_events` row with wait and talk times ([`record`]), written in
//!   order by a writer task so that routing never waits for the database;
//!   so does every agent state change (`agent_events`: state, reason, cause).
//!   When the node stops, contacts still in the engine are closed
//!   (`closed`, disposition `shutdown`); agents start logged out again.
//! - **Who hears what.** Each contact has its own stream of
//!   [`ContactUpdate`]s (for whoever holds the customer: call control, a chat
//!   adapter); agents' happenings are broadcast as [`AgentEvent`]s, which the
//!   agent WebSocket filters per agent.
//!
//! # How voice uses it
//!
//! Call control turns an IVR `queue` node into
//! `acd.enqueue(ContactRequest { channel: Channel::Voice, call_id: Some(..), .. })`
//! and keeps the returned [`Enqueued::updates`] next to the call: on
//! [`ContactUpdate::Offered`] it rings the offer's `agent.extension` (the
//! registered phones of that user) until `offer.deadline`; a 200 OK is
//! `acd.accept(&offer)` followed by the bridge, a busy/decline is
//! `acd.decline(&offer)`, and a ring-out it notices first is
//! `acd.timeout(&offer)`; [`ContactUpdate::OfferEnded`] means stop ringing
//! that agent (the engine's own ring timeout, or the caller left).
//! [`ContactUpdate::Waiting`] carries position and expected wait for
//! announcements. A caller hanging up while queued is `acd.abandon(&id)`, a
//! bridged call hanging up is `acd.end(&id)` (the agent then wraps up).

mod directory;
mod handle;
mod record;
mod service;

pub use directory::{channel_name, parse_channel, parse_timeout_target, timeout_target_name};
pub use handle::{AcdHandle, AcdService, start};
pub use kefu_acd::{Channel, TimeoutTarget};
pub use service::{
    AgentContact, AgentEvent, AgentEventKind, AgentStatus, LiveContact, QueueSettingsView,
    QueueStatus, exit_name,
};

use std::fmt;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::mpsc;

use crate::store::{Millis, StoreError};

/// A contact's id: the UUID of its row in `contacts`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct ContactId(pub String);

impl fmt::Display for ContactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A skill a contact needs, by name, at a minimum level (1-10).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkillNeed {
    pub name: String,
    pub min_level: u8,
}

/// A contact to route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactRequest {
    /// The tenant's id.
    pub tenant: String,
    pub channel: Channel,
    /// The queue's name in the tenant.
    pub queue: String,
    /// 0 (lowest) to 9 (highest).
    pub priority: u8,
    pub skills: Vec<SkillNeed>,
    /// Who the customer is (phone number, visitor id…), for the sticky agent.
    pub customer: Option<String>,
    /// The call this contact is, for voice.
    pub call_id: Option<String>,
    /// The extension of an agent of the queue it is for (a transfer to
    /// them), and how long it waits for them before any agent of the queue
    /// may take it.
    pub preferred_agent: Option<(String, Duration)>,
}

/// An agent, as offers and updates name them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentRef {
    pub user_id: String,
    /// What to ring for voice: the agent's extension.
    pub extension: String,
    pub display_name: String,
}

/// A contact being offered to an agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub contact: ContactId,
    pub agent: AgentRef,
    pub channel: Channel,
    /// The queue's name.
    pub queue: String,
    /// When the engine gives up on this agent and tries the next.
    pub deadline: Instant,
    /// The same instant as wall-clock time.
    pub deadline_at: Millis,
}

/// Why an offer stopped without the agent taking the contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfferEnd {
    Declined,
    NoAnswer,
    AnsweredElsewhere,
    CustomerLeft,
    AgentLoggedOut,
}

impl OfferEnd {
    /// The API name.
    pub fn as_str(self) -> &'static str {
        match self {
            OfferEnd::Declined => "declined",
            OfferEnd::NoAnswer => "no_answer",
            OfferEnd::AnsweredElsewhere => "answered_elsewhere",
            OfferEnd::CustomerLeft => "customer_left",
            OfferEnd::AgentLoggedOut => "agent_logged_out",
        }
    }
}

/// What happens to a contact, in order; the stream ends after a final one
/// ([`ContactUpdate::is_final`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContactUpdate {
    /// Waiting: place in line (1 = next) and expected wait.
    Waiting {
        position: usize,
        expected_wait: Duration,
    },
    /// Ring this agent.
    Offered(Offer),
    /// Stop ringing this agent.
    OfferEnded { agent: AgentRef, reason: OfferEnd },
    /// The agent took it: connect them.
    Answered { agent: AgentRef, waited: Duration },
    /// Moved on to another queue.
    Overflowed { from: String, to: String },
    /// Left the queue unserved: send it to `target`.
    TimedOut {
        reason: kefu_acd::QueueExit,
        target: kefu_acd::TimeoutTarget,
    },
    /// The customer left before an agent took it.
    Abandoned { waited: Duration },
    /// The assigned contact ended.
    Ended { talk: Duration },
}

impl ContactUpdate {
    /// Whether nothing follows this update.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            ContactUpdate::TimedOut { .. }
                | ContactUpdate::Abandoned { .. }
                | ContactUpdate::Ended { .. }
        )
    }
}

/// The updates of one contact.
#[derive(Debug)]
pub struct ContactUpdates(mpsc::UnboundedReceiver<ContactUpdate>);

impl ContactUpdates {
    /// The next update; `None` after the final one (or when the ACD stops).
    pub async fn next(&mut self) -> Option<ContactUpdate> {
        self.0.recv().await
    }

    /// The next update if it has already come, without waiting.
    pub fn try_next(&mut self) -> Option<ContactUpdate> {
        self.0.try_recv().ok()
    }
}

/// A contact the ACD took.
#[derive(Debug)]
pub struct Enqueued {
    pub id: ContactId,
    pub updates: ContactUpdates,
}

/// An agent's answer to an offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept,
    Decline,
    /// The offer rang out (noticed by whoever rings the agent).
    NoAnswer,
}

/// A state an agent asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    Ready,
    NotReady {
        reason: String,
    },
    /// Wrap-up is over early.
    WrapUpDone,
}

/// Why the ACD refused a request.
#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    #[error("no queue named `{0}`")]
    UnknownQueue(String),
    #[error("no skill named `{0}`")]
    UnknownSkill(String),
    #[error("no agent with extension `{0}`")]
    UnknownAgent(String),
    #[error("no contact `{0}` is waiting or in progress")]
    UnknownContact(String),
    #[error("priority {0} is out of range: use 0 (lowest) to 9 (highest)")]
    Priority(u8),
    #[error("level {level} of skill `{skill}` is out of range: use 1 to 10")]
    SkillLevel { skill: String, level: u8 },
    /// The request does not fit the current state (e.g. accepting an offer
    /// that was withdrawn); the text says why.
    #[error("{0}")]
    Refused(String),
    #[error("the ACD is stopping")]
    Stopped,
    #[error(transparent)]
    Store(#[from] StoreError),
}
