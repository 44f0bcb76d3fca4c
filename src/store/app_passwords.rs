//! SQL for the `app_passwords` table.

use sqlx::SqliteExecutor;

use crate::store::Page;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AppPasswordRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub identifier: String,
    pub creation_time: String,
}

pub async fn insert(
    db: impl SqliteExecutor<'_>,
    row: &AppPasswordRow,
    hash: &[u8],
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO app_passwords (id, user_id, name, identifier, hash, creation_time) \
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&row.id)
    .bind(&row.user_id)
    .bind(&row.name)
    .bind(&row.identifier)
    .bind(hash)
    .bind(&row.creation_time)
    .execute(db)
    .await
    .map(drop)
}

pub async fn list_for_user(
    db: impl SqliteExecutor<'_>,
    user_id: &str,
    page: Page,
) -> sqlx::Result<Vec<AppPasswordRow>> {
    sqlx::query_as(
        "SELECT id, user_id, name, identifier, creation_time FROM app_passwords \
         WHERE user_id = ? ORDER BY creation_time, id LIMIT ? OFFSET ?",
    )
    .bind(user_id)
    .bind(page.limit())
    .bind(page.offset())
    .fetch_all(db)
    .await
}

pub async fn get_for_user(
    db: impl SqliteExecutor<'_>,
    user_id: &str,
    id: &str,
) -> sqlx::Result<Option<AppPasswordRow>> {
    sqlx::query_as(
        "SELECT id, user_id, name, identifier, creation_time FROM app_passwords \
         WHERE user_id = ? AND id = ?",
    )
    .bind(user_id)
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn delete_for_user(
    db: impl SqliteExecutor<'_>,
    user_id: &str,
    id: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM app_passwords WHERE user_id = ? AND id = ?")
        .bind(user_id)
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether `hash` is the hash of one of the user's app passwords.
pub async fn user_has(
    db: impl SqliteExecutor<'_>,
    user_id: &str,
    hash: &[u8],
) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM app_passwords WHERE user_id = ? AND hash = ?)")
        .bind(user_id)
        .bind(hash)
        .fetch_one(db)
        .await
}

pub async fn delete_all_for_user(db: impl SqliteExecutor<'_>, user_id: &str) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM app_passwords WHERE user_id = ?")
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::store::test_pool;
    use crate::store::users::tests::add_user;

    fn row(id: &str, user: &str, name: &str) -> AppPasswordRow {
        AppPasswordRow {
            id: id.into(),
            user_id: user.into(),
            name: name.into(),
            identifier: "mail".into(),
            creation_time: "2026-01-01T00:00:00.000Z".into(),
        }
    }

    #[tokio::test]
    async fn app_passwords_belong_to_their_user() {
        let (db, _dir) = test_pool().await;
        add_user(&db, "uid-1", "alice", Role::User).await;
        add_user(&db, "uid-2", "bob", Role::User).await;
        insert(&db, &row("a1", "uid-1", "phone"), b"h1")
            .await
            .unwrap();
        insert(&db, &row("a2", "uid-1", "laptop"), b"h2")
            .await
            .unwrap();
        let duplicate = insert(&db, &row("a3", "uid-1", "phone"), b"h3")
            .await
            .unwrap_err();
        assert!(duplicate.as_database_error().unwrap().is_unique_violation());
        assert_eq!(
            list_for_user(&db, "uid-1", Page::default())
                .await
                .unwrap()
                .len(),
            2
        );
        assert!(get_for_user(&db, "uid-2", "a1").await.unwrap().is_none());
        assert!(user_has(&db, "uid-1", b"h2").await.unwrap());
        assert!(!user_has(&db, "uid-2", b"h2").await.unwrap());
        assert!(!delete_for_user(&db, "uid-2", "a1").await.unwrap());
        assert!(delete_for_user(&db, "uid-1", "a1").await.unwrap());
        assert_eq!(delete_all_for_user(&db, "uid-1").await.unwrap(), 1);
    }
}
