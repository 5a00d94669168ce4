//! The load-and-fault drill (`make drill`): two clouds on real Envoy while wrk sends reads to
//! jcloud's ingress. Meanwhile the policy is swapped through ECDS every `swap_every` (now and
//! then an invalid one), jc's backends are killed and restored, and probes record what each
//! read and write got. The report says what was sent and lost, how fast traffic failed over
//! and came back, and each Envoy's RSS before and after.

use crate::client::Request;
use crate::probe::{first_from, settled_on, Probe, Sample};
use crate::process::ManagedProcess;
use crate::{policies, ConfigMode, MultiCloud, Options};
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long and how hard.
#[derive(Clone, Debug)]
pub struct DrillSettings {
    /// Length of the load; the faults happen inside it.
    pub duration: Duration,
    /// wrk connections.
    pub connections: u32,
    /// Policy swap period (through ECDS).
    pub swap_every: Duration,
    /// Every n-th push is an invalid policy.
    pub invalid_every: u32,
    /// When jc's backends die, and for how long.
    pub kill_at: Duration,
    pub down_for: Duration,
}

impl DrillSettings {
    /// The full drill: 60 s, jc down from 20 s to 30 s.
    pub fn full() -> Self {
        Self {
            duration: Duration::from_secs(60),
            connections: 8,
            swap_every: Duration::from_millis(100),
            invalid_every: 10,
            kill_at: Duration::from_secs(20),
            down_for: Duration::from_secs(10),
        }
    }

    /// A few seconds, for `make test`.
    pub fn smoke() -> Self {
        Self {
            duration: Duration::from_secs(8),
            connections: 4,
            kill_at: Duration::from_secs(2),
            down_for: Duration::from_secs(2),
            ..Self::full()
        }
    }
}

/// What the drill saw.
#[derive(Clone, Debug, Default)]
pub struct DrillReport {
    /// What wrk and the read probe saw.
    pub load: Load,
    /// The probe's writes.
    pub writes: u64,
    /// Writes answered 503 by a write-forbidden window or while jc had no backend: expected.
    pub writes_refused: u64,
    /// Writes with any other failure (target 0).
    pub writes_failed: u64,
    /// Policy pushes: valid ones (each waited for), invalid ones.
    pub swaps: u64,
    pub invalid_pushes: u64,
    /// Configurations the modules refused (`config.rejected`, summed over the ingresses).
    pub rejected: u64,
    /// From the kill to the first read served by uc; from the restart to reads served by jc
    /// for good.
    pub failover: Option<Duration>,
    pub recovery: Option<Duration>,
    /// The policy's breaker hold (`open_ms`): recovery is expected within it plus a second.
    pub hold: Duration,
    /// RSS of each ingress (cloud, before, after) in KiB.
    pub rss_kib: Vec<(String, u64, u64)>,
}

impl DrillReport {
    /// The report as a Markdown table.
    pub fn table(&self) -> String {
        let ms = |d: Option<Duration>| {
            d.map_or("never".to_string(), |d| format!("{} ms", d.as_millis()))
        };
        let mut rows = self.load.rows();
        rows.extend([
            (
                "probe writes / refused 503 (expected) / other failures",
                format!(
                    "{} / {} / {}",
                    self.writes, self.writes_refused, self.writes_failed
                ),
            ),
            ("policy swaps (valid, through ECDS)", self.swaps.to_string()),
            (
                "invalid policies pushed / refused by the modules",
                format!("{} / {}", self.invalid_pushes, self.rejected),
            ),
            (
                "time to fail over (kill to first read on uc)",
                ms(self.failover),
            ),
            (
                "time to recover (restart to reads on jc for good)",
                ms(self.recovery),
            ),
            (
                "breaker hold (open_ms)",
                format!("{} ms", self.hold.as_millis()),
            ),
        ]);
        markdown(rows, &self.rss_kib)
    }

    /// The targets: nothing lost, traffic moved and came back, RSS did not grow by more than
    /// `rss_slack` (a fraction).
    pub fn misses(&self, rss_slack: f64) -> Vec<String> {
        let mut out = self.load.misses();
        if self.writes_failed > 0 {
            out.push(format!(
                "probe writes failed (other than refused): {}",
                self.writes_failed
            ));
        }
        if self.rejected < self.invalid_pushes {
            out.push(format!(
                "{} invalid policies pushed, {} refused",
                self.invalid_pushes, self.rejected
            ));
        }
        if self.failover.is_none() {
            out.push("reads never reached the failover unit".into());
        }
        if self.recovery.is_none() {
            out.push("reads never came back to jc".into());
        }
        out.extend(rss_misses(&self.rss_kib, rss_slack));
        out
    }
}

