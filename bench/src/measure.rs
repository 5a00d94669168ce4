//! The Envoy comparison: start one Envoy per variant (each pinned to the proxy core), check that
//! each routes the mix as unitgate's core decides, then measure in interleaved rounds and take
//! medians. Also the memory a large policy adds to the one-module unitgate.

use crate::envoy::{agent, BenchEnvoy};
use crate::machine::{self, Machine};
use crate::scenario::{self, CITY_HEADER, MIX};
use crate::variants::{self, Ports, Variant};
use crate::wrk::{self, WrkResult};
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;
use unitgate_envoy::backend::Backend;
use unitgate_envoy::{locate, ports};

/// How long and how often to measure.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Settings {
    pub rounds: usize,
    /// Each c=8 run.
    pub seconds: f64,
    /// Each c=1 run.
    pub c1_seconds: f64,
    /// Load before the first round, per variant.
    pub warmup_seconds: f64,
    /// Exact values of the large policy whose memory is measured (0: skip).
    pub memory_entries: usize,
    /// The variants to run, in this order (all of them unless UNITGATE_BENCH_VARIANTS names some).
    #[serde(default = "all_variants")]
    pub variants: Vec<Variant>,
}

fn all_variants() -> Vec<Variant> {
    Variant::ALL.to_vec()
}

impl Settings {
    /// `make bench`: about 5 minutes of load. UNITGATE_BENCH_SECONDS (c=8 run length, default
    /// 10; c=1 runs are half), UNITGATE_BENCH_ROUNDS (default 3) and
    /// UNITGATE_BENCH_MEMORY_ENTRIES (default 100000, 0 skips) shorten it;
    /// UNITGATE_BENCH_VARIANTS (names, comma-separated, e.g. `trivial-wasm,unitgate`) runs only
    /// those, to compare two of them side by side.
    pub fn from_env() -> Result<Self> {
        let seconds = env_num("UNITGATE_BENCH_SECONDS", 10.0)?;
        Ok(Settings {
            rounds: env_num("UNITGATE_BENCH_ROUNDS", 3.0)? as usize,
            seconds,
            c1_seconds: (seconds / 2.0).max(1.0),
            warmup_seconds: (seconds / 5.0).max(1.0),
            memory_entries: env_num("UNITGATE_BENCH_MEMORY_ENTRIES", 100_000.0)? as usize,
            variants: env_variants()?,
        })
    }

    /// A few seconds: proves the harness works (routing checked, wrk clean), measures nothing.
    pub fn smoke() -> Self {
        Settings {
            rounds: 1,
            seconds: 1.0,
            c1_seconds: 1.0,
            warmup_seconds: 0.0,
            memory_entries: 0,
            variants: all_variants(),
        }
    }
}

fn env_variants() -> Result<Vec<Variant>> {
    let Ok(names) = std::env::var("UNITGATE_BENCH_VARIANTS") else {
        return Ok(all_variants());
    };
    let names: Vec<&str> = names
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    if names.is_empty() {
        return Ok(all_variants());
    }
    names
        .into_iter()
        .map(|name| {
            Variant::ALL
                .into_iter()
                .find(|v| v.name() == name)
                .with_context(|| {
                    let known: Vec<&str> = Variant::ALL.iter().map(|v| v.name()).collect();
                    format!("UNITGATE_BENCH_VARIANTS: no variant {name:?} (known: {known:?})")
                })
        })
        .collect()
}

fn env_num(name: &str, default: f64) -> Result<f64> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().with_context(|| format!("{name}={v}")),
        _ => Ok(default),
    }
}

