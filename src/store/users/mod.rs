//! SQL for the `users` table; the TOTP columns are in [`totp`], directory users in [`directory`],
//! milestones in [`lifecycle`], what logins read and write in [`login`].

/// The columns of [`UserRow`], for `concat!` so that queries stay `&'static str` literals.
macro_rules! user_columns {
    () => {
        "id, username, email, fallback_email, display_name, role, active, source, invite_accepted, \
         creation_time, totp_enabled, avatar, \
         EXISTS (SELECT 1 FROM images WHERE images.name = 'background/' || users.id) \
         AS has_background_image"
    };
}

mod directory;
mod lifecycle;
mod login;
mod totp;

pub use directory::*;
pub use lifecycle::*;
pub use login::*;
pub use totp::*;

use sqlx::{QueryBuilder, Sqlite, SqliteExecutor};

use crate::auth::Role;
use crate::store::Page;

/// A user as the rest of the code sees it; the password hash is read only where it is checked.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub username: Option<String>,
    pub email: String,
    pub fallback_email: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
    pub source: String,
    pub invite_accepted: bool,
    pub creation_time: String,
    pub totp_enabled: bool,
    /// `""`, `gravatar` or `custom`.
    pub avatar: String,
    /// Whether an image named `background/<id>` exists (computed, not a column).
    pub has_background_image: bool,
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub username: Option<&'a str>,
    pub email: &'a str,
    pub fallback_email: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    /// False for users created without a password, who still have to finish an invite.
    pub invite_accepted: bool,
    pub creation_time: &'a str,
}

pub async fn insert(db: impl SqliteExecutor<'_>, user: &NewUser<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO users (id, username, email, fallback_email, display_name, password_hash, role, \
         invite_accepted, creation_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(user.id)
    .bind(user.username)
    .bind(user.email)
    .bind(user.fallback_email)
    .bind(user.display_name)
    .bind(user.password_hash)
    .bind(user.role)
    .bind(user.invite_accepted)
    .bind(user.creation_time)
    .execute(db)
    .await
    .map(drop)
}

pub async fn owner_exists(db: impl SqliteExecutor<'_>) -> sqlx::Result<bool> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE role = 'owner')")
        .fetch_one(db)
        .await
}

/// The owner's email, once activated.
pub async fn owner_email(db: impl SqliteExecutor<'_>) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT email FROM users WHERE role = 'owner' LIMIT 1")
        .fetch_optional(db)
        .await
}

pub async fn find_by_id(db: impl SqliteExecutor<'_>, id: &str) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn find_by_username(
    db: impl SqliteExecutor<'_>,
    username: &str,
) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE username = ?"
    ))
    .bind(username.to_lowercase())
    .fetch_optional(db)
    .await
}

/// The users of `ids` (a JSON array is bound, so the query stays static) that exist.
pub async fn find_many(db: impl SqliteExecutor<'_>, ids: &[String]) -> sqlx::Result<Vec<UserRow>> {
    sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE id IN (SELECT value FROM json_each(?))"
    ))
    .bind(serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned()))
    .fetch_all(db)
    .await
}

/// Active users by id, as the directory server shows them.
pub async fn list_active(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<UserRow>> {
    sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE active = 1 ORDER BY id"
    ))
    .fetch_all(db)
    .await
}

/// A page of users by username (users without one, invited but not signed up, come last).
/// `search` is a case-insensitive substring of username, email or display name.
pub async fn list(
    db: impl SqliteExecutor<'_>,
    search: Option<&str>,
    active: Option<bool>,
    page: Page,
) -> sqlx::Result<Vec<UserRow>> {
    let mut query = QueryBuilder::<Sqlite>::new(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users WHERE 1 = 1"
    ));
    if let Some(search) = search {
        query.push(" AND instr(lower(coalesce(username, '') || ' ' || email || ' ' || display_name), lower(");
        query.push_bind(search.to_owned()).push(")) > 0");
    }
    if let Some(active) = active {
        query.push(" AND active = ").push_bind(active);
    }
    query
        .push(" ORDER BY username IS NULL, username, email LIMIT ")
        .push_bind(page.limit());
    query.push(" OFFSET ").push_bind(page.offset());
    query.build_query_as().fetch_all(db).await
}

/// Fields of a profile change; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct ProfileChange<'a> {
    pub email: Option<&'a str>,
    pub fallback_email: Option<&'a str>,
    pub display_name: Option<&'a str>,
    /// Only applied while the user has no username yet.
    pub username: Option<&'a str>,
}

pub async fn update_profile(
    db: impl SqliteExecutor<'_>,
    id: &str,
    change: &ProfileChange<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET email = coalesce(?, email), fallback_email = coalesce(?, fallback_email), \
         display_name = coalesce(?, display_name), username = coalesce(username, ?) WHERE id = ?",
    )
    .bind(change.email)
    .bind(change.fallback_email)
    .bind(change.display_name)
    .bind(change.username)
    .bind(id)
    .execute(db)
    .await
    .map(drop)
}

