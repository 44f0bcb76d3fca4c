//! `POST /api/v1/auth/password_reset`: a new password with a reset link's token, once, within
//! an hour; users with 2FA give a code too.

use std::sync::Arc;

use boxd::clock::ManualClock;
use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    TestServer, USER_PASSWORD, enable_two_factor, expect_error, expect_error_exact, link_param,
    totp_code,
};

const NEW_PASSWORD: &str = "a fresh password";
const INVALID: &str = "This password reset link is invalid, used or expired";

async fn reset_token(server: &TestServer, owner: &str, user_id: &str) -> String {
    let (code, body) = server
        .get(
            &format!("/api/v1/users/{user_id}/password_reset_link"),
            owner,
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    link_param(body["passwordResetLink"].as_str().unwrap(), "resetToken")
}

async fn reset(server: &TestServer, body: Value) -> (StatusCode, Value) {
    server.post("/api/v1/auth/password_reset", "", body).await
}

#[tokio::test]
async fn a_reset_link_expires_after_an_hour() {
    let clock = Arc::new(ManualClock::default());
    let server = TestServer::start_with(|config| config.clock = clock.clone()).await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;
    let (carl, _) = server.add_user(&owner, "carl", "user").await;
    let bobs = reset_token(&server, &owner, &bob).await;
    let carls = reset_token(&server, &owner, &carl).await;

    clock.advance(TimeDelta::minutes(59));
    let (in_time, body) = reset(
        &server,
        json!({"resetToken": bobs, "password": NEW_PASSWORD}),
    )
    .await;
    clock.advance(TimeDelta::minutes(2));
    let late = reset(
        &server,
        json!({"resetToken": carls, "password": NEW_PASSWORD}),
    )
    .await;

    assert_eq!(in_time, StatusCode::OK, "{body}");
    expect_error_exact(late, StatusCode::UNAUTHORIZED, INVALID);
}

#[tokio::test]
async fn a_password_change_ends_the_outstanding_reset_links() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, session) = server.add_user(&owner, "bob", "user").await;
    let token = reset_token(&server, &owner, &bob).await;

    let (code, _) = server
        .post(
            "/api/v1/profile/password",
            &session,
            json!({"password": USER_PASSWORD, "newPassword": "bob changed it"}),
        )
        .await;

    assert_eq!(code, StatusCode::NO_CONTENT);
    let answer = reset(
        &server,
        json!({"resetToken": token, "password": NEW_PASSWORD}),
    )
    .await;
    expect_error_exact(answer, StatusCode::UNAUTHORIZED, INVALID);
}

#[tokio::test]
async fn a_user_with_two_factor_gives_a_code() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, session) = server.add_user(&owner, "bob", "user").await;
    let two_factor = enable_two_factor(&server, &session).await;
    let token = reset_token(&server, &owner, &bob).await;
    let next = totp_code(
        &two_factor.secret,
        two_factor.enabled_at + TimeDelta::seconds(30),
    );

    let without = reset(
        &server,
        json!({"resetToken": token, "password": NEW_PASSWORD}),
    )
    .await;
    let wrong = reset(
        &server,
        json!({"resetToken": token, "password": NEW_PASSWORD, "totpToken": "000000"}),
    )
    .await;
    let (code, body) = reset(
        &server,
        json!({"resetToken": token, "password": NEW_PASSWORD, "totpToken": next}),
    )
    .await;

    expect_error_exact(
        without,
        StatusCode::UNAUTHORIZED,
        "A totpToken must be provided",
    );
    expect_error_exact(wrong, StatusCode::UNAUTHORIZED, "Invalid totpToken");
    assert_eq!(code, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn the_new_password_is_validated_and_a_refusal_keeps_the_link() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;
    let token = reset_token(&server, &owner, &bob).await;

    let short = reset(&server, json!({"resetToken": token, "password": "short"})).await;
    let missing = reset(&server, json!({"password": NEW_PASSWORD})).await;
    let unknown = reset(
        &server,
        json!({"resetToken": "nope", "password": NEW_PASSWORD}),
    )
    .await;

    expect_error_exact(
        short,
        StatusCode::BAD_REQUEST,
        "Password must be atleast 8 characters",
    );
    expect_error(missing, StatusCode::BAD_REQUEST, "resetToken");
    expect_error_exact(unknown, StatusCode::UNAUTHORIZED, INVALID);
    let (code, _) = reset(
        &server,
        json!({"resetToken": token, "password": NEW_PASSWORD}),
    )
    .await;
    assert_eq!(code, StatusCode::OK);
}

#[tokio::test]
async fn a_reset_is_recorded_and_opens_a_session() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;
    let token = reset_token(&server, &owner, &bob).await;

    let (_, body) = reset(
        &server,
        json!({"resetToken": token, "password": NEW_PASSWORD}),
    )
    .await;

    let (_, tokens) = server
        .get("/api/v1/tokens", body["accessToken"].as_str().unwrap())
        .await;
    assert_eq!(
        tokens["tokens"].as_array().unwrap().len(),
        1,
        "only the new session"
    );
    let (_, events) = server
        .get("/api/v1/eventlog?actions=user.update", &owner)
        .await;
    let event = &events["eventlogs"][0];
    assert_eq!(event["data"]["passwordChanged"], true);
    assert_eq!(event["source"]["username"], "bob");
    assert!(!events.to_string().contains(NEW_PASSWORD));
}
