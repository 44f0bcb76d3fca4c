//! Integration tests: each starts a real boxd on an ephemeral port and talks HTTP to it.
//!
//! One module per URL resource, as `src/api/` has them; then the cross-cutting files: the token
//! layer, errors, throttling, secrets (canary), mail, the OpenAPI spec, the account pages in a
//! browser, and the built binary. The shared harness is `support`.
#![expect(
    clippy::unwrap_used,
    reason = "a test helper that meets the unexpected should panic"
)]

mod support;

// One per URL resource (`/api/v1/<resource>`).
mod app_passwords;
mod auth;
mod branding;
mod cloudron;
mod directory_server;
mod docker;
mod eventlog;
mod external_ldap;
mod groups;
mod network;
mod notifications;
mod profile;
mod provision;
mod reverseproxy;
mod system;
mod tasks;
mod tokens;
mod updater;
mod user_directory;
mod users;

// Cross-cutting.
mod auth_cache;
mod binary;
mod canary;
mod errors;
mod headers;
mod ldap_server;
mod mail;
mod openapi;
mod outbound;
mod pages;
mod throttle;
mod token_layer;
