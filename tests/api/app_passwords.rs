//! `/api/v1/app_passwords`: passwords for apps, shown once, never a way into the REST API.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestServer, expect_error_exact};

/// Creates the app password "Nextcloud phone" for the mail app; answers the creation's body.
async fn create_phone_password(server: &TestServer, token: &str) -> Value {
    let (code, created) = server
        .post(
            "/api/v1/app_passwords",
            token,
            json!({"name": "Nextcloud phone", "identifier": "mail"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK, "{created}");
    created
}

#[tokio::test]
async fn an_app_password_is_shown_once_and_never_listed() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let created = create_phone_password(&server, &owner).await;

    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("uid-"));
    let password = created["password"].as_str().unwrap();
    assert_eq!(password.len(), 32, "128 bits in hex");
    assert!(password.chars().all(|c| c.is_ascii_hexdigit()));
    let (code, got) = server
        .get(&format!("/api/v1/app_passwords/{id}"), &owner)
        .await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(got["name"], "Nextcloud phone");
    assert_eq!(got["identifier"], "mail");
    assert!(got["creationTime"].as_str().unwrap().ends_with('Z'));
    assert!(got.get("password").is_none());
    let (_, list) = server.get("/api/v1/app_passwords", &owner).await;
    assert_eq!(list["appPasswords"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains(password));
}

#[tokio::test]
async fn an_app_password_does_not_open_the_rest_api() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let created = create_phone_password(&server, &owner).await;
    let password = created["password"].as_str().unwrap();

    let (code, _) = server.get("/api/v1/profile", password).await;

    assert_eq!(code, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_deleted_app_password_is_gone() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let created = create_phone_password(&server, &owner).await;
    let id = created["id"].as_str().unwrap();

    let (code, _) = server
        .delete(&format!("/api/v1/app_passwords/{id}"), &owner)
        .await;

    assert_eq!(code, StatusCode::NO_CONTENT);
    let answer = server
        .get(&format!("/api/v1/app_passwords/{id}"), &owner)
        .await;
    expect_error_exact(answer, StatusCode::NOT_FOUND, "No such app password");
}

#[tokio::test]
async fn creation_is_validated() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    server
        .post(
            "/api/v1/app_passwords",
            &owner,
            json!({"name": "phone", "identifier": "mail"}),
        )
        .await;
    let cases = [
        (json!({}), StatusCode::BAD_REQUEST, "name is required"),
        (
            json!({"name": " "}),
            StatusCode::BAD_REQUEST,
            "name must be 1 to 200 characters",
        ),
        (
            json!({"name": "x".repeat(201)}),
            StatusCode::BAD_REQUEST,
            "name must be 1 to 200 characters",
        ),
        (
            json!({"name": "x", "identifier": 5}),
            StatusCode::BAD_REQUEST,
            "identifier must be a string",
        ),
        (
            json!({"name": "phone", "identifier": "mail"}),
            StatusCode::CONFLICT,
            "An app password with this name already exists for this app",
        ),
    ];

    for (body, status, expected) in cases {
        let answer = server.post("/api/v1/app_passwords", &owner, body).await;
        expect_error_exact(answer, status, expected);
    }
}

#[tokio::test]
async fn the_same_name_for_another_app_is_fine() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    server
        .post(
            "/api/v1/app_passwords",
            &owner,
            json!({"name": "phone", "identifier": "mail"}),
        )
        .await;

    let (code, _) = server
        .post(
            "/api/v1/app_passwords",
            &owner,
            json!({"name": "phone", "identifier": "app-1"}),
        )
        .await;

    assert_eq!(code, StatusCode::OK);
}

#[tokio::test]
async fn only_a_full_access_token_creates_app_passwords() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let narrow = server
        .create_token(
            &owner,
            json!({"name": "n", "scope": {"app_passwords": "rw"}}),
        )
        .await;
    let read_only = server.read_only_token(&owner).await;

    let answer = server
        .post("/api/v1/app_passwords", &narrow, json!({"name": "x"}))
        .await;
    expect_error_exact(
        answer,
        StatusCode::FORBIDDEN,
        "Only a token with full access can create app passwords",
    );
    let (code, _) = server
        .post("/api/v1/app_passwords", &read_only, json!({"name": "x"}))
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let (code, _) = server.get("/api/v1/app_passwords", &read_only).await;
    assert_eq!(code, StatusCode::OK);
    let (code, _) = server.get("/api/v1/app_passwords", "").await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn users_cannot_reach_each_others_app_passwords() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, bob) = server.add_user(&owner, "bob", "user").await;
    let (_, created) = server
        .post("/api/v1/app_passwords", &owner, json!({"name": "mine"}))
        .await;
    let id = created["id"].as_str().unwrap();

    let (code, _) = server
        .get(&format!("/api/v1/app_passwords/{id}"), &bob)
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (code, _) = server
        .delete(&format!("/api/v1/app_passwords/{id}"), &bob)
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (_, list) = server.get("/api/v1/app_passwords", &bob).await;
    assert_eq!(list["appPasswords"], json!([]));
    let (code, _) = server
        .get(&format!("/api/v1/app_passwords/{id}"), &owner)
        .await;
    assert_eq!(code, StatusCode::OK);
}

#[tokio::test]
async fn a_page_past_the_end_is_empty() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    server
        .post("/api/v1/app_passwords", &owner, json!({"name": "mine"}))
        .await;

    let (_, paged) = server
        .get("/api/v1/app_passwords?per_page=1&page=2", &owner)
        .await;

    assert_eq!(paged["appPasswords"], json!([]));
}
