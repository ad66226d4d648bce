//! What the engine is told: the inputs of `Acd::handle`.

use crate::config::{AgentProfile, QueueConfig};
use crate::contact::ContactSpec;
use crate::ids::{AgentId, ContactId, QueueId, ReasonCode};

/// Something that happened outside the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The agent logged in; they start not ready with reason `logged-in`.
    AgentLogin {
        /// The agent.
        agent: AgentId,
        /// Skills, queues and capacity.
        profile: AgentProfile,
    },
    /// The agent logged out; offers ringing them are withdrawn and re-routed.
    AgentLogout {
        /// The agent.
        agent: AgentId,
    },
    /// The agent is ready for contacts (this also ends wrap-up and an auto-pause).
    AgentReady {
        /// The agent.
        agent: AgentId,
    },
    /// The agent takes no new contacts, for a reason.
    AgentNotReady {
        /// The agent.
        agent: AgentId,
        /// Why.
        reason: ReasonCode,
    },
    /// The agent finished wrap-up early.
    WrapUpDone {
        /// The agent.
        agent: AgentId,
    },
    /// A logged-in agent's profile changed.
    AgentConfigChanged {
        /// The agent.
        agent: AgentId,
        /// The new profile.
        profile: AgentProfile,
    },
    /// A queue was created or its configuration changed.
    QueueConfigChanged {
        /// The queue.
        queue: QueueId,
        /// The new configuration.
        config: QueueConfig,
    },
    /// A contact arrived in a queue.
    ContactArrived(ContactSpec),
    /// The agent accepted the offer; the contact is theirs.
    OfferAccepted {
        /// The contact.
        contact: ContactId,
        /// The agent.
        agent: AgentId,
    },
    /// The agent declined the offer.
    OfferDeclined {
        /// The contact.
        contact: ContactId,
        /// The agent.
        agent: AgentId,
    },
    /// The offer rang out (reported by the caller's own ring timer, or a busy phone).
    OfferTimedOut {
        /// The contact.
        contact: ContactId,
        /// The agent.
        agent: AgentId,
    },
    /// An assigned contact ended (hang-up, chat closed).
    ContactEnded {
        /// The contact.
        contact: ContactId,
    },
    /// The customer left before any agent accepted.
    ContactAbandoned {
        /// The contact.
        contact: ContactId,
    },
    /// The customer hung up to be called back, keeping their place in line: the
    /// contact gets no more announcements and no max wait; when an agent accepts
    /// it, the caller places the call back.
    CallbackRequested {
        /// The contact.
        contact: ContactId,
    },
    /// Nothing but the passing of time: the instant given by `poll_timeout` came.
    Timeout,
}
