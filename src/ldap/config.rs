//! The directory server's side of the process configuration: where it listens, its certificate
//! and its limits. What it serves (enabled, secret, allowlist) is the setting behind
//! `/directory_server/config`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::LdapArgs;

/// Connections open at once, in total.
pub const MAX_CONNECTIONS: usize = 1024;
/// Connections open at once from one address (an nginx stream proxy is one address).
pub const MAX_CONNECTIONS_PER_IP: usize = 256;
/// A connection that sends nothing this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone)]
pub struct LdapConfig {
    pub listen: SocketAddr,
    pub ldaps_listen: Option<SocketAddr>,
    /// The LDAPS certificate chain and key (PEM), read again whenever they change.
    pub tls_cert: PathBuf,
    pub tls_key: PathBuf,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    pub idle_timeout: Duration,
}

impl LdapConfig {
    /// From the flags; without `--ldap-tls-cert`, the domain's certificate in the data dir.
    pub fn new(args: &LdapArgs, data_dir: &Path, domain: &str) -> Self {
        let certs = data_dir.join("certs").join(domain);
        Self {
            listen: args.ldap_listen,
            ldaps_listen: args.ldaps_listen,
            tls_cert: args
                .ldap_tls_cert
                .clone()
                .unwrap_or_else(|| certs.join("fullchain.pem")),
            tls_key: args
                .ldap_tls_key
                .clone()
                .unwrap_or_else(|| certs.join("privkey.pem")),
            max_connections: MAX_CONNECTIONS,
            max_connections_per_ip: MAX_CONNECTIONS_PER_IP,
            idle_timeout: IDLE_TIMEOUT,
        }
    }

    /// Plain LDAP on an ephemeral loopback port, no LDAPS.
    pub fn for_tests(data_dir: &Path) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            ldaps_listen: None,
            tls_cert: data_dir.join("certs/my.example.com/fullchain.pem"),
            tls_key: data_dir.join("certs/my.example.com/privkey.pem"),
            max_connections: MAX_CONNECTIONS,
            max_connections_per_ip: MAX_CONNECTIONS_PER_IP,
            idle_timeout: IDLE_TIMEOUT,
        }
    }
}
