//! Groups an external directory brings (`source` `ldap`): a sync adds them, sets the members
//! the directory lists (members added here who are not from the directory stay), and removes
//! those gone from the directory. Each group's change is its own transaction with its events.

use std::collections::BTreeSet;

use serde_json::json;
use sqlx::SqlitePool;

use super::{GroupError, new_group_id, record_members, validate_name};
use crate::clock::now_iso;
use crate::eventlog::{self, Action, Source};
use crate::store;
use crate::store::groups::GroupRow;

/// What syncing one group did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupSync {
    Added(GroupRow),
    Updated(GroupRow),
    Unchanged(GroupRow),
    /// A group made here has the name; it is left alone.
    LocalGroup,
}

/// Makes the group `name` from the directory `origin` (its `source`) hold `members` (ids of
/// users from that directory), besides its members from elsewhere.
pub async fn sync_from_directory(
    db: &SqlitePool,
    origin: &str,
    name: &str,
    members: &BTreeSet<String>,
    source: &Source,
) -> Result<GroupSync, GroupError> {
    let name = validate_name(name)?;
    let mut tx = store::begin_write(db).await?;
    let (group, added) = match store::groups::find_by_name(&mut *tx, &name).await? {
        Some(group) if group.source != origin => return Ok(GroupSync::LocalGroup),
        Some(group) => (group, false),
        None => {
            let group = GroupRow {
                id: new_group_id(),
                name,
                source: origin.to_owned(),
                creation_time: now_iso(),
            };
            store::groups::insert(&mut *tx, &group).await?;
            let data = json!({ "groupId": group.id, "name": group.name, "source": origin });
            eventlog::record(&mut *tx, Action::GroupAdd, source, data).await?;
            (group, true)
        }
    };
    let current = store::groups::members(&mut *tx, &group.id).await?;
    let mut wanted: BTreeSet<String> = store::users::find_many(&mut *tx, &current)
        .await?
        .into_iter()
        .filter(|user| user.source != origin)
        .map(|user| user.id)
        .collect();
    wanted.extend(members.iter().cloned());
    let changed = current.iter().cloned().collect::<BTreeSet<_>>() != wanted;
    if changed {
        let wanted: Vec<String> = wanted.into_iter().collect();
        store::groups::set_members(&mut tx, &group.id, &wanted).await?;
        record_members(&mut tx, &group, source, &wanted).await?;
    }
    tx.commit().await?;
    Ok(match (added, changed) {
        (true, _) => GroupSync::Added(group),
        (false, true) => GroupSync::Updated(group),
        (false, false) => GroupSync::Unchanged(group),
    })
}

/// Removes the groups from the directory `origin` that are not in `keep` (ids), each with
/// `group.remove`; returns their names.
pub async fn remove_from_directory(
    db: &SqlitePool,
    origin: &str,
    keep: &BTreeSet<String>,
    source: &Source,
) -> Result<Vec<String>, GroupError> {
    let gone: Vec<GroupRow> = store::groups::list(db)
        .await?
        .into_iter()
        .filter(|group| group.source == origin && !keep.contains(&group.id))
        .collect();
    let mut removed = Vec::new();
    for group in gone {
        let mut tx = store::begin_write(db).await?;
        let members = store::groups::members(&mut *tx, &group.id).await?;
        if store::groups::delete(&mut *tx, &group.id).await? {
            let data = json!({ "groupId": group.id, "name": group.name, "userIds": members });
            eventlog::record(&mut *tx, Action::GroupRemove, source, data).await?;
            removed.push(group.name);
        }
        tx.commit().await?;
    }
    Ok(removed)
}
