//! Login rate limiting, per client address and per account: after too many failures in
//! a window, further attempts are refused without checking the password (so they cost
//! no argon2 time and reveal nothing), with a message saying when to try again.
//!
//! In memory, per process: each host of a cluster counts for itself, which bounds an
//! attacker to hosts × limit per window.

use std::collections::HashMap;
use std::sync::Mutex;

/// Failures allowed per client address per window.
pub const PER_ADDRESS: usize = 20;
/// Failures allowed per account per window (lower: one account is the usual target).
pub const PER_ACCOUNT: usize = 8;
/// The window, in seconds.
pub const WINDOW_SECS: u64 = 15 * 60;
/// Most keys remembered; beyond, the oldest window is forgotten wholesale.
const MAX_KEYS: usize = 100_000;

/// Failure counts by key.
#[derive(Debug, Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<u64>>>,
}

impl LoginLimiter {
    /// Seconds until `address` and `account` may try again, or `None` if they may now.
    pub fn blocked(&self, address: &str, account: &str, now: u64) -> Option<u64> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = None;
        for (key, limit) in
            [(format!("ip:{address}"), PER_ADDRESS), (format!("account:{account}"), PER_ACCOUNT)]
        {
            if let Some(times) = map.get_mut(&key) {
                times.retain(|t| now.saturating_sub(*t) < WINDOW_SECS);
                if times.len() >= limit {
                    let until = times[times.len() - limit] + WINDOW_SECS;
                    wait = Some(wait.unwrap_or(0).max(until.saturating_sub(now).max(1)));
                }
            }
        }
        wait
    }

    /// Counts a failed login.
    pub fn failed(&self, address: &str, account: &str, now: u64) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_KEYS {
            map.clear();
        }
        for key in [format!("ip:{address}"), format!("account:{account}")] {
            let times = map.entry(key).or_default();
            times.push(now);
            // Only the last PER_ADDRESS matter.
            if times.len() > PER_ADDRESS {
                times.remove(0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_and_addresses_are_limited_separately() {
        let limiter = LoginLimiter::default();
        for n in 0..PER_ACCOUNT as u64 {
            assert_eq!(limiter.blocked("1.1.1.1", "alice@example.org", 100 + n), None);
            limiter.failed("1.1.1.1", "alice@example.org", 100 + n);
        }
        let wait = limiter.blocked("2.2.2.2", "alice@example.org", 110).expect("account blocked");
        assert!(wait > 0 && wait <= WINDOW_SECS);
        assert_eq!(
            limiter.blocked("1.1.1.1", "bob@example.org", 110),
            None,
            "another account may try"
        );
        assert_eq!(
            limiter.blocked("2.2.2.2", "alice@example.org", 100 + WINDOW_SECS + 10),
            None,
            "window over"
        );
        for n in 0..PER_ADDRESS as u64 {
            limiter.failed("3.3.3.3", &format!("user{n}@example.org"), 500);
        }
        assert!(
            limiter.blocked("3.3.3.3", "someone@example.org", 501).is_some(),
            "address blocked"
        );
    }
}
