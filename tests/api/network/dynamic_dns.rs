//! `/api/v1/network/dynamic_dns`: the flag, and the periodic job it turns on (detect the
//! addresses; when they changed, a `syncDyndns` task runs the operator's DNS command).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use boxd::clock::ManualClock;
use chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    TestServer, expect_admin_only, expect_error_exact, wait_for_notification, wait_for_task,
};

#[tokio::test]
async fn dynamic_dns_needs_an_admin_and_a_writable_token() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    expect_admin_only(
        &server,
        &owner,
        &[
            (Method::GET, "/api/v1/network/dynamic_dns", Value::Null),
            (
                Method::POST,
                "/api/v1/network/dynamic_dns",
                json!({"enabled": false}),
            ),
        ],
    )
    .await;
}

#[tokio::test]
async fn a_fresh_server_has_dynamic_dns_off() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server.get("/api/v1/network/dynamic_dns", &owner).await;

    assert_eq!(answer, (StatusCode::OK, json!({"enabled": false})));
}

#[tokio::test]
async fn the_flag_is_a_boolean_and_echoed() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let (code, _) = server
        .post(
            "/api/v1/network/dynamic_dns",
            &owner,
            json!({"enabled": true}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);
    let (_, stored) = server.get("/api/v1/network/dynamic_dns", &owner).await;
    assert_eq!(stored, json!({"enabled": true}));
    let answer = server
        .post(
            "/api/v1/network/dynamic_dns",
            &owner,
            json!({"enabled": "true"}),
        )
        .await;
    expect_error_exact(answer, StatusCode::BAD_REQUEST, "enabled must be a boolean");
}

/// A detection endpoint whose answer the test changes; it counts the questions.
#[derive(Clone, Default)]
struct Endpoint {
    ip: Arc<Mutex<String>>,
    asked: Arc<AtomicUsize>,
}

