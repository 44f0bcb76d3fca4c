//! Ghost passwords: an admin's temporary password for logging in as a user of a lower role, to
//! see what they see. It is stored hashed, works once (the login that uses it opens a session
//! lasting until the ghost password would have expired), and is recorded with the admin as the
//! source; the session's own events name both.

use chrono::TimeDelta;
use serde_json::json;

use super::rules::{self, ensure_outranks};
use super::{Accounts, Actor, UserError, manageable, not_yourself, record_update};
use crate::auth::secrets;
use crate::clock::now_iso;
use crate::store;

/// Without `expiresAt`, a ghost password lasts this long.
pub const GHOST_LIFETIME: TimeDelta = TimeDelta::hours(6);
/// Nor can it last longer than a login session.
pub const MAX_GHOST_LIFETIME: TimeDelta = TimeDelta::days(7);

/// Sets the ghost password of `user_id` (replacing an earlier one) until `expires_at` (epoch
/// ms, default [`GHOST_LIFETIME`] from `now_ms`); answers when it expires.
pub async fn set_ghost(
    accounts: Accounts<'_>,
    by: &Actor<'_>,
    user_id: &str,
    password: String,
    expires_at: Option<i64>,
    now_ms: i64,
) -> Result<i64, UserError> {
    rules::validate_password(&password)?;
    let expires = expires_at.unwrap_or(now_ms + GHOST_LIFETIME.num_milliseconds());
    if expires <= now_ms {
        return Err(UserError::Invalid("expiresAt must be in the future".into()));
    }
    if expires > now_ms + MAX_GHOST_LIFETIME.num_milliseconds() {
        return Err(UserError::Invalid(
            "expiresAt must be at most 7 days ahead".into(),
        ));
    }
    let hash = secrets::hash_password(password).await?;
    let mut tx = store::begin_write(accounts.db).await?;
    let target = manageable(&mut tx, by.user, user_id).await?;
    not_yourself(by.user, &target, "You cannot impersonate yourself")?;
    ensure_outranks(by.user, &target)?;
    if !target.active {
        return Err(UserError::Conflict("The user is not active".into()));
    }
    store::ghosts::put(
        &mut *tx,
        &target.id,
        &hash,
        expires,
        &by.user.id,
        &now_iso(),
    )
    .await?;
    let data = json!({ "ghost": { "expiresAt": expires } });
    record_update(&mut tx, &target, &by.source, data).await?;
    tx.commit().await?;
    Ok(expires)
}
