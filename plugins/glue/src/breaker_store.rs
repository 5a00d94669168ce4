//! Passive breaker state per unit in proxy-wasm shared data (shared by every worker of a
//! VM id), updated with compare-and-swap.

use crate::host;
use crate::metrics::Metrics;
use crate::serving::Active;
use proxy_wasm::hostcalls;
use proxy_wasm::types::{LogLevel, Status};
use std::collections::BTreeMap;
use unitgate_core::{BreakerConfig, BreakerState, BreakerStatus};

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

/// Breakers that are not closed on the route to `unit`: `unit` itself, then its failover
/// chain as far as the first unit whose breaker is not open (the decision cannot go further).
/// `None` when all of them are closed (nothing to decide again) or there is no breaker.
pub fn not_closed(
    active: &Active,
    unit: &str,
    now_ms: u64,
) -> Option<BTreeMap<String, BreakerStatus>> {
    let cfg = active.policy.breaker_config()?;
    let mut out = BTreeMap::new();
    for name in unitgate_core::failover_chain(&active.policy, unit) {
        let status = load(name).0.status(cfg, now_ms);
        if status == BreakerStatus::Closed {
            break;
        }
        out.insert(name.to_string(), status);
        if status != BreakerStatus::Open {
            break;
        }
    }
    (!out.is_empty()).then_some(out)
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
