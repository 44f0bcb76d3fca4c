//! The real binary behind Debian's nginx with the shipped site config (`deploy/nginx/boxd.conf`,
//! only ports and paths substituted): what a client of the public site gets.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION};
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::support::nginx::Nginx;
use crate::support::{Served, form, png};

const PASSWORD: &str = "password123";

struct Site {
    served: Served,
    nginx: Nginx,
    _dir: TempDir,
}

/// boxd with `args`, its owner `alice` activated, behind nginx.
async fn start_site(args: &[&str]) -> (Site, String) {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start_with_args(dir.path(), args);
    let owner = served.activate("alice", PASSWORD).await;
    let upstream: SocketAddr = served.base.trim_start_matches("http://").parse().unwrap();
    let nginx = Nginx::start(upstream, dir.path());
    let site = Site {
        served,
        nginx,
        _dir: dir,
    };
    (site, owner)
}

/// Logs in through nginx from the loopback address `from`: the status and body.
async fn login_as(
    site: &Site,
    from: [u8; 4],
    username: &str,
    password: &str,
) -> (StatusCode, Value) {
    let response = site
        .nginx
        .client_from(from)
        .post(format!("{}/api/v1/auth/login", site.nginx.https_base()))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    (
        response.status(),
        response.json().await.unwrap_or(Value::Null),
    )
}

async fn login_from(site: &Site, from: [u8; 4], password: &str) -> (StatusCode, Value) {
    login_as(site, from, "alice", password).await
}

