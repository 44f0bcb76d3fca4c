//! Cross-cutting: the built binary, as an operator runs it (`serve`, `admin`, `backup`,
//! `healthcheck`).

mod admin;
mod backup;
mod logs;
mod restore;
mod metrics;
mod serve;
