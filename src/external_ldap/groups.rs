//! The groups of a sync: the entries under `groupBaseDn` that are groups (`groupOfNames`,
//! `groupOfUniqueNames`, `posixGroup`, Active Directory's `group`) become groups with `source`
//! `ldap`, named by their `cn`, holding the synced users they list (`member` and
//! `uniqueMember` by DN, `memberUid` by username). Groups made here are left alone; groups of
//! the directory that are gone from it are removed.

use std::collections::{BTreeSet, HashMap, HashSet};

use sqlx::SqlitePool;

use super::SOURCE;
use super::client::{Connection, MAX_ENTRIES, first_value, values};
use super::sync::Person;
use crate::eventlog::Source;
use crate::groups::{self, GroupError, GroupSync};
use crate::tasks::TaskContext;

const FILTER: &str = "(|(objectclass=groupOfNames)(objectclass=groupOfUniqueNames)\
                      (objectclass=posixGroup)(objectclass=group))";
const ATTRS: [&str; 4] = ["cn", "member", "uniqueMember", "memberUid"];

/// The synced users, by what group entries name them with.
pub(super) struct Members {
    by_dn: HashMap<String, String>,
    by_username: HashMap<String, String>,
}

impl Members {
    /// `synced`: the ids of the synced users, by username.
    pub fn new(people: &[Person], synced: &HashMap<String, String>) -> Self {
        let by_dn = people
            .iter()
            .filter_map(|person| Some((dn_key(&person.dn), synced.get(&person.username)?.clone())))
            .collect();
        Self {
            by_dn,
            by_username: synced.clone(),
        }
    }

    /// The ids of the synced users a group entry lists.
    fn of(&self, entry: &ldap3::SearchEntry) -> BTreeSet<String> {
        let by_dn = values(entry, "member")
            .chain(values(entry, "uniqueMember").map(without_uid))
            .filter_map(|dn| self.by_dn.get(&dn_key(dn)));
        let by_uid = values(entry, "memberUid")
            .filter_map(|uid| self.by_username.get(&uid.trim().to_lowercase()));
        by_dn.chain(by_uid).cloned().collect()
    }
}

/// Syncs the groups under `base`.
pub(super) async fn sync(
    ctx: &TaskContext,
    connection: &mut Connection,
    db: &SqlitePool,
    base: &str,
    members: &Members,
) -> anyhow::Result<()> {
    let entries = connection.search(base, FILTER, &ATTRS, MAX_ENTRIES).await?;
    ctx.log(&format!("Found {} group entries", entries.len()));
    let source = Source::system(SOURCE);
    let mut names = HashSet::new();
    let mut keep = BTreeSet::new();
    let (mut added, mut updated) = (0, 0);
    for entry in &entries {
        let dn = &entry.dn;
        let Some(name) = first_value(entry, "cn") else {
            ctx.log(&format!("Skipped the group {dn}: no cn"));
            continue;
        };
        if !names.insert(name.to_lowercase()) {
            ctx.log(&format!(
                "Skipped the group {dn}: another group is named {name}"
            ));
            continue;
        }
        let listed = members.of(entry);
        let group = match groups::sync_from_directory(db, SOURCE, name, &listed, &source).await {
            Ok(GroupSync::Added(group)) => {
                added += 1;
                ctx.log(&format!(
                    "Added the group {name} ({} members)",
                    listed.len()
                ));
                group
            }
            Ok(GroupSync::Updated(group)) => {
                updated += 1;
                ctx.log(&format!("Updated the members of {name} ({})", listed.len()));
                group
            }
            Ok(GroupSync::Unchanged(group)) => group,
            Ok(GroupSync::LocalGroup) => {
                ctx.log(&format!(
                    "Skipped the group {dn}: a local group is named {name}"
                ));
                tracing::warn!(
                    "external LDAP sync skipped the group {dn}: a local group has its name"
                );
                continue;
            }
            Err(GroupError::Invalid(why) | GroupError::Conflict(why)) => {
                ctx.log(&format!("Skipped the group {dn}: {why}"));
                continue;
            }
            Err(err) => return Err(err.into()),
        };
        keep.insert(group.id);
    }
    let removed = groups::remove_from_directory(db, SOURCE, &keep, &source).await?;
    for name in &removed {
        ctx.log(&format!(
            "Removed the group {name}: gone from the directory"
        ));
    }
    ctx.log(&format!(
        "Groups: {added} added, {updated} updated, {} removed",
        removed.len()
    ));
    Ok(())
}

/// A DN for comparing: attribute names and values lowercased, spaces around `,` and `=` gone.
fn dn_key(dn: &str) -> String {
    dn.split(',')
        .map(|rdn| match rdn.split_once('=') {
            Some((attr, value)) => format!("{}={}", attr.trim(), value.trim()),
            None => rdn.trim().to_owned(),
        })
        .collect::<Vec<_>>()
        .join(",")
        .to_lowercase()
}

/// A `uniqueMember` value without its optional `#'0101'B` unique identifier.
fn without_uid(value: &str) -> &str {
    match value.rsplit_once('#') {
        Some((dn, uid)) if uid.starts_with('\'') && uid.ends_with("'B") => dn,
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_compare_regardless_of_case_and_spacing() {
        assert_eq!(
            dn_key("UID=Bob, OU=People ,dc=Example,dc=com"),
            dn_key("uid=bob,ou=people,dc=example,dc=com")
        );
        assert_ne!(dn_key("uid=bob,ou=a"), dn_key("uid=bob,ou=b"));
    }

    #[test]
    fn unique_members_lose_their_identifier() {
        assert_eq!(without_uid("uid=bob,dc=x#'0101'B"), "uid=bob,dc=x");
        assert_eq!(without_uid("cn=a\\#b,dc=x"), "cn=a\\#b,dc=x");
    }
}
