//! unitgate fault isolation: proxy-wasm module for `Stage::Isolation`.
//!
//! Down units, per-API switches and write-forbidden windows come from the policy; the passive
//! circuit breaker counts upstream 5xx per unit in shared data (CAS, shared by every worker of
//! the VM) and feeds its status back into each decision. See plugins/README.md.

use proxy_wasm::types::LogLevel;
use unitgate_core::{RuntimeState, Stage};
use unitgate_glue::breaker_store::{self, Recorded};
use unitgate_glue::{host, Active, Metrics, Module};

struct FaultIsolation;

impl Module for FaultIsolation {
    const STAGE: Stage = Stage::Isolation;
    const NAME: &'static str = "isolation";

    fn prepare(active: &Active, state: &mut RuntimeState) {
        if let Some(cfg) = active.policy.breaker_config() {
            let units = active.policy.units().map(|u| u.name.as_str());
            state.breakers = breaker_store::statuses(units, cfg, state.now_ms);
        }
    }

    fn upstream_status(active: &Active, metrics: &Metrics, unit: &str, status: u16, now: u64) {
        let Some(cfg) = active.policy.breaker_config() else {
            return;
        };
        if breaker_store::record(unit, cfg, now, status >= 500) == Recorded::Opened {
            metrics.incr(&format!("breaker.opened.unit.{unit}"));
            let msg = format!("unitgate isolation: breaker opened for unit {unit}");
            host::log(LogLevel::Info, &msg);
        }
    }
}

proxy_wasm::main! {{
    unitgate_glue::start::<FaultIsolation>();
}}
