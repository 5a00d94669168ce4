//! Passive circuit breaker: a pure state machine, encoded to bytes for shared data.

/// Breaker status for one unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerStatus {
    Closed,
    Open,
    HalfOpen,
}

/// Sliding-window counters and state for one unit (to be implemented).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BreakerState {}
