use chrono::{TimeDelta, Utc};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TestServer, USER_PASSWORD, enable_two_factor, expect_error_exact, totp_code};

async fn login(server: &TestServer, totp: Option<&str>) -> (StatusCode, serde_json::Value) {
    let mut body = json!({"username": "bob", "password": USER_PASSWORD});
    if let Some(code) = totp {
        body["totpToken"] = json!(code);
    }
    server.post("/api/v1/auth/login", "", body).await
}

#[tokio::test]
async fn two_factor_end_to_end_with_replay_refused() {
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
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(
        created["qrcode"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,")
    );
    let (_, profile) = server.get("/api/v1/profile", &bob).await;
    assert_eq!(
        profile["twoFactorAuthenticationEnabled"], false,
        "a secret alone does not turn 2FA on"
    );

    let answer = server
        .post(
            "/api/v1/profile/twofactorauthentication_enable",
            &bob,
            json!({"totpToken": "000000"}),
        )
        .await;
    expect_error_exact(answer, StatusCode::PRECONDITION_FAILED, "Invalid token");
    let now = Utc::now();
    let enable_code = totp_code(&secret, now);
    let (code, _) = server
        .post(
            "/api/v1/profile/twofactorauthentication_enable",
            &bob,
            json!({"totpToken": enable_code}),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let (code, _) = server
        .post(
            "/api/v1/profile/twofactorauthentication_secret",
            &bob,
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::CONFLICT);
    let (code, body) = server
        .post(
            "/api/v1/profile/twofactorauthentication_enable",
            &bob,
            json!({"totpToken": totp_code(&secret, now + TimeDelta::seconds(30))}),
        )
        .await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");

    let answer = login(&server, None).await;
    expect_error_exact(
        answer,
        StatusCode::UNAUTHORIZED,
        "A totpToken must be provided",
    );
    let answer = login(&server, Some("123456")).await;
    expect_error_exact(answer, StatusCode::UNAUTHORIZED, "Invalid totpToken");
    let (code, _) = login(&server, Some(&enable_code)).await;
    assert_eq!(
        code,
        StatusCode::UNAUTHORIZED,
        "the code used to enable is spent"
    );
    // The next step's code is accepted now (one step of skew), once.
    let next = totp_code(&secret, now + TimeDelta::seconds(30));
    let (code, body) = login(&server, Some(&next)).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    // Replayed.
    let answer = login(&server, Some(&next)).await;
    expect_error_exact(answer, StatusCode::UNAUTHORIZED, "Invalid totpToken");

    let (_, profile) = server.get("/api/v1/profile", &bob).await;
    assert_eq!(profile["twoFactorAuthenticationEnabled"], true);
    assert!(!profile.to_string().contains(&secret));

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
    let (code, _) = login(&server, None).await;
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
async fn a_manager_turns_off_a_users_lost_2fa() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob_id, bob) = server.add_user(&owner, "bob", "user").await;
    enable_two_factor(&server, &bob).await;
    let (_, user) = server.get(&format!("/api/v1/users/{bob_id}"), &owner).await;
    assert_eq!(user["twoFactorAuthenticationEnabled"], true);

    let (code, body) = server
        .post(
            &format!("/api/v1/users/{bob_id}/twofactorauthentication_disable"),
            &owner,
            json!({}),
        )
        .await;

    assert_eq!((code, body), (StatusCode::OK, json!({})));
    let (code, _) = login(&server, None).await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = server
        .post(
            "/api/v1/users/uid-nobody/twofactorauthentication_disable",
            &owner,
            json!({}),
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}
