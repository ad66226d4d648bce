//! The errors `Acd::handle` returns when an event does not fit the current state
//! (an unknown agent, an offer that was never made…). An event that errs leaves
//! the engine as it was.

use crate::ids::{AgentId, ContactId, QueueId};

/// What was wrong with an event or a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcdError {
    /// A priority above 9.
    #[error("priority {0} is out of range: use 0 (lowest) to 9 (highest)")]
    PriorityOutOfRange(u8),
    /// A skill level outside 1–10.
    #[error("skill level {0} is out of range: use 1 to 10")]
    SkillLevelOutOfRange(u8),
    /// A strategy name that is not one of the known strategies.
    #[error(
        "unknown strategy {0:?}: use longest-idle, round-robin, fewest-contacts, least-talk-time, ring-all, top-down, random or skills-best-match"
    )]
    UnknownStrategy(String),
    /// The agent is not logged in.
    #[error("agent {0} is not logged in")]
    AgentNotLoggedIn(AgentId),
    /// The agent is already logged in.
    #[error("agent {0} is already logged in")]
    AgentAlreadyLoggedIn(AgentId),
    /// The agent still handles assigned contacts and cannot log out.
    #[error("agent {0} still handles contacts: end them before logging out")]
    AgentHasContacts(AgentId),
    /// Wrap-up done for an agent who is not in wrap-up.
    #[error("agent {0} is not in wrap-up")]
    NotInWrapUp(AgentId),
    /// The queue was never configured.
    #[error("queue {0} is not configured")]
    UnknownQueue(QueueId),
    /// The contact is not (or no longer) in the engine.
    #[error("contact {0} is unknown or has already ended")]
    UnknownContact(ContactId),
    /// A contact arrived with an id already in use.
    #[error("contact {0} already exists")]
    DuplicateContact(ContactId),
    /// The contact is not being offered to that agent.
    #[error("contact {contact} is not being offered to agent {agent}")]
    NoSuchOffer {
        /// The contact named in the event.
        contact: ContactId,
        /// The agent named in the event.
        agent: AgentId,
    },
    /// The contact is assigned to an agent: it can end, not be abandoned or
    /// wait for a callback.
    #[error("contact {0} is assigned to an agent: report it ended")]
    ContactAssigned(ContactId),
    /// The contact is still queued or being offered: it can be abandoned, not ended.
    #[error("contact {0} is not assigned yet: report it abandoned, not ended")]
    ContactNotAssigned(ContactId),
}
