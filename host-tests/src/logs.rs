//! Captured logs: `proxy_log`, WASI stdout/stderr and the host's own notes, with their level.

use crate::sync::lock;
use std::sync::Mutex;

/// proxy-wasm log levels (`proxy_log`, `proxy_get_log_level`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    Trace = 0,
    Debug = 1,
    Info = 2,
    Warn = 3,
    Error = 4,
    Critical = 5,
}

impl LogLevel {
    pub fn from_abi(v: u32) -> Option<Self> {
        Some(match v {
            0 => LogLevel::Trace,
            1 => LogLevel::Debug,
            2 => LogLevel::Info,
            3 => LogLevel::Warn,
            4 => LogLevel::Error,
            5 => LogLevel::Critical,
            _ => return None,
        })
    }
}

/// Where a log line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogSource {
    /// `proxy_log` (the SDK's `log` macros and its panic hook).
    Plugin,
    /// WASI `fd_write` to fd 1 or 2.
    Stdout,
    Stderr,
    /// The host itself (traps, refused calls, profile notes).
    Host,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEntry {
    pub worker: u32,
    pub level: LogLevel,
    pub source: LogSource,
    pub message: String,
}

impl std::fmt::Display for LogEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[worker {} {:?} {:?}] {}",
            self.worker, self.level, self.source, self.message
        )
    }
}

#[derive(Debug, Default)]
pub struct Logs {
    inner: Mutex<Vec<LogEntry>>,
}

impl Logs {
    pub fn push(&self, entry: LogEntry) {
        lock(&self.inner).push(entry);
    }

    /// Number of lines so far (a mark for `since`).
    pub fn len(&self) -> usize {
        lock(&self.inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Lines of `worker` written after `mark`.
    pub fn since(&self, mark: usize, worker: u32) -> Vec<LogEntry> {
        lock(&self.inner)
            .iter()
            .skip(mark)
            .filter(|e| e.worker == worker)
            .cloned()
            .collect()
    }

    /// Lines of any of `workers` written after `mark`.
    pub fn since_any(&self, mark: usize, workers: &[u32]) -> Vec<LogEntry> {
        lock(&self.inner)
            .iter()
            .skip(mark)
            .filter(|e| workers.contains(&e.worker))
            .cloned()
            .collect()
    }

    pub fn all(&self) -> Vec<LogEntry> {
        lock(&self.inner).clone()
    }

    pub fn of_worker(&self, worker: u32) -> Vec<LogEntry> {
        lock(&self.inner)
            .iter()
            .filter(|e| e.worker == worker)
            .cloned()
            .collect()
    }
}

/// Render log lines for an error message.
pub fn render(entries: &[LogEntry]) -> String {
    if entries.is_empty() {
        return "  (no logs)".to_string();
    }
    entries
        .iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}
