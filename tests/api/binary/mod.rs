//! Cross-cutting: the built binary, as an operator runs it (`serve`, `admin`, `backup`,
//! `restore`, `healthcheck`, `/metrics`, logs), and behind nginx.

mod admin;
mod backup;
mod logs;
mod metrics;
mod nginx;
mod restore;
mod serve;
mod slow_clients;
mod task_commands;
