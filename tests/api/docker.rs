//! `/api/v1/docker/registry_config`: the private registry, its password never shown.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    TestServer, expect_admin_only, expect_error_exact, expect_secret_hidden_and_kept,
};

#[tokio::test]
async fn the_registry_config_needs_an_admin_and_a_writable_token() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    expect_admin_only(
        &server,
        &owner,
        &[
            (Method::GET, "/api/v1/docker/registry_config", Value::Null),
            (
                Method::POST,
                "/api/v1/docker/registry_config",
                json!({"provider": "noop"}),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_fresh_server_has_no_registry() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server.get("/api/v1/docker/registry_config", &owner).await;

    assert_eq!(
        answer,
        (
            StatusCode::OK,
            json!({"provider": "noop", "serverAddress": "", "username": "", "email": "", "password": ""})
        )
    );
}

#[tokio::test]
async fn the_registry_config_is_validated() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let cases = [
        (json!({}), "provider is required"),
        (
            json!({"provider": "azure"}),
            "provider must be one of aws, digitalocean, dockerhub, google-cloud, linode, quay, treescale, other, noop",
        ),
        (
            json!({"provider": "quay", "username": "u", "password": "p"}),
            "serverAddress is required",
        ),
        (
            json!({"provider": "quay", "serverAddress": "quay.io", "password": "p"}),
            "username is required",
        ),
        (
            json!({"provider": "quay", "serverAddress": "quay.io", "username": "u"}),
            "password is required",
        ),
        (
            json!({"provider": "quay", "serverAddress": 5}),
            "serverAddress must be a string",
        ),
    ];

    for (body, expected) in cases {
        let answer = server
            .post("/api/v1/docker/registry_config", &owner, body)
            .await;
        expect_error_exact(answer, StatusCode::BAD_REQUEST, expected);
    }
}

fn dockerhub() -> Value {
    json!({"provider": "dockerhub", "serverAddress": "docker.io", "username": "me", "email": "me@example.com", "password": "CanaryRegistry1"})
}

#[tokio::test]
async fn the_password_never_comes_back_and_the_placeholder_keeps_it() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    expect_secret_hidden_and_kept(
        &server,
        &owner,
        "/api/v1/docker/registry_config",
        dockerhub(),
        "password",
    )
    .await;
}

// The placeholder never carries a hidden secret to a server the admin did not type it for.
#[tokio::test]
async fn the_placeholder_is_refused_for_another_server() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (code, _) = server
        .post("/api/v1/docker/registry_config", &owner, dockerhub())
        .await;
    assert_eq!(code, StatusCode::OK);

    let moved = json!({"provider": "dockerhub", "serverAddress": "evil.example.com", "username": "me", "password": "********"});
    let answer = server
        .post("/api/v1/docker/registry_config", &owner, moved)
        .await;

    expect_error_exact(
        answer,
        StatusCode::BAD_REQUEST,
        "password must be sent again for a new server or account",
    );
}
