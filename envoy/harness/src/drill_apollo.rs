//! The drill's Apollo phase: one ingress Envoy (two workers) whose module follows the Apollo
//! stand-in by itself, while wrk reads from it. A new release is published every `swap_every`;
//! in every `CYCLE` releases, `INVALID_RUN` in a row are invalid (a policy that fails
//! validation, or text that is not JSON). The report says what was published, which versions
//! the module served (the explain header of a probe's reads, and the `policy.version.<v>`
//! gauges), how many releases it refused, and what wrk and the probe lost.
//!
//! The module polls on its 500 ms tick and fetches only the newest release, so most releases
//! published 100 ms apart are superseded before it looks; an invalid run lasts longer than a
//! tick, so the module fetches at least one invalid release per cycle.

use crate::apollo::ApolloIngress;
use crate::client::Request;
use crate::drill::{markdown, policy_for, rss_kib, rss_misses, DrillSettings, Load, Wrk};
use crate::policies;
use crate::probe::Probe;
use anyhow::{bail, Result};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Long-poll hold of the stand-in: a publish answers a held poll at once, so this only bounds
/// how long a quiet poll waits.
const HOLD: Duration = Duration::from_secs(2);
const WORKERS: usize = 2;
/// Releases per cycle, and how many of them in a row are invalid.
pub const CYCLE: u64 = 20;
pub const INVALID_RUN: u64 = 6;

/// What the Apollo phase saw.
#[derive(Clone, Debug, Default)]
pub struct ApolloDrillReport {
    /// What wrk and the read probe (every 5 ms) saw.
    pub load: Load,
    /// Releases published: valid policies, invalid ones (not JSON, or not a valid policy).
    pub published_valid: u64,
    pub published_invalid: u64,
    /// The module's counters: releases installed, releases refused, failed polls.
    pub updates: u64,
    pub rejected: u64,
    pub errors: u64,
    /// Versions the probe's reads were explained with; those never published as valid.
    pub versions_explained: usize,
    pub unexpected_versions: Vec<String>,
    /// `policy.version.<v>` gauges Envoy holds: one per version a VM served.
    pub versions_gauged: usize,
    /// From the last publish until the probe's reads carried the last valid version.
    pub last_served_after: Option<Duration>,
    pub rss_kib: Vec<(String, u64, u64)>,
}

impl ApolloDrillReport {
    pub fn table(&self) -> String {
        let mut rows = self.load.rows();
        rows.extend([
            (
                "releases published through Apollo: valid / invalid",
                format!("{} / {}", self.published_valid, self.published_invalid),
            ),
            (
                "releases the module installed / refused (apollo.updates / apollo.rejected)",
                format!("{} / {}", self.updates, self.rejected),
            ),
            ("failed polls (apollo.errors)", self.errors.to_string()),
            (
                "versions served: in the probe's explain header / as policy.version gauges",
                format!("{} / {}", self.versions_explained, self.versions_gauged),
            ),
            (
                "versions served that were never published valid",
                self.unexpected_versions.len().to_string(),
            ),
            (
                "last release served after",
                self.last_served_after
                    .map_or("never".to_string(), |d| format!("{} ms", d.as_millis())),
            ),
        ]);
        markdown(rows, &self.rss_kib)
    }

    /// The targets: nothing lost, no invalid release served, invalid ones refused, the last
    /// release served, RSS within `rss_slack`.
    pub fn misses(&self, rss_slack: f64) -> Vec<String> {
        let mut out = self.load.misses();
        if !self.unexpected_versions.is_empty() {
            out.push(format!("served {:?}", self.unexpected_versions));
        }
        if self.published_invalid > 0 && self.rejected == 0 {
            out.push("no invalid release was refused".into());
        }
        if self.rejected > self.published_invalid {
            out.push(format!(
                "{} releases refused, {} invalid",
                self.rejected, self.published_invalid
            ));
        }
        if self.last_served_after.is_none() {
            out.push("the last release was never served".into());
        }
        out.extend(rss_misses(&self.rss_kib, rss_slack));
        out
    }
}

