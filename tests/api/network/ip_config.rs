//! `/api/v1/network/ipv4_config` and `/api/v1/network/ipv6_config`: how boxd finds its addresses.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestServer, expect_admin_only, expect_error_exact};

#[tokio::test]
async fn the_ip_configs_need_an_admin_and_a_writable_token() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    expect_admin_only(
        &server,
        &owner,
        &[
            (Method::GET, "/api/v1/network/ipv4_config", Value::Null),
            (
                Method::POST,
                "/api/v1/network/ipv4_config",
                json!({"provider": "noop"}),
            ),
            (Method::GET, "/api/v1/network/ipv6_config", Value::Null),
            (
                Method::POST,
                "/api/v1/network/ipv6_config",
                json!({"provider": "noop"}),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_fresh_server_detects_ipv4_and_has_no_ipv6() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let ipv4 = server.get("/api/v1/network/ipv4_config", &owner).await;
    let ipv6 = server.get("/api/v1/network/ipv6_config", &owner).await;

    assert_eq!(ipv4, (StatusCode::OK, json!({"provider": "generic"})));
    assert_eq!(ipv6, (StatusCode::OK, json!({"provider": "noop"})));
}

#[tokio::test]
async fn ip_configs_are_echoed_as_stored() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let accepted = [
        (
            "/api/v1/network/ipv4_config",
            json!({"provider": "fixed", "ip": "3.4.6.7"}),
        ),
        (
            "/api/v1/network/ipv4_config",
            json!({"provider": "interface", "iface": "lo"}),
        ),
        (
            "/api/v1/network/ipv4_config",
            json!({"provider": "network-interface", "ifname": "eth0"}),
        ),
        (
            "/api/v1/network/ipv6_config",
            json!({"provider": "fixed", "ip": "2001:db8::1"}),
        ),
        (
            "/api/v1/network/ipv6_config",
            json!({"provider": "generic"}),
        ),
    ];

    for (path, body) in accepted {
        let (code, _) = server.post(path, &owner, body.clone()).await;
        assert_eq!(code, StatusCode::OK, "{body}");
        let (_, stored) = server.get(path, &owner).await;
        assert_eq!(stored, body, "echoed as stored");
    }
}

#[tokio::test]
async fn ip_configs_are_validated() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let refused = [
        (
            "/api/v1/network/ipv4_config",
            json!({"provider": "fixed", "ip": "2001:db8::1"}),
            "ip must be an IPv4 address",
        ),
        (
            "/api/v1/network/ipv6_config",
            json!({"provider": "fixed", "ip": "3.4.6.7"}),
            "ip must be an IPv6 address",
        ),
        (
            "/api/v1/network/ipv4_config",
            json!({"provider": "fixed"}),
            "ip is required",
        ),
        (
            "/api/v1/network/ipv4_config",
            json!({"provider": "interface"}),
            "ifname must be a network interface name",
        ),
        (
            "/api/v1/network/ipv4_config",
            json!({"provider": "dhcp"}),
            "provider must be one of noop, fixed, generic, network-interface",
        ),
        (
            "/api/v1/network/ipv4_config",
            json!({}),
            "provider is required",
        ),
    ];

    for (path, body, expected) in refused {
        let answer = server.post(path, &owner, body).await;
        expect_error_exact(answer, StatusCode::BAD_REQUEST, expected);
    }
}
