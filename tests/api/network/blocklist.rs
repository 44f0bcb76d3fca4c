//! `/api/v1/network/blocklist`: client addresses and ranges refused on every route.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestServer, expect_admin_only, expect_error, expect_error_exact};

/// An address outside the blocked range; requests "from" it come through the trusted loopback
/// proxy.
const OUTSIDE: &str = "198.51.100.7";

/// Trusts the loopback proxy and, from `OUTSIDE`, blocks 127.0.0.0/8 (the test's own address).
async fn block_loopback(server: &TestServer, owner: &str) {
    let (code, _) = server
        .post(
            "/api/v1/reverseproxy/trusted_ips",
            owner,
            json!({"trustedIps": "127.0.0.1"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let answer = set_from_outside(server, owner, "127.0.0.0/8").await;
    assert_eq!(answer, (StatusCode::OK, json!({})));
}

/// Sets the blocklist through the proxy, as a client at `OUTSIDE`.
async fn set_from_outside(
    server: &TestServer,
    owner: &str,
    blocklist: &str,
) -> (StatusCode, Value) {
    server
        .via_proxy(
            Method::POST,
            "/api/v1/network/blocklist",
            owner,
            OUTSIDE,
            Some(json!({"blocklist": blocklist})),
        )
        .await
}

#[tokio::test]
async fn the_blocklist_needs_an_admin_and_a_writable_token() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    expect_admin_only(
        &server,
        &owner,
        &[
            (Method::GET, "/api/v1/network/blocklist", Value::Null),
            (
                Method::POST,
                "/api/v1/network/blocklist",
                json!({"blocklist": ""}),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_fresh_server_blocks_nobody() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server.get("/api/v1/network/blocklist", &owner).await;

    assert_eq!(answer, (StatusCode::OK, json!({"blocklist": ""})));
}

#[tokio::test]
async fn the_blocklist_takes_effect_on_every_route() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    block_loopback(&server, &owner).await;

    for path in [
        "/api/v1/cloudron/status",
        "/api/v1/profile",
        "/api/v1/nothing-here",
    ] {
        let answer = server.get(path, &owner).await;
        expect_error_exact(answer, StatusCode::FORBIDDEN, "Your IP address is blocked");
    }
    let (code, _) = server
        .via_proxy(Method::GET, "/api/v1/profile", &owner, "127.0.0.5", None)
        .await;
    assert_eq!(
        code,
        StatusCode::FORBIDDEN,
        "a client address inside the range"
    );
    let (code, _) = server
        .via_proxy(Method::GET, "/api/v1/profile", &owner, OUTSIDE, None)
        .await;
    assert_eq!(code, StatusCode::OK);
}

#[tokio::test]
async fn a_blocklist_that_would_lock_the_caller_out_is_refused() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    block_loopback(&server, &owner).await;

    let answer = set_from_outside(&server, &owner, "127.0.0.0/8\n198.51.100.0/24").await;

    expect_error(
        answer,
        StatusCode::BAD_REQUEST,
        "your own address 198.51.100.7",
    );
}

#[tokio::test]
async fn blocklist_entries_must_be_addresses_or_ranges() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    block_loopback(&server, &owner).await;

    let answer = set_from_outside(&server, &owner, "127.0.0.0/8\nnonsense").await;

    expect_error_exact(
        answer,
        StatusCode::BAD_REQUEST,
        "blocklist: nonsense is not an IP address or CIDR range",
    );
}

#[tokio::test]
async fn an_empty_blocklist_lets_everyone_back_in() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    block_loopback(&server, &owner).await;

    let (code, _) = set_from_outside(&server, &owner, "").await;

    assert_eq!(code, StatusCode::OK);
    let (code, _) = server.get("/api/v1/profile", &owner).await;
    assert_eq!(code, StatusCode::OK, "access is back");
}

#[tokio::test]
async fn ipv4_mapped_clients_are_blocked_by_ipv4_ranges() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    server
        .post(
            "/api/v1/reverseproxy/trusted_ips",
            &owner,
            json!({"trustedIps": "127.0.0.1"}),
        )
        .await;
    let (code, _) = server
        .post(
            "/api/v1/network/blocklist",
            &owner,
            json!({"blocklist": "203.0.113.0/24"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);

    let (code, _) = server
        .via_proxy(
            Method::GET,
            "/api/v1/cloudron/status",
            "",
            "::ffff:203.0.113.9",
            None,
        )
        .await;

    assert_eq!(code, StatusCode::FORBIDDEN);
}
