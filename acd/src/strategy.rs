//! Picking agents for one contact. The engine hands over the agents able to take
//! it right now as `Candidate`s; the best (tier, penalty) group among them is
//! kept, and the queue's `Strategy` picks inside that group: one agent, or every
//! one of them for ring-all.

use std::time::{Duration, Instant};

use crate::config::Strategy;
use crate::ids::AgentId;
use crate::rng::RandomSource;

/// An agent able to take the contact, with what the strategies rank by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidate {
    pub(crate) agent: AgentId,
    pub(crate) tier: u8,
    pub(crate) penalty: u8,
    pub(crate) idle_since: Instant,
    pub(crate) handled: u64,
    pub(crate) talk_time: Duration,
    pub(crate) skill_score: u32,
}

impl Candidate {
    fn group(&self) -> (u8, u8) {
        (self.tier.max(1), self.penalty)
    }
}

/// The agents to offer the contact to; empty only when `candidates` is.
pub(crate) fn choose(
    strategy: Strategy,
    candidates: &[Candidate],
    round_robin_after: Option<AgentId>,
    rng: &mut impl RandomSource,
) -> Vec<AgentId> {
    let Some(best) = candidates.iter().map(Candidate::group).min() else {
        return Vec::new();
    };
    let mut group: Vec<&Candidate> = candidates.iter().filter(|c| c.group() == best).collect();
    group.sort_by_key(|c| c.agent);
    let pick = match strategy {
        Strategy::RingAll => return group.iter().map(|c| c.agent).collect(),
        Strategy::LongestIdle => group.iter().min_by_key(|c| (c.idle_since, c.agent)),
        Strategy::RoundRobin => group
            .iter()
            .find(|c| round_robin_after.is_some_and(|last| c.agent > last))
            .or_else(|| group.first()),
        Strategy::FewestContacts => group
            .iter()
            .min_by_key(|c| (c.handled, c.idle_since, c.agent)),
        Strategy::LeastTalkTime => group
            .iter()
            .min_by_key(|c| (c.talk_time, c.idle_since, c.agent)),
        Strategy::TopDown => group.first(),
        Strategy::Random => group.get(rng.below(group.len())),
        Strategy::SkillsBestMatch => group
            .iter()
            .min_by_key(|c| (std::cmp::Reverse(c.skill_score), c.idle_since, c.agent)),
    };
    pick.map(|c| vec![c.agent]).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    fn candidate(agent: u64, t0: Instant) -> Candidate {
        Candidate {
            agent: AgentId(agent),
            tier: 1,
            penalty: 0,
            idle_since: t0,
            handled: 0,
            talk_time: Duration::ZERO,
            skill_score: 0,
        }
    }

    fn pick(strategy: Strategy, candidates: &[Candidate], after: Option<AgentId>) -> Vec<AgentId> {
        choose(strategy, candidates, after, &mut SplitMix64::seeded(3))
    }

    #[test]
    fn nobody_to_choose_from_yields_nobody() {
        assert!(pick(Strategy::RingAll, &[], None).is_empty());
        assert!(pick(Strategy::Random, &[], None).is_empty());
    }

    #[test]
    fn lower_tier_then_lower_penalty_is_preferred_by_every_strategy() {
        let t0 = Instant::now();
        let mut tier_two = candidate(1, t0);
        tier_two.tier = 2;
        let mut penalized = candidate(2, t0);
        penalized.penalty = 3;
        let best = candidate(3, t0 + Duration::from_secs(100));
        let all = [tier_two, penalized, best];
        for strategy in [
            Strategy::LongestIdle,
            Strategy::RoundRobin,
            Strategy::FewestContacts,
            Strategy::LeastTalkTime,
            Strategy::RingAll,
            Strategy::TopDown,
            Strategy::Random,
            Strategy::SkillsBestMatch,
        ] {
            assert_eq!(pick(strategy, &all, None), vec![AgentId(3)], "{strategy}");
        }
    }

    #[test]
    fn round_robin_continues_after_the_last_agent_and_wraps() {
        let t0 = Instant::now();
        let all = [candidate(1, t0), candidate(4, t0), candidate(7, t0)];
        assert_eq!(
            pick(Strategy::RoundRobin, &all, Some(AgentId(4))),
            vec![AgentId(7)]
        );
        assert_eq!(
            pick(Strategy::RoundRobin, &all, Some(AgentId(7))),
            vec![AgentId(1)]
        );
        assert_eq!(pick(Strategy::RoundRobin, &all, None), vec![AgentId(1)]);
    }

    #[test]
    fn random_draws_from_the_injected_source() {
        let t0 = Instant::now();
        let all = [candidate(1, t0), candidate(2, t0), candidate(3, t0)];
        let mut rng = SplitMix64::seeded(11);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..50 {
            seen.extend(choose(Strategy::Random, &all, None, &mut rng));
        }
        assert_eq!(seen.len(), 3);
    }
}
