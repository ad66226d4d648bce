//! Configuration the engine routes by: an agent's `AgentProfile` (skills, queue
//! memberships with tier and penalty, capacity per channel) and a queue's
//! `QueueConfig` (strategy, tiers, timers, overflow, limits). Plain data: the
//! caller loads it from wherever it lives and hands it over in events.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::error::AcdError;
use crate::ids::{Channel, QueueId, SkillId, SkillLevel};

/// A skill a contact needs, at a minimum level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkillRequirement {
    /// The skill.
    pub skill: SkillId,
    /// The lowest level an agent may have to be offered the contact.
    pub min_level: SkillLevel,
}

/// How many contacts of each channel an agent handles at once (offers included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capacity([u8; 5]);

impl Capacity {
    /// No capacity on any channel.
    pub const fn none() -> Self {
        Self([0; 5])
    }

    /// One voice contact and nothing else: a classic phone agent.
    pub const fn voice_only() -> Self {
        Self([1, 0, 0, 0, 0])
    }

    /// The same capacity with `channel` set to `count`.
    pub fn with(mut self, channel: Channel, count: u8) -> Self {
        self.0[channel.index()] = count;
        self
    }

    /// The capacity on `channel`.
    pub fn of(self, channel: Channel) -> u8 {
        self.0[channel.index()]
    }
}

/// An agent's place in a queue: lower tiers are offered first (higher tiers may
/// unlock only as the contact waits), and within a tier lower penalties first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    /// Tier level, 1 first (0 counts as 1).
    pub tier: u8,
    /// Penalty within the tier, 0 first.
    pub penalty: u8,
}

impl Default for Membership {
    fn default() -> Self {
        Self {
            tier: 1,
            penalty: 0,
        }
    }
}

/// What the engine knows about an agent: skills, queues, capacity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentProfile {
    /// Skills and their levels.
    pub skills: BTreeMap<SkillId, SkillLevel>,
    /// Queues the agent serves.
    pub queues: BTreeMap<QueueId, Membership>,
    /// Contacts per channel the agent handles at once.
    pub capacity: Capacity,
    /// While the agent has a voice contact, no other channel is offered.
    pub voice_blocks_other_channels: bool,
    /// Consecutive unanswered offers after which the agent is paused (`None`: never).
    pub max_no_answers: Option<u32>,
}

impl AgentProfile {
    /// A profile with this capacity, no skills, no queues, never auto-paused.
    pub fn new(capacity: Capacity) -> Self {
        Self {
            skills: BTreeMap::new(),
            queues: BTreeMap::new(),
            capacity,
            voice_blocks_other_channels: false,
            max_no_answers: None,
        }
    }

    /// The same profile with a skill at a level.
    pub fn with_skill(mut self, skill: SkillId, level: SkillLevel) -> Self {
        self.skills.insert(skill, level);
        self
    }

    /// The same profile serving `queue` at tier 1, penalty 0.
    pub fn in_queue(self, queue: QueueId) -> Self {
        self.in_queue_as(queue, Membership::default())
    }

    /// The same profile serving `queue` with the given membership.
    pub fn in_queue_as(mut self, queue: QueueId, membership: Membership) -> Self {
        self.queues.insert(queue, membership);
        self
    }
}

/// How a queue picks among the agents able to take a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// The agent idle the longest.
    LongestIdle,
    /// The next agent after the one offered last, in agent-id order.
    RoundRobin,
    /// The agent who handled the fewest contacts.
    FewestContacts,
    /// The agent with the least talk time.
    LeastTalkTime,
    /// Every able agent at once; the first to accept wins.
    RingAll,
    /// Always the first agent in (tier, penalty, agent id) order.
    TopDown,
    /// Any able agent, drawn from the injected random source.
    Random,
    /// The agent whose levels in the required skills add up highest.
    SkillsBestMatch,
}

impl FromStr for Strategy {
    type Err = AcdError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Ok(match name {
            "longest-idle" => Self::LongestIdle,
            "round-robin" => Self::RoundRobin,
            "fewest-contacts" => Self::FewestContacts,
            "least-talk-time" => Self::LeastTalkTime,
            "ring-all" => Self::RingAll,
            "top-down" => Self::TopDown,
            "random" => Self::Random,
            "skills-best-match" => Self::SkillsBestMatch,
            other => return Err(AcdError::UnknownStrategy(other.to_owned())),
        })
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::LongestIdle => "longest-idle",
            Self::RoundRobin => "round-robin",
            Self::FewestContacts => "fewest-contacts",
            Self::LeastTalkTime => "least-talk-time",
            Self::RingAll => "ring-all",
            Self::TopDown => "top-down",
            Self::Random => "random",
            Self::SkillsBestMatch => "skills-best-match",
        })
    }
}

