//! Defences in front of the SIP core, per source IP address: a failed-auth
//! counter that bans an address after too many failures in a window (against
//! `svcrack`-style password guessing), and a request rate limit ([`RateLimit`]).
//!
//! The driver asks [`Guard::admit`] for every request before parsing further and
//! drops it silently unless the answer is [`Admission::Admit`] — a banned scanner
//! learns nothing, not even that it was banned. It reports each authentication
//! failure with [`Guard::record_failure`]. Time is a parameter (`Instant`), and
//! memory is bounded: at most `max_tracked_addresses` addresses are remembered
//! for each purpose, the oldest forgotten first. No-enumeration (the same answer
//! for an unknown user and a wrong password) is the registrar's and
//! [`super::digest`]'s job, not this one's.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::bounded::BoundedMap;
use super::rate::{RateLimit, RateLimiter};

/// Settings of the guard.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardConfig {
    /// Failures within `failure_window` that ban an address. Default 10.
    pub max_failures: usize,
    /// The window failures are counted in. Default 60 s.
    pub failure_window: Duration,
    /// How long a ban lasts. Default 10 min.
    pub ban: Duration,
    /// Addresses remembered per purpose (failures, rate). Default 65 536.
    pub max_tracked_addresses: usize,
    /// The per-address request rate limit.
    pub rate: RateLimit,
}

impl Default for GuardConfig {
    fn default() -> Self {
        Self {
            max_failures: 10,
            failure_window: Duration::from_secs(60),
            ban: Duration::from_secs(600),
            max_tracked_addresses: 65_536,
            rate: RateLimit::default(),
        }
    }
}

/// Whether to process a request from an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Process it.
    Admit,
    /// The address is banned: drop the request without answering.
    Banned,
    /// The address sends faster than its rate limit: drop the request.
    RateLimited,
}

/// Per-address bans and rate limits.
#[derive(Debug)]
pub struct Guard {
    config: GuardConfig,
    /// Times of each address's failures still inside the window, oldest first.
    failures: BoundedMap<IpAddr, VecDeque<Instant>>,
    /// When each banned address's ban ends. Kept apart from `failures`, so that
    /// failures from many (possibly spoofed) addresses evict other failure
    /// counts, not bans: evicting a ban takes `max_failures` failures per
    /// address, for `max_tracked_addresses` addresses.
    bans: BoundedMap<IpAddr, Instant>,
    rate: RateLimiter,
}

impl Guard {
    /// A guard with no history.
    pub fn new(config: GuardConfig) -> Self {
        Self {
            failures: BoundedMap::new(config.max_tracked_addresses),
            bans: BoundedMap::new(config.max_tracked_addresses),
            rate: RateLimiter::new(config.rate, config.max_tracked_addresses),
            config,
        }
    }

    /// Whether to process a request from `addr` at `now`. A banned address uses
    /// no rate tokens.
    pub fn admit(&mut self, addr: IpAddr, now: Instant) -> Admission {
        if self.is_banned(addr, now) {
            Admission::Banned
        } else if self.rate.allow(addr, now) {
            Admission::Admit
        } else {
            Admission::RateLimited
        }
    }

    /// Whether `addr` is banned at `now`. A ban that has run out is forgotten.
    pub fn is_banned(&mut self, addr: IpAddr, now: Instant) -> bool {
        let Some(&until) = self.bans.get(&addr) else {
            return false;
        };
        if now < until {
            return true;
        }
        self.bans.remove(&addr);
        false
    }

