//! `/api/v1/eventlog`: what happened, newest first, filtered and paged.

use reqwest::StatusCode;

use crate::support::{OWNER_PASSWORD, TestServer, expect_error_exact};

/// A server with four events: cloudron.start, user.add, cloudron.activate, user.login.
async fn four_events() -> (TestServer, String) {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    server.login("alice", OWNER_PASSWORD).await;
    (server, owner)
}

#[tokio::test]
async fn the_eventlog_lists_newest_first() {
    let (server, owner) = four_events().await;

    let (code, all) = server.get("/api/v1/eventlog", &owner).await;

    assert_eq!(code, StatusCode::OK);
    let actions: Vec<&str> = all["eventlogs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "user.login",
            "cloudron.activate",
            "user.add",
            "cloudron.start"
        ]
    );
    let first = &all["eventlogs"][0];
    assert!(first["creationTime"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn actions_and_search_filter_the_eventlog() {
    let (server, owner) = four_events().await;

    let (_, two) = server
        .get(
            "/api/v1/eventlog?actions=%20user.login%20,cloudron.start",
            &owner,
        )
        .await;
    assert_eq!(two["eventlogs"].as_array().unwrap().len(), 2);
    let (_, none) = server.get("/api/v1/eventlog?actions=user", &owner).await;
    assert_eq!(
        none["eventlogs"].as_array().unwrap().len(),
        0,
        "actions match exactly"
    );
    let (_, boot) = server.get("/api/v1/eventlog?search=BOOT", &owner).await;
    assert_eq!(boot["eventlogs"][0]["action"], "cloudron.start");
    let (_, both) = server
        .get("/api/v1/eventlog?search=alice&actions=user.add", &owner)
        .await;
    assert_eq!(both["eventlogs"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_eventlog_is_paged() {
    let (server, owner) = four_events().await;

    let (_, paged) = server
        .get("/api/v1/eventlog?page=2&per_page=3", &owner)
        .await;

    assert_eq!(paged["eventlogs"][0]["action"], "cloudron.start");
}

#[tokio::test]
async fn one_event_is_fetched_by_id() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, all) = server.get("/api/v1/eventlog", &owner).await;
    let id = all["eventlogs"][0]["id"].as_str().unwrap();

    let (code, event) = server.get(&format!("/api/v1/eventlog/{id}"), &owner).await;

    assert_eq!(code, StatusCode::OK);
    assert_eq!(event, all["eventlogs"][0]);
}

#[tokio::test]
async fn an_unknown_event_is_404() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server
        .get(
            "/api/v1/eventlog/7f32f714-ad40-4bea-b5e5-e71562679f0c",
            &owner,
        )
        .await;

    expect_error_exact(answer, StatusCode::NOT_FOUND, "No such event");
}

#[tokio::test]
async fn the_eventlog_needs_a_token() {
    let server = TestServer::start().await;
    server.owner_token().await;

    let (code, _) = server.get("/api/v1/eventlog", "").await;

    assert_eq!(code, StatusCode::UNAUTHORIZED);
}
