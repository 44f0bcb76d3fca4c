//! Search filters over entries: and/or/not, equality (approximate matching too), presence and
//! substrings, with attribute names and values compared case-insensitively and DN-valued
//! attributes compared as DNs. Ordering and extensible matches are undefined here (RFC 4511
//! §4.5.1.7: three-valued logic), so they match nothing, and neither does their negation.

use ldap3_proto::proto::{LdapFilter, LdapSubstringFilter};

use super::dn::Dn;
use super::tree::Entry;

/// Attributes whose values are DNs.
const DN_VALUED: [&str; 2] = ["member", "memberof"];

/// Whether `entry` matches: `Some(true)`, `Some(false)`, or `None` for undefined.
pub fn evaluate(filter: &LdapFilter, entry: &Entry) -> Option<bool> {
    match filter {
        LdapFilter::And(filters) => filters
            .iter()
            .try_fold(true, |all, f| match evaluate(f, entry) {
                Some(false) => Err(()),
                Some(true) => Ok(all),
                None => Ok(false),
            })
            .map_or(Some(false), |all| all.then_some(true)),
        LdapFilter::Or(filters) => filters
            .iter()
            .try_fold(false, |undefined, f| match evaluate(f, entry) {
                Some(true) => Err(()),
                Some(false) => Ok(undefined),
                None => Ok(true),
            })
            .map_or(Some(true), |undefined| (!undefined).then_some(false)),
        LdapFilter::Not(inner) => evaluate(inner, entry).map(|matched| !matched),
        LdapFilter::Equality(attr, value) | LdapFilter::Approx(attr, value) => {
            Some(equals(entry, attr, value))
        }
        LdapFilter::Present(attr) => {
            Some(attr.eq_ignore_ascii_case("objectclass") || entry.values(attr).is_some())
        }
        LdapFilter::Substring(attr, substrings) => Some(
            entry
                .values(attr)
                .is_some_and(|values| values.iter().any(|v| substring(v, substrings))),
        ),
        LdapFilter::GreaterOrEqual(..)
        | LdapFilter::LessOrEqual(..)
        | LdapFilter::Extensible(_) => None,
    }
}

pub fn matches(filter: &LdapFilter, entry: &Entry) -> bool {
    evaluate(filter, entry) == Some(true)
}

fn equals(entry: &Entry, attr: &str, wanted: &str) -> bool {
    let Some(values) = entry.values(attr) else {
        return false;
    };
    if DN_VALUED.iter().any(|name| name.eq_ignore_ascii_case(attr)) {
        let Some(wanted) = Dn::parse(wanted).map(|dn| dn.normal()) else {
            return false;
        };
        return values
            .iter()
            .filter_map(|value| Dn::parse(value))
            .any(|dn| dn.normal() == wanted);
    }
    let wanted = wanted.to_lowercase();
    values.iter().any(|value| value.to_lowercase() == wanted)
}

fn substring(value: &str, filter: &LdapSubstringFilter) -> bool {
    let value = value.to_lowercase();
    let mut rest = value.as_str();
    if let Some(initial) = &filter.initial {
        match rest.strip_prefix(initial.to_lowercase().as_str()) {
            Some(after) => rest = after,
            None => return false,
        }
    }
    for any in &filter.any {
        let any = any.to_lowercase();
        match rest.find(any.as_str()) {
            Some(at) => rest = &rest[at + any.len()..],
            None => return false,
        }
    }
    filter
        .final_
        .as_ref()
        .is_none_or(|last| rest.ends_with(last.to_lowercase().as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ldap3_proto::parse_ldap_filter_str;

    fn entry() -> Entry {
        Entry {
            dn: "cn=uid-1,ou=users,dc=cloudron".into(),
            normal: Dn::parse("cn=uid-1,ou=users,dc=cloudron").unwrap(),
            attributes: vec![
                ("objectclass", vec!["user".into(), "inetorgperson".into()]),
                ("username", vec!["Alice".into()]),
                ("mail", vec!["alice@example.com".into()]),
                (
                    "memberof",
                    vec![r"cn=Dev\, Ops,ou=groups,dc=cloudron".into()],
                ),
            ],
        }
    }

    fn check(filter: &str) -> bool {
        matches(&parse_ldap_filter_str(filter).unwrap(), &entry())
    }

    #[test]
    fn the_usual_app_filters_match() {
        assert!(check(
            "(&(objectclass=user)(|(username=alice)(mail=alice)))"
        ));
        assert!(check(
            "(&(objectClass=USER)(|(username=x)(mail=ALICE@example.com)))"
        ));
        assert!(!check("(&(objectclass=group)(username=alice))"));
        assert!(check("(!(username=bob))"));
        assert!(check("(objectclass=*)") && check("(MAIL=*)") && !check("(sn=*)"));
    }

    #[test]
    fn substrings_match_in_order() {
        assert!(check("(mail=ali*)") && check("(mail=*@example.com)"));
        assert!(check("(mail=a*ce@*.c*m)"));
        assert!(!check("(mail=*example*alice*)"));
        assert!(!check("(mail=alice*alice)"));
    }

    #[test]
    fn dn_values_compare_as_dns() {
        let member_of = |dn: &str| LdapFilter::Equality("memberOf".into(), dn.into());
        let same = member_of(r"CN=dev\2C ops, OU=Groups,DC=cloudron");
        assert!(matches(&same, &entry()));
        assert!(!matches(
            &member_of("cn=dev,ou=groups,dc=cloudron"),
            &entry()
        ));
        assert!(!matches(&member_of("not a dn"), &entry()));
    }

    #[test]
    fn ordering_matches_are_undefined_and_so_is_their_negation() {
        assert!(!check("(mail>=a)"));
        assert!(!check("(!(mail>=a))"));
        assert!(check("(|(mail>=a)(username=alice))"));
        assert!(!check("(&(mail>=a)(username=alice))"));
        assert!(!check("(!(&(mail>=a)(username=alice)))"));
        assert!(check("(!(&(mail>=a)(username=bob)))"));
    }
}
