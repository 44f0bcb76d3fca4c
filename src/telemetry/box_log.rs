//! boxd's own log file, `<data-dir>/logs/box.log`: the lines of stderr, as task logs store
//! theirs (time, escaped message), rotated by size, and fanned out live for
//! `/system/logstream/box`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::tasks::log::{LiveLog, Rotation};

/// Past 10 MiB the file becomes `box.log.1`; three old files are kept.
const ROTATION: Rotation = Rotation {
    max_bytes: 10 * 1024 * 1024,
    keep: 3,
};

pub fn box_log_path(data_dir: &Path) -> PathBuf {
    data_dir.join("logs").join("box.log")
}

pub(super) fn open(data_dir: &Path) -> std::io::Result<LiveLog> {
    LiveLog::append_rotating(box_log_path(data_dir), "box", ROTATION)
}

/// Lines held before a write, at most: the log's background thread flushes whenever it has
/// nothing more to write, so this only bounds a burst.
const BATCH_BYTES: usize = 64 * 1024;

/// The writer the log's background thread calls once per formatted line. It holds the lines
/// and appends them in one write when flushed (or when a burst fills [`BATCH_BYTES`]).
/// The log stamps each record with its own time: lines come without one, or with one it
/// replaces (the lines of stderr, shared).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Stamp {
    Add,
    Replace,
}

pub(super) struct Writer {
    log: Arc<LiveLog>,
    stamp: Stamp,
    pending: Vec<String>,
    pending_bytes: usize,
    /// The log cannot report its own failures through itself: the first goes to stderr.
    failed: bool,
}

impl Writer {
    pub(super) fn new(log: &Arc<LiveLog>, stamp: Stamp) -> Self {
        Self {
            log: log.clone(),
            stamp,
            pending: Vec::new(),
            pending_bytes: 0,
            failed: false,
        }
    }
}

impl Write for Writer {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(line);
        let text = match self.stamp {
            Stamp::Add => &text,
            Stamp::Replace => text.split_once(' ').map_or(&*text, |(_, rest)| rest),
        };
        let text = text.trim().to_owned();
        self.pending_bytes += text.len();
        self.pending.push(text);
        if self.pending_bytes >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let appended = self.log.append_all(self.pending.iter().map(String::as_str));
        self.pending.clear();
        self.pending_bytes = 0;
        if let Err(err) = appended
            && !std::mem::replace(&mut self.failed, true)
        {
            eprintln!("boxd: cannot write its log file: {err}");
        }
        Ok(())
    }
}
