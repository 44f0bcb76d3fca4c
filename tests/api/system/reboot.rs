//! `/api/v1/system/reboot`: whether a reboot is needed, and the operator's reboot command.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestServer, expect_admin_only, expect_error};

#[tokio::test]
async fn reboot_needs_an_admin_and_a_writable_token() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    expect_admin_only(
        &server,
        &owner,
        &[
            (Method::GET, "/api/v1/system/reboot", Value::Null),
            (Method::POST, "/api/v1/system/reboot", json!({})),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_fresh_server_needs_no_reboot() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server.get("/api/v1/system/reboot", &owner).await;

    assert_eq!(answer, (StatusCode::OK, json!({"rebootRequired": false})));
}

#[tokio::test]
async fn the_reboot_marker_means_a_reboot_is_required() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    std::fs::write(server.data_dir().join("reboot-required"), "").unwrap();

    let (_, status) = server.get("/api/v1/system/reboot", &owner).await;

    assert_eq!(status, json!({"rebootRequired": true}));
}

#[tokio::test]
async fn a_reboot_runs_the_configured_command() {
    let marker_dir = tempfile::tempdir().unwrap();
    let done = marker_dir.path().join("rebooted");
    let command = format!("touch {}", done.display());
    let server = TestServer::start_with(|config| config.reboot_command = Some(command)).await;
    let owner = server.owner_token().await;

    let answer = server
        .post("/api/v1/system/reboot", &owner, json!({}))
        .await;

    assert_eq!(answer, (StatusCode::ACCEPTED, json!({})));
    for _ in 0..100 {
        if done.exists() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the reboot command did not run");
}

#[tokio::test]
async fn reboot_without_a_command_is_refused_not_faked() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server
        .post("/api/v1/system/reboot", &owner, json!({}))
        .await;

    expect_error(answer, StatusCode::UNPROCESSABLE_ENTITY, "--reboot-command");
}
