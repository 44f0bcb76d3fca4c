//! Who may act on whom across `/api/v1/users/...`: the usermanager gate, nobody above their own
//! rank, nobody on themselves, credentials only from a higher role.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestServer, expect_error_exact, user_body};

/// Every route under `/api/v1/users`, acting on `bob`, with a body where it takes one.
fn user_routes(bob: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (Method::GET, "/api/v1/users".to_owned(), None),
        (
            Method::POST,
            "/api/v1/users".to_owned(),
            Some(json!({"email": "x@example.com"})),
        ),
        (Method::GET, format!("/api/v1/users/{bob}"), None),
        (Method::DELETE, format!("/api/v1/users/{bob}"), None),
        (
            Method::POST,
            format!("/api/v1/users/{bob}/profile"),
            Some(json!({"displayName": "x"})),
        ),
        (
            Method::PUT,
            format!("/api/v1/users/{bob}/role"),
            Some(json!({"role": "admin"})),
        ),
        (
            Method::PUT,
            format!("/api/v1/users/{bob}/active"),
            Some(json!({"active": false})),
        ),
        (
            Method::POST,
            format!("/api/v1/users/{bob}/password"),
            Some(json!({"password": "new password"})),
        ),
        (
            Method::POST,
            format!("/api/v1/users/{bob}/twofactorauthentication_disable"),
            Some(json!({})),
        ),
    ]
}

#[tokio::test]
async fn the_users_routes_need_a_user_manager_and_a_writable_token() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, user) = server.add_user(&owner, "bob", "user").await;
    let read_only = server.read_only_token(&owner).await;

    for (method, path, body) in user_routes(&bob) {
        let (code, _) = server
            .request(method.clone(), &path, "", body.clone())
            .await;
        assert_eq!(code, StatusCode::UNAUTHORIZED, "{method} {path}");
        let answer = server
            .request(method.clone(), &path, &user, body.clone())
            .await;
        expect_error_exact(
            answer,
            StatusCode::FORBIDDEN,
            "This needs the usermanager role",
        );
        if method != Method::GET {
            let (code, _) = server
                .request(method.clone(), &path, &read_only, body)
                .await;
            assert_eq!(code, StatusCode::FORBIDDEN, "read-only {method} {path}");
        }
    }
    let (code, _) = server.get("/api/v1/users", &read_only).await;
    assert_eq!(code, StatusCode::OK);
}

/// An owner, an admin (dave), a user manager (carol) and a user (bob): their tokens and ids.
struct Ranks {
    owner: String,
    owner_id: String,
    admin: String,
    admin_id: String,
    manager: String,
    manager_id: String,
    user_id: String,
}

async fn ranks(server: &TestServer) -> Ranks {
    let owner = server.owner_token().await;
    let (_, owner_profile) = server.get("/api/v1/profile", &owner).await;
    let owner_id = owner_profile["id"].as_str().unwrap().to_owned();
    let (admin_id, admin) = server.add_user(&owner, "dave", "admin").await;
    let (manager_id, manager) = server.add_user(&owner, "carol", "usermanager").await;
    let (user_id, _) = server.add_user(&owner, "bob", "user").await;
    Ranks {
        owner,
        owner_id,
        admin,
        admin_id,
        manager,
        manager_id,
        user_id,
    }
}

#[tokio::test]
async fn a_user_manager_creates_users_but_not_admins() {
    let server = TestServer::start().await;
    let r = ranks(&server).await;

    let admin = server
        .post("/api/v1/users", &r.manager, user_body("eve", "admin"))
        .await;
    let (user, _) = server
        .post("/api/v1/users", &r.manager, user_body("eve", "user"))
        .await;

    expect_error_exact(
        admin,
        StatusCode::FORBIDDEN,
        "You cannot give a role above your own",
    );
    assert_eq!(user, StatusCode::CREATED);
}

