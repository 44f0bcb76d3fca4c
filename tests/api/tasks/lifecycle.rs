//! `GET /api/v1/tasks`, `GET /api/v1/tasks/{taskId}`, `POST /api/v1/tasks/{taskId}/stop`: a task
//! from queued to its end, and who may see it.

use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    Gated, OWNER_PASSWORD, TestServer, expect_error_exact, start_job, wait_for_notification,
    wait_for_task,
};

#[tokio::test]
async fn a_task_goes_pending_active_and_succeeds_with_its_result() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let job = Gated::new("testJob");
    let gate = job.gate.clone();

    let id = start_job(&server, job).await;

    let running = wait_for_task(&server, &owner, &id, |t| t["percent"] == 10).await;
    assert_eq!(
        (running["active"].clone(), running["pending"].clone()),
        (json!(true), json!(false))
    );
    assert_eq!(running["message"], "waiting for the gate");
    assert_eq!(running["type"], "testJob");
    assert!(running.get("args").is_none(), "args are never shown");
    gate.notify_one();
    let done = wait_for_task(&server, &owner, &id, |t| t["active"] == false).await;
    assert_eq!(done["success"], true);
    assert_eq!(done["percent"], 100);
    assert_eq!(done["error"], Value::Null);
    assert_eq!(done["result"], json!({"done": true}));
    assert!(done["ts"].as_str().unwrap() >= done["creationTime"].as_str().unwrap());
}

#[tokio::test]
async fn tasks_are_listed_by_type() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let id = start_job(&server, Gated::new("testJob")).await;

    let (_, list) = server.get("/api/v1/tasks?type=testJob", &owner).await;
    let (_, none) = server.get("/api/v1/tasks?type=update", &owner).await;

    assert_eq!(list["tasks"][0]["id"], id);
    assert_eq!(none["tasks"], json!([]));
}

#[tokio::test]
async fn a_task_waits_as_pending_for_a_free_slot() {
    let server = TestServer::start_with(|config| config.max_running_tasks = 1).await;
    let owner = server.owner_token().await;
    let first = Gated::new("first");
    let first_gate = first.gate.clone();
    let first_id = start_job(&server, first).await;
    wait_for_task(&server, &owner, &first_id, |t| t["active"] == true).await;

    let second = Gated::new("second");
    let second_gate = second.gate.clone();
    let second_id = start_job(&server, second).await;

    let (_, pending) = server
        .get(&format!("/api/v1/tasks/{second_id}"), &owner)
        .await;
    assert_eq!(
        (
            pending["pending"].clone(),
            pending["active"].clone(),
            pending["message"].clone()
        ),
        (json!(true), json!(false), json!("Queued"))
    );
    first_gate.notify_one();
    wait_for_task(&server, &owner, &second_id, |t| t["active"] == true).await;
    second_gate.notify_one();
    wait_for_task(&server, &owner, &second_id, |t| t["success"] == true).await;
    let (_, list) = server.get("/api/v1/tasks", &owner).await;
    let ids: Vec<&str> = list["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second_id.as_str(), first_id.as_str()], "newest first");
}

#[tokio::test]
async fn one_task_per_type_runs_at_a_time() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let first_id = start_job(&server, Gated::new("first")).await;
    wait_for_task(&server, &owner, &first_id, |t| t["active"] == true).await;

    let conflict = server
        .state
        .tasks
        .start(Gated::new("first"))
        .await
        .unwrap_err();

    assert!(matches!(
        conflict,
        boxd::tasks::TaskError::AlreadyRunning("first")
    ));
}

#[tokio::test]
async fn a_failing_job_fails_its_task_and_notifies() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let mut job = Gated::new("testJob");
    job.fail = Some("the disk is full");
    job.gate.notify_one();

    let id = start_job(&server, job).await;

    // Queued is not active either: wait until it has run.
    let failed = wait_for_task(&server, &owner, &id, |t| {
        t["active"] == false && t["pending"] == false
    })
    .await;
    assert_eq!(failed["success"], false);
    assert_eq!(failed["error"], json!({"message": "the disk is full"}));
    assert_eq!(failed["percent"], 100);
    // The runner notifies after it has stored the end: wait for the notification.
    let note = wait_for_notification(&server, &owner, "Task testJob failed").await;
    assert_eq!(note["message"], "Task testJob failed: the disk is full");
}

