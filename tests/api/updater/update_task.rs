//! `POST /api/v1/updater/update`: the update task downloads, verifies, stages and applies a
//! release.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::Notify;

use crate::support::{TestServer, UpdateSetup, expect_error_exact, tarball, wait_for_task};

#[tokio::test]
async fn without_an_update_available_updating_is_refused() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server
        .post("/api/v1/updater/update", &owner, json!({}))
        .await;

    expect_error_exact(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "No update available",
    );
}

#[tokio::test]
async fn skip_backup_must_be_a_boolean() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server
        .post(
            "/api/v1/updater/update",
            &owner,
            json!({"skipBackup": "yes"}),
        )
        .await;

    expect_error_exact(
        answer,
        StatusCode::BAD_REQUEST,
        "skipBackup must be a boolean",
    );
}

/// Publishes a good 0.2.0 (1 MiB and 7 bytes), checks, updates with a backup and waits for the
/// task to end; answers the release, the task id and the ended task.
async fn update_to_a_good_release(s: &UpdateSetup) -> (Vec<u8>, String, Value) {
    let release = tarball(1024 * 1024 + 7);
    s.publish("0.2.0", release.clone());
    s.check().await;

    let (code, body) = s
        .server
        .post("/api/v1/updater/update", &s.owner, json!({}))
        .await;

    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    let task_id = body["taskId"]
        .as_str()
        .expect("taskId is a string")
        .to_owned();
    let task = wait_for_task(&s.server, &s.owner, &task_id, |t| {
        t["active"] == false && t["pending"] == false
    })
    .await;
    (release, task_id, task)
}

#[tokio::test]
async fn a_good_release_is_downloaded_verified_staged_and_applied() {
    let s = UpdateSetup::start(|_| {}).await;

    let (release, _, task) = update_to_a_good_release(&s).await;

    assert_eq!(task["success"], true, "{task}");
    assert_eq!(task["type"], "update");
    let staged_dir = s.server.data_dir().join("updates").join("0.2.0");
    let staged_tarball = staged_dir.join("boxd-0.2.0.tar.gz");
    assert_eq!(
        task["result"]["staged"],
        staged_tarball.display().to_string()
    );
    assert_eq!(std::fs::read(&staged_tarball).unwrap(), release);
    assert!(staged_dir.join("boxd-0.2.0.tar.gz.minisig").exists());
    assert_eq!(
        s.staged(),
        ["0.2.0"],
        "no leftovers beside the staged release"
    );
    assert_eq!(
        std::fs::read_to_string(s.applied.path()).unwrap(),
        format!("0.2.0 {}\n", staged_tarball.display())
    );
}

#[tokio::test]
async fn the_update_log_shows_the_backup_the_download_and_the_signature_check() {
    let s = UpdateSetup::start(|_| {}).await;

    let (_, task_id, _) = update_to_a_good_release(&s).await;

    let log = s.server.task_log(&s.owner, &task_id).await;
    assert!(log.contains("Database backed up to"), "{log}");
    let progress: Vec<u64> = log
        .lines()
        .filter_map(|line| line.split_once("Downloaded ")?.1.split_once(" of 1024 KiB"))
        .map(|(done, _)| done.parse().unwrap())
        .collect();
    assert!(
        progress.len() >= 5 && progress.windows(2).all(|w| w[0] < w[1]),
        "progress by bytes: {progress:?}"
    );
    assert_eq!(progress.last(), Some(&1024));
    assert!(
        log.contains("The signature is valid") && log.contains("applied"),
        "{log}"
    );
}

#[tokio::test]
async fn an_update_backs_up_the_database_first() {
    let s = UpdateSetup::start(|_| {}).await;

    update_to_a_good_release(&s).await;

    let backups: Vec<_> = std::fs::read_dir(s.server.data_dir().join("backups"))
        .unwrap()
        .collect();
    assert_eq!(backups.len(), 1);
    let backup = backups[0].as_ref().unwrap().path();
    let copy = boxd::store::connect(&format!("sqlite://{}", backup.display()))
        .await
        .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&copy)
        .await
        .unwrap();
    assert_eq!(check, "ok");
}

#[tokio::test]
async fn an_update_is_recorded_with_its_task_and_version() {
    let s = UpdateSetup::start(|_| {}).await;

    let (_, task_id, _) = update_to_a_good_release(&s).await;

    let (_, events) = s
        .server
        .get("/api/v1/eventlog?actions=cloudron.update", &s.owner)
        .await;
    let event = &events["eventlogs"][0];
    assert_eq!(event["data"]["taskId"], task_id);
    assert_eq!(event["data"]["boxUpdateInfo"]["version"], "0.2.0");
    assert_eq!(event["source"]["username"], "alice");
}

#[tokio::test]
async fn without_a_command_the_release_is_staged_and_the_log_says_how_to_apply_it() {
    let s = UpdateSetup::start(|config| config.update.command = None).await;
    s.publish("0.2.0", tarball(2000));
    s.check().await;

    let (_, body) = s
        .server
        .post(
            "/api/v1/updater/update",
            &s.owner,
            json!({"skipBackup": true}),
        )
        .await;
    let task_id = body["taskId"].as_str().unwrap();
    let task = wait_for_task(&s.server, &s.owner, task_id, |t| {
        t["active"] == false && t["pending"] == false
    })
    .await;

    assert_eq!(task["success"], true);
    let log = s.server.task_log(&s.owner, task_id).await;
    assert!(
        log.contains("No update command is set") && log.contains("is staged at"),
        "{log}"
    );
    assert!(
        !s.server.data_dir().join("backups").exists(),
        "skipBackup skips the backup"
    );
}

/// Starts an update whose download stalls halfway until the answered gate is opened; answers
/// the gate and the task id once the download is in progress.
async fn start_a_stalled_download(s: &UpdateSetup) -> (Arc<Notify>, String) {
    let gate = Arc::new(Notify::new());
    *s.releases.gate.lock().unwrap() = Some(gate.clone());
    s.publish("0.2.0", tarball(512 * 1024));
    s.check().await;
    let (_, body) = s
        .server
        .post(
            "/api/v1/updater/update",
            &s.owner,
            json!({"skipBackup": true}),
        )
        .await;
    let task_id = body["taskId"].as_str().unwrap().to_owned();
    wait_for_task(&s.server, &s.owner, &task_id, |t| {
        t["percent"].as_i64().unwrap() >= 40
    })
    .await;
    assert_eq!(s.staged().len(), 1, "a download in progress");
    (gate, task_id)
}

#[tokio::test]
async fn one_update_runs_at_a_time() {
    let s = UpdateSetup::start(|_| {}).await;
    let (gate, _) = start_a_stalled_download(&s).await;

    let (code, body) = s
        .server
        .post("/api/v1/updater/update", &s.owner, json!({}))
        .await;

    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    gate.notify_waiters();
}

#[tokio::test]
async fn stopping_during_the_download_leaves_nothing() {
    let s = UpdateSetup::start(|_| {}).await;
    let (gate, task_id) = start_a_stalled_download(&s).await;

    let (code, _) = s
        .server
        .post(
            &format!("/api/v1/tasks/{task_id}/stop"),
            &s.owner,
            json!({}),
        )
        .await;

    assert_eq!(code, StatusCode::NO_CONTENT);
    let task = wait_for_task(&s.server, &s.owner, &task_id, |t| t["active"] == false).await;
    assert_eq!(task["error"]["code"], "stopped");
    assert!(
        s.staged().is_empty(),
        "the partial download is gone: {:?}",
        s.staged()
    );
    gate.notify_waiters();
}
