//! Counters `unitgate.<module>.<name>`, defined on first use; the ids of the per-request ones
//! cached per VM.
//!
//! The cache is a short list (units x reasons seen so far), scanned linearly: smaller in the
//! module than a hash map instantiation, and as fast at this size. It is keyed by what is
//! counted (unit or status, and reason), not by the name: a request formats no name once its
//! counter exists (formatting and comparing the name cost about 3,000 wasm instructions a
//! request).

use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;
use std::cell::RefCell;
use unitgate_core::Reason;

pub struct Metrics {
    prefix: String,
    /// (unit, status, reason) -> id: a decision has status 0, a reply an empty unit.
    ids: RefCell<Vec<(String, u16, Reason, u32)>>,
}

impl Metrics {
    pub fn new(module: &str) -> Self {
        Metrics {
            prefix: format!("unitgate.{module}."),
            ids: RefCell::new(Vec::new()),
        }
    }

    fn define(&self, name: &str) -> Option<u32> {
        let full = format!("{}{name}", self.prefix);
        hostcalls::define_metric(MetricType::Counter, &full).ok()
    }

    /// Adds 1 to `unitgate.<module>.<name>` (rare events: the id is not cached; defining a
    /// counter again returns its id).
    pub fn incr(&self, name: &str) {
        if let Some(id) = self.define(name) {
            let _ = hostcalls::increment_metric(id, 1);
        }
    }

    /// Adds 1 to the counter of (`unit`, `status`, `reason`), named by `name` the first time.
    fn count(&self, unit: &str, status: u16, reason: Reason, name: impl FnOnce() -> String) {
        let cached = self
            .ids
            .borrow()
            .iter()
            .find(|(u, s, r, _)| *s == status && *r == reason && u == unit)
            .map(|c| c.3);
        let id = match cached {
            Some(id) => id,
            None => {
                let Some(id) = self.define(&name()) else {
                    return;
                };
                let key = (unit.to_string(), status, reason, id);
                self.ids.borrow_mut().push(key);
                id
            }
        };
        let _ = hostcalls::increment_metric(id, 1);
    }

    /// `decisions.unit.<unit>.reason.<reason>`
    pub fn decision(&self, unit: &str, reason: Reason) {
        let name = || format!("decisions.unit.{unit}.reason.{}", reason.as_str());
        self.count(unit, 0, reason, name);
    }

    /// `replies.status.<status>.reason.<reason>`
    pub fn reply(&self, status: u16, reason: Reason) {
        let name = || format!("replies.status.{status}.reason.{}", reason.as_str());
        self.count("", status, reason, name);
    }
}
