//! `PUT /api/v1/users/{userId}/active`: deactivation and reactivation.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TestServer, USER_PASSWORD, expect_error_exact};

#[tokio::test]
async fn deactivation_locks_out_at_once() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, token) = server.add_user(&owner, "bob", "user").await;

    let (code, _) = server
        .put(
            &format!("/api/v1/users/{bob}/active"),
            &owner,
            json!({"active": false}),
        )
        .await;

    assert_eq!(code, StatusCode::NO_CONTENT);
    let (code, _) = server.get("/api/v1/profile", &token).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, _) = server
        .post(
            "/api/v1/auth/login",
            "",
            json!({"username": "bob", "password": USER_PASSWORD}),
        )
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (_, user) = server.get(&format!("/api/v1/users/{bob}"), &owner).await;
    assert_eq!(user["active"], false);
    let (_, inactive) = server.get("/api/v1/users?active=false", &owner).await;
    assert_eq!(inactive["users"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn reactivation_lets_back_in() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;
    let path = format!("/api/v1/users/{bob}/active");
    let (code, _) = server.put(&path, &owner, json!({"active": false})).await;
    assert_eq!(code, StatusCode::NO_CONTENT);

    let (code, _) = server.put(&path, &owner, json!({"active": true})).await;

    assert_eq!(code, StatusCode::NO_CONTENT);
    server.login("bob", USER_PASSWORD).await;
}

#[tokio::test]
async fn active_must_be_a_boolean() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;

    let answer = server
        .put(
            &format!("/api/v1/users/{bob}/active"),
            &owner,
            json!({"active": "no"}),
        )
        .await;

    expect_error_exact(answer, StatusCode::BAD_REQUEST, "active must be a boolean");
}
