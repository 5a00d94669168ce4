//! Passive circuit breaker: a pure state machine, encoded to bytes for shared data.
//!
//! The window is split into `BUCKETS` time buckets of `window_ms / BUCKETS` each; a bucket is
//! counted while it is younger than the window. The glue keeps one `BreakerState` per unit in
//! proxy-wasm shared data (encode/decode + CAS) and feeds `status()` into `RuntimeState`.
//!
//! It opens on a share of errors over the window (`error_percent` of at least `min_requests`),
//! or, with `consecutive_errors`, on that many errors in a row: a percentage cannot trip until
//! the errors outweigh the successes still in the window, about half a window after a unit dies.

use crate::model::BreakerConfig;

/// Breaker status for one unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerStatus {
    Closed,
    Open,
    HalfOpen,
}

/// Number of time buckets in the sliding window.
pub const BUCKETS: usize = 10;
const FORMAT: u8 = 2;
const ENCODED_LEN: usize = 1 + 1 + 8 + 4 + 4 + BUCKETS * 16;
const BUCKETS_AT: usize = 18;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Bucket {
    /// now_ms / bucket_ms when this bucket was last reset.
    epoch: u64,
    total: u32,
    errors: u32,
}

/// Sliding-window counters and state for one unit. Default = closed, empty window.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BreakerState {
    open: bool,
    /// When it opened (meaningful while `open`).
    opened_at_ms: u64,
    /// Successful probes since half-opening.
    probes: u32,
    /// Errors published in a row since the last published success (while closed).
    streak: u32,
    buckets: [Bucket; BUCKETS],
}

/// Width of one time bucket of the window.
pub fn bucket_ms(cfg: &BreakerConfig) -> u64 {
    (cfg.window_ms / BUCKETS as u64).max(1)
}

impl BreakerState {
    /// Inverse of `encode`; None for bytes that are not a state of this format.
    pub fn decode(bytes: &[u8]) -> Option<BreakerState> {
        if bytes.len() != ENCODED_LEN || bytes.first() != Some(&FORMAT) {
            return None;
        }
        let u64_at = |i: usize| -> Option<u64> {
            Some(u64::from_le_bytes(bytes.get(i..i + 8)?.try_into().ok()?))
        };
        let u32_at = |i: usize| -> Option<u32> {
            Some(u32::from_le_bytes(bytes.get(i..i + 4)?.try_into().ok()?))
        };
        let open = match bytes.get(1)? {
            0 => false,
            1 => true,
            _ => return None,
        };
        let mut s = BreakerState {
            open,
            opened_at_ms: u64_at(2)?,
            probes: u32_at(10)?,
            streak: u32_at(14)?,
            buckets: [Bucket::default(); BUCKETS],
        };
        for (n, b) in s.buckets.iter_mut().enumerate() {
            let at = BUCKETS_AT + n * 16;
            *b = Bucket {
                epoch: u64_at(at)?,
                total: u32_at(at + 8)?,
                errors: u32_at(at + 12)?,
            };
        }
        Some(s)
    }

