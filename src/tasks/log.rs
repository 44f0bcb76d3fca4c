//! Log files as boxd writes them: task logs (`<data-dir>/logs/tasks/<id>.log`) and boxd's own
//! log (`<data-dir>/logs/box.log`, rotated by size). One record per line,
//! `<ISO time with microseconds> <message>`. Messages are escaped, so a newline or a control
//! character inside one cannot forge another record.

use std::fmt::Write as _;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::json;
use tokio::sync::broadcast;

/// Longer messages are cut (in escaped bytes), so one record cannot take unbounded memory in
/// the live fan-out, and a record always fits in one read of a follower.
const MAX_MESSAGE_BYTES: usize = 16 * 1024;
/// Live lines a follower may fall behind by before it catches up from the file.
pub const LIVE_CAPACITY: usize = 1024;

/// One record as followers receive it: its id (the time in µs, unique and rising per task) and
/// the JSON of its SSE `data`.
#[derive(Debug, Clone)]
pub struct LogLine {
    pub micros: i64,
    pub data: Arc<str>,
    /// The file offset just past this line, for a live line; where a lagging follower resumes.
    pub end: Option<u64>,
}

pub fn path(dir: &Path, id: i64) -> PathBuf {
    dir.join(format!("{id}.log"))
}

/// The JSON of one record, as the logs download (`format=json`) and the log stream send it;
/// `source` names the log (a task id, or `box`).
pub fn record_json(source: &str, micros: i64, message: &str) -> String {
    json!({ "realtimeTimestamp": micros, "message": message, "source": source }).to_string()
}

