//! The time source of time-dependent policy (login throttling, schedules). Tests substitute a
//! clock they move by hand, so they need not wait for real minutes to pass.

use std::fmt::Debug;
use std::sync::Mutex;

use chrono::{DateTime, TimeDelta, Utc};

pub trait Clock: Send + Sync + Debug {
    fn now(&self) -> DateTime<Utc>;
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Real time plus an offset that only [`ManualClock::advance`] changes.
#[derive(Debug, Default)]
pub struct ManualClock {
    offset: Mutex<TimeDelta>,
}

impl ManualClock {
    pub fn advance(&self, by: TimeDelta) {
        *self
            .offset
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
            + *self
                .offset
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
