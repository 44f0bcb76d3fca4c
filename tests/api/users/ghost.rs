//! `POST /api/v1/users/{userId}/ghost`: an admin's temporary password to log in as a user of a
//! lower role; it works once, until it expires, and events name both.

use std::sync::Arc;

use boxd::clock::{Clock, ManualClock};
use chrono::TimeDelta;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{
    OWNER_PASSWORD, TestServer, USER_PASSWORD, enable_two_factor, expect_error, expect_error_exact,
};

const GHOST: &str = "a ghost password";

async fn set_ghost(
    server: &TestServer,
    by: &str,
    user_id: &str,
    body: Value,
) -> (StatusCode, Value) {
    server
        .post(&format!("/api/v1/users/{user_id}/ghost"), by, body)
        .await
}

async fn ghost_login(server: &TestServer, username: &str) -> (StatusCode, Value) {
    let body = json!({"username": username, "password": GHOST});
    server.post("/api/v1/auth/login", "", body).await
}

#[tokio::test]
async fn a_ghost_password_logs_the_admin_in_as_the_user_once() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;

    let set = set_ghost(&server, &owner, &bob, json!({"password": GHOST})).await;

    assert_eq!(set, (StatusCode::NO_CONTENT, Value::Null));
    let (code, session) = ghost_login(&server, "bob").await;
    assert_eq!(code, StatusCode::OK, "{session}");
    let ghost = session["accessToken"].as_str().unwrap();
    let (_, profile) = server.get("/api/v1/profile", ghost).await;
    assert_eq!(profile["username"], "bob");
    let again = ghost_login(&server, "bob").await;
    expect_error_exact(again, StatusCode::UNAUTHORIZED, "Invalid credentials");
    server.login("bob", USER_PASSWORD).await;
}

#[tokio::test]
async fn the_events_of_a_ghost_name_the_admin() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;
    set_ghost(&server, &owner, &bob, json!({"password": GHOST})).await;
    let (_, session) = ghost_login(&server, "bob").await;
    let ghost = session["accessToken"].as_str().unwrap();
    let (code, _) = server
        .post(
            "/api/v1/profile",
            ghost,
            json!({"displayName": "Set by a ghost"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);

    let (_, events) = server
        .get(
            "/api/v1/eventlog?actions=user.update,user.login.ghost",
            &owner,
        )
        .await;

    let events = events["eventlogs"].as_array().unwrap();
    let (_, me) = server.get("/api/v1/profile", &owner).await;
    let both = json!({"userId": bob, "username": "bob", "ip": "127.0.0.1",
                      "impersonator": {"userId": me["id"], "username": "alice"}});
    assert_eq!(events[0]["action"], "user.update");
    assert_eq!(events[0]["data"]["user"]["displayName"], "Set by a ghost");
    assert_eq!(events[0]["source"], both, "a change in the ghost session");
    assert_eq!(events[1]["action"], "user.login.ghost");
    assert_eq!(events[1]["source"], both);
    assert!(events[2]["data"]["ghost"]["expiresAt"].is_i64());
    assert_eq!(events[2]["source"]["username"], "alice", "set by the admin");
    assert!(!serde_json::to_string(&events).unwrap().contains(GHOST));
}

#[tokio::test]
async fn nobody_ghosts_an_equal_or_higher_role_or_themselves() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, admin) = server.add_user(&owner, "ada", "admin").await;
    let (ann, _) = server.add_user(&owner, "ann", "admin").await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;
    let (_, owner_profile) = server.get("/api/v1/profile", &owner).await;
    let owner_id = owner_profile["id"].as_str().unwrap();
    let body = json!({"password": GHOST});

    let peer = set_ghost(&server, &admin, &ann, body.clone()).await;
    let above = set_ghost(&server, &admin, owner_id, body.clone()).await;
    let yourself = set_ghost(&server, &owner, owner_id, body.clone()).await;
    let below = set_ghost(&server, &admin, &bob, body).await;

    expect_error(peer, StatusCode::FORBIDDEN, "higher role");
    expect_error(above, StatusCode::FORBIDDEN, "above yours");
    expect_error(yourself, StatusCode::CONFLICT, "yourself");
    assert_eq!(below.0, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn a_ghost_needs_an_admin_with_a_writable_token() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, user) = server.add_user(&owner, "bob", "user").await;
    let (_, manager) = server.add_user(&owner, "max", "usermanager").await;
    let read_only = server.read_only_token(&owner).await;
    let body = json!({"password": GHOST});

    let anonymous = set_ghost(&server, "", &bob, body.clone()).await;
    let by_user = set_ghost(&server, &user, &bob, body.clone()).await;
    let by_manager = set_ghost(&server, &manager, &bob, body.clone()).await;
    let by_reader = set_ghost(&server, &read_only, &bob, body.clone()).await;
    let unknown = set_ghost(&server, &owner, "uid-nobody", body).await;

    expect_error(anonymous, StatusCode::UNAUTHORIZED, "");
    expect_error_exact(by_user, StatusCode::FORBIDDEN, "This needs the admin role");
    expect_error_exact(
        by_manager,
        StatusCode::FORBIDDEN,
        "This needs the admin role",
    );
    expect_error(by_reader, StatusCode::FORBIDDEN, "scope");
    expect_error_exact(unknown, StatusCode::NOT_FOUND, "No such user");
}

