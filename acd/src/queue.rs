//! A queue in the engine: its configuration, its line of waiting contacts (also
//! split by channel, so that an agent with room on one channel walks only the
//! contacts of that channel), the round-robin cursor, the recent handle times
//! for estimates and its tallies.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::config::{QueueConfig, TierPolicy};
use crate::contact::LineKey;
use crate::estimate::HandleTimes;
use crate::ids::{AgentId, Channel};
use crate::metrics::QueueTally;

#[derive(Debug, Clone)]
pub(crate) struct Queue {
    pub(crate) config: QueueConfig,
    /// Contacts waiting or being offered, in line order.
    pub(crate) line: BTreeSet<LineKey>,
    /// The same contacts by channel (indexed by `Channel::index`).
    by_channel: [BTreeSet<LineKey>; 5],
    pub(crate) round_robin_after: Option<AgentId>,
    pub(crate) handle_times: HandleTimes,
    pub(crate) tally: QueueTally,
    /// Highest tier among members logged in since the queue was configured, to
    /// know when unlocking stops (never lowered on logout: a stale value only
    /// costs a spare wake-up).
    pub(crate) highest_tier: u8,
}

impl Queue {
    pub(crate) fn new(config: QueueConfig) -> Self {
        Self {
            config,
            line: BTreeSet::new(),
            by_channel: Default::default(),
            round_robin_after: None,
            handle_times: HandleTimes::default(),
            tally: QueueTally::default(),
            highest_tier: 1,
        }
    }

    pub(crate) fn enter_line(&mut self, key: LineKey, channel: Channel) {
        self.line.insert(key);
        self.by_channel[channel.index()].insert(key);
    }

    pub(crate) fn leave_line(&mut self, key: &LineKey, channel: Channel) {
        self.line.remove(key);
        self.by_channel[channel.index()].remove(key);
    }

    /// The contacts of one channel waiting or being offered, in line order.
    pub(crate) fn line_of(&self, channel: Channel) -> &BTreeSet<LineKey> {
        &self.by_channel[channel.index()]
    }

    /// Whether members of `tier` may be offered a contact that entered at `entered`.
    pub(crate) fn tier_unlocked(&self, tier: u8, entered: Instant, now: Instant) -> bool {
        match self.config.tiers {
            TierPolicy::AllAtOnce => true,
            TierPolicy::Progressive { step } => {
                let levels_above_first = u32::from(tier.max(1) - 1);
                now.saturating_duration_since(entered) >= step.saturating_mul(levels_above_first)
            }
        }
    }

    /// When the next tier unlocks for a contact that entered at `entered`, if one is left.
    pub(crate) fn next_tier_unlock(&self, entered: Instant, now: Instant) -> Option<Instant> {
        let TierPolicy::Progressive { step } = self.config.tiers else {
            return None;
        };
        (2..=self.highest_tier)
            .map(|tier| entered + step.saturating_mul(u32::from(tier - 1)))
            .find(|&at| at > now)
    }

    pub(crate) fn average_handle_time(&self) -> Duration {
        self.handle_times
            .average_or(self.config.expected_handle_time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Strategy;

    fn progressive(step_secs: u64) -> Queue {
        let mut config = QueueConfig::new(Strategy::LongestIdle);
        config.tiers = TierPolicy::Progressive {
            step: Duration::from_secs(step_secs),
        };
        let mut queue = Queue::new(config);
        queue.highest_tier = 3;
        queue
    }

    #[test]
    fn progressive_tiers_unlock_one_step_at_a_time() {
        let queue = progressive(30);
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        assert!(queue.tier_unlocked(1, t0, t0));
        assert!(queue.tier_unlocked(0, t0, t0));
        assert!(!queue.tier_unlocked(2, t0, at(29)));
        assert!(queue.tier_unlocked(2, t0, at(30)));
        assert!(!queue.tier_unlocked(3, t0, at(59)));
        assert_eq!(queue.next_tier_unlock(t0, at(10)), Some(at(30)));
        assert_eq!(queue.next_tier_unlock(t0, at(30)), Some(at(60)));
        assert_eq!(queue.next_tier_unlock(t0, at(60)), None);
    }

    #[test]
    fn all_at_once_never_waits() {
        let queue = Queue::new(QueueConfig::new(Strategy::RingAll));
        let t0 = Instant::now();
        assert!(queue.tier_unlocked(9, t0, t0));
        assert_eq!(queue.next_tier_unlock(t0, t0), None);
    }
}
