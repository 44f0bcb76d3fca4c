//! SQL for the TOTP columns of `users`: the secret, whether 2FA is on, the last step used.

use sqlx::SqliteExecutor;

/// A user's TOTP state; only the code that checks codes reads it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TotpRow {
    pub totp_secret: Option<String>,
    pub totp_enabled: bool,
    pub totp_last_step: Option<i64>,
}

pub async fn totp(db: impl SqliteExecutor<'_>, id: &str) -> sqlx::Result<Option<TotpRow>> {
    sqlx::query_as("SELECT totp_secret, totp_enabled, totp_last_step FROM users WHERE id = ?")
        .bind(id)
        .fetch_optional(db)
        .await
}

/// Stores a fresh secret, unless 2FA is already on; false in that case.
pub async fn set_totp_secret(
    db: impl SqliteExecutor<'_>,
    id: &str,
    secret: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE users SET totp_secret = ?, totp_last_step = NULL WHERE id = ? AND totp_enabled = 0",
    )
    .bind(secret)
    .bind(id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks `step` used if it is newer than the last used one; false for a replayed code. This is
/// the one place that decides, so two requests racing with the same code cannot both pass.
pub async fn use_totp_step(db: impl SqliteExecutor<'_>, id: &str, step: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE users SET totp_last_step = ? \
         WHERE id = ? AND (totp_last_step IS NULL OR totp_last_step < ?)",
    )
    .bind(step)
    .bind(id)
    .bind(step)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Turns 2FA on, if `secret` is still the user's secret; false otherwise.
pub async fn enable_totp(
    db: impl SqliteExecutor<'_>,
    id: &str,
    secret: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE users SET totp_enabled = 1 WHERE id = ? AND totp_secret = ?")
        .bind(id)
        .bind(secret)
        .execute(db)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Turns 2FA off and forgets the secret.
pub async fn disable_totp(db: impl SqliteExecutor<'_>, id: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET totp_enabled = 0, totp_secret = NULL, totp_last_step = NULL WHERE id = ?",
    )
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

    #[tokio::test]
    async fn a_totp_step_is_accepted_once_and_secrets_stay_while_enabled() {
        let (db, _dir) = test_pool().await;
        add_user(&db, "uid-1", "alice", Role::User).await;
        assert!(set_totp_secret(&db, "uid-1", "SECRET").await.unwrap());
        assert!(use_totp_step(&db, "uid-1", 100).await.unwrap());
        assert!(!use_totp_step(&db, "uid-1", 100).await.unwrap(), "replay");
        assert!(!use_totp_step(&db, "uid-1", 99).await.unwrap(), "older");
        assert!(use_totp_step(&db, "uid-1", 101).await.unwrap());
        assert!(
            !enable_totp(&db, "uid-1", "STALE").await.unwrap(),
            "another secret"
        );
        assert!(enable_totp(&db, "uid-1", "SECRET").await.unwrap());
        assert!(
            !set_totp_secret(&db, "uid-1", "OTHER").await.unwrap(),
            "enabled: kept"
        );
        let on = totp(&db, "uid-1").await.unwrap().unwrap();
        assert_eq!(
            (on.totp_secret.as_deref(), on.totp_enabled),
            (Some("SECRET"), true)
        );
        disable_totp(&db, "uid-1").await.unwrap();
        let off = totp(&db, "uid-1").await.unwrap().unwrap();
        assert_eq!(
            (off.totp_secret, off.totp_enabled, off.totp_last_step),
            (None, false, None)
        );
    }
}
