//! `boxd restore`: a backup file into an empty data dir, checked first.

use std::path::Path;
use std::process::Output;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{BOXD, Served, TestServer, client};

async fn boxd(args: &[&str], data_dir: &Path, file: &Path) -> Output {
    tokio::process::Command::new(BOXD)
        .args(args)
        .arg(file)
        .arg("--data-dir")
        .arg(data_dir)
        .output()
        .await
        .unwrap()
}

fn succeeded(output: &Output) -> bool {
    if !output.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    }
    output.status.success()
}

/// The usernames `token` sees in `/users` of the server at `base`.
async fn usernames(base: &str, token: &str) -> Vec<String> {
    let response = client()
        .get(format!("{base}/api/v1/users"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    let mut names: Vec<String> = body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["username"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_restored_backup_serves_the_same_users_and_tokens() {
    let source = TestServer::start().await;
    let owner = source.owner_token().await;
    source.add_user(&owner, "bob", "admin").await;
    let script = source
        .create_token(&owner, json!({"name": "script", "scope": {"*": "r"}}))
        .await;
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("boxd.sqlite");
    assert!(succeeded(
        &boxd(&["backup", "--out"], source.data_dir(), &file).await
    ));
    let before = usernames(&source.base, &owner).await;
    let restored_dir = files.path().join("restored");

    let restored = boxd(&["restore", "--from"], &restored_dir, &file).await;

    assert!(succeeded(&restored));
    let served = Served::start(&restored_dir);
    assert_eq!(usernames(&served.base, &owner).await, before);
    assert_eq!(usernames(&served.base, &script).await, before);
    assert_eq!(before, ["alice", "bob"]);
    let (exit, _, log) = served.terminate();
    assert!(exit.success(), "{log}");
}

#[tokio::test]
async fn a_data_dir_that_is_not_empty_is_refused() {
    let source = TestServer::start().await;
    source.owner_token().await;
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("boxd.sqlite");
    assert!(succeeded(
        &boxd(&["backup", "--out"], source.data_dir(), &file).await
    ));
    let occupied = files.path().join("occupied");
    std::fs::create_dir(&occupied).unwrap();
    std::fs::write(occupied.join("notes.txt"), "keep me").unwrap();

    let refused = boxd(&["restore", "--from"], &occupied, &file).await;

    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("is not empty"), "{stderr}");
    assert!(!occupied.join("boxd.sqlite").exists());
}

#[tokio::test]
async fn a_damaged_backup_is_refused_before_anything_is_written() {
    let source = TestServer::start().await;
    source.owner_token().await;
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("boxd.sqlite");
    assert!(succeeded(
        &boxd(&["backup", "--out"], source.data_dir(), &file).await
    ));
    let mut bytes = std::fs::read(&file).unwrap();
    let page = 4096;
    // Past the header and the schema page: the tables' own pages.
    for byte in &mut bytes[2 * page..] {
        *byte = 0xA5;
    }
    std::fs::write(&file, bytes).unwrap();
    let target = files.path().join("restored");

    let refused = boxd(&["restore", "--from"], &target, &file).await;

    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("cannot restore"), "{stderr}");
    assert!(!target.join("boxd.sqlite").exists());
}
