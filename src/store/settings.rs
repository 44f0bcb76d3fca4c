//! SQL for the `settings` table: JSON values keyed by name.

use sqlx::SqliteExecutor;

pub async fn get(db: impl SqliteExecutor<'_>, name: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT value FROM settings WHERE name = ?")
        .bind(name)
        .fetch_optional(db)
        .await
}

pub async fn set(db: impl SqliteExecutor<'_>, name: &str, value: &str) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO settings (name, value) VALUES (?, ?) \
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(name)
    .bind(value)
    .execute(db)
    .await
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_pool;

    #[tokio::test]
    async fn a_setting_is_absent_then_stored_then_replaced() {
        let (db, _dir) = test_pool().await;
        assert_eq!(get(&db, "x").await.unwrap(), None);
        set(&db, "x", "1").await.unwrap();
        set(&db, "x", "2").await.unwrap();
        assert_eq!(get(&db, "x").await.unwrap().as_deref(), Some("2"));
    }
}
