//! `boxd admin ...` on a data dir, and `boxd healthcheck`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use reqwest::StatusCode;
use serde_json::json;

use crate::support::{BOXD, Served, client};

fn admin(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(BOXD)
        .arg("admin")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .output()
        .unwrap()
}

/// Creates the owner root2 with the password "first password"; answers the password file.
fn create_owner(data_dir: &Path) -> PathBuf {
    let password_file = data_dir.join("password");
    std::fs::write(&password_file, "first password\n").unwrap();
    let created = admin(
        data_dir,
        &[
            "create-owner",
            "--username",
            "root2",
            "--email",
            "r@example.com",
            "--password-file",
            password_file.to_str().unwrap(),
        ],
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    password_file
}

#[test]
fn create_owner_makes_the_one_owner_and_list_users_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let password_file = create_owner(dir.path());

    let again = admin(
        dir.path(),
        &[
            "create-owner",
            "--username",
            "other",
            "--email",
            "o@example.com",
            "--password-file",
            password_file.to_str().unwrap(),
        ],
    );

    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("an owner already exists"));
    let listed = String::from_utf8(admin(dir.path(), &["list-users"]).stdout).unwrap();
    assert!(
        listed.contains("root2") && listed.contains("owner"),
        "{listed}"
    );
}

#[tokio::test]
async fn create_token_readonly_makes_a_read_only_token() {
    let dir = tempfile::tempdir().unwrap();
    create_owner(dir.path());

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
    assert_eq!(write.status(), StatusCode::FORBIDDEN);
    let (exit, _, _) = served.terminate();
    assert!(exit.success());
}

#[tokio::test]
async fn reset_password_works_while_the_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let password_file = create_owner(dir.path());
    let served = Served::start(dir.path());
    std::fs::write(&password_file, "second password\n").unwrap();

    let reset = admin(
        dir.path(),
        &[
            "reset-password",
            "root2",
            "--password-file",
            password_file.to_str().unwrap(),
        ],
    );

    assert!(reset.status.success());
    let http = client();
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
    let (exit, _, _) = served.terminate();
    assert!(exit.success());
}

#[test]
fn healthcheck_tells_a_running_server_from_a_stopped_one() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(dir.path());
    let status_url = served.url("/api/v1/cloudron/status");

    let health = Command::new(BOXD)
        .args(["healthcheck", "--url", &status_url])
        .status()
        .unwrap();
    let (exit, _, _) = served.terminate();
    let dead = Command::new(BOXD)
        .args(["healthcheck", "--url", &status_url])
        .output()
        .unwrap();

    assert!(health.success());
    assert!(exit.success());
    assert!(!dead.status.success());
}
