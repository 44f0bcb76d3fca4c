//! `Gated`: a test job the test drives with signals, never with sleeps.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use boxd::tasks::{Job, TaskContext};
use serde_json::{Value, json};
use tokio::sync::Notify;

use super::server::TestServer;

/// A job that logs, reports progress, then waits for `gate` before it ends (or fails).
pub struct Gated {
    pub task_type: &'static str,
    pub gate: Arc<Notify>,
    pub fail: Option<&'static str>,
    pub limit: Duration,
    pub lines_after_gate: usize,
    /// Set when the job's future is dropped: it saw the cancellation.
    pub dropped: Arc<AtomicBool>,
}

impl Gated {
    pub fn new(task_type: &'static str) -> Self {
        Self {
            task_type,
            gate: Arc::new(Notify::new()),
            fail: None,
            limit: Duration::from_secs(60),
            lines_after_gate: 0,
            dropped: Arc::new(AtomicBool::new(false)),
        }
    }
}

struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Job for Gated {
    fn task_type(&self) -> &'static str {
        self.task_type
    }

    fn time_limit(&self) -> Duration {
        self.limit
    }

    fn args(&self) -> Value {
        json!({"secret": "never shown"})
    }

    async fn run(self, ctx: TaskContext) -> anyhow::Result<Value> {
        let _dropped = SetOnDrop(self.dropped.clone());
        ctx.log("first line");
        ctx.progress(10, "waiting for the gate").await?;
        self.gate.notified().await;
        for n in 0..self.lines_after_gate {
            ctx.log(&format!("live line {n}"));
        }
        if let Some(message) = self.fail {
            anyhow::bail!("{message}");
        }
        ctx.progress(90, "almost done").await?;
        Ok(json!({"done": true}))
    }
}

/// Starts `job` on the server's task runner; answers the task id.
pub async fn start_job(server: &TestServer, job: Gated) -> String {
    server.state.tasks.start(job).await.unwrap().to_string()
}
