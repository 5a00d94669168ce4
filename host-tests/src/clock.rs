//! The virtual clock: `proxy_get_current_time_nanoseconds` and WASI `clock_time_get` read it;
//! only tests move it (`Host::advance`).

use std::sync::atomic::{AtomicU64, Ordering};

/// 2026-01-01T00:00:00Z, so timestamps look real and are the same on every run.
pub const EPOCH_NS: u64 = 1_767_225_600_000_000_000;

#[derive(Debug)]
pub struct Clock {
    now_ns: AtomicU64,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            now_ns: AtomicU64::new(EPOCH_NS),
        }
    }
}

impl Clock {
    pub fn now_ns(&self) -> u64 {
        self.now_ns.load(Ordering::SeqCst)
    }

    /// Move forward to `ns` (never backwards).
    pub fn set_ns(&self, ns: u64) {
        self.now_ns.fetch_max(ns, Ordering::SeqCst);
    }
}
