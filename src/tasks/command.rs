//! Running an operator's shell command inside a task: output to the task log, a bounded line
//! length, and the whole process group killed when the task ends or is stopped.

use std::process::Stdio;
use std::time::Duration;

use anyhow::Context;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

use super::TaskContext;

/// Longer output lines are split; a command cannot make one record take unbounded memory.
const MAX_LINE_BYTES: usize = 8 * 1024;
/// How long output may still drain after the command exited (a background child may keep the
/// pipes open forever).
const DRAIN: Duration = Duration::from_secs(2);

/// Kills the command's process group: the shell and anything it started.
struct ProcessGroup(Option<u32>);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if let Some(pid) = self.0.and_then(|pid| i32::try_from(pid).ok()) {
            // Already gone is fine.
            let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
}

impl TaskContext {
    /// Runs `command` with `sh -c` and `env`, its output lines (stdout and stderr) going to the
    /// task log; a non-zero exit is an error. The error never repeats the command, which may
    /// hold credentials.
    pub async fn run_command(&self, command: &str, env: &[(&str, &str)]) -> anyhow::Result<()> {
        let mut child = tokio::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .context("the command cannot start")?;
        let _group = ProcessGroup(child.id());
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
