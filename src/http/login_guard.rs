//! Failed web logins counted per source address and per user name: too many
//! within a window lock that address or name out for a while, so passwords
//! cannot be guessed at argon2 speed, from one address or at one account.
//! Like the SIP guard (`kefu_signaling::auth::Guard`), but keyed by strings
//! and answering how long to wait. Time is a parameter; memory is bounded
//! (stale entries are dropped once `MAX_KEYS` are tracked). Per node, in
//! memory: a restart forgets it.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures from one address within [`WINDOW`] that lock it out.
pub const MAX_FAILURES_PER_ADDRESS: usize = 20;
/// Failures for one user name within [`WINDOW`] that lock it out.
pub const MAX_FAILURES_PER_USER: usize = 5;
/// The window failures are counted in.
pub const WINDOW: Duration = Duration::from_secs(300);
/// How long a lock-out lasts.
pub const LOCKOUT: Duration = Duration::from_secs(300);
const MAX_KEYS: usize = 65_536;

/// Login failures and lock-outs.
#[derive(Debug, Default)]
pub struct LoginGuard {
    inner: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    failures: HashMap<String, VecDeque<Instant>>,
    locked_until: HashMap<String, Instant>,
}

fn keys(addr: IpAddr, user: &str) -> [(String, usize); 2] {
    [
        (format!("addr {addr}"), MAX_FAILURES_PER_ADDRESS),
        (
            format!("user {}", user.to_lowercase()),
            MAX_FAILURES_PER_USER,
        ),
    ]
}

impl LoginGuard {
    /// How long to wait before `user` may try again from `addr`, if either is
    /// locked out at `now`.
    pub fn locked(&self, addr: IpAddr, user: &str, now: Instant) -> Option<Duration> {
        let Ok(mut counts) = self.inner.lock() else {
            return None;
        };
        let mut wait = None;
        for (key, _) in keys(addr, user) {
            if let Some(&until) = counts.locked_until.get(&key) {
                if now < until {
                    wait = wait.max(Some(until - now));
                } else {
                    counts.locked_until.remove(&key);
                }
            }
        }
        wait
    }

    /// Records a failed login of `user` from `addr` at `now`.
    pub fn failed(&self, addr: IpAddr, user: &str, now: Instant) {
        let Ok(mut counts) = self.inner.lock() else {
            return;
        };
        if counts.failures.len() >= MAX_KEYS {
            counts
                .failures
                .retain(|_, times| times.back().is_some_and(|&t| now - t < WINDOW));
            counts.locked_until.retain(|_, &mut until| until > now);
            if counts.failures.len() >= MAX_KEYS {
                counts.failures.clear();
            }
        }
        for (key, limit) in keys(addr, user) {
            let times = counts.failures.entry(key.clone()).or_default();
            while times.front().is_some_and(|&t| now - t >= WINDOW) {
                times.pop_front();
            }
            times.push_back(now);
            if times.len() >= limit {
                counts.failures.remove(&key);
                counts.locked_until.insert(key, now + LOCKOUT);
            }
        }
    }

    /// A successful login of `user`: its failures are forgotten (the
    /// address's are not).
    pub fn succeeded(&self, user: &str) {
        if let Ok(mut counts) = self.inner.lock() {
            counts
                .failures
                .remove(&format!("user {}", user.to_lowercase()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

    #[test]
    fn a_user_is_locked_out_after_five_failures_from_any_addresses() {
        let guard = LoginGuard::default();
        let now = Instant::now();
        for i in 0..MAX_FAILURES_PER_USER - 1 {
            let from = if i % 2 == 0 { A } else { B };
            guard.failed(from, "Alice", now);
            assert_eq!(guard.locked(from, "alice", now), None);
        }
        guard.failed(A, "alice", now);
        assert_eq!(guard.locked(B, "ALICE", now), Some(LOCKOUT));
        assert_eq!(guard.locked(B, "bob", now), None, "other users may log in");
        assert_eq!(guard.locked(B, "alice", now + LOCKOUT), None, "it ends");
    }

    #[test]
    fn an_address_is_locked_out_after_twenty_failures_across_names() {
        let guard = LoginGuard::default();
        let now = Instant::now();
        for i in 0..MAX_FAILURES_PER_ADDRESS {
            guard.failed(A, &format!("user{i}"), now);
        }
        assert_eq!(guard.locked(A, "someone-else", now), Some(LOCKOUT));
        assert_eq!(guard.locked(B, "someone-else", now), None);
    }

    #[test]
    fn failures_older_than_the_window_do_not_count_and_success_clears_the_user() {
        let guard = LoginGuard::default();
        let now = Instant::now();
        for _ in 0..MAX_FAILURES_PER_USER - 1 {
            guard.failed(A, "carol", now);
        }
        guard.failed(A, "carol", now + WINDOW);
        assert_eq!(guard.locked(A, "carol", now + WINDOW), None);
        for _ in 0..MAX_FAILURES_PER_USER - 2 {
            guard.failed(A, "dave", now);
        }
        guard.succeeded("dave");
        guard.failed(A, "dave", now);
        guard.failed(A, "dave", now);
        assert_eq!(guard.locked(A, "dave", now), None);
    }
}
