//! `GET /api/v1/users/{userId}/password_reset_link` and `POST .../send_password_reset_email`:
//! a manager's reset link for a user of a lower role. Using the link is `auth/password_reset`.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{
    SmtpSink, TestServer, add_invited_user, expect_error, expect_error_exact, link_param,
};

async fn reset_link(server: &TestServer, by: &str, user_id: &str) -> String {
    let (code, body) = server
        .get(&format!("/api/v1/users/{user_id}/password_reset_link"), by)
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body["passwordResetLink"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_reset_link_sets_a_password_once_and_ends_the_users_sessions() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, session) = server.add_user(&owner, "bob", "user").await;

    let link = reset_link(&server, &owner, &bob).await;

    assert!(
        link.starts_with("https://my.example.com/passwordreset.html?resetToken="),
        "{link}"
    );
    let reset =
        json!({"resetToken": link_param(&link, "resetToken"), "password": "bobs new password"});
    let (code, body) = server
        .post("/api/v1/auth/password_reset", "", reset.clone())
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let (code, _) = server.get("/api/v1/profile", &session).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "the old session ended");
    let (code, _) = server
        .get("/api/v1/profile", body["accessToken"].as_str().unwrap())
        .await;
    assert_eq!(code, StatusCode::OK, "the new one works");
    server.login("bob", "bobs new password").await;
    let again = server.post("/api/v1/auth/password_reset", "", reset).await;
    expect_error_exact(
        again,
        StatusCode::UNAUTHORIZED,
        "This password reset link is invalid, used or expired",
    );
}

#[tokio::test]
async fn reset_links_are_only_for_lower_roles() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (admin, admin_token) = server.add_user(&owner, "ada", "admin").await;
    let (other, _) = server.add_user(&owner, "ann", "admin").await;
    let (_, me) = server.get("/api/v1/profile", &owner).await;
    let me = me["id"].as_str().unwrap();

    let peer = server
        .get(
            &format!("/api/v1/users/{other}/password_reset_link"),
            &admin_token,
        )
        .await;
    let yourself = server
        .get(&format!("/api/v1/users/{me}/password_reset_link"), &owner)
        .await;

    expect_error(peer, StatusCode::FORBIDDEN, "higher role");
    expect_error(yourself, StatusCode::CONFLICT, "/api/v1/profile/password");
    reset_link(&server, &owner, &admin).await;
}

#[tokio::test]
async fn reset_links_need_a_user_manager_with_a_writable_token() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, user) = server.add_user(&owner, "bob", "user").await;
    let read_only = server.read_only_token(&owner).await;
    let link = format!("/api/v1/users/{bob}/password_reset_link");
    let send = format!("/api/v1/users/{bob}/send_password_reset_email");
    let body = json!({"email": "bob@example.com"});

    for (method, path) in [(Method::GET, &link), (Method::POST, &send)] {
        let body = (method == Method::POST).then(|| body.clone());
        let anonymous = server.request(method.clone(), path, "", body.clone()).await;
        let by_user = server
            .request(method.clone(), path, &user, body.clone())
            .await;
        let by_reader = server.request(method.clone(), path, &read_only, body).await;
        expect_error(anonymous, StatusCode::UNAUTHORIZED, "");
        expect_error_exact(
            by_user,
            StatusCode::FORBIDDEN,
            "This needs the usermanager role",
        );
        expect_error(by_reader, StatusCode::FORBIDDEN, "scope");
    }
    let unknown = server
        .get("/api/v1/users/uid-nobody/password_reset_link", &owner)
        .await;
    expect_error_exact(unknown, StatusCode::NOT_FOUND, "No such user");
}

#[tokio::test]
async fn unknown_users_get_no_reset_mail() {
    let sink = SmtpSink::start().await;
    let server = TestServer::start_with(|config| config.mail.relay = sink.relay()).await;
    let owner = server.owner_token().await;

    let answer = server
        .post(
            "/api/v1/users/uid-nobody/send_password_reset_email",
            &owner,
            json!({"email": "nobody@example.com"}),
        )
        .await;

    expect_error_exact(answer, StatusCode::NOT_FOUND, "No such user");
    assert!(sink.mails().await.is_empty());
}

#[tokio::test]
async fn an_invited_user_gets_an_invite_not_a_reset() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let carol = add_invited_user(&server, &owner, None).await;

    let answer = server
        .get(
            &format!("/api/v1/users/{carol}/password_reset_link"),
            &owner,
        )
        .await;

    expect_error(answer, StatusCode::CONFLICT, "send an invite");
}

#[tokio::test]
async fn a_reset_link_is_mailed_to_the_address_given() {
    let sink = SmtpSink::start().await;
    let server = TestServer::start_with(|config| config.mail.relay = sink.relay()).await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;

    let answer = server
        .post(
            &format!("/api/v1/users/{bob}/send_password_reset_email"),
            &owner,
            json!({"email": "bob@home.example"}),
        )
        .await;

    assert_eq!(answer, (StatusCode::ACCEPTED, json!({})));
    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.to, ["bob@home.example"]);
    let token = link_param(&mail.link("passwordreset.html"), "resetToken");
    let reset = json!({"resetToken": token, "password": "bobs new password"});
    let (code, body) = server.post("/api/v1/auth/password_reset", "", reset).await;
    assert_eq!(code, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_reset_mail_needs_a_relay_and_an_address() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;
    let path = format!("/api/v1/users/{bob}/send_password_reset_email");

    let no_relay = server
        .post(&path, &owner, json!({"email": "bob@example.com"}))
        .await;
    let bad = server.post(&path, &owner, json!({"email": "bob"})).await;

    expect_error(no_relay, StatusCode::UNPROCESSABLE_ENTITY, "BOXD_SMTP_URL");
    expect_error_exact(
        bad,
        StatusCode::BAD_REQUEST,
        "email is not a valid email address",
    );
}

#[tokio::test]
async fn getting_a_reset_link_is_recorded_with_the_manager_as_source() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;
    let link = reset_link(&server, &owner, &bob).await;

    let (_, events) = server
        .get("/api/v1/eventlog?actions=user.update", &owner)
        .await;

    let event = &events["eventlogs"][0];
    assert_eq!(event["data"]["passwordReset"], "link");
    assert_eq!(event["data"]["userId"], bob);
    assert_eq!(event["source"]["username"], "alice");
    assert!(
        !events
            .to_string()
            .contains(&link_param(&link, "resetToken"))
    );
}
