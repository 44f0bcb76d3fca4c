//! SQL for the `tasks` table.

use sqlx::types::Json;
use sqlx::{QueryBuilder, Sqlite, SqliteExecutor};

use crate::store::Page;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TaskRow {
    pub id: i64,
    #[sqlx(rename = "type")]
    pub task_type: String,
    pub percent: i64,
    pub message: String,
    pub error: Option<Json<serde_json::Value>>,
    pub result: Option<Json<serde_json::Value>>,
    pub pending: bool,
    pub active: bool,
    pub success: bool,
    pub creation_time: String,
    pub ts: String,
}

/// The columns of [`TaskRow`], for `concat!` so that queries stay `&'static str` literals.
macro_rules! task_columns {
    () => {
        "id, type, percent, message, error, result, pending, active, success, creation_time, ts"
    };
}

/// A new pending task; ids only grow (AUTOINCREMENT never reuses one).
pub async fn insert(
    db: impl SqliteExecutor<'_>,
    task_type: &str,
    args: &serde_json::Value,
    now: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO tasks (type, args, message, creation_time, ts) VALUES (?, ?, 'Queued', ?, ?) \
         RETURNING id",
    )
    .bind(task_type)
    .bind(Json(args))
    .bind(now)
    .bind(now)
    .fetch_one(db)
    .await
}

pub async fn set_active(db: impl SqliteExecutor<'_>, id: i64, now: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE tasks SET pending = 0, active = 1, message = 'Starting', ts = ? WHERE id = ?",
    )
    .bind(now)
    .bind(id)
    .execute(db)
    .await
    .map(drop)
}

pub async fn set_progress(
    db: impl SqliteExecutor<'_>,
    id: i64,
    percent: u8,
    message: &str,
    now: &str,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE tasks SET percent = ?, message = ?, ts = ? WHERE id = ? AND active = 1")
        .bind(percent)
        .bind(message)
        .bind(now)
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}

/// Ends a task: percent 100, inactive, with its result or error.
pub async fn finish(
    db: impl SqliteExecutor<'_>,
    id: i64,
    result: Option<&serde_json::Value>,
    error: Option<&serde_json::Value>,
    now: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE tasks SET percent = 100, pending = 0, active = 0, success = ?, result = ?, \
         error = ?, ts = ? WHERE id = ?",
    )
    .bind(error.is_none())
    .bind(result.map(Json))
    .bind(error.map(Json))
    .bind(now)
    .bind(id)
    .execute(db)
    .await
    .map(drop)
}

/// Ends every task a previous process left unfinished with `error`; returns them.
pub async fn fail_unfinished(
    db: impl SqliteExecutor<'_>,
    error: &serde_json::Value,
    now: &str,
) -> sqlx::Result<Vec<TaskRow>> {
    sqlx::query_as(concat!(
        "UPDATE tasks SET percent = 100, pending = 0, active = 0, success = 0, error = ?, ts = ? \
         WHERE pending = 1 OR active = 1 OR percent < 100 RETURNING ",
        task_columns!()
    ))
    .bind(Json(error))
    .bind(now)
    .fetch_all(db)
    .await
}

/// How many tasks are in each state (`pending`, `active`, `success`, `failed`); states without
/// a task are left out.
pub async fn count_by_state(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as(
        "SELECT CASE WHEN pending THEN 'pending' WHEN active THEN 'active' \
         WHEN success THEN 'success' ELSE 'failed' END AS state, count(*) \
         FROM tasks GROUP BY state ORDER BY state",
    )
    .fetch_all(db)
    .await
}

pub async fn get(db: impl SqliteExecutor<'_>, id: i64) -> sqlx::Result<Option<TaskRow>> {
    sqlx::query_as(concat!(
        "SELECT ",
        task_columns!(),
        " FROM tasks WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Newest first, optionally of one type.
pub async fn list(
    db: impl SqliteExecutor<'_>,
    task_type: Option<&str>,
    page: Page,
) -> sqlx::Result<Vec<TaskRow>> {
    let mut query = QueryBuilder::<Sqlite>::new(concat!("SELECT ", task_columns!(), " FROM tasks"));
    if let Some(task_type) = task_type {
        query.push(" WHERE type = ").push_bind(task_type.to_owned());
    }
    query
        .push(" ORDER BY id DESC LIMIT ")
        .push_bind(page.limit());
    query.push(" OFFSET ").push_bind(page.offset());
    query.build_query_as().fetch_all(db).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_pool;
    use serde_json::json;

    #[tokio::test]
    async fn a_task_goes_from_pending_to_active_to_finished() {
        let (db, _dir) = test_pool().await;
        let id = insert(&db, "update", &json!({"v": 1}), "t0").await.unwrap();
        let row = get(&db, id).await.unwrap().unwrap();
        assert!(row.pending && !row.active && row.percent == 0 && row.message == "Queued");
        set_progress(&db, id, 50, "ignored while pending", "t1")
            .await
            .unwrap();
        set_active(&db, id, "t1").await.unwrap();
        set_progress(&db, id, 40, "downloading", "t2")
            .await
            .unwrap();
        let row = get(&db, id).await.unwrap().unwrap();
        assert!(!row.pending && row.active && row.percent == 40 && row.ts == "t2");
        finish(&db, id, Some(&json!({"ok": true})), None, "t3")
            .await
            .unwrap();
        let row = get(&db, id).await.unwrap().unwrap();
        assert!(row.success && !row.active && row.percent == 100);
        assert_eq!(row.result.unwrap().0, json!({"ok": true}));
    }

    #[tokio::test]
    async fn unfinished_tasks_are_failed_and_ids_never_come_back() {
        let (db, _dir) = test_pool().await;
        let done = insert(&db, "a", &json!({}), "t0").await.unwrap();
        finish(&db, done, None, Some(&json!({"message": "x"})), "t1")
            .await
            .unwrap();
        let running = insert(&db, "b", &json!({}), "t0").await.unwrap();
        set_active(&db, running, "t0").await.unwrap();
        let crashed = fail_unfinished(&db, &json!({"code": "crashed"}), "t2")
            .await
            .unwrap();
        assert_eq!(crashed.iter().map(|t| t.id).collect::<Vec<_>>(), [running]);
        assert_eq!(
            get(&db, running).await.unwrap().unwrap().error.unwrap().0["code"],
            "crashed"
        );
        sqlx::query("DELETE FROM tasks").execute(&db).await.unwrap();
        assert!(insert(&db, "c", &json!({}), "t3").await.unwrap() > running);
        assert_eq!(
            list(&db, Some("c"), Page::default()).await.unwrap().len(),
            1
        );
        assert!(
            list(&db, Some("a"), Page::default())
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn tasks_are_counted_by_state() {
        let (db, _dir) = test_pool().await;
        assert!(count_by_state(&db).await.unwrap().is_empty());
        insert(&db, "a", &json!({}), "t0").await.unwrap();
        let running = insert(&db, "b", &json!({}), "t0").await.unwrap();
        set_active(&db, running, "t0").await.unwrap();
        for error in [None, Some(json!({"code": "crashed"}))] {
            let id = insert(&db, "c", &json!({}), "t0").await.unwrap();
            finish(&db, id, None, error.as_ref(), "t1").await.unwrap();
        }

        let counts = count_by_state(&db).await.unwrap();

        let expected = [("active", 1), ("failed", 1), ("pending", 1), ("success", 1)];
        let expected: Vec<(String, i64)> = expected
            .iter()
            .map(|(state, n)| ((*state).to_owned(), *n))
            .collect();
        assert_eq!(counts, expected);
    }
}
