//! `/api/v1/directory_server/config`: the built-in LDAP server, its secret never shown.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    TestServer, expect_admin_only, expect_error_exact, expect_secret_hidden_and_kept,
};

#[tokio::test]
async fn the_directory_server_config_needs_an_admin_and_a_writable_token() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    expect_admin_only(
        &server,
        &owner,
        &[
            (Method::GET, "/api/v1/directory_server/config", Value::Null),
            (
                Method::POST,
                "/api/v1/directory_server/config",
                json!({"enabled": false}),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_fresh_server_has_the_directory_server_off() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server.get("/api/v1/directory_server/config", &owner).await;

    assert_eq!(
        answer,
        (
            StatusCode::OK,
            json!({"enabled": false, "secret": "", "allowlist": ""})
        )
    );
}

#[tokio::test]
async fn the_directory_server_config_is_validated() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let cases = [
        (json!({}), "enabled is required"),
        (json!({"enabled": "yes"}), "enabled must be a boolean"),
        (
            json!({"enabled": true, "allowlist": "10.0.0.0/8"}),
            "secret is required",
        ),
        (
            json!({"enabled": true, "secret": "s", "allowlist": "# none"}),
            "allowlist needs at least one entry to enable the directory server",
        ),
        (
            json!({"enabled": false, "allowlist": "10.0.0.0/8\nten.0.0.1"}),
            "allowlist: ten.0.0.1 is not an IP address or CIDR range",
        ),
    ];

    for (body, expected) in cases {
        let answer = server
            .post("/api/v1/directory_server/config", &owner, body)
            .await;
        expect_error_exact(answer, StatusCode::BAD_REQUEST, expected);
    }
}

#[tokio::test]
async fn the_secret_never_comes_back_and_the_placeholder_keeps_it() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    expect_secret_hidden_and_kept(
        &server,
        &owner,
        "/api/v1/directory_server/config",
        json!({"enabled": true, "secret": "CanaryDirectory3", "allowlist": "# office\n10.0.0.0/8\n"}),
        "secret",
    )
    .await;
}
