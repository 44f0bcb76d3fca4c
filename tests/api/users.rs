use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{OWNER_PASSWORD, TestServer, USER_PASSWORD, expect_error, expect_error_exact};

fn user_body(username: &str, role: &str) -> Value {
    json!({"username": username, "email": format!("{username}@example.com"), "password": USER_PASSWORD, "role": role})
}

#[tokio::test]
async fn a_created_user_is_listed_fetched_and_recorded() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let body = json!({"username": "Bob", "email": "Bob@Example.com", "password": USER_PASSWORD, "displayName": "Bob B"});
    let (code, created) = server.post("/api/v1/users", &owner, body).await;

    assert_eq!(code, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    assert!(id.starts_with("uid-"));
    let (code, user) = server.get(&format!("/api/v1/users/{id}"), &owner).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        user,
        json!({"id": id, "username": "bob", "email": "bob@example.com", "fallbackEmail": "bob@example.com",
               "displayName": "Bob B", "groupIds": [], "active": true, "source": "", "role": "user",
               "twoFactorAuthenticationEnabled": false, "inviteAccepted": true})
    );
    let (_, list) = server.get("/api/v1/users", &owner).await;
    let names: Vec<&str> = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alice", "bob"]);
    let (_, events) = server
        .get("/api/v1/eventlog?actions=user.add&per_page=1", &owner)
        .await;
    let event = &events["eventlogs"][0];
    assert_eq!(event["data"]["userId"], id);
    assert_eq!(event["data"]["invitor"]["username"], "alice");
    assert_eq!(event["source"]["username"], "alice");
    server.login("bob", USER_PASSWORD).await;
}

#[tokio::test]
async fn a_user_without_a_password_is_an_open_invite() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let (code, created) = server
        .post("/api/v1/users", &owner, json!({"email": "new@example.com"}))
        .await;

    assert_eq!(code, StatusCode::CREATED);
    let (_, user) = server
        .get(
            &format!("/api/v1/users/{}", created["id"].as_str().unwrap()),
            &owner,
        )
        .await;
    assert_eq!(
        (user["inviteAccepted"].clone(), user["username"].clone()),
        (json!(false), json!(null))
    );
}

#[tokio::test]
async fn creation_validates_every_field() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    server.add_user(&owner, "bob", "user").await;
    let cases = [
        (json!({}), StatusCode::BAD_REQUEST, "email is required"),
        (
            json!({"email": "nope"}),
            StatusCode::BAD_REQUEST,
            "email is not a valid email address",
        ),
        (
            json!({"email": "c@example.com", "username": "c d"}),
            StatusCode::BAD_REQUEST,
            "Username can only contain alphanumerals, dot and -",
        ),
        (
            json!({"email": "c@example.com", "username": "postmaster"}),
            StatusCode::BAD_REQUEST,
            "Username is reserved",
        ),
        (
            json!({"email": "c@example.com", "username": "x.app"}),
            StatusCode::BAD_REQUEST,
            "Username pattern is reserved for apps",
        ),
        (
            json!({"email": "c@example.com", "username": "a".repeat(200)}),
            StatusCode::BAD_REQUEST,
            "Username too long",
        ),
        (
            json!({"email": "c@example.com", "password": "short"}),
            StatusCode::BAD_REQUEST,
            "Password must be atleast 8 characters",
        ),
        (
            json!({"email": "c@example.com", "password": "x".repeat(257)}),
            StatusCode::BAD_REQUEST,
            "Password cannot be more than 256 characters",
        ),
        (
            json!({"email": "c@example.com", "role": "superuser"}),
            StatusCode::BAD_REQUEST,
            "role must be one of owner, admin, usermanager, mailmanager, user",
        ),
        (
            json!({"email": "c@example.com", "fallbackEmail": "x"}),
            StatusCode::BAD_REQUEST,
            "fallbackEmail is not a valid email address",
        ),
        (
            json!({"email": "BOB@example.com"}),
            StatusCode::CONFLICT,
            "email already exists",
        ),
        (
            json!({"email": "c@example.com", "username": "BOB"}),
            StatusCode::CONFLICT,
            "username already exists",
        ),
        (
            json!({"email": "c@example.com", "role": "owner"}),
            StatusCode::FORBIDDEN,
            "There is exactly one owner; the role cannot be given",
        ),
    ];
    for (body, status, expected) in cases {
        let answer = server.post("/api/v1/users", &owner, body).await;
        expect_error_exact(answer, status, expected);
    }
    let (_, list) = server.get("/api/v1/users", &owner).await;
    assert_eq!(
        list["users"].as_array().unwrap().len(),
        2,
        "nothing was half-created"
    );
}

