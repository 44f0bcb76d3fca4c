//! The profile of a user of the external directory: the email, display name and password are
//! the directory's (403 here); the rest is theirs to change, confirmed by the directory password.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::TestServer;
use crate::support::expect_error_exact;
use crate::support::slapd::{CAROL_PASSWORD, Slapd, configure_and_sync, staff};

/// A server that synced `slapd`; answers carol's session token.
async fn carol_signed_in(slapd: &Slapd) -> (TestServer, String) {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    configure_and_sync(&server, &owner, slapd).await;
    let carol = server.login("carol", CAROL_PASSWORD).await;
    (server, carol)
}

#[tokio::test]
async fn the_email_and_display_name_of_a_directory_user_cannot_be_changed_here() {
    let slapd = Slapd::start(&staff()).await;
    let (server, carol) = carol_signed_in(&slapd).await;

    let email = server
        .post(
            "/api/v1/profile",
            &carol,
            json!({"email": "me@elsewhere.test"}),
        )
        .await;
    let name = server
        .post("/api/v1/profile", &carol, json!({"displayName": "C. J."}))
        .await;

    let message = "The email and display name of this user come from the external directory; \
                   change them there";
    expect_error_exact(email, StatusCode::FORBIDDEN, message);
    expect_error_exact(name, StatusCode::FORBIDDEN, message);
    let (_, profile) = server.get("/api/v1/profile", &carol).await;
    assert_eq!(
        (&profile["email"], &profile["displayName"]),
        (&json!("carol@example.com"), &json!("Carol Jones"))
    );
}

#[tokio::test]
async fn a_directory_user_changes_their_password_in_the_directory() {
    let slapd = Slapd::start(&staff()).await;
    let (server, carol) = carol_signed_in(&slapd).await;

    let answer = server
        .post(
            "/api/v1/profile/password",
            &carol,
            json!({"password": CAROL_PASSWORD, "newPassword": "A-New-Password-7"}),
        )
        .await;

    expect_error_exact(
        answer,
        StatusCode::FORBIDDEN,
        "The password of this user is in the external directory; change it there",
    );
    server.login("carol", CAROL_PASSWORD).await;
}

#[tokio::test]
async fn the_fallback_email_of_a_directory_user_needs_the_directory_password() {
    let slapd = Slapd::start(&staff()).await;
    let (server, carol) = carol_signed_in(&slapd).await;

    let wrong = server
        .post(
            "/api/v1/profile",
            &carol,
            json!({"fallbackEmail": "carol@home.test", "password": "Not-Carols-1"}),
        )
        .await;
    let (code, body) = server
        .post(
            "/api/v1/profile",
            &carol,
            json!({"fallbackEmail": "carol@home.test", "password": CAROL_PASSWORD}),
        )
        .await;

    expect_error_exact(wrong, StatusCode::PRECONDITION_FAILED, "Password incorrect");
    assert_eq!(code, StatusCode::OK, "{body}");
    let (_, profile) = server.get("/api/v1/profile", &carol).await;
    assert_eq!(profile["fallbackEmail"], "carol@home.test");
}
