//! `POST /api/v1/external_ldap/sync`: the `syncExternalLdap` task against a real slapd brings
//! the directory's users and groups in, follows their changes, and leaves local ones alone.

use std::collections::BTreeMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::slapd::{
    CAROL_PASSWORD, GROUPS, PEOPLE, Slapd, configure_and_sync, person, staff, sync,
};
use crate::support::{TestServer, USER_PASSWORD};

/// The users by username.
async fn users(server: &TestServer, token: &str) -> BTreeMap<String, Value> {
    let (code, body) = server.get("/api/v1/users?per_page=100", token).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| (user["username"].as_str().unwrap().to_owned(), user.clone()))
        .collect()
}

/// The groups by name.
async fn groups(server: &TestServer, token: &str) -> BTreeMap<String, Value> {
    let (code, body) = server.get("/api/v1/groups", token).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|group| (group["name"].as_str().unwrap().to_owned(), group.clone()))
        .collect()
}

fn ids(users: &BTreeMap<String, Value>, names: &[&str]) -> Value {
    let mut ids: Vec<&str> = names
        .iter()
        .map(|name| users[*name]["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    json!(ids)
}

#[tokio::test]
async fn a_sync_brings_the_users_of_the_directory() {
    let slapd = Slapd::start(&staff()).await;
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let task = configure_and_sync(&server, &owner, &slapd).await;

    assert_eq!(task["success"], true, "{task}");
    assert_eq!(
        task["result"],
        json!({"added": 3, "updated": 0, "deactivated": 0, "skipped": 0})
    );
    let users = users(&server, &owner).await;
    let carol = &users["carol"];
    assert_eq!(
        (
            &carol["source"],
            &carol["role"],
            &carol["email"],
            &carol["displayName"]
        ),
        (
            &json!("ldap"),
            &json!("user"),
            &json!("carol@example.com"),
            &json!("Carol Jones")
        )
    );
    assert_eq!(users["alice"]["source"], "", "the owner is local");
    let (_, events) = server
        .get("/api/v1/eventlog?actions=user.add&per_page=100", &owner)
        .await;
    let from_ldap = events["eventlogs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["source"]["username"] == "ldap")
        .count();
    assert_eq!(from_ldap, 3);
}

#[tokio::test]
async fn a_sync_brings_the_groups_with_their_members() {
    let slapd = Slapd::start(&staff()).await;
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    configure_and_sync(&server, &owner, &slapd).await;

    let users = users(&server, &owner).await;
    let groups = groups(&server, &owner).await;
    assert_eq!(groups["engineering"]["source"], "ldap");
    assert_eq!(
        groups["engineering"]["userIds"],
        ids(&users, &["carol", "dave"])
    );
    assert_eq!(groups["ops"]["userIds"], ids(&users, &["dave", "erin"]));
}

#[tokio::test]
async fn a_changed_mail_is_updated_on_the_next_sync() {
    let slapd = Slapd::start(&staff()).await;
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    configure_and_sync(&server, &owner, &slapd).await;
    slapd.modify(&format!(
        "dn: uid=carol,{PEOPLE}\nchangetype: modify\nreplace: mail\nmail: carol.jones@example.org\n"
    ));

    let task = sync(&server, &owner).await;

    assert_eq!(
        task["result"],
        json!({"added": 0, "updated": 1, "deactivated": 0, "skipped": 0})
    );
    let users = users(&server, &owner).await;
    assert_eq!(users["carol"]["email"], "carol.jones@example.org");
}

#[tokio::test]
async fn a_removed_entry_deactivates_the_user_and_revokes_their_tokens() {
    let slapd = Slapd::start(&staff()).await;
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    configure_and_sync(&server, &owner, &slapd).await;
    let carol = server.login("carol", CAROL_PASSWORD).await;
    assert_eq!(
        server.get("/api/v1/profile", &carol).await.0,
        StatusCode::OK
    );
    slapd.modify(&format!("dn: uid=carol,{PEOPLE}\nchangetype: delete\n"));

    let task = sync(&server, &owner).await;

    assert_eq!(
        task["result"],
        json!({"added": 0, "updated": 0, "deactivated": 1, "skipped": 0})
    );
    let users = users(&server, &owner).await;
    assert_eq!(users["carol"]["active"], false, "kept, not deleted");
    assert_eq!(
        server.get("/api/v1/profile", &carol).await.0,
        StatusCode::UNAUTHORIZED
    );
    let groups = groups(&server, &owner).await;
    assert_eq!(groups["engineering"]["userIds"], ids(&users, &["dave"]));
}

#[tokio::test]
async fn a_user_back_in_the_directory_is_reactivated() {
    let slapd = Slapd::start(&staff()).await;
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    configure_and_sync(&server, &owner, &slapd).await;
    slapd.modify(&format!("dn: uid=carol,{PEOPLE}\nchangetype: delete\n"));
    sync(&server, &owner).await;
    slapd.add(&person(
        "carol",
        "carol@example.com",
        "Carol Jones",
        CAROL_PASSWORD,
    ));

    let task = sync(&server, &owner).await;

    assert_eq!(
        task["result"],
        json!({"added": 0, "updated": 1, "deactivated": 0, "skipped": 0})
    );
    assert_eq!(users(&server, &owner).await["carol"]["active"], true);
    server.login("carol", CAROL_PASSWORD).await;
}

#[tokio::test]
async fn a_local_user_with_the_same_username_is_left_alone() {
    let slapd = Slapd::start(&staff()).await;
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let local = json!({"username": "dave", "email": "dave@home.test", "password": USER_PASSWORD});
    let (code, _) = server.post("/api/v1/users", &owner, local).await;
    assert_eq!(code, StatusCode::CREATED);

    let task = configure_and_sync(&server, &owner, &slapd).await;

    assert_eq!(
        task["result"],
        json!({"added": 2, "updated": 0, "deactivated": 0, "skipped": 1})
    );
    let dave = &users(&server, &owner).await["dave"];
    assert_eq!(
        (&dave["source"], &dave["email"]),
        (&json!(""), &json!("dave@home.test"))
    );
    server.login("dave", USER_PASSWORD).await;
    let id = task["id"].as_str().unwrap();
    let log = server.task_log(&owner, id).await;
    assert!(
        log.contains("the local user dave has this username; left alone"),
        "{log}"
    );
}

#[tokio::test]
async fn a_local_user_with_the_same_email_is_left_alone() {
    let slapd = Slapd::start(&staff()).await;
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let local =
        json!({"username": "erin2", "email": "erin@example.com", "password": USER_PASSWORD});
    let (code, _) = server.post("/api/v1/users", &owner, local).await;
    assert_eq!(code, StatusCode::CREATED);

    let task = configure_and_sync(&server, &owner, &slapd).await;

    assert_eq!(task["result"]["skipped"], 1, "{task}");
    let users = users(&server, &owner).await;
    assert!(!users.contains_key("erin"));
    assert_eq!(users["erin2"]["source"], "");
}

#[tokio::test]
async fn entries_without_a_valid_username_or_email_are_skipped_and_logged() {
    let no_mail = format!(
        "dn: uid=frank,{PEOPLE}\nobjectClass: inetOrgPerson\nuid: frank\ncn: Frank\nsn: Frank\n\n"
    );
    let bad_name = person("x_y", "xy@example.com", "X Y", "Xy-Password-1");
    let slapd = Slapd::start(&[staff(), no_mail, bad_name].concat()).await;
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    let task = configure_and_sync(&server, &owner, &slapd).await;

    assert_eq!(
        task["result"],
        json!({"added": 3, "updated": 0, "deactivated": 0, "skipped": 2})
    );
    let log = server.task_log(&owner, task["id"].as_str().unwrap()).await;
    assert!(
        log.contains(&format!("Skipped uid=frank,{PEOPLE}: no valid mail")),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "Skipped uid=x_y,{PEOPLE}: uid: Username can only contain alphanumerals, dot and -"
        )),
        "{log}"
    );
}

#[tokio::test]
async fn a_second_sync_changes_nothing() {
    let slapd = Slapd::start(&staff()).await;
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    configure_and_sync(&server, &owner, &slapd).await;
    let before = (users(&server, &owner).await, groups(&server, &owner).await);

    let task = sync(&server, &owner).await;

    assert_eq!(
        task["result"],
        json!({"added": 0, "updated": 0, "deactivated": 0, "skipped": 0})
    );
    assert_eq!(
        (users(&server, &owner).await, groups(&server, &owner).await),
        before
    );
}

#[tokio::test]
async fn groups_follow_the_directory_and_keep_their_local_members() {
    let slapd = Slapd::start(&staff()).await;
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    configure_and_sync(&server, &owner, &slapd).await;
    let (bob, _) = server.add_user(&owner, "bob", "user").await;
    let engineering = groups(&server, &owner).await["engineering"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut members: Vec<Value> = groups(&server, &owner).await["engineering"]["userIds"]
        .as_array()
        .unwrap()
        .clone();
    members.push(json!(bob));
    let path = format!("/api/v1/groups/{engineering}/members");
    let (code, _) = server.put(&path, &owner, json!({"userIds": members})).await;
    assert_eq!(code, StatusCode::OK);
    slapd.modify(&format!(
        "dn: cn=engineering,{GROUPS}\nchangetype: modify\ndelete: member\nmember: uid=dave,{PEOPLE}\n\n\
         dn: cn=ops,{GROUPS}\nchangetype: delete\n"
    ));

    sync(&server, &owner).await;

    let users = users(&server, &owner).await;
    let groups = groups(&server, &owner).await;
    assert_eq!(
        groups["engineering"]["userIds"],
        ids(&users, &["bob", "carol"])
    );
    assert!(!groups.contains_key("ops"), "{groups:?}");
}

#[tokio::test]
async fn a_local_group_with_the_same_name_is_left_alone() {
    let slapd = Slapd::start(&staff()).await;
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (code, local) = server
        .post("/api/v1/groups", &owner, json!({"name": "Ops"}))
        .await;
    assert_eq!(code, StatusCode::CREATED);

    configure_and_sync(&server, &owner, &slapd).await;

    let groups = groups(&server, &owner).await;
    assert_eq!(groups["Ops"]["id"], local["id"]);
    assert_eq!(
        (&groups["Ops"]["source"], &groups["Ops"]["userIds"]),
        (&json!(""), &json!([]))
    );
    assert_eq!(groups["engineering"]["source"], "ldap");
}
