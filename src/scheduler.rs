//! Every periodic job of the server, in one place: a loop per schedule over the clock's timers.
//! A schedule is a [`Plan`] (when next) and a job (what); plans that depend on settings wake the
//! loop when those change, so the next run is re-planned at once.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::Clock;

/// When a schedule fires.
pub trait Plan: Send + 'static {
    /// The next run after `now`; `None` for never (until [`Plan::changed`]).
    fn next_after(&mut self, now: DateTime<Utc>) -> Option<DateTime<Utc>>;

    /// Called after a run that was due at `at` and ended at `now`.
    fn fired(&mut self, at: DateTime<Utc>, now: DateTime<Utc>);

    /// Resolves when the plan must be computed again (a setting changed).
    fn changed(&mut self) -> impl Future<Output = ()> + Send;
}

/// Every `every`, the first run `every` after start unless set otherwise.
pub struct Every {
    every: TimeDelta,
    next: Option<DateTime<Utc>>,
    first: TimeDelta,
}

impl Every {
    pub fn new(every: Duration) -> Self {
        let every = TimeDelta::from_std(every).unwrap_or(TimeDelta::MAX);
        Self {
            every,
            next: None,
            first: every,
        }
    }

    /// Also run once right at start.
    pub fn starting_now(self) -> Self {
        self.first_after(Duration::ZERO)
    }

    /// The first run `delay` after start.
    pub fn first_after(mut self, delay: Duration) -> Self {
        self.first = TimeDelta::from_std(delay).unwrap_or(TimeDelta::MAX);
        self
    }
}

impl Plan for Every {
    fn next_after(&mut self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        Some(*self.next.get_or_insert(now + self.first))
    }

    fn fired(&mut self, at: DateTime<Utc>, now: DateTime<Utc>) {
        // After a long run or a clock jump, the next run is one interval on, not a burst of
        // the runs that were missed.
        let next = at + self.every;
        self.next = Some(if next > now { next } else { now + self.every });
    }

    async fn changed(&mut self) {
        std::future::pending::<()>().await;
    }
}

#[derive(Clone)]
pub struct Scheduler {
    clock: Arc<dyn Clock>,
    shutdown: CancellationToken,
    tracker: TaskTracker,
}

impl Scheduler {
    pub fn new(clock: Arc<dyn Clock>, shutdown: CancellationToken) -> Self {
        Self {
            clock,
            shutdown,
            tracker: TaskTracker::new(),
        }
    }

    /// Runs `job` whenever `plan` says, one run at a time, until shutdown.
    pub fn spawn<P, F, Fut>(&self, name: &'static str, mut plan: P, mut job: F)
    where
        P: Plan,
        F: FnMut() -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send,
    {
        let (clock, shutdown) = (self.clock.clone(), self.shutdown.clone());
        self.tracker.spawn(async move {
            loop {
                let next = plan.next_after(clock.now());
                tracing::debug!(schedule = name, "next {name} run: {next:?}");
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = plan.changed() => continue,
                    () = async {
                        match next {
                            Some(at) => clock.sleep_until(at).await,
                            None => std::future::pending().await,
                        }
                    } => {
                        tokio::select! {
                            () = shutdown.cancelled() => break,
                            () = job() => {}
                        }
                        if let Some(at) = next {
                            plan.fired(at, clock.now());
                        }
                    }
                }
            }
        });
    }

    /// Waits for the schedule loops to end after shutdown.
    pub async fn stopped(&self) {
        self.tracker.close();
        self.tracker.wait().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn an_interval_runs_when_the_clock_says_so() {
        let clock = Arc::new(ManualClock::default());
        let shutdown = CancellationToken::new();
        let scheduler = Scheduler::new(clock.clone(), shutdown.clone());
        let runs = Arc::new(AtomicUsize::new(0));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let counter = runs.clone();
        scheduler.spawn("test", Every::new(Duration::from_secs(600)), move || {
            let (runs, tx) = (counter.clone(), tx.clone());
            async move {
                runs.fetch_add(1, Ordering::SeqCst);
                let _ = tx.send(());
            }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            runs.load(Ordering::SeqCst),
            0,
            "not before the first interval"
        );
        clock.advance(TimeDelta::seconds(601));
        rx.recv().await.unwrap();
        clock.advance(TimeDelta::seconds(600));
        rx.recv().await.unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        shutdown.cancel();
        scheduler.stopped().await;
    }
}
