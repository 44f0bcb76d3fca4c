//! SQL for the `users` table.

use sqlx::{SqliteExecutor, SqlitePool};

use crate::auth::Role;

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
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub username: Option<&'a str>,
    pub email: &'a str,
    pub fallback_email: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
    pub creation_time: &'a str,
}

/// The columns of [`UserRow`], for `concat!` so that queries stay `&'static str` literals.
macro_rules! user_columns {
    () => {
        "id, username, email, fallback_email, display_name, role, active, source, invite_accepted, \
         creation_time"
    };
}

pub async fn insert(db: impl SqliteExecutor<'_>, user: &NewUser<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO users (id, username, email, fallback_email, display_name, password_hash, role, \
         creation_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(user.id)
    .bind(user.username)
    .bind(user.email)
    .bind(user.fallback_email)
    .bind(user.display_name)
    .bind(user.password_hash)
    .bind(user.role)
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

/// The user a login names (username, or email when it contains `@`), with the password hash.
pub async fn find_for_login(
    db: &SqlitePool,
    login: &str,
) -> sqlx::Result<Option<(UserRow, String)>> {
    let login = login.to_lowercase();
    let sql = if login.contains('@') {
        concat!(
            "SELECT ",
            user_columns!(),
            ", password_hash FROM users WHERE email = ?"
        )
    } else {
        concat!(
            "SELECT ",
            user_columns!(),
            ", password_hash FROM users WHERE username = ?"
        )
    };
    let row: Option<LoginRow> = sqlx::query_as(sql).bind(login).fetch_optional(db).await?;
    Ok(row.map(|row| (row.user, row.password_hash)))
}

#[derive(sqlx::FromRow)]
struct LoginRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
}

pub async fn set_password_hash(
    db: impl SqliteExecutor<'_>,
    id: &str,
    hash: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE users SET password_hash = ? WHERE id = ?")
        .bind(hash)
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

    pub(crate) async fn add_user(db: &SqlitePool, id: &str, username: &str, role: Role) {
        let email = format!("{username}@example.com");
        let user = NewUser {
            id,
            username: Some(username),
            email: &email,
            fallback_email: &email,
            display_name: "",
            password_hash: "hash",
            role,
            creation_time: "2026-01-01T00:00:00.000Z",
        };
        insert(db, &user).await.unwrap();
    }

    #[tokio::test]
    async fn a_second_owner_is_refused_by_the_schema() {
        let (db, _dir) = test_pool().await;
        assert!(!owner_exists(&db).await.unwrap());
        add_user(&db, "uid-1", "alice", Role::Owner).await;
        assert!(owner_exists(&db).await.unwrap());
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
                creation_time: "2026-01-01T00:00:00.000Z",
            },
        )
        .await
        .unwrap_err();
        assert!(err.as_database_error().unwrap().is_unique_violation());
    }

    #[tokio::test]
    async fn login_finds_users_by_name_or_email_in_any_case() {
        let (db, _dir) = test_pool().await;
        add_user(&db, "uid-1", "alice", Role::Admin).await;
        let (user, hash) = find_for_login(&db, "ALICE").await.unwrap().unwrap();
        assert_eq!((user.id.as_str(), hash.as_str()), ("uid-1", "hash"));
        assert!(
            find_for_login(&db, "Alice@Example.com")
                .await
                .unwrap()
                .is_some()
        );
        assert!(find_for_login(&db, "nobody").await.unwrap().is_none());
        assert!(set_password_hash(&db, "uid-1", "new").await.unwrap());
        assert_eq!(
            find_for_login(&db, "alice").await.unwrap().unwrap().1,
            "new"
        );
        assert_eq!(list_all(&db).await.unwrap().len(), 1);
        assert_eq!(
            find_by_username(&db, "Alice").await.unwrap().unwrap().role,
            Role::Admin
        );
        assert!(find_by_id(&db, "uid-2").await.unwrap().is_none());
    }
}
