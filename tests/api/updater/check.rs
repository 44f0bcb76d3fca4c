//! `POST /api/v1/updater/check_for_updates` and `GET /api/v1/updater/updates`.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{TestServer, UpdateSetup, expect_error, tarball};

#[tokio::test]
async fn a_check_lists_a_newer_release_and_raises_the_alert() {
    let s = UpdateSetup::start(|_| {}).await;
    s.publish("0.2.0", tarball(100));

    let (code, body) = s.check().await;

    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["updates"]["box"]["version"], "0.2.0");
    assert_eq!(
        body["updates"]["box"]["changelog"],
        json!(["Faster", "Safer"])
    );
    let (_, cached) = s.server.get("/api/v1/updater/updates", &s.owner).await;
    assert_eq!(cached, body, "cached");
    let (_, notes) = s.server.get("/api/v1/notifications", &s.owner).await;
    assert_eq!(
        notes["notifications"][0]["title"],
        "boxd v0.2.0 is available"
    );
    assert_eq!(notes["notifications"][0]["acknowledged"], false);
}

#[tokio::test]
async fn a_check_finding_nothing_newer_empties_the_list_and_clears_the_alert() {
    let s = UpdateSetup::start(|_| {}).await;
    s.publish("0.2.0", tarball(100));
    s.check().await;

    for version in [env!("CARGO_PKG_VERSION"), "0.0.9"] {
        s.publish(version, tarball(100));
        let answer = s.check().await;
        assert_eq!(
            answer,
            (StatusCode::OK, json!({"updates": {}})),
            "{version}"
        );
    }

    let (_, cached) = s.server.get("/api/v1/updater/updates", &s.owner).await;
    assert_eq!(cached, json!({"updates": {}}));
    let (_, notes) = s.server.get("/api/v1/notifications", &s.owner).await;
    assert_eq!(notes["notifications"].as_array().unwrap().len(), 1);
    assert_eq!(
        notes["notifications"][0]["acknowledged"], true,
        "the alert is cleared"
    );
}

/// Checks a feed offering an unstable release; answers the check's body.
async fn check_an_unstable_release(allowed: bool) -> Value {
    let s = UpdateSetup::start(|config| config.update.allow_unstable = allowed).await;
    s.publish("0.3.0-beta.1", tarball(10));
    s.releases.feed.lock().unwrap()["unstable"] = json!(true);

    let (code, body) = s.check().await;

    assert_eq!(code, StatusCode::OK);
    body
}

#[tokio::test]
async fn unstable_releases_are_not_offered_by_default() {
    let body = check_an_unstable_release(false).await;

    assert!(!body["updates"]["box"].is_object(), "{body}");
}

#[tokio::test]
async fn unstable_releases_are_offered_when_allowed() {
    let body = check_an_unstable_release(true).await;

    assert!(body["updates"]["box"].is_object(), "{body}");
}

#[tokio::test]
async fn a_bad_feed_is_a_clear_error_and_caches_nothing() {
    let s = UpdateSetup::start(|_| {}).await;
    s.publish("0.2.0", tarball(10));
    let port = s.base.rsplit(':').next().unwrap().parse::<u64>().unwrap();
    s.releases.feed.lock().unwrap()["port"] = json!(port);

    for (path, expected) in [
        ("/garbage", "it is not a release description"),
        ("/huge", "the answer is larger than 1048576 bytes"),
        (
            "/elsewhere",
            "it redirected where boxd does not follow: a redirect to another host",
        ),
        ("/missing", "it answered HTTP 404 Not Found"),
    ] {
        let url = format!("{}{path}", s.base);
        let server = TestServer::start_with(|config| config.update.feed_url = Some(url)).await;
        let owner = server.owner_token().await;
        let answer = server
            .post("/api/v1/updater/check_for_updates", &owner, json!({}))
            .await;
        expect_error(answer, StatusCode::FAILED_DEPENDENCY, expected);
        let (_, cached) = server.get("/api/v1/updater/updates", &owner).await;
        assert_eq!(cached, json!({"updates": {}}), "{path}: nothing cached");
    }
}

#[tokio::test]
async fn a_release_on_a_private_host_the_feed_is_not_on_is_refused() {
    let s = UpdateSetup::start(|_| {}).await;
    *s.releases.feed.lock().unwrap() = json!({"version": "0.2.0", "sourceTarballUrl": "http://10.0.0.1/boxd.tar.gz", "sourceTarballSigUrl": format!("{}/release.tar.gz.minisig", s.base)});

    let answer = s.check().await;

    expect_error(
        answer,
        StatusCode::FAILED_DEPENDENCY,
        "neither on its own host",
    );
}

#[tokio::test]
async fn an_unreachable_feed_is_a_failed_dependency() {
    let server = TestServer::start_with(|config| {
        config.update.feed_url = Some("http://127.0.0.1:9/feed.json".into())
    })
    .await;
    let owner = server.owner_token().await;

    let (code, _) = server
        .post("/api/v1/updater/check_for_updates", &owner, json!({}))
        .await;

    assert_eq!(code, StatusCode::FAILED_DEPENDENCY);
}

#[tokio::test]
async fn a_failed_check_keeps_the_last_good_result() {
    let s = UpdateSetup::start(|_| {}).await;
    s.publish("0.2.0", tarball(10));
    s.check().await;
    *s.releases.feed.lock().unwrap() =
        json!({"version": "one point two", "sourceTarballUrl": "x", "sourceTarballSigUrl": "y"});

    let answer = s.check().await;

    expect_error(answer, StatusCode::FAILED_DEPENDENCY, "not SemVer");
    let (_, cached) = s.server.get("/api/v1/updater/updates", &s.owner).await;
    assert_eq!(cached["updates"]["box"]["version"], "0.2.0");
}

#[tokio::test]
async fn without_a_feed_checking_is_refused() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let answer = server
        .post("/api/v1/updater/check_for_updates", &owner, json!({}))
        .await;

    expect_error(
        answer,
        StatusCode::UNPROCESSABLE_ENTITY,
        "--update-feed-url",
    );
}

#[tokio::test]
async fn the_updater_is_for_admins_and_a_check_needs_a_writable_token() {
    let s = UpdateSetup::start(|_| {}).await;
    let (_, user) = s.server.add_user(&s.owner, "bob", "user").await;
    let read_only = s.server.read_only_token(&s.owner).await;

    for path in [
        "/api/v1/updater/autoupdate_pattern",
        "/api/v1/updater/updates",
    ] {
        let (code, _) = s.server.get(path, &user).await;
        assert_eq!(code, StatusCode::FORBIDDEN);
    }
    let (code, _) = s
        .server
        .post("/api/v1/updater/check_for_updates", &read_only, json!({}))
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN, "a check is a POST");
}
