//! The task runner through HTTP: life cycle, logs, live log streams. Jobs here wait on signals
//! the test gives, never on sleeps.

use std::sync::atomic::Ordering;
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_DISPOSITION, CONTENT_TYPE};
use serde_json::{Value, json};

use crate::support::{
    Gated, OWNER_PASSWORD, TestServer, expect_error, expect_error_exact, start_job,
    wait_for_notification, wait_for_task,
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

    let (_, list) = server.get("/api/v1/tasks?type=testJob", &owner).await;
    assert_eq!(list["tasks"][0]["id"], id);
    let (_, none) = server.get("/api/v1/tasks?type=update", &owner).await;
    assert_eq!(none["tasks"], json!([]));
}

#[tokio::test]
async fn tasks_wait_as_pending_for_a_slot_and_one_type_runs_once() {
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
    let conflict = server
        .state
        .tasks
        .start(Gated::new("first"))
        .await
        .unwrap_err();
    assert_eq!(conflict.status(), StatusCode::CONFLICT, "one task per type");

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

    let (code, body) = server
        .post(&format!("/api/v1/tasks/{id}/stop"), &owner, json!({}))
        .await;

    assert_eq!((code, body), (StatusCode::NO_CONTENT, Value::Null));
    let stopped = wait_for_task(&server, &owner, &id, |t| t["active"] == false).await;
    assert_eq!(
        stopped["error"],
        json!({"message": format!("Task {id} stopped"), "code": "stopped"})
    );
    assert!(
        dropped.load(Ordering::SeqCst),
        "the job was dropped, not left waiting"
    );
    let answer = server
        .post(&format!("/api/v1/tasks/{id}/stop"), &owner, json!({}))
        .await;
    expect_error_exact(answer, StatusCode::CONFLICT, "task is not active");
    let (code, _) = server
        .post("/api/v1/tasks/999/stop", &owner, json!({}))
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (_, notes) = server.get("/api/v1/notifications", &owner).await;
    assert_eq!(notes["notifications"], json!([]), "a stop is not a failure");
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
async fn logs_download_in_json_or_as_stored() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let mut job = Gated::new("testJob");
    job.lines_after_gate = 30;
    job.gate.notify_one();
    let id = start_job(&server, job).await;
    wait_for_task(&server, &owner, &id, |t| t["success"] == true).await;

    let response = server
        .http
        .get(server.url(&format!("/api/v1/tasks/{id}/logs")))
        .bearer_auth(&owner)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/x-logs");
    assert_eq!(
        response.headers()[CONTENT_DISPOSITION],
        format!("attachment; filename=\"task-{id}.log\"")
    );
    let text = response.text().await.unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 10, "the last 10 by default");
    assert_eq!(lines[9]["message"], "Task finished");
    assert_eq!(lines[9]["source"], id);
    assert!(
        lines[9]["realtimeTimestamp"].as_i64().unwrap()
            > lines[8]["realtimeTimestamp"].as_i64().unwrap()
    );

    let (_, all) = get_text(
        &server,
        &owner,
        &format!("/api/v1/tasks/{id}/logs?lines=-1"),
    )
    .await;
    assert_eq!(
        all.lines().count(),
        34,
        "first line, progress, 30 live lines, progress, end"
    );
    let (_, short) = get_text(
        &server,
        &owner,
        &format!("/api/v1/tasks/{id}/logs?lines=2&format=short"),
    )
    .await;
    let short: Vec<&str> = short.lines().collect();
    assert_eq!(short.len(), 2);
    assert!(short[1].ends_with("Z Task finished"), "{}", short[1]);

    for (query, expected) in [
        ("lines=abc", "lines must be a number"),
        ("format=xml", "format must be json or short"),
    ] {
        let answer = server
            .get(&format!("/api/v1/tasks/{id}/logs?{query}"), &owner)
            .await;
        expect_error_exact(answer, StatusCode::BAD_REQUEST, expected);
    }
    for path in ["999", "-1", "1e3", "..%2f..%2fboxd.sqlite", "1%2f..", "0x1"] {
        let answer = server
            .get(&format!("/api/v1/tasks/{path}/logs"), &owner)
            .await;
        expect_error(answer, StatusCode::NOT_FOUND, "");
    }
}

