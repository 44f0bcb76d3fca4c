//! boxd's own log file, `<data-dir>/logs/box.log`: the lines of stderr, as task logs store
//! theirs (time, escaped message), rotated by size, and fanned out live for
//! `/system/logstream/box`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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

/// The writer the log's background thread calls once per formatted line.
pub(super) struct Writer {
    log: Arc<LiveLog>,
    /// The log cannot report its own failures through itself: the first goes to stderr.
    failed: AtomicBool,
}

impl Writer {
    pub(super) fn new(log: &Arc<LiveLog>) -> Self {
        Self {
            log: log.clone(),
            failed: AtomicBool::new(false),
        }
    }
}

impl Write for Writer {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(line);
        if let Err(err) = self.log.append(text.trim())
            && !self.failed.swap(true, Ordering::Relaxed)
        {
            eprintln!("boxd: cannot write its log file: {err}");
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
