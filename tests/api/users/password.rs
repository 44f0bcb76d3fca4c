//! `POST /api/v1/users/{userId}/password`: a manager sets a user's password.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::slapd::{CAROL_PASSWORD, Slapd, configure_and_sync, staff};
use crate::support::{OWNER_PASSWORD, TestServer, expect_error_exact};

#[tokio::test]
async fn a_manager_sets_a_password_and_ends_the_users_sessions() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, session) = server.add_user(&owner, "bob", "user").await;

    let (code, _) = server
        .post(
            &format!("/api/v1/users/{bob}/password"),
            &owner,
            json!({"password": "brand new password"}),
        )
        .await;

    assert_eq!(code, StatusCode::NO_CONTENT);
    let (code, _) = server.get("/api/v1/profile", &session).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "bob's sessions ended");
    server.login("bob", "brand new password").await;
}

#[tokio::test]
async fn a_short_password_is_refused() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;

    let answer = server
        .post(
            &format!("/api/v1/users/{bob}/password"),
            &owner,
            json!({"password": "short"}),
        )
        .await;

    expect_error_exact(
        answer,
        StatusCode::BAD_REQUEST,
        "Password must be atleast 8 characters",
    );
}

#[tokio::test]
async fn nobody_sets_their_own_password_here() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, me) = server.get("/api/v1/profile", &owner).await;

    let (code, body) = server
        .post(
            &format!("/api/v1/users/{}/password", me["id"].as_str().unwrap()),
            &owner,
            json!({"password": "12345678"}),
        )
        .await;

    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    server.login("alice", OWNER_PASSWORD).await;
}

#[tokio::test]
async fn an_unknown_users_password_is_404() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let (code, _) = server
        .post(
            "/api/v1/users/uid-nobody/password",
            &owner,
            json!({"password": "12345678"}),
        )
        .await;

    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_password_of_a_directory_user_is_not_set_here() {
    let slapd = Slapd::start(&staff()).await;
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    configure_and_sync(&server, &owner, &slapd).await;
    let session = server.login("carol", CAROL_PASSWORD).await;
    let (_, profile) = server.get("/api/v1/profile", &session).await;
    let carol = profile["id"].as_str().unwrap();

    let answer = server
        .post(
            &format!("/api/v1/users/{carol}/password"),
            &owner,
            json!({"password": "brand new password"}),
        )
        .await;

    expect_error_exact(
        answer,
        StatusCode::FORBIDDEN,
        "The password of this user is in the external directory; change it there",
    );
    assert_eq!(
        server.get("/api/v1/profile", &session).await.0,
        StatusCode::OK
    );
}
