//! The built binary, as an operator runs it.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{BOXD, Served, client};

fn admin(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(BOXD)
        .arg("admin")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test]
async fn serve_answers_and_exits_zero_on_sigterm_without_logging_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path());
    let http = client();

    let status = http
        .get(served.url("/api/v1/cloudron/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), StatusCode::OK);
    let token = served.activate("alice", "password123").await;
    let by_query = http
        .get(served.url(&format!("/api/v1/tokens?access_token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), StatusCode::OK);
    let by_header = http
        .get(served.url("/api/v1/eventlog"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(by_header.status(), StatusCode::OK);
    let canary = http
        .get(served.url("/api/v1/tokens?access_token=SECRETCANARY42"))
        .send()
        .await
        .unwrap();
    assert_eq!(canary.status(), StatusCode::UNAUTHORIZED);

    let (exit, took, log) = served.terminate();

    assert!(exit.success(), "exit status {exit:?}\n{log}");
    assert!(took < Duration::from_secs(10));
    assert!(
        log.contains("route=\"/api/v1/tokens\""),
        "requests are logged by route:\n{log}"
    );
    assert!(!log.contains("SECRETCANARY42"), "a token reached the log");
    assert!(!log.contains(&token), "a token reached the log");
    assert!(!log.contains("password123"), "a password reached the log");
}

#[tokio::test]
async fn admin_commands_work_on_a_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("password");
    std::fs::write(&password_file, "first password\n").unwrap();
    let pw = password_file.to_str().unwrap();

    let created = admin(
        dir.path(),
        &[
            "create-owner",
            "--username",
            "root2",
            "--email",
            "r@example.com",
            "--password-file",
            pw,
        ],
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let again = admin(
        dir.path(),
        &[
            "create-owner",
            "--username",
            "other",
            "--email",
            "o@example.com",
            "--password-file",
            pw,
        ],
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("an owner already exists"));

    let listed = String::from_utf8(admin(dir.path(), &["list-users"]).stdout).unwrap();
    assert!(
        listed.contains("root2") && listed.contains("owner"),
        "{listed}"
    );

    let token_out = admin(
        dir.path(),
        &["create-token", "root2", "--name", "ops", "--readonly"],
    );
    assert!(token_out.status.success());
    let token = String::from_utf8(token_out.stdout)
        .unwrap()
        .trim()
        .to_owned();
    assert_eq!(token.len(), 43);

    let served = Served::start(dir.path());
    let http = client();
    let read = http
        .get(served.url("/api/v1/tokens"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let write = http
        .post(served.url("/api/v1/tokens"))
        .bearer_auth(&token)
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        write.status(),
        StatusCode::FORBIDDEN,
        "--readonly makes a read-only token"
    );

    std::fs::write(&password_file, "second password\n").unwrap();
    let reset = admin(
        dir.path(),
        &["reset-password", "root2", "--password-file", pw],
    );
    assert!(
        reset.status.success(),
        "the CLI works while the server runs"
    );
    let login = |password: &str| {
        http.post(served.url("/api/v1/auth/login"))
            .json(&json!({"username": "root2", "password": password}))
            .send()
    };
    assert_eq!(
        login("first password").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login("second password").await.unwrap().status(),
        StatusCode::OK
    );

    let health = Command::new(BOXD)
        .args([
            "healthcheck",
            "--url",
            &served.url("/api/v1/cloudron/status"),
        ])
        .status()
        .unwrap();
    assert!(health.success());
    let base = served.base.clone();
    let (exit, _, _) = served.terminate();
    assert!(exit.success());
    let dead = Command::new(BOXD)
        .args([
            "healthcheck",
            "--url",
            &format!("{base}/api/v1/cloudron/status"),
        ])
        .output()
        .unwrap();
    assert!(!dead.status.success());
}

#[test]
fn bad_configuration_fails_fast_with_one_line() {
    let unwritable = Command::new(BOXD)
        .args(["serve", "--data-dir", "/proc/boxd-cannot-be-here"])
        .output()
        .unwrap();
    assert!(!unwritable.status.success());
    let stderr = String::from_utf8(unwritable.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("data dir"), "{stderr}");

    let bad_listen = Command::new(BOXD)
        .args(["serve", "--listen", "nowhere"])
        .output()
        .unwrap();
    assert!(!bad_listen.status.success());
    let bad_format = Command::new(BOXD)
        .args(["serve", "--log-format", "xml"])
        .output()
        .unwrap();
    assert!(!bad_format.status.success());
    let bad_url = Command::new(BOXD)
        .args([
            "serve",
            "--data-dir",
            "/tmp",
            "--database-url",
            "postgres://x",
        ])
        .output()
        .unwrap();
    assert!(!bad_url.status.success());
}

/// Peak resident memory of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn huge_uploads_are_cut_off_without_growing_memory() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path());
    let http = client();
    let token = served.activate("alice", "password123").await;
    let before = peak_rss_kib(served.pid());

    // Eight concurrent 64 MiB uploads, generated lazily so the client holds almost nothing.
    let uploads = (0..8).map(|_| {
        let head = b"--b\r\nContent-Disposition: form-data; name=\"backgroundImage\"; filename=\"x.png\"\r\n\r\n\x89PNG\r\n\x1a\n".to_vec();
        let chunks = std::iter::once(head).chain(std::iter::repeat_n(vec![0u8; 64 * 1024], 1024));
        let stream = futures_util::stream::iter(chunks.map(Ok::<_, std::io::Error>));
        http.post(served.url("/api/v1/profile/background_image"))
            .bearer_auth(&token)
            .header("Content-Type", "multipart/form-data; boundary=b")
            .body(reqwest::Body::wrap_stream(stream))
            .send()
    });
    let results = futures_util::future::join_all(uploads).await;

    // The server may answer 413 and close before the client has sent everything: an Err here.
    for response in results.into_iter().flatten() {
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
    let grown_mib = peak_rss_kib(served.pid()).saturating_sub(before) / 1024;
    assert!(
        grown_mib < 100,
        "peak memory grew by {grown_mib} MiB for 512 MiB of uploads"
    );
    let status = http
        .get(served.url("/api/v1/cloudron/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), StatusCode::OK);
    let (exit, _, _) = served.terminate();
    assert!(exit.success());
}

#[tokio::test]
async fn sigterm_ends_open_log_streams_and_the_process_within_ten_seconds() {
    let app = axum::Router::new().route("/ip", axum::routing::get(|| async { "192.0.2.44" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let detect = format!("http://{}/ip", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--dyndns-interval",
        "1",
        "--dyndns-command",
        "echo started; sleep 60",
        "--ipv4-detect-url",
        &detect,
    ];
    let served = Served::start_with_args(dir.path(), &args);
    let http = client();
    let token = served.activate("alice", "password123").await;
    let enable = http
        .post(served.url("/api/v1/network/dynamic_dns"))
        .bearer_auth(&token)
        .json(&json!({"enabled": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(enable.status(), StatusCode::OK);
    let mut task_id = None;
    for _ in 0..200 {
        let list: Value = http
            .get(served.url("/api/v1/tasks?type=syncDyndns"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(id) = list["tasks"][0]["id"].as_str() {
            task_id = Some(id.to_owned());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let task_id = task_id.expect("the dynamic DNS task started");
    let mut stream = http
        .get(served.url(&format!(
            "/api/v1/tasks/{task_id}/logstream?lines=-1&access_token={token}"
        )))
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    let mut received = String::new();
    while !received.contains("started") {
        let chunk = tokio::time::timeout(Duration::from_secs(10), stream.chunk())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        received.push_str(&String::from_utf8_lossy(&chunk));
    }

    let terminated = tokio::task::spawn_blocking(move || served.terminate());
    let drained = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    let (exit, took, log) = terminated.await.unwrap();

    assert!(drained.is_ok(), "the log stream ended");
    assert!(exit.success(), "exit status {exit:?}\n{log}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let db = boxd::store::connect(&format!(
        "sqlite://{}",
        dir.path().join("boxd.sqlite").display()
    ))
    .await
    .unwrap();
    let error: String = sqlx::query_scalar("SELECT error FROM tasks WHERE type = 'syncDyndns'")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(
        error.contains("\"stopped\""),
        "the running task was ended and marked: {error}"
    );
}
