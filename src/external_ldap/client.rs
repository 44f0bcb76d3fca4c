//! The LDAP client of the external directory (ldap3 over tokio, rustls for `ldaps://`): a
//! connection whose connect and every operation are bounded by a timeout, simple binds, and
//! subtree searches read page by page with a bound on the entries.

use std::time::Duration;

use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapError, LdapResult, Scope, SearchEntry};
use tokio::task::JoinHandle;

use super::ExternalLdapError;
use crate::outbound::redact;

/// Entries asked for per page (slapd's default size limit is 500, Active Directory's 1000).
const PAGE_SIZE: i32 = 500;
/// The most entries one search may bring; more and the search fails rather than act on part of
/// the directory (a sync would deactivate everyone past the cut).
pub const MAX_ENTRIES: usize = 100_000;

/// An open connection; dropping it closes the socket.
pub struct Connection {
    ldap: Ldap,
    driver: JoinHandle<()>,
    timeout: Duration,
    /// The URL as messages show it.
    url: String,
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl Connection {
    /// Connects to `url` (`ldap://` or `ldaps://`), TLS included, within `timeout`.
    pub async fn open(url: &str, timeout: Duration) -> Result<Self, ExternalLdapError> {
        let shown = redact(url);
        let settings = LdapConnSettings::new().set_conn_timeout(timeout);
        let (conn, ldap) = LdapConnAsync::with_settings(settings, url)
            .await
            .map_err(|err| match err {
                LdapError::UrlParsing { .. } | LdapError::UnknownScheme(_) => {
                    ExternalLdapError::Invalid(format!("url is not a valid LDAP URL: {err}"))
                }
                LdapError::Timeout { .. } => ExternalLdapError::Unreachable(format!(
                    "Cannot reach the LDAP server at {shown}: no connection within {}s",
                    timeout.as_secs()
                )),
                other => ExternalLdapError::Unreachable(format!(
                    "Cannot reach the LDAP server at {shown}: {other}"
                )),
            })?;
        let driver = tokio::spawn(async move {
            if let Err(err) = conn.drive().await {
                tracing::debug!(error = %err, "an external LDAP connection ended: {err}");
            }
        });
        Ok(Self {
            ldap,
            driver,
            timeout,
            url: shown,
        })
    }

    /// A simple bind as `dn`; both empty is an anonymous bind. A refusal is
    /// [`ExternalLdapError::BindRefused`].
    pub async fn bind(&mut self, dn: &str, password: &str) -> Result<(), ExternalLdapError> {
        let result = self
            .ldap
            .with_timeout(self.timeout)
            .simple_bind(dn, password)
            .await
            .map_err(|err| self.failed(err))?;
        if result.rc == 0 {
            return Ok(());
        }
        let who = if dn.is_empty() { "anonymous" } else { dn };
        Err(ExternalLdapError::BindRefused(format!(
            "The LDAP server refused the bind as {who}: {}",
            describe(&result)
        )))
    }

    /// Whether `dn` names an entry (a base-scope search of it).
    pub async fn exists(&mut self, dn: &str) -> Result<bool, ExternalLdapError> {
        let result = self
            .ldap
            .with_timeout(self.timeout)
            .search(dn, Scope::Base, "(objectclass=*)", vec!["1.1"])
            .await
            .map_err(|err| self.failed(err))?;
        match result.1.rc {
            0 => Ok(true),
            32 => Ok(false),
            _ => Err(ExternalLdapError::Failed(format!(
                "The search of {dn} failed: {}",
                describe(&result.1)
            ))),
        }
    }

    /// The entries under `base` (subtree) that match `filter`, with `attrs`, read page by page;
    /// past `max` entries the search fails.
    pub async fn search(
        &mut self,
        base: &str,
        filter: &str,
        attrs: &[&str],
        max: usize,
    ) -> Result<Vec<SearchEntry>, ExternalLdapError> {
        let adapters: Vec<Box<dyn Adapter<String, Vec<String>>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(PAGE_SIZE)),
        ];
        let attrs: Vec<String> = attrs.iter().map(|attr| (*attr).to_owned()).collect();
        let mut stream = self
            .ldap
            .with_timeout(self.timeout)
            .streaming_search_with(adapters, base, Scope::Subtree, filter, attrs)
            .await
            .map_err(|err| self.failed(err))?;
        let mut entries = Vec::new();
        while let Some(entry) = stream.next().await.map_err(|err| self.failed(err))? {
            if entries.len() == max {
                let _ = stream.finish().await;
                return Err(ExternalLdapError::TooMany(format!(
                    "More than {max} entries under {base} match {filter}; narrow the base DN or \
                     the filter"
                )));
            }
            entries.push(SearchEntry::construct(entry));
        }
        let result = stream.finish().await;
        if result.rc != 0 {
            return Err(ExternalLdapError::Failed(format!(
                "The search of {base} failed: {}",
                describe(&result)
            )));
        }
        Ok(entries)
    }

    fn failed(&self, err: LdapError) -> ExternalLdapError {
        let url = &self.url;
        match err {
            LdapError::Timeout { .. } => ExternalLdapError::Unreachable(format!(
                "The LDAP server at {url} did not answer within {}s",
                self.timeout.as_secs()
            )),
            LdapError::FilterParsing => {
                ExternalLdapError::Invalid("filter is not a valid LDAP filter".into())
            }
            LdapError::LdapResult { result } => ExternalLdapError::Failed(format!(
                "The LDAP server at {url} answered {}",
                describe(&result)
            )),
            other => ExternalLdapError::Unreachable(format!(
                "The connection to the LDAP server at {url} failed: {other}"
            )),
        }
    }
}

/// A result code by name and number, with the server's text: `invalidCredentials (49)`.
fn describe(result: &LdapResult) -> String {
    // ldap3 names the codes only in its Display: "rc=49 (invalidCredentials), dn: …".
    let shown = result.to_string();
    let name = shown
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .map_or("unknown", |(name, _)| name);
    let mut message = format!("{name} ({})", result.rc);
    if !result.text.is_empty() {
        message.push_str(": ");
        message.push_str(&result.text);
    }
    message
}

/// The first value of `attr` in `entry`, whatever the case the server spells the name in.
pub fn first_value<'a>(entry: &'a SearchEntry, attr: &str) -> Option<&'a str> {
    values(entry, attr).next()
}

/// Every value of `attr` in `entry`.
pub fn values<'a>(entry: &'a SearchEntry, attr: &str) -> impl Iterator<Item = &'a str> {
    entry
        .attrs
        .iter()
        .filter(move |(name, _)| name.eq_ignore_ascii_case(attr))
        .flat_map(|(_, values)| values.iter().map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_codes_are_named() {
        let result = |rc, text: &str| LdapResult {
            rc,
            matched: String::new(),
            text: text.into(),
            refs: Vec::new(),
            ctrls: Vec::new(),
        };
        assert_eq!(describe(&result(49, "")), "invalidCredentials (49)");
        assert_eq!(
            describe(&result(32, "no such base")),
            "noSuchObject (32): no such base"
        );
        assert_eq!(describe(&result(999, "")), "unknown (999)");
    }

    #[test]
    fn attributes_are_found_whatever_their_case() {
        let entry = SearchEntry {
            dn: "uid=bob,dc=x".into(),
            attrs: [("Mail".to_owned(), vec!["b@x.org".to_owned()])].into(),
            bin_attrs: Default::default(),
        };
        assert_eq!(first_value(&entry, "mail"), Some("b@x.org"));
        assert_eq!(first_value(&entry, "cn"), None);
    }
}
