//! SQL for the `eventlog` table.

use sqlx::types::Json;
use sqlx::{QueryBuilder, Sqlite, SqliteExecutor};

use crate::store::Page;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: String,
    pub action: String,
    pub source: Json<serde_json::Value>,
    pub data: Json<serde_json::Value>,
    pub creation_time: String,
}

pub async fn insert(db: impl SqliteExecutor<'_>, event: &EventRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO eventlog (id, action, source, data, creation_time) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(&event.id)
    .bind(&event.action)
    .bind(&event.source)
    .bind(&event.data)
    .bind(&event.creation_time)
    .execute(db)
    .await
    .map(drop)
}

/// Newest first. `search` is a case-insensitive substring of source or data; `actions` match
/// exactly, any of them.
pub async fn list(
    db: impl SqliteExecutor<'_>,
    search: Option<&str>,
    actions: &[&str],
    page: Page,
) -> sqlx::Result<Vec<EventRow>> {
    let mut query = QueryBuilder::<Sqlite>::new(
        "SELECT id, action, source, data, creation_time FROM eventlog WHERE 1 = 1",
    );
    if let Some(search) = search {
        query
            .push(" AND instr(lower(source || ' ' || data), lower(")
            .push_bind(search.to_owned());
        query.push(")) > 0");
    }
    if !actions.is_empty() {
        query.push(" AND action IN (");
        let mut list = query.separated(", ");
        for action in actions {
            list.push_bind((*action).to_owned());
        }
        query.push(")");
    }
    query
        .push(" ORDER BY seq DESC LIMIT ")
        .push_bind(page.limit());
    query.push(" OFFSET ").push_bind(page.offset());
    query.build_query_as().fetch_all(db).await
}

pub async fn get(db: impl SqliteExecutor<'_>, id: &str) -> sqlx::Result<Option<EventRow>> {
    sqlx::query_as("SELECT id, action, source, data, creation_time FROM eventlog WHERE id = ?")
        .bind(id)
        .fetch_optional(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_pool;
    use serde_json::json;

    fn event(id: &str, action: &str, data: serde_json::Value) -> EventRow {
        EventRow {
            id: id.into(),
            action: action.into(),
            source: Json(json!({"username": "boot"})),
            data: Json(data),
            creation_time: "2026-01-01T00:00:00.000Z".into(),
        }
    }

    #[tokio::test]
    async fn filters_combine_and_newest_comes_first() {
        let (db, _dir) = test_pool().await;
        insert(
            &db,
            &event("e1", "user.add", json!({"email": "Alice@example.com"})),
        )
        .await
        .unwrap();
        insert(
            &db,
            &event("e2", "user.login", json!({"email": "bob@example.com"})),
        )
        .await
        .unwrap();
        insert(&db, &event("e3", "user.add.more", json!({})))
            .await
            .unwrap();
        let all = list(&db, None, &[], Page::default()).await.unwrap();
        assert_eq!(
            all.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
            ["e3", "e2", "e1"]
        );
        let adds = list(&db, None, &["user.add"], Page::default())
            .await
            .unwrap();
        assert_eq!(adds.len(), 1, "actions match exactly");
        let alice = list(&db, Some("alice"), &[], Page::default())
            .await
            .unwrap();
        assert_eq!(alice[0].id, "e1");
        let none = list(&db, Some("alice"), &["user.login"], Page::default())
            .await
            .unwrap();
        assert!(none.is_empty());
        let boot = list(
            &db,
            Some("BOOT"),
            &[],
            Page {
                page: 2,
                per_page: 2,
            },
        )
        .await
        .unwrap();
        assert_eq!(boot.len(), 1);
        assert_eq!(get(&db, "e2").await.unwrap().unwrap().action, "user.login");
        assert!(get(&db, "e9").await.unwrap().is_none());
    }
}
