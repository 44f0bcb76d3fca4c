//! SQL for the `tokens` table.

use sqlx::SqliteExecutor;
use sqlx::types::Json;

use super::users::UserRow;
use crate::auth::Scope;
use crate::store::Page;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenRow {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub client_id: String,
    pub scope: Json<Scope>,
    pub expires: i64,
    pub last_used_at: Option<String>,
    pub creation_time: String,
}

pub struct NewToken<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub hash: &'a [u8],
    pub name: &'a str,
    pub client_id: &'a str,
    pub scope: &'a Scope,
    pub expires: i64,
    pub creation_time: &'a str,
    /// The admin behind a session opened with a ghost password.
    pub impersonator: Option<&'a str>,
}

/// A live token and its active user, as the auth layer needs them.
#[derive(Debug, sqlx::FromRow)]
pub struct TokenWithUser {
    pub token_id: String,
    pub token_hash: Vec<u8>,
    pub token_client_id: String,
    pub token_expires: i64,
    pub token_scope: Json<Scope>,
    pub impersonator_id: Option<String>,
    pub impersonator_username: Option<String>,
    #[sqlx(flatten)]
    pub user: UserRow,
}

pub async fn insert(db: impl SqliteExecutor<'_>, token: &NewToken<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO tokens (id, user_id, hash, name, client_id, scope, expires, creation_time, \
         impersonator_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(token.id)
    .bind(token.user_id)
    .bind(token.hash)
    .bind(token.name)
    .bind(token.client_id)
    .bind(Json(token.scope))
    .bind(token.expires)
    .bind(token.creation_time)
    .bind(token.impersonator)
    .execute(db)
    .await
    .map(drop)
}

/// The token with this hash, if unexpired at `now_ms` and its user is active (and, for a ghost
/// session, its admin is still an active admin).
pub async fn find_with_user(
    db: impl SqliteExecutor<'_>,
    hash: &[u8],
    now_ms: i64,
) -> sqlx::Result<Option<TokenWithUser>> {
    sqlx::query_as(
        "SELECT t.id AS token_id, t.hash AS token_hash, t.client_id AS token_client_id, \
                t.expires AS token_expires, \
                t.scope AS token_scope, t.impersonator_id, g.username AS impersonator_username, \
                u.id, u.username, u.email, u.fallback_email, \
                u.display_name, u.role, u.active, u.source, u.invite_accepted, u.creation_time, \
                u.totp_enabled, u.avatar, \
                EXISTS (SELECT 1 FROM images i WHERE i.name = 'background/' || u.id) \
                AS has_background_image \
         FROM tokens t JOIN users u ON u.id = t.user_id \
         LEFT JOIN users g ON g.id = t.impersonator_id \
         WHERE t.hash = ? AND t.expires > ? AND u.active = 1 \
         AND (t.impersonator_id IS NULL OR (g.active = 1 AND g.role IN ('owner', 'admin')))",
    )
    .bind(hash)
    .bind(now_ms)
    .fetch_optional(db)
    .await
}

/// Whether the token still works: as [`find_with_user`] finds tokens.
pub async fn is_live(db: impl SqliteExecutor<'_>, id: &str, now_ms: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM tokens t JOIN users u ON u.id = t.user_id \
         LEFT JOIN users g ON g.id = t.impersonator_id \
         WHERE t.id = ? AND t.expires > ? AND u.active = 1 \
         AND (t.impersonator_id IS NULL OR (g.active = 1 AND g.role IN ('owner', 'admin'))))",
    )
    .bind(id)
    .bind(now_ms)
    .fetch_one(db)
    .await
}

