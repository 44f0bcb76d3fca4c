//! `POST /api/v1/users/{userId}/profile`: a manager edits a user with the own-profile rules.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TestServer, expect_error_exact};

#[tokio::test]
async fn a_manager_edits_the_profile_but_not_the_role() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;

    let (code, _) = server
        .post(
            &format!("/api/v1/users/{bob}/profile"),
            &owner,
            json!({"displayName": "Robert", "email": "Robert@example.com", "role": "admin"}),
        )
        .await;

    assert_eq!(code, StatusCode::NO_CONTENT);
    let (_, user) = server.get(&format!("/api/v1/users/{bob}"), &owner).await;
    assert_eq!(
        (
            user["displayName"].clone(),
            user["email"].clone(),
            user["role"].clone()
        ),
        (json!("Robert"), json!("robert@example.com"), json!("user"))
    );
}

#[tokio::test]
async fn an_email_in_use_is_a_conflict_and_a_username_is_set_once() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;
    server.add_user(&owner, "carol", "user").await;
    let path = format!("/api/v1/users/{bob}/profile");

    let email = server
        .post(&path, &owner, json!({"email": "CAROL@example.com"}))
        .await;
    let (username, _) = server
        .post(&path, &owner, json!({"username": "robert"}))
        .await;

    expect_error_exact(email, StatusCode::CONFLICT, "email already exists");
    assert_eq!(username, StatusCode::CONFLICT, "a username is set once");
}

#[tokio::test]
async fn an_unknown_users_profile_is_404() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let (code, _) = server
        .post("/api/v1/users/uid-nobody/profile", &owner, json!({}))
        .await;

    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_invited_user_is_given_a_username() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, invited) = server
        .post("/api/v1/users", &owner, json!({"email": "dan@example.com"}))
        .await;
    let invited = invited["id"].as_str().unwrap();

    let (code, _) = server
        .post(
            &format!("/api/v1/users/{invited}/profile"),
            &owner,
            json!({"username": "Dan"}),
        )
        .await;

    assert_eq!(code, StatusCode::NO_CONTENT);
    let (_, user) = server
        .get(&format!("/api/v1/users/{invited}"), &owner)
        .await;
    assert_eq!(user["username"], "dan");
}
