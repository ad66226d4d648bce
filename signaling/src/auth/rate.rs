//! A per-source-address request rate limit: one token bucket per IP address,
//! refilled continuously, sans-IO (time is a parameter). Addresses are tracked in
//! a bounded map, so a flood from many addresses cannot exhaust memory; an
//! evicted address simply starts again with a full bucket.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::bounded::BoundedMap;

/// How many requests an address may send: `burst` at once, then `per_second`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Bucket size: requests accepted back to back from an idle address.
    pub burst: u32,
    /// Sustained requests per second.
    pub per_second: f64,
}

impl Default for RateLimit {
    /// 50 requests at once, 20 per second sustained: far above what phones and
    /// trunks send (a REGISTER every few minutes, a few requests per call), far
    /// below a scanner.
    fn default() -> Self {
        Self {
            burst: 50,
            per_second: 20.0,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

/// Token buckets per source address.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    limit: RateLimit,
    buckets: BoundedMap<IpAddr, Bucket>,
}

impl RateLimiter {
    pub(crate) fn new(limit: RateLimit, max_addresses: usize) -> Self {
        Self {
            limit,
            buckets: BoundedMap::new(max_addresses),
        }
    }

    /// Takes a token for a request from `addr` at `now`; false if none is left.
    pub(crate) fn allow(&mut self, addr: IpAddr, now: Instant) -> bool {
        let burst = f64::from(self.limit.burst);
        let bucket = self.buckets.get_or_insert_with(addr, || Bucket {
            tokens: burst,
            refilled_at: now,
        });
        let elapsed: Duration = now.saturating_duration_since(bucket.refilled_at);
        bucket.tokens = (bucket.tokens + elapsed.as_secs_f64() * self.limit.per_second).min(burst);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDR: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

    fn limiter() -> RateLimiter {
        RateLimiter::new(
            RateLimit {
                burst: 5,
                per_second: 2.0,
            },
            100,
        )
    }

    #[test]
    fn a_burst_is_allowed_and_the_request_after_it_refused() {
        let mut limiter = limiter();
        let now = Instant::now();
        for _ in 0..5 {
            assert!(limiter.allow(ADDR, now));
        }
        assert!(!limiter.allow(ADDR, now));
    }

    #[test]
    fn tokens_come_back_at_the_sustained_rate_up_to_the_burst() {
        let mut limiter = limiter();
        let start = Instant::now();
        for _ in 0..5 {
            limiter.allow(ADDR, start);
        }
        assert!(!limiter.allow(ADDR, start + Duration::from_millis(400)));
        assert!(limiter.allow(ADDR, start + Duration::from_millis(500)));
        assert!(!limiter.allow(ADDR, start + Duration::from_millis(500)));
        let much_later = start + Duration::from_secs(3600);
        for _ in 0..5 {
            assert!(limiter.allow(ADDR, much_later));
        }
        assert!(!limiter.allow(ADDR, much_later));
    }

    #[test]
    fn each_address_has_its_own_bucket() {
        let mut limiter = limiter();
        let now = Instant::now();
        for _ in 0..5 {
            limiter.allow(ADDR, now);
        }
        assert!(limiter.allow("192.0.2.2".parse().unwrap(), now));
    }

    #[test]
    fn tracked_addresses_are_capped() {
        let mut limiter = RateLimiter::new(RateLimit::default(), 10);
        let now = Instant::now();
        for host in 0..=255u8 {
            limiter.allow(IpAddr::V4(std::net::Ipv4Addr::new(198, 51, 100, host)), now);
        }
        assert_eq!(limiter.buckets.len(), 10);
    }
}
