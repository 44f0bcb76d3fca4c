use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{TestServer, error_message};

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

    let (code, body) = post_raw(&server, &owner, "{\"name\": ").await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    assert!(error_message(code, &body).starts_with("Malformed JSON body"));
    let (code, body) = post_raw(&server, &owner, "[\"name\"]").await;
    assert_eq!(
        error_message(code, &body),
        "The request body must be a JSON object"
    );
    let (code, body) = post_raw(&server, &owner, "{\"name\": true}").await;
    assert_eq!(error_message(code, &body), "name must be a string");
    let (code, body) = post_raw(&server, &owner, "").await;
    assert_eq!(error_message(code, &body), "name is required");
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let (code, body) = server.get("/api/v1/no_such_thing", &owner).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert_eq!(error_message(code, &body), "No such route");
    let (code, body) = server.get("/api/v1/no_such_thing", "").await;
    assert_eq!(
        code,
        StatusCode::NOT_FOUND,
        "unknown routes are 404 even without a token"
    );
    error_message(code, &body);
    let (code, body) = server
        .put("/api/v1/tokens", &owner, serde_json::json!({}))
        .await;
    assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED);
    error_message(code, &body);
    let (code, body) = server.delete("/api/v1/cloudron/status", "").await;
    assert_eq!(code, StatusCode::METHOD_NOT_ALLOWED);
    error_message(code, &body);
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));

    let (code, body) = post_raw(&server, &owner, huge).await;

    assert_eq!(code, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(error_message(code, &body), "Request body is too large");
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