#[tokio::test]
async fn ghost_passwords_and_expiry_times_are_validated() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;
    let now = chrono::Utc::now().timestamp_millis();
    let cases = [
        (
            json!({"password": "short"}),
            "Password must be atleast 8 characters",
        ),
        (json!({}), "password"),
        (
            json!({"password": GHOST, "expiresAt": now - 1000}),
            "expiresAt must be in the future",
        ),
        (
            json!({"password": GHOST, "expiresAt": now + 8 * 24 * 3600 * 1000}),
            "expiresAt must be at most 7 days ahead",
        ),
        (json!({"password": GHOST, "expiresAt": "soon"}), "expiresAt"),
        (json!({"password": GHOST, "expiresAt": true}), "expiresAt"),
    ];

    for (body, message) in cases {
        let answer = set_ghost(&server, &owner, &bob, body).await;
        expect_error(answer, StatusCode::BAD_REQUEST, message);
    }
    let as_text = json!({"password": GHOST, "expiresAt": (now + 3_600_000).to_string()});
    assert_eq!(
        set_ghost(&server, &owner, &bob, as_text).await.0,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_ghost_password_and_its_session_end_at_expiry() {
    let clock = Arc::new(ManualClock::default());
    let server = TestServer::start_with(|config| config.clock = clock.clone()).await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;
    let (carl, _) = server.add_user(&owner, "carl", "user").await;
    let in_an_hour = (clock.now() + TimeDelta::hours(1)).timestamp_millis();
    let body = json!({"password": GHOST, "expiresAt": in_an_hour});
    set_ghost(&server, &owner, &bob, body.clone()).await;
    set_ghost(&server, &owner, &carl, body).await;
    let (_, session) = ghost_login(&server, "bob").await;
    let ghost = session["accessToken"].as_str().unwrap();
    assert_eq!(
        session["expires"], in_an_hour,
        "the session ends with the ghost"
    );

    clock.advance(TimeDelta::minutes(61));

    let (code, _) = server.get("/api/v1/profile", ghost).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let late = ghost_login(&server, "carl").await;
    expect_error_exact(late, StatusCode::UNAUTHORIZED, "Invalid credentials");
}

#[tokio::test]
async fn a_ghost_login_needs_no_totp_code() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, bob_session) = server.add_user(&owner, "bob", "user").await;
    enable_two_factor(&server, &bob_session).await;
    set_ghost(&server, &owner, &bob, json!({"password": GHOST})).await;

    let (code, body) = ghost_login(&server, "bob").await;

    assert_eq!(code, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_ghost_session_ends_when_its_admin_loses_the_role() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (ada, admin) = server.add_user(&owner, "ada", "admin").await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;
    set_ghost(&server, &admin, &bob, json!({"password": GHOST})).await;
    let (_, session) = ghost_login(&server, "bob").await;
    let ghost = session["accessToken"].as_str().unwrap();
    assert_eq!(server.get("/api/v1/profile", ghost).await.0, StatusCode::OK);

    let (code, _) = server
        .put(
            &format!("/api/v1/users/{ada}/role"),
            &owner,
            json!({"role": "user"}),
        )
        .await;

    assert_eq!(code, StatusCode::NO_CONTENT);
    assert_eq!(
        server.get("/api/v1/profile", ghost).await.0,
        StatusCode::UNAUTHORIZED
    );
    server.login("alice", OWNER_PASSWORD).await;
}
