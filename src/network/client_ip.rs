//! Who the client is: the peer address, unless the peer is a trusted proxy; then the right-most
//! address in `X-Forwarded-For` that is not itself trusted.

use std::net::IpAddr;

use axum::http::HeaderMap;

use super::IpEntries;

/// The resolved client address of a request, put in its extensions by the network layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The peers whose `X-Forwarded-For` is believed: loopback ones unless turned off (as Express's
/// `trust proxy` "loopback", so an nginx on the same host works out of the box) and the listed
/// ones (`/reverseproxy/trusted_ips`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    pub loopback: bool,
    pub listed: IpEntries,
}

impl TrustedProxies {
    pub fn contains(&self, ip: IpAddr) -> bool {
        (self.loopback && ip.to_canonical().is_loopback()) || self.listed.contains(ip)
    }
}

/// Err when a trusted peer sent an `X-Forwarded-For` that does not parse.
pub fn resolve(
    peer: IpAddr,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> Result<IpAddr, String> {
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return Ok(peer);
    }
    let mut hops = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let value = value
            .to_str()
            .map_err(|_| "X-Forwarded-For is not ASCII".to_owned())?;
        for hop in value.split(',') {
            let hop = hop.trim();
            let ip = hop.parse::<IpAddr>().map_err(|_| {
                "X-Forwarded-For holds something that is not an IP address".to_owned()
            })?;
            hops.push(ip.to_canonical());
        }
    }
    // Proxies append on the right, so everything left of the first untrusted hop from the right
    // was written by the client and can be forged.
    Ok(hops
        .iter()
        .rev()
        .find(|ip| !trusted.contains(**ip))
        .or(hops.first())
        .copied()
        .unwrap_or(peer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn listed(text: &str) -> TrustedProxies {
        TrustedProxies {
            loopback: false,
            listed: IpEntries::parse(text).unwrap(),
        }
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let trusted = listed("10.0.0.1");
        let got = resolve(ip("192.0.2.7"), &xff(&["1.2.3.4"]), &trusted).unwrap();
        assert_eq!(got, ip("192.0.2.7"));
        let garbage = resolve(ip("192.0.2.7"), &xff(&["garbage"]), &trusted).unwrap();
        assert_eq!(
            garbage,
            ip("192.0.2.7"),
            "an untrusted peer's header is not even read"
        );
    }

    #[test]
    fn a_trusted_peer_yields_the_right_most_untrusted_hop() {
        let trusted = listed("10.0.0.0/8");
        let headers = xff(&["6.6.6.6, 203.0.113.9, 10.0.0.2"]);
        assert_eq!(
            resolve(ip("10.0.0.1"), &headers, &trusted).unwrap(),
            ip("203.0.113.9")
        );
        let split = xff(&["6.6.6.6", "203.0.113.9"]);
        assert_eq!(
            resolve(ip("10.0.0.1"), &split, &trusted).unwrap(),
            ip("203.0.113.9")
        );
        let all_trusted = xff(&["10.0.0.5, 10.0.0.2"]);
        assert_eq!(
            resolve(ip("10.0.0.1"), &all_trusted, &trusted).unwrap(),
            ip("10.0.0.5")
        );
        assert_eq!(
            resolve(ip("10.0.0.1"), &HeaderMap::new(), &trusted).unwrap(),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn a_trusted_peer_with_a_malformed_header_is_an_error() {
        let trusted = listed("10.0.0.0/8");
        assert!(resolve(ip("10.0.0.1"), &xff(&["1.2.3.4, nope"]), &trusted).is_err());
        assert!(resolve(ip("10.0.0.1"), &xff(&["1.2.3.4:80"]), &trusted).is_err());
    }

    #[test]
    fn ipv4_mapped_peers_are_matched_as_ipv4() {
        let trusted = listed("127.0.0.1");
        let got = resolve(
            ip("::ffff:127.0.0.1"),
            &xff(&["::ffff:198.51.100.4"]),
            &trusted,
        )
        .unwrap();
        assert_eq!(got, ip("198.51.100.4"));
    }

    #[test]
    fn loopback_peers_are_trusted_only_when_loopback_is_on() {
        let headers = xff(&["203.0.113.9"]);
        let loopback = TrustedProxies {
            loopback: true,
            listed: IpEntries::default(),
        };
        for peer in ["127.0.0.1", "127.0.0.5", "::1", "::ffff:127.0.0.1"] {
            assert_eq!(
                resolve(ip(peer), &headers, &loopback).unwrap(),
                ip("203.0.113.9"),
                "{peer}"
            );
        }
        assert_eq!(
            resolve(ip("192.0.2.1"), &headers, &loopback).unwrap(),
            ip("192.0.2.1"),
            "a remote peer is not a loopback proxy"
        );
        assert_eq!(
            resolve(ip("127.0.0.1"), &headers, &listed("")).unwrap(),
            ip("127.0.0.1")
        );
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn headers(values: &[String]) -> HeaderMap {
            let mut headers = HeaderMap::new();
            for value in values {
                if let Ok(value) = axum::http::HeaderValue::from_str(value) {
                    headers.append("x-forwarded-for", value);
                }
            }
            headers
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// Whatever a client sends, the answer is the peer or an address it listed, and an
            /// untrusted peer is always itself.
            #[test]
            fn the_client_is_the_peer_or_a_listed_hop(
                peer in any::<[u8; 4]>(),
                values in proptest::collection::vec("[0-9a-f.:, ]{0,40}", 0..4),
                trust_peer in any::<bool>(),
            ) {
                let peer = IpAddr::from(peer);
                let trusted = if trust_peer {
                    listed(&peer.to_string())
                } else {
                    TrustedProxies::default()
                };
                let headers = headers(&values);
                match resolve(peer, &headers, &trusted) {
                    Ok(client) if !trust_peer => prop_assert_eq!(client, peer),
                    Ok(client) => {
                        let listed = values.join(",");
                        prop_assert!(client == peer || listed.contains(&client.to_string()));
                    }
                    Err(_) => prop_assert!(trust_peer),
                }
            }
        }
    }
}
