//! `/api/v1/notifications`: alerts the platform raises, listed and acknowledged.

use std::sync::Arc;
use std::time::Duration;

use boxd::clock::ManualClock;
use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestServer, expect_error_exact};

async fn notifications(server: &TestServer, token: &str, query: &str) -> Vec<Value> {
    let (code, body) = server
        .get(&format!("/api/v1/notifications{query}"), token)
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body["notifications"].as_array().unwrap().clone()
}

async fn reboot_alert(server: &TestServer, token: &str, acknowledged: bool) -> Value {
    for _ in 0..250 {
        let all = notifications(server, token, "").await;
        if let Some(alert) = all
            .iter()
            .find(|n| n["title"] == "Reboot Required" && n["acknowledged"] == acknowledged)
        {
            return alert.clone();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no reboot alert with acknowledged = {acknowledged}");
}

#[tokio::test]
async fn the_reboot_alert_is_raised_refreshed_and_cleared_in_place() {
    let clock = Arc::new(ManualClock::default());
    let server = TestServer::start_with(|config| config.clock = clock.clone()).await;
    let owner = server.owner_token().await;
    let marker = server.data_dir().join("reboot-required");
    assert!(notifications(&server, &owner, "").await.is_empty());

    std::fs::write(&marker, "").unwrap();
    clock.advance(TimeDelta::seconds(301));
    let raised = reboot_alert(&server, &owner, false).await;
    assert!(raised["message"].as_str().unwrap().contains("reboot"));
    assert_eq!(raised["eventId"], Value::Null);
    let id = raised["id"].as_str().unwrap();
    let (code, _) = server
        .post(
            &format!("/api/v1/notifications/{id}"),
            &owner,
            json!({"acknowledged": true}),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);

    clock.advance(TimeDelta::seconds(301));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let still = reboot_alert(&server, &owner, true).await;
    assert_eq!(
        still["id"], raised["id"],
        "a check of a raised alert keeps the acknowledgement"
    );

    std::fs::remove_file(&marker).unwrap();
    clock.advance(TimeDelta::seconds(301));
    tokio::time::sleep(Duration::from_millis(300)).await;
    std::fs::write(&marker, "").unwrap();
    clock.advance(TimeDelta::seconds(301));
    let again = reboot_alert(&server, &owner, false).await;
    assert_eq!(
        again["id"], raised["id"],
        "cleared, then raised again in place"
    );
    assert_eq!(notifications(&server, &owner, "").await.len(), 1);
}

#[tokio::test]
async fn user_changes_notify_and_link_their_event() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;
    server
        .put(
            &format!("/api/v1/users/{bob}/role"),
            &owner,
            json!({"role": "admin"}),
        )
        .await;
    server.delete(&format!("/api/v1/users/{bob}"), &owner).await;

    let titles: Vec<Value> = notifications(&server, &owner, "")
        .await
        .iter()
        .map(|n| n["title"].clone())
        .collect();

    assert_eq!(
        titles,
        [
            json!("User 'bob' removed"),
            json!("User 'bob' is now admin"),
            json!("User 'bob' added")
        ]
    );
    let added = notifications(&server, &owner, "?page=3&per_page=1").await;
    let event_id = added[0]["eventId"].as_str().unwrap();
    let (_, event) = server
        .get(&format!("/api/v1/eventlog/{event_id}"), &owner)
        .await;
    assert_eq!(event["action"], "user.add");
}

/// Adds four users (four notifications) and acknowledges the newest; answers its id.
async fn four_with_the_newest_acknowledged(server: &TestServer, owner: &str) -> String {
    for name in ["a1", "b2", "c3", "d4"] {
        server.add_user(owner, name, "user").await;
    }
    let all = notifications(server, owner, "").await;
    let newest = all[0]["id"].as_str().unwrap().to_owned();
    let (code, _) = server
        .post(
            &format!("/api/v1/notifications/{newest}"),
            owner,
            json!({"acknowledged": true}),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    newest
}

#[tokio::test]
async fn notifications_are_filtered_before_paging() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let newest = four_with_the_newest_acknowledged(&server, &owner).await;

    let open_page_two =
        notifications(&server, &owner, "?acknowledged=false&per_page=2&page=2").await;
    let acknowledged = notifications(&server, &owner, "?acknowledged=true").await;

    assert_eq!(
        open_page_two.len(),
        1,
        "three open ones, paged after filtering"
    );
    assert_eq!(open_page_two[0]["title"], "User 'a1' added");
    assert_eq!(
        (acknowledged.len(), acknowledged[0]["id"].as_str().unwrap()),
        (1, newest.as_str())
    );
}

#[tokio::test]
async fn acknowledged_is_set_to_the_bodys_value() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let newest = four_with_the_newest_acknowledged(&server, &owner).await;

    let (code, _) = server
        .post(
            &format!("/api/v1/notifications/{newest}"),
            &owner,
            json!({"acknowledged": false}),
        )
        .await;

    assert_eq!(code, StatusCode::NO_CONTENT);
    let (_, one) = server
        .get(&format!("/api/v1/notifications/{newest}"), &owner)
        .await;
    assert_eq!(one["acknowledged"], false);
    assert!(one.get("notification").is_none(), "a bare object");
}

#[tokio::test]
async fn the_acknowledged_filter_must_be_a_boolean() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server
        .get("/api/v1/notifications?acknowledged=maybe", &owner)
        .await;

    expect_error_exact(
        answer,
        StatusCode::BAD_REQUEST,
        "acknowledged must be a true or false",
    );
}

#[tokio::test]
async fn acknowledging_needs_a_boolean() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    server.add_user(&owner, "bob", "user").await;
    let id = notifications(&server, &owner, "").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/api/v1/notifications/{id}");

    let missing = server.post(&path, &owner, json!({})).await;
    let (code, _) = server
        .post(&path, &owner, json!({"acknowledged": "yes"}))
        .await;

    expect_error_exact(missing, StatusCode::BAD_REQUEST, "acknowledged is required");
    assert_eq!(code, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unknown_notifications_are_404() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    for id in ["999", "abc"] {
        let answer = server
            .get(&format!("/api/v1/notifications/{id}"), &owner)
            .await;
        expect_error_exact(answer, StatusCode::NOT_FOUND, "No such notification");
        let (code, _) = server
            .post(
                &format!("/api/v1/notifications/{id}"),
                &owner,
                json!({"acknowledged": true}),
            )
            .await;
        assert_eq!(code, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn notifications_are_for_admins() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, bob) = server.add_user(&owner, "bob", "user").await;

    let (as_user, _) = server.get("/api/v1/notifications", &bob).await;
    let (without_token, _) = server.get("/api/v1/notifications", "").await;

    assert_eq!(as_user, StatusCode::FORBIDDEN);
    assert_eq!(without_token, StatusCode::UNAUTHORIZED);
}