pub async fn set_role(db: impl SqliteExecutor<'_>, id: &str, role: Role) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET role = ? WHERE id = ?")
        .bind(role)
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}

pub async fn set_active(db: impl SqliteExecutor<'_>, id: &str, active: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET active = ? WHERE id = ?")
        .bind(active)
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}

pub async fn set_avatar(db: impl SqliteExecutor<'_>, id: &str, avatar: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET avatar = ? WHERE id = ?")
        .bind(avatar)
        .bind(id)
        .execute(db)
        .await
        .map(drop)
}

/// Deletes a user; their tokens, app passwords and images go with them (foreign keys).
pub async fn delete(db: impl SqliteExecutor<'_>, id: &str) -> sqlx::Result<bool> {
    let done = sqlx::query("DELETE FROM users WHERE id = ?")
        .bind(id)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// All users, by username, for the operator's listing.
pub async fn list_all(db: impl SqliteExecutor<'_>) -> sqlx::Result<Vec<UserRow>> {
    sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        " FROM users ORDER BY username"
    ))
    .fetch_all(db)
    .await
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::test_pool;

    pub(crate) async fn add_user(db: &sqlx::SqlitePool, id: &str, username: &str, role: Role) {
        let email = format!("{username}@example.com");
        let user = NewUser {
            id,
            username: Some(username),
            email: &email,
            fallback_email: &email,
            display_name: "",
            password_hash: "hash",
            role,
            invite_accepted: true,
            creation_time: "2026-01-01T00:00:00.000Z",
        };
        insert(db, &user).await.unwrap();
    }

    #[tokio::test]
    async fn a_second_owner_is_refused_by_the_schema() {
        let (db, _dir) = test_pool().await;
        assert!(!owner_exists(&db).await.unwrap());
        assert_eq!(owner_email(&db).await.unwrap(), None);
        add_user(&db, "uid-0", "dave", Role::Admin).await;
        add_user(&db, "uid-1", "alice", Role::Owner).await;
        assert!(owner_exists(&db).await.unwrap());
        assert_eq!(
            owner_email(&db).await.unwrap().as_deref(),
            Some("alice@example.com")
        );
        let err = insert(
            &db,
            &NewUser {
                id: "uid-2",
                username: Some("bob"),
                email: "bob@example.com",
                fallback_email: "",
                display_name: "",
                password_hash: "h",
                role: Role::Owner,
                invite_accepted: true,
                creation_time: "2026-01-01T00:00:00.000Z",
            },
        )
        .await
        .unwrap_err();
        assert!(err.as_database_error().unwrap().is_unique_violation());
    }

    #[tokio::test]
    async fn users_are_listed_by_name_and_filtered() {
        let (db, _dir) = test_pool().await;
        add_user(&db, "uid-1", "carol", Role::User).await;
        add_user(&db, "uid-2", "alice", Role::Admin).await;
        add_user(&db, "uid-3", "bob", Role::User).await;
        set_active(&db, "uid-3", false).await.unwrap();
        let names = |rows: Vec<UserRow>| {
            rows.into_iter()
                .map(|u| u.username.unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(list(&db, None, None, Page::default()).await.unwrap()),
            ["alice", "bob", "carol"]
        );
        assert_eq!(
            names(list(&db, Some("CAR"), None, Page::default()).await.unwrap()),
            ["carol"]
        );
        assert_eq!(
            names(list(&db, None, Some(false), Page::default()).await.unwrap()),
            ["bob"]
        );
        let second = Page {
            page: 2,
            per_page: 2,
        };
        assert_eq!(
            names(list(&db, None, None, second).await.unwrap()),
            ["carol"]
        );
    }

    #[tokio::test]
    async fn a_profile_change_touches_only_the_given_fields() {
        let (db, _dir) = test_pool().await;
        add_user(&db, "uid-1", "alice", Role::User).await;
        let change = ProfileChange {
            display_name: Some("Alice"),
            username: Some("other"),
            ..Default::default()
        };
        update_profile(&db, "uid-1", &change).await.unwrap();
        let user = find_by_id(&db, "uid-1").await.unwrap().unwrap();
        assert_eq!(user.display_name, "Alice");
        assert_eq!(
            user.username.as_deref(),
            Some("alice"),
            "an existing username stays"
        );
        assert_eq!(user.email, "alice@example.com");
        set_role(&db, "uid-1", Role::Admin).await.unwrap();
        set_avatar(&db, "uid-1", "gravatar").await.unwrap();
        let user = find_by_id(&db, "uid-1").await.unwrap().unwrap();
        assert_eq!((user.role, user.avatar.as_str()), (Role::Admin, "gravatar"));
        assert!(delete(&db, "uid-1").await.unwrap());
        assert!(!delete(&db, "uid-1").await.unwrap());
    }
}
