//! The external LDAP directory of `/external_ldap/config` (OpenLDAP, Active Directory, another
//! Cloudron, ...): its connection and bind are tried before the setting is saved, the
//! `syncExternalLdap` task ([`sync`]) brings its users and groups in with `source` `ldap`, and
//! those users sign in with their directory password, checked by a bind as their entry.
//!
//! The URL is an admin's setting and may name an internal server; every connection and
//! operation has a timeout and every search a bound on its entries ([`client`]).

mod client;
mod groups;
mod sync;

use std::sync::Arc;
use std::time::Duration;

pub use sync::SyncExternalLdap;

use self::client::Connection;
use crate::config::ExternalLdapArgs;
use crate::error::Invalid;
use crate::eventlog::Source;
use crate::settings::{ExternalLdapConfig, ExternalLdapConfigRequest, LdapProvider, Settings};
use crate::state::AppState;
use crate::tasks::TaskError;

/// The `source` of the users and groups a sync brings.
pub const SOURCE: &str = "ldap";
/// The user filter when the setting has none (Cloudron's default).
pub const DEFAULT_FILTER: &str = "(objectclass=inetorgperson)";

/// The server's options for the external directory (`--external-ldap-*`).
#[derive(Debug, Clone)]
pub struct ExternalLdapOptions {
    /// How often the scheduled sync runs; `None` for never.
    pub sync_interval: Option<Duration>,
    /// For connecting, and for each operation (each page of a search).
    pub timeout: Duration,
}

impl Default for ExternalLdapOptions {
    fn default() -> Self {
        Self {
            sync_interval: Some(Duration::from_secs(3600)),
            timeout: Duration::from_secs(10),
        }
    }
}

impl ExternalLdapOptions {
    pub fn from_args(args: &ExternalLdapArgs) -> Self {
        Self {
            sync_interval: (args.external_ldap_sync_interval > 0)
                .then(|| Duration::from_secs(args.external_ldap_sync_interval)),
            timeout: Duration::from_secs(args.external_ldap_timeout),
        }
    }
}

/// Why the external directory could not be configured, synced or asked.
#[derive(Debug, thiserror::Error)]
pub enum ExternalLdapError {
    #[error("{0}")]
    Invalid(String),
    #[error("External LDAP is not configured: set a provider in /external_ldap/config first")]
    NotConfigured,
    /// No connection, or no answer within the timeout.
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    BindRefused(String),
    /// The server answered an operation with an error.
    #[error("{0}")]
    Failed(String),
    /// A search found more entries than it may bring.
    #[error("{0}")]
    TooMany(String),
    #[error(transparent)]
    Task(#[from] TaskError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<Invalid> for ExternalLdapError {
    fn from(Invalid(message): Invalid) -> Self {
        Self::Invalid(message)
    }
}

/// The external directory as the server reaches it: its setting and the timeout.
#[derive(Clone)]
pub struct ExternalLdap {
    settings: Arc<Settings>,
    timeout: Duration,
}

impl ExternalLdap {
    pub fn new(settings: Arc<Settings>, options: &ExternalLdapOptions) -> Self {
        Self {
            settings,
            timeout: options.timeout,
        }
    }

    /// Validates the setting and, unless the provider is `noop`, tries it (connection, bind,
    /// base DNs) before storing it, as Cloudron does; nothing is stored when that fails.
    pub async fn configure(&self, req: ExternalLdapConfigRequest) -> Result<(), ExternalLdapError> {
        let stored: ExternalLdapConfig = self.settings.get().await?;
        let config = ExternalLdapConfig::from_request(req, &stored)?;
        if config.provider != LdapProvider::Noop {
            if ldap3::parse_filter(user_filter(&config)).is_err() {
                return Err(Invalid::new("filter is not a valid LDAP filter").into());
            }
            let mut connection = connect(&config, self.timeout).await?;
            for (field, dn) in [
                ("baseDn", &config.base_dn),
                ("groupBaseDn", &config.group_base_dn),
            ] {
                if !dn.is_empty() && !connection.exists(dn).await? {
                    return Err(ExternalLdapError::Invalid(format!(
                        "{field} {dn} does not exist on the LDAP server"
                    )));
                }
            }
        }
        self.settings.set(config).await?;
        Ok(())
    }

