//! `GET /api/v1/users/{userId}/invite_link` and `POST .../send_invite_email`: invites for users
//! who have not set a password yet. Using the link is `auth/setup_account`.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{
    SmtpSink, TestServer, add_invited_user, expect_error, expect_error_exact, link_param,
};

#[tokio::test]
async fn an_invite_link_names_the_user_and_sets_up_the_account_once() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let carol = add_invited_user(&server, &owner, Some("carol")).await;

    let (code, body) = server
        .get(&format!("/api/v1/users/{carol}/invite_link"), &owner)
        .await;

    assert_eq!(code, StatusCode::OK, "{body}");
    let link = body["inviteLink"].as_str().unwrap();
    assert!(
        link.starts_with("https://my.example.com/setupaccount.html?inviteToken="),
        "{link}"
    );
    assert_eq!(link_param(link, "email"), "carol@example.com");
    assert_eq!(link_param(link, "username"), "carol");
    assert_eq!(link_param(link, "displayName"), "Carol C");
    let token = link_param(link, "inviteToken");
    assert!(token.len() >= 22, "at least 128 bits: {token}");
    let setup = json!({"inviteToken": token, "password": "carols password"});
    let (code, session) = server
        .post("/api/v1/auth/setup_account", "", setup.clone())
        .await;
    assert_eq!(code, StatusCode::OK, "{session}");
    let (_, user) = server.get(&format!("/api/v1/users/{carol}"), &owner).await;
    assert_eq!(user["inviteAccepted"], true);
    let again = server.post("/api/v1/auth/setup_account", "", setup).await;
    expect_error_exact(
        again,
        StatusCode::UNAUTHORIZED,
        "This invite link is invalid, used or expired",
    );
}

#[tokio::test]
async fn a_user_with_a_password_has_no_invite() {
    let sink = SmtpSink::start().await;
    let server = TestServer::start_with(|config| config.mail.relay = sink.relay()).await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;

    let link = server
        .get(&format!("/api/v1/users/{bob}/invite_link"), &owner)
        .await;
    let mail = server
        .post(
            &format!("/api/v1/users/{bob}/send_invite_email"),
            &owner,
            json!({"email": "bob@example.com"}),
        )
        .await;

    expect_error(link, StatusCode::CONFLICT, "already set up");
    expect_error(mail, StatusCode::CONFLICT, "already set up");
    assert!(sink.mails().await.is_empty());
}

#[tokio::test]
async fn invites_need_a_user_manager_with_a_writable_token() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let carol = add_invited_user(&server, &owner, None).await;
    let (_, user) = server.add_user(&owner, "bob", "user").await;
    let read_only = server.read_only_token(&owner).await;
    let link = format!("/api/v1/users/{carol}/invite_link");
    let send = format!("/api/v1/users/{carol}/send_invite_email");
    let body = json!({"email": "carol@example.com"});

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
}

#[tokio::test]
async fn a_user_manager_cannot_invite_on_behalf_of_an_admin() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, manager) = server.add_user(&owner, "max", "usermanager").await;
    let (code, created) = server
        .post(
            "/api/v1/users",
            &owner,
            json!({"email": "ada@example.com", "role": "admin"}),
        )
        .await;
    assert_eq!(code, StatusCode::CREATED);
    let ada = created["id"].as_str().unwrap();

    let answer = server
        .get(&format!("/api/v1/users/{ada}/invite_link"), &manager)
        .await;

    expect_error(answer, StatusCode::FORBIDDEN, "above yours");
}

#[tokio::test]
async fn unknown_users_have_no_invite() {
    let sink = SmtpSink::start().await;
    let server = TestServer::start_with(|config| config.mail.relay = sink.relay()).await;
    let owner = server.owner_token().await;

    let link = server
        .get("/api/v1/users/uid-nobody/invite_link", &owner)
        .await;
    let mail = server
        .post(
            "/api/v1/users/uid-nobody/send_invite_email",
            &owner,
            json!({"email": "nobody@example.com"}),
        )
        .await;

    expect_error_exact(link, StatusCode::NOT_FOUND, "No such user");
    expect_error_exact(mail, StatusCode::NOT_FOUND, "No such user");
}

