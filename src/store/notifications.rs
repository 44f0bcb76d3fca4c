//! SQL for the `notifications` table.

use sqlx::{QueryBuilder, Sqlite, SqliteExecutor};

use crate::store::Page;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NotificationRow {
    pub id: i64,
    pub event_id: Option<String>,
    pub title: String,
    pub message: String,
    pub creation_time: String,
    pub acknowledged: bool,
}

pub async fn insert(
    db: impl SqliteExecutor<'_>,
    event_id: Option<&str>,
    title: &str,
    message: &str,
    now: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO notifications (event_id, title, message, creation_time) VALUES (?, ?, ?, ?) \
         RETURNING id",
    )
    .bind(event_id)
    .bind(title)
    .bind(message)
    .bind(now)
    .fetch_one(db)
    .await
}

/// Raises an alert: creates its notification, or refreshes it in place (unacknowledged again)
/// when it was cleared or its message changed. Raising a raised alert again changes nothing, so
/// a periodic check does not undo an admin's acknowledgement.
pub async fn upsert_alert(
    db: impl SqliteExecutor<'_>,
    alert_id: &str,
    title: &str,
    message: &str,
    now: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO notifications (alert_id, alert_raised, title, message, creation_time) \
         VALUES (?, 1, ?, ?, ?) \
         ON CONFLICT (alert_id) DO UPDATE SET title = excluded.title, message = excluded.message, \
         creation_time = excluded.creation_time, acknowledged = 0, alert_raised = 1 \
         WHERE alert_raised = 0 OR message != excluded.message",
    )
    .bind(alert_id)
    .bind(title)
    .bind(message)
    .bind(now)
    .execute(db)
    .await
    .map(drop)
}

/// Clears an alert: its notification, if there is one, is acknowledged.
pub async fn acknowledge_alert(db: impl SqliteExecutor<'_>, alert_id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE notifications SET acknowledged = 1, alert_raised = 0 WHERE alert_id = ?")
        .bind(alert_id)
        .execute(db)
        .await
        .map(drop)
}

/// Newest first; the `acknowledged` filter applies before paging.
pub async fn list(
    db: impl SqliteExecutor<'_>,
    acknowledged: Option<bool>,
    page: Page,
) -> sqlx::Result<Vec<NotificationRow>> {
    let mut query = QueryBuilder::<Sqlite>::new(
        "SELECT id, event_id, title, message, creation_time, acknowledged FROM notifications",
    );
    if let Some(acknowledged) = acknowledged {
        query.push(" WHERE acknowledged = ").push_bind(acknowledged);
    }
    query
        .push(" ORDER BY creation_time DESC, id DESC LIMIT ")
        .push_bind(page.limit());
    query.push(" OFFSET ").push_bind(page.offset());
    query.build_query_as().fetch_all(db).await
}

pub async fn get(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<Option<NotificationRow>> {
    sqlx::query_as(
        "SELECT id, event_id, title, message, creation_time, acknowledged FROM notifications WHERE id = ?",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn set_acknowledged(
    db: impl SqliteExecutor<'_>,
    id: i64,
    acknowledged: bool,
) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE notifications SET acknowledged = ? WHERE id = ?")
        .bind(acknowledged)
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_pool;

    #[tokio::test]
    async fn alerts_are_one_row_each_and_filters_apply_before_paging() {
        let (db, _dir) = test_pool().await;
        upsert_alert(
            &db,
            "reboot",
            "Reboot Required",
            "first",
            "2026-01-01T00:00:00.000Z",
        )
        .await
        .unwrap();
        for n in 0..3 {
            let id = insert(&db, None, &format!("n{n}"), "m", "2026-01-02T00:00:00.000Z")
                .await
                .unwrap();
            set_acknowledged(&db, id, true).await.unwrap();
        }
        acknowledge_alert(&db, "reboot").await.unwrap();
        upsert_alert(
            &db,
            "reboot",
            "Reboot Required",
            "again",
            "2026-01-03T00:00:00.000Z",
        )
        .await
        .unwrap();
        let open = list(
            &db,
            Some(false),
            Page {
                page: 1,
                per_page: 1,
            },
        )
        .await
        .unwrap();
        assert_eq!((open.len(), open[0].message.as_str()), (1, "again"));
        assert_eq!(list(&db, None, Page::default()).await.unwrap().len(), 4);
        assert_eq!(
            list(
                &db,
                Some(true),
                Page {
                    page: 2,
                    per_page: 2
                }
            )
            .await
            .unwrap()
            .len(),
            1
        );
        assert!(!set_acknowledged(&db, 99, true).await.unwrap());
        assert!(get(&db, 99).await.unwrap().is_none());
    }
}
