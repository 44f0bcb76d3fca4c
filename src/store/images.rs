//! SQL for the `images` table.

use sqlx::SqliteExecutor;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImageRow {
    pub content_type: String,
    pub etag: String,
    pub data: Vec<u8>,
}

/// Stores (or replaces) the image `name`, owned by `user_id` when it is a user's.
pub async fn put(
    db: impl SqliteExecutor<'_>,
    name: &str,
    user_id: Option<&str>,
    image: ImageRow,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO images (name, user_id, content_type, etag, data) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (name) DO UPDATE SET content_type = excluded.content_type, \
         etag = excluded.etag, data = excluded.data",
    )
    .bind(name)
    .bind(user_id)
    .bind(image.content_type)
    .bind(image.etag)
    // Owned: a borrowed blob is copied once more on its way to SQLite.
    .bind(image.data)
    .execute(db)
    .await
    .map(drop)
}

pub async fn get(db: impl SqliteExecutor<'_>, name: &str) -> sqlx::Result<Option<ImageRow>> {
    sqlx::query_as("SELECT content_type, etag, data FROM images WHERE name = ?")
        .bind(name)
        .fetch_optional(db)
        .await
}

pub async fn delete(db: impl SqliteExecutor<'_>, name: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM images WHERE name = ?")
        .bind(name)
        .execute(db)
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::store::test_pool;
    use crate::store::users::tests::add_user;

    #[tokio::test]
    async fn images_are_replaced_and_go_with_their_user() {
        let (db, _dir) = test_pool().await;
        add_user(&db, "uid-1", "alice", Role::User).await;
        let image = |etag: &str| ImageRow {
            content_type: "image/png".into(),
            etag: etag.into(),
            data: vec![1, 2],
        };
        put(&db, "avatar/uid-1", Some("uid-1"), image("a"))
            .await
            .unwrap();
        put(&db, "avatar/uid-1", Some("uid-1"), image("b"))
            .await
            .unwrap();
        assert_eq!(get(&db, "avatar/uid-1").await.unwrap().unwrap().etag, "b");
        put(&db, "cloudron_avatar", None, image("c")).await.unwrap();
        sqlx::query("DELETE FROM users").execute(&db).await.unwrap();
        assert!(get(&db, "avatar/uid-1").await.unwrap().is_none());
        assert!(get(&db, "cloudron_avatar").await.unwrap().is_some());
        delete(&db, "cloudron_avatar").await.unwrap();
        assert!(get(&db, "cloudron_avatar").await.unwrap().is_none());
    }
}
