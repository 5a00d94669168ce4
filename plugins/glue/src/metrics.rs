//! Counters `unitgate.<module>.<name>`, defined on first use; ids cached per VM.

use proxy_wasm::hostcalls;
use proxy_wasm::types::MetricType;
use std::cell::RefCell;
use std::collections::HashMap;
use unitgate_core::Reason;

pub struct Metrics {
    prefix: String,
    ids: RefCell<HashMap<String, u32>>,
}

impl Metrics {
    pub fn new(module: &str) -> Self {
        Metrics {
            prefix: format!("unitgate.{module}."),
            ids: RefCell::new(HashMap::new()),
        }
    }

    /// Adds 1 to `unitgate.<module>.<name>`.
    pub fn incr(&self, name: &str) {
        let full = format!("{}{name}", self.prefix);
        let cached = self.ids.borrow().get(&full).copied();
        let id = match cached {
            Some(id) => id,
            None => match hostcalls::define_metric(MetricType::Counter, &full) {
                Ok(id) => {
                    self.ids.borrow_mut().insert(full, id);
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
