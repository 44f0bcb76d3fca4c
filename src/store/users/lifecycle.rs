//! SQL for the milestones of accounts: an invite finished, the owner's activation.

use sqlx::SqliteExecutor;

pub async fn accept_invite(db: impl SqliteExecutor<'_>, id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET invite_accepted = 1 WHERE id = ?")
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}

/// When the owner was created: the activation time.
pub async fn activation_time(db: impl SqliteExecutor<'_>) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT creation_time FROM users WHERE role = 'owner' LIMIT 1")
        .fetch_optional(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::store::test_pool;
    use crate::store::users::tests::add_user;

    #[tokio::test]
    async fn accepting_an_invite_marks_the_user() {
        let (db, _dir) = test_pool().await;
        add_user(&db, "uid-1", "alice", Role::User).await;
        sqlx::query("UPDATE users SET invite_accepted = 0")
            .execute(&db)
            .await
            .unwrap();

        accept_invite(&db, "uid-1").await.unwrap();

        let user = crate::store::users::find_by_id(&db, "uid-1")
            .await
            .unwrap()
            .unwrap();
        assert!(user.invite_accepted);
    }

    #[tokio::test]
    async fn the_activation_time_is_the_owners_creation() {
        let (db, _dir) = test_pool().await;
        add_user(&db, "uid-1", "bob", Role::Admin).await;
        assert_eq!(activation_time(&db).await.unwrap(), None);
        add_user(&db, "uid-2", "alice", Role::Owner).await;
        assert_eq!(
            activation_time(&db).await.unwrap().as_deref(),
            Some("2026-01-01T00:00:00.000Z")
        );
    }
}
