//! Locking shared state.

use std::sync::{Mutex, MutexGuard};

/// Lock that survives a poisoned mutex (a failed test thread must not cascade).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
