//! Searches, for the admin bind only: base, scope (base, one, sub, children), filter, the
//! requested attributes, and a size limit (the client's, at most [`SIZE_LIMIT`]). Paged-results
//! requests are answered in one page.

use ldap3_proto::LdapMsg;
use ldap3_proto::LdapResultCode;
use ldap3_proto::control::LdapControl;
use ldap3_proto::proto::{
    LdapOp, LdapPartialAttribute, LdapResult, LdapSearchRequest, LdapSearchResultEntry,
    LdapSearchScope,
};
use sqlx::SqlitePool;

use super::dn::Dn;
use super::filter;
use super::tree::{self, Entry};

/// The most entries one search returns.
pub const SIZE_LIMIT: usize = 10_000;

/// The messages that answer a search: its entries, then the result.
pub async fn search(
    db: &SqlitePool,
    msgid: i32,
    request: &LdapSearchRequest,
    controls: &[LdapControl],
) -> Vec<LdapMsg> {
    let paged = controls
        .iter()
        .any(|c| matches!(c, LdapControl::SimplePagedResults { .. }));
    if controls.iter().any(critical_unsupported) {
        let done = result(
            LdapResultCode::UnavailableCriticalExtension,
            "",
            "A critical control is not supported",
        );
        return vec![message(msgid, LdapOp::SearchResultDone(done), false)];
    }
    let (entries, done) = match find(db, request).await {
        Ok(found) => found,
        Err(err) => {
            tracing::error!(error = %err, "an LDAP search failed: {err}");
            let done = result(LdapResultCode::OperationsError, "", "Internal error");
            (Vec::new(), done)
        }
    };
    let mut messages: Vec<LdapMsg> = entries
        .iter()
        .map(|entry| {
            let op = LdapOp::SearchResultEntry(shown(entry, request));
            message(msgid, op, false)
        })
        .collect();
    messages.push(message(msgid, LdapOp::SearchResultDone(done), paged));
    messages
}

/// A refusal of a search (not bound as the admin, say).
pub fn refused(msgid: i32, code: LdapResultCode, text: &str) -> LdapMsg {
    message(
        msgid,
        LdapOp::SearchResultDone(result(code, "", text)),
        false,
    )
}

fn message(msgid: i32, op: LdapOp, paged: bool) -> LdapMsg {
    // RFC 2696: an empty cookie says this was the last page.
    let ctrl = if paged {
        vec![LdapControl::SimplePagedResults {
            size: 0,
            cookie: Vec::new(),
        }]
    } else {
        Vec::new()
    };
    LdapMsg { msgid, op, ctrl }
}

fn result(code: LdapResultCode, matched: &str, text: &str) -> LdapResult {
    LdapResult {
        code,
        matcheddn: matched.to_owned(),
        message: text.to_owned(),
        referral: Vec::new(),
    }
}

fn critical_unsupported(control: &LdapControl) -> bool {
    matches!(
        control,
        LdapControl::Unknown {
            criticality: true,
            ..
        } | LdapControl::SyncRequest {
            criticality: true,
            ..
        }
    )
}

/// The matching entries (within the size limit) and the result that ends the search.
async fn find(
    db: &SqlitePool,
    request: &LdapSearchRequest,
) -> sqlx::Result<(Vec<Entry>, LdapResult)> {
    let Some(base) = Dn::parse(&request.base).map(|dn| dn.normal()) else {
        let done = result(LdapResultCode::InvalidDNSyntax, "", "Invalid base DN");
        return Ok((Vec::new(), done));
    };
    if base.is_root() && request.scope == LdapSearchScope::Base {
        let dse = tree::root_dse();
        let found = filter::matches(&request.filter, &dse).then_some(dse);
        let done = result(LdapResultCode::Success, "", "");
        return Ok((found.into_iter().collect(), done));
    }
    let entries = tree::load(db).await?;
    if !base.is_root() && !entries.iter().any(|entry| entry.normal == base) {
        let matched = entries
            .iter()
            .filter(|entry| base.is_within(&entry.normal))
            .max_by_key(|entry| entry.normal.depth())
            .map_or("", |entry| entry.dn.as_str());
        let done = result(LdapResultCode::NoSuchObject, matched, "No such object");
        return Ok((Vec::new(), done));
    }
    let limit = match usize::try_from(request.sizelimit) {
        Ok(client) if client > 0 => client.min(SIZE_LIMIT),
        _ => SIZE_LIMIT,
    };
    let mut found: Vec<Entry> = entries
        .into_iter()
        .filter(|entry| in_scope(&entry.normal, &base, &request.scope))
        .filter(|entry| filter::matches(&request.filter, entry))
        .take(limit + 1)
        .collect();
    let done = if found.len() > limit {
        found.truncate(limit);
        result(LdapResultCode::SizeLimitExceeded, "", "Size limit exceeded")
    } else {
        result(LdapResultCode::Success, "", "")
    };
    Ok((found, done))
}

fn in_scope(dn: &Dn, base: &Dn, scope: &LdapSearchScope) -> bool {
    if !dn.is_within(base) {
        return false;
    }
    match scope {
        LdapSearchScope::Base => dn.depth() == base.depth(),
        LdapSearchScope::OneLevel => dn.depth() == base.depth() + 1,
        LdapSearchScope::Subtree => true,
        LdapSearchScope::Children => dn.depth() > base.depth(),
    }
}

/// An entry with the attributes the search asked for: all user attributes for none or `*`,
/// none for `1.1`, else those named (in any case); only their names with `typesOnly`.
fn shown(entry: &Entry, request: &LdapSearchRequest) -> LdapSearchResultEntry {
    let all = request.attrs.is_empty() || request.attrs.iter().any(|a| a == "*");
    let attributes = entry
        .attributes
        .iter()
        .filter(|(name, _)| all || request.attrs.iter().any(|a| a.eq_ignore_ascii_case(name)))
        .map(|(name, values)| LdapPartialAttribute {
            atype: (*name).to_owned(),
            vals: if request.typesonly {
                Vec::new()
            } else {
                values.iter().map(|v| v.as_bytes().to_vec()).collect()
            },
        })
        .collect();
    LdapSearchResultEntry {
        dn: entry.dn.clone(),
        attributes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_select_levels_below_the_base() {
        let dn = |text: &str| Dn::parse(text).unwrap().normal();
        let base = dn("ou=users,dc=cloudron");
        let user = dn("cn=uid-1,ou=users,dc=cloudron");
        let root = dn("");
        use LdapSearchScope::*;
        assert!(in_scope(&base, &base, &Base) && !in_scope(&user, &base, &Base));
        assert!(in_scope(&user, &base, &OneLevel) && !in_scope(&base, &base, &OneLevel));
        assert!(in_scope(&user, &base, &Subtree) && in_scope(&base, &base, &Subtree));
        assert!(in_scope(&user, &base, &Children) && !in_scope(&base, &base, &Children));
        assert!(in_scope(&base, &root, &Subtree) && !in_scope(&user, &root, &OneLevel));
        assert!(!in_scope(&dn("ou=groups,dc=cloudron"), &base, &Subtree));
    }
}