/// What wrk and the read probe saw: requests completed, answers other than 2xx, socket errors
/// (resets, refused connections, timeouts); the probe's reads and how many had no 2xx answer.
#[derive(Clone, Debug, Default)]
pub struct Load {
    pub wrk_requests: u64,
    pub wrk_non_2xx: u64,
    pub wrk_socket_errors: u64,
    pub reads: u64,
    pub reads_failed: u64,
}

impl Load {
    /// Waits for wrk and reads the probe's samples.
    pub(crate) fn collect(wrk: Wrk, reads: &[Sample]) -> Result<Self> {
        let (wrk_requests, wrk_non_2xx, wrk_socket_errors) = wrk.finish()?;
        Ok(Self {
            wrk_requests,
            wrk_non_2xx,
            wrk_socket_errors,
            reads: reads.len() as u64,
            reads_failed: reads.iter().filter(|s| !s.ok()).count() as u64,
        })
    }

    pub(crate) fn rows(&self) -> Vec<(&'static str, String)> {
        vec![
            ("wrk reads sent (completed)", self.wrk_requests.to_string()),
            ("wrk non-2xx", self.wrk_non_2xx.to_string()),
            (
                "wrk socket errors (resets, timeouts)",
                self.wrk_socket_errors.to_string(),
            ),
            (
                "probe reads / failed",
                format!("{} / {}", self.reads, self.reads_failed),
            ),
        ]
    }

    /// Target: nothing lost.
    pub(crate) fn misses(&self) -> Vec<String> {
        [
            ("wrk non-2xx", self.wrk_non_2xx),
            ("wrk socket errors", self.wrk_socket_errors),
            ("probe reads failed", self.reads_failed),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(what, n)| format!("{what}: {n}"))
        .collect()
    }
}

/// A report's rows, then each ingress's RSS, as a Markdown table.
pub(crate) fn markdown(
    mut rows: Vec<(&'static str, String)>,
    rss_kib: &[(String, u64, u64)],
) -> String {
    for (cloud, before, after) in rss_kib {
        rows.push((
            "RSS before / after",
            format!("{cloud}: {} / {} MiB", before / 1024, after / 1024),
        ));
    }
    let mut out = String::from("| what | figure |\n| --- | --- |\n");
    for (k, v) in rows {
        out += &format!("| {k} | {v} |\n");
    }
    out
}

/// Ingresses whose RSS grew by more than `slack` (a fraction).
pub(crate) fn rss_misses(rss_kib: &[(String, u64, u64)], slack: f64) -> Vec<String> {
    rss_kib
        .iter()
        .filter(|(_, before, after)| *after as f64 > *before as f64 * (1.0 + slack))
        .map(|(cloud, before, after)| format!("{cloud}: RSS grew from {before} to {after} KiB"))
        .collect()
}

/// The policy of the n-th push: valid ones alternate the gray percentage and a write-forbidden
/// window on uc (its writes then get 503, an expected answer); invalid ones name a unit that
/// does not exist.
pub(crate) fn policy_for(base: &Value, n: u64, invalid_every: u32) -> (Value, bool) {
    if invalid_every > 0 && n.is_multiple_of(u64::from(invalid_every)) {
        let mut bad = policies::with_version(base, &format!("drill-bad-{n}"));
        bad["isolation"]["failover"] = json!({ "jc": "no-such-unit" });
        return (bad, false);
    }
    let p = policies::with_gray_percent(base, (n % 50) as f64);
    let p = if n.is_multiple_of(2) {
        policies::with_write_forbidden(&p, "drill", &["uc"], crate::clock::now_ms() / 1000 + 3600)
    } else {
        p
    };
    (policies::with_version(&p, &format!("drill-{n}")), true)
}

/// VmRSS of a process, KiB.
pub(crate) fn rss_kib(pid: i32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .context("no VmRSS")
}

/// wrk's Lua hook: one summary line with the counts the report needs.
const WRK_SCRIPT: &str = r#"done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("DRILL requests=%d status=%d sockets=%d\n", summary.requests,
    e.status, e.connect + e.read + e.write + e.timeout))
end
"#;

fn wrk_field(line: &str, name: &str) -> u64 {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
        .unwrap_or(0)
}

/// wrk reading `/api/orders/1` (city 720) from an ingress for the drill's duration.
pub(crate) struct Wrk {
    process: ManagedProcess,
    out: PathBuf,
}

