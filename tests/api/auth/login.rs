//! `POST /api/v1/auth/login`: passwords, TOTP codes, session tokens; users of the external
//! directory (a real slapd) with their directory password.

use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::slapd::{CAROL_PASSWORD, Slapd, configure_and_sync, staff};
use crate::support::{
    OWNER_PASSWORD, TestServer, enable_two_factor, expect_error_exact, totp_code, try_login,
};

#[tokio::test]
async fn the_right_password_gives_a_working_session_token() {
    let server = TestServer::start().await;
    server.owner_token().await;

    let (code, body) = server
        .post(
            "/api/v1/auth/login",
            "",
            json!({"username": "alice", "password": OWNER_PASSWORD}),
        )
        .await;

    assert_eq!(code, StatusCode::OK, "{body}");
    let token = body["accessToken"].as_str().unwrap();
    let (code, tokens) = server.get("/api/v1/tokens", token).await;
    assert_eq!(code, StatusCode::OK);
    let session = tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "login")
        .unwrap();
    assert_eq!(session["clientId"], "cid-webadmin");
    assert_eq!(session["expires"], body["expires"]);
}

#[tokio::test]
async fn an_email_address_logs_in_like_the_username() {
    let server = TestServer::start().await;
    server.owner_token().await;
    server.login("Alice@Example.com", OWNER_PASSWORD).await;
}

#[tokio::test]
async fn wrong_passwords_and_unknown_users_get_the_same_401() {
    let server = TestServer::start().await;
    server.owner_token().await;

    for body in [
        json!({"username": "alice", "password": "wrong password"}),
        json!({"username": "nobody", "password": OWNER_PASSWORD}),
    ] {
        let answer = server.post("/api/v1/auth/login", "", body).await;
        expect_error_exact(answer, StatusCode::UNAUTHORIZED, "Invalid credentials");
    }
}

#[tokio::test]
async fn a_login_without_a_password_is_400() {
    let server = TestServer::start().await;
    server.owner_token().await;

    let (code, _) = server
        .post("/api/v1/auth/login", "", json!({"username": "alice"}))
        .await;

    assert_eq!(code, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_login_is_recorded_with_the_client_ip() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    server.login("alice", OWNER_PASSWORD).await;

    let (_, events) = server
        .get("/api/v1/eventlog?actions=user.login", &owner)
        .await;

    let login = &events["eventlogs"][0];
    assert_eq!(login["action"], "user.login");
    assert_eq!(login["source"]["ip"], "127.0.0.1");
    assert_eq!(login["source"]["username"], "alice");
    assert_eq!(login["data"]["user"]["username"], "alice");
    assert!(!login.to_string().contains(OWNER_PASSWORD));
}

#[tokio::test]
async fn with_two_factor_a_login_needs_a_valid_totp_code() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, bob) = server.add_user(&owner, "bob", "user").await;
    enable_two_factor(&server, &bob).await;

    let without = try_login(&server, "bob", None).await;
    let wrong = try_login(&server, "bob", Some("123456")).await;

    expect_error_exact(
        without,
        StatusCode::UNAUTHORIZED,
        "A totpToken must be provided",
    );
    expect_error_exact(wrong, StatusCode::UNAUTHORIZED, "Invalid totpToken");
}

#[tokio::test]
async fn the_code_that_enabled_two_factor_is_spent() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, bob) = server.add_user(&owner, "bob", "user").await;
    let two_factor = enable_two_factor(&server, &bob).await;

    let (code, _) = try_login(&server, "bob", Some(&two_factor.enable_code)).await;

    assert_eq!(code, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_next_steps_code_logs_in_once_and_is_not_replayed() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, bob) = server.add_user(&owner, "bob", "user").await;
    let two_factor = enable_two_factor(&server, &bob).await;
    // The next step's code is accepted now (one step of skew), once.
    let next = totp_code(
        &two_factor.secret,
        two_factor.enabled_at + TimeDelta::seconds(30),
    );

    let (code, body) = try_login(&server, "bob", Some(&next)).await;
    let replayed = try_login(&server, "bob", Some(&next)).await;

    assert_eq!(code, StatusCode::OK, "{body}");
    expect_error_exact(replayed, StatusCode::UNAUTHORIZED, "Invalid totpToken");
}