/// When the tiers of a queue become eligible for a waiting contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierPolicy {
    /// Every tier at once (lower tiers still preferred).
    AllAtOnce,
    /// Tier `n` unlocks after the contact waited `(n - 1) × step`, like
    /// FreeSWITCH's tier rules.
    Progressive {
        /// Wait per tier level.
        step: Duration,
    },
}

/// Move a contact to another queue once it waited this long in this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overflow {
    /// Time in this queue before overflowing.
    pub after: Duration,
    /// The queue to move to; when the engine has no such queue the contact leaves it.
    pub to: QueueId,
}

/// Where a contact goes when it leaves a queue unserved (too long, queue full or empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeoutTarget {
    /// End the contact (hang up, close the chat).
    Disconnect,
    /// A voicemail box.
    Voicemail(String),
    /// Offer the customer a callback.
    Callback,
    /// Another IVR or chat flow, by name.
    Flow(String),
}

/// How a queue routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueConfig {
    /// How an agent is picked.
    pub strategy: Strategy,
    /// When higher tiers unlock.
    pub tiers: TierPolicy,
    /// How long an offer rings before it counts as unanswered (at least 1 ms).
    pub offer_timeout: Duration,
    /// Wrap-up after each contact of this queue, during which the agent gets no offers.
    pub wrap_up: Duration,
    /// Longest time a contact waits before leaving for the timeout target.
    pub max_wait: Option<Duration>,
    /// Most contacts waiting at once; a contact arriving at a full queue leaves at once.
    pub max_size: Option<usize>,
    /// Where contacts that leave unserved go.
    pub timeout_target: TimeoutTarget,
    /// Move to another queue after some time.
    pub overflow: Option<Overflow>,
    /// Whether the queue takes new contacts (the caller closes it outside business
    /// hours); contacts already waiting are still served.
    pub open: bool,
    /// Accept contacts when no logged-in agent could serve them.
    pub join_when_empty: bool,
    /// Send waiting contacts away when no logged-in agent could serve them any more.
    pub leave_when_empty: bool,
    /// How long a returning customer waits for the agent who served them last.
    pub sticky_window: Option<Duration>,
    /// Answered within this wait counts towards the service level.
    pub service_level: Duration,
    /// Announce position and expected wait at arrival and then this often (zero: once).
    pub announce_every: Option<Duration>,
    /// Handle time assumed for estimates until real ones are measured.
    pub expected_handle_time: Duration,
}

impl QueueConfig {
    /// An open queue with this strategy: all tiers at once, 20 s offers, no
    /// wrap-up, no limits, no overflow, joinable when empty, 20 s service level,
    /// 3 min assumed handle time, disconnect as timeout target.
    pub fn new(strategy: Strategy) -> Self {
        Self {
            strategy,
            tiers: TierPolicy::AllAtOnce,
            offer_timeout: Duration::from_secs(20),
            wrap_up: Duration::ZERO,
            max_wait: None,
            max_size: None,
            timeout_target: TimeoutTarget::Disconnect,
            overflow: None,
            open: true,
            join_when_empty: true,
            leave_when_empty: false,
            sticky_window: None,
            service_level: Duration::from_secs(20),
            announce_every: None,
            expected_handle_time: Duration::from_secs(180),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strategy_names_round_trip() {
        for name in [
            "longest-idle",
            "round-robin",
            "fewest-contacts",
            "least-talk-time",
            "ring-all",
            "top-down",
            "random",
            "skills-best-match",
        ] {
            let strategy: Strategy = name.parse().expect("known strategy");
            assert_eq!(strategy.to_string(), name);
        }
        assert_eq!(
            "fastest".parse::<Strategy>(),
            Err(AcdError::UnknownStrategy("fastest".into()))
        );
    }

    #[test]
    fn capacity_is_set_per_channel() {
        let capacity = Capacity::voice_only().with(Channel::Chat, 5);
        assert_eq!(capacity.of(Channel::Voice), 1);
        assert_eq!(capacity.of(Channel::Chat), 5);
        assert_eq!(capacity.of(Channel::Email), 0);
    }
}
