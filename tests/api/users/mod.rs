//! `/api/v1/users` and its sub-resources, one file each; `ranks` holds who may act on whom.

mod active;
mod create;
mod delete;
mod ghost;
mod invite;
mod list;
mod password;
mod profile;
mod ranks;
mod reset;
mod role;
mod two_factor;
