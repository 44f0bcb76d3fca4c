//! `/api/v1/groups` and `PUT /api/v1/users/{id}/groups`: groups of users and their members.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::TestServer;

/// Asserts an error answer: its status, Cloudron's shape, and a message containing `part`.
fn expect_error((code, body): (StatusCode, Value), status: StatusCode, part: &str) {
    assert_eq!(code, status, "{body}");
    assert_eq!(body["status"], status.canonical_reason().unwrap(), "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(message.contains(part), "{message:?} lacks {part:?}");
}

async fn create(server: &TestServer, token: &str, name: &str) -> String {
    let (code, created) = server
        .post("/api/v1/groups", token, json!({ "name": name }))
        .await;
    assert_eq!(code, StatusCode::CREATED, "{created}");
    created["id"].as_str().unwrap().to_owned()
}

async fn events(server: &TestServer, token: &str, action: &str) -> Vec<Value> {
    let path = format!("/api/v1/eventlog?actions={action}&per_page=100");
    let (code, body) = server.get(&path, token).await;
    assert_eq!(code, StatusCode::OK);
    body["eventlogs"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_group_is_created_listed_renamed_and_deleted_with_its_events() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let (code, created) = server
        .post("/api/v1/groups", &owner, json!({"name": "  Developers "}))
        .await;

    assert_eq!(code, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("gid-") && id.len() == 40, "{id}");
    assert_eq!(created["name"], "Developers");
    let ops = create(&server, &owner, "ops").await;
    let (code, list) = server.get("/api/v1/groups", &owner).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(
        list,
        json!({"groups": [
            {"id": id, "name": "Developers", "source": "", "userIds": []},
            {"id": ops, "name": "ops", "source": "", "userIds": []},
        ]})
    );
    let renamed = server
        .put(
            &format!("/api/v1/groups/{id}/name"),
            &owner,
            json!({"name": "Ça, va + \"x\""}),
        )
        .await;
    assert_eq!(renamed, (StatusCode::OK, json!({})));
    let (code, group) = server.get(&format!("/api/v1/groups/{id}"), &owner).await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(group["name"], "Ça, va + \"x\"");
    let deleted = server.delete(&format!("/api/v1/groups/{id}"), &owner).await;
    assert_eq!(deleted.0, StatusCode::NO_CONTENT);
    let gone = server.get(&format!("/api/v1/groups/{id}"), &owner).await;
    expect_error(gone, StatusCode::NOT_FOUND, "No such group");

    let added = events(&server, &owner, "group.add").await;
    assert_eq!(added.len(), 2);
    assert_eq!(
        added[1]["data"],
        json!({"groupId": id, "name": "Developers"})
    );
    assert_eq!(added[1]["source"]["username"], "alice");
    let updated = events(&server, &owner, "group.update").await;
    assert_eq!(updated[0]["data"]["oldName"], "Developers");
    let removed = events(&server, &owner, "group.remove").await;
    assert_eq!(removed[0]["data"]["groupId"], id);
}

#[tokio::test]
async fn members_show_in_the_group_and_in_the_users_until_the_user_goes() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;
    let (carol, _) = server.add_user(&owner, "carol", "user").await;
    let devs = create(&server, &owner, "devs").await;
    let ops = create(&server, &owner, "ops").await;

    let set = server
        .put(
            &format!("/api/v1/groups/{devs}/members"),
            &owner,
            json!({"userIds": [carol, bob]}),
        )
        .await;
    assert_eq!(set, (StatusCode::OK, json!({})));
    let by_user = server
        .put(
            &format!("/api/v1/users/{bob}/groups"),
            &owner,
            json!({"groupIds": [ops, devs]}),
        )
        .await;
    assert_eq!(by_user.0, StatusCode::NO_CONTENT, "{}", by_user.1);

    let (_, group) = server.get(&format!("/api/v1/groups/{devs}"), &owner).await;
    let mut members = vec![bob.clone(), carol.clone()];
    members.sort();
    assert_eq!(group["userIds"], json!(members));
    let (_, user) = server.get(&format!("/api/v1/users/{bob}"), &owner).await;
    assert_eq!(user["groupIds"], json!([devs, ops]), "by group name");
    let (_, list) = server.get("/api/v1/users", &owner).await;
    let carol_listed = list["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == carol)
        .unwrap();
    assert_eq!(carol_listed["groupIds"], json!([devs]));
    let updates = events(&server, &owner, "group.update").await;
    assert_eq!(
        updates.len(),
        2,
        "one for devs, one for ops when bob joined it"
    );
    assert_eq!(updates[0]["data"]["groupId"], ops);
    assert_eq!(updates[0]["data"]["userIds"], json!([bob]));

    let removed = server
        .put(
            &format!("/api/v1/users/{bob}/groups"),
            &owner,
            json!({"groupIds": []}),
        )
        .await;
    assert_eq!(removed.0, StatusCode::NO_CONTENT);
    let (_, group) = server.get(&format!("/api/v1/groups/{devs}"), &owner).await;
    assert_eq!(group["userIds"], json!([carol]));
    assert_eq!(
        server
            .delete(&format!("/api/v1/users/{carol}"), &owner)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    let (_, group) = server.get(&format!("/api/v1/groups/{devs}"), &owner).await;
    assert_eq!(
        group["userIds"],
        json!([]),
        "a deleted user leaves their groups"
    );
}

#[tokio::test]
async fn unknown_ids_are_404_and_the_message_names_one() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;
    let devs = create(&server, &owner, "devs").await;
    let ghost_user = "uid-00000000-0000-4000-8000-000000000000";
    let ghost_group = "gid-00000000-0000-4000-8000-000000000000";

    let members = server
        .put(
            &format!("/api/v1/groups/{devs}/members"),
            &owner,
            json!({"userIds": [bob, ghost_user]}),
        )
        .await;
    expect_error(
        members,
        StatusCode::NOT_FOUND,
        &format!("No such user: {ghost_user}"),
    );
    let groups = server
        .put(
            &format!("/api/v1/users/{bob}/groups"),
            &owner,
            json!({"groupIds": [devs, ghost_group]}),
        )
        .await;
    expect_error(
        groups,
        StatusCode::NOT_FOUND,
        &format!("No such group: {ghost_group}"),
    );
    let (_, group) = server.get(&format!("/api/v1/groups/{devs}"), &owner).await;
    assert_eq!(group["userIds"], json!([]), "nothing changed");
    let path = format!("/api/v1/groups/{ghost_group}");
    expect_error(
        server.get(&path, &owner).await,
        StatusCode::NOT_FOUND,
        "No such group",
    );
    expect_error(
        server.delete(&path, &owner).await,
        StatusCode::NOT_FOUND,
        "No such group",
    );
    let rename = server
        .put(&format!("{path}/name"), &owner, json!({"name": "x"}))
        .await;
    expect_error(rename, StatusCode::NOT_FOUND, "No such group");
    let members = server
        .put(&format!("{path}/members"), &owner, json!({"userIds": []}))
        .await;
    expect_error(members, StatusCode::NOT_FOUND, "No such group");
    let user = server
        .put(
            &format!("/api/v1/users/{ghost_user}/groups"),
            &owner,
            json!({"groupIds": []}),
        )
        .await;
    expect_error(user, StatusCode::NOT_FOUND, "No such user");
}

#[tokio::test]
async fn names_and_lists_are_validated() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;
    let devs = create(&server, &owner, "Devs").await;
    let cases = [
        (json!({}), StatusCode::BAD_REQUEST, "name is required"),
        (
            json!({"name": 5}),
            StatusCode::BAD_REQUEST,
            "name must be a string",
        ),
        (
            json!({"name": "  "}),
            StatusCode::BAD_REQUEST,
            "name must not be empty",
        ),
        (
            json!({"name": "x".repeat(201)}),
            StatusCode::BAD_REQUEST,
            "at most 200 characters",
        ),
        (
            json!({"name": "a\tb"}),
            StatusCode::BAD_REQUEST,
            "printable characters",
        ),
        (
            json!({"name": "DEVS"}),
            StatusCode::CONFLICT,
            "already exists",
        ),
        (
            json!({"name": "users"}),
            StatusCode::CONFLICT,
            "built-in group",
        ),
        (
            json!({"name": "Admins"}),
            StatusCode::CONFLICT,
            "built-in group",
        ),
    ];
    for (body, status, part) in cases {
        expect_error(
            server.post("/api/v1/groups", &owner, body.clone()).await,
            status,
            part,
        );
    }
    assert!(
        create(&server, &owner, &"é".repeat(200))
            .await
            .starts_with("gid-")
    );
    let ops = create(&server, &owner, "ops").await;
    let rename = server
        .put(
            &format!("/api/v1/groups/{ops}/name"),
            &owner,
            json!({"name": "devs"}),
        )
        .await;
    expect_error(rename, StatusCode::CONFLICT, "already exists");
    let rename = server
        .put(
            &format!("/api/v1/groups/{ops}/name"),
            &owner,
            json!({"name": "USERS"}),
        )
        .await;
    expect_error(rename, StatusCode::CONFLICT, "built-in group");
    let members = format!("/api/v1/groups/{devs}/members");
    let lists = [
        (json!({}), "userIds is required"),
        (json!({"userIds": bob}), "userIds must be an array"),
        (json!({"userIds": [1]}), "userIds[0] must be a string"),
        (json!({"userIds": [bob, bob]}), "must not name an id twice"),
    ];
    for (body, part) in lists {
        expect_error(
            server.put(&members, &owner, body).await,
            StatusCode::BAD_REQUEST,
            part,
        );
    }
    let groups = format!("/api/v1/users/{bob}/groups");
    let lists = [
        (json!({"groupIds": "x"}), "groupIds must be an array"),
        (
            json!({"groupIds": [devs, devs]}),
            "must not name an id twice",
        ),
    ];
    for (body, part) in lists {
        expect_error(
            server.put(&groups, &owner, body).await,
            StatusCode::BAD_REQUEST,
            part,
        );
    }
}

#[tokio::test]
async fn only_user_managers_and_up_reach_groups_and_read_only_tokens_only_read() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (bob, user) = server.add_user(&owner, "bob", "user").await;
    let (_, manager) = server.add_user(&owner, "mia", "usermanager").await;
    let read_only = server
        .create_token(&owner, json!({"name": "ro", "scope": {"*": "r"}}))
        .await;
    let devs = create(&server, &owner, "devs").await;
    let routes = [
        (Method::GET, "/api/v1/groups".to_owned(), None),
        (
            Method::POST,
            "/api/v1/groups".to_owned(),
            Some(json!({"name": "new"})),
        ),
        (Method::GET, format!("/api/v1/groups/{devs}"), None),
        (
            Method::PUT,
            format!("/api/v1/groups/{devs}/name"),
            Some(json!({"name": "x"})),
        ),
        (
            Method::PUT,
            format!("/api/v1/groups/{devs}/members"),
            Some(json!({"userIds": []})),
        ),
        (
            Method::PUT,
            format!("/api/v1/users/{bob}/groups"),
            Some(json!({"groupIds": []})),
        ),
        (Method::DELETE, format!("/api/v1/groups/{devs}"), None),
    ];
    for (method, path, body) in &routes {
        let anonymous = server.request(method.clone(), path, "", body.clone()).await;
        expect_error(anonymous, StatusCode::UNAUTHORIZED, "");
        let plain = server
            .request(method.clone(), path, &user, body.clone())
            .await;
        expect_error(plain, StatusCode::FORBIDDEN, "usermanager");
        let (code, answer) = server
            .request(method.clone(), path, &read_only, body.clone())
            .await;
        if *method == Method::GET {
            assert_eq!(code, StatusCode::OK, "{method} {path}: {answer}");
        } else {
            expect_error((code, answer), StatusCode::FORBIDDEN, "");
        }
    }
    for (method, path, body) in routes {
        let (code, answer) = server.request(method.clone(), &path, &manager, body).await;
        assert!(
            code.is_success(),
            "a user manager may {method} {path}: {answer}"
        );
    }
}

