//! The test harness: a real boxd on an ephemeral port over a temp data dir (`TestServer`), the
//! built binary as a child process (`Served`), fixtures and shared assertions. Topic files take
//! their helpers from here, never from each other.

mod binary;
mod expect;
mod fixtures;
mod jobs;
pub mod nginx;
pub mod pebble;
mod releases;
mod server;

pub use binary::{BOXD, Served};
pub use expect::{
    expect_admin_only, expect_error, expect_error_exact, expect_secret_hidden_and_kept,
};
pub use fixtures::{
    enable_two_factor, form, jpeg, png, totp_code, try_login, user_body, wait_for_notification,
    wait_for_task,
};
pub use jobs::{Gated, start_job};
pub use releases::{Releases, Signer, UpdateSetup, tarball};
pub use server::{OWNER, OWNER_PASSWORD, TestServer, USER_PASSWORD, client};
