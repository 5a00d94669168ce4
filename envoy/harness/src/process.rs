//! Child processes in their own process group (like `setsid`: a dying shell or a Ctrl-C on the
//! terminal does not reach them), stopped by PID: SIGTERM, then SIGKILL. Every live child is in a
//! global registry so a Ctrl-C handler can stop them all.

use anyhow::{Context, Result};
use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command};
use std::sync::Mutex;
use std::time::{Duration, Instant};

static LIVE: Mutex<BTreeSet<i32>> = Mutex::new(BTreeSet::new());

/// A child process that is stopped when dropped.
pub struct ManagedProcess {
    child: Child,
    pid: i32,
    stopped: bool,
}

impl ManagedProcess {
    /// Spawns `cmd` as the leader of a new process group.
    pub fn spawn(mut cmd: Command) -> Result<Self> {
        cmd.process_group(0);
        let child = cmd.spawn().with_context(|| format!("spawning {cmd:?}"))?;
        let pid = i32::try_from(child.id()).context("pid out of range")?;
        if let Ok(mut live) = LIVE.lock() {
            live.insert(pid);
        }
        Ok(Self {
            child,
            pid,
            stopped: false,
        })
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// Exit status if the process already ended.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGTERM the group, wait up to 5 s, then SIGKILL. Idempotent.
    pub fn stop(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        if self.exited().is_none() {
            signal_group(self.pid, libc::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while self.exited().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            if self.exited().is_none() {
                signal_group(self.pid, libc::SIGKILL);
                let _ = self.child.wait();
            }
        }
        if let Ok(mut live) = LIVE.lock() {
            live.remove(&self.pid);
        }
    }
}

impl Drop for ManagedProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

fn signal_group(pid: i32, sig: i32) {
    // SAFETY: kill(2) with a negative pid signals the process group we created; no memory involved.
    unsafe {
        libc::kill(-pid, sig);
    }
}

/// Stops every live child (for a Ctrl-C handler): SIGTERM, short grace, SIGKILL.
pub fn stop_all() {
    let pids: Vec<i32> = match LIVE.lock() {
        Ok(live) => live.iter().copied().collect(),
        Err(_) => return,
    };
    for &pid in &pids {
        signal_group(pid, libc::SIGTERM);
    }
    std::thread::sleep(Duration::from_millis(500));
    for &pid in &pids {
        signal_group(pid, libc::SIGKILL);
    }
}
