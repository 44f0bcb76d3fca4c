//! Cross-cutting: the built binary, as an operator runs it (`serve`, `admin`, `backup`,
//! `healthcheck`).

mod admin;
mod backup;
mod restore;
mod metrics;
mod serve;