async fn get_text(server: &TestServer, token: &str, path: &str) -> (StatusCode, String) {
    let response = server
        .http
        .get(server.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// Opens a log stream; answers the response.
async fn open_stream(
    server: &TestServer,
    path: &str,
    last_event_id: Option<&str>,
) -> reqwest::Response {
    let mut request = server
        .http
        .get(server.url(path))
        .header(ACCEPT, "text/event-stream");
    if let Some(id) = last_event_id {
        request = request.header("Last-Event-ID", id);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn the_log_stream_sends_history_then_live_lines_and_resumes_without_duplicates() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let mut job = Gated::new("testJob");
    job.lines_after_gate = 50;
    let gate = job.gate.clone();
    let id = start_job(&server, job).await;
    wait_for_task(&server, &owner, &id, |t| t["percent"] == 10).await;

    let response = open_stream(
        &server,
        &format!("/api/v1/tasks/{id}/logstream?lines=-1&access_token={owner}"),
        None,
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
    assert_eq!(response.headers()["x-accel-buffering"], "no");
    let mut events = response.bytes_stream().eventsource();
    let mut seen = Vec::new();
    for _ in 0..2 {
        seen.push(events.next().await.unwrap().unwrap());
    }
    gate.notify_one();
    while seen
        .last()
        .is_none_or(|e| !e.data.contains("Task finished"))
    {
        seen.push(
            tokio::time::timeout(Duration::from_secs(5), events.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap(),
        );
    }
    let messages: Vec<String> = seen
        .iter()
        .map(|e| {
            serde_json::from_str::<Value>(&e.data).unwrap()["message"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(messages[0], "first line");
    assert_eq!(messages[1], "waiting for the gate");
    assert_eq!(messages[2], "live line 0");
    assert_eq!(messages[51], "live line 49");
    assert_eq!(
        messages.len(),
        54,
        "history, then live lines, in order, once each: {messages:?}"
    );
    let ids: Vec<i64> = seen.iter().map(|e| e.id.parse().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    for event in &seen {
        let data: Value = serde_json::from_str(&event.data).unwrap();
        assert_eq!(data["realtimeTimestamp"].to_string(), event.id);
        assert_eq!(data["source"], id);
    }

    let resume_at = seen[20].id.clone();
    let resumed = open_stream(
        &server,
        &format!("/api/v1/tasks/{id}/logstream?access_token={owner}"),
        Some(&resume_at),
    )
    .await;
    let mut resumed = resumed.bytes_stream().eventsource();
    let mut again = Vec::new();
    while again.len() < seen.len() - 21 {
        again.push(
            tokio::time::timeout(Duration::from_secs(5), resumed.next())
                .await
                .unwrap()
                .unwrap()
                .unwrap()
                .id,
        );
    }
    let expected: Vec<String> = seen[21..].iter().map(|e| e.id.clone()).collect();
    assert_eq!(again, expected, "only newer lines after Last-Event-ID");
}

#[tokio::test]
async fn the_log_stream_checks_accept_lines_task_and_caps() {
    let server = TestServer::start_with(|config| config.max_log_streams_per_user = 2).await;
    let owner = server.owner_token().await;
    let job = Gated::new("testJob");
    let id = start_job(&server, job).await;
    let path = format!("/api/v1/tasks/{id}/logstream?access_token={owner}");

    let plain = server.get(&path, "").await;
    expect_error_exact(
        plain,
        StatusCode::BAD_REQUEST,
        "This API call requires EventStream",
    );
    let bad_lines = open_stream(&server, &format!("{path}&lines=many"), None).await;
    assert_eq!(bad_lines.status(), StatusCode::BAD_REQUEST);
    let missing = open_stream(
        &server,
        &format!("/api/v1/tasks/999/logstream?access_token={owner}"),
        None,
    )
    .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let unauthenticated =
        open_stream(&server, &format!("/api/v1/tasks/{id}/logstream"), None).await;
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);

    let one = open_stream(&server, &path, None).await;
    let mut two = open_stream(&server, &path, None).await;
    let first = String::from_utf8(two.chunk().await.unwrap().unwrap().to_vec()).unwrap();
    assert!(
        first.starts_with("retry: 3000\n") || first.starts_with("retry:3000\n"),
        "{first:?}"
    );
    let three = open_stream(&server, &path, None).await;
    assert_eq!(
        (one.status(), two.status()),
        (StatusCode::OK, StatusCode::OK)
    );
    assert_eq!(three.status(), StatusCode::TOO_MANY_REQUESTS);
    drop(one);
    let mut freed = StatusCode::TOO_MANY_REQUESTS;
    for _ in 0..100 {
        let again = open_stream(&server, &path, None).await;
        freed = again.status();
        if freed == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(freed, StatusCode::OK, "a closed stream frees its place");
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
    for query in ["page=0", "per_page=x"] {
        let (code, _) = server.get(&format!("/api/v1/tasks?{query}"), &owner).await;
        assert_eq!(code, StatusCode::BAD_REQUEST);
    }
}
