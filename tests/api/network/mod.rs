//! `/api/v1/network/...`, one file per setting: the IP blocklist, dynamic DNS (and its job), the
//! IPv4/IPv6 configuration and the addresses it resolves to.

mod blocklist;
mod dynamic_dns;
mod ip_config;
mod ip_detection;
