//! SQL of logins: users with their password hash, and setting it.

use sqlx::{SqliteExecutor, SqlitePool};

use super::UserRow;

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

/// The user with this id, with the password hash (the directory server binds by id too).
pub async fn find_by_id_for_login(
    db: &SqlitePool,
    id: &str,
) -> sqlx::Result<Option<(UserRow, String)>> {
    let row: Option<LoginRow> = sqlx::query_as(concat!(
        "SELECT ",
        user_columns!(),
        ", password_hash FROM users WHERE id = ?"
    ))
    .bind(id)
    .fetch_optional(db)
    .await?;
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

pub async fn password_hash(db: impl SqliteExecutor<'_>, id: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT password_hash FROM users WHERE id = ?")
        .bind(id)
        .fetch_optional(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::store::test_pool;
    use crate::store::users::tests::add_user;
    use crate::store::users::{
        find_by_id, find_by_username, find_many, list_active, list_all, set_active,
    };

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
        let by_id = find_by_id_for_login(&db, "uid-1").await.unwrap().unwrap();
        assert_eq!(by_id.1, "new");
        let ids = ["uid-1".to_owned(), "uid-2".to_owned()];
        assert_eq!(find_many(&db, &ids).await.unwrap().len(), 1);
        set_active(&db, "uid-1", false).await.unwrap();
        assert!(list_active(&db).await.unwrap().is_empty());
    }
}
