//! Finding the server's public addresses through the configured provider: a fixed address, an
//! HTTP detection endpoint, or a network interface.

use std::net::IpAddr;
use std::time::Duration;

use super::{Family, IpConfig, IpSource};
use crate::outbound::{self, Guarded};

/// Detection answers in time or fails: it never holds a request (or the DNS job) for long.
pub const DETECT_TIMEOUT: Duration = Duration::from_secs(3);
/// An address is a few dozen bytes; anything much longer is not the endpoint we expect.
pub const DETECT_MAX_BYTES: usize = 4096;

/// Why the address could not be found (a 424 over HTTP).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct DetectError(pub String);

/// The address `config` names for `family`; `None` when the provider is `noop`.
pub async fn resolve(
    http: &Guarded,
    config: &IpConfig,
    family: Family,
    detect_url: &str,
) -> Result<Option<IpAddr>, DetectError> {
    match config
        .source(family)
        .map_err(|invalid| DetectError(invalid.0))?
    {
        IpSource::None => Ok(None),
        IpSource::Fixed(ip) => Ok(Some(ip)),
        IpSource::Detect => detect(http, detect_url, family).await.map(Some),
        IpSource::Interface(name) => interface_address(&name, family).map(Some),
    }
}

async fn detect(http: &Guarded, url: &str, family: Family) -> Result<IpAddr, DetectError> {
    let shown = outbound::redact(url);
    let fail = |why: String| {
        DetectError(format!(
            "{} detection through {shown} failed: {why}",
            family.name()
        ))
    };
    let body = tokio::time::timeout(
        DETECT_TIMEOUT,
        outbound::get_capped(http, url, DETECT_MAX_BYTES),
    )
    .await
    .map_err(|_| fail(format!("no answer within {DETECT_TIMEOUT:?}")))?
    .map_err(fail)?;
    let text = String::from_utf8(body).map_err(|_| fail("the answer is not text".into()))?;
    let text = text.trim();
    let candidate = if text.starts_with('{') {
        serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|json| json.get("ip").and_then(|ip| ip.as_str()).map(str::to_owned))
            .ok_or_else(|| fail("the JSON answer has no \"ip\" string".into()))?
    } else {
        text.to_owned()
    };
    match candidate.parse::<IpAddr>() {
        Ok(ip) if family.matches(ip) => Ok(ip),
        _ => Err(fail(format!(
            "the answer is not an {} address",
            family.name()
        ))),
    }
}

fn interface_address(name: &str, family: Family) -> Result<IpAddr, DetectError> {
    let interfaces = if_addrs::get_if_addrs()
        .map_err(|err| DetectError(format!("cannot list network interfaces: {err}")))?;
    let mut found = false;
    for interface in interfaces.iter().filter(|interface| interface.name == name) {
        found = true;
        let ip = interface.ip();
        let link_local = matches!(ip, IpAddr::V6(v6) if v6.is_unicast_link_local());
        if family.matches(ip) && !link_local {
            return Ok(ip);
        }
    }
    Err(DetectError(if found {
        format!("network interface {name} has no {} address", family.name())
    } else {
        format!("network interface {name} does not exist")
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loopback_interface_has_an_ipv4_address() {
        assert_eq!(
            interface_address("lo", Family::V4).unwrap(),
            IpAddr::from([127, 0, 0, 1])
        );
        assert!(matches!(
            interface_address("nope0", Family::V4),
            Err(DetectError(_))
        ));
    }
}
