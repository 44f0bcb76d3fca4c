//! SQL for users that come from an external directory (`source` other than `''`).

use sqlx::SqliteExecutor;

use super::NewUser;

/// Inserts `user` with its origin `source` (e.g. `ldap`).
pub async fn insert_with_source(
    db: impl SqliteExecutor<'_>,
    user: &NewUser<'_>,
    source: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO users (id, username, email, fallback_email, display_name, password_hash, role, \
         invite_accepted, creation_time, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
    .bind(source)
    .execute(db)
    .await
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;
    use crate::store::test_pool;
    use crate::store::users::find_by_id;

    #[tokio::test]
    async fn a_user_keeps_the_source_it_was_inserted_with() {
        let (db, _dir) = test_pool().await;
        let user = NewUser {
            id: "uid-1",
            username: Some("carol"),
            email: "carol@example.com",
            fallback_email: "carol@example.com",
            display_name: "Carol",
            password_hash: "hash",
            role: Role::User,
            invite_accepted: true,
            creation_time: "2026-01-01T00:00:00.000Z",
        };
        insert_with_source(&db, &user, "ldap").await.unwrap();
        let stored = find_by_id(&db, "uid-1").await.unwrap().unwrap();
        assert_eq!(
            (stored.source.as_str(), stored.display_name.as_str()),
            ("ldap", "Carol")
        );
        let again = insert_with_source(&db, &user, "ldap").await.unwrap_err();
        assert!(again.as_database_error().unwrap().is_unique_violation());
    }
}