#[tokio::test]
async fn login_and_an_authenticated_get_pass_through_with_nginxs_request_id() {
    let (site, _) = start_site(&[]).await;
    let (status, login) = login_from(&site, [127, 0, 0, 1], PASSWORD).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{login}\n{}",
        site.nginx.error_log()
    );
    let token = login["accessToken"].as_str().unwrap();

    let response = site
        .nginx
        .client_from([127, 0, 0, 1])
        .get(format!("{}/api/v1/profile", site.nginx.https_base()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let profile: Value = response.json().await.unwrap();
    assert_eq!(profile["username"], "alice");
    // nginx's $request_id: 32 hex digits, not the UUID boxd makes when none comes in.
    assert_eq!(request_id.len(), 32, "{request_id}");
    assert!(request_id.bytes().all(|b| b.is_ascii_hexdigit()));
    let (exit, _, log) = site.served.terminate();
    assert!(exit.success());
    let logged = log
        .lines()
        .find(|line| line.contains("/api/v1/profile") && line.contains("finished processing"))
        .unwrap_or_else(|| panic!("the request's line:\n{log}"));
    assert!(logged.contains(&request_id), "{logged}");
}

#[tokio::test]
async fn a_4_mib_avatar_passes_and_a_6_mib_one_gets_boxds_json_413() {
    let (site, owner) = start_site(&[]).await;
    let upload = |size: usize| {
        let mut image = png(64, 64);
        image.resize(size, 0);
        let (content_type, body) = form("avatar", "me.png", "image/png", &image);
        site.nginx
            .client_from([127, 0, 0, 1])
            .post(format!("{}/api/v1/profile/avatar", site.nginx.https_base()))
            .bearer_auth(&owner)
            .header(CONTENT_TYPE, content_type)
            .body(body)
            .send()
    };

    let small = upload(4 * 1024 * 1024).await.unwrap();
    let large = upload(6 * 1024 * 1024).await.unwrap();

    assert_eq!(small.status(), StatusCode::OK, "{}", site.nginx.error_log());
    assert_eq!(large.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(
        large.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "boxd's answer, not nginx's HTML page"
    );
    let body: Value = large.json().await.unwrap();
    assert_eq!(body["status"], "Payload Too Large");
    assert!(
        body["message"].as_str().unwrap().contains("5 MiB"),
        "{body}"
    );
}

/// The id of the first `syncDyndns` task (5 s at most).
async fn dyndns_task(site: &Site, owner: &str) -> String {
    let http = crate::support::client();
    for _ in 0..100 {
        let tasks: Value = http
            .get(site.served.url("/api/v1/tasks?type=syncDyndns"))
            .bearer_auth(owner)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if let Some(id) = tasks["tasks"][0]["id"].as_str() {
            return id.to_owned();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no syncDyndns task started");
}

fn now_micros() -> i64 {
    let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since.as_micros()).unwrap()
}

#[tokio::test]
async fn log_stream_lines_reach_the_client_through_nginx_within_a_second() {
    let command = "i=0; while [ $i -lt 20 ]; do echo \"line $i\"; i=$((i+1)); sleep 0.2; done";
    let (site, owner) = start_site(&["--dyndns-command", command, "--dyndns-interval", "1"]).await;
    let http = crate::support::client();
    for (path, body) in [
        (
            "/api/v1/network/ipv4_config",
            json!({"provider": "fixed", "ip": "192.0.2.10"}),
        ),
        ("/api/v1/network/dynamic_dns", json!({"enabled": true})),
    ] {
        let response = http
            .post(site.served.url(path))
            .bearer_auth(&owner)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }
    let id = dyndns_task(&site, &owner).await;

    let response = site
        .nginx
        .client_from([127, 0, 0, 1])
        .get(format!(
            "{}/api/v1/tasks/{id}/logstream?lines=0&access_token={owner}",
            site.nginx.https_base()
        ))
        .header(ACCEPT, "text/event-stream")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), StatusCode::OK);
    let mut events = response.bytes_stream().eventsource();
    let mut lags = Vec::new();
    while lags.len() < 5 {
        let event = tokio::time::timeout(Duration::from_secs(5), events.next())
            .await
            .expect("a line within 5 s")
            .unwrap()
            .unwrap();
        let record: Value = serde_json::from_str(&event.data).unwrap();
        if record["message"].as_str().unwrap().starts_with("line ") {
            let written = record["realtimeTimestamp"].as_i64().unwrap();
            lags.push(Duration::from_micros(
                (now_micros() - written).unsigned_abs(),
            ));
        }
    }
    let worst = lags.iter().max().unwrap();
    assert!(*worst < Duration::from_secs(1), "{lags:?}");
}

/// The client addresses of the newest `user.login` events, newest first.
async fn login_addresses(site: &Site, owner: &str) -> Vec<String> {
    let events: Value = crate::support::client()
        .get(site.served.url("/api/v1/eventlog?actions=user.login"))
        .bearer_auth(owner)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    events["eventlogs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["source"]["ip"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn boxd_sees_the_clients_address_not_nginxs() {
    let (site, owner) = start_site(&[]).await;

    let (first, _) = login_from(&site, [127, 0, 0, 5], PASSWORD).await;
    let (second, _) = login_from(&site, [127, 0, 0, 7], PASSWORD).await;

    assert_eq!((first, second), (StatusCode::OK, StatusCode::OK));
    let seen = login_addresses(&site, &owner).await;
    assert_eq!(seen[..2], ["127.0.0.7", "127.0.0.5"], "{seen:?}");
}

#[tokio::test]
async fn one_clients_failed_logins_do_not_throttle_another_behind_nginx() {
    let (site, _) = start_site(&[]).await;
    for _ in 0..11 {
        login_as(&site, [127, 0, 0, 6], "mallory", "guess").await;
    }

    let (throttled, _) = login_from(&site, [127, 0, 0, 6], PASSWORD).await;
    let (other_client, _) = login_from(&site, [127, 0, 0, 7], PASSWORD).await;

    assert_eq!(throttled, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(other_client, StatusCode::OK);
}

#[tokio::test]
async fn port_80_redirects_to_https_and_passes_acme_challenges_to_boxd() {
    let (site, _) = start_site(&[]).await;
    let client = site.nginx.client_from([127, 0, 0, 1]);

    let redirect = client
        .get(format!("{}/api/v1/profile", site.nginx.http_base()))
        .send()
        .await
        .unwrap();
    let challenge = client
        .get(format!(
            "{}/.well-known/acme-challenge/unknown-token",
            site.nginx.http_base()
        ))
        .send()
        .await
        .unwrap();

    assert_eq!(redirect.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(
        redirect.headers()[LOCATION],
        "https://my.example.com/api/v1/profile"
    );
    assert_eq!(challenge.status(), StatusCode::NOT_FOUND);
    let body: Value = challenge.json().await.expect("boxd's JSON 404");
    assert_eq!(body["status"], "Not Found");
}
