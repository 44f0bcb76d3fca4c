//! The network: who the client is (trusted proxies), who is refused (blocklist), and how the
//! server's own public addresses are found. The policy lives in memory and is swapped whole when
//! a setting changes, so requests never read the store.

mod client_ip;
pub mod detect;
mod ip_config;
mod ip_entries;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use arc_swap::ArcSwap;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub use client_ip::{ClientIp, TrustedProxies, resolve as resolve_client_ip};
pub use ip_config::{Family, IpConfig, IpSource};
pub use ip_entries::IpEntries;

use crate::error::ApiError;

#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted: TrustedProxies,
    /// Clients refused on every route.
    pub blocklist: IpEntries,
}

impl Policy {
    /// The policy of the stored settings (IpEntries texts), with loopback peers trusted as
    /// proxies when `trust_loopback`.
    pub fn parse(trusted: &str, blocklist: &str, trust_loopback: bool) -> anyhow::Result<Self> {
        Ok(Self {
            trusted: TrustedProxies {
                loopback: trust_loopback,
                listed: IpEntries::parse(trusted).map_err(anyhow::Error::msg)?,
            },
            blocklist: IpEntries::parse(blocklist).map_err(anyhow::Error::msg)?,
        })
    }
}

#[derive(Debug, Default)]
pub struct Network {
    policy: ArcSwap<Policy>,
    /// Held across "store the setting, swap the policy", so concurrent changes cannot interleave.
    writer: tokio::sync::Mutex<()>,
}

impl Network {
    pub fn new(policy: Policy) -> Self {
        Self {
            policy: ArcSwap::from_pointee(policy),
            writer: tokio::sync::Mutex::default(),
        }
    }

    /// Whether the blocklist refuses `ip` (the directory server asks, for its connections).
    pub fn blocks(&self, ip: IpAddr) -> bool {
        self.policy.load().blocklist.contains(ip)
    }

    /// Whether `ip` is a trusted proxy, whose connections carry many clients.
    pub fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        self.policy.load().trusted.contains(ip)
    }

    /// Computes the next policy from the current one, stores the setting behind it with
    /// `store`, then swaps the policy in; one writer at a time.
    pub async fn update<E, F, S>(&self, change: F, store: S) -> Result<(), E>
    where
        F: FnOnce(&Policy) -> Result<Policy, E>,
        S: Future<Output = Result<(), E>>,
    {
        let _writing = self.writer.lock().await;
        let next = change(&self.policy.load())?;
        store.await?;
        self.policy.store(Arc::new(next));
        Ok(())
    }
}

/// Outermost layer of every route: resolves the client address and refuses blocked clients.
pub async fn layer(State(network): State<Arc<Network>>, mut req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |info| info.0.ip());
    let policy = network.policy.load();
    let ip = match client_ip::resolve(peer, req.headers(), &policy.trusted) {
        Ok(ip) => ip,
        Err(message) => return ApiError::bad_request(message).into_response(),
    };
    if policy.blocklist.contains(ip) {
        return ApiError::forbidden("Your IP address is blocked").into_response();
    }
    req.extensions_mut().insert(ClientIp(ip));
    next.run(req).await
}

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<ClientIp>()
            .copied()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("the network layer is missing")))
    }
}
