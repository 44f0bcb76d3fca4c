//! The automatic update schedule: `never`, or a cron pattern (6 fields with seconds; 5 fields
//! accepted) that runs in the configured time zone.

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use croner::parser::{CronParser, Seconds, Year};
use croner::{Cron, CronComponent};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::error::Invalid;
use crate::eventlog::Source;
use crate::scheduler::Plan;
use crate::settings::Setting;
use crate::state::AppState;

pub const NEVER: &str = "never";

/// The stored pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoupdatePattern(pub String);

impl Default for AutoupdatePattern {
    fn default() -> Self {
        Self("00 00 1,3,5,23 * * *".into())
    }
}

impl Setting for AutoupdatePattern {
    const NAME: &'static str = "autoupdate_pattern";
}

fn parse(pattern: &str) -> Option<Cron> {
    let parser = CronParser::builder()
        .seconds(Seconds::Optional)
        .year(Year::Disallowed)
        .build();
    parser.parse(pattern).ok()
}

/// croner's bit of a plain value in a component (its `ALL_BIT`, which the crate keeps private);
/// a unit test pins what it means.
const VALUE_BIT: u8 = 1;

/// How far ahead a pattern must fire: any calendar rule of day, month and weekday that fires at
/// all (Feb 29 on a Monday included) does within 30 years.
const MUST_FIRE_WITHIN_DAYS: i64 = 30 * 366;

fn values(component: &CronComponent) -> impl Iterator<Item = u16> + '_ {
    (component.min..=component.max)
        .filter(|value| component.is_bit_set(*value, VALUE_BIT).unwrap_or(false))
}

impl AutoupdatePattern {
    /// `never`, or a pattern that fires, at most once a minute. The checks read the parsed
    /// fields and look at most 30 years of days ahead, so no pattern costs more than a
    /// millisecond or so (a search for the next run of one that never fires would take
    /// seconds).
    pub fn new(pattern: &str) -> Result<Self, Invalid> {
        let pattern = pattern.trim();
        if pattern == NEVER {
            return Ok(Self(NEVER.into()));
        }
        let invalid = |why: &str| Invalid(format!("Invalid pattern: {why}"));
        let fields = pattern.split_whitespace().count();
        if !(5..=6).contains(&fields) {
            return Err(invalid("use 6 fields (seconds first) or 5, or \"never\""));
        }
        let cron = parse(pattern).ok_or_else(|| invalid("it is not a cron pattern"))?;
        let fields = &cron.pattern;
        let (second, minute, hour) = (
            values(&fields.seconds).next(),
            values(&fields.minutes).next(),
            values(&fields.hours).next(),
        );
        let (Some(second), Some(minute), Some(hour)) = (second, minute, hour) else {
            return Err(invalid("it never fires"));
        };
        if values(&fields.seconds).nth(1).is_some() {
            return Err(invalid("it fires more than once a minute"));
        }
        let start = DateTime::<Utc>::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let time = |day: i64| {
            (start.date_naive() + TimeDelta::days(day))
                .and_hms_opt(hour.into(), minute.into(), second.into())
                .map(|at| at.and_utc())
        };
        let fires = (0..MUST_FIRE_WITHIN_DAYS)
            .filter_map(time)
            .any(|at| cron.is_time_matching(&at).unwrap_or(false));
        if !fires {
            return Err(invalid("it never fires"));
        }
        Ok(Self(pattern.to_owned()))
    }
}

/// The schedule: the pattern and the zone come from watch channels, so a change of either
/// re-plans the next run at once.
pub struct AutoUpdate {
    pattern: watch::Receiver<String>,
    zone: watch::Receiver<Tz>,
}

impl AutoUpdate {
    pub fn new(pattern: watch::Receiver<String>, zone: watch::Receiver<Tz>) -> Self {
        Self { pattern, zone }
    }
}

/// The next run of `pattern` in `zone` after `now`.
pub fn next_run(pattern: &str, zone: Tz, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let cron = parse(pattern)?;
    let next = cron
        .find_next_occurrence(&now.with_timezone(&zone), false)
        .ok()?;
    Some(next.with_timezone(&Utc))
}

impl Plan for AutoUpdate {
    fn next_after(&mut self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let pattern = self.pattern.borrow_and_update().clone();
        let zone = *self.zone.borrow_and_update();
        next_run(&pattern, zone, now)
    }

    fn fired(&mut self, _: DateTime<Utc>, _: DateTime<Utc>) {}

