//! boxd: the Cloudron REST API (`/api/v1/...`) as one binary over an embedded SQLite store.
//!
//! A tour, outside in:
//! - [`app`] builds the router and its layers (request id, trace, panic catcher, the
//!   [`network`] layer that resolves the client address and applies the blocklist) and runs the
//!   serve loop; [`state`] holds what requests and jobs reach ([`state::AppState`]).
//! - [`api`] has one module per URL resource: `/api/v1/users/...` is `api::users`. Handlers
//!   extract (the token layer and role extractors of [`auth`]), call one domain function, and
//!   map the result to the wire.
//! - Domain modules hold the rules and the changes: [`users`] (accounts), [`groups`], [`auth`]
//!   (tokens, credentials, throttling), [`settings`], [`network`], [`images`], [`eventlog`],
//!   [`notifications`], [`tasks`] (the task runner), [`updater`], [`dyndns`], [`certs`] (ACME
//!   certificates), [`system`] (the host: reboot, information, disk usage, boxd's own log),
//!   [`mail`] (the SMTP relay and its delivery queue).
//! - [`store`] is the SQL, one module per table; it knows nothing of HTTP.
//! - [`ldap`] is the directory server: boxd as an LDAP server for apps, started by the serve
//!   loop beside the HTTP server. [`external_ldap`] is the other way round: boxd as an LDAP
//!   client of a company directory, whose users and groups it syncs and signs in.
//! - [`jobs`] registers the periodic jobs with the [`scheduler`]; [`clock`] is the one time
//!   source; [`error`] maps every domain error into the HTTP error in one place.
//!
//! Imports point down: `api` → domain → `store`; nothing below `api` imports `api` or `app`.

pub mod admin;
pub mod api;
pub mod app;
pub mod auth;
pub mod certs;
pub mod clock;
pub mod config;
pub mod dyndns;
pub mod error;
pub mod eventlog;
pub mod external_ldap;
pub mod groups;
pub mod images;
pub mod jobs;
pub mod ldap;
pub mod mail;
pub mod network;
pub mod notifications;
pub mod openapi;
pub mod outbound;
pub mod scheduler;
pub mod settings;
pub mod state;
pub mod store;
pub mod system;
pub mod tasks;
pub mod telemetry;
pub mod updater;
pub mod users;

/// reqwest uses rustls without a built-in provider; install ring once per process.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
