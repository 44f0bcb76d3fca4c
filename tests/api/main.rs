//! Integration tests: each starts a real boxd on an ephemeral port and talks HTTP to it.
#![expect(
    clippy::unwrap_used,
    reason = "a test helper that meets the unexpected should panic"
)]

mod activation;
mod auth;
mod errors;
mod eventlog;
mod login;
mod openapi;
mod smoke;
mod support;
mod tokens;
