//! SQL for the `ghosts` table: an admin's temporary password for a user (argon2id), one per user.

use sqlx::SqliteExecutor;

/// A live ghost password.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GhostRow {
    pub password_hash: String,
    /// Epoch milliseconds.
    pub expires: i64,
    /// The admin who set it.
    pub created_by: String,
}

/// Sets the user's ghost password, replacing any earlier one.
pub async fn put(
    db: impl SqliteExecutor<'_>,
    user_id: &str,
    password_hash: &str,
    expires: i64,
    created_by: &str,
    creation_time: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO ghosts (user_id, password_hash, expires, created_by, creation_time) \
         VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET \
         password_hash = excluded.password_hash, expires = excluded.expires, \
         created_by = excluded.created_by, creation_time = excluded.creation_time",
    )
    .bind(user_id)
    .bind(password_hash)
    .bind(expires)
    .bind(created_by)
    .bind(creation_time)
    .execute(db)
    .await
    .map(drop)
}

/// The user's ghost password, if one is live at `now_ms` and the admin who set it still is one.
pub async fn live(
    db: impl SqliteExecutor<'_>,
    user_id: &str,
    now_ms: i64,
) -> sqlx::Result<Option<GhostRow>> {
    sqlx::query_as(
        "SELECT g.password_hash, g.expires, g.created_by FROM ghosts g \
         JOIN users a ON a.id = g.created_by AND a.active = 1 AND a.role IN ('owner', 'admin') \
         WHERE g.user_id = ? AND g.expires > ?",
    )
    .bind(user_id)
    .bind(now_ms)
    .fetch_optional(db)
    .await
}

/// Uses the ghost password that was checked (`password_hash`) up; false when another login
/// took it first or it was replaced meanwhile.
pub async fn take(
    db: impl SqliteExecutor<'_>,
    user_id: &str,
    password_hash: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM ghosts WHERE user_id = ? AND password_hash = ?")
        .bind(user_id)
        .bind(password_hash)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::store::test_pool;
    use crate::store::users::tests::add_user;

    #[tokio::test]
    async fn a_ghost_is_live_until_it_expires_or_is_taken() {
        let (db, _dir) = test_pool().await;
        add_user(&db, "uid-1", "alice", Role::Admin).await;
        add_user(&db, "uid-2", "bob", Role::User).await;
        put(&db, "uid-2", "h1", 100, "uid-1", "2026-01-01T00:00:00.000Z")
            .await
            .unwrap();
        put(&db, "uid-2", "h2", 200, "uid-1", "2026-01-01T00:00:00.000Z")
            .await
            .unwrap();

        let ghost = live(&db, "uid-2", 150).await.unwrap().unwrap();
        assert_eq!((ghost.password_hash.as_str(), ghost.expires), ("h2", 200));
        assert!(live(&db, "uid-2", 200).await.unwrap().is_none(), "expired");
        assert!(!take(&db, "uid-2", "h1").await.unwrap(), "replaced");
        assert!(take(&db, "uid-2", "h2").await.unwrap());
        assert!(live(&db, "uid-2", 150).await.unwrap().is_none(), "used up");
    }

    #[tokio::test]
    async fn a_ghost_works_only_while_its_admin_is_an_active_admin() {
        let (db, _dir) = test_pool().await;
        add_user(&db, "uid-1", "alice", Role::Admin).await;
        add_user(&db, "uid-2", "bob", Role::User).await;
        put(&db, "uid-2", "h", 100, "uid-1", "t").await.unwrap();
        crate::store::users::set_role(&db, "uid-1", Role::UserManager)
            .await
            .unwrap();
        assert!(live(&db, "uid-2", 0).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_ghost_ends_with_the_admin_or_a_deactivation() {
        let (db, _dir) = test_pool().await;
        add_user(&db, "uid-1", "alice", Role::Admin).await;
        add_user(&db, "uid-2", "bob", Role::User).await;
        put(&db, "uid-2", "h", 100, "uid-1", "t").await.unwrap();
        crate::store::users::set_active(&db, "uid-2", false)
            .await
            .unwrap();
        assert!(live(&db, "uid-2", 0).await.unwrap().is_none());

        put(&db, "uid-2", "h", 100, "uid-1", "t").await.unwrap();
        crate::store::users::delete(&db, "uid-1").await.unwrap();
        assert!(live(&db, "uid-2", 0).await.unwrap().is_none());
    }
}
