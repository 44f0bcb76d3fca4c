//! Brute-force protection for password and TOTP checks: a sliding window of failures per client
//! IP, and a growing lockout per account after consecutive failures, whatever the IP.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};

use crate::clock::Clock;
use crate::error::ApiError;

/// Failures an IP may make within [`IP_WINDOW`]; the next attempt is refused.
pub const IP_MAX_FAILURES: usize = 10;
pub const IP_WINDOW: TimeDelta = TimeDelta::seconds(60);
/// Consecutive failures after which an account is locked, for a window that doubles with each
/// further failure, from [`ACCOUNT_BASE_LOCK`] up to [`ACCOUNT_MAX_LOCK`].
pub const ACCOUNT_MAX_FAILURES: u32 = 10;
const ACCOUNT_BASE_LOCK: TimeDelta = TimeDelta::seconds(30);
const ACCOUNT_MAX_LOCK: TimeDelta = TimeDelta::minutes(15);
/// Entries are swept when the maps grow past this, so a spray of addresses cannot grow memory.
const SWEEP_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct Throttle {
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    by_ip: HashMap<IpAddr, VecDeque<DateTime<Utc>>>,
    by_account: HashMap<String, Account>,
}

#[derive(Debug, Default)]
struct Account {
    consecutive: u32,
    locked_until: Option<DateTime<Utc>>,
}

impl Throttle {
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self {
            clock,
            state: Mutex::default(),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Before checking a secret: 429 with `Retry-After` while the IP or the account is throttled.
    /// `account` is the user id, or the login name when no such user exists.
    pub fn check(&self, ip: IpAddr, account: &str) -> Result<(), ApiError> {
        let now = self.clock.now();
        let mut state = self.state();
        let failures = state.by_ip.entry(ip).or_default();
        while failures.front().is_some_and(|at| *at <= now - IP_WINDOW) {
            failures.pop_front();
        }
        if failures.len() >= IP_MAX_FAILURES {
            let oldest = failures.front().copied().unwrap_or(now);
            return Err(too_many(oldest + IP_WINDOW - now));
        }
        match state.by_account.get(account).and_then(|a| a.locked_until) {
            Some(until) if until > now => Err(too_many(until - now)),
            _ => Ok(()),
        }
    }

    pub fn failed(&self, ip: IpAddr, account: &str) {
        let now = self.clock.now();
        let mut state = self.state();
        if state.by_ip.len() > SWEEP_ABOVE || state.by_account.len() > SWEEP_ABOVE {
            state
                .by_ip
                .retain(|_, failures| failures.back().is_some_and(|at| *at > now - IP_WINDOW));
            state.by_account.retain(|_, a| {
                a.locked_until.is_some_and(|until| until > now) || a.consecutive > 0
            });
        }
        state.by_ip.entry(ip).or_default().push_back(now);
        let account = state.by_account.entry(account.to_owned()).or_default();
        account.consecutive += 1;
        if let Some(over) = account.consecutive.checked_sub(ACCOUNT_MAX_FAILURES) {
            let lock = ACCOUNT_BASE_LOCK * 2i32.saturating_pow(over.min(16));
            account.locked_until = Some(now + lock.min(ACCOUNT_MAX_LOCK));
        }
    }

    pub fn succeeded(&self, account: &str) {
        self.state().by_account.remove(account);
    }
}

fn too_many(wait: TimeDelta) -> ApiError {
    let secs = u64::try_from(wait.num_milliseconds().saturating_add(999) / 1000)
        .unwrap_or(1)
        .max(1);
    ApiError::TooManyRequests {
        message: format!("Too many failed attempts; try again in {secs} seconds"),
        retry_after_secs: secs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    fn throttle() -> (Throttle, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::default());
        (Throttle::new(clock.clone()), clock)
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    fn retry_after(result: Result<(), ApiError>) -> u64 {
        match result {
            Err(ApiError::TooManyRequests {
                retry_after_secs, ..
            }) => retry_after_secs,
            other => panic!("expected 429, got {other:?}"),
        }
    }

    #[test]
    fn the_eleventh_failure_from_an_ip_within_a_minute_is_refused() {
        let (throttle, clock) = throttle();
        for n in 0..10 {
            throttle.check(ip(1), &format!("user{n}")).unwrap();
            throttle.failed(ip(1), &format!("user{n}"));
        }
        let wait = retry_after(throttle.check(ip(1), "another"));
        assert!((59..=60).contains(&wait), "{wait}");
        throttle.check(ip(2), "another").unwrap();
        clock.advance(TimeDelta::seconds(61));
        throttle.check(ip(1), "another").unwrap();
    }

    #[test]
    fn an_account_locks_after_ten_consecutive_failures_for_a_growing_window() {
        let (throttle, clock) = throttle();
        for n in 0..10 {
            throttle.check(ip(n), "uid-1").unwrap();
            throttle.failed(ip(n), "uid-1");
        }
        assert_eq!(
            retry_after(throttle.check(ip(99), "uid-1")),
            30,
            "locked whatever the IP"
        );
        clock.advance(TimeDelta::seconds(31));
        throttle.check(ip(99), "uid-1").unwrap();
        throttle.failed(ip(99), "uid-1");
        assert_eq!(
            retry_after(throttle.check(ip(98), "uid-1")),
            60,
            "the window doubles"
        );
        clock.advance(TimeDelta::seconds(61));
        throttle.succeeded("uid-1");
        throttle.failed(ip(97), "uid-1");
        throttle.check(ip(96), "uid-1").unwrap();
    }
}
