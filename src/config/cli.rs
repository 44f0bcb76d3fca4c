//! The command line: subcommands, and every flag with its `BOXD_*` environment variable.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

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
    /// Restore a backup file into an empty data dir (the server migrates it at start).
    Restore(RestoreArgs),
}

#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The backup file (from `boxd backup`); it must pass SQLite's integrity check.
    #[arg(long)]
    pub from: PathBuf,
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
    /// Origins (`https://dash.example.com`) whose pages may call the API from a browser (CORS);
    /// comma-separated. None by default.
    #[arg(long, env = "BOXD_CORS_ORIGIN", value_delimiter = ',')]
    pub cors_origin: Vec<String>,
    /// Open HTTP connections in total; beyond, new ones are closed (and a warning logged).
    #[arg(long, env = "BOXD_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: u64,
    /// Open HTTP connections per client address (trusted proxies are exempt).
    #[arg(long, env = "BOXD_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections_per_address: u64,
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
    /// Do not trust loopback peers as reverse proxies: believe `X-Forwarded-For` only from the
    /// addresses of /reverseproxy/trusted_ips.
    #[arg(long, env = "BOXD_NO_TRUST_LOOPBACK_PROXY")]
    pub no_trust_loopback_proxy: bool,
    /// Serve Prometheus metrics at GET /metrics on this address (a listener of its own, apart
    /// from the API) [default: none, no metrics].
    #[arg(long, env = "BOXD_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    pub ldap: LdapArgs,
    #[command(flatten)]
    pub external_ldap: ExternalLdapArgs,
    /// The SMTP relay for invites and password resets: smtp://user:password@host:587 (STARTTLS
    /// required), smtps://user:password@host:465 (TLS), or smtp://127.0.0.1:25?tls=none (a relay
    /// on this host only) [default: none, no email].
    #[arg(long, env = "BOXD_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender address of emails [default: no-reply@<domain>].
    #[arg(long, env = "BOXD_MAIL_FROM")]
    pub mail_from: Option<String>,
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

/// Users and groups from an external LDAP directory (`/external_ldap/config`).
#[derive(Debug, Clone, clap::Args)]
pub struct ExternalLdapArgs {
    /// Seconds between scheduled syncs from the external directory while one is configured; 0
    /// turns them off.
    #[arg(long, env = "BOXD_EXTERNAL_LDAP_SYNC_INTERVAL", default_value_t = 3600)]
    pub external_ldap_sync_interval: u64,
    /// Seconds the external directory gets to accept a connection or answer one operation.
    #[arg(long, env = "BOXD_EXTERNAL_LDAP_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub external_ldap_timeout: u64,
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
