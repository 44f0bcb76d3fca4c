//! The test harness: a real boxd on an ephemeral port over a temp data dir (`TestServer`), the
//! built binary as a child process (`Served`), fixtures and shared assertions, and real servers
//! to talk to (`pebble` for ACME, `slapd` for LDAP). Topic files take their helpers from here,
//! never from each other.

mod binary;
mod browser;
mod expect;
mod fixtures;
mod jobs;
pub mod nginx;
pub mod pebble;
mod releases;
mod server;
pub mod slapd;
mod smtp;

pub use binary::{BOXD, Served};
pub use browser::Browser;
pub use expect::{
    expect_admin_only, expect_error, expect_error_exact, expect_secret_hidden_and_kept,
};
pub use fixtures::{
    add_invited_user, enable_two_factor, form, gif, jpeg, link_param, png, totp_code, try_login,
    user_body, wait_for_notification, wait_for_task, wait_for_task_end,
};
pub use jobs::{Gated, start_job};
pub use releases::{Releases, Signer, UpdateSetup, tarball};
pub use server::{OWNER, OWNER_PASSWORD, TestServer, USER_PASSWORD, client};
pub use smtp::SmtpSink;