/// Escapes `\`, newlines and control characters (tabs stay).
pub fn escape(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    for c in message.chars() {
        if out.len() >= MAX_MESSAGE_BYTES {
            out.push('…');
            break;
        }
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push('\t'),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// The message a stored record was made from.
pub fn unescape(stored: &str) -> String {
    let mut out = String::with_capacity(stored.len());
    let mut chars = stored.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('u') => {
                let code: String = chars.by_ref().skip(1).take_while(|c| *c != '}').collect();
                out.extend(u32::from_str_radix(&code, 16).ok().and_then(char::from_u32));
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// A stored line: (µs since the epoch, or 0 when unreadable; the escaped message).
pub fn parse(line: &str) -> (i64, &str) {
    let (time, message) = line.split_once(' ').unwrap_or((line, ""));
    let micros = DateTime::parse_from_rfc3339(time).map_or(0, |t| t.timestamp_micros());
    (micros, message)
}

/// Size-based rotation of a long-lived log: past `max_bytes` the file becomes `<name>.1`, the
/// older ones move up, and at most `keep` old files stay.
#[derive(Debug, Clone, Copy)]
pub struct Rotation {
    pub max_bytes: u64,
    pub keep: usize,
}

/// The file being written, the id of its last record, and its length.
#[derive(Debug)]
struct Open {
    file: File,
    last: i64,
    len: u64,
}

/// The writer of one log: appends records to the file and fans them out live.
#[derive(Debug)]
pub struct LiveLog {
    source: Arc<str>,
    path: PathBuf,
    rotation: Option<Rotation>,
    open: Mutex<Open>,
    live: broadcast::Sender<LogLine>,
}

impl LiveLog {
    /// A task's log: creates (or truncates) the file.
    pub fn create(path: PathBuf, source: &str) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&path)?;
        Ok(Self::over(path, source, None, file, 0))
    }

    /// A long-lived log: appends to the file, which rotates by size.
    pub fn append_rotating(
        path: PathBuf,
        source: &str,
        rotation: Rotation,
    ) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        let len = file.metadata()?.len();
        Ok(Self::over(path, source, Some(rotation), file, len))
    }

    fn over(path: PathBuf, source: &str, rotation: Option<Rotation>, file: File, len: u64) -> Self {
        Self {
            source: source.into(),
            path,
            rotation,
            open: Mutex::new(Open { file, last: 0, len }),
            live: broadcast::Sender::new(LIVE_CAPACITY),
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LogLine> {
        // Under the writers' lock, as appends only send lines when someone follows: a line is
        // in the file before the subscription, or sent after it.
        let _open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.live.subscribe()
    }

    /// The log as followers read it: this file, and the live lines from now on.
    pub fn reader(&self) -> LogSource {
        LogSource {
            path: self.path.clone(),
            source: self.source.clone(),
            live: Some(self.subscribe()),
        }
    }

    /// Appends one record. A failing disk is logged, not fatal to the task.
    pub fn write(&self, message: &str) {
        if let Err(err) = self.append(message) {
            let source = &self.source;
            tracing::warn!(log.source = %source, error = %err, "cannot write the log {source}: {err}");
        }
    }

    /// Appends one record, answering a failure (the writer of boxd's own log cannot log it).
    pub fn append(&self, message: &str) -> std::io::Result<()> {
        self.append_all([message])
    }

    /// Appends lines with one write: the busy log of the server itself batches its lines.
    pub fn append_all<'m>(
        &self,
        messages: impl IntoIterator<Item = &'m str>,
    ) -> std::io::Result<()> {
        let mut open = self
            .open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let following = self.live.receiver_count() > 0;
        let mut text = String::new();
        let mut live = Vec::new();
        for message in messages {
            let escaped = escape(message);
            // Record ids must rise strictly, even for two records in the same microsecond.
            let micros = Utc::now().timestamp_micros().max(open.last + 1);
            open.last = micros;
            let time = DateTime::from_timestamp_micros(micros).unwrap_or_default();
            let _ = writeln!(
                text,
                "{} {escaped}",
                time.to_rfc3339_opts(SecondsFormat::Micros, true)
            );
            if following {
                let end = open.len + u64::try_from(text.len()).unwrap_or_default();
                live.push((micros, escaped, end));
            }
        }
        let written = open.file.write_all(text.as_bytes());
        open.len += u64::try_from(text.len()).unwrap_or_default();
        for (micros, escaped, end) in live {
            let data = record_json(&self.source, micros, &unescape(&escaped)).into();
            // Nobody following is fine.
            let _ = self.live.send(LogLine {
                micros,
                data,
                end: Some(end),
            });
        }
        written?;
        match self.rotation {
            Some(rotation) if open.len >= rotation.max_bytes => {
                open.file = rotate(&self.path, rotation.keep)?;
                open.len = 0;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

/// Moves `path` to `path.1` (and `.1` to `.2`, ...), keeping `keep` old files; a new file.
fn rotate(path: &Path, keep: usize) -> std::io::Result<File> {
    let numbered = |n: usize| {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    };
    for n in (1..keep).rev() {
        let older = numbered(n);
        if older.exists() {
            std::fs::rename(&older, numbered(n + 1))?;
        }
    }
    if keep > 0 {
        std::fs::rename(path, numbered(1))?;
    } else {
        std::fs::remove_file(path)?;
    }
    OpenOptions::new().create(true).append(true).open(path)
}

/// A log to read or follow: its file, the `source` its records name, and its live lines while
/// it is being written.
#[derive(Debug)]
pub struct LogSource {
    pub path: PathBuf,
    pub source: Arc<str>,
    pub live: Option<broadcast::Receiver<LogLine>>,
}

/// Where the last `lines` complete lines of a file begin (0 for `None`: all of them), found by
/// reading backwards a block at a time without keeping what was read.
pub fn tail_offset(path: &Path, lines: Option<usize>) -> std::io::Result<u64> {
    let mut file = File::open(path)?;
    let Some(wanted) = lines else { return Ok(0) };
    let mut end = file.seek(SeekFrom::End(0))?;
    let mut block = vec![0u8; 64 * 1024];
    // The newline ending the last complete line is where counting starts; lines are counted by
    // the newlines before them.
    let mut last_complete: Option<u64> = None;
    let mut seen = 0;
    while end > 0 {
        let start = end.saturating_sub(64 * 1024);
        let len = usize::try_from(end - start).unwrap_or_default();
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut block[..len])?;
        for (i, byte) in block[..len].iter().enumerate().rev() {
            if *byte != b'\n' {
                continue;
            }
            let after = start + u64::try_from(i).unwrap_or_default() + 1;
            if last_complete.is_none() {
                last_complete = Some(after);
                if wanted == 0 {
                    return Ok(after);
                }
                continue;
            }
            seen += 1;
            if seen == wanted {
                return Ok(after);
            }
        }
        end = start;
    }
    Ok(0)
}

/// The complete lines from byte `offset`, at most about `max_bytes` of them; answers the lines,
/// the offset after them, and whether the end of the file was reached.
pub fn read_from(
    path: &Path,
    offset: u64,
    max_bytes: usize,
) -> std::io::Result<(Vec<String>, u64, bool)> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut buffer = Vec::with_capacity(max_bytes);
    file.take(u64::try_from(max_bytes).unwrap_or(u64::MAX))
        .read_to_end(&mut buffer)?;
    let at_end = buffer.len() < max_bytes;
    // A line still being written (no newline yet) is left for the next read; a full read
    // without any newline (a file not written by boxd) is taken whole, so reading always moves on.
    let complete = match buffer.iter().rposition(|b| *b == b'\n') {
        Some(last) => last + 1,
        None if !at_end => buffer.len(),
        None => 0,
    };
    let text = String::from_utf8_lossy(&buffer[..complete]);
    let lines = text.lines().map(str::to_owned).collect();
    Ok((
        lines,
        offset + u64::try_from(complete).unwrap_or_default(),
        at_end,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_last(path: &Path, lines: Option<usize>) -> std::io::Result<Vec<String>> {
        let offset = tail_offset(path, lines)?;
        let (lines, _, at_end) = read_from(path, offset, 1 << 20)?;
        assert!(at_end);
        Ok(lines)
    }

    #[test]
    fn escaping_round_trips_and_keeps_records_on_one_line() {
        for message in [
            "plain",
            "two\nlines",
            "back\\slash\\n",
            "bell\u{7}\r\n2026-01-01T00:00:00Z forged",
            "tab\there",
        ] {
            let escaped = escape(message);
            assert!(
                !escaped.contains('\n') && !escaped.contains('\r'),
                "{escaped}"
            );
            assert_eq!(unescape(&escaped), message);
        }
    }

    #[test]
    fn records_are_written_with_rising_ids_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let log = LiveLog::create(path(dir.path(), 7), "7").unwrap();
        let mut live = log.subscribe();
        for n in 0..300 {
            log.write(&format!("line {n}"));
        }
        log.write("evil\n2020-01-01T00:00:00.000000Z injected");
        let all = read_last(&path(dir.path(), 7), None).unwrap();
        assert_eq!(all.len(), 301, "the injected newline made no record");
        let ids: Vec<i64> = all.iter().map(|line| parse(line).0).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids rise strictly");
        assert_eq!(parse(&all[5]).1, "line 5");
        let first = live.try_recv().unwrap();
        assert_eq!(first.micros, ids[0]);
        let data: serde_json::Value = serde_json::from_str(&first.data).unwrap();
        assert_eq!(
            data,
            json!({"realtimeTimestamp": ids[0], "message": "line 0", "source": "7"})
        );
        assert_eq!(first.end, Some(all[0].len() as u64 + 1));
        let last = read_last(&path(dir.path(), 7), Some(2)).unwrap();
        assert_eq!(parse(&last[0]).1, "line 299");
        assert_eq!(
            unescape(parse(&last[1]).1),
            "evil\n2020-01-01T00:00:00.000000Z injected"
        );
        assert!(read_last(&path(dir.path(), 7), Some(0)).unwrap().is_empty());
        assert_eq!(
            read_last(&path(dir.path(), 7), Some(1000)).unwrap().len(),
            301
        );
        assert_eq!(parse("garbage"), (0, ""));
    }

    #[test]
    fn a_rotating_log_moves_full_files_aside_and_keeps_a_few() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("box.log");
        let rotation = Rotation {
            max_bytes: 200,
            keep: 2,
        };
        let log = LiveLog::append_rotating(file.clone(), "box", rotation).unwrap();
        for n in 0..40 {
            log.append(&format!("line {n}")).unwrap();
        }
        let old = |n: usize| dir.path().join(format!("box.log.{n}"));
        assert!(old(1).exists() && old(2).exists() && !old(3).exists());
        let current = std::fs::metadata(&file).unwrap().len();
        assert!(current < 200, "{current}");
        let newest = read_last(&file, Some(1)).unwrap();
        assert_eq!(parse(&newest[0]).1, "line 39");
        drop(log);
        let again = LiveLog::append_rotating(file.clone(), "box", rotation).unwrap();
        again.append("after a restart").unwrap();
        let lines = read_last(&file, None).unwrap();
        assert!(lines.len() > 1, "appended to, not truncated");
        assert_eq!(parse(lines.last().unwrap()).1, "after a restart");
    }
}