/// One variant in one round.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize)]
pub struct Sample {
    pub rps: f64,
    /// Envoy's user + system CPU over the c=8 run, per request.
    pub cpu_us_per_req: f64,
    /// Envoy's CPU time over the c=8 run's wall time (1.0 = its core was saturated).
    pub cpu_busy: f64,
    pub p50_us: f64,
    pub p99_us: f64,
    pub p50_c1_us: f64,
    pub rss_bytes: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct VariantResult {
    pub variant: Variant,
    pub samples: Vec<Sample>,
    pub median: Sample,
}

/// Resident memory of the one-module unitgate with the benchmark policy and with `entries`
/// more exact values, each right after start and the routing check, in an Envoy with one
/// worker and in one with two. Each worker runs its own VM (so does the main thread), and
/// Envoy keeps its own copies of the configuration: the second worker's share is what one
/// more VM costs.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Memory {
    pub entries: usize,
    pub policy_json_bytes: usize,
    pub rss_small: u64,
    pub rss_large: u64,
    #[serde(default)]
    pub rss_small_2w: u64,
    #[serde(default)]
    pub rss_large_2w: u64,
}

impl Memory {
    /// What the large policy adds to the one-worker Envoy, per entry: two VMs and Envoy's copies.
    pub fn bytes_per_entry(&self) -> f64 {
        per_entry(self.rss_large, self.rss_small, self.entries)
    }

    /// What it adds per entry to one more VM (the second worker's).
    pub fn bytes_per_entry_per_vm(&self) -> f64 {
        let two = per_entry(self.rss_large_2w, self.rss_small_2w, self.entries);
        two - self.bytes_per_entry()
    }
}

