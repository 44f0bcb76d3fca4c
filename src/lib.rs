//! boxd: the Cloudron REST API (`/api/v1/...`) as one binary over an embedded SQLite store.
//!
//! A request passes the layers of [`app::router`] (request id, trace, panic catcher, the
//! [`network`] layer that resolves the client address and applies the blocklist), then, on
//! protected routes, the token layer of [`auth`]; the handler in [`api`] checks the role through
//! its extractors, validates, and calls [`store`] (SQL) and the services ([`eventlog`],
//! [`settings`], [`users`]).

pub mod admin;
pub mod api;
pub mod app;
pub mod auth;
pub mod clock;
pub mod config;
pub mod dyndns;
pub mod error;
pub mod eventlog;
pub mod images;
pub mod jobs;
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