#[tokio::test]
async fn the_users_routes_need_a_user_manager_and_a_writable_token() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, user) = server.add_user(&owner, "bob", "user").await;
    let read_only = server.read_only_token(&owner).await;
    let routes = [
        ("GET", "/api/v1/users".to_owned(), None),
        (
            "POST",
            "/api/v1/users".to_owned(),
            Some(json!({"email": "x@example.com"})),
        ),
        ("GET", format!("/api/v1/users/{bob}"), None),
        ("DELETE", format!("/api/v1/users/{bob}"), None),
        (
            "POST",
            format!("/api/v1/users/{bob}/profile"),
            Some(json!({"displayName": "x"})),
        ),
        (
            "PUT",
            format!("/api/v1/users/{bob}/role"),
            Some(json!({"role": "admin"})),
        ),
        (
            "PUT",
            format!("/api/v1/users/{bob}/active"),
            Some(json!({"active": false})),
        ),
        (
            "POST",
            format!("/api/v1/users/{bob}/password"),
            Some(json!({"password": "new password"})),
        ),
        (
            "POST",
            format!("/api/v1/users/{bob}/twofactorauthentication_disable"),
            Some(json!({})),
        ),
    ];
    for (method, path, body) in routes {
        let method: reqwest::Method = method.parse().unwrap();
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
        if method != reqwest::Method::GET {
            let (code, _) = server
                .request(method.clone(), &path, &read_only, body)
                .await;
            assert_eq!(code, StatusCode::FORBIDDEN, "read-only {method} {path}");
        }
    }
    let (code, _) = server.get("/api/v1/users", &read_only).await;
    assert_eq!(code, StatusCode::OK);
}

#[tokio::test]
async fn nobody_acts_above_their_rank() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, owner_profile) = server.get("/api/v1/profile", &owner).await;
    let owner_id = owner_profile["id"].as_str().unwrap().to_owned();
    let (admin_id, admin) = server.add_user(&owner, "dave", "admin").await;
    let (manager_id, manager) = server.add_user(&owner, "carol", "usermanager").await;
    let (user_id, _) = server.add_user(&owner, "bob", "user").await;

    // A usermanager cannot create an admin.
    let answer = server
        .post("/api/v1/users", &manager, user_body("eve", "admin"))
        .await;
    expect_error_exact(
        answer,
        StatusCode::FORBIDDEN,
        "You cannot give a role above your own",
    );
    let (code, _) = server
        .post("/api/v1/users", &manager, user_body("eve", "user"))
        .await;
    assert_eq!(code, StatusCode::CREATED);

    // An admin cannot delete the owner.
    let answer = server
        .delete(&format!("/api/v1/users/{owner_id}"), &admin)
        .await;
    expect_error_exact(
        answer,
        StatusCode::FORBIDDEN,
        "You cannot change a user whose role is above yours",
    );
    for (token, path, body) in [
        (
            &admin,
            format!("/api/v1/users/{owner_id}/role"),
            json!({"role": "user"}),
        ),
        (
            &admin,
            format!("/api/v1/users/{owner_id}/active"),
            json!({"active": false}),
        ),
        (
            &manager,
            format!("/api/v1/users/{admin_id}/role"),
            json!({"role": "user"}),
        ),
        (
            &manager,
            format!("/api/v1/users/{user_id}/role"),
            json!({"role": "admin"}),
        ),
    ] {
        let (code, _) = server.put(&path, token, body).await;
        assert_eq!(code, StatusCode::FORBIDDEN, "{path}");
    }
    let (code, _) = server
        .post(
            &format!("/api/v1/users/{owner_id}/password"),
            &admin,
            json!({"password": "taken over"}),
        )
        .await;
    assert_eq!(
        code,
        StatusCode::FORBIDDEN,
        "only the owner touches the owner"
    );
    let (code, _) = server
        .delete(&format!("/api/v1/users/{admin_id}"), &manager)
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);

    for (token, id) in [
        (&owner, &owner_id),
        (&admin, &admin_id),
        (&manager, &manager_id),
    ] {
        // Nobody deletes themselves.
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
    let (code, _) = server
        .delete(&format!("/api/v1/users/{manager_id}"), &admin)
        .await;
    assert_eq!(
        code,
        StatusCode::NO_CONTENT,
        "an admin removes a user manager"
    );
}

