//! Groups of users: their rules and one function per change. Each change checks who may make
//! it (as for accounts, nobody changes the memberships of a user whose role is above their
//! own), writes the store and records its event, in one transaction. The groups API and
//! `PUT /users/{id}/groups` call these; the directory server reads the groups as LDAP groups.

mod directory;

pub use directory::*;

use std::collections::BTreeSet;

use serde_json::json;
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::clock::now_iso;
use crate::eventlog::{self, Action, Source};
use crate::store;
use crate::store::groups::GroupRow;
use crate::store::users::UserRow;
use crate::users::Actor;

/// The directory server's built-in groups (all active users; admins and the owner): no group
/// may take their names.
pub const BUILT_IN: [&str; 2] = ["users", "admins"];
pub const MAX_NAME_CHARS: usize = 200;

/// Why a group change was refused.
#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("{0}")]
    Invalid(String),
    #[error("No such group")]
    NotFound,
    #[error("No such user")]
    UserNotFound,
    /// An id in a list of members names no user.
    #[error("No such user: {0}")]
    UnknownUser(String),
    /// An id in a list of groups names no group.
    #[error("No such group: {0}")]
    UnknownGroup(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

/// A group with the ids of its members, as the API shows it.
#[derive(Debug, Clone)]
pub struct GroupWithMembers {
    pub group: GroupRow,
    pub user_ids: Vec<String>,
}

/// `gid-<uuid>`, the id of groups.
pub fn new_group_id() -> String {
    format!("gid-{}", uuid::Uuid::new_v4())
}

/// Trims and checks a group name: 1 to 200 printable characters, not a built-in group's.
pub fn validate_name(name: &str) -> Result<String, GroupError> {
    let name = name.trim();
    match name.chars().count() {
        0 => return Err(GroupError::Invalid("name must not be empty".into())),
        n if n > MAX_NAME_CHARS => {
            return Err(GroupError::Invalid(format!(
                "name must be at most {MAX_NAME_CHARS} characters"
            )));
        }
        _ => {}
    }
    if name.chars().any(char::is_control) {
        return Err(GroupError::Invalid(
            "name can only contain printable characters".into(),
        ));
    }
    if BUILT_IN.contains(&store::groups::name_key(name).as_str()) {
        return Err(GroupError::Conflict(format!(
            "{name} is the name of a built-in group"
        )));
    }
    Ok(name.to_owned())
}

/// Ids as a set; a list that names an id twice is refused.
fn distinct(ids: Vec<String>, field: &str) -> Result<BTreeSet<String>, GroupError> {
    let count = ids.len();
    let set: BTreeSet<String> = ids.into_iter().collect();
    if set.len() != count {
        return Err(GroupError::Invalid(format!(
            "{field} must not name an id twice"
        )));
    }
    Ok(set)
}

fn duplicate_name(err: sqlx::Error) -> GroupError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            GroupError::Conflict("A group with this name already exists".into())
        }
        _ => GroupError::Store(err),
    }
}

/// Nobody changes the memberships of a user whose role is above their own.
fn ensure_can_change(by: &UserRow, users: &[UserRow]) -> Result<(), GroupError> {
    if users.iter().any(|user| user.role.outranks(by.role)) {
        return Err(GroupError::Forbidden(
            "You cannot change the groups of a user whose role is above yours".into(),
        ));
    }
    Ok(())
}

/// Every group with its members, by name.
pub async fn list(db: &SqlitePool) -> Result<Vec<GroupWithMembers>, GroupError> {
    let groups = store::groups::list(db).await?;
    let memberships = store::groups::memberships(db).await?;
    Ok(groups
        .into_iter()
        .map(|group| {
            let user_ids = memberships
                .iter()
                .filter(|m| m.group_id == group.id)
                .map(|m| m.user_id.clone())
                .collect();
            GroupWithMembers { group, user_ids }
        })
        .collect())
}

pub async fn get(db: &SqlitePool, id: &str) -> Result<GroupWithMembers, GroupError> {
    let group = store::groups::find(db, id)
        .await?
        .ok_or(GroupError::NotFound)?;
    let user_ids = store::groups::members(db, id).await?;
    Ok(GroupWithMembers { group, user_ids })
}

/// Adds an empty group with `group.add`.
pub async fn create(db: &SqlitePool, by: &Actor<'_>, name: &str) -> Result<GroupRow, GroupError> {
    let group = GroupRow {
        id: new_group_id(),
        name: validate_name(name)?,
        source: String::new(),
        creation_time: now_iso(),
    };
    let mut tx = store::begin_write(db).await?;
    store::groups::insert(&mut *tx, &group)
        .await
        .map_err(duplicate_name)?;
    let data = json!({ "groupId": group.id, "name": group.name });
    eventlog::record(&mut *tx, Action::GroupAdd, &by.source, data).await?;
    tx.commit().await?;
    Ok(group)
}

/// Renames a group with `group.update`.
pub async fn rename(
    db: &SqlitePool,
    by: &Actor<'_>,
    id: &str,
    name: &str,
) -> Result<(), GroupError> {
    let name = validate_name(name)?;
    let mut tx = store::begin_write(db).await?;
    let group = find(&mut tx, id).await?;
    if group.name == name {
        return Ok(());
    }
    store::groups::rename(&mut *tx, id, &name)
        .await
        .map_err(duplicate_name)?;
    let data = json!({ "groupId": id, "name": name, "oldName": group.name });
    eventlog::record(&mut *tx, Action::GroupUpdate, &by.source, data).await?;
    tx.commit().await?;
    Ok(())
}

