//! What the engine asks for: the outputs drained with `Acd::poll_action`.

use std::time::{Duration, Instant};

use crate::agent::AgentState;
use crate::config::TimeoutTarget;
use crate::ids::{AgentId, Channel, ContactId, QueueId};
use crate::metrics::{MetricEvent, QueueExit};

/// Why an offer is withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// Another agent accepted first (ring-all).
    AnsweredElsewhere,
    /// The offer rang for the queue's offer timeout.
    NoAnswer,
    /// The customer left.
    Abandoned,
    /// The agent logged out.
    AgentLoggedOut,
}

/// Why an agent's state changed, for the event log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateCause {
    /// The agent logged in.
    Login,
    /// The agent logged out.
    Logout,
    /// The agent asked for it (ready, not ready, wrap-up done).
    Requested,
    /// An offer was made to the agent.
    Offered,
    /// An offer to the agent ended without the agent taking the contact.
    OfferEnded,
    /// The agent accepted a contact.
    Accepted,
    /// A contact of the agent ended.
    ContactEnded,
    /// Wrap-up time elapsed.
    WrapUpElapsed,
    /// Too many consecutive unanswered offers.
    NoAnswerLimit,
}

/// Something the caller must do or record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Ring the agent with this contact until `deadline`.
    Offer {
        /// The contact.
        contact: ContactId,
        /// The agent.
        agent: AgentId,
        /// The queue the contact waits in.
        queue: QueueId,
        /// The contact's medium.
        channel: Channel,
        /// When the engine stops the offer as unanswered.
        deadline: Instant,
    },
    /// Stop ringing the agent with this contact.
    StopOffering {
        /// The contact.
        contact: ContactId,
        /// The agent.
        agent: AgentId,
        /// Why.
        reason: StopReason,
    },
    /// The agent accepted: connect them with the customer.
    Assigned {
        /// The contact.
        contact: ContactId,
        /// The agent.
        agent: AgentId,
        /// The queue.
        queue: QueueId,
        /// Time from arrival to answer.
        waited: Duration,
    },
    /// Tell the customer their place in line and expected wait.
    Announce {
        /// The contact.
        contact: ContactId,
        /// 1 = next in line.
        position: usize,
        /// Expected wait.
        expected_wait: Duration,
    },
    /// The contact moved from one queue to another. When the engine has no queue
    /// `to`, the contact left the engine and the caller routes it there.
    Overflow {
        /// The contact.
        contact: ContactId,
        /// The queue it left.
        from: QueueId,
        /// The queue it goes to.
        to: QueueId,
    },
    /// The contact left the queue unserved: send it to `target`.
    QueueTimeout {
        /// The contact.
        contact: ContactId,
        /// The queue.
        queue: QueueId,
        /// Why it left.
        reason: QueueExit,
        /// Where it goes.
        target: TimeoutTarget,
    },
    /// The agent was made not ready after this many consecutive unanswered offers.
    AgentAutoPaused {
        /// The agent.
        agent: AgentId,
        /// Consecutive unanswered offers.
        no_answers: u32,
    },
    /// The agent's state changed.
    AgentStateChanged {
        /// The agent.
        agent: AgentId,
        /// The state before.
        from: AgentState,
        /// The state after.
        to: AgentState,
        /// Why.
        cause: StateCause,
    },
    /// A fact to persist for reports.
    Metric(MetricEvent),
}