#[tokio::test]
async fn deleting_a_user_revokes_everything_they_had() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, token) = server.add_user(&owner, "bob", "user").await;
    let api_token = server.create_token(&token, json!({"name": "script"})).await;
    let (code, _) = server
        .post(
            "/api/v1/app_passwords",
            &token,
            json!({"name": "phone", "identifier": "mail"}),
        )
        .await;
    assert_eq!(code, StatusCode::OK);

    let (code, body) = server.delete(&format!("/api/v1/users/{bob}"), &owner).await;

    assert_eq!((code, body), (StatusCode::NO_CONTENT, Value::Null));
    for secret in [&token, &api_token] {
        let (code, _) = server.get("/api/v1/profile", secret).await;
        assert_eq!(code, StatusCode::UNAUTHORIZED);
    }
    let db = server.db().await;
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM app_passwords")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(left, 0);
    let (code, _) = server.get(&format!("/api/v1/users/{bob}"), &owner).await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    let (_, events) = server
        .get("/api/v1/eventlog?actions=user.remove", &owner)
        .await;
    assert_eq!(events["eventlogs"][0]["data"]["user"]["username"], "bob");
}

#[tokio::test]
async fn deactivation_locks_out_at_once_and_reactivation_lets_back_in() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, token) = server.add_user(&owner, "bob", "user").await;
    let path = format!("/api/v1/users/{bob}/active");

    let (code, _) = server.put(&path, &owner, json!({"active": false})).await;

    assert_eq!(code, StatusCode::NO_CONTENT);
    let (code, _) = server.get("/api/v1/profile", &token).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (code, _) = server
        .post(
            "/api/v1/auth/login",
            "",
            json!({"username": "bob", "password": USER_PASSWORD}),
        )
        .await;
    assert_eq!(code, StatusCode::UNAUTHORIZED);
    let (_, user) = server.get(&format!("/api/v1/users/{bob}"), &owner).await;
    assert_eq!(user["active"], false);
    let (_, inactive) = server.get("/api/v1/users?active=false", &owner).await;
    assert_eq!(inactive["users"].as_array().unwrap().len(), 1);
    let answer = server.put(&path, &owner, json!({"active": "no"})).await;
    expect_error_exact(answer, StatusCode::BAD_REQUEST, "active must be a boolean");

    let (code, _) = server.put(&path, &owner, json!({"active": true})).await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    server.login("bob", USER_PASSWORD).await;
}

#[tokio::test]
async fn roles_change_within_the_rules_and_are_recorded() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, bob_token) = server.add_user(&owner, "bob", "user").await;
    let path = format!("/api/v1/users/{bob}/role");

    let (code, _) = server
        .put(&path, &owner, json!({"role": "usermanager"}))
        .await;

    assert_eq!(code, StatusCode::NO_CONTENT);
    let (code, _) = server.get("/api/v1/users", &bob_token).await;
    assert_eq!(
        code,
        StatusCode::OK,
        "the new role applies to existing tokens"
    );
    let (_, events) = server
        .get("/api/v1/eventlog?actions=user.update&per_page=1", &owner)
        .await;
    let data = &events["eventlogs"][0]["data"];
    assert_eq!(
        (
            data["roleChanged"].clone(),
            data["oldRole"].clone(),
            data["user"]["role"].clone()
        ),
        (json!(true), json!("user"), json!("usermanager"))
    );
    let answer = server.put(&path, &owner, json!({"role": "owner"})).await;
    expect_error(answer, StatusCode::FORBIDDEN, "");
    let answer = server.put(&path, &owner, json!({})).await;
    expect_error_exact(answer, StatusCode::BAD_REQUEST, "role is required");
    let (code, _) = server
        .put(
            "/api/v1/users/uid-nobody/role",
            &owner,
            json!({"role": "user"}),
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn profiles_are_edited_with_the_same_rules_as_the_own_profile() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;
    server.add_user(&owner, "carol", "user").await;
    let path = format!("/api/v1/users/{bob}/profile");

    let (code, _) = server
        .post(
            &path,
            &owner,
            json!({"displayName": "Robert", "email": "Robert@example.com", "role": "admin"}),
        )
        .await;

    assert_eq!(code, StatusCode::NO_CONTENT);
    let (_, user) = server.get(&format!("/api/v1/users/{bob}"), &owner).await;
    assert_eq!(
        (
            user["displayName"].clone(),
            user["email"].clone(),
            user["role"].clone()
        ),
        (json!("Robert"), json!("robert@example.com"), json!("user"))
    );
    let answer = server
        .post(&path, &owner, json!({"email": "CAROL@example.com"}))
        .await;
    expect_error_exact(answer, StatusCode::CONFLICT, "email already exists");
    let (code, _) = server
        .post(&path, &owner, json!({"username": "robert"}))
        .await;
    assert_eq!(code, StatusCode::CONFLICT, "a username is set once");
    let (code, _) = server
        .post("/api/v1/users/uid-nobody/profile", &owner, json!({}))
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);

    let (_, invited) = server
        .post("/api/v1/users", &owner, json!({"email": "dan@example.com"}))
        .await;
    let invited = invited["id"].as_str().unwrap();
    let (code, _) = server
        .post(
            &format!("/api/v1/users/{invited}/profile"),
            &owner,
            json!({"username": "Dan"}),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let (_, user) = server
        .get(&format!("/api/v1/users/{invited}"), &owner)
        .await;
    assert_eq!(user["username"], "dan");
}