/// The n-th release's text and its version if it is valid. Invalid runs alternate between a
/// policy that fails validation (a failover to a unit that does not exist) and a truncated
/// document.
fn release(base: &Value, n: u64) -> (String, Option<String>) {
    let (policy, _) = policy_for(base, n, 0);
    let text = policy.to_string();
    if n % CYCLE >= INVALID_RUN {
        return (text, policy["version"].as_str().map(str::to_string));
    }
    if (n / CYCLE).is_multiple_of(2) {
        let cut = text.get(..text.len() / 2).unwrap_or_default();
        return (cut.to_string(), None);
    }
    let (bad, _) = policy_for(base, n, 1);
    (bad.to_string(), None)
}

/// Waits until a read is explained with `version`; how long that took.
fn until_served(port: u16, read: &Request, version: &str, limit: Duration) -> Option<Duration> {
    let start = Instant::now();
    let client = crate::Client::with_timeout(Duration::from_secs(5));
    while start.elapsed() < limit {
        let served = client
            .send(port, read)
            .ok()
            .and_then(|r| r.explain("version"));
        if served.as_deref() == Some(version) {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

/// Runs the Apollo phase and reports; errors only when it could not run.
pub fn run(settings: &DrillSettings) -> Result<ApolloDrillReport> {
    let ing = ApolloIngress::start("drill-apollo", WORKERS, HOLD)?;
    let port = ing.envoy.listen_port;
    let base = policies::demo_policy();
    let read = Request::get("/api/orders/1").city("720");
    let first = CYCLE - 1;
    let (text, _) = release(&base, first);
    ing.publish_raw(&text);
    let version = format!("drill-{first}");
    if until_served(port, &read, &version, Duration::from_secs(30)).is_none() {
        bail!(
            "the first release was never served:\n{}",
            ing.envoy.log_tail(30)
        );
    }
    let warm = Probe::start(port, read.clone(), 4, Duration::ZERO);
    std::thread::sleep(Duration::from_secs(1));
    warm.finish();
    let before = rss_kib(ing.envoy.pid())?;

    let wrk = Wrk::start(&ing.dir, port, settings)?;
    let start = Instant::now();
    let reads = Probe::start(port, read.clone(), 1, Duration::from_millis(5));
    let mut report = ApolloDrillReport {
        published_valid: 1,
        ..ApolloDrillReport::default()
    };
    let mut valid: BTreeSet<String> = BTreeSet::from([version.clone()]);
    let mut last = version;
    let (mut n, mut next) = (first, start);
    while start.elapsed() < settings.duration {
        n += 1;
        let (text, version) = release(&base, n);
        ing.publish_raw(&text);
        match version {
            Some(v) => {
                report.published_valid += 1;
                valid.insert(v.clone());
                last = v;
            }
            None => report.published_invalid += 1,
        }
        next += settings.swap_every;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    report.last_served_after = until_served(port, &read, &last, Duration::from_secs(10));
    let reads = reads.finish();
    report.load = Load::collect(wrk, &reads)?;
    let explained: BTreeSet<String> = reads.iter().filter_map(|s| s.version.clone()).collect();
    report.versions_explained = explained.len();
    report.unexpected_versions = explained.difference(&valid).cloned().collect();
    let gauges = ing.envoy.stats("unitgate.pipeline.policy.version.")?;
    report.versions_gauged = gauges.len();
    let stray = gauges
        .keys()
        .filter_map(|k| k.rsplit_once("policy.version.").map(|(_, v)| v.to_string()))
        .filter(|v| !valid.contains(v));
    report.unexpected_versions.extend(stray);
    report.updates = ing.metric("apollo.updates");
    report.rejected = ing.metric("apollo.rejected");
    report.errors = ing.metric("apollo.errors");
    report.rss_kib = vec![("ucloud".into(), before, rss_kib(ing.envoy.pid())?)];
    Ok(report)
}