#[tokio::test]
async fn an_admin_cannot_delete_demote_deactivate_or_reset_the_owner() {
    let server = TestServer::start().await;
    let r = ranks(&server).await;
    let owner_id = &r.owner_id;

    let answer = server
        .delete(&format!("/api/v1/users/{owner_id}"), &r.admin)
        .await;
    expect_error_exact(
        answer,
        StatusCode::FORBIDDEN,
        "You cannot change a user whose role is above yours",
    );
    for (path, body) in [
        (
            format!("/api/v1/users/{owner_id}/role"),
            json!({"role": "user"}),
        ),
        (
            format!("/api/v1/users/{owner_id}/active"),
            json!({"active": false}),
        ),
    ] {
        let (code, _) = server.put(&path, &r.admin, body).await;
        assert_eq!(code, StatusCode::FORBIDDEN, "{path}");
    }
    let (code, _) = server
        .post(
            &format!("/api/v1/users/{owner_id}/password"),
            &r.admin,
            json!({"password": "taken over"}),
        )
        .await;
    assert_eq!(
        code,
        StatusCode::FORBIDDEN,
        "only the owner touches the owner"
    );
}

#[tokio::test]
async fn a_user_manager_cannot_touch_an_admin_or_promote_a_user() {
    let server = TestServer::start().await;
    let r = ranks(&server).await;

    for (path, body) in [
        (
            format!("/api/v1/users/{}/role", r.admin_id),
            json!({"role": "user"}),
        ),
        (
            format!("/api/v1/users/{}/role", r.user_id),
            json!({"role": "admin"}),
        ),
    ] {
        let (code, _) = server.put(&path, &r.manager, body).await;
        assert_eq!(code, StatusCode::FORBIDDEN, "{path}");
    }
    let (code, _) = server
        .delete(&format!("/api/v1/users/{}", r.admin_id), &r.manager)
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn nobody_deletes_demotes_or_deactivates_themselves() {
    let server = TestServer::start().await;
    let r = ranks(&server).await;

    for (token, id) in [
        (&r.owner, &r.owner_id),
        (&r.admin, &r.admin_id),
        (&r.manager, &r.manager_id),
    ] {
        let answer = server.delete(&format!("/api/v1/users/{id}"), token).await;
        expect_error_exact(
            answer,
            StatusCode::CONFLICT,
            "Not allowed to remove yourself.",
        );
        let (code, _) = server
            .put(
                &format!("/api/v1/users/{id}/role"),
                token,
                json!({"role": "user"}),
            )
            .await;
        assert_eq!(code, StatusCode::CONFLICT);
        let (code, _) = server
            .put(
                &format!("/api/v1/users/{id}/active"),
                token,
                json!({"active": false}),
            )
            .await;
        assert_eq!(code, StatusCode::CONFLICT);
    }
}

#[tokio::test]
async fn an_admin_removes_a_user_manager() {
    let server = TestServer::start().await;
    let r = ranks(&server).await;

    let (code, _) = server
        .delete(&format!("/api/v1/users/{}", r.manager_id), &r.admin)
        .await;

    assert_eq!(code, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn user_managers_give_only_the_user_role() {
    let server = TestServer::start().await;
    let r = ranks(&server).await;

    let create = server
        .post(
            "/api/v1/users",
            &r.manager,
            user_body("frank", "usermanager"),
        )
        .await;
    let (change, _) = server
        .put(
            &format!("/api/v1/users/{}/role", r.user_id),
            &r.manager,
            json!({"role": "mailmanager"}),
        )
        .await;

    expect_error_exact(
        create,
        StatusCode::FORBIDDEN,
        "User managers can only give the user role",
    );
    assert_eq!(change, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_admin_cannot_take_over_a_peer_admins_credentials() {
    let server = TestServer::start().await;
    let r = ranks(&server).await;
    let (erin, _) = server.add_user(&r.owner, "erin", "admin").await;

    for path in [
        format!("/api/v1/users/{erin}/password"),
        format!("/api/v1/users/{erin}/twofactorauthentication_disable"),
    ] {
        let answer = server
            .post(&path, &r.admin, json!({"password": "taken over!"}))
            .await;
        expect_error_exact(
            answer,
            StatusCode::FORBIDDEN,
            "Only a higher role can change this user's credentials",
        );
    }
    let (code, _) = server
        .post(
            &format!("/api/v1/users/{}/password", r.user_id),
            &r.admin,
            json!({"password": "new password 9"}),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT, "an admin resets a user");
}

#[tokio::test]
async fn the_owner_outranks_admins_for_credentials() {
    let server = TestServer::start().await;
    let r = ranks(&server).await;

    let (code, _) = server
        .post(
            &format!("/api/v1/users/{}/password", r.admin_id),
            &r.owner,
            json!({"password": "new password 9"}),
        )
        .await;

    assert_eq!(code, StatusCode::NO_CONTENT);
}