fn per_entry(large: u64, small: u64, entries: usize) -> f64 {
    (large as f64 - small as f64) / entries.max(1) as f64
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Results {
    pub machine: Machine,
    pub settings: Settings,
    pub pinned: bool,
    pub variants: Vec<VariantResult>,
    pub memory: Option<Memory>,
    /// (module file, bytes)
    pub module_sizes: Vec<(String, u64)>,
}

impl Results {
    pub fn median(&self, v: Variant) -> Option<Sample> {
        self.variants
            .iter()
            .find(|r| r.variant == v)
            .map(|r| r.median)
    }
}

/// Everything one variant needs during the run.
struct Running {
    variant: Variant,
    envoy: BenchEnvoy,
    samples: Vec<Sample>,
}

/// Runs the whole comparison.
pub fn run(settings: &Settings) -> Result<Results> {
    let envoy_bin = locate::envoy_binary()?;
    // Before pinning: the CPU count a pinned thread sees is one.
    let machine = Machine::probe(&envoy_bin)?;
    let cores = machine::cores();
    if let Some((_, load)) = cores {
        machine::pin_current_thread(load)?;
    }
    let dir = locate::scratch_dir("bench")?;
    let policy = scenario::policy()?;
    let expected = scenario::expected_units(&policy)?;
    let upstreams = scenario::upstreams(&policy);
    let backends = upstreams
        .iter()
        .map(|(unit, cluster)| Ok((cluster.clone(), Backend::start(unit, "bench", 0)?)))
        .collect::<Result<Vec<_>>>()?;
    let clusters: Vec<(String, u16)> = backends
        .iter()
        .map(|(c, b)| (c.clone(), b.port()))
        .collect();
    let script = wrk::write_script(&dir)?;
    let load_core = cores.map(|(_, l)| l);
    let proxy_core = cores.map(|(p, _)| p);

    let start_with =
        |variant: Variant, policy: &Value, name: &str, workers| -> Result<BenchEnvoy> {
            let [listen, admin] = ports::free_ports(2)?[..] else {
                bail!("no free ports")
            };
            let ports = Ports {
                listen,
                admin,
                clusters: clusters.clone(),
            };
            let bootstrap = variants::bootstrap(variant, policy, &ports)?;
            BenchEnvoy::start(
                &envoy_bin,
                &bootstrap,
                (name, &dir),
                (listen, admin),
                proxy_core,
                workers,
            )
        };
    let start = |variant: Variant, policy: &Value, name: &str| start_with(variant, policy, name, 1);

    let mut running = Vec::new();
    let mut memory_small = None;
    for &variant in &settings.variants {
        let envoy = start(variant, &policy, variant.name())?;
        verify(variant, &envoy, &expected)
            .with_context(|| format!("variant {}", variant.name()))?;
        if variant == Variant::Unitgate {
            memory_small = Some(envoy.rss_bytes()?);
        }
        if settings.warmup_seconds > 0.0 {
            wrk::run(
                &script,
                envoy.listen_port,
                8,
                secs(settings.warmup_seconds),
                load_core,
            )
            .with_context(|| format!("warm-up of {}", variant.name()))?;
        }
        eprintln!("bench: {} ready and routing", variant.name());
        running.push(Running {
            variant,
            envoy,
            samples: Vec::new(),
        });
    }

    let n = running.len();
    for round in 0..settings.rounds {
        // Rotate the order each round so no variant always runs first or last.
        for i in 0..n {
            let r = &mut running[(i + round) % n];
            let sample = measure(r, &script, &backends, settings, load_core)
                .with_context(|| format!("variant {} in round {}", r.variant.name(), round + 1))?;
            eprintln!(
                "bench: round {} {:<13} {:>8.0} req/s {:>6.1} µs CPU/req p99 {:>6.0} µs",
                round + 1,
                r.variant.name(),
                sample.rps,
                sample.cpu_us_per_req,
                sample.p99_us
            );
            r.samples.push(sample);
        }
    }
    let variants = running
        .iter_mut()
        .map(|r| {
            r.envoy.stop();
            VariantResult {
                variant: r.variant,
                median: median(&r.samples),
                samples: r.samples.clone(),
            }
        })
        .collect();

    let memory = match (settings.memory_entries, memory_small) {
        (0, _) | (_, None) => None,
        (entries, Some(rss_small)) => {
            let large = scenario::policy_with_exact(entries)?;
            // Resident memory of a unitgate Envoy with `workers` workers and `policy`.
            let rss = |policy: &Value, name: &str, workers| -> Result<u64> {
                let mut envoy = start_with(Variant::Unitgate, policy, name, workers)?;
                verify(Variant::Unitgate, &envoy, &expected).with_context(|| name.to_string())?;
                let rss = envoy.rss_bytes()?;
                envoy.stop();
                Ok(rss)
            };
            Some(Memory {
                entries,
                policy_json_bytes: large.to_string().len(),
                rss_small,
                rss_large: rss(&large, "unitgate-large-policy", 1)?,
                rss_small_2w: rss(&policy, "unitgate-2-workers", 2)?,
                rss_large_2w: rss(&large, "unitgate-large-policy-2-workers", 2)?,
            })
        }
    };
    drop(backends);
    Ok(Results {
        machine,
        settings: settings.clone(),
        pinned: cores.is_some(),
        variants,
        memory,
        module_sizes: module_sizes(),
    })
}

/// Time for requests still in flight when wrk stops to reach a backend.
const SETTLE: Duration = Duration::from_millis(500);

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// Every request of the mix must reach the backend unitgate's core decides (routing variants),
/// the cluster of its city (the trivial filter) or unit `a` (the one-cluster floors), with a 200.
fn verify(variant: Variant, envoy: &BenchEnvoy, expected: &[String]) -> Result<()> {
    let agent = agent();
    for (m, want) in MIX.iter().zip(expected) {
        let want = match variant {
            Variant::Trivial => scenario::trivial_unit(m.city),
            _ if variant.routes_by_city() => want.as_str(),
            _ => scenario::LOCAL_UNIT,
        };
        let mut req = agent.get(&format!("http://127.0.0.1:{}{}", envoy.listen_port, m.path));
        if let Some(city) = m.city {
            req = req.header(CITY_HEADER, city);
        }
        let resp = req.call().with_context(|| format!("GET {}", m.path))?;
        let status = resp.status().as_u16();
        let unit = resp
            .headers()
            .get("x-backend-unit")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none")
            .to_string();
        if status != 200 || unit != want {
            let city = m
                .city
                .map_or("no city".to_string(), |c| format!("{CITY_HEADER}: {c}"));
            bail!(
                "GET {} ({city}) reached unit {unit} with status {status}, expected unit {want}\n{}",
                m.path,
                envoy.log_tail()
            );
        }
    }
    Ok(())
}

/// One c=8 run (throughput, CPU, latency), one c=1 run (latency), then RSS.
fn measure(
    r: &Running,
    script: &Path,
    backends: &[(String, Backend)],
    settings: &Settings,
    load_core: Option<usize>,
) -> Result<Sample> {
    let hits = || backends.iter().map(|(_, b)| b.hits()).collect::<Vec<_>>();
    // Requests of the previous run that Envoy was still forwarding when wrk stopped land late.
    std::thread::sleep(SETTLE);
    let hits_before = hits();
    let cpu_before = r.envoy.cpu_us()?;
    let c8: WrkResult = wrk::run(
        script,
        r.envoy.listen_port,
        8,
        secs(settings.seconds),
        load_core,
    )?;
    let cpu = r.envoy.cpu_us()? - cpu_before;
    std::thread::sleep(SETTLE);
    let hits_after = hits();
    // Every backend gets traffic when the variant routes by city, only the first otherwise.
    for (i, (cluster, _)) in backends.iter().enumerate() {
        let got = hits_after[i] - hits_before[i];
        let wanted = i == 0 || r.variant.routes_by_city();
        if wanted != (got > 0) {
            bail!(
                "backend {cluster} got {got} requests under load; routing changed during the run"
            );
        }
    }
    let c1 = wrk::run(
        script,
        r.envoy.listen_port,
        1,
        secs(settings.c1_seconds),
        load_core,
    )?;
    Ok(Sample {
        rps: c8.rps(),
        cpu_us_per_req: cpu / c8.requests as f64,
        cpu_busy: cpu / (c8.seconds * 1e6),
        p50_us: c8.p50_us,
        p99_us: c8.p99_us,
        p50_c1_us: c1.p50_us,
        rss_bytes: r.envoy.rss_bytes()?,
    })
}

/// The median of each metric on its own.
pub fn median(samples: &[Sample]) -> Sample {
    let m = |f: fn(&Sample) -> f64| {
        let mut v: Vec<f64> = samples.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        match v.len() {
            0 => 0.0,
            n if n % 2 == 1 => v[n / 2],
            n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
        }
    };
    Sample {
        rps: m(|s| s.rps),
        cpu_us_per_req: m(|s| s.cpu_us_per_req),
        cpu_busy: m(|s| s.cpu_busy),
        p50_us: m(|s| s.p50_us),
        p99_us: m(|s| s.p99_us),
        p50_c1_us: m(|s| s.p50_c1_us),
        rss_bytes: m(|s| s.rss_bytes as f64) as u64,
    }
}

/// Sizes of the modules the variants load.
fn module_sizes() -> Vec<(String, u64)> {
    let mut names = vec![variants::UNITGATE_MODULE, variants::TRIVIAL_MODULE];
    names.extend(locate::MODULES);
    names
        .into_iter()
        .filter_map(|m| {
            let path: PathBuf = locate::wasm_module(m).ok()?;
            Some((format!("{m}.wasm"), std::fs::metadata(path).ok()?.len()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_takes_each_metric_alone() {
        let s = |rps: f64, p99: f64| Sample {
            rps,
            p99_us: p99,
            ..Sample::default()
        };
        let m = median(&[s(1.0, 30.0), s(3.0, 10.0), s(2.0, 20.0)]);
        assert_eq!((m.rps, m.p99_us), (2.0, 20.0));
        assert_eq!(median(&[s(1.0, 0.0), s(2.0, 0.0)]).rps, 1.5);
    }
}
