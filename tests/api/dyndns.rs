use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use boxd::clock::ManualClock;
use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestServer, wait_for_notification, wait_for_task};

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

#[tokio::test]
async fn an_address_change_runs_the_dns_command_once_and_no_change_runs_nothing() {
    let (endpoint, url) = Endpoint::start("203.0.113.1").await;
    let clock = Arc::new(ManualClock::default());
    let out = tempfile::NamedTempFile::new().unwrap();
    let command = format!(
        "printf '%s|%s|%s\\n' \"$BOXD_IPV4\" \"$BOXD_IPV6\" \"$BOXD_DOMAIN\" >> {}; echo synced",
        out.path().display()
    );
    let server = TestServer::start_with(|config| {
        config.clock = clock.clone();
        config.ipv4_detect_url = url;
        config.dyndns_command = Some(command);
    })
    .await;
    let owner = server.owner_token().await;
    clock.advance(TimeDelta::seconds(601));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        endpoint.asked.load(Ordering::SeqCst),
        0,
        "disabled: nothing is detected"
    );
    let (code, _) = server
        .post(
            "/api/v1/network/dynamic_dns",
            &owner,
            json!({"enabled": true}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);

    clock.advance(TimeDelta::seconds(600));
    let tasks = wait_for_tasks(&server, &owner, 1).await;

    assert_eq!(tasks[0]["success"], true, "{}", tasks[0]);
    assert_eq!(
        std::fs::read_to_string(out.path()).unwrap(),
        "203.0.113.1||my.example.com\n"
    );
    let id = tasks[0]["id"].as_str().unwrap();
    let log = server.task_log(&owner, id).await;
    assert!(log.contains("synced"), "{log}");

    // Same address: the check runs (the endpoint is asked) and starts nothing. The next check,
    // with a new address, can only start after this one has ended, so counting after it proves it.
    clock.advance(TimeDelta::seconds(600));
    endpoint.set("203.0.113.2");
    clock.advance(TimeDelta::seconds(600));
    let tasks = wait_for_tasks(&server, &owner, 2).await;

    assert_eq!(tasks.len(), 2, "one task per change");
    assert_eq!(tasks[0]["success"], true);
    assert_eq!(
        std::fs::read_to_string(out.path()).unwrap(),
        "203.0.113.1||my.example.com\n203.0.113.2||my.example.com\n"
    );
    let (_, events) = server
        .get("/api/v1/eventlog?actions=dyndns.update", &owner)
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
    let (_endpoint, url) = Endpoint::start("198.51.100.9").await;
    let clock = Arc::new(ManualClock::default());
    let server = TestServer::start_with(|config| {
        config.clock = clock.clone();
        config.ipv4_detect_url = url;
    })
    .await;
    let owner = server.owner_token().await;
    server
        .post(
            "/api/v1/network/dynamic_dns",
            &owner,
            json!({"enabled": true}),
        )
        .await;

    clock.advance(TimeDelta::seconds(601));
    let tasks = wait_for_tasks(&server, &owner, 1).await;

    assert_eq!(tasks[0]["success"], true);
    let id = tasks[0]["id"].as_str().unwrap();
    let log = server.task_log(&owner, id).await;
    assert!(log.contains("No DNS command is set"), "{log}");
    let (_, events) = server
        .get("/api/v1/eventlog?actions=dyndns.update", &owner)
        .await;
    assert_eq!(events["eventlogs"][0]["data"]["toIp"], "198.51.100.9");
}

#[tokio::test]
async fn a_failing_dns_command_fails_the_task_and_is_retried_next_time() {
    let (_endpoint, url) = Endpoint::start("198.51.100.9").await;
    let clock = Arc::new(ManualClock::default());
    let server = TestServer::start_with(|config| {
        config.clock = clock.clone();
        config.ipv4_detect_url = url;
        config.dyndns_command = Some("echo 'provider said no' >&2; exit 3".into());
    })
    .await;
    let owner = server.owner_token().await;
    server
        .post(
            "/api/v1/network/dynamic_dns",
            &owner,
            json!({"enabled": true}),
        )
        .await;

    clock.advance(TimeDelta::seconds(601));
    let tasks = wait_for_tasks(&server, &owner, 1).await;
    assert_eq!(tasks[0]["success"], false);
    assert!(
        tasks[0]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("exit status: 3"),
        "{}",
        tasks[0]
    );
    // The runner frees the task type only after it has notified the failure; until then the
    // next check could find a syncDyndns task still running.
    wait_for_notification(&server, &owner, "Task syncDyndns failed").await;

    clock.advance(TimeDelta::seconds(600));
    let tasks = wait_for_tasks(&server, &owner, 2).await;
    assert_eq!(tasks.len(), 2, "the unsynced change is tried again");
    let (_, events) = server
        .get("/api/v1/eventlog?actions=dyndns.update", &owner)
        .await;
    assert_eq!(
        events["eventlogs"],
        json!([]),
        "nothing was recorded as synced"
    );
}

#[tokio::test]
async fn odd_command_output_and_leftover_children_do_not_stall_the_task() {
    let (_endpoint, url) = Endpoint::start("198.51.100.10").await;
    let clock = Arc::new(ManualClock::default());
    let command = "printf 'bytes \\377\\376 here\\n'; (sleep 61.25 &); echo done";
    let server = TestServer::start_with(|config| {
        config.clock = clock.clone();
        config.ipv4_detect_url = url;
        config.dyndns_command = Some(command.into());
    })
    .await;
    let owner = server.owner_token().await;
    server
        .post(
            "/api/v1/network/dynamic_dns",
            &owner,
            json!({"enabled": true}),
        )
        .await;
    let started = std::time::Instant::now();

    clock.advance(TimeDelta::seconds(601));
    let tasks = wait_for_tasks(&server, &owner, 1).await;

    assert_eq!(tasks[0]["success"], true, "{}", tasks[0]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the background child did not hold the task"
    );
    let id = tasks[0]["id"].as_str().unwrap();
    let response = server
        .http
        .get(server.url(&format!("/api/v1/tasks/{id}/logs?lines=-1")))
        .bearer_auth(&owner)
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
