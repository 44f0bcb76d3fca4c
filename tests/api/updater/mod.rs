//! `/api/v1/updater/...` against a release server started here (`support::UpdateSetup`): update
//! checks, the update task, release verification, the automatic update schedule.

mod check;
mod schedule;
mod update_task;
mod verification;
