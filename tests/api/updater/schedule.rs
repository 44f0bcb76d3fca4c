//! `/api/v1/updater/autoupdate_pattern`: when boxd checks for and applies updates by itself.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use boxd::clock::{Clock, ManualClock};
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Releases, TestServer, UpdateSetup, expect_error_exact, tarball};

#[tokio::test]
async fn the_pattern_has_a_default_and_keeps_what_is_set() {
    let s = UpdateSetup::start(|_| {}).await;

    let answer = s
        .server
        .get("/api/v1/updater/autoupdate_pattern", &s.owner)
        .await;

    assert_eq!(
        answer,
        (StatusCode::OK, json!({"pattern": "00 00 1,3,5,23 * * *"}))
    );
    for pattern in ["never", "0 30 4 * * 1", "30 4 * * *"] {
        let (code, _) = s
            .server
            .post(
                "/api/v1/updater/autoupdate_pattern",
                &s.owner,
                json!({"pattern": pattern}),
            )
            .await;
        assert_eq!(code, StatusCode::OK, "{pattern}");
        let (_, body) = s
            .server
            .get("/api/v1/updater/autoupdate_pattern", &s.owner)
            .await;
        assert_eq!(body["pattern"], pattern);
    }
}

#[tokio::test]
async fn bad_patterns_are_refused() {
    let s = UpdateSetup::start(|_| {}).await;
    let cases = [
        (
            json!({"pattern": "* * * * * *"}),
            "Invalid pattern: it fires more than once a minute",
        ),
        (
            json!({"pattern": "*/15 * * * * *"}),
            "Invalid pattern: it fires more than once a minute",
        ),
        (
            json!({"pattern": "0 0 0 31 2 *"}),
            "Invalid pattern: it never fires",
        ),
        (
            json!({"pattern": "sometimes"}),
            "Invalid pattern: use 6 fields (seconds first) or 5, or \"never\"",
        ),
        (
            json!({"pattern": "0 0 25 * * *"}),
            "Invalid pattern: it is not a cron pattern",
        ),
        (json!({"pattern": 5}), "pattern must be a string"),
        (json!({}), "pattern is required"),
    ];

    for (body, expected) in cases {
        let answer = s
            .server
            .post("/api/v1/updater/autoupdate_pattern", &s.owner, body)
            .await;
        expect_error_exact(answer, StatusCode::BAD_REQUEST, expected);
    }
}

