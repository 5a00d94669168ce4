//! One nginx master (and its workers): write its conf, start it in its own process group,
//! wait until it listens, `nginx -s reload` with a new conf, stop it by PID.

use crate::check::check_conf;
use crate::conf::NginxSpec;
use crate::locate;
use anyhow::{bail, Context, Result};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use unitgate_envoy::process::ManagedProcess;

/// How long workers may take to compile unitgate.wasm and start listening.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// What the module logs (info) when `on_configure` accepted a policy.
const LOADED: &str = "loaded for unit";

/// What a reload led to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reload {
    /// Every new worker loaded the new policy.
    Applied,
    /// The check refused the conf (the module's own errors): nginx was not signalled, and
    /// its workers keep serving the old policy.
    NotSent(String),
    /// nginx reloaded and the master or a new worker refused the conf; the first log line
    /// that says so. A worker whose `on_configure` fails exits and is not respawned.
    Failed(String),
}

pub struct Nginx {
    pub spec: NginxSpec,
    pub conf_path: PathBuf,
    process: ManagedProcess,
}

impl Nginx {
    /// Writes `<dir>/<cloud>.nginx.conf`, starts nginx and waits until it listens and every
    /// worker has configured the module (a refused configuration is an error).
    pub fn start(spec: NginxSpec) -> Result<Self> {
        let conf_path = spec.dir.join(format!("{}.nginx.conf", spec.cloud));
        std::fs::write(&conf_path, spec.render()?)?;
        let stderr = std::fs::File::create(spec.dir.join(format!("{}.stderr.log", spec.cloud)))?;
        let mut cmd = Command::new(locate::nginx_binary()?);
        cmd.arg("-p")
            .arg(&spec.dir)
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        let process = ManagedProcess::spawn(cmd)?;
        let mut me = Self {
            spec,
            conf_path,
            process,
        };
        me.wait_listening()?;
        match me.wait_workers_configured(0)? {
            Reload::Applied => Ok(me),
            _ => bail!(
                "nginx ({}) refused the configuration:\n{}",
                me.spec.cloud,
                me.log_tail(15)
            ),
        }
    }

    pub fn listen_port(&self) -> u16 {
        self.spec.listen_port
    }

    pub fn pid(&self) -> i32 {
        self.process.pid()
    }

    fn wait_listening(&mut self) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.process.exited() {
                bail!(
                    "nginx ({}) exited with {status}:\n{}",
                    self.spec.cloud,
                    self.log_tail(30)
                );
            }
            if TcpStream::connect(("127.0.0.1", self.spec.listen_port)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "nginx ({}) did not listen within {READY_TIMEOUT:?}:\n{}",
                    self.spec.cloud,
                    self.log_tail(30)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Error log plus stderr (early errors), last `n` lines of each.
    pub fn log_tail(&self, n: usize) -> String {
        let mut out = String::new();
        for path in [
            self.spec
                .dir
                .join(format!("{}.stderr.log", self.spec.cloud)),
            self.spec.error_log(),
        ] {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            out.push_str(&format!("--- {}\n", path.display()));
            for line in &lines[lines.len().saturating_sub(n)..] {
                out.push_str(line);
                out.push('\n');
            }
        }
        out
    }

    /// The error log from byte `from` on.
    pub fn log_since(&self, from: usize) -> String {
        let text = std::fs::read_to_string(self.spec.error_log()).unwrap_or_default();
        text.get(from..).unwrap_or("").to_string()
    }

    pub fn log_len(&self) -> usize {
        std::fs::metadata(self.spec.error_log())
            .map(|m| m.len() as usize)
            .unwrap_or(0)
    }

    /// The operator's safe reload: checks the new conf's filters with the module's own
    /// `on_configure` (`check::check_conf`), and only then writes it and runs `nginx -s reload`.
    pub fn reload(&mut self, plugin_config: String) -> Result<Reload> {
        let mut next = self.spec.clone();
        next.plugin_config = plugin_config.clone();
        if let Err(e) = check_conf(&next.render()?) {
            return Ok(Reload::NotSent(format!("{e:#}")));
        }
        self.reload_unchecked(plugin_config)
    }

    /// Rewrites the conf with `plugin_config` and runs `nginx -s reload`, then waits until every
    /// new worker loaded the policy (Applied) or a worker or the master refused it (Failed).
    pub fn reload_unchecked(&mut self, plugin_config: String) -> Result<Reload> {
        self.spec.plugin_config = plugin_config;
        std::fs::write(&self.conf_path, self.spec.render()?)?;
        let from = self.log_len();
        let out = Command::new(locate::nginx_binary()?)
            .arg("-p")
            .arg(&self.spec.dir)
            .arg("-c")
            .arg(&self.conf_path)
            .args(["-s", "reload"])
            .output()
            .context("running nginx -s reload")?;
        if !out.status.success() {
            bail!(
                "nginx -s reload failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        self.wait_workers_configured(from)
    }

    /// Waits for the log (from byte `from`) to show every worker's `on_configure` outcome.
    pub fn wait_workers_configured(&self, from: usize) -> Result<Reload> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let log = self.log_since(from);
            if let Some(line) = log
                .lines()
                .find(|l| l.contains("[emerg]") || l.contains("configuration rejected"))
            {
                return Ok(Reload::Failed(line.to_string()));
            }
            let loaded = log.matches(LOADED).count();
            if loaded >= self.spec.workers as usize {
                return Ok(Reload::Applied);
            }
            if Instant::now() > deadline {
                bail!(
                    "nginx ({}): {loaded} of {} workers configured:\n{}",
                    self.spec.cloud,
                    self.spec.workers,
                    self.log_tail(30)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM to the process group (fast shutdown), then SIGKILL. Idempotent.
    pub fn stop(&mut self) {
        self.process.stop();
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.stop();
    }
}