/// A server that synced the users of `slapd` (carol, dave, erin).
async fn with_directory(slapd: &Slapd) -> (TestServer, String) {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    configure_and_sync(&server, &owner, slapd).await;
    (server, owner)
}

fn carol(password: &str) -> serde_json::Value {
    json!({"username": "carol", "password": password})
}

#[tokio::test]
async fn a_user_of_the_external_directory_logs_in_with_the_directory_password() {
    let slapd = Slapd::start(&staff()).await;
    let (server, _) = with_directory(&slapd).await;

    let (code, body) = server
        .post("/api/v1/auth/login", "", carol(CAROL_PASSWORD))
        .await;

    assert_eq!(code, StatusCode::OK, "{body}");
    let (_, profile) = server
        .get("/api/v1/profile", body["accessToken"].as_str().unwrap())
        .await;
    assert_eq!(
        (&profile["username"], &profile["source"]),
        (&json!("carol"), &json!("ldap"))
    );
}

#[tokio::test]
async fn a_wrong_directory_password_is_a_401() {
    let slapd = Slapd::start(&staff()).await;
    let (server, _) = with_directory(&slapd).await;

    let wrong = server
        .post("/api/v1/auth/login", "", carol("Not-Carols-Password"))
        .await;
    let empty = server.post("/api/v1/auth/login", "", carol("")).await;

    expect_error_exact(wrong, StatusCode::UNAUTHORIZED, "Invalid credentials");
    expect_error_exact(empty, StatusCode::UNAUTHORIZED, "Invalid credentials");
}

#[tokio::test]
async fn wrong_directory_passwords_count_in_the_login_throttle() {
    let slapd = Slapd::start(&staff()).await;
    let (server, _) = with_directory(&slapd).await;
    for _ in 0..10 {
        let (code, _) = server
            .post("/api/v1/auth/login", "", carol("Not-Carols-Password"))
            .await;
        assert_eq!(code, StatusCode::UNAUTHORIZED);
    }

    let (code, _) = server
        .post("/api/v1/auth/login", "", carol(CAROL_PASSWORD))
        .await;

    assert_eq!(code, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_login_while_the_external_directory_is_down_is_a_424() {
    let mut slapd = Slapd::start(&staff()).await;
    let (server, _) = with_directory(&slapd).await;
    slapd.stop();

    let answer = server
        .post("/api/v1/auth/login", "", carol(CAROL_PASSWORD))
        .await;

    expect_error_exact(
        answer,
        StatusCode::FAILED_DEPENDENCY,
        "The external directory cannot be reached; try again later",
    );
}

#[tokio::test]
async fn two_factor_works_for_users_of_the_external_directory() {
    let slapd = Slapd::start(&staff()).await;
    let (server, _) = with_directory(&slapd).await;
    let token = server.login("carol", CAROL_PASSWORD).await;
    let two_factor = enable_two_factor(&server, &token).await;
    let next = totp_code(
        &two_factor.secret,
        two_factor.enabled_at + TimeDelta::seconds(30),
    );

    let without = server
        .post("/api/v1/auth/login", "", carol(CAROL_PASSWORD))
        .await;
    let mut with_code = carol(CAROL_PASSWORD);
    with_code["totpToken"] = json!(next);
    let (code, body) = server.post("/api/v1/auth/login", "", with_code).await;

    expect_error_exact(
        without,
        StatusCode::UNAUTHORIZED,
        "A totpToken must be provided",
    );
    assert_eq!(code, StatusCode::OK, "{body}");
}
