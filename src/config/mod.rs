//! The validated `Config` the server runs with, made from the command line ([`cli`]).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use axum::http::HeaderValue;

pub use cli::*;

use crate::clock::{Clock, SystemClock};
use crate::external_ldap::ExternalLdapOptions;
use crate::ldap::LdapConfig;
use crate::mail::MailConfig;

mod cli;

/// Everything the server needs, validated once. Tests build it with [`Config::for_tests`].
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub domain: String,
    pub log_format: LogFormat,
    pub ipv4_detect_url: String,
    pub ipv6_detect_url: String,
    pub reboot_required_file: PathBuf,
    pub reboot_command: Option<String>,
    pub dyndns_command: Option<String>,
    pub dyndns_interval: Duration,
    pub max_running_tasks: usize,
    pub max_log_streams: usize,
    pub max_log_streams_per_user: usize,
    pub max_connections: usize,
    pub max_connections_per_address: usize,
    /// Origins allowed to call the API from a browser.
    pub cors_origins: Vec<HeaderValue>,
    pub update: UpdateConfig,
    pub certs: CertConfig,
    pub ldap: LdapConfig,
    pub external_ldap: ExternalLdapOptions,
    pub mail: MailConfig,
    /// Loopback peers are trusted proxies (their `X-Forwarded-For` is believed).
    pub trust_loopback_proxy: bool,
    /// Where `GET /metrics` is served, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// The system clock, or one that tests move by hand.
    pub clock: Arc<dyn Clock>,
}

impl StoreArgs {
    /// Creates the data dir, checks it is writable, and resolves the database URL.
    pub fn resolve(&self) -> anyhow::Result<(PathBuf, String)> {
        prepare_data_dir(&self.data_dir)?;
        Ok((self.data_dir.clone(), self.database_url()?))
    }

    /// The database URL, touching nothing.
    pub fn database_url(&self) -> anyhow::Result<String> {
        Ok(match &self.database_url {
            Some(url) if url.starts_with("sqlite:") => url.clone(),
            Some(url) => bail!("--database-url must be a sqlite: URL, got {url:?}"),
            None => format!("sqlite://{}", self.data_dir.join("boxd.sqlite").display()),
        })
    }
}

impl Config {
    pub fn from_args(args: &ServeArgs) -> anyhow::Result<Self> {
        let (data_dir, database_url) = args.store.resolve()?;
        let domain = args.domain.trim().to_ascii_lowercase();
        if domain.is_empty() || domain.contains(['/', ' ', ':']) {
            bail!(
                "--domain must be a host name such as my.example.com, got {:?}",
                args.domain
            );
        }
        for (flag, url) in [
            ("--ipv4-detect-url", &args.ipv4_detect_url),
            ("--ipv6-detect-url", &args.ipv6_detect_url),
        ] {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                bail!("{flag} must be an http(s) URL, got {url:?}");
            }
        }
        let ldap = LdapConfig::new(&args.ldap, &data_dir, &domain);
        let mail = MailConfig::new(args.smtp_url.as_deref(), args.mail_from.as_deref(), &domain)?;
        let command = |c: &Option<String>| c.clone().filter(|c| !c.trim().is_empty());
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Ok(Self {
            listen: args.listen,
            data_dir,
            database_url,
            domain,
            log_format: args.log_format,
            ipv4_detect_url: args.ipv4_detect_url.clone(),
            ipv6_detect_url: args.ipv6_detect_url.clone(),
            reboot_required_file: args.reboot_required_file.clone(),
            reboot_command: command(&args.reboot_command),
            dyndns_command: command(&args.dyndns_command),
            dyndns_interval: Duration::from_secs(args.dyndns_interval),
            max_running_tasks: count(args.max_running_tasks),
            max_log_streams: count(args.max_log_streams),
            max_log_streams_per_user: count(args.max_log_streams_per_user),
            cors_origins: cors_origins(&args.cors_origin)?,
            max_connections: count(args.max_connections),
            max_connections_per_address: count(args.max_connections_per_address),
            update: UpdateConfig {
                feed_url: args
                    .update_feed_url
                    .clone()
                    .filter(|url| !url.trim().is_empty()),
                public_key: args
                    .update_public_key
                    .as_deref()
                    .map(parse_public_key)
                    .transpose()?,
                allow_unstable: args.update_allow_unstable,
                command: command(&args.update_command),
                max_bytes: args.update_max_size_mib.saturating_mul(1024 * 1024),
            },
            certs: CertConfig::from_args(args)?,
            ldap,
            external_ldap: ExternalLdapOptions::from_args(&args.external_ldap),
            mail,
            trust_loopback_proxy: !args.no_trust_loopback_proxy,
            metrics_listen: args.metrics_listen,
            clock: Arc::new(SystemClock),
        })
    }

    /// A config for an in-process server on an ephemeral port over `dir`.
    pub fn for_tests(dir: &Path) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: dir.to_path_buf(),
            database_url: format!("sqlite://{}", dir.join("boxd.sqlite").display()),
            domain: "my.example.com".into(),
            log_format: LogFormat::Text,
            // Nothing answers here: tests that detect addresses start their own endpoint.
            ipv4_detect_url: "http://127.0.0.1:9/ipv4".into(),
            ipv6_detect_url: "http://127.0.0.1:9/ipv6".into(),
            reboot_required_file: dir.join("reboot-required"),
            reboot_command: None,
            dyndns_command: None,
            dyndns_interval: Duration::from_secs(600),
            max_running_tasks: 4,
            max_log_streams: 256,
            max_log_streams_per_user: 16,
            cors_origins: Vec::new(),
            max_connections: 4096,
            max_connections_per_address: 256,
            update: UpdateConfig {
                feed_url: None,
                public_key: None,
                allow_unstable: false,
                command: None,
                max_bytes: 512 * 1024 * 1024,
            },
            certs: CertConfig {
                // Nothing answers here: certificate tests start their own ACME server.
                acme_directory_url: "https://127.0.0.1:9/dir".into(),
                acme_ca_file: None,
                acme_email: None,
                reload_command: None,
            },
            ldap: LdapConfig::for_tests(dir),
            external_ldap: ExternalLdapOptions::default(),
            // Tests that send mail start their own SMTP sink.
            mail: MailConfig {
                relay: None,
                from: lettre::Address::new_dangerous("no-reply", "my.example.com"),
            },
            trust_loopback_proxy: true,
            metrics_listen: None,
            clock: Arc::new(SystemClock),
        }
    }
}

