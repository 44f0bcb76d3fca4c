//! Brute-force protection for password and TOTP checks: a sliding window of failures per client
//! address, and a growing lockout per account after consecutive failures, whatever the address.
//!
//! TOTP codes have a budget of their own per account, whatever the addresses: a right password
//! from many addresses must not buy many guesses at a six-digit code.
//!
//! An attempt is counted as a failure when it begins and refunded when it succeeds, so attempts
//! sent in parallel cannot all pass the check before any of them has failed.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};

use crate::clock::Clock;
use crate::telemetry;

/// Failures an address may make within [`IP_WINDOW`]; the next attempt is refused.
pub const IP_MAX_FAILURES: usize = 10;
pub const IP_WINDOW: TimeDelta = TimeDelta::seconds(60);
/// Consecutive failures after which an account is locked, for a window that doubles with each
/// further failure, from [`ACCOUNT_BASE_LOCK`] up to [`ACCOUNT_MAX_LOCK`].
pub const ACCOUNT_MAX_FAILURES: u32 = 10;
const ACCOUNT_BASE_LOCK: TimeDelta = TimeDelta::seconds(30);
const ACCOUNT_MAX_LOCK: TimeDelta = TimeDelta::minutes(15);
/// Wrong TOTP codes an account may get within [`CODE_WINDOW`], from any address.
pub const CODE_MAX_FAILURES: usize = 5;
pub const CODE_WINDOW: TimeDelta = TimeDelta::minutes(5);
/// An account quiet this long starts counting afresh; it is also when its entry may go.
const ACCOUNT_FORGET: TimeDelta = TimeDelta::hours(1);
/// The maps are swept of stale entries when they grow past this.
const SWEEP_ABOVE: usize = 10_000;

/// Refused for now: too many failures (or too much work queued); retry after the wait.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RateLimited {
    pub message: String,
    pub retry_after_secs: u64,
}

#[derive(Debug)]
pub struct Throttle {
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    by_ip: HashMap<IpAddr, VecDeque<DateTime<Utc>>>,
    by_account: HashMap<String, Account>,
    codes: HashMap<String, VecDeque<DateTime<Utc>>>,
}

#[derive(Debug, Default)]
struct Account {
    consecutive: u32,
    locked_until: Option<DateTime<Utc>>,
    last_failure: Option<DateTime<Utc>>,
}

/// An attempt in progress: counted as a failure until [`Throttle::succeeded`] refunds it.
#[derive(Debug)]
#[must_use = "an attempt that succeeds must be refunded"]
pub struct Attempt {
    ip: IpAddr,
    account: String,
    at: DateTime<Utc>,
}

/// A TOTP code being checked: counted as wrong until [`Throttle::code_succeeded`] refunds it.
#[derive(Debug)]
#[must_use = "a right code must be refunded"]
pub struct CodeAttempt {
    account: String,
    at: DateTime<Utc>,
}

/// IPv6 clients are counted per /64: one host usually holds the whole prefix.
fn bucket(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let segments = v6.segments();
            IpAddr::V6(Ipv6Addr::new(
                segments[0],
                segments[1],
                segments[2],
                segments[3],
                0,
                0,
                0,
                0,
            ))
        }
        v4 => v4,
    }
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

    /// Before checking a secret: refused while the address or the account is throttled; otherwise the attempt, already counted as a failure. `account` is the user
    /// id, or the login name when no such user exists.
    pub fn begin(&self, ip: IpAddr, account: &str) -> Result<Attempt, RateLimited> {
        let now = self.clock.now();
        let ip = bucket(ip);
        let mut state = self.state();
        if state.by_ip.len() > SWEEP_ABOVE || state.by_account.len() > SWEEP_ABOVE {
            state
                .by_ip
                .retain(|_, failures| failures.back().is_some_and(|at| *at > now - IP_WINDOW));
            state
                .by_account
                .retain(|_, a| a.last_failure.is_some_and(|at| at > now - ACCOUNT_FORGET));
        }
        let failures = state.by_ip.entry(ip).or_default();
        while failures.front().is_some_and(|at| *at <= now - IP_WINDOW) {
            failures.pop_front();
        }
        if failures.len() >= IP_MAX_FAILURES {
            let oldest = failures.front().copied().unwrap_or(now);
            telemetry::metrics::throttled("address");
            return Err(too_many(oldest + IP_WINDOW - now));
        }
        let entry = state.by_account.entry(account.to_owned()).or_default();
        if entry
            .last_failure
            .is_some_and(|at| at <= now - ACCOUNT_FORGET)
        {
            *entry = Account::default();
        }
        if let Some(until) = entry.locked_until.filter(|until| *until > now) {
            telemetry::metrics::throttled("account");
            return Err(too_many(until - now));
        }
        entry.consecutive += 1;
        entry.last_failure = Some(now);
        if let Some(over) = entry.consecutive.checked_sub(ACCOUNT_MAX_FAILURES) {
            let lock = ACCOUNT_BASE_LOCK * 2i32.saturating_pow(over.min(16));
            entry.locked_until = Some(now + lock.min(ACCOUNT_MAX_LOCK));
        }
        state.by_ip.entry(ip).or_default().push_back(now);
        Ok(Attempt {
            ip,
            account: account.to_owned(),
            at: now,
        })
    }

    /// Before checking a TOTP code of `account` (a user id): refused while the account has had
    /// [`CODE_MAX_FAILURES`] wrong codes within [`CODE_WINDOW`].
    pub fn begin_code(&self, account: &str) -> Result<CodeAttempt, RateLimited> {
        let now = self.clock.now();
        let mut state = self.state();
        if state.codes.len() > SWEEP_ABOVE {
            state
                .codes
                .retain(|_, failures| failures.back().is_some_and(|at| *at > now - CODE_WINDOW));
        }
        let failures = state.codes.entry(account.to_owned()).or_default();
        while failures.front().is_some_and(|at| *at <= now - CODE_WINDOW) {
            failures.pop_front();
        }
        if failures.len() >= CODE_MAX_FAILURES {
            let oldest = failures.front().copied().unwrap_or(now);
            return Err(too_many(oldest + CODE_WINDOW - now));
        }
        failures.push_back(now);
        Ok(CodeAttempt {
            account: account.to_owned(),
            at: now,
        })
    }

    pub fn code_succeeded(&self, attempt: CodeAttempt) {
        let mut state = self.state();
        if let Some(failures) = state.codes.get_mut(&attempt.account)
            && let Some(position) = failures.iter().rposition(|at| *at == attempt.at)
        {
            failures.remove(position);
        }
    }

    /// The attempt succeeded: it is no failure, and the account's count starts again.
    pub fn succeeded(&self, attempt: Attempt) {
        let mut state = self.state();
        if let Some(failures) = state.by_ip.get_mut(&attempt.ip)
            && let Some(position) = failures.iter().rposition(|at| *at == attempt.at)
        {
            failures.remove(position);
        }
        state.by_account.remove(&attempt.account);
    }
}

