//! `GET /api/v1/tasks/{taskId}/logstream`: a task's log as server-sent events, history first,
//! then live lines; resumable; capped per user.

use std::time::Duration;

use eventsource_stream::{Event, Eventsource};
use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::Value;

use crate::support::{Gated, TestServer, expect_error_exact, start_job, wait_for_task};

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

/// Starts a job that logs 50 live lines once released, follows its whole log stream from before
/// the release to "Task finished"; answers the task id, the owner's token and every event.
async fn follow_a_task_to_its_end(server: &TestServer) -> (String, String, Vec<Event>) {
    let owner = server.owner_token().await;
    let mut job = Gated::new("testJob");
    job.lines_after_gate = 50;
    let gate = job.gate.clone();
    let id = start_job(server, job).await;
    wait_for_task(server, &owner, &id, |t| t["percent"] == 10).await;

    let response = open_stream(
        server,
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
    (id, owner, seen)
}

#[tokio::test]
async fn the_log_stream_sends_history_then_live_lines_in_order_once_each() {
    let server = TestServer::start().await;

    let (id, _, seen) = follow_a_task_to_its_end(&server).await;

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
}

#[tokio::test]
async fn a_resumed_log_stream_sends_only_lines_after_the_last_event_id() {
    let server = TestServer::start().await;
    let (id, owner, seen) = follow_a_task_to_its_end(&server).await;
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
    assert_eq!(again, expected);
}

#[tokio::test]
async fn the_log_stream_checks_accept_lines_task_and_token() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let id = start_job(&server, Gated::new("testJob")).await;
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
}

#[tokio::test]
async fn log_streams_are_capped_per_user_and_a_closed_one_frees_its_place() {
    let server = TestServer::start_with(|config| config.max_log_streams_per_user = 2).await;
    let owner = server.owner_token().await;
    let id = start_job(&server, Gated::new("testJob")).await;
    let path = format!("/api/v1/tasks/{id}/logstream?access_token={owner}");

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
