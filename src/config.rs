//! The command line (clap) and the validated `Config` the server runs with.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};

use crate::clock::{Clock, SystemClock};
use crate::ldap::LdapConfig;

#[derive(Debug, Parser)]
#[command(
    name = "boxd",
    version,
    about = "The Cloudron REST API as one binary over SQLite."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API server until SIGTERM or SIGINT.
    Serve(Box<ServeArgs>),
    /// Print the OpenAPI document (JSON) on stdout.
    Openapi,
    /// Operator commands that work directly on the data dir (server stopped or running).
    Admin(AdminArgs),
    /// Exit 0 when the server answers GET /api/v1/cloudron/status with 200, 1 otherwise.
    Healthcheck(HealthcheckArgs),
    /// Write a consistent copy of the database to a new file, while the server keeps running.
    Backup(BackupArgs),
}

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The file to write; it must not exist yet.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Where the store lives; shared by `serve` and `admin`.
#[derive(Debug, Clone, clap::Args)]
pub struct StoreArgs {
    /// Directory for the SQLite file, uploaded images and task logs.
    #[arg(long, env = "BOXD_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// The store [default: sqlite://<data-dir>/boxd.sqlite].
    #[arg(long, env = "BOXD_DATABASE_URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// HTTP listen address (port 0 picks a free port; the bound address is logged).
    #[arg(long, env = "BOXD_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    #[command(flatten)]
    pub store: StoreArgs,
    /// The dashboard domain (my.example.com).
    #[arg(long, env = "BOXD_DOMAIN", default_value = "localhost")]
    pub domain: String,
    /// Log line format.
    #[arg(long, env = "BOXD_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Where the `generic` IPv4 provider learns the public address (answers the IP as text or
    /// JSON `{"ip": ...}`).
    #[arg(long, env = "BOXD_IPV4_DETECT_URL", default_value = DEFAULT_IPV4_DETECT_URL)]
    pub ipv4_detect_url: String,
    /// Where the `generic` IPv6 provider learns the public address.
    #[arg(long, env = "BOXD_IPV6_DETECT_URL", default_value = DEFAULT_IPV6_DETECT_URL)]
    pub ipv6_detect_url: String,
    /// The file whose existence means a reboot is required.
    #[arg(
        long,
        env = "BOXD_REBOOT_REQUIRED_FILE",
        default_value = "/var/run/reboot-required"
    )]
    pub reboot_required_file: PathBuf,
    /// The shell command `POST /system/reboot` runs (e.g. `systemctl reboot`); unset, it is refused.
    #[arg(long, env = "BOXD_REBOOT_COMMAND")]
    pub reboot_command: Option<String>,
    /// The shell command the dynamic DNS task runs when the public addresses change (gets
    /// BOXD_IPV4, BOXD_IPV6 and BOXD_DOMAIN); unset, changes are only recorded.
    #[arg(long, env = "BOXD_DYNDNS_COMMAND")]
    pub dyndns_command: Option<String>,
    /// Seconds between dynamic DNS checks.
    #[arg(long, env = "BOXD_DYNDNS_INTERVAL", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    pub dyndns_interval: u64,
    /// Tasks that may run at once; more wait as pending.
    #[arg(long, env = "BOXD_MAX_RUNNING_TASKS", default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub max_running_tasks: u64,
    /// Concurrent log streams (SSE), in total.
    #[arg(long, env = "BOXD_MAX_LOG_STREAMS", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_log_streams: u64,
    /// The release feed: a JSON document describing the newest release (see README).
    #[arg(long, env = "BOXD_UPDATE_FEED_URL")]
    pub update_feed_url: Option<String>,
    /// The minisign public key releases must be signed with (the base64 line of minisign.pub).
    #[arg(long, env = "BOXD_UPDATE_PUBLIC_KEY")]
    pub update_public_key: Option<String>,
    /// Offer releases the feed marks unstable.
    #[arg(long, env = "BOXD_UPDATE_ALLOW_UNSTABLE")]
    pub update_allow_unstable: bool,
    /// The shell command that applies a staged release (gets BOXD_UPDATE_VERSION,
    /// BOXD_UPDATE_TARBALL, BOXD_UPDATE_DIR); unset, the release is only staged.
    #[arg(long, env = "BOXD_UPDATE_COMMAND")]
    pub update_command: Option<String>,
    /// The largest release tarball downloaded, in MiB.
    #[arg(long, env = "BOXD_UPDATE_MAX_SIZE_MIB", default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..))]
    pub update_max_size_mib: u64,
    /// Concurrent log streams per user.
    #[arg(long, env = "BOXD_MAX_LOG_STREAMS_PER_USER", default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_log_streams_per_user: u64,
    /// The ACME server's directory (RFC 8555) that certificates for --domain come from.
    #[arg(long, env = "BOXD_ACME_DIRECTORY_URL", default_value = DEFAULT_ACME_DIRECTORY_URL)]
    pub acme_directory_url: String,
    /// PEM roots trusted, besides the system's, for TLS to the ACME server (a private or test CA).
    #[arg(long, env = "BOXD_ACME_CA_FILE")]
    pub acme_ca_file: Option<PathBuf>,
    /// The ACME account's contact email [default: the owner's email].
    #[arg(long, env = "BOXD_ACME_EMAIL")]
    pub acme_email: Option<String>,
    /// The shell command run after a new certificate is installed (e.g. `nginx -s reload`; gets
    /// BOXD_CERT_DOMAIN and BOXD_CERT_DIR).
    #[arg(long, env = "BOXD_CERT_RELOAD_COMMAND")]
    pub cert_reload_command: Option<String>,
    #[command(flatten)]
    pub ldap: LdapArgs,
}

