//! Timer values of RFC 3261 §17 (table 4) and RFC 6026, from the three base
//! values T1, T2 and T4, and the retransmission schedule they produce.
//!
//! Only durations live here; deadlines are computed by each state machine from the
//! `now` it is given.

use std::time::{Duration, Instant};

/// The base timer values. [`Default`] gives the RFC 3261 values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// RTT estimate (RFC default 500 ms).
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests and INVITE responses
    /// (RFC default 4 s).
    pub t2: Duration,
    /// Maximum time a message stays in the network (RFC default 5 s).
    pub t4: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Self {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
            t4: Duration::from_secs(5),
        }
    }
}

impl Timers {
    /// 64·T1: Timers B, F, H, J (unreliable), L and M.
    pub fn transaction_timeout(&self) -> Duration {
        self.t1 * 64
    }

    /// Timer D: how long a completed INVITE client absorbs retransmitted final
    /// responses. At least 32 s on unreliable transports (RFC 3261 §17.1.1.2).
    pub fn timer_d(&self) -> Duration {
        self.transaction_timeout().max(Duration::from_secs(32))
    }
}

/// A pending retransmission: when it is due, and the interval that led to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Retransmit {
    pub(super) at: Instant,
    pub(super) interval: Duration,
}

impl Retransmit {
    /// The first retransmission, T1 after `now`; `None` on reliable transports,
    /// where timers A, E and G are not used.
    pub(super) fn first(now: Instant, timers: &Timers, reliable: bool) -> Option<Self> {
        (!reliable).then_some(Self {
            at: now + timers.t1,
            interval: timers.t1,
        })
    }

    /// The next retransmission after this one fired at `now`, the interval doubled
    /// and capped at `cap` (T2 for E and G; INVITE requests are not capped).
    pub(super) fn next(self, now: Instant, cap: Option<Duration>) -> Self {
        let doubled = self.interval * 2;
        let interval = cap.map_or(doubled, |cap| doubled.min(cap));
        Self {
            at: now + interval,
            interval,
        }
    }

    /// Whether it is due at `now`.
    pub(super) fn is_due(&self, now: Instant) -> bool {
        self.at <= now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_3261_defaults() {
        let timers = Timers::default();
        assert_eq!(timers.transaction_timeout(), Duration::from_secs(32));
        assert_eq!(timers.timer_d(), Duration::from_secs(32));
    }

    #[test]
    fn timer_d_is_at_least_32_seconds_even_with_a_small_t1() {
        let timers = Timers {
            t1: Duration::from_millis(100),
            ..Timers::default()
        };
        assert_eq!(timers.timer_d(), Duration::from_secs(32));
    }

    #[test]
    fn retransmissions_double_up_to_the_cap() {
        let timers = Timers::default();
        let start = Instant::now();
        let mut retransmit = Retransmit::first(start, &timers, false).unwrap();
        let mut intervals = vec![retransmit.interval];
        for _ in 0..5 {
            retransmit = retransmit.next(retransmit.at, Some(timers.t2));
            intervals.push(retransmit.interval);
        }
        let ms: Vec<u128> = intervals.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [500, 1000, 2000, 4000, 4000, 4000]);
    }

    #[test]
    fn reliable_transports_do_not_retransmit() {
        assert_eq!(
            Retransmit::first(Instant::now(), &Timers::default(), true),
            None
        );
    }
}
