//! Accounts an external directory brings (`source` `ldap`): a sync adds, updates, deactivates
//! and reactivates them, each change in its own transaction with its event, and the
//! authentication cache invalidated after the commit. They have no local password.

use serde_json::json;

use super::rules::{self, duplicate_to_conflict};
use super::{Accounts, UserError, new_user_id, record_update, reload};
use crate::auth::{Role, secrets};
use crate::clock::now_iso;
use crate::eventlog::{self, Action, Source};
use crate::store;
use crate::store::users::{NewUser, ProfileChange};

/// A person as the directory describes them.
#[derive(Debug, Clone, Copy)]
pub struct DirectoryPerson<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub display_name: &'a str,
}

/// Adds the user `person` from the directory `origin` (their `source`), role `user`, with
/// `user.add`; returns the new id. A taken username or email is a conflict.
pub async fn add_from_directory(
    accounts: Accounts<'_>,
    origin: &str,
    person: DirectoryPerson<'_>,
    source: &Source,
) -> Result<String, UserError> {
    let username = rules::normalize_username(person.username)?;
    let email = rules::normalize_email("email", person.email)?;
    rules::validate_display_name(person.display_name)?;
    let password_hash = secrets::unusable_password_hash().await?;
    let id = new_user_id();
    let user = NewUser {
        id: &id,
        username: Some(&username),
        email: &email,
        fallback_email: &email,
        display_name: person.display_name,
        password_hash: &password_hash,
        role: Role::User,
        invite_accepted: true,
        creation_time: &now_iso(),
    };
    let mut tx = store::begin_write(accounts.db).await?;
    store::users::insert_with_source(&mut *tx, &user, origin)
        .await
        .map_err(duplicate_to_conflict)?;
    let row = reload(&mut tx, &id).await?;
    let data = json!({
        "userId": id,
        "email": email,
        "user": eventlog::public_user(&row),
        "invitor": null,
        "source": origin,
    });
    eventlog::record(&mut *tx, Action::UserAdd, source, data).await?;
    tx.commit().await?;
    Ok(id)
}

/// Sets the email and display name the directory has for a user, with `user.update`.
pub async fn update_from_directory(
    accounts: Accounts<'_>,
    user_id: &str,
    email: &str,
    display_name: &str,
    source: &Source,
) -> Result<(), UserError> {
    let email = rules::normalize_email("email", email)?;
    rules::validate_display_name(display_name)?;
    let change = ProfileChange {
        email: Some(&email),
        display_name: Some(display_name),
        ..ProfileChange::default()
    };
    let mut tx = store::begin_write(accounts.db).await?;
    store::users::update_profile(&mut *tx, user_id, &change)
        .await
        .map_err(duplicate_to_conflict)?;
    let user = reload(&mut tx, user_id).await?;
    record_update(&mut tx, &user, source, json!({})).await?;
    tx.commit().await?;
    accounts.sessions.invalidate_user(user_id);
    Ok(())
}

/// Deactivates a user gone from the directory (their tokens and app passwords are revoked, as
/// on any deactivation), or reactivates one who came back.
pub async fn set_active_from_directory(
    accounts: Accounts<'_>,
    user_id: &str,
    active: bool,
    source: &Source,
) -> Result<(), UserError> {
    let mut tx = store::begin_write(accounts.db).await?;
    let target = reload(&mut tx, user_id).await?;
    super::apply_active(&mut tx, &target, active, source).await?;
    tx.commit().await?;
    accounts.sessions.invalidate_user(user_id);
    Ok(())
}