/// Makes `user_ids` the members of a group, with `group.update` when that changes anything.
pub async fn set_members(
    db: &SqlitePool,
    by: &Actor<'_>,
    id: &str,
    user_ids: Vec<String>,
) -> Result<(), GroupError> {
    let wanted = distinct(user_ids, "userIds")?;
    let mut tx = store::begin_write(db).await?;
    let group = find(&mut tx, id).await?;
    let current: BTreeSet<String> = store::groups::members(&mut *tx, id)
        .await?
        .into_iter()
        .collect();
    let changed: Vec<String> = current.symmetric_difference(&wanted).cloned().collect();
    let users = store::users::find_many(&mut *tx, &changed).await?;
    if let Some(unknown) = changed
        .iter()
        .find(|id| !users.iter().any(|u| u.id == **id))
    {
        return Err(GroupError::UnknownUser(unknown.clone()));
    }
    ensure_can_change(by.user, &users)?;
    if changed.is_empty() {
        return Ok(());
    }
    let members: Vec<String> = wanted.into_iter().collect();
    store::groups::set_members(&mut tx, id, &members).await?;
    record_members(&mut tx, &group, &by.source, &members).await?;
    tx.commit().await?;
    Ok(())
}

/// Makes `group_ids` the groups of a user, with `group.update` for each group that changed.
pub async fn set_groups_of_user(
    db: &SqlitePool,
    by: &Actor<'_>,
    user_id: &str,
    group_ids: Vec<String>,
) -> Result<(), GroupError> {
    let wanted = distinct(group_ids, "groupIds")?;
    let mut tx = store::begin_write(db).await?;
    let user = store::users::find_by_id(&mut *tx, user_id)
        .await?
        .ok_or(GroupError::UserNotFound)?;
    ensure_can_change(by.user, std::slice::from_ref(&user))?;
    let current: BTreeSet<String> =
        store::groups::memberships_of_users(&mut *tx, std::slice::from_ref(&user.id))
            .await?
            .into_iter()
            .map(|m| m.group_id)
            .collect();
    let changed: Vec<String> = current.symmetric_difference(&wanted).cloned().collect();
    let groups = store::groups::find_many(&mut *tx, &changed).await?;
    if let Some(unknown) = changed
        .iter()
        .find(|id| !groups.iter().any(|g| g.id == **id))
    {
        return Err(GroupError::UnknownGroup(unknown.clone()));
    }
    let wanted: Vec<String> = wanted.into_iter().collect();
    store::groups::set_groups_of_user(&mut tx, &user.id, &wanted).await?;
    for group in &groups {
        let members = store::groups::members(&mut *tx, &group.id).await?;
        record_members(&mut tx, group, &by.source, &members).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Removes a group and its memberships, with `group.remove`.
pub async fn delete(db: &SqlitePool, by: &Actor<'_>, id: &str) -> Result<(), GroupError> {
    let mut tx = store::begin_write(db).await?;
    let group = find(&mut tx, id).await?;
    let members = store::groups::members(&mut *tx, id).await?;
    ensure_can_change(by.user, &store::users::find_many(&mut *tx, &members).await?)?;
    store::groups::delete(&mut *tx, id).await?;
    let data = json!({ "groupId": id, "name": group.name, "userIds": members });
    eventlog::record(&mut *tx, Action::GroupRemove, &by.source, data).await?;
    tx.commit().await?;
    Ok(())
}

async fn find(tx: &mut Transaction<'static, Sqlite>, id: &str) -> Result<GroupRow, GroupError> {
    store::groups::find(&mut **tx, id)
        .await?
        .ok_or(GroupError::NotFound)
}

async fn record_members(
    tx: &mut Transaction<'static, Sqlite>,
    group: &GroupRow,
    source: &Source,
    members: &[String],
) -> sqlx::Result<String> {
    let data = json!({ "groupId": group.id, "name": group.name, "userIds": members });
    eventlog::record(&mut **tx, Action::GroupUpdate, source, data).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_printable_bounded_and_not_built_in() {
        assert_eq!(validate_name("  Ops team ").unwrap(), "Ops team");
        assert_eq!(validate_name("Ça, va+ \"x\"").unwrap(), "Ça, va+ \"x\"");
        assert!(validate_name(&"é".repeat(200)).is_ok());
        for bad in ["", "   ", "tab\there", "line\nbreak", &"x".repeat(201)] {
            assert!(
                matches!(validate_name(bad), Err(GroupError::Invalid(_))),
                "{bad:?}"
            );
        }
        for reserved in ["users", "Admins", " USERS "] {
            assert!(
                matches!(validate_name(reserved), Err(GroupError::Conflict(_))),
                "{reserved}"
            );
        }
    }

    #[test]
    fn a_list_naming_an_id_twice_is_refused() {
        let ids = |ids: &[&str]| ids.iter().map(|id| (*id).to_owned()).collect::<Vec<_>>();
        assert_eq!(distinct(ids(&["b", "a"]), "userIds").unwrap().len(), 2);
        assert!(distinct(ids(&["a", "a"]), "userIds").is_err());
    }
}
