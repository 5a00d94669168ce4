//! Facts about the machine and the run for the report, plus CPU pinning: Envoy gets one core,
//! the load generator and the backends another.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::process::Command;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    pub date_utc: String,
    pub nproc: usize,
    pub cpu_model: String,
    pub kernel: String,
    pub envoy_version: String,
    pub wrk_version: String,
}

impl Machine {
    pub fn probe(envoy: &Path) -> Result<Self> {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                l.strip_prefix("model name")?
                    .split_once(':')
                    .map(|(_, v)| v)
            })
            .unwrap_or("unknown")
            .trim()
            .to_string();
        let envoy_version = first_line(Command::new(envoy).arg("--version"))?
            .split_once("version: ")
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        Ok(Machine {
            date_utc: first_line(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]))?,
            nproc: nproc(),
            cpu_model,
            kernel: first_line(Command::new("uname").arg("-r"))?,
            envoy_version,
            // `wrk -v` prints its version and exits 1.
            wrk_version: first_line(Command::new("wrk").arg("-v"))
                .unwrap_or_default()
                .split_whitespace()
                .nth(1)
                .unwrap_or("unknown")
                .to_string(),
        })
    }
}

fn first_line(cmd: &mut Command) -> Result<String> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    Ok(text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string())
}

/// Online CPUs.
pub fn nproc() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Cores for the proxy and for the load: 0 and 1, or None on a one-core machine (no pinning).
pub fn cores() -> Option<(usize, usize)> {
    (nproc() >= 2).then_some((0, 1))
}

/// Pins the calling thread (and the threads it spawns later, like the backends) to `core`.
pub fn pin_current_thread(core: usize) -> Result<()> {
    // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET writes inside it; sched_setaffinity
    // reads `size_of::<cpu_set_t>()` bytes of it for the calling thread (pid 0).
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc != 0 {
        anyhow::bail!(
            "sched_setaffinity(core {core}): {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}
