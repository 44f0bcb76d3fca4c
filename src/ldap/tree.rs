//! The tree the directory server shows, as Cloudron's directory server does: base `dc=cloudron`,
//! users `cn=<user id>,ou=users,dc=cloudron` (active users with a username), groups
//! `cn=<name>,ou=groups,dc=cloudron` (the built-in `users` and `admins`, then every group of
//! `/groups`). It is read from the store for each search, so every change shows at once.

use std::collections::HashMap;

use sqlx::SqlitePool;

use super::dn::Dn;
use crate::auth::Role;
use crate::store;
use crate::store::users::UserRow;

pub const BASE: &str = "dc=cloudron";
pub const USERS: &str = "ou=users,dc=cloudron";
/// The directory server's own bind DN; its password is the setting's `secret`.
pub const ADMIN: &str = "cn=admin,ou=system,dc=cloudron";

/// One entry: its DN as shown, the DN in normal form, its attributes (names as shown).
#[derive(Debug, Clone)]
pub struct Entry {
    pub dn: String,
    pub normal: Dn,
    pub attributes: Vec<(&'static str, Vec<String>)>,
}

impl Entry {
    fn new(dn: &Dn, attributes: Vec<(&'static str, Vec<String>)>) -> Self {
        Self {
            dn: dn.to_string(),
            normal: dn.normal(),
            attributes,
        }
    }

    /// The values of an attribute, its name in any case.
    pub fn values(&self, name: &str) -> Option<&[String]> {
        self.attributes
            .iter()
            .find(|(attr, _)| attr.eq_ignore_ascii_case(name))
            .map(|(_, values)| values.as_slice())
    }
}

fn one(value: impl Into<String>) -> Vec<String> {
    vec![value.into()]
}

pub fn user_dn(user_id: &str) -> Dn {
    Dn::from_rdns(&[("cn", user_id), ("ou", "users"), ("dc", "cloudron")])
}

pub fn group_dn(name: &str) -> Dn {
    Dn::from_rdns(&[("cn", name), ("ou", "groups"), ("dc", "cloudron")])
}

/// The root DSE (base `""`, scope base): what the server holds.
pub fn root_dse() -> Entry {
    let root = Dn::from_rdns(&[]);
    Entry::new(
        &root,
        vec![
            ("objectClass", one("top")),
            ("namingContexts", one(BASE)),
            ("supportedLDAPVersion", one("3")),
            ("vendorName", one("boxd")),
        ],
    )
}

fn container(rdn: (&str, &str), object_class: &str) -> Entry {
    let dn = if rdn.0 == "dc" {
        Dn::from_rdns(&[rdn])
    } else {
        Dn::from_rdns(&[rdn, ("dc", "cloudron")])
    };
    Entry::new(
        &dn,
        vec![
            ("objectClass", vec!["top".into(), object_class.into()]),
            (if rdn.0 == "dc" { "dc" } else { "ou" }, one(rdn.1)),
        ],
    )
}

fn user_entry(user: &UserRow, username: &str, member_of: Vec<String>) -> Entry {
    let display_name = if user.display_name.is_empty() {
        username.to_owned()
    } else {
        user.display_name.clone()
    };
    let words: Vec<&str> = display_name.split_whitespace().collect();
    let mut attributes = vec![
        (
            "objectclass",
            vec!["user".into(), "inetorgperson".into(), "person".into()],
        ),
        ("objectcategory", one("person")),
        ("cn", one(&user.id)),
        ("uid", one(&user.id)),
        ("username", one(username)),
        ("samaccountname", one(username)),
        ("mail", one(&user.email)),
        ("displayname", one(&display_name)),
    ];
    if let Some(first) = words.first() {
        attributes.push(("givenName", one(*first)));
    }
    // Cloudron: sn only when there is a last name (an empty sn breaks some schemas).
    if let (true, Some(last)) = (words.len() > 1, words.last()) {
        attributes.push(("sn", one(*last)));
    }
    attributes.push(("memberof", member_of));
    Entry::new(&user_dn(&user.id), attributes)
}

fn group_entry(name: &str, members: &[&UserRow]) -> Entry {
    let attributes = vec![
        ("objectclass", one("group")),
        ("cn", one(name)),
        ("memberuid", members.iter().map(|u| u.id.clone()).collect()),
        (
            "member",
            members.iter().map(|u| user_dn(&u.id).to_string()).collect(),
        ),
    ];
    Entry::new(&group_dn(name), attributes)
}

/// Every entry under `dc=cloudron`, containers first.
pub async fn load(db: &SqlitePool) -> sqlx::Result<Vec<Entry>> {
    let users: Vec<(UserRow, String)> = store::users::list_active(db)
        .await?
        .into_iter()
        .filter_map(|user| user.username.clone().map(|name| (user, name)))
        .collect();
    let groups = store::groups::list(db).await?;
    let memberships = store::groups::memberships(db).await?;
    let by_id: HashMap<&str, &UserRow> = users.iter().map(|(u, _)| (u.id.as_str(), u)).collect();
    let mut members: HashMap<&str, Vec<&UserRow>> = HashMap::new();
    for membership in &memberships {
        if let Some(user) = by_id.get(membership.user_id.as_str()) {
            members
                .entry(membership.group_id.as_str())
                .or_default()
                .push(user);
        }
    }
    let mut member_of: HashMap<&str, Vec<String>> = HashMap::new();
    for (user, _) in &users {
        let mut dns = vec![group_dn("users").to_string()];
        if user.role.at_least(Role::Admin) {
            dns.push(group_dn("admins").to_string());
        }
        member_of.insert(user.id.as_str(), dns);
    }
    for group in &groups {
        for user in members.get(group.id.as_str()).into_iter().flatten() {
            if let Some(dns) = member_of.get_mut(user.id.as_str()) {
                dns.push(group_dn(&group.name).to_string());
            }
        }
    }
    let all: Vec<&UserRow> = users.iter().map(|(user, _)| user).collect();
    let admins: Vec<&UserRow> = all
        .iter()
        .copied()
        .filter(|user| user.role.at_least(Role::Admin))
        .collect();
    let mut entries = vec![
        container(("dc", "cloudron"), "domain"),
        container(("ou", "users"), "organizationalUnit"),
        container(("ou", "groups"), "organizationalUnit"),
    ];
    for (user, username) in &users {
        let dns = member_of.remove(user.id.as_str()).unwrap_or_default();
        entries.push(user_entry(user, username, dns));
    }
    entries.push(group_entry("users", &all));
    entries.push(group_entry("admins", &admins));
    for group in &groups {
        let members = members
            .get(group.id.as_str())
            .map_or(&[][..], Vec::as_slice);
        entries.push(group_entry(&group.name, members));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::groups::GroupRow;
    use crate::store::test_pool;
    use crate::store::users::tests::add_user;

    #[tokio::test]
    async fn users_and_groups_appear_with_their_memberships() {
        let (db, _dir) = test_pool().await;
        add_user(&db, "uid-1", "alice", Role::Owner).await;
        add_user(&db, "uid-2", "bob", Role::User).await;
        add_user(&db, "uid-3", "carol", Role::User).await;
        store::users::set_active(&db, "uid-3", false).await.unwrap();
        let group = GroupRow {
            id: "gid-1".into(),
            name: "Dev, Ops".into(),
            source: String::new(),
            creation_time: "2026-01-01T00:00:00.000Z".into(),
        };
        store::groups::insert(&db, &group).await.unwrap();
        let mut conn = db.acquire().await.unwrap();
        let ids = ["uid-2".to_owned(), "uid-3".to_owned()];
        store::groups::set_members(&mut conn, "gid-1", &ids)
            .await
            .unwrap();
        drop(conn);

        let entries = load(&db).await.unwrap();

        let dns: Vec<&str> = entries.iter().map(|e| e.dn.as_str()).collect();
        assert_eq!(
            dns,
            [
                BASE,
                USERS,
                "ou=groups,dc=cloudron",
                "cn=uid-1,ou=users,dc=cloudron",
                "cn=uid-2,ou=users,dc=cloudron",
                "cn=users,ou=groups,dc=cloudron",
                "cn=admins,ou=groups,dc=cloudron",
                r"cn=Dev\, Ops,ou=groups,dc=cloudron",
            ]
        );
        let bob = &entries[4];
        assert_eq!(bob.values("USERNAME").unwrap(), ["bob"]);
        assert_eq!(
            bob.values("memberOf").unwrap(),
            [
                "cn=users,ou=groups,dc=cloudron",
                r"cn=Dev\, Ops,ou=groups,dc=cloudron"
            ]
        );
        assert!(bob.values("sn").is_none(), "no last name, no sn");
        assert_eq!(entries[6].values("memberuid").unwrap(), ["uid-1"]);
        assert_eq!(
            entries[7].values("member").unwrap(),
            ["cn=uid-2,ou=users,dc=cloudron"],
            "inactive members are left out"
        );
    }
}
