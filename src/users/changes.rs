//! Adding, editing, promoting, deactivating and removing accounts.

use serde_json::json;
use sqlx::{Sqlite, Transaction};

use super::rules::{self, ProfileEdit, duplicate_to_conflict};
use super::{
    Accounts, Actor, UserError, display, manageable, new_user_id, not_yourself, record_update,
};
use crate::auth::sessions::{self, IssuedToken};
use crate::auth::{Role, secrets};
use crate::clock::now_iso;
use crate::eventlog::{self, Action, Source};
use crate::notifications;
use crate::store;
use crate::store::users::{NewUser, UserRow};

/// A user to add, as a user manager sends it.
#[derive(Debug, Default)]
pub struct NewAccount {
    pub email: String,
    pub username: Option<String>,
    /// Without one, the user must finish an invite (`inviteAccepted` false).
    pub password: Option<String>,
    pub display_name: Option<String>,
    /// Default `user`.
    pub role: Option<Role>,
    /// Default: the email.
    pub fallback_email: Option<String>,
}

/// Adds a user with `user.add` and a notification; returns the new id.
pub async fn create(
    accounts: Accounts<'_>,
    by: &Actor<'_>,
    account: NewAccount,
) -> Result<String, UserError> {
    let role = account.role.unwrap_or(Role::User);
    rules::ensure_can_grant(by.user, role)?;
    let email = rules::normalize_email("email", &account.email)?;
    let username = account
        .username
        .as_deref()
        .map(rules::normalize_username)
        .transpose()?;
    let fallback_email = match account.fallback_email.as_deref().map(str::trim) {
        Some("") | None => email.clone(),
        Some(fallback) => rules::normalize_email("fallbackEmail", fallback)?,
    };
    let display_name = account.display_name.unwrap_or_default();
    rules::validate_display_name(&display_name)?;
    if let Some(password) = &account.password {
        rules::validate_password(password)?;
    }
    let invite_accepted = account.password.is_some();
    // An invited user gets a random password nobody knows until the invite is finished.
    let password_hash =
        secrets::hash_password(account.password.unwrap_or_else(secrets::new_token)).await?;

    let id = new_user_id();
    let new_user = NewUser {
        id: &id,
        username: username.as_deref(),
        email: &email,
        fallback_email: &fallback_email,
        display_name: &display_name,
        password_hash: &password_hash,
        role,
        invite_accepted,
        creation_time: &now_iso(),
    };
    let mut tx = store::begin_write(accounts.db).await?;
    store::users::insert(&mut *tx, &new_user)
        .await
        .map_err(duplicate_to_conflict)?;
    let user = super::reload(&mut tx, &id).await?;
    let data = json!({
        "userId": id,
        "email": email,
        "user": eventlog::public_user(&user),
        "invitor": eventlog::public_user(by.user),
    });
    let event = eventlog::record(&mut *tx, Action::UserAdd, &by.source, data).await?;
    let (name, who) = (display(&user), display(by.user));
    let title = format!("User '{name}' added");
    notifications::notify(
        &mut *tx,
        Some(&event),
        &title,
        &format!("{who} added {name}."),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// A validated owner account.
pub struct NewOwner {
    pub username: String,
    pub email: String,
    pub display_name: String,
    password: String,
}

impl NewOwner {
    /// Checks the fields as for any user.
    pub fn new(
        username: &str,
        email: &str,
        display_name: String,
        password: String,
    ) -> Result<Self, UserError> {
        let username = rules::normalize_username(username)?;
        rules::validate_password(&password)?;
        let email = rules::normalize_email("email", email)?;
        rules::validate_display_name(&display_name)?;
        Ok(Self {
            username,
            email,
            display_name,
            password,
        })
    }
}

/// Creates the one owner with the events of activation: `user.add` (its source is the new
/// owner, as in Cloudron) and `cloudron.activate` (the caller's source); with `session`, also a
/// login session of that name, in the same transaction.
pub async fn create_owner(
    accounts: Accounts<'_>,
    owner: NewOwner,
    source: &Source,
    session: Option<&str>,
) -> Result<(UserRow, Option<IssuedToken>), UserError> {
    let password_hash = secrets::hash_password(owner.password).await?;
    let id = new_user_id();
    let user = NewUser {
        id: &id,
        username: Some(&owner.username),
        email: &owner.email,
        fallback_email: &owner.email,
        display_name: &owner.display_name,
        password_hash: &password_hash,
        role: Role::Owner,
        invite_accepted: true,
        creation_time: &now_iso(),
    };
    let mut tx = store::begin_write(accounts.db).await?;
    // The one-owner index decides races between activations.
    store::users::insert(&mut *tx, &user)
        .await
        .map_err(|err| match &err {
            sqlx::Error::Database(db) if db.is_unique_violation() => UserError::AlreadySetup,
            _ => UserError::Store(err),
        })?;
    let row = super::reload(&mut tx, &id).await?;
    let owner_source = Source {
        user_id: Some(row.id.clone()),
        username: row.username.clone(),
        ip: source.ip.clone(),
        impersonator: None,
    };
    let data = json!({
        "userId": row.id,
        "email": row.email,
        "user": eventlog::public_user(&row),
        "invitor": null,
    });
    eventlog::record(&mut *tx, Action::UserAdd, &owner_source, data).await?;
    eventlog::record(&mut *tx, Action::CloudronActivate, source, json!({})).await?;
    let session = match session {
        Some(name) => Some(sessions::issue_login_session(&mut *tx, &row.id, name).await?),
        None => None,
    };
    tx.commit().await?;
    Ok((row, session))
}

/// A user manager's edit of someone's profile; `username` is accepted only while the user has none.
#[derive(Debug, Default)]
pub struct UserEdit {
    pub email: Option<String>,
    pub display_name: Option<String>,
    pub fallback_email: Option<String>,
    pub username: Option<String>,
}

pub async fn update(
    accounts: Accounts<'_>,
    by: &Actor<'_>,
    user_id: &str,
    edit: UserEdit,
) -> Result<(), UserError> {
    let mut tx = store::begin_write(accounts.db).await?;
    let target = manageable(&mut tx, by.user, user_id).await?;
    let profile = ProfileEdit::new(
        &target,
        edit.email.as_deref(),
        edit.fallback_email.as_deref(),
        edit.display_name.as_deref(),
    )?;
    let username = edit
        .username
        .as_deref()
        .map(rules::normalize_username)
        .transpose()?;
    let username = match (&target.username, username) {
        (Some(current), Some(new)) if *current != new => {
            return Err(UserError::Conflict(
                "The username cannot be changed once set".into(),
            ));
        }
        (None, new) => new,
        (Some(_), _) => None,
    };
    if profile.is_empty() && username.is_none() {
        return Ok(());
    }
    apply_profile(&mut tx, &target, &profile, username.as_deref(), &by.source).await?;
    tx.commit().await?;
    accounts.sessions.invalidate_user(&target.id);
    Ok(())
}

/// The user's own edit of their profile (the caller checks the policy and, for the fallback
/// email, the password).
pub async fn update_profile(
    accounts: Accounts<'_>,
    user: &UserRow,
    source: &Source,
    edit: &ProfileEdit,
) -> Result<(), UserError> {
    let mut tx = store::begin_write(accounts.db).await?;
    apply_profile(&mut tx, user, edit, None, source).await?;
    tx.commit().await?;
    accounts.sessions.invalidate_user(&user.id);
    Ok(())
}

async fn apply_profile(
    tx: &mut Transaction<'static, Sqlite>,
    target: &UserRow,
    edit: &ProfileEdit,
    username: Option<&str>,
    source: &Source,
) -> Result<(), UserError> {
    let change = store::users::ProfileChange {
        email: edit.email.as_deref(),
        fallback_email: edit.fallback_email.as_deref(),
        display_name: edit.display_name.as_deref(),
        username,
    };
    store::users::update_profile(&mut **tx, &target.id, &change)
        .await
        .map_err(duplicate_to_conflict)?;
    let user = super::reload(tx, &target.id).await?;
    record_update(tx, &user, source, json!({})).await?;
    Ok(())
}

/// Gives `role`, with `user.update` and a notification. Nobody changes their own role.
pub async fn set_role(
    accounts: Accounts<'_>,
    by: &Actor<'_>,
    user_id: &str,
    role: Role,
) -> Result<(), UserError> {
    let mut tx = store::begin_write(accounts.db).await?;
    let target = manageable(&mut tx, by.user, user_id).await?;
    not_yourself(by.user, &target, "Users can't set roles for themselves")?;
    rules::ensure_can_grant(by.user, role)?;
    if target.role == role {
        return Ok(());
    }
    store::users::set_role(&mut *tx, &target.id, role).await?;
    let user = super::reload(&mut tx, &target.id).await?;
    let changed = json!({ "roleChanged": true, "oldRole": target.role });
    let event = record_update(&mut tx, &user, &by.source, changed).await?;
    let (name, new, old) = (display(&user), role.as_str(), target.role.as_str());
    let message = format!(
        "{} changed the role of {name} from {old} to {new}.",
        display(by.user)
    );
    let title = format!("User '{name}' is now {new}");
    notifications::notify(&mut *tx, Some(&event), &title, &message).await?;
    tx.commit().await?;
    accounts.sessions.invalidate_user(&target.id);
    Ok(())
}

/// Activates or deactivates; deactivation revokes the user's tokens and app passwords at once.
pub async fn set_active(
    accounts: Accounts<'_>,
    by: &Actor<'_>,
    user_id: &str,
    active: bool,
) -> Result<(), UserError> {
    let mut tx = store::begin_write(accounts.db).await?;
    let target = manageable(&mut tx, by.user, user_id).await?;
    not_yourself(by.user, &target, "Users can't deactivate themselves")?;
    super::apply_active(&mut tx, &target, active, &by.source).await?;
    tx.commit().await?;
    accounts.sessions.invalidate_user(&target.id);
    Ok(())
}

/// Removes a user with their tokens, app passwords and images, with `user.remove` and a
/// notification. Nobody removes themselves.
pub async fn delete(
    accounts: Accounts<'_>,
    by: &Actor<'_>,
    user_id: &str,
) -> Result<(), UserError> {
    let mut tx = store::begin_write(accounts.db).await?;
    let target = manageable(&mut tx, by.user, user_id).await?;
    not_yourself(by.user, &target, "Not allowed to remove yourself.")?;
    store::users::delete(&mut *tx, &target.id).await?;
    let data = json!({ "userId": target.id, "user": eventlog::public_user(&target) });
    let event = eventlog::record(&mut *tx, Action::UserRemove, &by.source, data).await?;
    let (name, who) = (display(&target), display(by.user));
    let title = format!("User '{name}' removed");
    let message = format!("{who} removed {name}.");
    notifications::notify(&mut *tx, Some(&event), &title, &message).await?;
    tx.commit().await?;
    accounts.sessions.invalidate_user(&target.id);
    Ok(())
}
