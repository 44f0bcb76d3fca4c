//! `GET /api/v1/tasks/{taskId}/logs`: a task's log file, as JSON lines or as stored.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use serde_json::Value;

use crate::support::{
    Gated, TestServer, expect_error, expect_error_exact, start_job, wait_for_task,
};

/// Runs a job that logs 30 lines to success; answers the task id.
async fn a_finished_task(server: &TestServer, owner: &str) -> String {
    let mut job = Gated::new("testJob");
    job.lines_after_gate = 30;
    job.gate.notify_one();
    let id = start_job(server, job).await;
    wait_for_task(server, owner, &id, |t| t["success"] == true).await;
    id
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

#[tokio::test]
async fn logs_download_as_json_lines_the_last_ten_by_default() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let id = a_finished_task(&server, &owner).await;

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
}

#[tokio::test]
async fn all_lines_or_the_stored_short_format_can_be_asked_for() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let id = a_finished_task(&server, &owner).await;

    let (_, all) = get_text(
        &server,
        &owner,
        &format!("/api/v1/tasks/{id}/logs?lines=-1"),
    )
    .await;
    let (_, short) = get_text(
        &server,
        &owner,
        &format!("/api/v1/tasks/{id}/logs?lines=2&format=short"),
    )
    .await;

    assert_eq!(
        all.lines().count(),
        34,
        "first line, progress, 30 live lines, progress, end"
    );
    let short: Vec<&str> = short.lines().collect();
    assert_eq!(short.len(), 2);
    assert!(short[1].ends_with("Z Task finished"), "{}", short[1]);
}

#[tokio::test]
async fn bad_log_queries_are_400() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let id = a_finished_task(&server, &owner).await;

    for (query, expected) in [
        ("lines=abc", "lines must be a number"),
        ("format=xml", "format must be json or short"),
    ] {
        let answer = server
            .get(&format!("/api/v1/tasks/{id}/logs?{query}"), &owner)
            .await;
        expect_error_exact(answer, StatusCode::BAD_REQUEST, expected);
    }
}

#[tokio::test]
async fn logs_of_unknown_or_malformed_task_ids_are_404() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    a_finished_task(&server, &owner).await;

    for path in ["999", "-1", "1e3", "..%2f..%2fboxd.sqlite", "1%2f..", "0x1"] {
        let answer = server
            .get(&format!("/api/v1/tasks/{path}/logs"), &owner)
            .await;
        expect_error(answer, StatusCode::NOT_FOUND, "");
    }
}
