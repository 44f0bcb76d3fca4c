//! How the server's address of one family is found: the stored config and what it asks for.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::Invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn name(self) -> &'static str {
        match self {
            Self::V4 => "IPv4",
            Self::V6 => "IPv6",
        }
    }

    pub fn matches(self, ip: IpAddr) -> bool {
        matches!(
            (self, ip),
            (Self::V4, IpAddr::V4(_)) | (Self::V6, IpAddr::V6(_))
        )
    }
}

/// How the server's address of one family is found, stored with the spellings the client used
/// (Cloudron's spec and dashboard disagree: `interface`/`network-interface`, `iface`/`ifname`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IpConfig {
    /// `noop`, `fixed`, `generic` (detect through an HTTP endpoint) or `network-interface`
    /// (also spelled `interface`).
    #[schema(example = "generic")]
    pub provider: String,
    /// The address, for `fixed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The interface, for `network-interface`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ifname: Option<String>,
    /// The interface, as the spec spells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iface: Option<String>,
}

/// What an [`IpConfig`] asks for, with its spellings resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpSource {
    None,
    Fixed(IpAddr),
    Detect,
    Interface(String),
}

impl IpConfig {
    pub fn provider_only(provider: &str) -> Self {
        Self {
            provider: provider.to_owned(),
            ip: None,
            ifname: None,
            iface: None,
        }
    }

    /// Checks a config sent for `family`.
    pub fn validate(self, family: Family) -> Result<Self, Invalid> {
        self.source(family)?;
        Ok(self)
    }

    pub fn source(&self, family: Family) -> Result<IpSource, Invalid> {
        match self.provider.as_str() {
            "noop" => Ok(IpSource::None),
            "generic" => Ok(IpSource::Detect),
            "fixed" => {
                let ip = self
                    .ip
                    .as_deref()
                    .ok_or_else(|| Invalid::new("ip is required"))?;
                match ip.trim().parse::<IpAddr>() {
                    Ok(ip) if family.matches(ip) => Ok(IpSource::Fixed(ip)),
                    _ => Err(Invalid::new(format!(
                        "ip must be an {} address",
                        family.name()
                    ))),
                }
            }
            "network-interface" | "interface" => {
                let name = self
                    .ifname
                    .as_deref()
                    .or(self.iface.as_deref())
                    .unwrap_or_default();
                let valid = (1..=15).contains(&name.len())
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c));
                if valid {
                    Ok(IpSource::Interface(name.to_owned()))
                } else {
                    Err(Invalid::new("ifname must be a network interface name"))
                }
            }
            _ => Err(Invalid::new(
                "provider must be one of noop, fixed, generic, network-interface",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: serde_json::Value) -> IpConfig {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn providers_and_their_fields_are_checked_per_family() {
        use serde_json::json;
        let fixed = config(json!({"provider": "fixed", "ip": "3.4.6.7"}));
        assert_eq!(
            fixed.source(Family::V4).unwrap(),
            IpSource::Fixed("3.4.6.7".parse().unwrap())
        );
        assert!(
            fixed.source(Family::V6).is_err(),
            "an IPv4 address for IPv6"
        );
        assert!(
            config(json!({"provider": "fixed"}))
                .source(Family::V4)
                .is_err()
        );
        let spec = config(json!({"provider": "interface", "iface": "eth1"}));
        assert_eq!(
            spec.source(Family::V6).unwrap(),
            IpSource::Interface("eth1".into())
        );
        let dashboard = config(json!({"provider": "network-interface", "ifname": "eth0"}));
        assert_eq!(
            dashboard.source(Family::V4).unwrap(),
            IpSource::Interface("eth0".into())
        );
        assert!(
            config(json!({"provider": "interface", "iface": "../etc"}))
                .source(Family::V4)
                .is_err()
        );
        assert!(
            config(json!({"provider": "magic"}))
                .source(Family::V4)
                .is_err()
        );
        assert_eq!(
            config(json!({"provider": "noop"}))
                .source(Family::V4)
                .unwrap(),
            IpSource::None
        );
    }
}
