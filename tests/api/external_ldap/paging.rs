//! A sync reads the whole directory with the paged-results control, past what the server
//! returns to one unpaged search.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;

use crate::support::slapd::{Slapd, UNPAGED_LIMIT, person};
use crate::support::{TestServer, wait_for_task_end};

const PEOPLE: usize = 1200;

#[tokio::test]
async fn a_sync_reads_every_entry_page_by_page() {
    let ldif: String = (0..PEOPLE)
        .map(|n| {
            let uid = format!("user{n:04}");
            person(
                &uid,
                &format!("{uid}@example.com"),
                &format!("User {n}"),
                "Pw-12345678",
            )
        })
        .collect();
    let slapd = Slapd::start(&ldif).await;
    // Without paging the server stops at its size limit: only paging can bring everyone.
    assert_eq!(slapd.count_people(false), (UNPAGED_LIMIT, true));
    assert_eq!(slapd.count_people(true), (PEOPLE, false));
    let server = TestServer::start().await;
    let owner = server.owner_token().await;
    let (code, body) = server
        .post("/api/v1/external_ldap/config", &owner, slapd.config())
        .await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let started = Instant::now();

    let (_, task) = server
        .post("/api/v1/external_ldap/sync", &owner, json!({}))
        .await;
    let task = wait_for_task_end(
        &server,
        &owner,
        task["taskId"].as_str().unwrap(),
        Duration::from_secs(120),
    )
    .await;

    eprintln!("synced {PEOPLE} users in {:?}", started.elapsed());
    assert_eq!(
        task["result"],
        json!({"added": PEOPLE, "updated": 0, "deactivated": 0, "skipped": 0}),
        "{task}"
    );
    let (_, users) = server.get("/api/v1/users?per_page=5000", &owner).await;
    let users = users["users"].as_array().unwrap();
    assert_eq!(users.len(), PEOPLE + 1);
    assert!(users.iter().any(|user| user["username"] == "user1199"));
}