    async fn changed(&mut self) {
        let changed = tokio::select! {
            changed = self.pattern.changed() => changed,
            changed = self.zone.changed() => changed,
        };
        if changed.is_err() {
            // The server is going away; the scheduler's shutdown ends the loop.
            std::future::pending::<()>().await;
        }
    }
}

/// A scheduled run: check the feed and, with a release on offer, start the update.
pub async fn run(state: AppState) {
    let cron = Source::system("cron");
    match super::check(&state).await {
        Ok(Some(release)) => match super::start_update(&state, false, &cron).await {
            Ok(task) => tracing::info!(
                task.id = task,
                "automatic update to {} started as task {task}",
                release.version
            ),
            Err(err) => tracing::warn!("the automatic update could not start: {err}"),
        },
        Ok(None) => tracing::info!("automatic update: no newer release"),
        Err(err) => tracing::warn!("automatic update check failed: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_checked() {
        for good in [
            "never",
            "00 00 1,3,5,23 * * *",
            "0 30 2 * * 1-5",
            "15 4 * * *",
            "0 */5 * * * *",
        ] {
            assert!(AutoupdatePattern::new(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "* * * * * *",
            "*/10 * * * * *",
            "0,30 * * * * *",
            "0 0 0 30 2 *",
            "often",
            "0 0 * * * * 2030",
            "61 * * * * *",
        ] {
            assert!(AutoupdatePattern::new(bad).is_err(), "{bad}");
        }
    }

    fn refusal(pattern: &str) -> String {
        AutoupdatePattern::new(pattern).unwrap_err().0
    }

    #[test]
    fn never_firing_and_too_frequent_patterns_are_told_apart() {
        for never in [
            ", * * * * *",
            ",,,, * * * *",
            "0 0 0 31 2 *",
            "0 0 0 30 2 *",
        ] {
            assert_eq!(refusal(never), "Invalid pattern: it never fires", "{never}");
        }
        for often in ["* * * * * *", "1,2 * * * * *", "*/30 0 1 * * *"] {
            assert_eq!(
                refusal(often),
                "Invalid pattern: it fires more than once a minute",
                "{often}"
            );
        }
        assert!(
            AutoupdatePattern::new("0 0 0 29 2 *").is_ok(),
            "leap days come"
        );
        assert!(AutoupdatePattern::new("0 0 0 L 2 *").is_ok());
    }

    #[test]
    fn the_value_bit_is_the_bit_of_a_plain_value() {
        let cron = parse("5 * * * * *").unwrap();
        assert_eq!(values(&cron.pattern.seconds).collect::<Vec<_>>(), [5]);
        assert_eq!(values(&cron.pattern.minutes).count(), 60);
    }

    #[test]
    fn the_next_run_is_in_the_configured_zone() {
        let now = DateTime::parse_from_rfc3339("2026-07-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let next = next_run("00 00 1 * * *", chrono_tz::Europe::Zurich, now).unwrap();
        assert_eq!(
            next.to_rfc3339(),
            "2026-07-01T23:00:00+00:00",
            "01:00 in Zurich is 23:00 UTC in summer"
        );
        let winter = DateTime::parse_from_rfc3339("2026-12-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let next = next_run("00 00 1 * * *", chrono_tz::Europe::Zurich, winter).unwrap();
        assert_eq!(next.to_rfc3339(), "2026-12-02T00:00:00+00:00");
        assert_eq!(next_run("never", Tz::UTC, now), None);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn field() -> impl Strategy<Value = String> {
            prop_oneof![
                "[0-9]{1,2}",
                Just("*".to_owned()),
                "[0-9]{1,2}-[0-9]{1,2}",
                "\\*/[0-9]{1,2}",
                "[0-9,]{0,8}",
                "[0-9LW#?*/,-]{0,6}",
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(1000))]

            /// Every pattern is accepted or refused at once, whatever it is: a pattern that never
            /// matches must not send the search for its next run on for years. The best of three
            /// runs is timed, so a descheduled thread on a loaded machine does not count.
            #[test]
            fn any_pattern_is_judged_within_ten_milliseconds(fields in proptest::collection::vec(field(), 4..8)) {
                let pattern = fields.join(" ");
                let took = (0..3)
                    .map(|_| {
                        let started = std::time::Instant::now();
                        let _ = AutoupdatePattern::new(&pattern);
                        started.elapsed()
                    })
                    .min()
                    .unwrap();
                prop_assert!(took < std::time::Duration::from_millis(10), "{:?} took {:?}", pattern, took);
            }
        }
    }
}
