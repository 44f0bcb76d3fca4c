//! Integration tests: each starts a real boxd on an ephemeral port and talks HTTP to it.
#![expect(
    clippy::unwrap_used,
    reason = "a test helper that meets the unexpected should panic"
)]

mod activation;
mod app_passwords;
mod auth;
mod canary;
mod dyndns;
mod errors;
mod eventlog;
mod groups;
mod images;
mod ldap_server;
mod login;
mod network;
mod notifications;
mod openapi;
mod platform;
mod profile;
mod smoke;
mod support;
mod tasks;
mod throttle;
mod tokens;
mod two_factor;
mod updater;
mod users;
