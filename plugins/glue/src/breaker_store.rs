//! Passive breaker state per unit in proxy-wasm shared data (shared by every worker of a
//! VM id), updated with compare-and-swap, and only with what can change a decision.
//!
//! A worker counts the successes of a closed breaker locally and publishes them with its next
//! error, or when the window's time bucket changes: at most one shared write per unit and
//! bucket while all goes well. Errors, and every response while half-open, are published at
//! once. A batch that loses every CAS attempt stays local and goes with the next publish, so
//! no failure is lost.

use crate::host;
use crate::root::Shared;
use crate::serving::Active;
use proxy_wasm::hostcalls;
use proxy_wasm::types::{LogLevel, Status};
use std::cell::RefCell;
use std::collections::BTreeMap;
use unitgate_core::{BreakerConfig, BreakerState, BreakerStatus};

/// Response header a peer's failover listener adds when it answered for a unit whose own
/// backends failed (Envoy retried the request there, or health checks moved it there).
pub const FAILOVER_HEADER: &str = "x-unitgate-failover";

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
    /// Every CAS attempt lost to another worker (the counts stay local).
    Dropped,
}

/// Responses of one unit that this worker has not published yet.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Batch {
    unit: String,
    /// When the held-back successes were counted (their time bucket).
    at_ms: u64,
    successes: u32,
    errors: u32,
}

/// This worker's unpublished counts, per unit.
#[derive(Default)]
pub struct Local {
    batches: RefCell<Vec<Batch>>,
}

/// Publishes `batch` plus one response (if any) into `unit`'s shared state.
fn publish(
    unit: &str,
    cfg: &BreakerConfig,
    now_ms: u64,
    batch: &Batch,
    response: Option<bool>,
) -> Recorded {
    let key = key(unit);
    for _ in 0..CAS_ATTEMPTS {
        let (mut state, cas) = load(unit);
        let before = state.status(cfg, now_ms);
        state.add_successes(cfg, batch.at_ms, now_ms, batch.successes);
        for _ in 0..batch.errors {
            state.record(cfg, now_ms, true);
        }
        if let Some(is_error) = response {
            state.record(cfg, now_ms, is_error);
        }
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

/// Counts one upstream response for `unit`, whose breaker the request saw as `seen` at
/// `at_ms`. `now` reads the clock, only when something is published.
pub fn record(
    local: &Local,
    unit: &str,
    cfg: &BreakerConfig,
    seen: (BreakerStatus, u64),
    is_error: bool,
    now: impl FnOnce() -> u64,
) -> Recorded {
    let (seen, at_ms) = seen;
    let mut batches = local.batches.borrow_mut();
    let fresh = |successes| Batch {
        unit: unit.to_string(),
        at_ms,
        successes,
        errors: 0,
    };
    let i = match batches.iter().position(|b| b.unit == unit) {
        Some(i) => i,
        None => {
            batches.push(fresh(0));
            batches.len() - 1
        }
    };
    let Some(held) = batches.get_mut(i) else {
        return Recorded::Dropped;
    };
    let width = unitgate_core::bucket_ms(cfg);
    let deferrable = !is_error && seen == BreakerStatus::Closed;
    if deferrable && held.at_ms / width == at_ms / width {
        held.successes = held.successes.saturating_add(1);
        return Recorded::Unchanged;
    }
    // A success in a new bucket starts the next batch; anything else is published with it.
    let (next, response) = if deferrable {
        (fresh(1), None)
    } else {
        (fresh(0), Some(is_error))
    };
    let batch = std::mem::replace(held, next);
    let done = publish(unit, cfg, now(), &batch, response);
    if done == Recorded::Dropped {
        held.successes = held.successes.saturating_add(batch.successes);
        held.errors = held.errors.saturating_add(batch.errors);
        match response {
            Some(true) => held.errors = held.errors.saturating_add(1),
            Some(false) => held.successes = held.successes.saturating_add(1),
            None => {}
        }
    }
    done
}

/// Whether this module counts upstream responses: it runs isolation and the policy has a
/// breaker. (`Http` keeps a routed request's unit only then.)
pub fn counts_responses(active: &Active) -> bool {
    active.settings.stages.isolation && active.policy.breaker_config().is_some()
}

/// Counts the upstream's response for the unit the request was routed to, with its breaker
/// as the request saw it and when; logs and counts a breaker that opens. A 5xx is an error,
/// and so is an answer from a peer's failover listener: the unit's own backends failed it.
pub fn observe(active: &Active, shared: &Shared, module: &str, routed: &Routed, status: u16) {
    let Some(cfg) = active.policy.breaker_config() else {
        return;
    };
    // Only a unit with a failover unit is served by a peer's failover listener (Envoy) or
    // failover server (nginx's `backup`).
    let may_fail_over = unitgate_core::failover_chain(&active.policy, &routed.unit).len() > 1;
    let failed_over =
        may_fail_over && status < 500 && host::response_header(FAILOVER_HEADER).is_some();
    let (unit, seen) = (routed.unit.as_str(), (routed.breaker, routed.at_ms));
    let done = record(
        &shared.breakers,
        unit,
        cfg,
        seen,
        status >= 500 || failed_over,
        host::now_ms,
    );
    if done == Recorded::Opened {
        shared.metrics.incr(&format!("breaker.opened.unit.{unit}"));
        let msg = format!("unitgate {module}: breaker opened for unit {unit}");
        host::log(LogLevel::Info, &msg);
    }
}

/// Where a request went, for its response.
pub struct Routed {
    pub unit: String,
    /// The unit's breaker as the decision saw it.
    pub breaker: BreakerStatus,
    /// When the request was decided.
    pub at_ms: u64,
}
