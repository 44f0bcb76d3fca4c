//! `/api/v1/profile/twofactorauthentication_{secret,enable,disable}`: a user's own TOTP.

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{
    TestServer, USER_PASSWORD, enable_two_factor, expect_error_exact, totp_code, try_login,
};

#[tokio::test]
async fn a_new_secret_comes_with_a_qr_code_and_does_not_turn_two_factor_on() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, bob) = server.add_user(&owner, "bob", "user").await;

    let (code, created) = server
        .post(
            "/api/v1/profile/twofactorauthentication_secret",
            &bob,
            json!({}),
        )
        .await;

    assert_eq!(code, StatusCode::OK);
    assert!(created["secret"].is_string());
    assert!(
        created["qrcode"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,")
    );
    let (_, profile) = server.get("/api/v1/profile", &bob).await;
    assert_eq!(profile["twoFactorAuthenticationEnabled"], false);
}

#[tokio::test]
async fn the_current_code_enables_two_factor_and_a_wrong_one_does_not() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, bob) = server.add_user(&owner, "bob", "user").await;
    let (_, created) = server
        .post(
            "/api/v1/profile/twofactorauthentication_secret",
            &bob,
            json!({}),
        )
        .await;
    let secret = created["secret"].as_str().unwrap();

    let wrong = server
        .post(
            "/api/v1/profile/twofactorauthentication_enable",
            &bob,
            json!({"totpToken": "000000"}),
        )
        .await;
    let (code, _) = server
        .post(
            "/api/v1/profile/twofactorauthentication_enable",
            &bob,
            json!({"totpToken": totp_code(secret, chrono::Utc::now())}),
        )
        .await;

    expect_error_exact(wrong, StatusCode::PRECONDITION_FAILED, "Invalid token");
    assert_eq!(code, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn once_enabled_neither_a_new_secret_nor_a_second_enable_is_allowed() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, bob) = server.add_user(&owner, "bob", "user").await;
    let two_factor = enable_two_factor(&server, &bob).await;

    let (code, _) = server
        .post(
            "/api/v1/profile/twofactorauthentication_secret",
            &bob,
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::CONFLICT);
    let next = totp_code(
        &two_factor.secret,
        two_factor.enabled_at + TimeDelta::seconds(30),
    );
    let (code, body) = server
        .post(
            "/api/v1/profile/twofactorauthentication_enable",
            &bob,
            json!({"totpToken": next}),
        )
        .await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
}

#[tokio::test]
async fn the_profile_shows_two_factor_on_and_never_its_secret() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, bob) = server.add_user(&owner, "bob", "user").await;
    let two_factor = enable_two_factor(&server, &bob).await;

    let (_, profile) = server.get("/api/v1/profile", &bob).await;

    assert_eq!(profile["twoFactorAuthenticationEnabled"], true);
    assert!(!profile.to_string().contains(&two_factor.secret));
}

#[tokio::test]
async fn disabling_needs_the_password_and_then_logins_need_no_code() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, bob) = server.add_user(&owner, "bob", "user").await;
    enable_two_factor(&server, &bob).await;

    let (code, _) = server
        .post(
            "/api/v1/profile/twofactorauthentication_disable",
            &bob,
            json!({"password": "wrong password"}),
        )
        .await;
    assert_eq!(code, StatusCode::PRECONDITION_FAILED);
    let (code, _) = server
        .post(
            "/api/v1/profile/twofactorauthentication_disable",
            &bob,
            json!({"password": USER_PASSWORD}),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let (code, _) = try_login(&server, "bob", None).await;
    assert_eq!(code, StatusCode::OK);
}

#[tokio::test]
async fn enable_needs_a_secret_and_a_code() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server
        .post(
            "/api/v1/profile/twofactorauthentication_enable",
            &owner,
            json!({"totpToken": "123456"}),
        )
        .await;
    expect_error_exact(answer, StatusCode::PRECONDITION_FAILED, "Invalid token");
    let answer = server
        .post(
            "/api/v1/profile/twofactorauthentication_enable",
            &owner,
            json!({}),
        )
        .await;
    expect_error_exact(answer, StatusCode::BAD_REQUEST, "totpToken is required");
    let (code, _) = server
        .post(
            "/api/v1/profile/twofactorauthentication_enable",
            &owner,
            json!({"totpToken": " "}),
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let answer = server
        .post(
            "/api/v1/profile/twofactorauthentication_disable",
            &owner,
            json!({}),
        )
        .await;
    expect_error_exact(answer, StatusCode::BAD_REQUEST, "password is required");
}

#[tokio::test]
async fn enabling_two_factor_ends_the_other_login_sessions_but_not_api_tokens() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, first) = server.add_user(&owner, "bob", "user").await;
    let second = server.login("bob", USER_PASSWORD).await;
    let script = server.create_token(&first, json!({"name": "script"})).await;
    assert_eq!(
        server.get("/api/v1/profile", &second).await.0,
        StatusCode::OK
    );

    enable_two_factor(&server, &first).await;

    assert_eq!(
        server.get("/api/v1/profile", &second).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        server.get("/api/v1/profile", &first).await.0,
        StatusCode::OK
    );
    assert_eq!(
        server.get("/api/v1/profile", &script).await.0,
        StatusCode::OK
    );
}
