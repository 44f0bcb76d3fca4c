//! Cross-cutting: every failure in Cloudron's error shape, routing misses, body limits.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestServer, expect_error, expect_error_exact};

async fn post_raw(
    server: &TestServer,
    token: &str,
    body: impl Into<reqwest::Body>,
) -> (StatusCode, Value) {
    let response = server
        .http
        .post(server.url("/api/v1/tokens"))
        .bearer_auth(token)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status(), response.json().await.unwrap())
}

#[tokio::test]
async fn bad_bodies_are_400_in_cloudron_shape() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let truncated = post_raw(&server, &owner, "{\"name\": ").await;
    let message = expect_error(truncated, StatusCode::BAD_REQUEST, "Malformed JSON body");
    assert!(message.starts_with("Malformed JSON body"), "{message}");
    let array = post_raw(&server, &owner, "[\"name\"]").await;
    expect_error_exact(
        array,
        StatusCode::BAD_REQUEST,
        "The request body must be a JSON object",
    );
    let wrong_type = post_raw(&server, &owner, "{\"name\": true}").await;
    expect_error_exact(wrong_type, StatusCode::BAD_REQUEST, "name must be a string");
    let empty = post_raw(&server, &owner, "").await;
    expect_error_exact(empty, StatusCode::BAD_REQUEST, "name is required");
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server.get("/api/v1/no_such_thing", &owner).await;
    expect_error_exact(answer, StatusCode::NOT_FOUND, "No such route");
    // Unknown routes are 404 even without a token.
    let answer = server.get("/api/v1/no_such_thing", "").await;
    expect_error(answer, StatusCode::NOT_FOUND, "");
    let answer = server
        .put("/api/v1/tokens", &owner, serde_json::json!({}))
        .await;
    expect_error(answer, StatusCode::METHOD_NOT_ALLOWED, "");
    let answer = server.delete("/api/v1/cloudron/status", "").await;
    expect_error(answer, StatusCode::METHOD_NOT_ALLOWED, "");
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));

    let answer = post_raw(&server, &owner, huge).await;

    expect_error_exact(
        answer,
        StatusCode::PAYLOAD_TOO_LARGE,
        "Request body is too large",
    );
}

#[tokio::test]
async fn head_works_on_get_routes() {
    let server = TestServer::start().await;
    let response = server
        .http
        .head(server.url("/api/v1/cloudron/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_refusal_before_the_body_is_read_closes_the_connection_openly() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, user) = server.add_user(&owner, "bob", "user").await;

    let refused = server
        .http
        .post(server.url("/api/v1/network/blocklist"))
        .bearer_auth(&user)
        .json(&json!({"blocklist": "x".repeat(10_000)}))
        .send()
        .await
        .unwrap();
    let read = server
        .http
        .post(server.url("/api/v1/network/blocklist"))
        .bearer_auth(&owner)
        .json(&json!({"blocklist": ""}))
        .send()
        .await
        .unwrap();

    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(refused.headers()["connection"], "close");
    assert_eq!(read.status(), StatusCode::OK);
    assert!(
        read.headers().get("connection").is_none(),
        "a read body keeps the connection"
    );
}

#[tokio::test]
async fn a_json_body_sent_as_text_plain_is_refused_and_changes_nothing() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let response = server
        .http
        .post(server.url("/api/v1/branding/cloudron_name"))
        .bearer_auth(&owner)
        .header("content-type", "text/plain")
        .body(r#"{"name": "Forged"}"#)
        .send()
        .await
        .unwrap();

    let status = response.status();
    let body: Value = response.json().await.unwrap();
    expect_error_exact(
        (status, body),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "The request body must be sent as application/json",
    );
    let (_, name) = server.get("/api/v1/branding/cloudron_name", &owner).await;
    assert_eq!(name["name"], "Cloudron");
}

#[tokio::test]
async fn bodyless_posts_need_no_content_type() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let response = server
        .http
        .post(server.url("/api/v1/profile/twofactorauthentication_secret"))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
}