#[tokio::test]
async fn stopping_ends_the_task_promptly_with_code_stopped() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let job = Gated::new("testJob");
    let dropped = job.dropped.clone();
    let id = start_job(&server, job).await;
    wait_for_task(&server, &owner, &id, |t| t["percent"] == 10).await;

    let answer = server
        .post(&format!("/api/v1/tasks/{id}/stop"), &owner, json!({}))
        .await;

    assert_eq!(answer, (StatusCode::NO_CONTENT, Value::Null));
    let stopped = wait_for_task(&server, &owner, &id, |t| t["active"] == false).await;
    assert_eq!(
        stopped["error"],
        json!({"message": format!("Task {id} stopped"), "code": "stopped"})
    );
    assert!(
        dropped.load(Ordering::SeqCst),
        "the job was dropped, not left waiting"
    );
    let (_, notes) = server.get("/api/v1/notifications", &owner).await;
    assert_eq!(notes["notifications"], json!([]), "a stop is not a failure");
}

#[tokio::test]
async fn a_task_that_is_not_active_cannot_be_stopped() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let id = start_job(&server, Gated::new("testJob")).await;
    wait_for_task(&server, &owner, &id, |t| t["percent"] == 10).await;
    server
        .post(&format!("/api/v1/tasks/{id}/stop"), &owner, json!({}))
        .await;
    wait_for_task(&server, &owner, &id, |t| t["active"] == false).await;

    let again = server
        .post(&format!("/api/v1/tasks/{id}/stop"), &owner, json!({}))
        .await;
    let (unknown, _) = server
        .post("/api/v1/tasks/999/stop", &owner, json!({}))
        .await;

    expect_error_exact(again, StatusCode::CONFLICT, "task is not active");
    assert_eq!(unknown, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_job_over_its_time_limit_times_out() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let mut job = Gated::new("testJob");
    job.limit = Duration::from_millis(200);

    let id = start_job(&server, job).await;

    let ended = wait_for_task(&server, &owner, &id, |t| {
        t["active"] == false && t["percent"] == 100
    })
    .await;
    assert_eq!(ended["error"]["code"], "timeout");
    assert!(
        ended["error"]["message"]
            .as_str()
            .unwrap()
            .contains("timed out")
    );
}

#[tokio::test]
async fn a_task_left_running_by_a_crash_ends_crashed_at_start() {
    let server = TestServer::start().await;
    server.owner_token().await;
    let db = server.db().await;
    sqlx::query("INSERT INTO tasks (type, args, pending, active, creation_time, ts) VALUES ('update', '{}', 0, 1, 't', 't')")
        .execute(&db)
        .await
        .unwrap();
    db.close().await;
    let dir = server.shutdown().await;

    let server = TestServer::start_in(dir, |_| {}).await;

    let owner = server.login("alice", OWNER_PASSWORD).await;
    let (_, list) = server.get("/api/v1/tasks", &owner).await;
    let task = &list["tasks"][0];
    assert_eq!(
        (task["active"].clone(), task["percent"].clone()),
        (json!(false), json!(100))
    );
    assert_eq!(
        task["error"],
        json!({"message": "Task was interrupted by a server restart", "code": "crashed"})
    );
    let next = start_job(&server, Gated::new("testJob")).await;
    assert!(
        next.parse::<i64>().unwrap() > task["id"].as_str().unwrap().parse::<i64>().unwrap(),
        "ids only grow"
    );
}

#[tokio::test]
async fn task_routes_are_for_admins() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, user) = server.add_user(&owner, "bob", "user").await;
    let id = start_job(&server, Gated::new("testJob")).await;
    for path in [
        "/api/v1/tasks".to_owned(),
        format!("/api/v1/tasks/{id}"),
        format!("/api/v1/tasks/{id}/logs"),
    ] {
        let (code, _) = server.get(&path, &user).await;
        assert_eq!(code, StatusCode::FORBIDDEN, "{path}");
        let (code, _) = server.get(&path, "").await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{path}");
    }
    let (code, _) = server
        .post(&format!("/api/v1/tasks/{id}/stop"), &user, json!({}))
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
    let read_only = server.read_only_token(&owner).await;
    let (code, _) = server
        .post(&format!("/api/v1/tasks/{id}/stop"), &read_only, json!({}))
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_list_queries_are_400() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    for query in ["page=0", "per_page=x"] {
        let (code, _) = server.get(&format!("/api/v1/tasks?{query}"), &owner).await;
        assert_eq!(code, StatusCode::BAD_REQUEST);
    }
}
