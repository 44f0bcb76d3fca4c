//! `/api/v1/reverseproxy/trusted_ips`: which peers' `X-Forwarded-For` is believed, besides
//! loopback peers (trusted unless `--no-trust-loopback-proxy`).

mod certs;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    OWNER_PASSWORD, TestServer, expect_admin_only, expect_error, expect_error_exact,
};

/// Sets the trusted proxies to `trusted_ips`.
async fn trust(server: &TestServer, owner: &str, trusted_ips: &str) {
    let (code, _) = server
        .post(
            "/api/v1/reverseproxy/trusted_ips",
            owner,
            json!({"trustedIps": trusted_ips}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
}

/// The client address boxd saw for a login sent with `xff`.
async fn seen_ip(server: &TestServer, owner: &str, xff: Option<&str>) -> String {
    let mut request = server
        .http
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"username": "alice", "password": OWNER_PASSWORD}));
    if let Some(xff) = xff {
        request = request.header("X-Forwarded-For", xff);
    }
    assert_eq!(request.send().await.unwrap().status(), StatusCode::OK);
    let (_, events) = server
        .get("/api/v1/eventlog?actions=user.login&per_page=1", owner)
        .await;
    events["eventlogs"][0]["source"]["ip"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn trusted_ips_need_an_admin_and_a_writable_token() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    expect_admin_only(
        &server,
        &owner,
        &[
            (Method::GET, "/api/v1/reverseproxy/trusted_ips", Value::Null),
            (
                Method::POST,
                "/api/v1/reverseproxy/trusted_ips",
                json!({"trustedIps": ""}),
            ),
        ],
    )
    .await;
}

/// A server that trusts only the listed proxies, not loopback peers.
async fn without_loopback_trust() -> TestServer {
    TestServer::start_with(|config| config.trust_loopback_proxy = false).await
}

#[tokio::test]
async fn a_fresh_server_lists_no_proxy() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server.get("/api/v1/reverseproxy/trusted_ips", &owner).await;

    assert_eq!(answer, (StatusCode::OK, json!({"trustedIps": ""})));
}

#[tokio::test]
async fn trusted_ips_are_kept_exactly_as_sent() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    trust(&server, &owner, "# the proxy\n127.0.0.1\n").await;

    let (_, stored) = server.get("/api/v1/reverseproxy/trusted_ips", &owner).await;
    assert_eq!(stored["trustedIps"], "# the proxy\n127.0.0.1\n");
}

#[tokio::test]
async fn a_loopback_peer_is_a_trusted_proxy_by_default() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let seen = seen_ip(&server, &owner, Some("6.6.6.6, 203.0.113.9")).await;

    assert_eq!(seen, "203.0.113.9");
    assert_eq!(
        seen_ip(&server, &owner, None).await,
        "127.0.0.1",
        "no header: the peer itself"
    );
}

#[tokio::test]
async fn x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let server = without_loopback_trust().await;
    let owner = server.owner_token().await;

    let seen = seen_ip(&server, &owner, Some("203.0.113.9")).await;

    assert_eq!(seen, "127.0.0.1");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_client_is_the_right_most_untrusted_address() {
    let server = without_loopback_trust().await;
    let owner = server.owner_token().await;

    trust(&server, &owner, "# the proxy\n127.0.0.1\n").await;

    assert_eq!(
        seen_ip(&server, &owner, Some("203.0.113.9")).await,
        "203.0.113.9"
    );
    assert_eq!(
        seen_ip(&server, &owner, Some("6.6.6.6, 203.0.113.9, 127.0.0.1")).await,
        "203.0.113.9",
        "spoofed left-most hops are ignored"
    );
    assert_eq!(
        seen_ip(&server, &owner, None).await,
        "127.0.0.1",
        "no header: the proxy itself"
    );
    assert_eq!(
        seen_ip(&server, &owner, Some("::ffff:198.51.100.4")).await,
        "198.51.100.4"
    );
}

#[tokio::test]
async fn a_malformed_x_forwarded_for_from_a_trusted_proxy_is_400() {
    let server = TestServer::start().await;

    let answer = server
        .via_proxy(
            Method::GET,
            "/api/v1/cloudron/status",
            "",
            "203.0.113.9, not-an-ip",
            None,
        )
        .await;

    expect_error(answer, StatusCode::BAD_REQUEST, "");
}

#[tokio::test]
async fn trusting_a_proxy_that_would_lock_you_out_is_refused() {
    let server = without_loopback_trust().await;
    let owner = server.owner_token().await;
    let (code, _) = server
        .post(
            "/api/v1/network/blocklist",
            &owner,
            json!({"blocklist": "10.9.9.9"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);

    let answer = server
        .via_proxy(
            Method::POST,
            "/api/v1/reverseproxy/trusted_ips",
            &owner,
            "10.9.9.9",
            Some(json!({"trustedIps": "127.0.0.1"})),
        )
        .await;

    expect_error(answer, StatusCode::BAD_REQUEST, "would be 10.9.9.9");
}

#[tokio::test]
async fn trusted_ips_are_validated() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let bad_range = server
        .post(
            "/api/v1/reverseproxy/trusted_ips",
            &owner,
            json!({"trustedIps": "127.0.0.1/40"}),
        )
        .await;
    let missing = server
        .post("/api/v1/reverseproxy/trusted_ips", &owner, json!({}))
        .await;

    expect_error(bad_range, StatusCode::BAD_REQUEST, "");
    expect_error_exact(missing, StatusCode::BAD_REQUEST, "trustedIps is required");
}
