//! Cross-cutting: addresses that remote content names (release URLs in the feed, redirects of
//! the feed and of address detection) never reach an internal host. A listener on loopback
//! stands for the internal service: it must see no connection at all.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{TestServer, UpdateSetup, expect_error, wait_for_task};

/// An internal service on loopback that counts the connections it gets.
struct Victim {
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl Victim {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                counted.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Self { port, connections }
    }

    fn connections(&self) -> usize {
        std::thread::sleep(Duration::from_millis(100));
        self.connections.load(Ordering::SeqCst)
    }
}

#[tokio::test]
async fn release_urls_naming_internal_hosts_are_refused_without_a_connection() {
    let victim = Victim::start();
    let s = UpdateSetup::start(|_| {}).await;
    let port = victim.port;
    for url in [
        format!("https://[::ffff:127.0.0.2]:{port}/boxd.tar.gz"),
        format!("https://[::ffff:169.254.169.254]:{port}/boxd.tar.gz"),
        format!("https://[::ffff:10.1.2.3]:{port}/boxd.tar.gz"),
        format!("https://localhost:{port}/boxd.tar.gz"),
        format!("https://100.64.0.1:{port}/boxd.tar.gz"),
        format!("http://example.com:{port}/boxd.tar.gz"),
    ] {
        s.publish("0.2.0", vec![1, 2, 3]);
        s.releases.feed.lock().unwrap()["sourceTarballUrl"] = json!(url);

        let answer = s.check().await;

        expect_error(
            answer,
            StatusCode::FAILED_DEPENDENCY,
            "names a download that is neither",
        );
    }
    assert_eq!(victim.connections(), 0);
}

#[tokio::test]
async fn a_release_whose_download_redirects_to_another_port_is_refused_without_a_connection() {
    let victim = Victim::start();
    let s = UpdateSetup::start(|_| {}).await;
    s.publish("0.2.0", vec![1, 2, 3]);
    *s.releases.moved_to.lock().unwrap() = format!("http://127.0.0.1:{}/x", victim.port);
    let moved = format!("{}/moved", s.base);
    s.releases.feed.lock().unwrap()["sourceTarballSigUrl"] = json!(moved);
    assert_eq!(s.check().await.0, StatusCode::OK);

    let (code, started) = s
        .server
        .post(
            "/api/v1/updater/update",
            &s.owner,
            json!({"skipBackup": true}),
        )
        .await;
    assert_eq!(code, StatusCode::ACCEPTED, "{started}");
    let id = started["taskId"].as_str().unwrap();
    let task = wait_for_task(&s.server, &s.owner, id, |t| {
        t["active"] == false && t["pending"] == false
    })
    .await;

    let message = task["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("it redirected where boxd does not follow: a redirect to another host"),
        "{message}"
    );
    assert_eq!(victim.connections(), 0);
}

#[tokio::test]
async fn a_feed_that_redirects_to_another_port_is_refused_without_a_connection() {
    let victim = Victim::start();
    let s = UpdateSetup::start(|_| {}).await;
    *s.releases.moved_to.lock().unwrap() = format!("http://127.0.0.1:{}/feed.json", victim.port);
    let feed = format!("{}/moved", s.base);
    let server = TestServer::start_with(|config| config.update.feed_url = Some(feed)).await;
    let owner = server.owner_token().await;

    let answer = server
        .post("/api/v1/updater/check_for_updates", &owner, json!({}))
        .await;

    expect_error(
        answer,
        StatusCode::FAILED_DEPENDENCY,
        "a redirect to another host",
    );
    assert_eq!(victim.connections(), 0);
}

#[tokio::test]
async fn address_detection_follows_no_redirect_to_another_host_or_port() {
    let victim = Victim::start();
    let s = UpdateSetup::start(|_| {}).await;
    *s.releases.moved_to.lock().unwrap() = format!("http://127.0.0.1:{}/ip", victim.port);
    let detect = format!("{}/moved", s.base);
    let server = TestServer::start_with(|config| config.ipv4_detect_url = detect).await;
    let owner = server.owner_token().await;

    let answer = server.get("/api/v1/network/ipv4", &owner).await;

    expect_error(
        answer,
        StatusCode::FAILED_DEPENDENCY,
        "a redirect to another host",
    );
    assert_eq!(victim.connections(), 0);
}
