//! Passive breaker state per unit in proxy-wasm shared data (shared by every worker of a
//! VM id), updated with compare-and-swap.

use crate::host;
use crate::metrics::Metrics;
use crate::serving::Active;
use proxy_wasm::hostcalls;
use proxy_wasm::types::{LogLevel, Status};
use std::collections::BTreeMap;
use unitgate_core::{BreakerConfig, BreakerState, BreakerStatus, RuntimeState};

/// CAS attempts before a record is dropped (only under heavy contention).
const CAS_ATTEMPTS: usize = 8;

pub fn key(unit: &str) -> String {
    format!("unitgate.breaker.{unit}")
}

fn load(unit: &str) -> (BreakerState, Option<u32>) {
    match hostcalls::get_shared_data(&key(unit)) {
        Ok((Some(bytes), cas)) => (BreakerState::decode(&bytes).unwrap_or_default(), cas),
        Ok((None, cas)) => (BreakerState::default(), cas),
        Err(_) => (BreakerState::default(), None),
    }
}

/// Status of each unit whose breaker is not closed.
pub fn statuses<'a>(
    units: impl Iterator<Item = &'a str>,
    cfg: &BreakerConfig,
    now_ms: u64,
) -> BTreeMap<String, BreakerStatus> {
    // Inserted one by one: collecting would instantiate a sort just for this map.
    let mut out = BTreeMap::new();
    for unit in units {
        let status = load(unit).0.status(cfg, now_ms);
        if status != BreakerStatus::Closed {
            out.insert(unit.to_string(), status);
        }
    }
    out
}

/// What recording one response did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// The breaker went from closed or half-open to open.
    Opened,
    Unchanged,
    /// Every CAS attempt lost to another worker.
    Dropped,
}

/// Records one upstream response for `unit`.
pub fn record(unit: &str, cfg: &BreakerConfig, now_ms: u64, is_error: bool) -> Recorded {
    let key = key(unit);
    for _ in 0..CAS_ATTEMPTS {
        let (mut state, cas) = load(unit);
        let before = state.status(cfg, now_ms);
        state.record(cfg, now_ms, is_error);
        let after = state.status(cfg, now_ms);
        match hostcalls::set_shared_data(&key, Some(&state.encode()), cas) {
            Ok(()) if before != BreakerStatus::Open && after == BreakerStatus::Open => {
                return Recorded::Opened
            }
            Ok(()) => return Recorded::Unchanged,
            Err(Status::CasMismatch) => continue,
            Err(_) => return Recorded::Dropped,
        }
    }
    Recorded::Dropped
}

/// Fills `state.breakers` before a decision (modules that run isolation, with a breaker).
pub fn prepare(active: &Active, state: &mut RuntimeState) {
    if let Some(cfg) = active.policy.breaker_config() {
        let units = active.policy.units().map(|u| u.name.as_str());
        state.breakers = statuses(units, cfg, state.now_ms);
    }
}

/// Counts the upstream's response for `unit`; logs and counts a breaker that opens.
pub fn observe(
    active: &Active,
    metrics: &Metrics,
    module: &str,
    unit: &str,
    status: u16,
    now: u64,
) {
    let Some(cfg) = active.policy.breaker_config() else {
        return;
    };
    if record(unit, cfg, now, status >= 500) == Recorded::Opened {
        metrics.incr(&format!("breaker.opened.unit.{unit}"));
        let msg = format!("unitgate {module}: breaker opened for unit {unit}");
        host::log(LogLevel::Info, &msg);
    }
}
