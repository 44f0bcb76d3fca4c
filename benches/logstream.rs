//! Benchmark: 200 concurrent log-stream (SSE) clients follow a task that writes 10,000 lines.
//! Runs the real `boxd` binary; the task is a dynamic DNS sync whose command prints the lines.
//! Reports lines delivered, the server's peak memory and its CPU time.
//!
//! `cargo bench --bench logstream` (add `-- <clients> <lines>` to change the load).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use serde_json::{Value, json};

const BOXD: &str = env!("CARGO_BIN_EXE_boxd");

fn proc_status(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|line| line.starts_with(field))
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|kib| kib.parse().ok())
        .unwrap_or_default()
}

/// User + system CPU time of a process, in clock ticks (1/100 s on Linux).
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |n: usize| {
        fields
            .get(n)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or_default()
    };
    field(11) + field(12)
}

#[expect(
    clippy::zombie_processes,
    reason = "the child is returned; main kills and waits for it"
)]
fn start_server(data_dir: &std::path::Path, detect_url: &str, lines: usize) -> (Child, String) {
    let command = format!("sleep 3; seq -f 'benchmark line %g' 1 {lines}");
    let mut child = Command::new(BOXD)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args([
            "--dyndns-interval",
            "1",
            "--dyndns-command",
            &command,
            "--ipv4-detect-url",
            detect_url,
        ])
        .args([
            "--max-log-streams",
            "10000",
            "--max-log-streams-per-user",
            "10000",
        ])
        .env("RUST_LOG", "warn,boxd::app=info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("boxd starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut reader = BufReader::new(stderr);
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or_default() == 0 {
            let status = child.wait();
            panic!("boxd exited: {status:?}");
        }
        if let Some((_, rest)) = line.split_once("listening on ") {
            let addr = rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            std::thread::spawn(move || for _ in reader.lines() {});
            return (child, format!("http://{addr}"));
        }
    }
}

#[tokio::main]
async fn main() {
    boxd::install_crypto_provider();
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let clients = args.first().copied().unwrap_or(200);
    let lines = args.get(1).copied().unwrap_or(10_000);

    let app = axum::Router::new().route("/ip", axum::routing::get(|| async { "192.0.2.10" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let detect_url = format!("http://{}/ip", listener.local_addr().expect("an address"));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().expect("a temp dir");
    let (mut child, base) = start_server(dir.path(), &detect_url, lines);
    let pid = child.id();
    let http = reqwest::Client::new();
    let body = json!({"username": "bench", "password": "benchmark password", "email": "bench@example.com"});
    let activated: Value = http
        .post(format!("{base}/api/v1/provision/activate"))
        .json(&body)
        .send()
        .await
        .expect("activate")
        .json()
        .await
        .expect("json");
    let token = activated["token"].as_str().expect("a token").to_owned();
    http.post(format!("{base}/api/v1/network/dynamic_dns"))
        .bearer_auth(&token)
        .json(&json!({"enabled": true}))
        .send()
        .await
        .expect("enable");
    let task_id = loop {
        let list: Value = http
            .get(format!("{base}/api/v1/tasks?type=syncDyndns"))
            .bearer_auth(&token)
            .send()
            .await
            .expect("list")
            .json()
            .await
            .expect("json");
        if let Some(id) = list["tasks"][0]["id"].as_str() {
            break id.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let rss_before = proc_status(pid, "VmRSS:");
    let cpu_before = cpu_ticks(pid);
    let started = Instant::now();
    let url = format!("{base}/api/v1/tasks/{task_id}/logstream?lines=-1&access_token={token}");
    let followers = (0..clients).map(|_| {
        let (http, url) = (http.clone(), url.clone());
        tokio::spawn(async move {
            let response = http
                .get(&url)
                .header("Accept", "text/event-stream")
                .send()
                .await
                .expect("a stream");
            assert_eq!(response.status(), 200);
            let mut events = response.bytes_stream().eventsource();
            let (mut delivered, mut last_id) = (0usize, 0i64);
            while let Some(Ok(event)) = events.next().await {
                let id: i64 = event.id.parse().unwrap_or_default();
                assert!(id > last_id, "lines arrive in order, once");
                last_id = id;
                if event.data.contains("benchmark line") {
                    delivered += 1;
                }
                if event.data.contains("Task finished") {
                    break;
                }
            }
            (delivered, started.elapsed())
        })
    });
    let mut peak_rss = 0;
    let results = {
        let all = futures_util::future::join_all(followers);
        tokio::pin!(all);
        loop {
            tokio::select! {
                results = &mut all => break results,
                () = tokio::time::sleep(Duration::from_millis(20)) => peak_rss = peak_rss.max(proc_status(pid, "VmRSS:")),
            }
        }
    };
    let elapsed = started.elapsed();
    let cpu_secs = (cpu_ticks(pid) - cpu_before) as f64 / 100.0;
    let delivered: Vec<usize> = results
        .iter()
        .map(|r| r.as_ref().expect("a follower").0)
        .collect();
    let slowest = results
        .iter()
        .map(|r| r.as_ref().expect("a follower").1)
        .max()
        .unwrap_or_default();
    let complete = delivered.iter().filter(|n| **n == lines).count();

    println!("logstream benchmark: {clients} clients following one task that writes {lines} lines");
    println!(
        "  lines delivered:      {} of {} ({complete} clients got every line)",
        delivered.iter().sum::<usize>(),
        clients * lines
    );
    println!(
        "  all clients done in:  {:.2} s (slowest {:.2} s; includes the command's 3 s start delay)",
        elapsed.as_secs_f64(),
        slowest.as_secs_f64()
    );
    println!(
        "  server RSS:           {} MiB before, {} MiB peak (sampled every 20 ms), {} MiB VmHWM",
        rss_before / 1024,
        peak_rss / 1024,
        proc_status(pid, "VmHWM:") / 1024
    );
    println!(
        "  server CPU time:      {cpu_secs:.2} s ({:.0}% of one core over the run)",
        cpu_secs / elapsed.as_secs_f64() * 100.0
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(complete, clients, "every client got every line");
}
