//! Cross-cutting: what browsers are told. No CORS unless an origin is configured, no caching of
//! API answers, no type sniffing, no referrer, and no framing of the docs or images.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TestServer, form, png};

#[tokio::test]
async fn api_answers_are_not_cached_sniffed_or_referred() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let paths = [
        "/api/v1/cloudron/status",
        "/api/v1/profile",
        "/api/v1/tokens",
        "/api/v1/no/such/route",
    ];
    for path in paths {
        let response = server
            .http
            .get(server.url(path))
            .bearer_auth(&owner)
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        assert_eq!(headers["cache-control"], "no-store", "{path}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert!(
            headers.get("access-control-allow-origin").is_none(),
            "{path}"
        );
    }
    let created = server
        .http
        .post(server.url("/api/v1/tokens"))
        .bearer_auth(&owner)
        .json(&json!({"name": "script"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::OK);
    assert_eq!(
        created.headers()["cache-control"],
        "no-store",
        "a secret inside"
    );
}

#[tokio::test]
async fn the_docs_and_images_cannot_be_framed() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let docs = server
        .http
        .get(server.url("/api/v1/docs/"))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), StatusCode::OK);
    assert_eq!(docs.headers()["x-frame-options"], "DENY");
    let csp = docs.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"),
        "{csp}"
    );

    let body = form("avatar", "a.png", "image/png", &png(10, 10));
    assert_eq!(
        server
            .upload("/api/v1/profile/avatar", &owner, body)
            .await
            .0,
        StatusCode::OK
    );
    let (_, profile) = server.get("/api/v1/profile", &owner).await;
    let path = format!("/api/v1/profile/avatar/{}", profile["id"].as_str().unwrap());
    let image = server.http.get(server.url(&path)).send().await.unwrap();
    assert_eq!(image.headers()["x-frame-options"], "DENY");
    assert!(
        image.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
}

#[tokio::test]
async fn log_streams_carry_no_cors_header() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let response = server
        .http
        .get(server.url("/api/v1/tasks/1/logstream"))
        .bearer_auth(&owner)
        .header("accept", "text/event-stream")
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}

#[tokio::test]
async fn configured_origins_and_only_those_get_cors() {
    let server = TestServer::start_with(|config| {
        config.cors_origins = vec!["https://dash.example.com".parse().unwrap()];
    })
    .await;
    let ask = |origin: &'static str| {
        server
            .http
            .request(reqwest::Method::OPTIONS, server.url("/api/v1/profile"))
            .header("origin", origin)
            .header("access-control-request-method", "GET")
            .header("access-control-request-headers", "authorization")
            .send()
    };

    let allowed = ask("https://dash.example.com").await.unwrap();
    let other = ask("https://evil.example").await.unwrap();

    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://dash.example.com"
    );
    assert!(other.headers().get("access-control-allow-origin").is_none());
}
