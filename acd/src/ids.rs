//! Identifiers and small value types of the routing domain: typed ids for agents,
//! contacts, queues, skills and customers, and the bounded `Priority` and
//! `SkillLevel`. A value of these types that exists is valid; the constructors
//! of the bounded ones reject out-of-range numbers.

use std::fmt;

use crate::error::AcdError;

macro_rules! numeric_id {
    ($name:ident, $what:literal) => {
        #[doc = concat!("Identifies ", $what, ". The number is chosen by whoever wires the engine.")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }
    };
}

numeric_id!(AgentId, "an agent");
numeric_id!(
    ContactId,
    "a contact (a call, a chat, a WeChat conversation, an SMS thread or an email)"
);
numeric_id!(QueueId, "a queue");
numeric_id!(SkillId, "a skill");

/// Identifies the customer behind a contact (phone number, chat visitor, OpenID…),
/// used to route a returning customer to the agent who last served them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CustomerId(pub String);

/// Routing priority of a contact, 0 (lowest, the default) to 9 (highest).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Priority(u8);

impl Priority {
    /// The lowest priority, given to contacts nobody marked.
    pub const LOWEST: Priority = Priority(0);
    /// The highest priority (VIP).
    pub const HIGHEST: Priority = Priority(9);

    /// A priority from 0 to 9.
    pub fn new(value: u8) -> Result<Self, AcdError> {
        if value <= Self::HIGHEST.0 {
            Ok(Self(value))
        } else {
            Err(AcdError::PriorityOutOfRange(value))
        }
    }

    /// The number, 0 to 9.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// How well an agent masters a skill, or the minimum a contact requires: 1 to 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SkillLevel(u8);

impl SkillLevel {
    /// The lowest level, 1.
    pub const MIN: SkillLevel = SkillLevel(1);
    /// The highest level, 10.
    pub const MAX: SkillLevel = SkillLevel(10);

    /// A level from 1 to 10.
    pub fn new(value: u8) -> Result<Self, AcdError> {
        if (Self::MIN.0..=Self::MAX.0).contains(&value) {
            Ok(Self(value))
        } else {
            Err(AcdError::SkillLevelOutOfRange(value))
        }
    }

    /// The number, 1 to 10.
    pub fn get(self) -> u8 {
        self.0
    }
}

/// The medium of a contact. Agents have a separate capacity for each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    /// A phone or WebRTC call.
    Voice,
    /// A web chat.
    Chat,
    /// A WeChat official-account conversation.
    WeChat,
    /// An SMS thread.
    Sms,
    /// An email thread.
    Email,
}

impl Channel {
    /// Every channel, in a fixed order.
    pub const ALL: [Channel; 5] = [
        Channel::Voice,
        Channel::Chat,
        Channel::WeChat,
        Channel::Sms,
        Channel::Email,
    ];

    pub(crate) fn index(self) -> usize {
        match self {
            Channel::Voice => 0,
            Channel::Chat => 1,
            Channel::WeChat => 2,
            Channel::Sms => 3,
            Channel::Email => 4,
        }
    }
}

/// Why an agent is not ready ("lunch", "training", "no-answer"…), kept for the
/// event log and the not-ready-time-by-reason metrics.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReasonCode(String);

impl ReasonCode {
    /// A reason code with the given name.
    pub fn new(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The reason given to an agent who just logged in and has not gone ready yet.
    pub fn logged_in() -> Self {
        Self::new("logged-in")
    }

    /// The reason given when the engine pauses an agent after too many unanswered offers.
    pub fn no_answer() -> Self {
        Self::new("no-answer")
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_accepts_zero_to_nine_only() {
        assert_eq!(Priority::new(0).map(Priority::get), Ok(0));
        assert_eq!(Priority::new(9).map(Priority::get), Ok(9));
        assert_eq!(Priority::new(10), Err(AcdError::PriorityOutOfRange(10)));
    }

    #[test]
    fn skill_level_accepts_one_to_ten_only() {
        assert_eq!(SkillLevel::new(0), Err(AcdError::SkillLevelOutOfRange(0)));
        assert_eq!(SkillLevel::new(1), Ok(SkillLevel::MIN));
        assert_eq!(SkillLevel::new(10), Ok(SkillLevel::MAX));
        assert_eq!(SkillLevel::new(11), Err(AcdError::SkillLevelOutOfRange(11)));
    }

    #[test]
    fn channel_indexes_are_distinct() {
        let mut seen: Vec<usize> = Channel::ALL.iter().map(|c| c.index()).collect();
        seen.dedup();
        assert_eq!(seen, vec![0, 1, 2, 3, 4]);
    }
}
