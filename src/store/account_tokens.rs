//! SQL for the `account_tokens` table: the hashed secrets of invite and password reset links.
//! A password change or a deactivation deletes a user's links (triggers of migration 0005).

use sqlx::SqliteExecutor;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "TEXT", rename_all = "lowercase")]
pub enum Purpose {
    Invite,
    Reset,
}

/// Live links kept per user and purpose (see [`prune`]).
const KEEP_PER_USER: i64 = 5;

/// Stores a link's hash.
pub async fn insert(
    db: impl SqliteExecutor<'_>,
    hash: &[u8],
    user_id: &str,
    purpose: Purpose,
    expires: i64,
    creation_time: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO account_tokens (hash, user_id, purpose, expires, creation_time) \
         VALUES (?, ?, ?, ?, ?)",
    )
    .bind(hash)
    .bind(user_id)
    .bind(purpose)
    .bind(expires)
    .bind(creation_time)
    .execute(db)
    .await
    .map(drop)
}

/// Drops the user's expired links of `purpose` and all but the newest few live ones.
pub async fn prune(
    db: impl SqliteExecutor<'_>,
    user_id: &str,
    purpose: Purpose,
    now_ms: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "DELETE FROM account_tokens WHERE user_id = ?1 AND purpose = ?2 AND (expires <= ?3 \
         OR hash NOT IN (SELECT hash FROM account_tokens WHERE user_id = ?1 AND purpose = ?2 \
                         ORDER BY expires DESC LIMIT ?4))",
    )
    .bind(user_id)
    .bind(purpose)
    .bind(now_ms)
    .bind(KEEP_PER_USER)
    .execute(db)
    .await
    .map(drop)
}

/// The user whose live link has this hash.
pub async fn find_user(
    db: impl SqliteExecutor<'_>,
    hash: &[u8],
    purpose: Purpose,
    now_ms: i64,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT user_id FROM account_tokens WHERE hash = ? AND purpose = ? AND expires > ?",
    )
    .bind(hash)
    .bind(purpose)
    .bind(now_ms)
    .fetch_optional(db)
    .await
}

/// Uses the link up: deletes it and answers its user if it was live. Of two concurrent uses,
/// one gets the user.
pub async fn take(
    db: impl SqliteExecutor<'_>,
    hash: &[u8],
    purpose: Purpose,
    now_ms: i64,
) -> sqlx::Result<Option<String>> {
    let taken: Option<(String, i64)> = sqlx::query_as(
        "DELETE FROM account_tokens WHERE hash = ? AND purpose = ? RETURNING user_id, expires",
    )
    .bind(hash)
    .bind(purpose)
    .fetch_optional(db)
    .await?;
    Ok(taken.and_then(|(user_id, expires)| (expires > now_ms).then_some(user_id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::store::test_pool;
    use crate::store::users::tests::add_user;

    const NOW: i64 = 1_000_000;

    async fn link(db: &sqlx::SqlitePool, hash: &[u8], purpose: Purpose, expires: i64) {
        insert(
            db,
            hash,
            "uid-1",
            purpose,
            expires,
            "2026-01-01T00:00:00.000Z",
        )
        .await
        .unwrap();
        prune(db, "uid-1", purpose, NOW).await.unwrap();
    }

    #[tokio::test]
    async fn a_link_is_found_while_live_and_taken_once() {
        let (db, _dir) = test_pool().await;
        add_user(&db, "uid-1", "alice", Role::User).await;
        link(&db, b"invite", Purpose::Invite, NOW + 10).await;

        assert_eq!(
            find_user(&db, b"invite", Purpose::Invite, NOW)
                .await
                .unwrap(),
            Some("uid-1".into())
        );
        assert_eq!(
            find_user(&db, b"invite", Purpose::Reset, NOW)
                .await
                .unwrap(),
            None,
            "an invite is no reset"
        );
        assert_eq!(
            find_user(&db, b"invite", Purpose::Invite, NOW + 10)
                .await
                .unwrap(),
            None,
            "expired"
        );
        assert_eq!(
            take(&db, b"invite", Purpose::Invite, NOW).await.unwrap(),
            Some("uid-1".into())
        );
        assert_eq!(
            take(&db, b"invite", Purpose::Invite, NOW).await.unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn an_expired_link_is_taken_but_answers_nobody() {
        let (db, _dir) = test_pool().await;
        add_user(&db, "uid-1", "alice", Role::User).await;
        link(&db, b"reset", Purpose::Reset, NOW + 10).await;

        assert_eq!(
            take(&db, b"reset", Purpose::Reset, NOW + 10).await.unwrap(),
            None
        );
        assert_eq!(
            find_user(&db, b"reset", Purpose::Reset, 0).await.unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn only_the_newest_links_are_kept() {
        let (db, _dir) = test_pool().await;
        add_user(&db, "uid-1", "alice", Role::User).await;
        for n in 0..8u8 {
            link(&db, &[n], Purpose::Reset, NOW + 100 + i64::from(n)).await;
        }
        link(&db, b"invite", Purpose::Invite, NOW + 1).await;

        let kept: i64 =
            sqlx::query_scalar("SELECT count(*) FROM account_tokens WHERE purpose = 'reset'")
                .fetch_one(&db)
                .await
                .unwrap();
        assert_eq!(kept, KEEP_PER_USER);
        assert!(
            find_user(&db, &[0], Purpose::Reset, NOW)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            find_user(&db, &[7], Purpose::Reset, NOW)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            find_user(&db, b"invite", Purpose::Invite, NOW)
                .await
                .unwrap()
                .is_some()
        );
    }

    #[tokio::test]
    async fn a_password_change_or_deactivation_ends_the_links() {
        let (db, _dir) = test_pool().await;
        add_user(&db, "uid-1", "alice", Role::User).await;
        link(&db, b"a", Purpose::Reset, NOW + 10).await;
        crate::store::users::set_password_hash(&db, "uid-1", "new")
            .await
            .unwrap();
        assert!(
            find_user(&db, b"a", Purpose::Reset, NOW)
                .await
                .unwrap()
                .is_none()
        );

        link(&db, b"b", Purpose::Invite, NOW + 10).await;
        crate::store::users::set_active(&db, "uid-1", false)
            .await
            .unwrap();
        assert!(
            find_user(&db, b"b", Purpose::Invite, NOW)
                .await
                .unwrap()
                .is_none()
        );
    }
}
