//! `GET /api/v1/network/ipv4` and `GET /api/v1/network/ipv6`: the addresses the configuration
//! resolves to, detected against a local endpoint.

use std::time::{Duration, Instant};

use axum::routing::get;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestServer, expect_admin_only, expect_error, expect_error_exact};

#[tokio::test]
async fn the_addresses_need_an_admin() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    expect_admin_only(
        &server,
        &owner,
        &[
            (Method::GET, "/api/v1/network/ipv4", Value::Null),
            (Method::GET, "/api/v1/network/ipv6", Value::Null),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_fresh_server_has_no_ipv6_address() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server.get("/api/v1/network/ipv6", &owner).await;

    assert_eq!(answer, (StatusCode::OK, json!({"ip": null})));
}

/// Sets the IPv4 configuration to `config`; answers what `GET /network/ipv4` then says.
async fn ipv4_with(server: &TestServer, owner: &str, config: Value) -> (StatusCode, Value) {
    let (code, _) = server
        .post("/api/v1/network/ipv4_config", owner, config)
        .await;
    assert_eq!(code, StatusCode::OK);
    server.get("/api/v1/network/ipv4", owner).await
}

#[tokio::test]
async fn a_fixed_address_is_answered_as_configured() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let (_, ip) = ipv4_with(
        &server,
        &owner,
        json!({"provider": "fixed", "ip": "3.4.6.7"}),
    )
    .await;

    assert_eq!(ip, json!({"ip": "3.4.6.7"}));
}

#[tokio::test]
async fn an_interface_address_is_read_from_the_interface() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let (_, ip) = ipv4_with(
        &server,
        &owner,
        json!({"provider": "network-interface", "ifname": "lo"}),
    )
    .await;

    assert_eq!(ip, json!({"ip": "127.0.0.1"}));
}

#[tokio::test]
async fn a_missing_interface_is_a_failed_dependency() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = ipv4_with(
        &server,
        &owner,
        json!({"provider": "interface", "iface": "nope0"}),
    )
    .await;

    expect_error_exact(
        answer,
        StatusCode::FAILED_DEPENDENCY,
        "network interface nope0 does not exist",
    );
}

/// A detection endpoint with good, garbage, slow and huge answers; answers its base URL.
async fn detection_endpoint() -> String {
    let app = axum::Router::new()
        .route("/text", get(|| async { "203.0.113.7\n" }))
        .route(
            "/json",
            get(|| async { axum::Json(json!({"ip": "203.0.113.8"})) }),
        )
        .route("/v6", get(|| async { "2001:db8::5" }))
        .route("/garbage", get(|| async { "<html>hello</html>" }))
        .route(
            "/error",
            get(|| async { (axum::http::StatusCode::BAD_GATEWAY, "down") }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "203.0.113.9"
            }),
        )
        .route("/huge", get(|| async { "1".repeat(1024 * 1024) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

/// Detects IPv4 through the endpoint's `path` with the generic provider (the default); answers
/// the detection URL and what `GET /network/ipv4` said, after checking it took under 6 s.
async fn detect_ipv4_through(path: &str) -> (String, (StatusCode, Value)) {
    let url = format!("{}{path}", detection_endpoint().await);
    let server = TestServer::start_with(|config| config.ipv4_detect_url = url.clone()).await;
    let owner = server.owner_token().await;
    let started = Instant::now();

    let answer = server.get("/api/v1/network/ipv4", &owner).await;

    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{path} took {:?}",
        started.elapsed()
    );
    (url, answer)
}

#[tokio::test]
async fn generic_detection_reads_a_text_or_json_answer() {
    for (path, expected) in [("/text", "203.0.113.7"), ("/json", "203.0.113.8")] {
        let (_, (code, body)) = detect_ipv4_through(path).await;

        assert_eq!(code, StatusCode::OK, "{path}: {body}");
        assert_eq!(body["ip"], expected);
    }
}

#[tokio::test]
async fn generic_detection_fails_clearly_and_quickly() {
    let cases = [
        ("/garbage", "the answer is not an IPv4 address"),
        ("/v6", "the answer is not an IPv4 address"),
        ("/error", "it answered HTTP 502 Bad Gateway"),
        ("/huge", "the answer is larger than 4096 bytes"),
        ("/slow", "no answer within 3s"),
    ];
    for (path, expected) in cases {
        let (url, answer) = detect_ipv4_through(path).await;

        let message = expect_error(answer, StatusCode::FAILED_DEPENDENCY, expected);
        assert!(
            message.starts_with(&format!("IPv4 detection through {url} failed")),
            "{message}"
        );
        assert!(message.ends_with(expected), "{message}");
    }
}

#[tokio::test]
async fn generic_ipv6_detection_reads_the_answer() {
    let url = format!("{}/v6", detection_endpoint().await);
    let server = TestServer::start_with(|config| config.ipv6_detect_url = url).await;
    let owner = server.owner_token().await;
    server
        .post(
            "/api/v1/network/ipv6_config",
            &owner,
            json!({"provider": "generic"}),
        )
        .await;

    let (_, ip) = server.get("/api/v1/network/ipv6", &owner).await;

    assert_eq!(ip, json!({"ip": "2001:db8::5"}));
}

#[tokio::test]
async fn without_a_reachable_detection_url_ipv4_is_a_failed_dependency() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let (code, _) = server.get("/api/v1/network/ipv4", &owner).await;

    assert_eq!(
        code,
        StatusCode::FAILED_DEPENDENCY,
        "nothing listens at the default test URL"
    );
}
