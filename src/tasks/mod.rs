//! The task runner: long operations (updates, DNS sync, ...) run as background tasks that admins
//! watch live. A job is an async function given a [`TaskContext`]; the runner owns everything
//! else: the row's life cycle, the log file, the live fan-out, time limits, cancellation, and the
//! rule of one task per type at a time.

mod command;
pub mod log;
pub mod stream;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use serde_json::{Value, json};
use sqlx::SqlitePool;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use self::log::{LiveLog, LogSource};
use crate::clock::now_iso;
use crate::{notifications, store};

/// Why a task could not be started, stopped or followed.
#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    #[error("A {0} task is already running")]
    AlreadyRunning(&'static str),
    #[error("The server is shutting down")]
    ShuttingDown,
    #[error("task is not active")]
    NotActive,
    #[error("No such task")]
    NotFound,
    #[error("Too many log streams are open; close one and retry")]
    TooManyStreams,
    #[error("The task log cannot be read: {0}")]
    LogUnreadable(std::io::Error),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What a task does. Implement it for a struct holding the job's inputs.
pub trait Job: Send + 'static {
    /// The task type clients see (`update`, `syncDyndns`, ...).
    fn task_type(&self) -> &'static str;
    /// Past this the job is stopped and the task fails with code `timeout`.
    fn time_limit(&self) -> Duration;
    /// Stored with the task, never shown to clients.
    fn args(&self) -> Value {
        json!({})
    }
    /// Runs the job; the value becomes the task's `result`. Stop, time-out and shutdown drop
    /// the future at its next await, so whatever it creates must clean up on drop (guards,
    /// [`TaskContext::run_command`] kills its process group).
    fn run(self, ctx: TaskContext) -> impl Future<Output = anyhow::Result<Value>> + Send;
}

/// What a running job may do: report progress, log lines, run commands.
#[derive(Clone)]
pub struct TaskContext {
    id: i64,
    db: SqlitePool,
    log: Arc<LiveLog>,
    /// Where the task's log and the record of its running command are.
    logs_dir: PathBuf,
}

impl TaskContext {
    pub fn id(&self) -> i64 {
        self.id
    }

    /// Sets `percent` (at most 99 while running) and `message`, and logs the message.
    pub async fn progress(&self, percent: u8, message: &str) -> anyhow::Result<()> {
        self.log.write(message);
        store::tasks::set_progress(&self.db, self.id, percent.min(99), message, &now_iso()).await?;
        Ok(())
    }

    /// Appends a line to the task's log.
    pub fn log(&self, line: &str) {
        self.log.write(line);
    }
}

/// A task that is pending or running in this process.
struct Live {
    cancel: CancellationToken,
    log: Arc<LiveLog>,
}

/// The claim on a task type while its task is unfinished; dropping it frees the type.
struct TypeClaim {
    inner: Arc<Inner>,
    task_type: &'static str,
}

impl Drop for TypeClaim {
    fn drop(&mut self) {
        lock(&self.inner.claimed).remove(self.task_type);
    }
}

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Clone)]
pub struct TaskRunner {
    inner: Arc<Inner>,
}

struct Inner {
    db: SqlitePool,
    logs_dir: PathBuf,
    live: std::sync::Mutex<HashMap<i64, Live>>,
    /// Types with an unfinished task: one at a time per type.
    claimed: std::sync::Mutex<HashSet<&'static str>>,
    /// Bounds how many tasks run at once; the rest wait as `pending`.
    slots: Semaphore,
    tracker: TaskTracker,
    shutdown: CancellationToken,
}

enum Outcome {
    Success(Value),
    Failed(String),
    Stopped,
    TimedOut(Duration),
    Crashed,
}

impl TaskRunner {
    /// Ends with code `crashed` every task a previous process left unfinished.
    pub async fn new(
        db: SqlitePool,
        logs_dir: PathBuf,
        max_running: usize,
        shutdown: CancellationToken,
    ) -> anyhow::Result<Self> {
        command::kill_leftovers(&logs_dir);
        let error =
            json!({ "message": "Task was interrupted by a server restart", "code": "crashed" });
        for task in store::tasks::fail_unfinished(&db, &error, &now_iso()).await? {
            tracing::warn!(
                task.id = task.id,
                "task {} ({}) was interrupted by a restart",
                task.id,
                task.task_type
            );
            let title = format!("Task {} failed", task.task_type);
            let message = format!(
                "Task {} failed: Task was interrupted by a server restart",
                task.task_type
            );
            notifications::notify(&db, None, &title, &message).await?;
        }
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                logs_dir,
                live: std::sync::Mutex::default(),
                claimed: std::sync::Mutex::default(),
                slots: Semaphore::new(max_running.max(1)),
                tracker: TaskTracker::new(),
                shutdown,
            }),
        })
    }

    /// Starts `job` as a new task and returns its id; refused while a task of its type is
    /// unfinished.
    pub async fn start<J: Job>(&self, job: J) -> Result<i64, TaskError> {
        let inner = &self.inner;
        let task_type = job.task_type();
        if !lock(&inner.claimed).insert(task_type) {
            return Err(TaskError::AlreadyRunning(task_type));
        }
        let claim = TypeClaim {
            inner: inner.clone(),
            task_type,
        };
        if inner.shutdown.is_cancelled() {
            return Err(TaskError::ShuttingDown);
        }
        let id = store::tasks::insert(&inner.db, task_type, &job.args(), &now_iso()).await?;
        let log = match LiveLog::create(log::path(&inner.logs_dir, id), &id.to_string()) {
            Ok(log) => Arc::new(log),
            Err(err) => {
                let error = json!({ "message": "The task log cannot be created" });
                store::tasks::finish(&inner.db, id, None, Some(&error), &now_iso()).await?;
                return Err(anyhow::Error::from(err)
                    .context("cannot create a task log")
                    .into());
            }
        };
        let cancel = inner.shutdown.child_token();
        lock(&inner.live).insert(
            id,
            Live {
                cancel: cancel.clone(),
                log: log.clone(),
            },
        );
        tracing::info!(task.id = id, "task {id} ({task_type}) queued");
        inner
            .tracker
            .spawn(run(inner.clone(), id, job, log, cancel, claim));
        Ok(id)
    }

    /// Stops a pending or running task.
    pub async fn stop(&self, id: i64) -> Result<(), TaskError> {
        if let Some(task) = lock(&self.inner.live).get(&id) {
            task.cancel.cancel();
            return Ok(());
        }
        match store::tasks::get(&self.inner.db, id).await? {
            Some(_) => Err(TaskError::NotActive),
            None => Err(TaskError::NotFound),
        }
    }

    /// A task's log, with its live lines while the task is pending or running.
    pub fn log(&self, id: i64) -> LogSource {
        let live = lock(&self.inner.live)
            .get(&id)
            .map(|task| task.log.subscribe());
        LogSource {
            path: log::path(&self.inner.logs_dir, id),
            source: id.to_string().into(),
            live,
        }
    }

    /// Waits up to `grace` for the tasks (cancelled by the shutdown token) to end; whatever is
    /// left is marked `crashed` in the store.
    pub async fn shut_down(&self, grace: Duration) {
        self.inner.tracker.close();
        if tokio::time::timeout(grace, self.inner.tracker.wait())
            .await
            .is_err()
        {
            let error = json!({ "message": "Task was interrupted by a server shutdown", "code": "crashed" });
            if let Err(err) =
                store::tasks::fail_unfinished(&self.inner.db, &error, &now_iso()).await
            {
                tracing::error!(error = %err, "cannot mark the unfinished tasks: {err}");
            }
        }
    }
}

