//! `boxd serve`: the real binary answers, logs safely, refuses bad configuration, stays small
//! under huge uploads and stops cleanly on SIGTERM.

use std::process::{Command, ExitStatus};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use tempfile::TempDir;

use crate::support::{BOXD, Served, client};

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

/// A served boxd running a dynamic DNS task that logged "started" and then sleeps, with a
/// client following that task's log stream; answers the server, its data dir and the stream.
async fn a_running_task_with_an_open_log_stream() -> (Served, TempDir, reqwest::Response) {
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

    (served, dir, stream)
}

/// SIGTERMs the server while the stream is open; answers whether the stream ended within 10 s,
/// and the exit status, how long the exit took and the log.
async fn terminate_while_streaming(
    served: Served,
    mut stream: reqwest::Response,
) -> (bool, ExitStatus, Duration, String) {
    let terminated = tokio::task::spawn_blocking(move || served.terminate());
    let drained = tokio::time::timeout(Duration::from_secs(10), async {
        while let Ok(Some(_)) = stream.chunk().await {}
    })
    .await;
    let (exit, took, log) = terminated.await.unwrap();
    (drained.is_ok(), exit, took, log)
}

#[tokio::test]
async fn sigterm_ends_open_log_streams_and_the_process_within_ten_seconds() {
    let (served, _dir, stream) = a_running_task_with_an_open_log_stream().await;

    let (drained, exit, took, log) = terminate_while_streaming(served, stream).await;

    assert!(drained, "the log stream ended");
    assert!(exit.success(), "exit status {exit:?}\n{log}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

#[tokio::test]
async fn sigterm_ends_the_running_task_and_marks_it_stopped() {
    let (served, dir, stream) = a_running_task_with_an_open_log_stream().await;

    let (_, exit, _, _) = terminate_while_streaming(served, stream).await;

    assert!(exit.success());
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

#[tokio::test]
async fn bad_acme_settings_stop_the_server_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let not_pem = dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let missing = dir.path().join("missing.pem");
    for (args, expected) in [
        (
            vec!["--acme-directory-url", "http://acme.example.com/dir"],
            "--acme-directory-url must be an https URL".to_owned(),
        ),
        (
            vec!["--acme-email", "not an email"],
            "--acme-email must be an email address".to_owned(),
        ),
        (
            vec!["--acme-ca-file", not_pem.to_str().unwrap()],
            format!(
                "--acme-ca-file {} holds no PEM certificate",
                not_pem.display()
            ),
        ),
        (
            vec!["--acme-ca-file", missing.to_str().unwrap()],
            format!("cannot read --acme-ca-file {}", missing.display()),
        ),
    ] {
        let output = Command::new(BOXD)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.path())
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(&expected), "{args:?}: {stderr}");
    }
}
