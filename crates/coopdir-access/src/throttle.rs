//! Failed-login throttling, per account and per client address.
//!
//! Written here rather than with a rate-limiting crate (governor and tower's limiters count
//! every request): only *failed* attempts count, and a login must be checked before its
//! attempt without spending anything. A sliding window of failure times per key does both.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How many failures a key may have within the window before it is refused.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub failures: usize,
    pub window: Duration,
}

pub(crate) struct Throttle {
    limit_per_account: Limit,
    limit_per_client: Limit,
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// Beyond this many tracked keys, expired entries are swept (bounds memory under a spray).
const SWEEP_AT: usize = 10_000;

impl Throttle {
    pub(crate) fn new(per_account: Limit, per_client: Limit) -> Self {
        Self {
            limit_per_account: per_account,
            limit_per_client: per_client,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn keys(account: &str, client: &str) -> [(String, bool); 2] {
        [
            (format!("account:{account}"), true),
            (format!("client:{client}"), false),
        ]
    }

    /// `Err(wait)` when either key has used up its failures.
    pub(crate) fn check(&self, account: &str, client: &str) -> Result<(), Duration> {
        let now = Instant::now();
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut wait = Duration::ZERO;
        for (key, is_account) in Self::keys(account, client) {
            let limit = self.limit(is_account);
            if let Some(times) = map.get_mut(&key) {
                while times.front().is_some_and(|t| now - *t >= limit.window) {
                    times.pop_front();
                }
                if times.len() >= limit.failures
                    && let Some(oldest) = times.front()
                {
                    wait = wait.max(limit.window - (now - *oldest));
                }
            }
        }
        if wait.is_zero() { Ok(()) } else { Err(wait) }
    }

    pub(crate) fn failed(&self, account: &str, client: &str) {
        let now = Instant::now();
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if map.len() > SWEEP_AT {
            let longest = self
                .limit_per_account
                .window
                .max(self.limit_per_client.window);
            map.retain(|_, times| times.back().is_some_and(|t| now - *t < longest));
        }
        for (key, _) in Self::keys(account, client) {
            map.entry(key).or_default().push_back(now);
        }
    }

    /// A successful login clears the account's failures (not the client's).
    pub(crate) fn succeeded(&self, account: &str) {
        let mut map = self
            .failures
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        map.remove(&format!("account:{account}"));
    }

    fn limit(&self, is_account: bool) -> Limit {
        if is_account {
            self.limit_per_account
        } else {
            self.limit_per_client
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_beyond_the_limit_are_refused_per_account_and_per_client() {
        let limit = |failures| Limit {
            failures,
            window: Duration::from_secs(60),
        };
        let throttle = Throttle::new(limit(3), limit(5));
        for _ in 0..3 {
            assert!(throttle.check("a@x", "1.1.1.1").is_ok());
            throttle.failed("a@x", "1.1.1.1");
        }
        let wait = throttle
            .check("a@x", "2.2.2.2")
            .expect_err("account limited");
        assert!(wait > Duration::from_secs(50) && wait <= Duration::from_secs(60));
        // Another account from the same client still has two tries left there.
        assert!(throttle.check("b@x", "1.1.1.1").is_ok());
        throttle.failed("b@x", "1.1.1.1");
        throttle.failed("b@x", "1.1.1.1");
        assert!(throttle.check("c@x", "1.1.1.1").is_err(), "client limited");
        assert!(throttle.check("c@x", "3.3.3.3").is_ok());
        throttle.succeeded("a@x");
        assert!(throttle.check("a@x", "4.4.4.4").is_ok());
    }

    #[test]
    fn failures_expire_with_the_window() {
        let limit = Limit {
            failures: 1,
            window: Duration::from_millis(30),
        };
        let throttle = Throttle::new(limit, limit);
        throttle.failed("a@x", "1.1.1.1");
        assert!(throttle.check("a@x", "1.1.1.1").is_err());
        std::thread::sleep(Duration::from_millis(40));
        assert!(throttle.check("a@x", "1.1.1.1").is_ok());
    }
}
