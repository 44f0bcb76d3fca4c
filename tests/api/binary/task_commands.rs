//! The commands tasks run die with boxd, even when it is killed with SIGKILL, and a restart
//! does not leave a second copy running beside the first.

use std::process::Command;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Served, client};

/// How many processes run `sleep <seconds>` (an unusual number marks this test's command).
fn copies(marker: &str) -> usize {
    let output = Command::new("pgrep")
        .args(["-f", &format!("^sleep {marker}$")])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).lines().count()
}

async fn post(served: &Served, token: &str, path: &str, body: serde_json::Value) {
    let response = client()
        .post(served.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path}");
}

#[tokio::test]
async fn a_killed_boxd_takes_its_task_commands_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let marker = format!("{}.{}", 3000 + std::process::id() % 1000, 7);
    // A command that leaves a background child and waits: both must go.
    let command = format!("sleep {marker} & sleep {marker}");
    let served = Served::start_with_args(
        dir.path(),
        &["--dyndns-command", &command, "--dyndns-interval", "1"],
    );
    let owner = served.activate("alice", "correct horse battery").await;
    let fixed = json!({"provider": "fixed", "ip": "192.0.2.10"});
    post(&served, &owner, "/api/v1/network/ipv4_config", fixed).await;
    post(
        &served,
        &owner,
        "/api/v1/network/dynamic_dns",
        json!({"enabled": true}),
    )
    .await;
    let started = Instant::now();
    while copies(&marker) < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the command never ran"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    served.kill();

    let killed = Instant::now();
    while copies(&marker) > 0 {
        assert!(
            killed.elapsed() < Duration::from_secs(2),
            "the command outlived boxd by 2 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let again = Served::start_with_args(dir.path(), &["--dyndns-interval", "3600"]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(copies(&marker), 0, "a restart runs no copy of it");
    let (status, _, _) = again.terminate();
    assert!(status.success());
}
