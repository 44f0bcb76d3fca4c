//! Time: the wire format of timestamps, and the clock of time-dependent policy (login
//! throttling, schedules, token expiry). Tests substitute a clock they move by hand, so they
//! need not wait for real minutes to pass.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use tokio::sync::watch;

/// Cloudron's time format: ISO 8601 UTC with milliseconds, `2022-03-05T02:30:00.000Z`.
pub fn iso(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn now_iso() -> String {
    iso(Utc::now())
}

/// Epoch milliseconds, the unit of token expiry.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub type Sleep<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

pub trait Clock: Send + Sync + Debug {
    fn now(&self) -> DateTime<Utc>;

    /// Resolves once this clock reads `deadline` or later.
    fn sleep_until(&self, deadline: DateTime<Utc>) -> Sleep<'_>;
}

fn until(deadline: DateTime<Utc>, now: DateTime<Utc>) -> std::time::Duration {
    (deadline - now).to_std().unwrap_or_default()
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> Sleep<'_> {
        Box::pin(async move {
            // Sleep in steps, so a wall-clock jump (NTP, suspend) delays a schedule by a minute at most.
            loop {
                let now = Utc::now();
                if now >= deadline {
                    return;
                }
                tokio::time::sleep(until(deadline, now).min(std::time::Duration::from_secs(60)))
                    .await;
            }
        })
    }
}

/// Real time plus an offset that only [`ManualClock::advance`] changes; sleepers wake when it
/// moves past their deadline.
#[derive(Debug)]
pub struct ManualClock {
    offset: watch::Sender<TimeDelta>,
}

impl Default for ManualClock {
    fn default() -> Self {
        Self {
            offset: watch::Sender::new(TimeDelta::zero()),
        }
    }
}

impl ManualClock {
    pub fn advance(&self, by: TimeDelta) {
        self.offset.send_modify(|offset| *offset += by);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.offset.borrow()
    }

    fn sleep_until(&self, deadline: DateTime<Utc>) -> Sleep<'_> {
        Box::pin(async move {
            let mut moved = self.offset.subscribe();
            loop {
                let now = self.now();
                if now >= deadline {
                    return;
                }
                tokio::select! {
                    () = tokio::time::sleep(until(deadline, now)) => {}
                    _ = moved.changed() => {}
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_have_milliseconds_and_z() {
        let t = DateTime::from_timestamp_millis(1_646_447_400_000).unwrap();
        assert_eq!(iso(t), "2022-03-05T02:30:00.000Z");
    }

    #[tokio::test]
    async fn a_manual_clock_wakes_sleepers_when_advanced() {
        let clock = std::sync::Arc::new(ManualClock::default());
        let deadline = clock.now() + TimeDelta::hours(1);
        let sleeper = {
            let clock = clock.clone();
            tokio::spawn(async move { clock.sleep_until(deadline).await })
        };
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished());
        clock.advance(TimeDelta::hours(2));
        tokio::time::timeout(std::time::Duration::from_secs(5), sleeper)
            .await
            .unwrap()
            .unwrap();
        assert!(clock.now() > deadline);
    }
}
