//! Network settings as stored: blocklist, trusted proxies, dynamic DNS and the IP configs. What
//! they mean lives in [`crate::network`].

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Setting;
use crate::network::IpConfig;

/// IpEntries of clients refused on every route.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Blocklist(pub String);

impl Setting for Blocklist {
    const NAME: &'static str = "blocklist";
}

/// IpEntries of the reverse proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedIps(pub String);

impl Setting for TrustedIps {
    const NAME: &'static str = "trusted_ips";
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DynamicDns {
    pub enabled: bool,
}

impl Setting for DynamicDns {
    const NAME: &'static str = "dynamic_dns";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ipv4Config(pub IpConfig);

impl Default for Ipv4Config {
    fn default() -> Self {
        Self(IpConfig::provider_only("generic"))
    }
}

impl Setting for Ipv4Config {
    const NAME: &'static str = "ipv4_config";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ipv6Config(pub IpConfig);

impl Default for Ipv6Config {
    fn default() -> Self {
        Self(IpConfig::provider_only("noop"))
    }
}

impl Setting for Ipv6Config {
    const NAME: &'static str = "ipv6_config";
}