async fn run<J: Job>(
    inner: Arc<Inner>,
    id: i64,
    job: J,
    log: Arc<LiveLog>,
    cancel: CancellationToken,
    claim: TypeClaim,
) {
    let task_type = job.task_type();
    let outcome = tokio::select! {
        biased;
        () = cancel.cancelled() => Outcome::Stopped,
        slot = inner.slots.acquire() => match slot {
            Ok(_slot) => execute(&inner, id, job, log.clone(), cancel.clone()).await,
            Err(_) => Outcome::Stopped,
        },
    };
    // The job is over: its type is free and it cannot be stopped any more, before the store
    // says it ended, so a client that sees the end can start the next one at once.
    lock(&inner.live).remove(&id);
    drop(claim);
    finish(&inner, id, task_type, &log, outcome).await;
}

async fn execute<J: Job>(
    inner: &Inner,
    id: i64,
    job: J,
    log: Arc<LiveLog>,
    cancel: CancellationToken,
) -> Outcome {
    if let Err(err) = store::tasks::set_active(&inner.db, id, &now_iso()).await {
        return Outcome::Failed(format!("cannot start: {err}"));
    }
    let limit = job.time_limit();
    let ctx = TaskContext {
        id,
        db: inner.db.clone(),
        log,
        logs_dir: inner.logs_dir.clone(),
    };
    let running = AssertUnwindSafe(tokio::time::timeout(limit, job.run(ctx))).catch_unwind();
    tokio::select! {
        biased;
        () = cancel.cancelled() => Outcome::Stopped,
        ended = running => match ended {
            Ok(Ok(Ok(result))) => Outcome::Success(result),
            Ok(Ok(Err(err))) => Outcome::Failed(format!("{err:#}")),
            Ok(Err(_)) => Outcome::TimedOut(limit),
            Err(_) => Outcome::Crashed,
        },
    }
}

async fn finish(inner: &Inner, id: i64, task_type: &str, log: &LiveLog, outcome: Outcome) {
    let error = match &outcome {
        Outcome::Success(_) => None,
        Outcome::Failed(message) => Some(json!({ "message": message })),
        Outcome::Stopped if inner.shutdown.is_cancelled() => Some(
            json!({ "message": format!("Task {id} stopped by a server shutdown"), "code": "stopped" }),
        ),
        Outcome::Stopped => {
            Some(json!({ "message": format!("Task {id} stopped"), "code": "stopped" }))
        }
        Outcome::TimedOut(limit) => Some(
            json!({ "message": format!("Task {id} timed out after {limit:?}"), "code": "timeout" }),
        ),
        Outcome::Crashed => {
            Some(json!({ "message": format!("Task {id} crashed"), "code": "crashed" }))
        }
    };
    let message = error
        .as_ref()
        .and_then(|e| e["message"].as_str())
        .unwrap_or("Task finished");
    log.write(message);
    tracing::info!(task.id = id, "task {id} ({task_type}): {message}");
    let result = match &outcome {
        Outcome::Success(result) => Some(result),
        _ => None,
    };
    let notify = error.is_some() && !matches!(outcome, Outcome::Stopped);
    // The end and its notification together: whoever sees the one sees the other.
    let stored = async {
        let mut tx = store::begin_write(&inner.db).await?;
        store::tasks::finish(&mut *tx, id, result, error.as_ref(), &now_iso()).await?;
        if notify {
            let title = format!("Task {task_type} failed");
            let text = format!("Task {task_type} failed: {message}");
            notifications::notify(&mut *tx, None, &title, &text).await?;
        }
        tx.commit().await
    };
    if let Err(err) = stored.await {
        tracing::error!(task.id = id, error = %err, "cannot store the end of task {id}: {err}");
    }
}
