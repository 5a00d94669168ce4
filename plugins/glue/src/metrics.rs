//! Counters `unitgate.<module>.<name>`, defined on first use; ids cached per VM.
//!
//! The cache is a short list (units x reasons seen so far), scanned linearly: smaller in the
//! module than a hash map instantiation, and as fast at this size.

use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;
use std::cell::RefCell;
use unitgate_core::Reason;

pub struct Metrics {
    prefix: String,
    ids: RefCell<Vec<(String, u32)>>,
}

impl Metrics {
    pub fn new(module: &str) -> Self {
        Metrics {
            prefix: format!("unitgate.{module}."),
            ids: RefCell::new(Vec::new()),
        }
    }

    /// Adds 1 to `unitgate.<module>.<name>`.
    pub fn incr(&self, name: &str) {
        let full = format!("{}{name}", self.prefix);
        let cached = self
            .ids
            .borrow()
            .iter()
            .find(|(n, _)| *n == full)
            .map(|(_, id)| *id);
        let id = match cached {
            Some(id) => id,
            None => match hostcalls::define_metric(MetricType::Counter, &full) {
                Ok(id) => {
                    self.ids.borrow_mut().push((full, id));
                    id
                }
                Err(_) => return,
            },
        };
        let _ = hostcalls::increment_metric(id, 1);
    }

    pub fn decision(&self, unit: &str, reason: Reason) {
        self.incr(&format!("decisions.unit.{unit}.reason.{}", reason.as_str()));
    }

    pub fn reply(&self, status: u16, reason: Reason) {
        self.incr(&format!(
            "replies.status.{status}.reason.{}",
            reason.as_str()
        ));
    }
}