#[tokio::test]
async fn nobody_changes_the_groups_of_a_user_above_their_role() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (admin, _) = server.add_user(&owner, "ada", "admin").await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;
    let (_, manager) = server.add_user(&owner, "mia", "usermanager").await;
    let devs = create(&server, &manager, "devs").await;
    let members = format!("/api/v1/groups/{devs}/members");

    let promote = server
        .put(&members, &manager, json!({"userIds": [bob, admin]}))
        .await;
    expect_error(promote, StatusCode::FORBIDDEN, "above yours");
    let by_user = server
        .put(
            &format!("/api/v1/users/{admin}/groups"),
            &manager,
            json!({"groupIds": [devs]}),
        )
        .await;
    expect_error(by_user, StatusCode::FORBIDDEN, "above yours");
    assert_eq!(
        server
            .put(&members, &manager, json!({"userIds": [bob]}))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        server
            .put(&members, &owner, json!({"userIds": [bob, admin]}))
            .await
            .0,
        StatusCode::OK
    );
    let drop_admin = server
        .put(&members, &manager, json!({"userIds": [bob]}))
        .await;
    expect_error(drop_admin, StatusCode::FORBIDDEN, "above yours");
    let keep_admin = server
        .put(&members, &manager, json!({"userIds": [admin]}))
        .await;
    assert_eq!(
        keep_admin.0,
        StatusCode::OK,
        "only changed members count: {}",
        keep_admin.1
    );
    let delete = server
        .delete(&format!("/api/v1/groups/{devs}"), &manager)
        .await;
    expect_error(delete, StatusCode::FORBIDDEN, "above yours");
    let rename = server
        .put(
            &format!("/api/v1/groups/{devs}/name"),
            &manager,
            json!({"name": "d"}),
        )
        .await;
    assert_eq!(rename.0, StatusCode::OK, "a name is no one's membership");
    assert_eq!(
        server
            .delete(&format!("/api/v1/groups/{devs}"), &owner)
            .await
            .0,
        StatusCode::NO_CONTENT
    );
}
