//! `/api/v1/tasks/...`: the task runner through HTTP. Jobs here (`support::Gated`) wait on
//! signals the test gives, never on sleeps.

mod lifecycle;
mod logs;
mod logstream;
