//! Cross-cutting: the built binary, as an operator runs it (`serve`, `admin`, `backup`,
//! `healthcheck`).

mod admin;
mod backup;
mod serve;
mod slow_clients;
mod task_commands;
