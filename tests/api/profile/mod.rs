//! `/api/v1/profile` and `/api/v1/profile/password`: the caller's own account.

mod directory;
mod images;
mod two_factor;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{OWNER_PASSWORD, TestServer, USER_PASSWORD, expect_error_exact};

#[tokio::test]
async fn the_profile_shows_the_caller_and_no_secret() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let (code, profile) = server.get("/api/v1/profile", &owner).await;

    assert_eq!(code, StatusCode::OK);
    let id = profile["id"].as_str().unwrap();
    assert_eq!(
        profile,
        json!({"id": id, "username": "alice", "email": "alice@example.com", "fallbackEmail": "alice@example.com",
               "displayName": "", "twoFactorAuthenticationEnabled": false, "twoFactorAuthenticationSetupRequired": false,
               "role": "owner", "hasBackgroundImage": false, "avatarUrl": "", "source": ""})
    );
    let (code, _) = server.get("/api/v1/profile", "").await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn profile_updates_change_only_what_users_may_change() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, bob) = server.add_user(&owner, "bob", "user").await;

    let body = json!({"displayName": "Bob B", "email": "Bob.B@Example.com", "role": "owner", "active": false, "id": "uid-x", "username": "root"});
    let (code, answer) = server.post("/api/v1/profile", &bob, body).await;

    assert_eq!((code, answer), (StatusCode::OK, json!({})));
    let (_, profile) = server.get("/api/v1/profile", &bob).await;
    assert_eq!(profile["displayName"], "Bob B");
    assert_eq!(profile["email"], "bob.b@example.com");
    assert_eq!(
        (profile["role"].clone(), profile["username"].clone()),
        (json!("user"), json!("bob")),
        "mass assignment is ignored"
    );
    let (code, answer) = server.post("/api/v1/profile", &bob, json!({})).await;
    assert_eq!((code, answer), (StatusCode::OK, json!({})));
    let (_, events) = server
        .get("/api/v1/eventlog?actions=user.update", &owner)
        .await;
    assert_eq!(
        events["eventlogs"].as_array().unwrap().len(),
        1,
        "one change, one event"
    );
}

#[tokio::test]
async fn profile_updates_are_validated() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, bob) = server.add_user(&owner, "bob", "user").await;
    let cases = [
        (
            json!({"email": "ALICE@example.com"}),
            StatusCode::CONFLICT,
            "email already exists",
        ),
        (
            json!({"email": "not-an-address"}),
            StatusCode::BAD_REQUEST,
            "email is not a valid email address",
        ),
        (
            json!({"displayName": 5}),
            StatusCode::BAD_REQUEST,
            "displayName must be a string",
        ),
        (
            json!({"displayName": "x".repeat(513)}),
            StatusCode::BAD_REQUEST,
            "displayName must be at most 512 characters",
        ),
        (
            json!({"fallbackEmail": "fb@example.com"}),
            StatusCode::BAD_REQUEST,
            "password is required to change fallbackEmail",
        ),
        (
            json!({"fallbackEmail": "fb@example.com", "password": "wrong password"}),
            StatusCode::PRECONDITION_FAILED,
            "Password incorrect",
        ),
    ];
    for (body, status, expected) in cases {
        let answer = server.post("/api/v1/profile", &bob, body).await;
        expect_error_exact(answer, status, expected);
    }
    let body = json!({"fallbackEmail": "FB@example.com", "password": USER_PASSWORD});
    let (code, _) = server.post("/api/v1/profile", &bob, body).await;
    assert_eq!(code, StatusCode::OK);
    let (_, profile) = server.get("/api/v1/profile", &bob).await;
    assert_eq!(profile["fallbackEmail"], "fb@example.com");
}

