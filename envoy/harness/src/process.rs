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

/// The `main` of a tool that starts children (the demos): runs `run`, then stops every child
/// on return, on an error, on Ctrl-C and on any panic, including the one a closed output pipe
/// causes (`make demo | head`; that one ends quietly with 141, as a pipe normally does). The
/// release profile aborts on panic, so no destructor would stop them. `done` is printed after
/// the elapsed seconds on success.
pub fn main_stopping_children(done: &str, run: fn() -> anyhow::Result<()>) -> ! {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        stop_all();
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default_hook(info);
    }));
    if let Err(e) = ctrlc::set_handler(|| {
        eprintln!("\nCtrl-C: stopping every process this tool started...");
        stop_all();
        std::process::exit(130);
    }) {
        eprintln!("warning: no Ctrl-C handler: {e}");
    }
    let started = std::time::Instant::now();
    let result = run();
    stop_all();
    match result {
        Ok(()) => {
            println!("\nDone in {:.1}s; {done}.", started.elapsed().as_secs_f64());
            std::process::exit(0)
        }
        Err(e) => {
            eprintln!("\nfailed: {e:#}");
            std::process::exit(1)
        }
    }
}
