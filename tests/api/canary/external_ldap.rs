//! The external directory's bind password and its users' passwords.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;

use super::{Client, OWNER_PASSWORD};
use crate::support::slapd::{CAROL_PASSWORD, SERVICE_PASSWORD, Slapd, staff};
use crate::support::{Served, client};

const WRONG_BIND_PASSWORD: &str = "Canary-Wrong-Bind-5";
const WRONG_USER_PASSWORD: &str = "Canary-Wrong-Carol-6";
const CONFIG: &str = "/api/v1/external_ldap/config";

/// The external directory's bind password, and the directory passwords of its users, never
/// come back from the API nor reach a task log or the server log (at trace level).
#[tokio::test]
async fn no_external_directory_password_is_shown_or_logged() {
    let slapd = Slapd::start(&staff()).await;
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path());
    let token = served.activate("alice", OWNER_PASSWORD).await;
    let mut api = Client {
        http: client(),
        served_base: served.base.clone(),
        seen: String::new(),
    };
    let mut refused = slapd.config();
    refused["bindPassword"] = json!(WRONG_BIND_PASSWORD);
    let (code, _) = api.call(Method::POST, CONFIG, &token, Some(refused)).await;
    assert_eq!(code, StatusCode::BAD_REQUEST);
    let (code, _) = api
        .call(Method::POST, CONFIG, &token, Some(slapd.config()))
        .await;
    assert_eq!(code, StatusCode::OK);
    let (_, started) = api
        .call(Method::POST, "/api/v1/external_ldap/sync", &token, None)
        .await;
    let id = started["taskId"].as_str().unwrap().to_owned();
    let started_at = Instant::now();
    loop {
        let (_, task) = api
            .call(Method::GET, &format!("/api/v1/tasks/{id}"), &token, None)
            .await;
        if task["active"] == false && task["pending"] == false {
            assert_eq!(task["success"], true, "{task}");
            break;
        }
        assert!(started_at.elapsed() < Duration::from_secs(30), "{task}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for password in [CAROL_PASSWORD, WRONG_USER_PASSWORD] {
        let body = json!({"username": "carol", "password": password});
        api.call(Method::POST, "/api/v1/auth/login", "", Some(body))
            .await;
    }

    for path in [
        CONFIG.to_owned(),
        format!("/api/v1/tasks/{id}"),
        format!("/api/v1/tasks/{id}/logs?lines=-1"),
        "/api/v1/tasks".to_owned(),
        "/api/v1/users".to_owned(),
        "/api/v1/groups".to_owned(),
        "/api/v1/eventlog?per_page=1000".to_owned(),
        "/api/v1/notifications".to_owned(),
    ] {
        let (code, _) = api.call(Method::GET, &path, &token, None).await;
        assert_eq!(code, StatusCode::OK, "{path}");
    }
    let task_log =
        std::fs::read_to_string(dir.path().join(format!("logs/tasks/{id}.log"))).unwrap();
    let (_, _, log) = served.terminate();

    assert!(api.seen.contains("carol@example.com") && task_log.contains("Added carol"));
    assert!(log.contains("external LDAP: Synced: 3 added"), "{log}");
    for secret in [
        SERVICE_PASSWORD,
        WRONG_BIND_PASSWORD,
        CAROL_PASSWORD,
        WRONG_USER_PASSWORD,
    ] {
        assert!(!api.seen.contains(secret), "a response contains {secret}");
        assert!(!task_log.contains(secret), "the task log contains {secret}");
        assert!(!log.contains(secret), "the server log contains {secret}");
    }
}
