//! One Envoy process: write its bootstrap, start it isolated, wait for /ready, read /stats.

use crate::bootstrap::{bootstrap, FilterSource, IngressSpec};
use crate::process::ManagedProcess;
use crate::{ecds, locate};
use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long Envoy may take to compile its wasm modules in V8 and become ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Envoy {
    pub cloud: String,
    pub listen_port: u16,
    pub admin_port: u16,
    pub log_path: PathBuf,
    process: ManagedProcess,
    agent: ureq::Agent,
}

impl Envoy {
    /// Writes `<dir>/<cloud>.json` (and the ECDS files), starts Envoy and waits until ready.
    pub fn start(spec: &IngressSpec, dir: &Path) -> Result<Self> {
        for filter in &spec.filters {
            if let FilterSource::Ecds(path) = &filter.source {
                ecds::publish(filter, path, "1")?;
            }
        }
        let envoy = Self::start_config(
            &spec.cloud,
            &bootstrap(spec),
            spec.listen_port,
            spec.admin_port,
            dir,
        )?;
        // Health-checked hosts start unhealthy: until their first check passes, traffic
        // would go to the failover unit.
        envoy.wait_until(READY_TIMEOUT, "health-checked hosts", |e| e.hosts_healthy())?;
        Ok(envoy)
    }

    /// True when no host of any cluster has failed its active health check.
    pub fn hosts_healthy(&self) -> bool {
        self.admin_get("/clusters").is_ok_and(|text| {
            !text
                .lines()
                .any(|l| l.contains("::health_flags::") && l.contains("failed_active_hc"))
        })
    }

    /// Polls `ready` every 20 ms until it holds, or fails after `timeout`.
    pub fn wait_until(
        &self,
        timeout: Duration,
        what: &str,
        ready: impl Fn(&Self) -> bool,
    ) -> Result<()> {
        let deadline = Instant::now() + timeout;
        while !ready(self) {
            if Instant::now() > deadline {
                bail!("Envoy {}: {what} not ready after {timeout:?}", self.cloud);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Starts Envoy on any bootstrap (written to `<dir>/<name>.json`) that listens on
    /// `listen_port` and serves admin on `admin_port`, and waits until ready.
    pub fn start_config(
        name: &str,
        config: &serde_json::Value,
        listen_port: u16,
        admin_port: u16,
        dir: &Path,
    ) -> Result<Self> {
        Self::start_with_workers(name, config, (listen_port, admin_port), dir, 1)
    }

    /// `start_config` with `workers` worker threads (`--concurrency`): one VM per worker.
    pub fn start_with_workers(
        name: &str,
        config: &serde_json::Value,
        (listen_port, admin_port): (u16, u16),
        dir: &Path,
        workers: usize,
    ) -> Result<Self> {
        let envoy = locate::envoy_binary()?;
        let config_path = dir.join(format!("{name}.json"));
        std::fs::write(&config_path, serde_json::to_string_pretty(config)?)?;
        let log_path = dir.join(format!("{name}.envoy.log"));
        let stderr = std::fs::File::create(dir.join(format!("{name}.stderr.log")))?;
        let mut cmd = Command::new(envoy);
        cmd.arg("--config-path")
            .arg(&config_path)
            .args(["--concurrency", &workers.to_string()])
            // No hot-restart shared memory: two Envoys on one machine never clash on a base id.
            .arg("--disable-hot-restart")
            .args(["--service-node", &format!("unitgate-{name}")])
            .args(["--service-cluster", "unitgate"])
            .args(["--log-level", "info"])
            // e.g. UNITGATE_ENVOY_LOG=wasm:debug,http:debug for the modules' per-request logs.
            .args(match std::env::var("UNITGATE_ENVOY_LOG") {
                Ok(levels) if !levels.is_empty() => {
                    vec!["--component-log-level".to_string(), levels]
                }
                _ => vec![],
            })
            .arg("--log-path")
            .arg(&log_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        let process = ManagedProcess::spawn(cmd)?;
        // Generous: admin answers slowly while other builds load a 2-core machine.
        let agent = crate::client::agent(Duration::from_secs(10));
        let mut me = Self {
            cloud: name.to_string(),
            listen_port,
            admin_port,
            log_path,
            process,
            agent,
        };
        me.wait_ready()?;
        Ok(me)
    }

    fn wait_ready(&mut self) -> Result<()> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(status) = self.process.exited() {
                bail!(
                    "Envoy {} exited ({status}) before ready:\n{}",
                    self.cloud,
                    self.log_tail(30)
                );
            }
            if let Ok(body) = self.admin_get("/ready") {
                if body.trim() == "LIVE" {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "Envoy {} not ready after {READY_TIMEOUT:?}:\n{}",
                    self.cloud,
                    self.log_tail(30)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> i32 {
        self.process.pid()
    }

    /// Base URL of the ingress listener.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.listen_port)
    }

    /// GET on the admin interface; error unless 200.
    pub fn admin_get(&self, path: &str) -> Result<String> {
        let url = format!("http://127.0.0.1:{}{path}", self.admin_port);
        let mut resp = self.agent.get(&url).call().context("admin request")?;
        let status = resp.status().as_u16();
        let body = resp.body_mut().read_to_string()?;
        if status != 200 {
            bail!("admin {path}: {status} {body}");
        }
        Ok(body)
    }

    /// Counters and gauges whose name matches the regex `filter` (admin /stats text format).
    pub fn stats(&self, filter: &str) -> Result<BTreeMap<String, u64>> {
        let text = self.admin_get(&format!(
            "/stats?filter={}",
            crate::client::percent_encode(filter)
        ))?;
        Ok(text
            .lines()
            .filter_map(|line| {
                let (name, value) = line.split_once(": ")?;
                Some((name.to_string(), value.trim().parse().ok()?))
            })
            .collect())
    }

    /// The unitgate custom metrics (`wasmcustom.unitgate.*`), with the prefix kept.
    pub fn unitgate_stats(&self) -> Result<BTreeMap<String, u64>> {
        self.stats("^wasmcustom\\.unitgate\\.")
    }

    /// One counter; 0 when Envoy has not created it yet.
    pub fn counter(&self, name: &str) -> Result<u64> {
        let escaped = name.replace('.', "\\.");
        Ok(self
            .stats(&format!("^{escaped}$"))?
            .get(name)
            .copied()
            .unwrap_or(0))
    }

    /// Last `n` lines of Envoy's log (for error messages).
    pub fn log_tail(&self, n: usize) -> String {
        let mut text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        let stderr = self
            .log_path
            .with_file_name(format!("{}.stderr.log", self.cloud));
        text.push_str(&std::fs::read_to_string(stderr).unwrap_or_default());
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Stops Envoy now (also done on drop).
    pub fn stop(&mut self) {
        self.process.stop();
    }
}
