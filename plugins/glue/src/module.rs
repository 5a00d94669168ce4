//! What makes one unitgate module different from another: its stage and its hooks.

use crate::metrics::Metrics;
use crate::serving::Active;
use unitgate_core::{RuntimeState, Stage};

pub trait Module: 'static {
    /// The part of the pipeline this module decides.
    const STAGE: Stage;
    /// Short name used in metrics (`unitgate.<NAME>.…`) and logs.
    const NAME: &'static str;

    /// Fills runtime inputs (e.g. breaker status) before each decision.
    fn prepare(_active: &Active, _state: &mut RuntimeState) {}

    /// Sees the upstream's response status for a request this module routed to `unit`.
    fn upstream_status(_active: &Active, _metrics: &Metrics, _unit: &str, _status: u16, _now: u64) {
    }
}
