//! The authentication cache: requests are answered from memory, yet every change that affects a
//! token is seen by the very next request, and changes by the operator CLI within the bound.

use std::sync::Arc;
use std::time::{Duration, Instant};

use boxd::clock::{Clock, ManualClock};
use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{BOXD, OWNER, TestServer, USER_PASSWORD};

/// A user's session that has been used once, so it sits in the cache.
async fn cached_session(
    server: &TestServer,
    owner: &str,
    name: &str,
    role: &str,
) -> (String, String) {
    let (id, token) = server.add_user(owner, name, role).await;
    let (status, _) = server.get("/api/v1/profile", &token).await;
    assert_eq!(status, StatusCode::OK);
    (id, token)
}

#[tokio::test]
async fn a_deleted_token_fails_at_the_next_request() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let token = server.create_token(&owner, json!({"name": "script"})).await;
    assert_eq!(
        server.get("/api/v1/profile", &token).await.0,
        StatusCode::OK
    );
    let (_, tokens) = server.get("/api/v1/tokens", &owner).await;
    let id = tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "script")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, _) = server.delete(&format!("/api/v1/tokens/{id}"), &owner).await;

    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        server.get("/api/v1/profile", &token).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_deactivated_user_is_refused_at_once() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (id, token) = cached_session(&server, &owner, "bob", "user").await;

    let path = format!("/api/v1/users/{id}/active");
    let (status, _) = server.put(&path, &owner, json!({"active": false})).await;

    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        server.get("/api/v1/profile", &token).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_deleted_user_is_refused_at_once() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (id, token) = cached_session(&server, &owner, "bob", "user").await;

    let (status, _) = server.delete(&format!("/api/v1/users/{id}"), &owner).await;

    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        server.get("/api/v1/profile", &token).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_role_change_is_seen_by_the_next_request() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (id, token) = cached_session(&server, &owner, "bob", "admin").await;
    assert_eq!(
        server.get("/api/v1/eventlog", &token).await.0,
        StatusCode::OK
    );

    let path = format!("/api/v1/users/{id}/role");
    let (status, _) = server.put(&path, &owner, json!({"role": "user"})).await;

    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        server.get("/api/v1/eventlog", &token).await.0,
        StatusCode::FORBIDDEN
    );
    let (_, profile) = server.get("/api/v1/profile", &token).await;
    assert_eq!(profile["role"], "user");
}

#[tokio::test]
async fn a_profile_change_is_seen_by_the_next_request() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (id, token) = cached_session(&server, &owner, "bob", "user").await;

    let path = format!("/api/v1/users/{id}/profile");
    let (status, _) = server
        .post(&path, &owner, json!({"displayName": "Bob B."}))
        .await;

    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, profile) = server.get("/api/v1/profile", &token).await;
    assert_eq!(profile["displayName"], "Bob B.");
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions_at_once() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, first) = cached_session(&server, &owner, "bob", "user").await;
    let second = server.login("bob", USER_PASSWORD).await;

    let body = json!({"password": USER_PASSWORD, "newPassword": "another password 2"});
    let (status, _) = server.post("/api/v1/profile/password", &second, body).await;

    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        server.get("/api/v1/profile", &first).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        server.get("/api/v1/profile", &second).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_cached_token_expires_at_its_instant() {
    let clock = Arc::new(ManualClock::default());
    let server = TestServer::start_with(|config| config.clock = clock.clone()).await;
    let owner = server.owner_token().await;
    let expires = clock.now().timestamp_millis() + 60_000;
    let token = server
        .create_token(&owner, json!({"name": "short", "expiresAt": expires}))
        .await;
    assert_eq!(
        server.get("/api/v1/profile", &token).await.0,
        StatusCode::OK
    );

    clock.advance(TimeDelta::seconds(59));
    assert_eq!(
        server.get("/api/v1/profile", &token).await.0,
        StatusCode::OK
    );
    clock.advance(TimeDelta::seconds(1));

    assert_eq!(
        server.get("/api/v1/profile", &token).await.0,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_reset_by_the_operator_cli_ends_sessions_within_two_seconds() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    assert_eq!(
        server.get("/api/v1/profile", &owner).await.0,
        StatusCode::OK
    );
    let password_file = server.data_dir().join("new-password");
    std::fs::write(&password_file, "a new password 3\n").unwrap();

    let status = std::process::Command::new(BOXD)
        .args(["admin", "--data-dir"])
        .arg(server.data_dir())
        .args(["reset-password", OWNER, "--password-file"])
        .arg(&password_file)
        .env_remove("BOXD_DATABASE_URL")
        .status()
        .unwrap();
    assert!(status.success());
    let reset = Instant::now();

    loop {
        let (status, _) = server.get("/api/v1/profile", &owner).await;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            reset.elapsed() < Duration::from_secs(2),
            "the old session still works 2 s after the reset"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_flood_of_random_tokens_is_refused_and_not_cached() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    assert_eq!(
        server.get("/api/v1/profile", &owner).await.0,
        StatusCode::OK
    );
    let url = server.url("/api/v1/profile");

    let refused = futures_util::future::join_all((0..32).map(|worker| {
        let (http, url) = (server.http.clone(), url.clone());
        async move {
            let mut refused = 0;
            for n in 0..100_000 / 32 + 1 {
                let token = format!("flood-{worker}-{n}-{}", rand_suffix(worker, n));
                let response = http.get(&url).bearer_auth(token).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
                refused += 1;
            }
            refused
        }
    }))
    .await;

    assert!(refused.iter().sum::<usize>() >= 100_000);
    assert!(
        server.state.auth_cache.len() <= 1,
        "misses are not cached: only the owner's token may be"
    );
    assert_eq!(
        server.get("/api/v1/profile", &owner).await.0,
        StatusCode::OK
    );
}

fn rand_suffix(worker: usize, n: usize) -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one((worker, n))
}

#[tokio::test]
async fn settings_written_through_the_api_are_seen_by_the_next_request() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    assert_eq!(
        server.get("/api/v1/cloudron/status", "").await.1["cloudronName"],
        "Cloudron"
    );
    let (status, _) = server
        .post(
            "/api/v1/branding/cloudron_name",
            &owner,
            json!({"name": "Home"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        server.get("/api/v1/cloudron/status", "").await.1["cloudronName"],
        "Home"
    );

    let zone = json!({"timeZone": "Asia/Tokyo"});
    assert_eq!(
        server
            .post("/api/v1/cloudron/time_zone", &owner, zone)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        server.get("/api/v1/cloudron/time_zone", &owner).await.1["timeZone"],
        "Asia/Tokyo"
    );

    let proxies = json!({"trustedIps": "127.0.0.1"});
    let (status, _) = server
        .post("/api/v1/reverseproxy/trusted_ips", &owner, proxies)
        .await;
    assert_eq!(status, StatusCode::OK);
    let blocked = json!({"blocklist": "192.0.2.0/24"});
    let (status, _) = server
        .post("/api/v1/network/blocklist", &owner, blocked)
        .await;
    assert_eq!(status, StatusCode::OK);
    let from = |client: &'static str| {
        server
            .http
            .get(server.url("/api/v1/cloudron/status"))
            .header("x-forwarded-for", client)
            .send()
    };
    assert_eq!(
        from("192.0.2.7").await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(from("198.51.100.1").await.unwrap().status(), StatusCode::OK);
}