    /// Records a failed authentication from `addr` at `now`. Returns true when
    /// this failure got the address banned; its failure count then starts over.
    pub fn record_failure(&mut self, addr: IpAddr, now: Instant) -> bool {
        if self.is_banned(addr, now) {
            return false;
        }
        let window = self.config.failure_window;
        let recent = self.failures.get_or_insert_with(addr, VecDeque::new);
        while recent
            .front()
            .is_some_and(|&failed| now.saturating_duration_since(failed) >= window)
        {
            recent.pop_front();
        }
        recent.push_back(now);
        if recent.len() < self.config.max_failures {
            return false;
        }
        self.failures.remove(&addr);
        *self.bans.get_or_insert_with(addr, || now) = now + self.config.ban;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const SCANNER: IpAddr = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 66));
    const PHONE: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 20));

    fn guard() -> Guard {
        Guard::new(GuardConfig::default())
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn ten_failures_in_a_minute_ban_the_address_for_ten_minutes() {
        let mut guard = guard();
        let start = Instant::now();
        for attempt in 0..9 {
            assert!(!guard.record_failure(SCANNER, start + secs(attempt * 5)));
            assert_eq!(
                guard.admit(SCANNER, start + secs(attempt * 5)),
                Admission::Admit
            );
        }
        assert!(guard.record_failure(SCANNER, start + secs(50)));
        assert_eq!(guard.admit(SCANNER, start + secs(51)), Admission::Banned);
        assert_eq!(
            guard.admit(SCANNER, start + secs(50 + 599)),
            Admission::Banned
        );
        assert_eq!(
            guard.admit(SCANNER, start + secs(50 + 600)),
            Admission::Admit
        );
    }

    #[test]
    fn failures_spread_beyond_the_window_do_not_ban() {
        let mut guard = guard();
        let start = Instant::now();
        for attempt in 0..30 {
            assert!(!guard.record_failure(SCANNER, start + secs(attempt * 7)));
        }
        assert_eq!(guard.admit(SCANNER, start + secs(300)), Admission::Admit);
    }

    #[test]
    fn after_a_ban_the_failure_count_starts_again() {
        let mut guard = guard();
        let start = Instant::now();
        for _ in 0..10 {
            guard.record_failure(SCANNER, start);
        }
        let after_ban = start + secs(600);
        assert_eq!(guard.admit(SCANNER, after_ban), Admission::Admit);
        assert!(!guard.record_failure(SCANNER, after_ban));
        assert_eq!(guard.admit(SCANNER, after_ban), Admission::Admit);
    }

    #[test]
    fn a_ban_touches_only_the_failing_address() {
        let mut guard = guard();
        let now = Instant::now();
        for _ in 0..10 {
            guard.record_failure(SCANNER, now);
        }
        assert_eq!(guard.admit(SCANNER, now), Admission::Banned);
        assert_eq!(guard.admit(PHONE, now), Admission::Admit);
    }

    #[test]
    fn a_flood_beyond_the_rate_limit_is_refused_until_tokens_return() {
        let mut guard = Guard::new(GuardConfig {
            rate: RateLimit {
                burst: 3,
                per_second: 1.0,
            },
            ..GuardConfig::default()
        });
        let now = Instant::now();
        for _ in 0..3 {
            assert_eq!(guard.admit(PHONE, now), Admission::Admit);
        }
        assert_eq!(guard.admit(PHONE, now), Admission::RateLimited);
        assert_eq!(guard.admit(PHONE, now + secs(1)), Admission::Admit);
    }

    #[test]
    fn failures_from_many_addresses_do_not_evict_a_ban() {
        let mut guard = Guard::new(GuardConfig {
            max_tracked_addresses: 100,
            ..GuardConfig::default()
        });
        let now = Instant::now();
        for _ in 0..10 {
            guard.record_failure(SCANNER, now);
        }
        for host in 0..=255u8 {
            guard.record_failure(IpAddr::V4(Ipv4Addr::new(198, 51, 100, host)), now);
        }
        assert_eq!(guard.admit(SCANNER, now), Admission::Banned);
    }

    #[test]
    fn tracked_failures_and_bans_are_capped() {
        let mut guard = Guard::new(GuardConfig {
            max_tracked_addresses: 100,
            ..GuardConfig::default()
        });
        let now = Instant::now();
        let host = |n: u8| IpAddr::V4(Ipv4Addr::new(198, 51, 100, n));
        for n in 0..=255u8 {
            guard.record_failure(host(n), now);
        }
        assert_eq!(guard.failures.len(), 100);
        for n in 0..=255u8 {
            for _ in 0..10 {
                guard.record_failure(host(n), now);
            }
        }
        assert_eq!(guard.bans.len(), 100);
        assert_eq!(guard.admit(host(255), now), Admission::Banned);
    }
}
