//! `POST /api/v1/auth/setup_account`: an invited user chooses a username and password with the
//! invite link's token, once, within 7 days.

use std::sync::Arc;

use boxd::clock::ManualClock;
use chrono::TimeDelta;
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use serde_json::{Value, json};

use crate::support::{TestServer, add_invited_user, expect_error, expect_error_exact, link_param};

/// The invite token of a new invite link for `user_id`.
async fn invite_token(server: &TestServer, owner: &str, user_id: &str) -> String {
    let (code, body) = server
        .get(&format!("/api/v1/users/{user_id}/invite_link"), owner)
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    link_param(body["inviteLink"].as_str().unwrap(), "inviteToken")
}

async fn setup(server: &TestServer, body: Value) -> (StatusCode, Value) {
    server.post("/api/v1/auth/setup_account", "", body).await
}

#[tokio::test]
async fn the_invited_user_chooses_a_username_name_and_password() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let carol = add_invited_user(&server, &owner, None).await;
    let token = invite_token(&server, &owner, &carol).await;

    let (code, body) = setup(
        &server,
        json!({"inviteToken": token, "password": "carols password",
               "username": "Carol.C", "displayName": "Carol Cook"}),
    )
    .await;

    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["twoFactorAuthenticationSetupRequired"], false);
    assert!(body["expires"].as_i64().unwrap() > chrono::Utc::now().timestamp_millis());
    let (_, profile) = server
        .get("/api/v1/profile", body["accessToken"].as_str().unwrap())
        .await;
    assert_eq!(profile["username"], "carol.c");
    assert_eq!(profile["displayName"], "Carol Cook");
    let (_, events) = server
        .get("/api/v1/eventlog?actions=user.update,user.login", &owner)
        .await;
    assert_eq!(events["eventlogs"][0]["action"], "user.login");
    assert_eq!(events["eventlogs"][1]["data"]["inviteAccepted"], true);
    assert_eq!(events["eventlogs"][1]["source"]["username"], "carol.c");
    server.login("carol.c", "carols password").await;
}

#[tokio::test]
async fn a_username_is_needed_when_the_invite_has_none() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let carol = add_invited_user(&server, &owner, None).await;
    let token = invite_token(&server, &owner, &carol).await;

    let without = setup(
        &server,
        json!({"inviteToken": token, "password": "carols password"}),
    )
    .await;

    expect_error_exact(without, StatusCode::BAD_REQUEST, "username is required");
    let (code, _) = setup(
        &server,
        json!({"inviteToken": token, "password": "carols password", "username": "carol"}),
    )
    .await;
    assert_eq!(
        code,
        StatusCode::OK,
        "the refused attempt did not use the link up"
    );
}

#[tokio::test]
async fn the_username_of_the_invite_stays_and_a_taken_one_is_refused() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let named = add_invited_user(&server, &owner, Some("carol")).await;
    let token = invite_token(&server, &owner, &named).await;

    let other = setup(
        &server,
        json!({"inviteToken": token, "password": "carols password", "username": "caroline"}),
    )
    .await;

    expect_error_exact(
        other,
        StatusCode::CONFLICT,
        "The username cannot be changed once set",
    );
    let (code, created) = server
        .post("/api/v1/users", &owner, json!({"email": "dan@example.com"}))
        .await;
    assert_eq!(code, StatusCode::CREATED);
    let dan = created["id"].as_str().unwrap();
    let token = invite_token(&server, &owner, dan).await;
    let taken = setup(
        &server,
        json!({"inviteToken": token, "password": "dans password", "username": "carol"}),
    )
    .await;
    expect_error_exact(taken, StatusCode::CONFLICT, "username already exists");
}

#[tokio::test]
async fn the_fields_are_validated_as_for_any_user() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let carol = add_invited_user(&server, &owner, None).await;
    let token = invite_token(&server, &owner, &carol).await;
    let cases = [
        (
            json!({"inviteToken": token, "password": "short", "username": "carol"}),
            "Password must be atleast 8 characters",
        ),
        (
            json!({"inviteToken": token, "password": "carols password", "username": "carol_c"}),
            "Username can only contain alphanumerals, dot and -",
        ),
        (
            json!({"inviteToken": token, "password": "carols password", "username": "admin"}),
            "Username is reserved",
        ),
        (
            json!({"password": "carols password", "username": "carol"}),
            "inviteToken",
        ),
        (
            json!({"inviteToken": 5, "password": "carols password"}),
            "inviteToken",
        ),
    ];

    for (body, message) in cases {
        expect_error(setup(&server, body).await, StatusCode::BAD_REQUEST, message);
    }
}

#[tokio::test]
async fn an_invite_expires_after_seven_days() {
    let clock = Arc::new(ManualClock::default());
    let server = TestServer::start_with(|config| config.clock = clock.clone()).await;
    let owner = server.owner_token().await;
    let carol = add_invited_user(&server, &owner, Some("carol")).await;
    let token = invite_token(&server, &owner, &carol).await;

    clock.advance(TimeDelta::days(7) + TimeDelta::minutes(1));

    let late = setup(
        &server,
        json!({"inviteToken": token, "password": "carols password"}),
    )
    .await;
    expect_error_exact(
        late,
        StatusCode::UNAUTHORIZED,
        "This invite link is invalid, used or expired",
    );
}

#[tokio::test]
async fn an_invite_works_until_its_seventh_day_ends() {
    let clock = Arc::new(ManualClock::default());
    let server = TestServer::start_with(|config| config.clock = clock.clone()).await;
    let owner = server.owner_token().await;
    let carol = add_invited_user(&server, &owner, Some("carol")).await;
    let token = invite_token(&server, &owner, &carol).await;

    clock.advance(TimeDelta::days(7) - TimeDelta::minutes(1));

    let (code, body) = setup(
        &server,
        json!({"inviteToken": token, "password": "carols password"}),
    )
    .await;
    assert_eq!(code, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn guessing_invite_tokens_is_throttled_like_logins() {
    let server = TestServer::start().await;
    server.owner_token().await;

    for n in 0..10 {
        let guess = json!({"inviteToken": format!("guess-{n}"), "password": "a password"});
        expect_error(
            setup(&server, guess).await,
            StatusCode::UNAUTHORIZED,
            "invalid",
        );
    }
    let response = server
        .http
        .post(server.url("/api/v1/auth/setup_account"))
        .json(&json!({"inviteToken": "guess-11", "password": "a password"}))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key(RETRY_AFTER));
}
