//! IpEntries: lines of IPv4/IPv6 addresses or CIDR ranges, `#` comments and blank lines.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::error::Invalid;

/// A parsed list that keeps the text exactly as the client sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpEntries {
    text: String,
    nets: Vec<IpNet>,
}

impl IpEntries {
    /// Parses `text`; the error names the first bad line.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let net = line
                .parse::<IpNet>()
                .or_else(|_| line.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{line} is not an IP address or CIDR range"))?;
            nets.push(canonical_net(net));
        }
        Ok(Self {
            text: text.to_owned(),
            nets,
        })
    }

    /// Parses IpEntries a client sent in `field`; the error names the field and the bad line.
    pub fn parse_field(field: &str, text: &str) -> Result<Self, Invalid> {
        Self::parse(text).map_err(|line| Invalid(format!("{field}: {line}")))
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    /// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) match IPv4 entries and the other way round.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.nets.iter().any(|net| net.contains(&ip))
    }
}

/// `::ffff:10.0.0.0/104` is the IPv4 range `10.0.0.0/8`.
fn canonical_net(net: IpNet) -> IpNet {
    match net {
        IpNet::V6(v6) if v6.prefix_len() >= 96 => match v6.network().to_ipv4_mapped() {
            Some(v4) => IpNet::new(IpAddr::V4(v4), v6.prefix_len() - 96).unwrap_or(net),
            None => net,
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn parses_addresses_ranges_comments_and_blank_lines() {
        let text = "# office\n5.75.0.0/16\n\n  2604:a880:1:4a::2:7000  \n10.1.2.3\n";
        let entries = IpEntries::parse(text).unwrap();
        assert_eq!(entries.as_str(), text, "the text is kept exactly");
        assert!(entries.contains(ip("5.75.3.4")));
        assert!(entries.contains(ip("2604:a880:1:4a::2:7000")));
        assert!(entries.contains(ip("10.1.2.3")));
        assert!(!entries.contains(ip("10.1.2.4")));
        assert!(IpEntries::parse("").unwrap().is_empty());
    }

    #[test]
    fn a_bad_line_is_named() {
        let err = IpEntries::parse("1.2.3.4\nnot-an-ip\n").unwrap_err();
        assert!(err.contains("not-an-ip"), "{err}");
        assert!(IpEntries::parse("1.2.3.4/33").is_err());
    }

    #[test]
    fn ipv4_mapped_ipv6_matches_ipv4_ranges() {
        let entries = IpEntries::parse("127.0.0.0/8").unwrap();
        assert!(entries.contains(ip("::ffff:127.0.0.1")));
        let mapped = IpEntries::parse("::ffff:10.0.0.0/104").unwrap();
        assert!(mapped.contains(ip("10.9.9.9")));
        assert!(!mapped.contains(ip("11.0.0.1")));
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            #[test]
            fn any_text_is_parsed_or_refused_and_kept_exactly(text in ".{0,200}") {
                if let Ok(entries) = IpEntries::parse(&text) {
                    prop_assert_eq!(entries.as_str(), text.as_str());
                }
            }

            #[test]
            fn every_listed_address_is_contained(octets in proptest::collection::vec(any::<[u8; 4]>(), 1..20)) {
                let ips: Vec<IpAddr> = octets.iter().map(|o| IpAddr::from(*o)).collect();
                let text = ips.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n# a comment\n");
                let entries = IpEntries::parse(&text).unwrap();
                for ip in ips {
                    prop_assert!(entries.contains(ip));
                    let mapped = match ip {
                        IpAddr::V4(v4) => IpAddr::V6(v4.to_ipv6_mapped()),
                        v6 => v6,
                    };
                    prop_assert!(entries.contains(mapped), "mapped {}", mapped);
                }
            }
        }
    }
}
