//! Opening the base when another process has it open. DuckDB lets one process write a
//! file, or any number read it; a second writer fails at once. leadpipe waits a bounded
//! time for the holder to finish, then names it and says what to do, instead of passing
//! on DuckDB's advice about its own CLI.

use super::StoreError;
use duckdb::{AccessMode, Config, Connection};
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a command waits for another process to release the base: a run that is
/// committing finishes within seconds, a `serve` left open never does.
/// `LEADPIPE_LOCK_WAIT` (seconds) changes it.
pub const DEFAULT_LOCK_WAIT: Duration = Duration::from_secs(10);

/// Who holds the lock, as far as DuckDB and `/proc` tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockHolder {
    pub pid: Option<u32>,
    /// The holder's command line, when it can be read (`leadpipe serve --db base.duckdb`).
    pub command: Option<String>,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.command, self.pid) {
            (Some(cmd), Some(pid)) => write!(f, "`{cmd}` (pid {pid})"),
            (None, Some(pid)) => write!(f, "process {pid}"),
            _ => write!(f, "another process"),
        }
    }
}

/// The lock wait from `LEADPIPE_LOCK_WAIT`, or the default.
pub fn lock_wait() -> Duration {
    std::env::var("LEADPIPE_LOCK_WAIT")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        // A day is more than any run; larger values would overflow a Duration.
        .map(|s| Duration::from_secs_f64(s.min(86_400.0)))
        .unwrap_or(DEFAULT_LOCK_WAIT)
}

/// Opens `path`, retrying while another process holds a conflicting lock, up to `wait`.
pub fn connect(path: &Path, read_only: bool, wait: Duration) -> Result<Connection, StoreError> {
    let started = Instant::now();
    loop {
        let opened = Config::default()
            .access_mode(if read_only {
                AccessMode::ReadOnly
            } else {
                AccessMode::ReadWrite
            })
            .and_then(|config| Connection::open_with_flags(path, config));
        match opened {
            Ok(conn) => return Ok(conn),
            Err(e) => {
                let text = e.to_string();
                if !is_lock_conflict(&text) {
                    return Err(StoreError::Open {
                        path: path.to_path_buf(),
                        source: e,
                    });
                }
                if started.elapsed() >= wait {
                    return Err(StoreError::Locked {
                        path: path.to_path_buf(),
                        holder: holder_from_message(&text),
                        waited: started.elapsed(),
                        read_only,
                    });
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

fn is_lock_conflict(message: &str) -> bool {
    message.contains("Could not set lock on file") || message.contains("Conflicting lock")
}

/// DuckDB says `Conflicting lock is held in /usr/bin/leadpipe (PID 1234) by user …`.
fn holder_from_message(message: &str) -> LockHolder {
    let pid = message
        .split("(PID ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .and_then(|n| n.trim().parse::<u32>().ok());
    LockHolder {
        pid,
        command: pid.and_then(command_line),
    }
}

/// A process's command line, with the program shown by its file name.
fn command_line(pid: u32) -> Option<String> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let mut parts = raw
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let program = parts.next()?;
    let program = Path::new(&program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or(program);
    Some(
        std::iter::once(program)
            .chain(parts)
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// What to do about a holder: a review page is stopped, a run is waited for.
pub fn advice(holder: &LockHolder, read_only: bool) -> String {
    let cmd = holder.command.as_deref().unwrap_or_default();
    if cmd.contains(" serve") {
        "stop the review page (Ctrl-C in its terminal) and run this command again; \
         commands that only read (call-list, report, explain, runs, compliance report) \
         can run beside it"
            .into()
    } else if read_only {
        "a command is writing the base: wait until it finishes and run this command again, \
         or raise LEADPIPE_LOCK_WAIT (seconds)"
            .into()
    } else {
        "wait until that process finishes and run this command again, or raise \
         LEADPIPE_LOCK_WAIT (seconds); only one command can write the base at a time"
            .into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_duckdbs_lock_message() {
        let msg = "IO Error: Could not set lock on file \"/tmp/x.duckdb\": Conflicting lock is held in /usr/bin/leadpipe (PID 4242) by user root. See also https://duckdb.org/docs/stable/connect/concurrency";
        assert!(is_lock_conflict(msg));
        assert_eq!(holder_from_message(msg).pid, Some(4242));
        assert!(!is_lock_conflict(
            "IO Error: Cannot open file: No such file"
        ));
    }

    #[test]
    fn names_this_process() {
        let me = command_line(std::process::id()).unwrap();
        assert!(!me.is_empty());
        assert!(!me.contains('/') || me.contains(' '), "{me}");
    }
}