#[tokio::test]
async fn a_manager_sets_passwords_and_ends_the_users_sessions() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, session) = server.add_user(&owner, "bob", "user").await;
    let path = format!("/api/v1/users/{bob}/password");

    let answer = server
        .post(&path, &owner, json!({"password": "short"}))
        .await;
    expect_error_exact(
        answer,
        StatusCode::BAD_REQUEST,
        "Password must be atleast 8 characters",
    );
    let (code, _) = server
        .post(&path, &owner, json!({"password": "brand new password"}))
        .await;

    assert_eq!(code, StatusCode::NO_CONTENT);
    let (code, _) = server.get("/api/v1/profile", &session).await;
    assert_eq!(code, StatusCode::UNAUTHORIZED, "bob's sessions ended");
    server.login("bob", "brand new password").await;
    let (_, me) = server.get("/api/v1/profile", &owner).await;
    let (code, body) = server
        .post(
            &format!("/api/v1/users/{}/password", me["id"].as_str().unwrap()),
            &owner,
            json!({"password": "12345678"}),
        )
        .await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    let (code, _) = server
        .post(
            "/api/v1/users/uid-nobody/password",
            &owner,
            json!({"password": "12345678"}),
        )
        .await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    server.login("alice", OWNER_PASSWORD).await;
}

#[tokio::test]
async fn lists_search_filter_and_page() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    for name in ["bob", "carol", "dave"] {
        server.add_user(&owner, name, "user").await;
    }
    let count = |list: &Value| list["users"].as_array().unwrap().len();

    let (_, found) = server.get("/api/v1/users?search=CAR", &owner).await;
    assert_eq!(found["users"][0]["username"], "carol");
    assert_eq!(count(&found), 1);
    let (_, by_mail) = server.get("/api/v1/users?search=dave@", &owner).await;
    assert_eq!(count(&by_mail), 1);
    let (_, page) = server.get("/api/v1/users?page=2&per_page=3", &owner).await;
    assert_eq!(page["users"][0]["username"], "dave");
    let (_, active) = server.get("/api/v1/users?active=true", &owner).await;
    assert_eq!(count(&active), 4);
    for query in ["active=maybe", "page=0", "per_page=x"] {
        let (code, _) = server.get(&format!("/api/v1/users?{query}"), &owner).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{query}");
    }
}

#[tokio::test]
async fn user_managers_give_only_the_user_role_and_credentials_need_a_higher_role() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (_, manager) = server.add_user(&owner, "carol", "usermanager").await;
    let (dave, admin) = server.add_user(&owner, "dave", "admin").await;
    let (erin, _) = server.add_user(&owner, "erin", "admin").await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;

    let answer = server
        .post("/api/v1/users", &manager, user_body("frank", "usermanager"))
        .await;
    expect_error_exact(
        answer,
        StatusCode::FORBIDDEN,
        "User managers can only give the user role",
    );
    let (code, _) = server
        .put(
            &format!("/api/v1/users/{bob}/role"),
            &manager,
            json!({"role": "mailmanager"}),
        )
        .await;
    assert_eq!(code, StatusCode::FORBIDDEN);

    for path in [
        format!("/api/v1/users/{erin}/password"),
        format!("/api/v1/users/{erin}/twofactorauthentication_disable"),
    ] {
        // An admin cannot take over a peer admin.
        let answer = server
            .post(&path, &admin, json!({"password": "taken over!"}))
            .await;
        expect_error_exact(
            answer,
            StatusCode::FORBIDDEN,
            "Only a higher role can change this user's credentials",
        );
    }
    let (code, _) = server
        .post(
            &format!("/api/v1/users/{bob}/password"),
            &admin,
            json!({"password": "new password 9"}),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let (code, _) = server
        .post(
            &format!("/api/v1/users/{dave}/password"),
            &owner,
            json!({"password": "new password 9"}),
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT, "the owner outranks admins");
}
