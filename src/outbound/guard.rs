//! The guard of outbound connections to addresses that remote content names (release URLs in a
//! feed, the URLs of an ACME directory, redirects): they must not reach internal hosts. The guard
//! resolves names itself and hands the HTTP client only addresses it checked, so the client
//! connects to nothing else (no second resolution); literal addresses are checked before a
//! request. IPv4 inside IPv6 (mapped, compatible, NAT64) is checked as the IPv4 it carries.
//!
//! The hosts the operator configured (the feed's host, the ACME directory's, the detection
//! endpoints) are trusted: they may be internal, as a private mirror or a test CA often is.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, LazyLock};

use ipnet::IpNet;
use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Ranges no remote content may send boxd to: this host, private and shared networks,
/// link-local, multicast, documentation, benchmarking and other special-purpose blocks
/// (RFC 6890 and its updates).
static INTERNAL: LazyLock<Vec<IpNet>> = LazyLock::new(|| {
    [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "2002::/16",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    ]
    .iter()
    .filter_map(|net| net.parse().ok())
    .collect()
});

/// The IPv4 address an IPv6 one carries in its last 32 bits: mapped (`::ffff:a.b.c.d`),
/// compatible (`::a.b.c.d`) or NAT64's well-known prefix (`64:ff9b::a.b.c.d`). (The local-use
/// NAT64 prefix, `64:ff9b:1::/48`, is internal as a whole.)
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let [.., a, b, c, d] = ip.octets();
    match ip.segments() {
        [0, 0, 0, 0, 0, 0xffff, _, _] | [0x64, 0xff9b, 0, 0, 0, 0, _, _] => {
            Some(Ipv4Addr::new(a, b, c, d))
        }
        [0, 0, 0, 0, 0, 0, hi, _] if hi != 0 => Some(Ipv4Addr::new(a, b, c, d)),
        _ => None,
    }
}

/// Whether remote content may send boxd to `ip`.
pub fn is_public(ip: IpAddr) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => embedded_v4(v6).map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    };
    !INTERNAL.iter().any(|net| net.contains(&ip))
}

/// Why the guard refused a URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("it is not an http(s) URL")]
    Scheme,
    #[error("it must be https")]
    NotHttps,
    #[error("its address is not allowed (an internal host)")]
    Internal,
}

/// The hosts that may be internal; every other host must be public and reached over https.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    trusted: Arc<Vec<String>>,
}

impl Guard {
    /// Trusts the hosts of the operator's `urls` (unparsable ones add nothing).
    pub fn trusting(urls: &[&str]) -> Self {
        let trusted = urls
            .iter()
            .filter_map(|url| {
                Url::parse(url)
                    .ok()?
                    .host_str()
                    .map(str::to_ascii_lowercase)
            })
            .collect();
        Self {
            trusted: Arc::new(trusted),
        }
    }

    fn trusts(&self, host: &str) -> bool {
        self.trusted
            .iter()
            .any(|trusted| trusted.eq_ignore_ascii_case(host))
    }

    /// Checks a URL before a request: its scheme, and its address when it is a literal one
    /// (names are checked when they are resolved).
    pub fn check(&self, url: &Url) -> Result<(), Refused> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refused::Scheme);
        }
        let host = url.host_str().unwrap_or_default();
        if self.trusts(host) {
            return Ok(());
        }
        if url.scheme() != "https" {
            return Err(Refused::NotHttps);
        }
        let literal = match url.host() {
            Some(url::Host::Ipv4(ip)) => Some(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => Some(IpAddr::V6(ip)),
            _ => None,
        };
        match literal {
            Some(ip) if !is_public(ip) => Err(Refused::Internal),
            _ => Ok(()),
        }
    }
}

impl Guard {
    /// [`Guard::check`], and for a name, its addresses too: for URLs stored now and fetched
    /// later, so a bad one is refused at once (the fetch checks again).
    pub async fn check_resolving(&self, url: &Url) -> Result<(), Refused> {
        self.check(url)?;
        match url.host() {
            Some(url::Host::Domain(name)) if !self.trusts(name) => {
                let name: Name = name.parse().map_err(|_| Refused::Internal)?;
                self.resolve(name)
                    .await
                    .map(drop)
                    .map_err(|_| Refused::Internal)
            }
            _ => Ok(()),
        }
    }
}

impl Resolve for Guard {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let trusted = guard.trusts(&host);
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|addr| trusted || is_public(addr.ip()))
                .collect();
            if allowed.is_empty() {
                return Err(Box::new(Refused::Internal) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Redirects kept to the scheme, host and port of the first request, each checked again.
pub fn same_origin_redirects(guard: Guard) -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(move |attempt| {
        let first = attempt.previous().first().cloned();
        let next = attempt.url();
        let same = first.is_some_and(|first| {
            first.scheme() == next.scheme()
                && first.host_str() == next.host_str()
                && first.port_or_known_default() == next.port_or_known_default()
        });
        if attempt.previous().len() > 5 {
            attempt.error("too many redirects")
        } else if !same {
            attempt.error("a redirect to another host")
        } else if let Err(refused) = guard.check(next) {
            attempt.error(refused)
        } else {
            attempt.follow()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_refused_in_every_spelling() {
        for internal in [
            "127.0.0.2",
            "10.1.2.3",
            "169.254.169.254",
            "100.64.0.1",
            "192.168.1.1",
            "0.0.0.0",
            "::1",
            "::",
            "::ffff:127.0.0.2",
            "::ffff:169.254.169.254",
            "::ffff:10.1.2.3",
            "::127.0.0.1",
            "64:ff9b::10.0.0.1",
            "64:ff9b:1::a00:1",
            "fd00::1",
            "fe80::1",
            "2001:db8::1",
            "2002:a00:1::",
            "ff02::1",
            "203.0.113.9",
        ] {
            assert!(!is_public(ip(internal)), "{internal}");
        }
        for public in [
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
        ] {
            assert!(is_public(ip(public)), "{public}");
        }
    }

    #[test]
    fn only_trusted_hosts_may_be_internal_or_plain_http() {
        let guard = Guard::trusting(&["http://127.0.0.1:8080/feed.json"]);
        let check = |url: &str| guard.check(&Url::parse(url).unwrap());
        assert_eq!(check("http://127.0.0.1:8080/boxd.tar.gz"), Ok(()));
        assert_eq!(check("https://example.com/x"), Ok(()));
        assert_eq!(check("http://example.com/x"), Err(Refused::NotHttps));
        assert_eq!(
            check("https://[::ffff:127.0.0.2]/x"),
            Err(Refused::Internal)
        );
        assert_eq!(check("https://100.64.1.1/x"), Err(Refused::Internal));
        assert_eq!(check("file:///etc/passwd"), Err(Refused::Scheme));
    }

    #[tokio::test]
    async fn names_are_resolved_by_the_guard_and_internal_answers_refused() {
        let guard = Guard::trusting(&[]);
        let name: Name = "localhost".parse().unwrap();
        assert!(guard.resolve(name).await.is_err());
        let trusting = Guard::trusting(&["http://localhost:1/"]);
        let name: Name = "localhost".parse().unwrap();
        assert!(trusting.resolve(name).await.is_ok());
    }
}
