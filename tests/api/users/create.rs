//! `POST /api/v1/users`: new users and open invites.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TestServer, USER_PASSWORD, expect_error_exact};

#[tokio::test]
async fn a_created_user_is_listed_fetched_and_recorded() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let body = json!({"username": "Bob", "email": "Bob@Example.com", "password": USER_PASSWORD, "displayName": "Bob B"});
    let (code, created) = server.post("/api/v1/users", &owner, body).await;

    assert_eq!(code, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("uid-"));
    let (code, user) = server.get(&format!("/api/v1/users/{id}"), &owner).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        user,
        json!({"id": id, "username": "bob", "email": "bob@example.com", "fallbackEmail": "bob@example.com",
               "displayName": "Bob B", "groupIds": [], "active": true, "source": "", "role": "user",
               "twoFactorAuthenticationEnabled": false, "inviteAccepted": true})
    );
    let (_, list) = server.get("/api/v1/users", &owner).await;
    let names: Vec<&str> = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob"]);
    let (_, events) = server
        .get("/api/v1/eventlog?actions=user.add&per_page=1", &owner)
        .await;
    let event = &events["eventlogs"][0];
    assert_eq!(event["data"]["userId"], id);
    assert_eq!(event["data"]["invitor"]["username"], "alice");
    assert_eq!(event["source"]["username"], "alice");
    server.login("bob", USER_PASSWORD).await;
}

#[tokio::test]
async fn a_user_without_a_password_is_an_open_invite() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let (code, created) = server
        .post("/api/v1/users", &owner, json!({"email": "new@example.com"}))
        .await;

    assert_eq!(code, StatusCode::CREATED);
    let (_, user) = server
        .get(
            &format!("/api/v1/users/{}", created["id"].as_str().unwrap()),
            &owner,
        )
        .await;
    assert_eq!(
        (user["inviteAccepted"].clone(), user["username"].clone()),
        (json!(false), json!(null))
    );
}

/// Asserts that alice and bob are still the only users.
async fn assert_nothing_was_created(server: &TestServer, owner: &str) {
    let (_, list) = server.get("/api/v1/users", owner).await;
    assert_eq!(
        list["users"].as_array().unwrap().len(),
        2,
        "nothing was half-created"
    );
}

#[tokio::test]
async fn creation_validates_every_field() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    server.add_user(&owner, "bob", "user").await;
    let cases = [
        (json!({}), "email is required"),
        (
            json!({"email": "nope"}),
            "email is not a valid email address",
        ),
        (
            json!({"email": "c@example.com", "username": "c d"}),
            "Username can only contain alphanumerals, dot and -",
        ),
        (
            json!({"email": "c@example.com", "username": "postmaster"}),
            "Username is reserved",
        ),
        (
            json!({"email": "c@example.com", "username": "x.app"}),
            "Username pattern is reserved for apps",
        ),
        (
            json!({"email": "c@example.com", "username": "a".repeat(200)}),
            "Username too long",
        ),
        (
            json!({"email": "c@example.com", "password": "short"}),
            "Password must be atleast 8 characters",
        ),
        (
            json!({"email": "c@example.com", "password": "x".repeat(257)}),
            "Password cannot be more than 256 characters",
        ),
        (
            json!({"email": "c@example.com", "role": "superuser"}),
            "role must be one of owner, admin, usermanager, mailmanager, user",
        ),
        (
            json!({"email": "c@example.com", "fallbackEmail": "x"}),
            "fallbackEmail is not a valid email address",
        ),
    ];

    for (body, expected) in cases {
        let answer = server.post("/api/v1/users", &owner, body).await;
        expect_error_exact(answer, StatusCode::BAD_REQUEST, expected);
    }
    assert_nothing_was_created(&server, &owner).await;
}

#[tokio::test]
async fn an_email_or_username_in_use_is_a_conflict() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    server.add_user(&owner, "bob", "user").await;

    let same_email = server
        .post("/api/v1/users", &owner, json!({"email": "BOB@example.com"}))
        .await;
    let same_username = server
        .post(
            "/api/v1/users",
            &owner,
            json!({"email": "c@example.com", "username": "BOB"}),
        )
        .await;

    expect_error_exact(same_email, StatusCode::CONFLICT, "email already exists");
    expect_error_exact(
        same_username,
        StatusCode::CONFLICT,
        "username already exists",
    );
    assert_nothing_was_created(&server, &owner).await;
}

#[tokio::test]
async fn nobody_is_created_as_owner() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    server.add_user(&owner, "bob", "user").await;

    let answer = server
        .post(
            "/api/v1/users",
            &owner,
            json!({"email": "c@example.com", "role": "owner"}),
        )
        .await;

    expect_error_exact(
        answer,
        StatusCode::FORBIDDEN,
        "There is exactly one owner; the role cannot be given",
    );
    assert_nothing_was_created(&server, &owner).await;
}