#[tokio::test]
async fn locked_profiles_stop_non_admins_only() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, bob) = server.add_user(&owner, "bob", "user").await;
    let (code, _) = server
        .post(
            "/api/v1/user_directory/profile_config",
            &owner,
            json!({"lockUserProfiles": true, "mandatory2FA": false}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);

    let answer = server
        .post("/api/v1/profile", &bob, json!({"displayName": "Bobby"}))
        .await;
    expect_error_exact(
        answer,
        StatusCode::FORBIDDEN,
        "Profile changes are locked by the administrator",
    );
    let (code, _) = server
        .post("/api/v1/profile", &bob, json!({"displayName": ""}))
        .await;
    assert_eq!(
        code,
        StatusCode::OK,
        "sending the current value changes nothing"
    );
    let (code, _) = server
        .post("/api/v1/profile", &owner, json!({"displayName": "Alice"}))
        .await;
    assert_eq!(code, StatusCode::OK);
}

#[tokio::test]
async fn a_password_change_is_validated() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, bob) = server.add_user(&owner, "bob", "user").await;
    let cases = [
        (
            json!({"password": "wrong password", "newPassword": "new password 2"}),
            StatusCode::PRECONDITION_FAILED,
            "Password incorrect",
        ),
        (
            json!({"password": USER_PASSWORD, "newPassword": "short"}),
            StatusCode::BAD_REQUEST,
            "Password must be atleast 8 characters",
        ),
        (
            json!({"newPassword": "new password 2"}),
            StatusCode::BAD_REQUEST,
            "password is required",
        ),
    ];

    for (body, status, expected) in cases {
        let answer = server.post("/api/v1/profile/password", &bob, body).await;
        expect_error_exact(answer, status, expected);
    }
}

#[tokio::test]
async fn a_password_change_ends_other_sessions_but_keeps_api_tokens() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, current) = server.add_user(&owner, "bob", "user").await;
    let other_session = server.login("bob", USER_PASSWORD).await;
    let api_token = server
        .create_token(&current, json!({"name": "script"}))
        .await;

    let body = json!({"password": USER_PASSWORD, "newPassword": "new password 2"});
    let answer = server
        .post("/api/v1/profile/password", &current, body)
        .await;

    assert_eq!(answer, (StatusCode::NO_CONTENT, Value::Null));
    for (token, expected) in [
        (&current, StatusCode::OK),
        (&api_token, StatusCode::OK),
        (&other_session, StatusCode::UNAUTHORIZED),
    ] {
        let (code, _) = server.get("/api/v1/profile", token).await;
        assert_eq!(code, expected);
    }
}

#[tokio::test]
async fn after_a_password_change_only_the_new_password_logs_in() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, bob) = server.add_user(&owner, "bob", "user").await;

    let body = json!({"password": USER_PASSWORD, "newPassword": "new password 2"});
    let (code, _) = server.post("/api/v1/profile/password", &bob, body).await;

    assert_eq!(code, StatusCode::NO_CONTENT);
    server.login("bob", "new password 2").await;
    let (code, _) = server
        .post(
            "/api/v1/auth/login",
            "",
            json!({"username": "bob", "password": USER_PASSWORD}),
        )
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn read_only_tokens_cannot_change_the_profile() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let read_only = server.read_only_token(&owner).await;
    for (path, body) in [
        ("/api/v1/profile", json!({"displayName": "x"})),
        (
            "/api/v1/profile/password",
            json!({"password": OWNER_PASSWORD, "newPassword": "12345678"}),
        ),
        ("/api/v1/profile/twofactorauthentication_secret", json!({})),
        (
            "/api/v1/profile/twofactorauthentication_enable",
            json!({"totpToken": "123456"}),
        ),
        (
            "/api/v1/profile/twofactorauthentication_disable",
            json!({"password": OWNER_PASSWORD}),
        ),
        ("/api/v1/profile/avatar", json!({"avatar": "gravatar"})),
    ] {
        let (code, _) = server.post(path, &read_only, body.clone()).await;
        assert_eq!(code, StatusCode::FORBIDDEN, "{path}");
        let (code, _) = server.post(path, "", body).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{path}");
    }
}
