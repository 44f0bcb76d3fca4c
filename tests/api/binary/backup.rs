//! `boxd backup`: an online copy of the database while the server runs.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{BOXD, TestServer};

async fn backup(data_dir: &Path, out: &Path) -> Output {
    tokio::process::Command::new(BOXD)
        .args(["backup", "--data-dir"])
        .arg(data_dir)
        .arg("--out")
        .arg(out)
        .output()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_backup_is_consistent_while_the_server_keeps_writing() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let writing = {
        let (http, url, owner) = (
            server.http.clone(),
            server.url("/api/v1/tokens"),
            owner.clone(),
        );
        tokio::spawn(async move {
            for n in 0..150 {
                let body = json!({"name": format!("t{n}")});
                let response = http
                    .post(&url)
                    .bearer_auth(&owner)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), StatusCode::OK);
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("copy.sqlite");

    let backed_up = backup(server.data_dir(), &file).await;

    assert!(
        backed_up.status.success(),
        "{}",
        String::from_utf8_lossy(&backed_up.stderr)
    );
    writing.await.unwrap();
    let copy = boxd::store::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&copy)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&copy)
        .await
        .unwrap();
    assert_eq!(users, 1);
}

#[tokio::test]
async fn an_existing_file_is_never_overwritten() {
    let server = TestServer::start().await;
    server.owner_token().await;
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("copy.sqlite");
    assert!(backup(server.data_dir(), &file).await.status.success());

    let again = backup(server.data_dir(), &file).await;

    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
}

#[tokio::test]
async fn a_mistyped_data_dir_is_not_backed_up_as_an_empty_database() {
    let out = tempfile::tempdir().unwrap();

    let missing = backup(
        Path::new("/nonexistent/boxd"),
        &out.path().join("none.sqlite"),
    )
    .await;

    assert!(!missing.status.success());
    assert!(!out.path().join("none.sqlite").exists());
}
