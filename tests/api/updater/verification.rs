//! The update task refuses a release that is not exactly what the trusted key signed for the
//! offered version, or that is too large; nothing is staged and the update command never runs.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Signer, UpdateSetup, tarball, wait_for_task};

/// Checks, updates and waits for the task to fail; asserts nothing was staged or applied and
/// answers the failed task.
async fn failing_update(s: &UpdateSetup) -> Value {
    s.check().await;
    let (code, body) = s
        .server
        .post(
            "/api/v1/updater/update",
            &s.owner,
            json!({"skipBackup": true}),
        )
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{body}");
    let task_id = body["taskId"].as_str().unwrap();
    let task = wait_for_task(&s.server, &s.owner, task_id, |t| {
        t["active"] == false && t["pending"] == false
    })
    .await;
    assert_eq!(task["success"], false, "{task}");
    assert!(
        s.staged().is_empty(),
        "nothing staged, nothing left: {:?}",
        s.staged()
    );
    assert_eq!(
        std::fs::read_to_string(s.applied.path()).unwrap(),
        "",
        "the command never ran"
    );
    task
}

fn task_error(task: &Value) -> &str {
    task["error"]["message"].as_str().unwrap()
}

#[tokio::test]
async fn a_tampered_tarball_is_refused() {
    let s = UpdateSetup::start(|_| {}).await;
    s.publish("0.2.0", tarball(5000));
    s.releases.tarball.lock().unwrap()[100] ^= 1;

    let task = failing_update(&s).await;

    assert!(
        task_error(&task).contains("not signed by the configured key"),
        "{task}"
    );
}

#[tokio::test]
async fn a_release_signed_with_another_key_is_refused() {
    let s = UpdateSetup::start(|_| {}).await;
    s.releases
        .publish(&s.base, "0.2.0", &Signer::generate(), tarball(5000));

    let task = failing_update(&s).await;

    assert!(
        task_error(&task).contains("not signed by the configured key"),
        "{task}"
    );
}

#[tokio::test]
async fn an_old_signed_release_offered_as_new_is_refused() {
    let s = UpdateSetup::start(|_| {}).await;
    let old = tarball(5000);
    s.publish("0.2.0", old.clone());
    *s.releases.signature.lock().unwrap() = s.signer.sign(&old, "boxd 0.0.9");

    let task = failing_update(&s).await;

    assert!(
        task_error(&task).contains("does not name version 0.2.0"),
        "{task}"
    );
}

#[tokio::test]
async fn an_oversized_release_is_refused() {
    let s = UpdateSetup::start(|config| config.update.max_bytes = 64 * 1024).await;
    s.publish("0.2.0", tarball(200 * 1024));

    let task = failing_update(&s).await;

    assert!(task_error(&task).contains("larger than"), "{task}");
}
