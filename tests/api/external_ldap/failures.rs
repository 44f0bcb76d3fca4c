//! A sync that cannot reach or bind to the directory fails with a message and changes nothing;
//! one at a time; the scheduled sync.

use std::sync::Arc;
use std::time::{Duration, Instant};

use boxd::clock::ManualClock;
use chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::slapd::{SERVICE_DN, Silent, Slapd, configure_and_sync, staff, sync};
use crate::support::{TestServer, expect_error_exact, wait_for_task_end};

async fn user_count(server: &TestServer, token: &str) -> usize {
    let (_, users) = server.get("/api/v1/users", token).await;
    users["users"].as_array().unwrap().len()
}

/// A server with `slapd` configured and no sync run yet.
async fn configured(slapd: &Slapd, timeout: Duration) -> (TestServer, String) {
    let server = TestServer::start_with(|config| config.external_ldap.timeout = timeout).await;
    let owner = server.owner_token().await;
    let (code, body) = server
        .post("/api/v1/external_ldap/config", &owner, slapd.config())
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    (server, owner)
}

#[tokio::test]
async fn a_sync_fails_with_a_message_when_the_directory_is_down() {
    let mut slapd = Slapd::start(&staff()).await;
    let (server, owner) = configured(&slapd, Duration::from_secs(10)).await;
    slapd.stop();

    let task = sync(&server, &owner).await;

    assert_eq!(task["success"], false, "{task}");
    let message = task["error"]["message"].as_str().unwrap();
    assert!(
        message.starts_with(&format!("Cannot reach the LDAP server at {}", slapd.url())),
        "{message}"
    );
    assert_eq!(user_count(&server, &owner).await, 1);
}

#[tokio::test]
async fn a_sync_fails_within_the_timeout_when_the_directory_never_answers() {
    let mut slapd = Slapd::start(&staff()).await;
    let (server, owner) = configured(&slapd, Duration::from_secs(2)).await;
    slapd.stop();
    let _silent = Silent::start(slapd.port()).await;
    let started = Instant::now();

    let task = sync(&server, &owner).await;

    let took = started.elapsed();
    assert_eq!(task["success"], false, "{task}");
    let expected = format!(
        "The LDAP server at {} did not answer within 2s",
        slapd.url()
    );
    assert_eq!(task["error"]["message"], json!(expected));
    assert!(took < Duration::from_secs(5), "{took:?}");
}

#[tokio::test]
async fn a_refused_bind_fails_the_sync() {
    let slapd = Slapd::start(&staff()).await;
    let (server, owner) = configured(&slapd, Duration::from_secs(10)).await;
    slapd.modify(&format!(
        "dn: {SERVICE_DN}\nchangetype: modify\nreplace: userPassword\nuserPassword: Rotated-Secret-4\n"
    ));

    let task = sync(&server, &owner).await;

    assert_eq!(task["success"], false, "{task}");
    assert_eq!(
        task["error"]["message"],
        json!(format!(
            "The LDAP server refused the bind as {SERVICE_DN}: invalidCredentials (49)"
        ))
    );
    assert_eq!(user_count(&server, &owner).await, 1);
}

#[tokio::test]
async fn a_second_sync_while_one_runs_is_a_conflict() {
    let mut slapd = Slapd::start(&staff()).await;
    let (server, owner) = configured(&slapd, Duration::from_secs(2)).await;
    slapd.stop();
    let _silent = Silent::start(slapd.port()).await;
    let (code, first) = server
        .post("/api/v1/external_ldap/sync", &owner, json!({}))
        .await;
    assert_eq!(code, StatusCode::ACCEPTED);

    let second = server
        .request(Method::POST, "/api/v1/external_ldap/sync", &owner, None)
        .await;

    expect_error_exact(
        second,
        StatusCode::CONFLICT,
        "A syncExternalLdap task is already running",
    );
    let id = first["taskId"].as_str().unwrap();
    wait_for_task_end(&server, &owner, id, Duration::from_secs(10)).await;
}

#[tokio::test]
async fn the_sync_runs_on_schedule() {
    let slapd = Slapd::start(&staff()).await;
    let clock = Arc::new(ManualClock::default());
    let server = TestServer::start_with(|config| config.clock = clock.clone()).await;
    let owner = server.owner_token().await;
    let (code, _) = server
        .post("/api/v1/external_ldap/config", &owner, slapd.config())
        .await;
    assert_eq!(code, StatusCode::OK);

    clock.advance(TimeDelta::seconds(3601));

    let mut waited = Duration::ZERO;
    while user_count(&server, &owner).await < 4 {
        assert!(waited < Duration::from_secs(10), "no scheduled sync");
        tokio::time::sleep(Duration::from_millis(50)).await;
        waited += Duration::from_millis(50);
    }
    let (_, tasks) = server
        .get("/api/v1/tasks?type=syncExternalLdap", &owner)
        .await;
    assert_eq!(tasks["tasks"].as_array().unwrap().len(), 1, "{tasks}");
}

#[tokio::test]
async fn no_scheduled_sync_runs_when_the_interval_is_off() {
    let slapd = Slapd::start(&staff()).await;
    let clock = Arc::new(ManualClock::default());
    let server = TestServer::start_with(|config| {
        config.clock = clock.clone();
        config.external_ldap.sync_interval = None;
    })
    .await;
    let owner = server.owner_token().await;
    configure_and_sync(&server, &owner, &slapd).await;

    clock.advance(TimeDelta::seconds(3601));
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (_, tasks) = server
        .get("/api/v1/tasks?type=syncExternalLdap", &owner)
        .await;
    assert_eq!(tasks["tasks"].as_array().unwrap().len(), 1, "{tasks}");
}
