//! unitgate fault isolation: proxy-wasm module for `Stage::Isolation`.
//!
//! Down units, per-API switches and write-forbidden windows come from the policy; the passive
//! circuit breaker counts upstream 5xx per unit in shared data and feeds its status back into
//! each decision. All of it lives in unitgate-glue and unitgate-core; see plugins/README.md.

use unitgate_core::Stage;
use unitgate_glue::Module;

struct FaultIsolation;

impl Module for FaultIsolation {
    const STAGE: Stage = Stage::Isolation;
    const NAME: &'static str = "isolation";
}

proxy_wasm::main! {{
    unitgate_glue::start::<FaultIsolation>();
}}
