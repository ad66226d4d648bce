//! [`RateLimit`]: a token bucket that paces a sender (one connection, one
//! address). Time is a parameter: the caller passes `now` to every check,
//! so the bucket is tested without sleeping.

use std::time::{Duration, Instant};

/// Up to `burst` events at once, refilled at `per_second`.
#[derive(Debug, Clone)]
pub struct RateLimit {
    per_second: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimit {
    /// A full bucket at `now`.
    pub fn new(per_second: u32, burst: u32, now: Instant) -> Self {
        RateLimit {
            per_second: f64::from(per_second.max(1)),
            burst: f64::from(burst.max(1)),
            tokens: f64::from(burst.max(1)),
            last: now,
        }
    }

    /// Takes one token: `Ok` when the event may pass, else how long until
    /// one would.
    pub fn check(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - self.tokens) / self.per_second,
            ))
        }
    }

    /// Whether the bucket is full again at `now` (nothing to remember).
    pub fn is_idle(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens + elapsed * self.per_second >= self.burst
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_holds() {
        let t0 = Instant::now();
        let mut limit = RateLimit::new(2, 3, t0);
        for _ in 0..3 {
            assert!(limit.check(t0).is_ok());
        }
        let wait = limit.check(t0).expect_err("over the burst");
        assert!(wait <= Duration::from_millis(500) && wait > Duration::ZERO);
        assert!(limit.check(t0 + Duration::from_millis(500)).is_ok());
        assert!(limit.check(t0 + Duration::from_millis(500)).is_err());
        assert!(!limit.is_idle(t0 + Duration::from_millis(500)));
        assert!(limit.is_idle(t0 + Duration::from_secs(2)));
    }

    #[test]
    fn a_clock_going_backwards_gives_no_tokens() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let mut limit = RateLimit::new(1, 1, t0);
        assert!(limit.check(t0).is_ok());
        assert!(limit.check(t0 - Duration::from_secs(5)).is_err());
    }
}