pub async fn list_for_user(
    db: impl SqliteExecutor<'_>,
    user_id: &str,
    page: Page,
) -> sqlx::Result<Vec<TokenRow>> {
    sqlx::query_as(
        "SELECT id, user_id, name, client_id, scope, expires, last_used_at, creation_time \
         FROM tokens WHERE user_id = ? ORDER BY creation_time, id LIMIT ? OFFSET ?",
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
) -> sqlx::Result<Option<TokenRow>> {
    sqlx::query_as(
        "SELECT id, user_id, name, client_id, scope, expires, last_used_at, creation_time \
         FROM tokens WHERE user_id = ? AND id = ?",
    )
    .bind(user_id)
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Deletes one of the user's tokens; false when there was none with that id.
pub async fn delete_for_user(
    db: impl SqliteExecutor<'_>,
    user_id: &str,
    id: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM tokens WHERE user_id = ? AND id = ?")
        .bind(user_id)
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete_all_for_user(db: impl SqliteExecutor<'_>, user_id: &str) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM tokens WHERE user_id = ?")
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(done.rows_affected())
}

/// Revokes a user's tokens of one client (e.g. login sessions), but `keep` if given.
pub async fn delete_for_client(
    db: impl SqliteExecutor<'_>,
    user_id: &str,
    client_id: &str,
    keep: Option<&str>,
) -> sqlx::Result<u64> {
    let done =
        sqlx::query("DELETE FROM tokens WHERE user_id = ? AND client_id = ? AND id IS NOT ?")
            .bind(user_id)
            .bind(client_id)
            .bind(keep)
            .execute(db)
            .await?;
    Ok(done.rows_affected())
}

pub async fn set_last_used(db: impl SqliteExecutor<'_>, id: &str, at: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE tokens SET last_used_at = ? WHERE id = ?")
        .bind(at)
        .bind(id)
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

    async fn add_token(db: &sqlx::SqlitePool, id: &str, user: &str, hash: &[u8], expires: i64) {
        let token = NewToken {
            id,
            user_id: user,
            hash,
            name: "t",
            client_id: "cid-sdk",
            scope: &Scope::read_only(),
            expires,
            creation_time: "2026-01-01T00:00:00.000Z",
            impersonator: None,
        };
        insert(db, &token).await.unwrap();
    }

    #[tokio::test]
    async fn only_live_tokens_of_active_users_are_found() {
        let (db, _dir) = test_pool().await;
        add_user(&db, "uid-1", "alice", Role::User).await;
        add_token(&db, "tid-1", "uid-1", b"live", 2_000).await;
        add_token(&db, "tid-2", "uid-1", b"old", 500).await;
        let found = find_with_user(&db, b"live", 1_000).await.unwrap().unwrap();
        assert_eq!(
            (found.token_id.as_str(), found.user.id.as_str()),
            ("tid-1", "uid-1")
        );
        assert_eq!(found.token_scope.0, Scope::read_only());
        assert!(find_with_user(&db, b"old", 1_000).await.unwrap().is_none());
        assert!(find_with_user(&db, b"nope", 1_000).await.unwrap().is_none());
        sqlx::query("UPDATE users SET active = 0")
            .execute(&db)
            .await
            .unwrap();
        assert!(find_with_user(&db, b"live", 1_000).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_ghost_session_works_while_its_admin_is_an_active_admin() {
        let (db, _dir) = test_pool().await;
        add_user(&db, "uid-1", "alice", Role::Admin).await;
        add_user(&db, "uid-2", "bob", Role::User).await;
        let token = NewToken {
            id: "tid-1",
            user_id: "uid-2",
            hash: b"ghost",
            name: "ghost",
            client_id: "cid-webadmin",
            scope: &Scope::full(),
            expires: 2_000,
            creation_time: "2026-01-01T00:00:00.000Z",
            impersonator: Some("uid-1"),
        };
        insert(&db, &token).await.unwrap();

        let found = find_with_user(&db, b"ghost", 1_000).await.unwrap().unwrap();
        assert_eq!(
            (found.user.id.as_str(), found.impersonator_id.as_deref()),
            ("uid-2", Some("uid-1"))
        );
        assert_eq!(found.impersonator_username.as_deref(), Some("alice"));
        crate::store::users::set_role(&db, "uid-1", Role::User)
            .await
            .unwrap();
        assert!(
            find_with_user(&db, b"ghost", 1_000)
                .await
                .unwrap()
                .is_none()
        );
        assert!(!is_live(&db, "tid-1", 1_000).await.unwrap());
        crate::store::users::delete(&db, "uid-1").await.unwrap();
        assert!(
            get_for_user(&db, "uid-2", "tid-1").await.unwrap().is_none(),
            "gone with the admin"
        );
    }

    #[tokio::test]
    async fn tokens_are_listed_fetched_and_deleted_per_user() {
        let (db, _dir) = test_pool().await;
        add_user(&db, "uid-1", "alice", Role::User).await;
        add_user(&db, "uid-2", "bob", Role::User).await;
        add_token(&db, "tid-1", "uid-1", b"a", 2_000).await;
        add_token(&db, "tid-2", "uid-1", b"b", 2_000).await;
        add_token(&db, "tid-3", "uid-2", b"c", 2_000).await;
        let page = Page {
            page: 1,
            per_page: 1,
        };
        assert_eq!(list_for_user(&db, "uid-1", page).await.unwrap().len(), 1);
        assert_eq!(
            list_for_user(&db, "uid-1", Page::default())
                .await
                .unwrap()
                .len(),
            2
        );
        assert!(get_for_user(&db, "uid-2", "tid-1").await.unwrap().is_none());
        assert!(!delete_for_user(&db, "uid-2", "tid-1").await.unwrap());
        set_last_used(&db, "tid-1", "2026-01-02T00:00:00.000Z")
            .await
            .unwrap();
        let token = get_for_user(&db, "uid-1", "tid-1").await.unwrap().unwrap();
        assert_eq!(
            token.last_used_at.as_deref(),
            Some("2026-01-02T00:00:00.000Z")
        );
        assert!(delete_for_user(&db, "uid-1", "tid-1").await.unwrap());
        add_token(&db, "tid-4", "uid-1", b"d", 2_000).await;
        assert_eq!(
            delete_for_client(&db, "uid-1", "cid-sdk", Some("tid-4"))
                .await
                .unwrap(),
            1
        );
        assert!(get_for_user(&db, "uid-1", "tid-4").await.unwrap().is_some());
        assert_eq!(
            delete_for_client(&db, "uid-1", "cid-sdk", None)
                .await
                .unwrap(),
            1
        );
        sqlx::query("DELETE FROM users WHERE id = 'uid-2'")
            .execute(&db)
            .await
            .unwrap();
        assert!(get_for_user(&db, "uid-2", "tid-3").await.unwrap().is_none());
    }
}
