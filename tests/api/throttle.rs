//! Cross-cutting: brute-force protection on `POST /api/v1/auth/login` (per address, per
//! account, TOTP codes, timing).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use boxd::clock::ManualClock;
use chrono::TimeDelta;
use reqwest::header::RETRY_AFTER;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{
    OWNER_PASSWORD, TestServer, enable_two_factor, expect_error, expect_error_exact, totp_code,
};

async fn start() -> (TestServer, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::default());
    let server = TestServer::start_with(|config| config.clock = clock.clone()).await;
    (server, clock)
}

/// A login attempt from `from` (a loopback address): (status, Retry-After).
async fn login_from(
    server: &TestServer,
    from: [u8; 4],
    username: &str,
    password: &str,
) -> (StatusCode, Option<u64>) {
    let client = reqwest::Client::builder()
        .local_address(IpAddr::from(from))
        .build()
        .unwrap();
    let body = json!({"username": username, "password": password});
    let response = client
        .post(server.url("/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .map(|v| v.to_str().unwrap().parse().unwrap());
    (response.status(), retry_after)
}

#[tokio::test]
async fn the_eleventh_bad_login_from_an_ip_is_429_until_the_window_passes() {
    let (server, clock) = start().await;
    server.owner_token().await;
    let ip = [127, 0, 0, 1];

    for n in 0..10 {
        let user = if n % 2 == 0 { "alice" } else { "nobody" };
        assert_eq!(
            login_from(&server, ip, user, "wrong password").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (code, retry_after) = login_from(&server, ip, "alice", OWNER_PASSWORD).await;

    assert_eq!(
        code,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    let retry_after = retry_after.expect("a Retry-After header");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let (code, _) = login_from(&server, [127, 0, 0, 2], "alice", OWNER_PASSWORD).await;
    assert_eq!(code, StatusCode::OK, "another address is not throttled");

    clock.advance(TimeDelta::seconds(61));
    let (code, _) = login_from(&server, ip, "alice", OWNER_PASSWORD).await;
    assert_eq!(
        code,
        StatusCode::OK,
        "after the window a correct login works"
    );
}

#[tokio::test]
async fn clients_behind_a_loopback_proxy_are_counted_apart() {
    let (server, _) = start().await;
    server.owner_token().await;
    let login = |xff: &'static str, username: &'static str, password: &'static str| {
        let body = json!({"username": username, "password": password});
        server.via_proxy(Method::POST, "/api/v1/auth/login", "", xff, Some(body))
    };

    for _ in 0..11 {
        login("203.0.113.1", "nobody", "wrong password").await;
    }
    let (throttled, _) = login("203.0.113.1", "alice", OWNER_PASSWORD).await;
    let (other_client, _) = login("203.0.113.2", "alice", OWNER_PASSWORD).await;

    assert_eq!(throttled, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        other_client,
        StatusCode::OK,
        "another client behind the same proxy is not throttled"
    );
}

#[tokio::test]
async fn an_account_is_locked_after_ten_failures_from_any_addresses() {
    let (server, clock) = start().await;
    server.owner_token().await;

    for n in 10..20 {
        assert_eq!(
            login_from(&server, [127, 0, 0, n], "alice", "wrong password")
                .await
                .0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (code, retry_after) = login_from(&server, [127, 0, 0, 30], "alice", OWNER_PASSWORD).await;
    assert_eq!(
        (code, retry_after),
        (StatusCode::TOO_MANY_REQUESTS, Some(30))
    );

    clock.advance(TimeDelta::seconds(31));
    assert_eq!(
        login_from(&server, [127, 0, 0, 31], "alice", "wrong password")
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let (code, retry_after) = login_from(&server, [127, 0, 0, 32], "alice", OWNER_PASSWORD).await;
    assert_eq!(
        (code, retry_after),
        (StatusCode::TOO_MANY_REQUESTS, Some(60)),
        "the window grows"
    );

    clock.advance(TimeDelta::seconds(61));
    assert_eq!(
        login_from(&server, [127, 0, 0, 33], "alice", OWNER_PASSWORD)
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        login_from(&server, [127, 0, 0, 34], "alice", "wrong password")
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        login_from(&server, [127, 0, 0, 35], "alice", OWNER_PASSWORD)
            .await
            .0,
        StatusCode::OK,
        "a success reset the count"
    );
}

#[tokio::test]
async fn wrong_totp_codes_count_as_failures() {
    let (server, _clock) = start().await;
    let owner = server.owner_token().await;
    enable_two_factor(&server, &owner).await;

    for _ in 0..5 {
        let body = json!({"username": "alice", "password": OWNER_PASSWORD, "totpToken": "000000"});
        let (code, _) = server.post("/api/v1/auth/login", "", body).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED);
    }
    let body = json!({"username": "alice", "password": OWNER_PASSWORD, "totpToken": "000000"});
    let answer = server.post("/api/v1/auth/login", "", body).await;
    let message = expect_error(
        answer,
        StatusCode::TOO_MANY_REQUESTS,
        "Too many failed attempts",
    );
    assert!(message.starts_with("Too many failed attempts"), "{message}");
}

#[tokio::test]
async fn unknown_users_take_as_long_as_known_ones() {
    let server = TestServer::start().await;
    server.owner_token().await;
    let mut known = Duration::MAX;
    let mut unknown = Duration::MAX;
    for n in 0..4u8 {
        let started = Instant::now();
        login_from(&server, [127, 0, 1, n], "alice", "wrong password").await;
        known = known.min(started.elapsed());
        let started = Instant::now();
        login_from(&server, [127, 0, 2, n], "nobody-here", "wrong password").await;
        unknown = unknown.min(started.elapsed());
    }
    assert!(
        unknown * 3 > known,
        "unknown {unknown:?} vs known {known:?}: a timing oracle"
    );
}

#[tokio::test]
async fn parallel_guesses_cannot_outrun_the_limit() {
    let (server, _clock) = start().await;
    server.owner_token().await;

    let guesses = (0..30).map(|_| login_from(&server, [127, 0, 0, 1], "alice", "wrong password"));
    let results = futures_util::future::join_all(guesses).await;

    let checked = results
        .iter()
        .filter(|(code, _)| *code == StatusCode::UNAUTHORIZED)
        .count();
    let refused = results
        .iter()
        .filter(|(code, _)| *code == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(
        (checked, refused),
        (10, 20),
        "attempts count when they begin, not when they fail"
    );
}

#[tokio::test]
async fn an_overlong_username_is_refused_before_anything_else() {
    let server = TestServer::start().await;
    let body = json!({"username": "a".repeat(300), "password": "x"});
    let answer = server.post("/api/v1/auth/login", "", body).await;
    expect_error_exact(answer, StatusCode::BAD_REQUEST, "username is too long");
}

/// A login with the right password and `code`, from `from`: the status.
async fn code_from(server: &TestServer, from: [u8; 4], code: &str) -> StatusCode {
    let client = reqwest::Client::builder()
        .local_address(IpAddr::from(from))
        .build()
        .unwrap();
    let body = json!({"username": "alice", "password": OWNER_PASSWORD, "totpToken": code});
    let response = client
        .post(server.url("/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap();
    response.status()
}

#[tokio::test]
async fn sixty_wrong_codes_from_sixty_addresses_get_at_most_five_checks() {
    let (server, clock) = start().await;
    let owner = server.owner_token().await;
    let two_factor = enable_two_factor(&server, &owner).await;
    let right = |at| totp_code(&two_factor.secret, at);
    let wrong = if right(chrono::Utc::now()) == "000000" {
        "111111"
    } else {
        "000000"
    };

    let mut checked = 0;
    for n in 0..60u8 {
        match code_from(&server, [127, 0, 1, n + 1], wrong).await {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("attempt {n}: {other}"),
        }
    }

    assert!(checked <= 5, "{checked} wrong codes were checked");
    clock.advance(TimeDelta::minutes(5));
    // Codes follow real time; the enable code's step is spent, the next one is not.
    let code = right(chrono::Utc::now() + TimeDelta::seconds(30));
    assert_eq!(
        code_from(&server, [127, 0, 2, 1], &code).await,
        StatusCode::OK
    );
}
