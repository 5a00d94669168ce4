//! One Envoy for one variant: `--concurrency 1` (the memory check also starts one with two
//! workers), pinned with taskset to the proxy core, and what the benchmark reads from it: CPU
//! time and resident memory from /proc.

use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use unitgate_envoy::process::ManagedProcess;

/// V8 compiles the modules at start; a 100,000-entry policy is validated too.
const READY_TIMEOUT: Duration = Duration::from_secs(120);

pub struct BenchEnvoy {
    pub listen_port: u16,
    admin_port: u16,
    log_path: std::path::PathBuf,
    process: ManagedProcess,
}

impl BenchEnvoy {
    /// Writes `<dir>/<name>.json` and starts Envoy on it with `workers` worker threads; waits
    /// until /ready says LIVE.
    pub fn start(
        envoy: &Path,
        bootstrap: &Value,
        (name, dir): (&str, &Path),
        (listen_port, admin_port): (u16, u16),
        core: Option<usize>,
        workers: usize,
    ) -> Result<Self> {
        let config = dir.join(format!("{name}.json"));
        std::fs::write(&config, serde_json::to_string_pretty(bootstrap)?)?;
        let log_path = dir.join(format!("{name}.log"));
        let mut cmd = match core {
            Some(core) => {
                let mut c = Command::new("taskset");
                c.args(["-c", &core.to_string()]).arg(envoy);
                c
            }
            None => Command::new(envoy),
        };
        cmd.arg("--config-path")
            .arg(&config)
            .args([
                "--concurrency",
                &workers.to_string(),
                "--disable-hot-restart",
            ])
            .args(["--log-level", "warn", "--log-path"])
            .arg(&log_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join(format!("{name}.stderr")))?);
        // taskset execs Envoy, so the child's pid is Envoy's.
        let process = ManagedProcess::spawn(cmd)?;
        let mut me = Self {
            listen_port,
            admin_port,
            log_path,
            process,
        };
        me.wait_ready(name)?;
        Ok(me)
    }

    fn wait_ready(&mut self, name: &str) -> Result<()> {
        let agent = agent();
        let url = format!("http://127.0.0.1:{}/ready", self.admin_port);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.process.exited() {
                bail!("Envoy ({name}) exited ({status}):\n{}", self.log_tail());
            }
            if let Ok(mut resp) = agent.get(&url).call() {
                if resp.body_mut().read_to_string().unwrap_or_default().trim() == "LIVE" {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "Envoy ({name}) not ready after {READY_TIMEOUT:?}:\n{}",
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> i32 {
        self.process.pid()
    }

    /// user + system CPU time of the whole process (every thread), in microseconds.
    pub fn cpu_us(&self) -> Result<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
            .context("reading /proc/<envoy>/stat")?;
        // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks = |i: usize| -> Result<f64> {
            Ok(fields.get(i).context("short /proc stat")?.parse::<f64>()?)
        };
        // SAFETY: sysconf has no memory effects.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
        Ok((ticks(11)? + ticks(12)?) * 1e6 / hz)
    }

    /// Resident memory (VmRSS) in bytes.
    pub fn rss_bytes(&self) -> Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .context("no VmRSS in /proc/<envoy>/status")?;
        Ok(kb.parse::<u64>()? * 1024)
    }

    pub fn log_tail(&self) -> String {
        let mut text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        text +=
            &std::fs::read_to_string(self.log_path.with_extension("stderr")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    pub fn stop(&mut self) {
        self.process.stop();
    }
}

/// A client for the admin port and the routing checks.
pub fn agent() -> ureq::Agent {
    unitgate_envoy::client::agent(Duration::from_secs(10))
}