#[tokio::test]
async fn an_invite_is_mailed_with_a_link_that_works() {
    let sink = SmtpSink::start().await;
    let server = TestServer::start_with(|config| config.mail.relay = sink.relay()).await;
    let owner = server.owner_token().await;
    let carol = add_invited_user(&server, &owner, Some("carol")).await;

    let answer = server
        .post(
            &format!("/api/v1/users/{carol}/send_invite_email"),
            &owner,
            json!({"email": "Carol@Elsewhere.example"}),
        )
        .await;

    assert_eq!(answer, (StatusCode::ACCEPTED, json!({})));
    let mail = sink.wait_for(1).await.remove(0);
    assert_eq!(mail.to, ["carol@elsewhere.example"]);
    assert_eq!(mail.from, "no-reply@my.example.com");
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Welcome to Cloudron")
    );
    let token = link_param(&mail.link("setupaccount.html"), "inviteToken");
    let setup = json!({"inviteToken": token, "password": "carols password"});
    let (code, body) = server.post("/api/v1/auth/setup_account", "", setup).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    server.login("carol", "carols password").await;
}

#[tokio::test]
async fn without_a_relay_an_invite_cannot_be_mailed() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let carol = add_invited_user(&server, &owner, None).await;

    let answer = server
        .post(
            &format!("/api/v1/users/{carol}/send_invite_email"),
            &owner,
            json!({"email": "carol@example.com"}),
        )
        .await;

    expect_error(answer, StatusCode::UNPROCESSABLE_ENTITY, "--smtp-url");
}

#[tokio::test]
async fn the_invite_address_is_validated() {
    let sink = SmtpSink::start().await;
    let server = TestServer::start_with(|config| config.mail.relay = sink.relay()).await;
    let owner = server.owner_token().await;
    let carol = add_invited_user(&server, &owner, None).await;
    let path = format!("/api/v1/users/{carol}/send_invite_email");

    let bad = server
        .post(&path, &owner, json!({"email": "not an address"}))
        .await;
    let missing = server.post(&path, &owner, json!({})).await;
    let wrong_type = server.post(&path, &owner, json!({"email": 7})).await;

    expect_error_exact(
        bad,
        StatusCode::BAD_REQUEST,
        "email is not a valid email address",
    );
    expect_error(missing, StatusCode::BAD_REQUEST, "email");
    expect_error(wrong_type, StatusCode::BAD_REQUEST, "email");
    assert!(sink.mails().await.is_empty());
}

#[tokio::test]
async fn deleting_or_deactivating_the_user_ends_the_invite() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let carol = add_invited_user(&server, &owner, Some("carol")).await;
    let (_, body) = server
        .get(&format!("/api/v1/users/{carol}/invite_link"), &owner)
        .await;
    let token = link_param(body["inviteLink"].as_str().unwrap(), "inviteToken");

    let (code, _) = server
        .put(
            &format!("/api/v1/users/{carol}/active"),
            &owner,
            json!({"active": false}),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    server
        .put(
            &format!("/api/v1/users/{carol}/active"),
            &owner,
            json!({"active": true}),
        )
        .await;

    let setup = json!({"inviteToken": token, "password": "carols password"});
    let answer = server.post("/api/v1/auth/setup_account", "", setup).await;
    expect_error(answer, StatusCode::UNAUTHORIZED, "invalid, used or expired");
    let (_, body) = server
        .get(&format!("/api/v1/users/{carol}/invite_link"), &owner)
        .await;
    let token = link_param(body["inviteLink"].as_str().unwrap(), "inviteToken");
    let (code, _) = server
        .delete(&format!("/api/v1/users/{carol}"), &owner)
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let setup = json!({"inviteToken": token, "password": "carols password"});
    let answer = server.post("/api/v1/auth/setup_account", "", setup).await;
    expect_error(answer, StatusCode::UNAUTHORIZED, "invalid, used or expired");
}
