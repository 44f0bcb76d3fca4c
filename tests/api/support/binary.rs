//! `Served`: the built boxd binary as a child process, as an operator runs it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::server::client;

pub const BOXD: &str = env!("CARGO_BIN_EXE_boxd");

/// A `boxd serve` child process and everything it has logged so far.
pub struct Served {
    child: Child,
    pub base: String,
    log: Arc<Mutex<String>>,
}

impl Served {
    pub fn start(data_dir: &Path) -> Self {
        Self::start_with_args(data_dir, &[])
    }

    /// `boxd serve` with more flags.
    pub fn start_with_args(data_dir: &Path, args: &[&str]) -> Self {
        let mut child = Command::new(BOXD)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(args)
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
                    // Text lines end the address with a space, JSON ones with a quote.
                    let addr = rest
                        .split(|c: char| c.is_whitespace() || c == '"')
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

    /// What the server has logged so far.
    pub fn logged(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Activates the owner `username`; returns the owner's token.
    pub async fn activate(&self, username: &str, password: &str) -> String {
        let body = json!({"username": username, "password": password, "email": format!("{username}@example.com")});
        let response = client()
            .post(self.url("/api/v1/provision/activate"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let activated: Value = response.json().await.unwrap();
        activated["token"].as_str().unwrap().to_owned()
    }

    /// SIGKILL: boxd dies at once, as in a crash or an OOM kill.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGTERM, then the exit status within 10 s.
    pub fn terminate(mut self) -> (std::process::ExitStatus, Duration, String) {
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

/// A test that ends, passing or failing, leaves no server behind.
impl Drop for Served {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