async fn wait_for_feed_requests(releases: &Releases, count: usize) {
    for _ in 0..250 {
        if releases.feed_requests.load(Ordering::SeqCst) >= count {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the feed was not asked {count} times");
}

/// Waits until the scheduled check has stored its result: a run that is still going when the
/// clock moves on plans its successor from the moved clock, and would skip the next run.
async fn wait_for_check_to_end(s: &UpdateSetup) {
    let db = s.server.db().await;
    for _ in 0..500 {
        let stored: Option<String> =
            sqlx::query_scalar("SELECT value FROM settings WHERE name = 'box_update'")
                .fetch_optional(&db)
                .await
                .unwrap();
        if stored.is_some() {
            tokio::time::sleep(Duration::from_millis(100)).await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the scheduled check did not store its result");
}

/// Sets the time zone to `zone`.
async fn set_time_zone(s: &UpdateSetup, zone: &str) {
    let (code, _) = s
        .server
        .post(
            "/api/v1/cloudron/time_zone",
            &s.owner,
            json!({"timeZone": zone}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
}

/// Schedules updates at 01:00 in Zurich; answers when that next is.
async fn schedule_at_one_in_zurich(s: &UpdateSetup, clock: &ManualClock) -> DateTime<Utc> {
    set_time_zone(s, "Europe/Zurich").await;
    let (code, _) = s
        .server
        .post(
            "/api/v1/updater/autoupdate_pattern",
            &s.owner,
            json!({"pattern": "00 00 1 * * *"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let zurich = chrono_tz::Europe::Zurich;
    let next = boxd::updater::schedule::next_run("00 00 1 * * *", zurich, clock.now()).unwrap();
    assert_eq!(
        next.with_timezone(&zurich).format("%H:%M:%S").to_string(),
        "01:00:00"
    );
    next
}

#[tokio::test]
async fn the_schedule_fires_in_the_time_zone_and_starts_exactly_one_update() {
    let clock = Arc::new(ManualClock::default());
    let s = UpdateSetup::start(|config| config.clock = clock.clone()).await;
    s.publish("0.2.0", tarball(3000));
    let next = schedule_at_one_in_zurich(&s, &clock).await;

    clock.advance(next - clock.now() - TimeDelta::seconds(30));
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        s.releases.feed_requests.load(Ordering::SeqCst),
        0,
        "not before 01:00 in Zurich"
    );
    clock.advance(TimeDelta::seconds(31));
    wait_for_feed_requests(&s.releases, 1).await;

    let mut tasks = Value::Null;
    for _ in 0..250 {
        let (_, list) = s.server.get("/api/v1/tasks?type=update", &s.owner).await;
        if list["tasks"][0]["success"] == true {
            tasks = list["tasks"].clone();
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        tasks.as_array().map(Vec::len),
        Some(1),
        "exactly one update task: {tasks}"
    );
    let (_, events) = s
        .server
        .get("/api/v1/eventlog?actions=cloudron.update", &s.owner)
        .await;
    assert_eq!(events["eventlogs"].as_array().unwrap().len(), 1);
    assert_eq!(events["eventlogs"][0]["source"]["username"], "cron");
}

#[tokio::test]
async fn a_new_time_zone_replans_the_schedule_at_once() {
    let clock = Arc::new(ManualClock::default());
    let s = UpdateSetup::start(|config| config.clock = clock.clone()).await;
    s.publish(env!("CARGO_PKG_VERSION"), tarball(10));
    let next = schedule_at_one_in_zurich(&s, &clock).await;
    clock.advance(next - clock.now() + TimeDelta::seconds(1));
    wait_for_feed_requests(&s.releases, 1).await;
    wait_for_check_to_end(&s).await;

    set_time_zone(&s, "Asia/Tokyo").await;

    // The next run is 01:00 in Tokyo, not in Zurich.
    let tokyo =
        boxd::updater::schedule::next_run("00 00 1 * * *", chrono_tz::Asia::Tokyo, clock.now())
            .unwrap();
    assert_ne!(tokyo, next + TimeDelta::days(1));
    clock.advance(tokyo - clock.now() + TimeDelta::seconds(1));
    wait_for_feed_requests(&s.releases, 2).await;
    assert!(
        Utc::now() < tokyo,
        "the run came from the moved clock, not from waiting"
    );
}

#[tokio::test]
async fn a_pattern_that_never_fires_is_refused_at_once_without_stalling_the_server() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let refuse = || {
        server.post(
            "/api/v1/updater/autoupdate_pattern",
            &owner,
            json!({"pattern": ", * * * * *"}),
        )
    };

    let started = Instant::now();
    let answer = refuse().await;
    let took = started.elapsed();
    expect_error_exact(
        answer,
        StatusCode::BAD_REQUEST,
        "Invalid pattern: it never fires",
    );
    assert!(took < Duration::from_millis(100), "took {took:?}");

    let status = async {
        let asked = Instant::now();
        let (code, _) = server.get("/api/v1/cloudron/status", "").await;
        assert_eq!(code, StatusCode::OK);
        asked.elapsed()
    };
    let (refusals, status_took) = tokio::join!(
        futures_util::future::join_all((0..4).map(|_| refuse())),
        status
    );
    assert!(
        refusals
            .iter()
            .all(|(code, _)| *code == StatusCode::BAD_REQUEST)
    );
    assert!(
        status_took < Duration::from_millis(500),
        "status took {status_took:?}"
    );
}
