//! Mail relays, account links and ghost passwords.

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{Client, OWNER_PASSWORD};
use crate::support::{Served, SmtpSink, client, link_param};

/// The secrets of mail and account links: the relay's password, link tokens, passwords set with
/// links, a ghost password. Used for real, then every read is searched, and both logs.
#[tokio::test]
async fn no_link_ghost_or_relay_secret_is_shown_again_or_logged() {
    const RELAY_PASSWORD: &str = "Canary-Relay-Password-7";
    const CAROL_PASSWORD: &str = "Canary-Carol-Password-8";
    const CAROL_RESET: &str = "Canary-Carol-Reset-9";
    const GHOST: &str = "Canary-Ghost-Password-10";
    let sink = SmtpSink::start().await;
    let dir = tempfile::tempdir().unwrap();
    let relay = format!(
        "smtp://canary:{RELAY_PASSWORD}@127.0.0.1:{}?tls=none",
        sink.port
    );
    let served = Served::start_with_args(dir.path(), &["--smtp-url", &relay]);
    let token = served.activate("alice", OWNER_PASSWORD).await;
    let mut api = Client {
        http: client(),
        served_base: served.base.clone(),
        seen: String::new(),
    };
    let body = json!({"email": "carol@example.com", "username": "carol"});
    let (_, carol) = api
        .call(Method::POST, "/api/v1/users", &token, Some(body))
        .await;
    let carol = carol["id"].as_str().unwrap().to_owned();
    let invite = json!({"email": "carol@example.com"});
    let path = format!("/api/v1/users/{carol}/send_invite_email");
    assert_eq!(
        api.call(Method::POST, &path, &token, Some(invite)).await.0,
        StatusCode::ACCEPTED
    );
    let invite_token = link_param(
        &sink.wait_for(1).await[0].link("setupaccount.html"),
        "inviteToken",
    );
    let setup = json!({"inviteToken": invite_token, "password": CAROL_PASSWORD});
    let (code, _) = api
        .call(Method::POST, "/api/v1/auth/setup_account", "", Some(setup))
        .await;
    assert_eq!(code, StatusCode::OK);
    let path = format!("/api/v1/users/{carol}/password_reset_link");
    let (_, link) = api.call(Method::GET, &path, &token, None).await;
    let reset_token = link_param(link["passwordResetLink"].as_str().unwrap(), "resetToken");
    let reset = json!({"resetToken": reset_token, "password": CAROL_RESET});
    let (code, _) = api
        .call(Method::POST, "/api/v1/auth/password_reset", "", Some(reset))
        .await;
    assert_eq!(code, StatusCode::OK);
    let request = json!({"identifier": "carol"});
    api.call(
        Method::POST,
        "/api/v1/auth/password_reset_request",
        "",
        Some(request),
    )
    .await;
    let requested = link_param(
        &sink.wait_for(2).await[1].link("passwordreset.html"),
        "resetToken",
    );
    let path = format!("/api/v1/users/{carol}/ghost");
    let ghost = json!({"password": GHOST});
    assert_eq!(
        api.call(Method::POST, &path, &token, Some(ghost)).await.0,
        StatusCode::NO_CONTENT
    );
    let login = json!({"username": "carol", "password": GHOST});
    let (code, _) = api
        .call(Method::POST, "/api/v1/auth/login", "", Some(login))
        .await;
    assert_eq!(code, StatusCode::OK);
    api.seen.clear();

    for path in [
        "/api/v1/users".to_owned(),
        format!("/api/v1/users/{carol}"),
        "/api/v1/eventlog?per_page=1000".to_owned(),
        "/api/v1/notifications".to_owned(),
        "/api/v1/tokens".to_owned(),
        "/api/v1/system/logs/box?lines=-1".to_owned(),
    ] {
        let (code, _) = api.call(Method::GET, &path, &token, None).await;
        assert_eq!(code, StatusCode::OK, "{path}");
    }
    let (exit, _, log) = served.terminate();
    let file = std::fs::read_to_string(dir.path().join("logs/box.log")).unwrap();

    assert!(exit.success());
    assert_eq!(sink.logins().await[0], format!("canary:{RELAY_PASSWORD}"));
    assert!(
        api.seen.contains("user.login.ghost"),
        "the reads did return data"
    );
    for secret in [
        RELAY_PASSWORD,
        CAROL_PASSWORD,
        CAROL_RESET,
        GHOST,
        &invite_token,
        &reset_token,
        &requested,
    ] {
        assert!(
            !api.seen.contains(secret),
            "a GET response contains a secret"
        );
        assert!(!log.contains(secret), "the log contains a secret");
        assert!(!file.contains(secret), "box.log contains a secret");
    }
}
