//! A unit outage under load, for the failover tests on Envoy and on nginx: probes read and
//! write through an ingress while one unit's backend is stopped and later restarted. The result
//! says what was lost, where reads went and when, and how many writes the backends applied.

use crate::backend::Backend;
use crate::client::Request;
use crate::probe::{first_from, settled_on, Probe, Sample};
use crate::unit_backends::UnitBackends;
use anyhow::{bail, Result};
use std::time::{Duration, Instant};

/// The read and the write the failover tests probe with: city 720, which is jc's.
pub fn jc_probes() -> (Request, Request) {
    (
        Request::get("/api/orders/1").city("720"),
        Request::post("/api/orders", "{}").city("720"),
    )
}

/// The outage both failover tests drive, on Envoy and on nginx: `jc_probes` through jc's
/// ingress at `port`, jc's backend down for 2.5 s, then the probes run through the breaker's
/// hold (`open_ms`) and 2.5 s more; uc is the failover. The check's summary, or what it missed.
pub fn jc_fails_over_to_uc(backends: &mut UnitBackends, port: u16, open_ms: u64) -> Result<String> {
    let down = Duration::from_millis(2500);
    let after = Duration::from_millis(open_ms + 2500);
    let outage = run(backends, port, jc_probes(), ("jc", "uc"), (down, after))?;
    outage.check("jc", "uc")
}

/// What the probes saw.
pub struct Outage {
    pub reads: Vec<Sample>,
    pub writes: Vec<Sample>,
    /// Writes the two units' backends applied during the run.
    pub applied: u64,
    /// When the backend was stopped, restarted, and the probes stopped.
    pub killed: Instant,
    pub back: Instant,
    pub end: Instant,
}

/// Writes `unit`'s running backend has received (0 while it is stopped).
fn applied_at(backends: &UnitBackends, unit: &str) -> u64 {
    backends.get(unit).map_or(0, Backend::writes)
}

/// Reads (4 threads) and writes (1 thread, every 20 ms) to `port`; `unit`'s backend (one of
/// the ingress's `backends`) is stopped after 0.8 s, restarted `down` later, and the probes
/// run for `after` more. `failover` is the unit the writes may be applied at instead.
pub fn run(
    backends: &mut UnitBackends,
    port: u16,
    (read, write): (Request, Request),
    (unit, failover): (&str, &str),
    (down, after): (Duration, Duration),
) -> Result<Outage> {
    let (unit_start, failover_start) = (applied_at(backends, unit), applied_at(backends, failover));
    let reads = Probe::start(port, read, 4, Duration::from_millis(2));
    let writes = Probe::start(port, write, 1, Duration::from_millis(20));
    std::thread::sleep(Duration::from_millis(800));
    let before_kill = applied_at(backends, unit) - unit_start;
    backends.stop(unit);
    // After the stop returned: no answer from the unit can arrive later.
    let killed = Instant::now();
    std::thread::sleep(down);
    let back = Instant::now();
    backends.restart(unit)?;
    std::thread::sleep(after);
    let end = Instant::now();
    let (reads, writes) = (reads.finish(), writes.finish());
    // The restarted backend counts from 0.
    let applied =
        before_kill + applied_at(backends, unit) + applied_at(backends, failover) - failover_start;
    Ok(Outage {
        reads,
        writes,
        applied,
        killed,
        back,
        end,
    })
}

impl Outage {
    /// The targets: no read failed; while `unit` was down (after 100 ms, for answers already on
    /// their way) every read came from `failover`, and they came back to `unit` after the
    /// restart; every write was applied at most once, each 2xx one at least once, and the others
    /// were refused with 503, or failed with 502 while in flight at the kill. Returns a
    /// summary, or what was missed.
    pub fn check(&self, unit: &str, failover: &str) -> Result<String> {
        let lost: Vec<_> = self
            .reads
            .iter()
            .filter(|s| !s.ok())
            .map(|s| (s.status, s.at.saturating_duration_since(self.killed)))
            .collect();
        if !lost.is_empty() {
            bail!(
                "{} of {} reads failed: {lost:?}",
                lost.len(),
                self.reads.len()
            );
        }
        let settled = self.killed + Duration::from_millis(100);
        let during: Vec<&Sample> = self
            .reads
            .iter()
            .filter(|s| s.at > settled && s.at < self.back)
            .collect();
        if during.len() <= 50 {
            bail!("too few reads while {unit} was down: {}", during.len());
        }
        if let Some(s) = during.iter().find(|s| s.unit.as_deref() != Some(failover)) {
            bail!("a read during the outage was served by {:?}", s.unit);
        }
        let Some(moved) = first_from(&self.reads, failover, self.killed) else {
            bail!("reads never reached {failover}");
        };
        let Some(returned) = settled_on(&self.reads, unit, self.back, self.end) else {
            bail!("reads never came back to {unit}");
        };
        let sent = self.writes.len() as u64;
        let answered = self.writes.iter().filter(|s| s.ok()).count() as u64;
        if self.applied > sent || self.applied < answered {
            bail!(
                "{} writes applied for {sent} sent, {answered} answered 2xx",
                self.applied
            );
        }
        // A write in flight to the backend as it died cannot be sent again: it may fail (nginx
        // answers 502), but only then.
        let in_flight = |s: &Sample| {
            s.status == Some(502)
                && s.at >= self.killed
                && s.at < self.killed + Duration::from_secs(1)
        };
        let refused = self.writes.iter().filter(|s| s.status == Some(503)).count();
        let failed = self.writes.iter().filter(|s| in_flight(s)).count();
        if let Some(s) = self
            .writes
            .iter()
            .find(|s| !matches!(s.status, Some(200 | 503)) && !in_flight(s))
        {
            bail!("write answered {s:?}");
        }
        Ok(format!(
            "reads: {} sent, none failed; first on {failover} {moved:?} after the kill; settled on {unit} {returned:?} after the restart\n\
             writes: {sent} sent, {answered} answered 2xx, {refused} refused with 503, {failed} failed with 502 (in flight at the kill), {} applied",
            self.reads.len(),
            self.applied
        ))
    }
}