impl Endpoint {
    async fn start(ip: &str) -> (Self, String) {
        let endpoint = Self::default();
        endpoint.set(ip);
        let app = axum::Router::new()
            .route(
                "/ip",
                get(|State(e): State<Endpoint>| async move {
                    e.asked.fetch_add(1, Ordering::SeqCst);
                    e.ip.lock().unwrap().clone()
                }),
            )
            .with_state(endpoint.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/ip", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (endpoint, url)
    }

    fn set(&self, ip: &str) {
        *self.ip.lock().unwrap() = ip.to_owned();
    }
}

async fn sync_tasks(server: &TestServer, token: &str) -> Vec<Value> {
    let (_, list) = server.get("/api/v1/tasks?type=syncDyndns", token).await;
    list["tasks"].as_array().unwrap().clone()
}

async fn wait_for_tasks(server: &TestServer, token: &str, count: usize) -> Vec<Value> {
    for _ in 0..250 {
        let tasks = sync_tasks(server, token).await;
        if tasks.len() >= count {
            let id = tasks[0]["id"].as_str().unwrap().to_owned();
            wait_for_task(server, token, &id, |t| {
                t["active"] == false && t["pending"] == false
            })
            .await;
            return sync_tasks(server, token).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no syncDyndns task number {count}");
}

/// A server on a manual clock whose IPv4 is detected at a local endpoint answering `ip`, with
/// `command` as its DNS command.
struct Dyndns {
    endpoint: Endpoint,
    clock: Arc<ManualClock>,
    server: TestServer,
    owner: String,
}

impl Dyndns {
    async fn start(ip: &str, command: Option<String>) -> Self {
        let (endpoint, url) = Endpoint::start(ip).await;
        let clock = Arc::new(ManualClock::default());
        let server = TestServer::start_with(|config| {
            config.clock = clock.clone();
            config.ipv4_detect_url = url;
            config.dyndns_command = command;
        })
        .await;
        let owner = server.owner_token().await;
        Self {
            endpoint,
            clock,
            server,
            owner,
        }
    }

    async fn enable(&self) {
        let (code, _) = self
            .server
            .post(
                "/api/v1/network/dynamic_dns",
                &self.owner,
                json!({"enabled": true}),
            )
            .await;
        assert_eq!(code, StatusCode::OK);
    }
}

/// A temp file and a DNS command that appends "ipv4|ipv6|domain" to it, then says "synced".
fn recording_command() -> (tempfile::NamedTempFile, String) {
    let out = tempfile::NamedTempFile::new().unwrap();
    let command = format!(
        "printf '%s|%s|%s\\n' \"$BOXD_IPV4\" \"$BOXD_IPV6\" \"$BOXD_DOMAIN\" >> {}; echo synced",
        out.path().display()
    );
    (out, command)
}

#[tokio::test]
async fn while_dynamic_dns_is_off_nothing_is_detected() {
    let (_out, command) = recording_command();
    let d = Dyndns::start("203.0.113.1", Some(command)).await;

    d.clock.advance(TimeDelta::seconds(601));
    tokio::time::sleep(Duration::from_millis(100)).await;

    assert_eq!(d.endpoint.asked.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn an_address_change_runs_the_dns_command_with_the_new_address() {
    let (out, command) = recording_command();
    let d = Dyndns::start("203.0.113.1", Some(command)).await;
    d.enable().await;

    d.clock.advance(TimeDelta::seconds(601));
    let tasks = wait_for_tasks(&d.server, &d.owner, 1).await;

    assert_eq!(tasks[0]["success"], true, "{}", tasks[0]);
    assert_eq!(
        std::fs::read_to_string(out.path()).unwrap(),
        "203.0.113.1||my.example.com\n"
    );
    let id = tasks[0]["id"].as_str().unwrap();
    let log = d.server.task_log(&d.owner, id).await;
    assert!(log.contains("synced"), "{log}");
}

#[tokio::test]
async fn the_same_address_runs_nothing_and_each_change_runs_once() {
    let (out, command) = recording_command();
    let d = Dyndns::start("203.0.113.1", Some(command)).await;
    d.enable().await;
    d.clock.advance(TimeDelta::seconds(601));
    wait_for_tasks(&d.server, &d.owner, 1).await;

    // Same address: the check runs (the endpoint is asked) and starts nothing. The next check,
    // with a new address, can only start after this one has ended, so counting after it proves it.
    d.clock.advance(TimeDelta::seconds(600));
    d.endpoint.set("203.0.113.2");
    d.clock.advance(TimeDelta::seconds(600));
    let tasks = wait_for_tasks(&d.server, &d.owner, 2).await;

    assert_eq!(tasks.len(), 2, "one task per change");
    assert_eq!(tasks[0]["success"], true);
    assert_eq!(
        std::fs::read_to_string(out.path()).unwrap(),
        "203.0.113.1||my.example.com\n203.0.113.2||my.example.com\n"
    );
    let (_, events) = d
        .server
        .get("/api/v1/eventlog?actions=dyndns.update", &d.owner)
        .await;
    let events = events["eventlogs"].as_array().unwrap();
    assert_eq!(events.len(), 2, "one event per change");
    assert_eq!(
        (
            events[0]["data"]["fromIp"].clone(),
            events[0]["data"]["toIp"].clone()
        ),
        (json!("203.0.113.1"), json!("203.0.113.2"))
    );
    assert_eq!(events[0]["source"]["username"], "cron");
}

#[tokio::test]
async fn without_a_command_the_change_is_recorded_and_the_log_says_so() {
    let d = Dyndns::start("198.51.100.9", None).await;
    d.enable().await;

    d.clock.advance(TimeDelta::seconds(601));
    let tasks = wait_for_tasks(&d.server, &d.owner, 1).await;

    assert_eq!(tasks[0]["success"], true);
    let id = tasks[0]["id"].as_str().unwrap();
    let log = d.server.task_log(&d.owner, id).await;
    assert!(log.contains("No DNS command is set"), "{log}");
    let (_, events) = d
        .server
        .get("/api/v1/eventlog?actions=dyndns.update", &d.owner)
        .await;
    assert_eq!(events["eventlogs"][0]["data"]["toIp"], "198.51.100.9");
}

#[tokio::test]
async fn a_failing_dns_command_fails_the_task() {
    let command = "echo 'provider said no' >&2; exit 3".to_owned();
    let d = Dyndns::start("198.51.100.9", Some(command)).await;
    d.enable().await;

    d.clock.advance(TimeDelta::seconds(601));
    let tasks = wait_for_tasks(&d.server, &d.owner, 1).await;

    assert_eq!(tasks[0]["success"], false);
    assert!(
        tasks[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("exit status: 3"),
        "{}",
        tasks[0]
    );
}

#[tokio::test]
async fn a_change_that_failed_to_sync_is_tried_again_next_time() {
    let command = "echo 'provider said no' >&2; exit 3".to_owned();
    let d = Dyndns::start("198.51.100.9", Some(command)).await;
    d.enable().await;
    d.clock.advance(TimeDelta::seconds(601));
    wait_for_tasks(&d.server, &d.owner, 1).await;
    // The runner frees the task type only after it has notified the failure; until then the
    // next check could find a syncDyndns task still running.
    wait_for_notification(&d.server, &d.owner, "Task syncDyndns failed").await;

    d.clock.advance(TimeDelta::seconds(600));
    let tasks = wait_for_tasks(&d.server, &d.owner, 2).await;

    assert_eq!(tasks.len(), 2, "the unsynced change is tried again");
    let (_, events) = d
        .server
        .get("/api/v1/eventlog?actions=dyndns.update", &d.owner)
        .await;
    assert_eq!(
        events["eventlogs"],
        json!([]),
        "nothing was recorded as synced"
    );
}

#[tokio::test]
async fn odd_command_output_and_leftover_children_do_not_stall_the_task() {
    let command = "printf 'bytes \\377\\376 here\\n'; (sleep 61.25 &); echo done";
    let d = Dyndns::start("198.51.100.10", Some(command.into())).await;
    d.enable().await;
    let started = std::time::Instant::now();

    d.clock.advance(TimeDelta::seconds(601));
    let tasks = wait_for_tasks(&d.server, &d.owner, 1).await;

    assert_eq!(tasks[0]["success"], true, "{}", tasks[0]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the background child did not hold the task"
    );
    let id = tasks[0]["id"].as_str().unwrap();
    let response = d
        .server
        .http
        .get(d.server.url(&format!("/api/v1/tasks/{id}/logs?lines=-1")))
        .bearer_auth(&d.owner)
        .send()
        .await
        .unwrap();
    let log = response.text().await.unwrap();
    assert!(
        log.contains("bytes \u{fffd}\u{fffd} here") && log.contains("done"),
        "{log}"
    );
    let leftover = std::process::Command::new("pgrep")
        .args(["-f", "sleep 61.25"])
        .output()
        .unwrap();
    assert!(
        leftover.stdout.is_empty(),
        "the command's process group was killed"
    );
}
