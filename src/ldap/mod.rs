//! The directory server: boxd as an LDAP server, so that software outside it (Nextcloud, Gitea,
//! Grafana, a NAS, a VPN) signs people in with their account and authorises by group. It serves
//! while `/directory_server/config` has it enabled; the setting reaches it through a watch
//! channel and applies at once.
//!
//! Like Cloudron's, the listeners open when the directory server is first enabled (so a server
//! that never uses it holds no port); from then on, while it is disabled, new connections are
//! closed at once and open ones end. A connection from outside the allowlist, or from a blocked
//! address, is closed before any operation. Messages are framed by [`frame`] (size checked from the BER header), binds
//! checked by [`bind`], searches answered by [`search`] over the entries of [`tree`].

mod bind;
mod config;
mod dn;
mod filter;
mod frame;
mod search;
mod session;
mod tls;
mod tree;

pub use config::LdapConfig;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context as _;
use sqlx::SqlitePool;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::auth::throttle::Throttle;
use crate::external_ldap::ExternalLdap;
use crate::network::Network;
use crate::settings::DirectoryServerConfig;
use crate::state::AppState;

/// How long to wait before trying again to open listeners that could not be opened.
const RETRY_BIND: Duration = Duration::from_secs(10);
/// How long open connections get to end at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// The directory server's place in the state: its setting, and where it listens.
pub struct Directory {
    /// The setting; the server applies each new value at once.
    pub config: watch::Sender<DirectoryServerConfig>,
    /// Where the listeners are bound (once it was first enabled).
    pub listening: watch::Sender<Listening>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Listening {
    pub ldap: Option<SocketAddr>,
    pub ldaps: Option<SocketAddr>,
}

impl Directory {
    pub fn new(config: DirectoryServerConfig) -> Self {
        Self {
            config: watch::Sender::new(config),
            listening: watch::Sender::new(Listening::default()),
        }
    }

    /// The addresses, once the listeners are open.
    pub async fn listening(&self) -> Listening {
        let mut listening = self.listening.subscribe();
        let bound = listening.wait_for(|l| l.ldap.is_some()).await;
        bound.map(|l| *l).unwrap_or_default()
    }
}

/// Whether the setting lets `ip` in now.
fn admitted(config: &DirectoryServerConfig, ip: IpAddr) -> bool {
    config.enabled && config.allowed().contains(ip)
}

/// What every connection reaches.
struct Context {
    db: SqlitePool,
    throttle: Arc<Throttle>,
    /// Where the users of the external directory have their passwords checked.
    external: ExternalLdap,
    network: Arc<Network>,
    config: watch::Receiver<DirectoryServerConfig>,
    limits: LdapConfig,
    shutdown: CancellationToken,
}

/// The running directory server; [`Server::stopped`] waits for it after shutdown.
pub struct Server {
    tracker: TaskTracker,
}

impl Server {
    pub async fn stopped(self) {
        self.tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("LDAP connections did not end in {SHUTDOWN_GRACE:?}");
        }
    }
}

/// Starts the directory server; it ends with `state.shutdown`.
pub fn start(state: &AppState) -> Server {
    let ctx = Arc::new(Context {
        db: state.db.clone(),
        throttle: state.throttle.clone(),
        external: state.external_ldap.clone(),
        network: state.network.clone(),
        config: state.directory_server.config.subscribe(),
        limits: state.config.ldap.clone(),
        shutdown: state.shutdown.clone(),
    });
    let tracker = TaskTracker::new();
    let directory = state.directory_server.clone();
    tracker.spawn(supervise(ctx, directory, tracker.clone()));
    Server { tracker }
}

/// Opens the listeners once the directory server is enabled, then accepts until shutdown.
async fn supervise(ctx: Arc<Context>, directory: Arc<Directory>, tracker: TaskTracker) {
    let mut config = ctx.config.clone();
    let (plain, secure) = loop {
        tokio::select! {
            () = ctx.shutdown.cancelled() => return,
            enabled = config.wait_for(|c| c.enabled) => if enabled.is_err() { return },
        }
        match open(&ctx.limits).await {
            Ok(listeners) => break listeners,
            Err(err) => {
                tracing::error!(error = %err, "the directory server cannot listen: {err:#}");
                tokio::select! {
                    () = ctx.shutdown.cancelled() => return,
                    () = tokio::time::sleep(RETRY_BIND) => {}
                }
            }
        }
    };
    let connections = Connections::new(&ctx.limits);
    let listening = Listening {
        ldap: plain.local_addr().ok(),
        ldaps: secure.as_ref().and_then(|l| l.local_addr().ok()),
    };
    if let Some(addr) = listening.ldap {
        tracing::info!(ldap.addr = %addr, "directory server (LDAP) bound to {addr}");
    }
    if let Some(addr) = listening.ldaps {
        tracing::info!(ldaps.addr = %addr, "directory server (LDAPS) bound to {addr}");
    }
    directory.listening.send_replace(listening);
    if let Some(secure) = secure {
        let limits = &ctx.limits;
        let certificate = tls::Certificate::new(limits.tls_cert.clone(), limits.tls_key.clone());
        let acceptor = Acceptor {
            ctx: ctx.clone(),
            connections: connections.clone(),
            tracker: tracker.clone(),
            tls: Some(Arc::new(certificate)),
        };
        tracker.spawn(acceptor.run(secure));
    }
    let acceptor = Acceptor {
        ctx,
        connections,
        tracker,
        tls: None,
    };
    acceptor.run(plain).await;
}