    /// Whether `password` is the directory password of `username`: a search for the entry
    /// (`usernameField` = `username`, with the service bind), then a bind as it.
    pub async fn check_password(
        &self,
        username: &str,
        password: &str,
    ) -> Result<bool, ExternalLdapError> {
        let config: ExternalLdapConfig = self.settings.get().await?;
        if config.provider == LdapProvider::Noop {
            tracing::warn!(user.name = %username, "{username} is a user of the external directory, which is not configured");
            return Ok(false);
        }
        // An empty password would make the bind an unauthenticated one, which servers accept.
        if password.is_empty() {
            return Ok(false);
        }
        let mut connection = connect(&config, self.timeout).await?;
        let filter = format!(
            "(&{}({}={}))",
            user_filter(&config),
            config.username_field,
            ldap3::ldap_escape(username)
        );
        let entries = connection
            .search(&config.base_dn, &filter, &["1.1"], 2)
            .await;
        let dn = match entries {
            Ok(entries) if entries.len() == 1 => entries[0].dn.clone(),
            Ok(entries) => {
                tracing::warn!(user.name = %username, "the external directory has {} entries for {username}", entries.len());
                return Ok(false);
            }
            Err(ExternalLdapError::TooMany(_)) => {
                tracing::warn!(user.name = %username, "the external directory has several entries for {username}");
                return Ok(false);
            }
            Err(err) => return Err(err),
        };
        match connection.bind(&dn, password).await {
            Ok(()) => Ok(true),
            Err(ExternalLdapError::BindRefused(_)) => Ok(false),
            Err(err) => Err(err),
        }
    }
}

/// The setting's user filter, or the default; a bare `attr=value` gets its parentheses.
fn user_filter(config: &ExternalLdapConfig) -> String {
    match config.filter.trim() {
        "" => DEFAULT_FILTER.to_owned(),
        filter if filter.starts_with('(') => filter.to_owned(),
        filter => format!("({filter})"),
    }
}

/// A connection bound with the setting's service account (anonymous when it has none).
async fn connect(
    config: &ExternalLdapConfig,
    timeout: Duration,
) -> Result<Connection, ExternalLdapError> {
    let mut connection = Connection::open(&config.url, timeout).await?;
    connection
        .bind(&config.bind_dn, &config.bind_password)
        .await?;
    Ok(connection)
}

/// Starts a `syncExternalLdap` task, asked by `source`; 409 while one runs or while the
/// provider is `noop`.
pub async fn start_sync(state: &AppState, source: Source) -> Result<i64, ExternalLdapError> {
    let config: ExternalLdapConfig = state.settings.get().await?;
    if config.provider == LdapProvider::Noop {
        return Err(ExternalLdapError::NotConfigured);
    }
    let job = SyncExternalLdap {
        db: state.db.clone(),
        sessions: state.auth_cache.clone(),
        config,
        timeout: state.config.external_ldap.timeout,
        source,
    };
    Ok(state.tasks.start(job).await?)
}

/// The scheduled sync: the same task, started by `cron`, while a directory is configured.
pub async fn scheduled_sync(state: AppState) {
    match start_sync(&state, Source::system("cron")).await {
        Ok(id) => tracing::info!(task.id = id, "external LDAP sync started as task {id}"),
        Err(ExternalLdapError::NotConfigured) => {}
        Err(ExternalLdapError::Task(TaskError::AlreadyRunning(_))) => {
            tracing::debug!("external LDAP sync skipped: one is already running");
        }
        Err(err) => tracing::warn!(error = %err, "cannot start the external LDAP sync: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_filter_defaults_and_gets_its_parentheses() {
        let with = |filter: &str| ExternalLdapConfig {
            filter: filter.into(),
            ..ExternalLdapConfig::default()
        };
        assert_eq!(user_filter(&with("")), DEFAULT_FILTER);
        assert_eq!(
            user_filter(&with(" objectclass=person ")),
            "(objectclass=person)"
        );
        assert_eq!(
            user_filter(&with("(&(objectclass=user)(!(disabled=TRUE)))")),
            "(&(objectclass=user)(!(disabled=TRUE)))"
        );
    }
}
