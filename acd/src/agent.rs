//! A logged-in agent: the presence they chose (not ready, ready, wrap-up), the
//! contacts they are offered or handle, and the capacity rules deciding whether
//! one more contact of a channel fits. An agent who is logged out has no `Agent`
//! value at all, so "logged out with contacts" cannot be represented.

use std::collections::BTreeMap;
use std::time::Instant;

use crate::config::{AgentProfile, Membership, SkillRequirement};
use crate::ids::{Channel, ContactId, QueueId, ReasonCode};

/// The state of an agent as reported to the outside world.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AgentState {
    /// Not logged in.
    LoggedOut,
    /// Logged in, taking no new contacts, for a reason.
    NotReady(ReasonCode),
    /// Waiting for contacts, handling none.
    Ready,
    /// Ready and handling or being offered at least one contact; may still get
    /// offers on channels with spare capacity.
    Busy,
    /// Finishing after-contact work; no offers until `until` or wrap-up done.
    WrapUp {
        /// When wrap-up ends by itself.
        until: Instant,
    },
}

/// What the agent chose, or what the engine set for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Presence {
    NotReady { reason: ReasonCode, since: Instant },
    Ready,
    WrapUp { since: Instant, until: Instant },
}

/// How an agent is involved with one contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Engagement {
    Offered,
    Assigned { since: Instant },
}

/// One contact on an agent's desk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Load {
    pub(crate) channel: Channel,
    pub(crate) engagement: Engagement,
}

#[derive(Debug, Clone)]
pub(crate) struct Agent {
    pub(crate) profile: AgentProfile,
    pub(crate) presence: Presence,
    pub(crate) desk: BTreeMap<ContactId, Load>,
    pub(crate) idle_since: Instant,
    pub(crate) logged_in_at: Instant,
    pub(crate) consecutive_no_answers: u32,
}

impl Agent {
    pub(crate) fn logged_in(profile: AgentProfile, now: Instant) -> Self {
        Self {
            profile,
            presence: Presence::NotReady {
                reason: ReasonCode::logged_in(),
                since: now,
            },
            desk: BTreeMap::new(),
            idle_since: now,
            logged_in_at: now,
            consecutive_no_answers: 0,
        }
    }

    pub(crate) fn state(&self) -> AgentState {
        match &self.presence {
            Presence::NotReady { reason, .. } => AgentState::NotReady(reason.clone()),
            Presence::WrapUp { until, .. } => AgentState::WrapUp { until: *until },
            Presence::Ready if self.desk.is_empty() => AgentState::Ready,
            Presence::Ready => AgentState::Busy,
        }
    }

    pub(crate) fn load(&self, channel: Channel) -> usize {
        self.desk.values().filter(|l| l.channel == channel).count()
    }

    pub(crate) fn has_assigned_contacts(&self) -> bool {
        self.desk
            .values()
            .any(|l| matches!(l.engagement, Engagement::Assigned { .. }))
    }

    /// Whether one more contact of `channel` may be offered now.
    pub(crate) fn can_take(&self, channel: Channel) -> bool {
        if self.presence != Presence::Ready {
            return false;
        }
        if self.load(channel) >= usize::from(self.profile.capacity.of(channel)) {
            return false;
        }
        !(self.profile.voice_blocks_other_channels
            && channel != Channel::Voice
            && self.load(Channel::Voice) > 0)
    }

    /// Whether any channel could take one more contact now.
    pub(crate) fn can_take_any(&self) -> bool {
        Channel::ALL.iter().any(|&c| self.can_take(c))
    }

    pub(crate) fn membership(&self, queue: QueueId) -> Option<Membership> {
        self.profile.queues.get(&queue).copied()
    }

    pub(crate) fn qualifies(&self, required: &[SkillRequirement]) -> bool {
        required.iter().all(|r| {
            self.profile
                .skills
                .get(&r.skill)
                .is_some_and(|&level| level >= r.min_level)
        })
    }

    /// Sum of the agent's levels in the required skills.
    pub(crate) fn skill_score(&self, required: &[SkillRequirement]) -> u32 {
        required
            .iter()
            .filter_map(|r| self.profile.skills.get(&r.skill))
            .map(|level| u32::from(level.get()))
            .sum()
    }

    pub(crate) fn is_staffing(&self) -> bool {
        !matches!(self.presence, Presence::NotReady { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Capacity;
    use crate::ids::{SkillId, SkillLevel};

    fn ready_agent(profile: AgentProfile) -> Agent {
        let mut agent = Agent::logged_in(profile, Instant::now());
        agent.presence = Presence::Ready;
        agent
    }

    fn load(channel: Channel) -> Load {
        Load {
            channel,
            engagement: Engagement::Offered,
        }
    }

    #[test]
    fn a_new_login_is_not_ready_until_the_agent_says_so() {
        let agent = Agent::logged_in(AgentProfile::new(Capacity::voice_only()), Instant::now());
        assert_eq!(agent.state(), AgentState::NotReady(ReasonCode::logged_in()));
        assert!(!agent.can_take(Channel::Voice));
    }

    #[test]
    fn capacity_is_counted_per_channel() {
        let mut agent = ready_agent(AgentProfile::new(
            Capacity::voice_only().with(Channel::Chat, 2),
        ));
        agent.desk.insert(ContactId(1), load(Channel::Chat));
        assert!(agent.can_take(Channel::Chat));
        agent.desk.insert(ContactId(2), load(Channel::Chat));
        assert!(!agent.can_take(Channel::Chat));
        assert!(agent.can_take(Channel::Voice));
        assert!(!agent.can_take(Channel::Email));
        assert_eq!(agent.state(), AgentState::Busy);
    }

    #[test]
    fn voice_blocks_other_channels_only_when_configured() {
        let mut profile = AgentProfile::new(Capacity::voice_only().with(Channel::Chat, 5));
        let mut agent = ready_agent(profile.clone());
        agent.desk.insert(ContactId(1), load(Channel::Voice));
        assert!(agent.can_take(Channel::Chat));

        profile.voice_blocks_other_channels = true;
        agent.profile = profile;
        assert!(!agent.can_take(Channel::Chat));
        assert!(!agent.can_take_any());
    }

    #[test]
    fn skills_must_meet_every_minimum_level() {
        let level = |n| SkillLevel::new(n).expect("valid level");
        let agent = ready_agent(
            AgentProfile::new(Capacity::voice_only())
                .with_skill(SkillId(1), level(5))
                .with_skill(SkillId(2), level(3)),
        );
        let need = |skill, min| SkillRequirement {
            skill: SkillId(skill),
            min_level: level(min),
        };
        assert!(agent.qualifies(&[need(1, 5), need(2, 1)]));
        assert!(!agent.qualifies(&[need(1, 6)]));
        assert!(!agent.qualifies(&[need(3, 1)]));
        assert_eq!(agent.skill_score(&[need(1, 1), need(2, 1)]), 8);
    }
}
