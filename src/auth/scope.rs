//! Token scopes: a map from `"*"` or a resource name to `"r"` or `"rw"`.

use std::collections::BTreeMap;

use axum::http::Method;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Invalid;

/// Every resource (first path segment after `/api/v1/`) a scope can name.
pub const RESOURCES: &[&str] = &[
    "app_passwords",
    "branding",
    "cloudron",
    "directory_server",
    "docker",
    "eventlog",
    "external_ldap",
    "groups",
    "network",
    "notifications",
    "profile",
    "reverseproxy",
    "system",
    "tasks",
    "tokens",
    "updater",
    "user_directory",
    "users",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
pub enum Access {
    /// GET and HEAD only.
    #[serde(rename = "r")]
    Read,
    #[serde(rename = "rw")]
    ReadWrite,
}

/// `{"*": "rw"}` is a full token, `{"*": "r"}` a read-only one, `{"profile": "rw"}` a narrow one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(example = json!({"*": "rw"}))]
pub struct Scope(BTreeMap<String, Access>);

impl Scope {
    pub fn full() -> Self {
        Self(BTreeMap::from([("*".to_owned(), Access::ReadWrite)]))
    }

    pub fn read_only() -> Self {
        Self(BTreeMap::from([("*".to_owned(), Access::Read)]))
    }

    /// Validates a scope sent by a client.
    pub fn parse(value: &serde_json::Value) -> Result<Self, Invalid> {
        let map = value
            .as_object()
            .ok_or_else(|| Invalid::new("scope must be an object"))?;
        if map.is_empty() {
            return Err(Invalid::new("scope must name at least one resource"));
        }
        let mut scope = BTreeMap::new();
        for (key, access) in map {
            if key != "*" && !RESOURCES.contains(&key.as_str()) {
                return Err(Invalid::new(format!(
                    "scope names an unknown resource: {key}"
                )));
            }
            let access = match access.as_str() {
                Some("r") => Access::Read,
                Some("rw") => Access::ReadWrite,
                _ => {
                    return Err(Invalid::new("scope values must be \"r\" or \"rw\""));
                }
            };
            scope.insert(key.clone(), access);
        }
        Ok(Self(scope))
    }

    /// The most specific key wins; `None` means no access at all.
    pub fn access(&self, resource: &str) -> Option<Access> {
        self.0.get(resource).or_else(|| self.0.get("*")).copied()
    }

    /// Whether this scope lets `method` reach `path` (a full `/api/v1/...` path).
    pub fn allows(&self, method: &Method, path: &str) -> bool {
        let resource = path.strip_prefix("/api/v1/").unwrap_or(path);
        let resource = resource.split('/').next().unwrap_or_default();
        match self.access(resource) {
            Some(Access::ReadWrite) => true,
            Some(Access::Read) => method == Method::GET || method == Method::HEAD,
            None => false,
        }
    }

    /// Whether `other` grants nothing this scope does not: the rule for minting tokens.
    pub fn covers(&self, other: &Scope) -> bool {
        RESOURCES
            .iter()
            .all(|resource| other.access(resource) <= self.access(resource))
    }

    pub fn is_full(&self) -> bool {
        self.covers(&Self::full())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope(value: serde_json::Value) -> Scope {
        Scope::parse(&value).unwrap()
    }

    #[test]
    fn read_scopes_allow_only_get_and_head() {
        let ro = Scope::read_only();
        assert!(ro.allows(&Method::GET, "/api/v1/tokens"));
        assert!(ro.allows(&Method::HEAD, "/api/v1/tokens"));
        assert!(!ro.allows(&Method::POST, "/api/v1/tokens"));
        assert!(!ro.allows(&Method::DELETE, "/api/v1/tokens/tid-1"));
    }

    #[test]
    fn the_most_specific_key_wins() {
        let s = scope(json!({"*": "r", "profile": "rw"}));
        assert!(s.allows(&Method::POST, "/api/v1/profile/password"));
        assert!(!s.allows(&Method::POST, "/api/v1/tokens"));
        let narrow = scope(json!({"profile": "r"}));
        assert!(!narrow.allows(&Method::GET, "/api/v1/eventlog"));
        let denied = scope(json!({"*": "rw", "tokens": "r"}));
        assert!(!denied.allows(&Method::POST, "/api/v1/tokens"));
    }

    #[test]
    fn bad_scopes_are_refused() {
        for bad in [
            json!([]),
            json!({}),
            json!({"nope": "r"}),
            json!({"*": "w"}),
            json!({"*": 1}),
        ] {
            assert!(Scope::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_scope_covers_only_narrower_scopes() {
        let full = Scope::full();
        let ro = Scope::read_only();
        let profile = scope(json!({"profile": "rw"}));
        assert!(full.covers(&ro) && full.covers(&profile) && full.covers(&full));
        assert!(!ro.covers(&full));
        assert!(!ro.covers(&profile));
        assert!(profile.covers(&scope(json!({"profile": "r"}))));
        assert!(!profile.covers(&scope(json!({"*": "r"}))));
        assert!(
            scope(json!({"*": "r", "profile": "rw"}))
                .covers(&scope(json!({"profile": "rw", "tokens": "r"})))
        );
        assert!(full.is_full() && !ro.is_full());
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn scope_value() -> impl Strategy<Value = serde_json::Value> {
            let key = prop_oneof![
                Just("*".to_owned()),
                proptest::sample::select(RESOURCES).prop_map(str::to_owned),
                "[a-z_]{1,12}",
            ];
            let access = prop_oneof![Just("r"), Just("rw"), Just("w"), Just("")];
            proptest::collection::btree_map(key, access, 0..6).prop_map(|map| {
                serde_json::Value::Object(map.into_iter().map(|(k, v)| (k, v.into())).collect())
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// Covering is a preorder, and a read-only scope never allows a write.
            #[test]
            fn covering_is_reflexive_and_transitive(a in scope_value(), b in scope_value(), c in scope_value()) {
                let (Ok(a), Ok(b), Ok(c)) = (Scope::parse(&a), Scope::parse(&b), Scope::parse(&c)) else {
                    return Ok(());
                };
                prop_assert!(a.covers(&a));
                if a.covers(&b) && b.covers(&c) {
                    prop_assert!(a.covers(&c));
                }
                if Scope::read_only().covers(&a) {
                    for resource in RESOURCES {
                        let path = format!("/api/v1/{resource}");
                        prop_assert!(!a.allows(&Method::POST, &path));
                    }
                }
            }

            #[test]
            fn a_minted_scope_allows_nothing_its_minter_does_not(a in scope_value(), b in scope_value()) {
                let (Ok(minter), Ok(minted)) = (Scope::parse(&a), Scope::parse(&b)) else {
                    return Ok(());
                };
                if minter.covers(&minted) {
                    for resource in RESOURCES {
                        let path = format!("/api/v1/{resource}/x");
                        for method in [Method::GET, Method::POST, Method::DELETE] {
                            prop_assert!(!minted.allows(&method, &path) || minter.allows(&method, &path));
                        }
                    }
                }
            }
        }
    }
}
