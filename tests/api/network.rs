//! Blocklist, trusted proxies and client addresses, dynamic DNS flag, IP configuration and
//! detection against a local endpoint.

use std::time::{Duration, Instant};

use axum::routing::get;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{OWNER_PASSWORD, TestServer, expect_error, expect_error_exact};

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
async fn x_forwarded_for_is_believed_only_from_trusted_proxies() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    assert_eq!(
        seen_ip(&server, &owner, Some("203.0.113.9")).await,
        "127.0.0.1",
        "an untrusted peer's header is ignored"
    );

    let (code, _) = server
        .post(
            "/api/v1/reverseproxy/trusted_ips",
            &owner,
            json!({"trustedIps": "# the proxy\n127.0.0.1\n"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let (_, stored) = server.get("/api/v1/reverseproxy/trusted_ips", &owner).await;
    assert_eq!(
        stored["trustedIps"], "# the proxy\n127.0.0.1\n",
        "kept exactly as sent"
    );

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

    let answer = server
        .via_proxy(
            reqwest::Method::GET,
            "/api/v1/cloudron/status",
            "",
            "203.0.113.9, not-an-ip",
            None,
        )
        .await;
    expect_error(answer, StatusCode::BAD_REQUEST, "");
}

#[tokio::test]
async fn the_blocklist_takes_effect_on_every_route_and_can_be_lifted() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (code, _) = server
        .post(
            "/api/v1/reverseproxy/trusted_ips",
            &owner,
            json!({"trustedIps": "127.0.0.1"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let outside = "198.51.100.7";
    let post = reqwest::Method::POST;

    let (code, body) = server
        .via_proxy(
            post.clone(),
            "/api/v1/network/blocklist",
            &owner,
            outside,
            Some(json!({"blocklist": "127.0.0.0/8"})),
        )
        .await;
    assert_eq!((code, body), (StatusCode::OK, json!({})));

    for path in [
        "/api/v1/cloudron/status",
        "/api/v1/profile",
        "/api/v1/nothing-here",
    ] {
        let answer = server.get(path, &owner).await;
        expect_error_exact(answer, StatusCode::FORBIDDEN, "Your IP address is blocked");
    }
    let (code, _) = server
        .via_proxy(
            reqwest::Method::GET,
            "/api/v1/profile",
            &owner,
            "127.0.0.5",
            None,
        )
        .await;
    assert_eq!(
        code,
        StatusCode::FORBIDDEN,
        "a client address inside the range"
    );
    let (code, _) = server
        .via_proxy(
            reqwest::Method::GET,
            "/api/v1/profile",
            &owner,
            outside,
            None,
        )
        .await;
    assert_eq!(code, StatusCode::OK);

    // The self-lockout guard.
    let answer = server
        .via_proxy(
            post.clone(),
            "/api/v1/network/blocklist",
            &owner,
            outside,
            Some(json!({"blocklist": "127.0.0.0/8\n198.51.100.0/24"})),
        )
        .await;
    expect_error(
        answer,
        StatusCode::BAD_REQUEST,
        "your own address 198.51.100.7",
    );
    let answer = server
        .via_proxy(
            post.clone(),
            "/api/v1/network/blocklist",
            &owner,
            outside,
            Some(json!({"blocklist": "127.0.0.0/8\nnonsense"})),
        )
        .await;
    expect_error_exact(
        answer,
        StatusCode::BAD_REQUEST,
        "blocklist: nonsense is not an IP address or CIDR range",
    );

    let (code, _) = server
        .via_proxy(
            post,
            "/api/v1/network/blocklist",
            &owner,
            outside,
            Some(json!({"blocklist": ""})),
        )
        .await;
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
            reqwest::Method::GET,
            "/api/v1/cloudron/status",
            "",
            "::ffff:203.0.113.9",
            None,
        )
        .await;

    assert_eq!(code, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn trusting_a_proxy_that_would_lock_you_out_is_refused() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (code, _) = server
        .post(
            "/api/v1/network/blocklist",
            &owner,
            json!({"blocklist": "10.9.9.9"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);

    let body = json!({"trustedIps": "127.0.0.1"});
    let answer = server
        .via_proxy(
            reqwest::Method::POST,
            "/api/v1/reverseproxy/trusted_ips",
            &owner,
            "10.9.9.9",
            Some(body),
        )
        .await;

    expect_error(answer, StatusCode::BAD_REQUEST, "would be 10.9.9.9");
    let answer = server
        .post(
            "/api/v1/reverseproxy/trusted_ips",
            &owner,
            json!({"trustedIps": "127.0.0.1/40"}),
        )
        .await;
    expect_error(answer, StatusCode::BAD_REQUEST, "");
    let answer = server
        .post("/api/v1/reverseproxy/trusted_ips", &owner, json!({}))
        .await;
    expect_error_exact(answer, StatusCode::BAD_REQUEST, "trustedIps is required");
}

#[tokio::test]
async fn dynamic_dns_and_ip_configs_are_validated_and_echoed() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (code, _) = server
        .post(
            "/api/v1/network/dynamic_dns",
            &owner,
            json!({"enabled": true}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let (_, stored) = server.get("/api/v1/network/dynamic_dns", &owner).await;
    assert_eq!(stored, json!({"enabled": true}));
    let answer = server
        .post(
            "/api/v1/network/dynamic_dns",
            &owner,
            json!({"enabled": "true"}),
        )
        .await;
    expect_error_exact(answer, StatusCode::BAD_REQUEST, "enabled must be a boolean");

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

#[tokio::test]
async fn addresses_resolve_through_fixed_and_interface_providers() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    server
        .post(
            "/api/v1/network/ipv4_config",
            &owner,
            json!({"provider": "fixed", "ip": "3.4.6.7"}),
        )
        .await;
    let (_, ip) = server.get("/api/v1/network/ipv4", &owner).await;
    assert_eq!(ip, json!({"ip": "3.4.6.7"}));

    server
        .post(
            "/api/v1/network/ipv4_config",
            &owner,
            json!({"provider": "network-interface", "ifname": "lo"}),
        )
        .await;
    let (_, ip) = server.get("/api/v1/network/ipv4", &owner).await;
    assert_eq!(ip, json!({"ip": "127.0.0.1"}));

    server
        .post(
            "/api/v1/network/ipv4_config",
            &owner,
            json!({"provider": "interface", "iface": "nope0"}),
        )
        .await;
    let answer = server.get("/api/v1/network/ipv4", &owner).await;
    expect_error_exact(
        answer,
        StatusCode::FAILED_DEPENDENCY,
        "network interface nope0 does not exist",
    );
}

/// A detection endpoint with good, garbage, slow and huge answers.
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

#[tokio::test]
async fn generic_detection_answers_or_fails_clearly_and_quickly() {
    let endpoint = detection_endpoint().await;
    let cases = [
        ("/text", StatusCode::OK, "203.0.113.7"),
        ("/json", StatusCode::OK, "203.0.113.8"),
        (
            "/garbage",
            StatusCode::FAILED_DEPENDENCY,
            "the answer is not an IPv4 address",
        ),
        (
            "/v6",
            StatusCode::FAILED_DEPENDENCY,
            "the answer is not an IPv4 address",
        ),
        (
            "/error",
            StatusCode::FAILED_DEPENDENCY,
            "it answered HTTP 502 Bad Gateway",
        ),
        (
            "/huge",
            StatusCode::FAILED_DEPENDENCY,
            "the answer is larger than 4096 bytes",
        ),
        (
            "/slow",
            StatusCode::FAILED_DEPENDENCY,
            "no answer within 3s",
        ),
    ];
    for (path, status, expected) in cases {
        let url = format!("{endpoint}{path}");
        let server = TestServer::start_with(|config| config.ipv4_detect_url = url.clone()).await;
        let owner = server.owner_token().await;
        let started = Instant::now();

        let (code, body) = server.get("/api/v1/network/ipv4", &owner).await;

        assert!(
            started.elapsed() < Duration::from_secs(6),
            "{path} took {:?}",
            started.elapsed()
        );
        if status == StatusCode::OK {
            assert_eq!(code, status, "{path}: {body}");
            assert_eq!(body["ip"], expected);
        } else {
            let message = expect_error((code, body), status, expected);
            assert!(
                message.starts_with(&format!("IPv4 detection through {url} failed")),
                "{message}"
            );
            assert!(
                message.ends_with(expected),
                "{message} after {:?}",
                started.elapsed()
            );
        }
    }
    let url = format!("{endpoint}/v6");
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
    let (code, _) = server.get("/api/v1/network/ipv4", &owner).await;
    assert_eq!(
        code,
        StatusCode::FAILED_DEPENDENCY,
        "nothing listens at the default test URL"
    );
}