fn too_many(wait: TimeDelta) -> RateLimited {
    let secs = u64::try_from(wait.num_milliseconds().saturating_add(999) / 1000)
        .unwrap_or(1)
        .max(1);
    RateLimited {
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

    fn retry_after<T: std::fmt::Debug>(result: Result<T, RateLimited>) -> u64 {
        match result {
            Err(RateLimited {
                retry_after_secs, ..
            }) => retry_after_secs,
            other => panic!("expected 429, got {other:?}"),
        }
    }

    #[test]
    fn the_eleventh_failure_from_an_ip_within_a_minute_is_refused() {
        let (throttle, clock) = throttle();
        for n in 0..10 {
            let _failed = throttle.begin(ip(1), &format!("user{n}")).unwrap();
        }
        let wait = retry_after(throttle.begin(ip(1), "another"));
        assert!((59..=60).contains(&wait), "{wait}");
        let _other = throttle.begin(ip(2), "another").unwrap();
        clock.advance(TimeDelta::seconds(61));
        let _later = throttle.begin(ip(1), "another").unwrap();
    }

    #[test]
    fn attempts_in_flight_count_until_they_succeed() {
        let (throttle, _clock) = throttle();
        let attempts: Vec<Attempt> = (0..10)
            .map(|n| throttle.begin(ip(1), &format!("u{n}")).unwrap())
            .collect();
        assert!(
            throttle.begin(ip(1), "x").is_err(),
            "ten in flight fill the window"
        );
        for attempt in attempts {
            throttle.succeeded(attempt);
        }
        let _ok = throttle.begin(ip(1), "x").unwrap();
    }

    #[test]
    fn an_account_locks_after_ten_consecutive_failures_for_a_growing_window() {
        let (throttle, clock) = throttle();
        for n in 0..10 {
            let _failed = throttle.begin(ip(n), "uid-1").unwrap();
        }
        assert_eq!(
            retry_after(throttle.begin(ip(99), "uid-1")),
            30,
            "locked whatever the IP"
        );
        clock.advance(TimeDelta::seconds(31));
        let _failed = throttle.begin(ip(99), "uid-1").unwrap();
        assert_eq!(
            retry_after(throttle.begin(ip(98), "uid-1")),
            60,
            "the window doubles"
        );
        clock.advance(TimeDelta::seconds(61));
        let good = throttle.begin(ip(97), "uid-1").unwrap();
        throttle.succeeded(good);
        let _failed = throttle.begin(ip(96), "uid-1").unwrap();
        let _next = throttle.begin(ip(95), "uid-1").unwrap();
    }

    #[test]
    fn an_account_gets_five_wrong_codes_per_five_minutes_whatever_the_address() {
        let (throttle, clock) = throttle();
        let right = throttle.begin_code("uid-1").unwrap();
        throttle.code_succeeded(right);
        for _ in 0..CODE_MAX_FAILURES {
            let _wrong = throttle.begin_code("uid-1").unwrap();
        }
        let wait = retry_after(throttle.begin_code("uid-1"));
        assert!((299..=300).contains(&wait), "{wait}");
        let _other = throttle.begin_code("uid-2").unwrap();
        clock.advance(CODE_WINDOW);
        let again = throttle.begin_code("uid-1").unwrap();
        throttle.code_succeeded(again);
    }

    #[test]
    fn ipv6_clients_are_counted_per_64() {
        let (throttle, _clock) = throttle();
        for n in 0..10u16 {
            let address = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, n, n, n, n));
            let _failed = throttle.begin(address, &format!("u{n}")).unwrap();
        }
        let sibling = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 1, 9, 9, 9, 99));
        assert!(throttle.begin(sibling, "x").is_err());
        let elsewhere = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 2, 1, 1, 1, 1));
        assert!(throttle.begin(elsewhere, "x").is_ok());
    }
}
