//! `GET /api/v1/users`: search, filters and pages.

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::TestServer;

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
}

#[tokio::test]
async fn bad_list_queries_are_400() {
    let server = TestServer::start().await;
    let owner = server.owner_token().await;

    for query in ["active=maybe", "page=0", "per_page=x"] {
        let (code, _) = server.get(&format!("/api/v1/users?{query}"), &owner).await;
        assert_eq!(code, StatusCode::BAD_REQUEST, "{query}");
    }
}