async fn open(limits: &LdapConfig) -> anyhow::Result<(TcpListener, Option<TcpListener>)> {
    let plain = TcpListener::bind(limits.listen)
        .await
        .with_context(|| format!("cannot listen on {}", limits.listen))?;
    let secure = match limits.ldaps_listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?,
        ),
        None => None,
    };
    Ok((plain, secure))
}

/// Accepts connections on one listener and admits those the setting and the caps allow.
struct Acceptor {
    ctx: Arc<Context>,
    connections: Arc<Connections>,
    tracker: TaskTracker,
    tls: Option<Arc<tls::Certificate>>,
}

impl Acceptor {
    async fn run(self, listener: TcpListener) {
        let mut config = self.ctx.config.clone();
        let mut allowed = config.borrow_and_update().allowed();
        loop {
            let (stream, peer) = tokio::select! {
                () = self.ctx.shutdown.cancelled() => return,
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(err) => {
                        // Out of file descriptors, say: wait rather than spin.
                        tracing::warn!(error = %err, "accepting an LDAP connection failed: {err}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
            };
            if config.has_changed().unwrap_or(false) {
                allowed = config.borrow_and_update().allowed();
            }
            let ip = peer.ip().to_canonical();
            if !config.borrow().enabled {
                tracing::debug!(client.ip = %ip, "LDAP connection from {ip} closed: the directory server is off");
                continue;
            }
            if !allowed.contains(ip) {
                tracing::info!(client.ip = %ip, "LDAP connection from {ip} refused: not in the allowlist");
                continue;
            }
            // Cloudron's blocklist is a firewall rule: it keeps blocked clients off this port too.
            if self.ctx.network.blocks(ip) {
                tracing::info!(client.ip = %ip, "LDAP connection from {ip} refused: blocked");
                continue;
            }
            let Some(admission) = self.connections.admit(ip) else {
                tracing::warn!(client.ip = %ip, "LDAP connection from {ip} refused: too many connections");
                continue;
            };
            let (ctx, tls) = (self.ctx.clone(), self.tls.clone());
            self.tracker.spawn(async move {
                let _admission = admission;
                connect(stream, ip, ctx, tls).await;
            });
        }
    }
}

async fn connect(
    stream: TcpStream,
    ip: IpAddr,
    ctx: Arc<Context>,
    tls: Option<Arc<tls::Certificate>>,
) {
    let Some(certificate) = tls else {
        return session::serve(stream, ip, ctx).await;
    };
    let acceptor = match certificate.acceptor() {
        Ok(acceptor) => acceptor,
        Err(err) => {
            tracing::warn!(client.ip = %ip, "LDAPS connection from {ip} closed: {err:#}");
            return;
        }
    };
    match tokio::time::timeout(ctx.limits.idle_timeout, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => session::serve(stream, ip, ctx).await,
        Ok(Err(err)) => tracing::debug!(client.ip = %ip, "TLS handshake with {ip} failed: {err}"),
        Err(_) => tracing::debug!(client.ip = %ip, "TLS handshake with {ip} timed out"),
    }
}

/// The caps on open connections: in total, and per client address.
struct Connections {
    total: Arc<Semaphore>,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
    max_per_ip: usize,
}

/// An open connection's place under the caps, given back when it ends.
struct Admission {
    _permit: OwnedSemaphorePermit,
    connections: Arc<Connections>,
    ip: IpAddr,
}

impl Connections {
    fn new(limits: &LdapConfig) -> Arc<Self> {
        Arc::new(Self {
            total: Arc::new(Semaphore::new(limits.max_connections)),
            per_ip: Mutex::default(),
            max_per_ip: limits.max_connections_per_ip,
        })
    }

    fn per_ip(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        self.per_ip
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<Admission> {
        let permit = self.total.clone().try_acquire_owned().ok()?;
        let mut per_ip = self.per_ip();
        let open = per_ip.entry(ip).or_default();
        if *open >= self.max_per_ip {
            return None;
        }
        *open += 1;
        Some(Admission {
            _permit: permit,
            connections: self.clone(),
            ip,
        })
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut per_ip = self.connections.per_ip();
        if let Some(open) = per_ip.get_mut(&self.ip) {
            *open -= 1;
            if *open == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_are_capped_in_total_and_per_address() {
        let mut limits = LdapConfig::for_tests(std::path::Path::new("/nonexistent"));
        limits.max_connections = 3;
        limits.max_connections_per_ip = 2;
        let connections = Connections::new(&limits);
        let (a, b) = (IpAddr::from([192, 0, 2, 1]), IpAddr::from([192, 0, 2, 2]));

        let first = connections.admit(a).unwrap();
        let _second = connections.admit(a).unwrap();
        assert!(connections.admit(a).is_none(), "two per address");
        let _third = connections.admit(b).unwrap();
        assert!(connections.admit(b).is_none(), "three in all");
        drop(first);
        assert!(
            connections.admit(a).is_some(),
            "a closed connection frees its place"
        );
        assert_eq!(connections.per_ip().get(&a), Some(&1));
    }
}