    /// Fixed-size little-endian bytes for shared data.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(ENCODED_LEN);
        out.push(FORMAT);
        out.push(u8::from(self.open));
        out.extend_from_slice(&self.opened_at_ms.to_le_bytes());
        out.extend_from_slice(&self.probes.to_le_bytes());
        out.extend_from_slice(&self.streak.to_le_bytes());
        for b in &self.buckets {
            out.extend_from_slice(&b.epoch.to_le_bytes());
            out.extend_from_slice(&b.total.to_le_bytes());
            out.extend_from_slice(&b.errors.to_le_bytes());
        }
        out
    }

    /// Open becomes HalfOpen once `open_ms` has passed since it opened.
    pub fn status(&self, cfg: &BreakerConfig, now_ms: u64) -> BreakerStatus {
        if !self.open {
            BreakerStatus::Closed
        } else if now_ms >= self.opened_at_ms.saturating_add(cfg.open_ms) {
            BreakerStatus::HalfOpen
        } else {
            BreakerStatus::Open
        }
    }

    /// Record one response. Closed: count it in the window and open when errors reach
    /// `error_percent` of at least `min_requests` responses, or when it is the
    /// `consecutive_errors`-th error in a row. Half-open: any error reopens,
    /// `half_open_probes` successes close. Open: responses are ignored.
    pub fn record(&mut self, cfg: &BreakerConfig, now_ms: u64, is_error: bool) {
        match self.status(cfg, now_ms) {
            BreakerStatus::Open => {}
            BreakerStatus::HalfOpen => {
                if is_error {
                    self.trip(now_ms);
                } else {
                    self.probes = self.probes.saturating_add(1);
                    if self.probes >= cfg.half_open_probes {
                        *self = BreakerState::default();
                    }
                }
            }
            BreakerStatus::Closed => {
                let (total, errors) = self.count(cfg, now_ms, is_error);
                self.streak = if is_error {
                    self.streak.saturating_add(1)
                } else {
                    0
                };
                let enough = total >= u64::from(cfg.min_requests.max(1));
                // errors/total >= pct/100, in floating point (both are small).
                let share = enough && (errors as f64) * 100.0 >= cfg.error_percent * (total as f64);
                let in_a_row = cfg
                    .consecutive_errors
                    .is_some_and(|n| self.streak >= n.max(1));
                if share || in_a_row {
                    self.trip(now_ms);
                }
            }
        }
    }

    /// Adds `n` successes one worker counted at `at_ms` and publishes late (workers hold
    /// successes back while the breaker is closed). Only while closed, and only if that
    /// bucket is still in the window; successes alone never open a breaker. They came before
    /// the errors published after them, so they end a run of errors.
    pub fn add_successes(&mut self, cfg: &BreakerConfig, at_ms: u64, now_ms: u64, n: u32) {
        let width = bucket_ms(cfg);
        let (epoch, current) = (at_ms / width, now_ms / width);
        if n == 0 || self.status(cfg, now_ms) != BreakerStatus::Closed || epoch > current {
            return;
        }
        self.streak = 0;
        if current - epoch >= BUCKETS as u64 {
            return;
        }
        if let Some(b) = self.buckets.get_mut((epoch % BUCKETS as u64) as usize) {
            if b.epoch != epoch {
                *b = Bucket {
                    epoch,
                    total: 0,
                    errors: 0,
                };
            }
            b.total = b.total.saturating_add(n);
        }
    }

    fn trip(&mut self, now_ms: u64) {
        *self = BreakerState {
            open: true,
            opened_at_ms: now_ms,
            ..BreakerState::default()
        };
    }

    /// Add one response to the current bucket; return (total, errors) over the window.
    fn count(&mut self, cfg: &BreakerConfig, now_ms: u64, is_error: bool) -> (u64, u64) {
        let width = bucket_ms(cfg);
        let epoch = now_ms / width;
        let slot = (epoch % BUCKETS as u64) as usize;
        if let Some(b) = self.buckets.get_mut(slot) {
            if b.epoch != epoch {
                *b = Bucket {
                    epoch,
                    total: 0,
                    errors: 0,
                };
            }
            b.total = b.total.saturating_add(1);
            if is_error {
                b.errors = b.errors.saturating_add(1);
            }
        }
        let oldest = epoch.saturating_sub(BUCKETS as u64 - 1);
        self.buckets
            .iter()
            .filter(|b| b.epoch >= oldest && b.epoch <= epoch)
            .fold((0, 0), |(t, e), b| {
                (t + u64::from(b.total), e + u64::from(b.errors))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> BreakerConfig {
        BreakerConfig {
            window_ms: 10_000,
            min_requests: 4,
            error_percent: 50.0,
            open_ms: 5_000,
            half_open_probes: 2,
            consecutive_errors: None,
        }
    }

    #[test]
    fn errors_in_a_row_open_it_before_the_percentage_would() {
        let c = BreakerConfig {
            consecutive_errors: Some(3),
            ..cfg()
        };
        let mut s = BreakerState::default();
        // A healthy window: 20 successes, so 50% needs 20 errors.
        s.add_successes(&c, 0, 100, 20);
        s.record(&c, 200, true);
        s.record(&c, 201, true);
        s.record(&c, 202, false);
        s.record(&c, 203, true);
        s.record(&c, 204, true);
        assert_eq!(
            s.status(&c, 205),
            BreakerStatus::Closed,
            "a success broke the run"
        );
        // Published late, successes end a run too.
        s.add_successes(&c, 205, 206, 1);
        s.record(&c, 207, true);
        assert_eq!(s.status(&c, 208), BreakerStatus::Closed);
        s.record(&c, 208, true);
        s.record(&c, 209, true);
        assert_eq!(s.status(&c, 210), BreakerStatus::Open, "3 in a row");
        // Without the field, the same run leaves it closed.
        let mut p = BreakerState::default();
        p.add_successes(&cfg(), 0, 100, 20);
        for t in 0..3 {
            p.record(&cfg(), 200 + t, true);
        }
        assert_eq!(p.status(&cfg(), 210), BreakerStatus::Closed);
    }

    #[test]
    fn a_run_survives_encoding_and_half_open_resets_it() {
        let c = BreakerConfig {
            consecutive_errors: Some(2),
            ..cfg()
        };
        let mut s = BreakerState::default();
        s.record(&c, 0, true);
        let mut s = BreakerState::decode(&s.encode()).unwrap_or_default();
        s.record(&c, 1, true);
        assert_eq!(s.status(&c, 2), BreakerStatus::Open);
        // Half-open then closed: a fresh run is needed to open again.
        s.record(&c, 5_001, false);
        s.record(&c, 5_002, false);
        assert_eq!(s.status(&c, 5_003), BreakerStatus::Closed);
        s.record(&c, 5_003, true);
        assert_eq!(s.status(&c, 5_004), BreakerStatus::Closed);
    }

    #[test]
    fn opens_half_opens_and_closes() {
        let c = cfg();
        let mut s = BreakerState::default();
        s.record(&c, 0, true);
        s.record(&c, 1, true);
        s.record(&c, 2, false);
        assert_eq!(s.status(&c, 3), BreakerStatus::Closed, "below min_requests");
        s.record(&c, 3, false);
        assert_eq!(s.status(&c, 3), BreakerStatus::Open, "2 of 4 = 50%");
        s.record(&c, 4, false);
        assert_eq!(s.status(&c, 5002), BreakerStatus::Open);
        assert_eq!(s.status(&c, 5003), BreakerStatus::HalfOpen);
        s.record(&c, 5003, false);
        assert_eq!(s.status(&c, 5004), BreakerStatus::HalfOpen);
        s.record(&c, 5004, false);
        assert_eq!(s.status(&c, 5005), BreakerStatus::Closed);
        assert_eq!(s, BreakerState::default());
    }

    #[test]
    fn late_successes_count_in_their_bucket_while_in_the_window() {
        let c = cfg();
        let mut s = BreakerState::default();
        // 5 successes from 2 s ago, published now: with 4 errors, 4 of 9 < 50% (without
        // them, 4 of 4 would open it).
        s.add_successes(&c, 1000, 3000, 5);
        for i in 0..4 {
            s.record(&c, 3000 + i, true);
        }
        assert_eq!(s.status(&c, 3004), BreakerStatus::Closed);
        // Too old for the window, or from the future: ignored.
        let mut t = BreakerState::default();
        t.add_successes(&c, 0, 20_000, 9);
        t.add_successes(&c, 30_000, 20_000, 9);
        assert_eq!(t, BreakerState::default());
        // Never while open.
        for i in 0..4 {
            t.record(&c, 100 + i, true);
        }
        let open = t.clone();
        t.add_successes(&c, 104, 105, 50);
        assert_eq!(t, open);
    }

    #[test]
    fn half_open_error_reopens() {
        let c = cfg();
        let mut s = BreakerState::default();
        for t in 0..4 {
            s.record(&c, t, true);
        }
        s.record(&c, 6000, true);
        assert_eq!(s.status(&c, 6001), BreakerStatus::Open);
        assert_eq!(s.status(&c, 11_000), BreakerStatus::HalfOpen);
    }

    #[test]
    fn old_errors_leave_the_window() {
        let c = cfg();
        let mut s = BreakerState::default();
        s.record(&c, 0, true);
        s.record(&c, 1, true);
        s.record(&c, 20_000, false);
        s.record(&c, 20_001, false);
        assert_eq!(
            s.status(&c, 20_002),
            BreakerStatus::Closed,
            "0 of 2 in window"
        );
        s.record(&c, 20_002, false);
        s.record(&c, 20_003, true);
        assert_eq!(s.status(&c, 20_004), BreakerStatus::Closed, "1 of 4 = 25%");
    }

    #[test]
    fn encode_round_trips_and_decode_rejects_garbage() {
        let c = cfg();
        let mut s = BreakerState::default();
        for t in 0..7 {
            s.record(&c, t * 1500, t % 2 == 0);
        }
        let bytes = s.encode();
        assert_eq!(bytes.len(), ENCODED_LEN);
        assert_eq!(BreakerState::decode(&bytes), Some(s));
        assert_eq!(BreakerState::decode(&[]), None);
        assert_eq!(BreakerState::decode(&bytes[1..]), None);
        let mut bad = bytes.clone();
        bad[1] = 7;
        assert_eq!(BreakerState::decode(&bad), None);
    }
}
