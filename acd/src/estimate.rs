//! Expected waiting time. A queue keeps a moving average of its most recent
//! handle times; a contact at position `p` with `n` staffed agents is expected to
//! wait `p × average / n`.

use std::collections::VecDeque;
use std::time::Duration;

/// How many recent handle times the average covers.
const WINDOW: usize = 20;

/// The most recent handle times of a queue.
#[derive(Debug, Clone, Default)]
pub(crate) struct HandleTimes {
    recent: VecDeque<Duration>,
    sum: Duration,
}

impl HandleTimes {
    pub(crate) fn record(&mut self, handle_time: Duration) {
        if self.recent.len() == WINDOW {
            if let Some(oldest) = self.recent.pop_front() {
                self.sum = self.sum.saturating_sub(oldest);
            }
        }
        self.recent.push_back(handle_time);
        self.sum = self.sum.saturating_add(handle_time);
    }

    /// The moving average, or `assumed` before anything was measured.
    pub(crate) fn average_or(&self, assumed: Duration) -> Duration {
        match u32::try_from(self.recent.len()) {
            Ok(0) | Err(_) => assumed,
            Ok(n) => self.sum / n,
        }
    }
}

/// Expected wait at `position` (1 = next) with `staffed` agents working the queue;
/// with nobody staffed, as if one agent were.
pub(crate) fn expected_wait(position: usize, average_handle: Duration, staffed: usize) -> Duration {
    let nanos = average_handle.as_nanos() * position as u128 / staffed.max(1) as u128;
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn average_starts_from_the_assumed_handle_time() {
        let times = HandleTimes::default();
        assert_eq!(
            times.average_or(Duration::from_secs(180)),
            Duration::from_secs(180)
        );
    }

    #[test]
    fn average_covers_only_the_most_recent_contacts() {
        let mut times = HandleTimes::default();
        for _ in 0..WINDOW {
            times.record(Duration::from_secs(600));
        }
        for _ in 0..WINDOW {
            times.record(Duration::from_secs(60));
        }
        assert_eq!(times.average_or(Duration::ZERO), Duration::from_secs(60));
    }

    #[test]
    fn expected_wait_grows_with_position_and_shrinks_with_agents() {
        let aht = Duration::from_secs(120);
        assert_eq!(expected_wait(1, aht, 1), Duration::from_secs(120));
        assert_eq!(expected_wait(3, aht, 2), Duration::from_secs(180));
        assert_eq!(expected_wait(2, aht, 0), Duration::from_secs(240));
    }
}
