//! Reading and following a log (a task's, or boxd's own): the last lines from the file, then
//! live lines from the in-memory fan-out, without duplicates or gaps; a follower that falls
//! behind catches up from the file.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures_util::Stream;
use tokio::sync::broadcast::{self, error::RecvError};

use super::TaskError;
use super::log::{self, LogLine, LogSource};

/// Caps on concurrent followers, in total and per user.
#[derive(Debug)]
pub struct StreamLimits {
    total: usize,
    per_user: usize,
    open: Mutex<(usize, HashMap<String, usize>)>,
}

/// One open stream; dropping it (the client went away) frees the place.
#[derive(Debug)]
pub struct StreamPermit {
    limits: Arc<StreamLimits>,
    user: String,
}

impl StreamLimits {
    pub fn new(total: usize, per_user: usize) -> Arc<Self> {
        Arc::new(Self {
            total,
            per_user,
            open: Mutex::default(),
        })
    }

    /// The streams open now.
    pub fn open(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .0
    }

    /// A place for one more stream of `user`, or 429.
    pub fn acquire(self: &Arc<Self>, user: &str) -> Result<StreamPermit, TaskError> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mine = open.1.get(user).copied().unwrap_or_default();
        if open.0 >= self.total || mine >= self.per_user {
            return Err(TaskError::TooManyStreams);
        }
        open.0 += 1;
        open.1.insert(user.to_owned(), mine + 1);
        Ok(StreamPermit {
            limits: self.clone(),
            user: user.to_owned(),
        })
    }
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = self
            .limits
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        open.0 = open.0.saturating_sub(1);
        if let Some(mine) = open.1.get_mut(&self.user) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                open.1.remove(&self.user);
            }
        }
    }
}

/// Where to start: the last `n` lines (all for `None`), or after a given record id.
#[derive(Debug, Clone, Copy)]
pub enum Start {
    Last(Option<usize>),
    After(i64),
}

/// How much of the file a follower reads at once: its memory stays bounded however long the
/// log and however far behind it is.
const FILE_CHUNK: usize = 64 * 1024;

struct Follow {
    source: Arc<str>,
    path: PathBuf,
    /// Where the next read of the file starts, while `from_file` is set.
    offset: u64,
    from_file: bool,
    backlog: VecDeque<LogLine>,
    live: Option<broadcast::Receiver<LogLine>>,
    last: i64,
    _permit: StreamPermit,
}

/// The log's records from `start` on, then live ones until its writer ends (a task's, when the
/// task ends); after that the stream stays open (quiet) until the client leaves, as Cloudron's
/// does. `log.live` must be subscribed before the file is read: a line written in between is
/// then in both, and is skipped by its id, rather than in neither.
pub async fn follow(
    log: LogSource,
    start: Start,
    permit: StreamPermit,
) -> Result<impl Stream<Item = LogLine> + use<>, TaskError> {
    let mut state = Follow {
        source: log.source,
        path: log.path,
        offset: 0,
        from_file: true,
        backlog: VecDeque::new(),
        live: log.live,
        last: i64::MIN,
        _permit: permit,
    };
    let lines = match start {
        Start::After(id) => {
            state.last = id;
            None
        }
        Start::Last(lines) => lines,
    };
    let path = state.path.clone();
    state.offset = blocking(move || log::tail_offset(&path, lines))
        .await
        .map_err(TaskError::LogUnreadable)?;
    Ok(futures_util::stream::unfold(state, next))
}

/// The log's last `lines` records (all for `None`) as a download: NDJSON records, or the
/// stored lines; read a chunk at a time, never the whole file at once.
pub async fn download(
    log: LogSource,
    lines: Option<usize>,
    json: bool,
) -> Result<impl Stream<Item = std::io::Result<axum::body::Bytes>> + use<>, TaskError> {
    let (path, source) = (log.path, log.source);
    let start = path.clone();
    let offset = blocking(move || log::tail_offset(&start, lines))
        .await
        .map_err(TaskError::LogUnreadable)?;
    Ok(futures_util::stream::try_unfold(
        Some(offset),
        move |offset| {
            let (path, source) = (path.clone(), source.clone());
            async move {
                let Some(offset) = offset else {
                    return Ok(None);
                };
                let (lines, next, at_end) =
                    blocking(move || log::read_from(&path, offset, FILE_CHUNK)).await?;
                let mut body = String::new();
                for line in &lines {
                    if json {
                        let (micros, message) = log::parse(line);
                        body.push_str(&log::record_json(&source, micros, &log::unescape(message)));
                    } else {
                        body.push_str(line);
                    }
                    body.push('\n');
                }
                Ok(Some((
                    axum::body::Bytes::from(body),
                    (!at_end).then_some(next),
                )))
            }
        },
    ))
}

fn record(source: &str, line: &str) -> LogLine {
    let (micros, message) = log::parse(line);
    LogLine {
        micros,
        data: log::record_json(source, micros, &log::unescape(message)).into(),
        end: None,
    }
}

async fn blocking<T: Send + 'static>(
    read: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    tokio::task::spawn_blocking(read)
        .await
        .unwrap_or_else(|err| Err(std::io::Error::other(err)))
}

async fn next(mut state: Follow) -> Option<(LogLine, Follow)> {
    loop {
        if let Some(line) = state.backlog.pop_front() {
            if let Some(end) = line.end {
                state.offset = end;
            }
            if line.micros > state.last {
                state.last = line.micros;
                return Some((line, state));
            }
            continue;
        }
        if state.from_file {
            let (path, offset) = (state.path.clone(), state.offset);
            match blocking(move || log::read_from(&path, offset, FILE_CHUNK)).await {
                Ok((lines, offset, at_end)) => {
                    state
                        .backlog
                        .extend(lines.iter().map(|line| record(&state.source, line)));
                    state.offset = offset;
                    state.from_file = !at_end;
                }
                Err(err) => {
                    let source = &state.source;
                    tracing::warn!(log.source = %source, error = %err, "cannot read the log {source}: {err}");
                    return None;
                }
            }
            continue;
        }
        let Some(live) = state.live.as_mut() else {
            return std::future::pending().await;
        };
        match live.recv().await {
            Ok(line) => state.backlog.push_back(line),
            // Fell behind the fan-out: everything is in the file; read on from there.
            Err(RecvError::Lagged(_)) => state.from_file = true,
            Err(RecvError::Closed) => state.live = None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_capped_per_user_and_in_total() {
        let limits = StreamLimits::new(3, 2);
        let a1 = limits.acquire("a").unwrap();
        let _a2 = limits.acquire("a").unwrap();
        assert!(limits.acquire("a").is_err(), "per user");
        let _b1 = limits.acquire("b").unwrap();
        assert!(limits.acquire("c").is_err(), "in total");
        drop(a1);
        assert!(limits.acquire("c").is_ok());
    }
}
