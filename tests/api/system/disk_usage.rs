//! `/api/v1/system/disk_usage`: cached per file system, with the data dir's own usage;
//! measured again by a task.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestServer, expect_admin_only, wait_for_task};

/// The file system entry that holds the server's data dir.
fn data_dir_entry(server: &TestServer, usage: &Value) -> Value {
    let data_dir = std::fs::canonicalize(server.data_dir()).unwrap();
    usage["filesystems"]
        .as_object()
        .unwrap()
        .values()
        .find(|fs| fs["contents"][0]["path"] == data_dir.to_str().unwrap())
        .unwrap_or_else(|| panic!("no file system holds the data dir: {usage}"))
        .clone()
}

#[tokio::test]
async fn disk_usage_needs_an_admin() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    expect_admin_only(
        &server,
        &owner,
        &[
            (Method::GET, "/api/v1/system/disk_usage", Value::Null),
            (Method::POST, "/api/v1/system/disk_usage", json!({})),
        ],
    )
    .await;
}

#[tokio::test]
async fn the_data_dirs_file_system_and_usage_are_listed() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let (code, body) = server.get("/api/v1/system/disk_usage", &owner).await;

    assert_eq!(code, StatusCode::OK, "{body}");
    let fs = data_dir_entry(&server, &body["usage"]);
    let size = fs["size"].as_u64().unwrap();
    assert!(size > 0, "{fs}");
    assert_eq!(
        fs["used"].as_u64().unwrap() + fs["available"].as_u64().unwrap(),
        size
    );
    let capacity = fs["capacity"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&capacity), "{fs}");
    let content = &fs["contents"][0];
    assert_eq!(content["id"], "boxd");
    assert!(
        content["usage"].as_u64().unwrap() > 0,
        "the database takes room: {fs}"
    );
    assert!(body["usage"]["ts"].as_i64().unwrap() > 0);
}

#[tokio::test]
async fn the_usage_is_cached_until_measured_again_by_a_task() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, first) = server.get("/api/v1/system/disk_usage", &owner).await;
    let before = data_dir_entry(&server, &first["usage"])["contents"][0]["usage"]
        .as_u64()
        .unwrap();
    std::fs::write(server.data_dir().join("ballast"), vec![1u8; 4 << 20]).unwrap();

    let (_, cached) = server.get("/api/v1/system/disk_usage", &owner).await;
    let (code, started) = server
        .post("/api/v1/system/disk_usage", &owner, json!({}))
        .await;

    assert_eq!(
        cached["usage"]["ts"], first["usage"]["ts"],
        "served from the cache"
    );
    assert_eq!(code, StatusCode::ACCEPTED, "{started}");
    let id = started["taskId"].as_str().unwrap();
    let task = wait_for_task(&server, &owner, id, |t| t["success"] == true).await;
    assert_eq!(task["type"], "updateDiskUsage");
    let (_, after) = server.get("/api/v1/system/disk_usage", &owner).await;
    let grown = data_dir_entry(&server, &after["usage"])["contents"][0]["usage"]
        .as_u64()
        .unwrap();
    assert!(grown >= before + (4 << 20), "{before} -> {grown}");
    assert!(
        server
            .task_log(&owner, id)
            .await
            .contains("Measuring disk usage")
    );
}
