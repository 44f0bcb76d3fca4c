//! The built binary, as an operator runs it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::client;

const BOXD: &str = env!("CARGO_BIN_EXE_boxd");

/// A `boxd serve` child process and everything it has logged so far.
struct Served {
    child: Child,
    base: String,
    log: Arc<Mutex<String>>,
}

impl Served {
    fn start(data_dir: &Path) -> Self {
        let mut child = Command::new(BOXD)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("RUST_LOG", "trace")
            .env_remove("BOXD_LISTEN")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some((_, rest)) = line.split_once("listening on ") {
                    let addr = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    let _ = addr_tx.send(addr);
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("a 'listening on' log line");
        Self {
            child,
            base: format!("http://{addr}"),
            log,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGTERM, then the exit status within 10 s.
    fn terminate(mut self) -> (std::process::ExitStatus, Duration, String) {
        let started = Instant::now();
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                let log = self.log.lock().unwrap().clone();
                return (status, started.elapsed(), log);
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "boxd did not exit within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

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
    let body = json!({"username": "alice", "password": "password123", "email": "a@example.com"});
    let activated: Value = http
        .post(served.url("/api/v1/provision/activate"))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = activated["token"].as_str().unwrap();
    let by_query = http
        .get(served.url(&format!("/api/v1/tokens?access_token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(by_query.status(), StatusCode::OK);
    let by_header = http
        .get(served.url("/api/v1/eventlog"))
        .bearer_auth(token)
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
    assert!(!log.contains(token), "a token reached the log");
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