impl Wrk {
    pub(crate) fn start(dir: &Path, port: u16, settings: &DrillSettings) -> Result<Self> {
        let script = dir.join("drill.lua");
        std::fs::write(&script, WRK_SCRIPT)?;
        let out = dir.join("wrk.out");
        let mut wrk = Command::new("wrk");
        wrk.args(["-t1", &format!("-c{}", settings.connections)])
            .arg(format!("-d{}s", settings.duration.as_secs().max(1)))
            .args(["--timeout", "5s", "-H", "x-city-id: 720", "-s"])
            .arg(&script)
            .arg(format!("http://127.0.0.1:{port}/api/orders/1"))
            .stdout(std::fs::File::create(&out)?)
            .stderr(Stdio::null());
        let process = ManagedProcess::spawn(wrk).context("running wrk (apt-get install wrk)")?;
        Ok(Self { process, out })
    }

    /// Waits for wrk to end: (requests completed, non-2xx answers, socket errors).
    pub(crate) fn finish(mut self) -> Result<(u64, u64, u64)> {
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.process.exited().is_none() {
            if Instant::now() > deadline {
                bail!("wrk did not finish");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = std::fs::read_to_string(&self.out)?;
        let line = out
            .lines()
            .find_map(|l| l.strip_prefix("DRILL "))
            .with_context(|| format!("no summary from wrk:\n{out}"))?;
        Ok((
            wrk_field(line, "requests"),
            wrk_field(line, "status"),
            wrk_field(line, "sockets"),
        ))
    }
}

/// Runs the drill and reports; errors only when it could not run.
pub fn run(settings: &DrillSettings) -> Result<DrillReport> {
    let base = policies::demo_policy();
    let hold = Duration::from_millis(
        base["isolation"]["breaker"]["open_ms"]
            .as_u64()
            .unwrap_or(0),
    );
    let mut options = Options::new("drill", base.clone());
    options.mode = ConfigMode::Ecds;
    let mut mc = MultiCloud::start(options)?;
    let port = mc.ingress("jcloud")?.envoy.listen_port;
    let read = Request::get("/api/orders/1").city("720");

    // Warm up (V8 compiles the hot paths), then take the RSS baseline.
    let warm = Probe::start(port, read.clone(), 4, Duration::ZERO);
    std::thread::sleep(Duration::from_secs(1));
    warm.finish();
    let pids: Vec<(String, i32)> = mc
        .ingresses
        .iter()
        .map(|i| (i.cloud.clone(), i.envoy.pid()))
        .collect();
    let before: Vec<u64> = pids
        .iter()
        .map(|(_, pid)| rss_kib(*pid))
        .collect::<Result<_>>()?;

    let wrk = Wrk::start(&mc.dir, port, settings)?;
    let start = Instant::now();
    let reads = Probe::start(port, read, 1, Duration::from_millis(5));
    let writes = Probe::start(
        port,
        Request::post("/api/orders", "{}").city("720"),
        1,
        Duration::from_millis(20),
    );

    let (mut report, mut n) = (
        DrillReport {
            hold,
            ..DrillReport::default()
        },
        0u64,
    );
    let (mut killed, mut restored) = (None, None);
    let mut next_swap = start;
    while start.elapsed() < settings.duration {
        let t = start.elapsed();
        if killed.is_none() && t >= settings.kill_at {
            mc.stop_backend("jc");
            killed = Some(Instant::now());
        }
        if restored.is_none() && t >= settings.kill_at + settings.down_for {
            mc.start_backend("jc")?;
            restored = Some(Instant::now());
        }
        n += 1;
        let (policy, valid) = policy_for(&base, n, settings.invalid_every);
        if valid {
            mc.set_policy(policy)?;
            report.swaps += 1;
        } else {
            mc.push_policy(policy)?;
            report.invalid_pushes += 1;
        }
        next_swap += settings.swap_every;
        std::thread::sleep(next_swap.saturating_duration_since(Instant::now()));
    }
    let end = Instant::now();
    let (reads, writes) = (reads.finish(), writes.finish());
    report.load = Load::collect(wrk, &reads)?;
    report.writes = writes.len() as u64;
    let refused = |s: &&Sample| s.status == Some(503);
    report.writes_refused = writes.iter().filter(refused).count() as u64;
    report.writes_failed = writes
        .iter()
        .filter(|s| !s.ok() && s.status != Some(503))
        .count() as u64;
    if let (Some(killed), Some(restored)) = (killed, restored) {
        report.failover = first_from(&reads, "uc", killed);
        report.recovery = settled_on(&reads, "jc", restored, end);
    }
    // A refused push is counted once per ingress; give the last ones time to arrive.
    std::thread::sleep(Duration::from_millis(300));
    let rejected = "wasmcustom.unitgate.pipeline.config.rejected";
    for ingress in &mc.ingresses {
        report.rejected += ingress.envoy.counter(rejected).unwrap_or(0);
    }
    report.rejected /= mc.ingresses.len().max(1) as u64;
    for ((cloud, pid), before) in pids.iter().zip(before) {
        report.rss_kib.push((cloud.clone(), before, rss_kib(*pid)?));
    }
    Ok(report)
}
