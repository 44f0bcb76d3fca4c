//! Running an operator's shell command inside a task: output to the task log, a bounded line
//! length, and the whole process group killed when the task ends or is stopped — or when boxd
//! dies: the command runs under a small shell that the kernel signals when boxd is gone
//! (`PR_SET_PDEATHSIG`, set by util-linux's `setpriv`), and that then kills its group. Each
//! running group is also recorded, so a restart after a crash kills what survived.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use super::TaskContext;

/// Runs the command (`$1`) in the background of a shell that, on SIGTERM (sent by the kernel
/// when boxd dies), kills its whole process group; otherwise it exits with the command's status.
const SUPERVISOR: &str = "trap 'kill -KILL 0' TERM; sh -c \"$1\" & wait $!";

/// Longer output lines are split; a command cannot make one record take unbounded memory.
const MAX_LINE_BYTES: usize = 8 * 1024;
/// How long output may still drain after the command exited (a background child may keep the
/// pipes open forever).
const DRAIN: Duration = Duration::from_secs(2);

/// Kills the command's process group (the shell and anything it started) and forgets its
/// record.
struct ProcessGroup {
    pid: Option<i32>,
    record: Option<PathBuf>,
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if let Some(pid) = self.pid {
            // Already gone is fine.
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        if let Some(record) = &self.record {
            let _ = std::fs::remove_file(record);
        }
    }
}

/// When a process started, in clock ticks since boot (`/proc/<pid>/stat` field 22): with the
/// pid, it names one process for good, however pids are reused.
fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: count from its closing one.
    let after_name = &stat[stat.rfind(')')? + 2..];
    after_name.split(' ').nth(19)?.parse().ok()
}

fn record_path(dir: &Path, task_id: i64) -> PathBuf {
    dir.join(format!("{task_id}.command"))
}

/// Kills the process groups that commands of a previous boxd left running (it crashed or was
/// killed), each only if its leader is still the very process that was recorded.
pub fn kill_leftovers(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|ext| ext != "command") {
            continue;
        }
        let recorded = std::fs::read_to_string(&path).unwrap_or_default();
        let mut fields = recorded.split_whitespace().map(str::parse::<u64>);
        if let (Some(Ok(pid)), Some(Ok(started))) = (fields.next(), fields.next())
            && let Ok(pid) = i32::try_from(pid)
            && start_time(pid) == Some(started)
        {
            tracing::warn!(
                "killing the command a previous boxd left running (process group {pid})"
            );
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = std::fs::remove_file(&path);
    }
}

impl TaskContext {
    /// Runs `command` with `sh -c` and `env`, its output lines (stdout and stderr) going to the
    /// task log; a non-zero exit is an error. The error never repeats the command, which may
    /// hold credentials.
    pub async fn run_command(&self, command: &str, env: &[(&str, &str)]) -> anyhow::Result<()> {
        let mut child = tokio::process::Command::new("setpriv")
            .args([
                "--pdeathsig",
                "TERM",
                "--",
                "sh",
                "-c",
                SUPERVISOR,
                "boxd-task",
                command,
            ])
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .context("the command cannot start (is util-linux's setpriv installed?)")?;
        let pid = child.id().and_then(|pid| i32::try_from(pid).ok());
        let record = pid.and_then(|pid| self.record_group(pid));
        let _group = ProcessGroup { pid, record };
        let out = tokio::spawn(pump(child.stdout.take(), self.clone()));
        let err = tokio::spawn(pump(child.stderr.take(), self.clone()));
        let status = child
            .wait()
            .await
            .context("waiting for the command failed")?;
        let drained = tokio::time::timeout(DRAIN, async {
            let _ = out.await;
            let _ = err.await;
        });
        if drained.await.is_err() {
            self.log("(output after the command exited was cut off)");
        }
        anyhow::ensure!(status.success(), "the command failed: {status}");
        Ok(())
    }
}

impl TaskContext {
    /// Notes the running group on disk for [`kill_leftovers`]; `None` if that failed (logged).
    fn record_group(&self, pid: i32) -> Option<PathBuf> {
        let started = start_time(pid)?;
        let path = record_path(&self.logs_dir, self.id);
        match std::fs::write(&path, format!("{pid} {started}\n")) {
            Ok(()) => Some(path),
            Err(err) => {
                tracing::warn!(task.id = self.id, error = %err, "cannot record the command's process group: {err}");
                None
            }
        }
    }
}

/// Copies a pipe into the task log a line at a time (invalid UTF-8 replaced, long lines split).
async fn pump(pipe: Option<impl AsyncRead + Unpin>, ctx: TaskContext) {
    let Some(pipe) = pipe else { return };
    let mut reader = BufReader::new(pipe);
    let mut line = Vec::new();
    loop {
        let buffer = match reader.fill_buf().await {
            Ok([]) | Err(_) => break,
            Ok(buffer) => buffer,
        };
        let (taken, complete) = match buffer.iter().position(|b| *b == b'\n') {
            Some(end) => (end + 1, true),
            None => (
                buffer
                    .len()
                    .min(MAX_LINE_BYTES - line.len().min(MAX_LINE_BYTES)),
                false,
            ),
        };
        line.extend_from_slice(&buffer[..taken]);
        reader.consume(taken);
        if complete || line.len() >= MAX_LINE_BYTES {
            ctx.log(String::from_utf8_lossy(&line).trim_end_matches(['\n', '\r']));
            line.clear();
        }
    }
    if !line.is_empty() {
        ctx.log(&String::from_utf8_lossy(&line));
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt;

    use super::*;

    fn sleeper() -> std::process::Child {
        std::process::Command::new("sleep")
            .arg("1000")
            .process_group(0)
            .spawn()
            .unwrap()
    }

    fn gone_within_a_second(child: &mut std::process::Child) -> bool {
        (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(10));
            child.try_wait().unwrap().is_some()
        })
    }

    #[test]
    fn leftovers_are_killed_only_when_the_recorded_process_is_still_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let mut left = sleeper();
        let mut other = sleeper();
        let pid = |child: &std::process::Child| i32::try_from(child.id()).unwrap();
        let started = start_time(pid(&left)).unwrap();
        std::fs::write(
            record_path(dir.path(), 1),
            format!("{} {started}\n", pid(&left)),
        )
        .unwrap();
        // A reused pid: the process there started at another time.
        let wrong = start_time(pid(&other)).unwrap() + 1;
        std::fs::write(
            record_path(dir.path(), 2),
            format!("{} {wrong}\n", pid(&other)),
        )
        .unwrap();

        kill_leftovers(dir.path());

        assert!(gone_within_a_second(&mut left));
        assert!(
            !gone_within_a_second(&mut other),
            "a stranger is never signalled"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        other.kill().unwrap();
        other.wait().unwrap();
    }
}
