//! `/api/v1/branding/cloudron_name` and `/api/v1/branding/cloudron_avatar`.

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestServer, expect_admin_only, expect_error_exact, form, jpeg, png};

#[tokio::test]
async fn branding_needs_an_admin_and_a_writable_token() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    expect_admin_only(
        &server,
        &owner,
        &[
            (Method::GET, "/api/v1/branding/cloudron_name", Value::Null),
            (
                Method::POST,
                "/api/v1/branding/cloudron_name",
                json!({"name": "x"}),
            ),
            (Method::GET, "/api/v1/branding/cloudron_avatar", Value::Null),
            (Method::POST, "/api/v1/branding/cloudron_avatar", json!({})),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_fresh_server_is_called_cloudron() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server.get("/api/v1/branding/cloudron_name", &owner).await;

    assert_eq!(answer, (StatusCode::OK, json!({"name": "Cloudron"})));
}

#[tokio::test]
async fn the_name_is_validated() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let cases = [
        (json!({"name": ""}), "name is empty"),
        (
            json!({"name": "x".repeat(65)}),
            "name must be at most 64 characters",
        ),
        (json!({}), "name is required"),
    ];

    for (body, expected) in cases {
        let answer = server
            .post("/api/v1/branding/cloudron_name", &owner, body)
            .await;
        expect_error_exact(answer, StatusCode::BAD_REQUEST, expected);
    }
}

#[tokio::test]
async fn the_name_is_kept_and_shown_in_the_status() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let body = json!({"name": "Home Lab"});

    let answer = server
        .post("/api/v1/branding/cloudron_name", &owner, body.clone())
        .await;

    assert_eq!(answer, (StatusCode::OK, json!({})));
    let (_, stored) = server.get("/api/v1/branding/cloudron_name", &owner).await;
    assert_eq!(stored, body);
    let (_, status) = server.get("/api/v1/cloudron/status", "").await;
    assert_eq!(status["cloudronName"], "Home Lab");
}

#[tokio::test]
async fn an_uploaded_avatar_is_served_by_both_avatar_routes() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let image = jpeg();

    let answer = server
        .upload(
            "/api/v1/branding/cloudron_avatar",
            &owner,
            form("avatar", "logo.png", "image/png", &image),
        )
        .await;

    assert_eq!(answer, (StatusCode::OK, json!({})));
    for (path, token) in [
        ("/api/v1/cloudron/avatar", ""),
        ("/api/v1/branding/cloudron_avatar", owner.as_str()),
    ] {
        let response = server
            .http
            .get(server.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()[CONTENT_TYPE], "image/jpeg", "{path}");
        assert_eq!(response.bytes().await.unwrap().to_vec(), image, "{path}");
    }
}

#[tokio::test]
async fn avatar_uploads_are_validated() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let path = "/api/v1/branding/cloudron_avatar";

    let svg = server
        .upload(
            path,
            &owner,
            form("avatar", "x.svg", "image/svg+xml", b"<svg/>"),
        )
        .await;
    expect_error_exact(
        svg,
        StatusCode::BAD_REQUEST,
        "The file is not a PNG, JPEG, GIF or WebP image",
    );
    let (code, _) = server
        .upload(
            path,
            &owner,
            form("avatar", "b.png", "image/png", &png(65535, 65535)),
        )
        .await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let wrong_field = server
        .upload(path, &owner, form("logo", "b.png", "image/png", &png(5, 5)))
        .await;
    expect_error_exact(
        wrong_field,
        StatusCode::BAD_REQUEST,
        "avatar must be provided",
    );
    let (code, _) = server.post(path, &owner, json!({"avatar": "x"})).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
}