/// The directory server (boxd as an LDAP server for apps); it serves while
/// `/directory_server/config` has it enabled.
#[derive(Debug, Clone, clap::Args)]
pub struct LdapArgs {
    /// Plain LDAP listen address (for apps on this host, or an nginx stream proxy).
    #[arg(long, env = "BOXD_LDAP_LISTEN", default_value = "127.0.0.1:3002")]
    pub ldap_listen: SocketAddr,
    /// LDAPS listen address [default: none, no LDAPS].
    #[arg(long, env = "BOXD_LDAPS_LISTEN")]
    pub ldaps_listen: Option<SocketAddr>,
    /// The LDAPS certificate chain, PEM [default: <data-dir>/certs/<domain>/fullchain.pem].
    #[arg(long, env = "BOXD_LDAP_TLS_CERT", requires = "ldap_tls_key")]
    pub ldap_tls_cert: Option<PathBuf>,
    /// Its private key, PEM [default: <data-dir>/certs/<domain>/privkey.pem].
    #[arg(long, env = "BOXD_LDAP_TLS_KEY", requires = "ldap_tls_cert")]
    pub ldap_tls_key: Option<PathBuf>,
}

pub const DEFAULT_IPV4_DETECT_URL: &str = "https://ipv4.api.cloudron.io/api/v1/helper/public_ip";
pub const DEFAULT_IPV6_DETECT_URL: &str = "https://ipv6.api.cloudron.io/api/v1/helper/public_ip";
/// Let's Encrypt's production directory.
pub const DEFAULT_ACME_DIRECTORY_URL: &str = "https://acme-v02.api.letsencrypt.org/directory";

#[derive(Debug, clap::Args)]
pub struct AdminArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create the owner account (the same as activation over HTTP).
    CreateOwner {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "")]
        display_name: String,
        /// Read the password from this file's first line instead of prompting.
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Set a user's password.
    ResetPassword {
        username: String,
        /// Read the password from this file's first line instead of prompting.
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Create an API token for a user and print it once.
    CreateToken {
        username: String,
        #[arg(long, default_value = "admin-cli")]
        name: String,
        /// Make a read-only token (scope {"*":"r"}).
        #[arg(long)]
        readonly: bool,
    },
    /// List the users: id, username, email, role, active.
    ListUsers,
}

#[derive(Debug, clap::Args)]
pub struct HealthcheckArgs {
    /// The status URL [default: derived from --listen].
    #[arg(long)]
    pub url: Option<String>,
    /// The server's listen address, used when --url is absent.
    #[arg(long, env = "BOXD_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
}

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
    pub update: UpdateConfig,
    pub certs: CertConfig,
    pub ldap: LdapConfig,
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
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
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