/// Where releases come from and how they are trusted and applied.
#[derive(Debug, Clone)]
pub struct UpdateConfig {
    pub feed_url: Option<String>,
    /// The key of `--update-public-key`, checked at start-up.
    pub public_key: Option<Arc<minisign_verify::PublicKey>>,
    pub allow_unstable: bool,
    pub command: Option<String>,
    pub max_bytes: u64,
}

/// Where certificates come from and what happens when one is installed.
#[derive(Debug, Clone)]
pub struct CertConfig {
    pub acme_directory_url: String,
    /// Read (and checked) when the server starts.
    pub acme_ca_file: Option<PathBuf>,
    pub acme_email: Option<String>,
    pub reload_command: Option<String>,
}

impl CertConfig {
    fn from_args(args: &ServeArgs) -> anyhow::Result<Self> {
        let url = args.acme_directory_url.trim();
        // RFC 8555 6.1: ACME runs over HTTPS only.
        if !url.starts_with("https://") || reqwest::Url::parse(url).is_err() {
            bail!("--acme-directory-url must be an https URL, got {url:?}");
        }
        let email = args
            .acme_email
            .as_deref()
            .map(str::trim)
            .filter(|email| !email.is_empty());
        if let Some(email) = email
            && !email_address::EmailAddress::is_valid(email)
        {
            bail!("--acme-email must be an email address, got {email:?}");
        }
        Ok(Self {
            acme_directory_url: url.to_owned(),
            acme_ca_file: args.acme_ca_file.clone(),
            acme_email: email.map(str::to_owned),
            reload_command: args
                .cert_reload_command
                .clone()
                .filter(|c| !c.trim().is_empty()),
        })
    }
}

/// A minisign public key: its base64 line, or the whole minisign.pub text.
pub fn parse_public_key(text: &str) -> anyhow::Result<Arc<minisign_verify::PublicKey>> {
    let line = text.trim().lines().last().unwrap_or_default().trim();
    minisign_verify::PublicKey::from_base64(line)
        .map(Arc::new)
        .map_err(|err| anyhow::anyhow!("--update-public-key is not a minisign public key: {err}"))
}

/// `--cors-origin` values: each exactly an origin, `scheme://host[:port]`.
fn cors_origins(values: &[String]) -> anyhow::Result<Vec<HeaderValue>> {
    values
        .iter()
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
        .map(|value| {
            let url = url::Url::parse(value).ok();
            let origin = url
                .as_ref()
                .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
                .map(|url| url.origin().ascii_serialization());
            match origin {
                Some(origin) if origin == value.trim_end_matches('/') => {
                    HeaderValue::from_str(&origin).context("--cors-origin is not a header value")
                }
                _ => bail!(
                    "--cors-origin must be origins such as https://dash.example.com, got {value:?}"
                ),
            }
        })
        .collect()
}

fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create data dir {}", dir.display()))?;
    let probe = dir.join(".boxd-write-probe");
    std::fs::write(&probe, b"ok")
        .and_then(|()| std::fs::remove_file(&probe))
        .with_context(|| format!("data dir {} is not writable", dir.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn serve_config(extra: &[&str]) -> Config {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().to_str().unwrap().to_owned();
        let mut args = vec!["boxd", "serve", "--data-dir", &data_dir];
        args.extend_from_slice(extra);
        let Command::Serve(serve) = Cli::try_parse_from(args).unwrap().command else {
            panic!("not serve");
        };
        Config::from_args(&serve).unwrap()
    }

    #[test]
    fn loopback_proxies_are_trusted_unless_turned_off_and_metrics_are_off_by_default() {
        let default = serve_config(&[]);
        assert!(default.trust_loopback_proxy);
        assert_eq!(default.metrics_listen, None);

        let set = serve_config(&[
            "--no-trust-loopback-proxy",
            "--metrics-listen",
            "127.0.0.1:9300",
        ]);
        assert!(!set.trust_loopback_proxy);
        assert_eq!(
            set.metrics_listen,
            Some(SocketAddr::from(([127, 0, 0, 1], 9300)))
        );
    }

    #[test]
    fn database_url_defaults_into_the_data_dir() {
        let dir = tempfile::tempdir().unwrap();
        let args = StoreArgs {
            data_dir: dir.path().join("d"),
            database_url: None,
        };
        let (_, url) = args.resolve().unwrap();
        assert!(
            url.starts_with("sqlite://") && url.ends_with("/d/boxd.sqlite"),
            "{url}"
        );
    }

    #[test]
    fn a_non_sqlite_database_url_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let args = StoreArgs {
            data_dir: dir.path().to_path_buf(),
            database_url: Some("postgres://x".into()),
        };
        assert!(args.resolve().is_err());
    }
}
