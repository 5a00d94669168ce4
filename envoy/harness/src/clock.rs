//! Wall-clock helpers: milliseconds since the epoch and RFC 3339 UTC timestamps (for
//! write-forbidden windows and tester tokens).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as u64
}

/// "YYYY-MM-DDThh:mm:ssZ" for seconds since the epoch: the core's formatter, so the windows and
/// tokens the harness writes are read back by the same calendar code.
pub fn rfc3339(epoch_s: u64) -> String {
    unitgate_core::time::format_rfc3339_utc(epoch_s.saturating_mul(1000))
}

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_314_645), "2026-11-22T02:30:45Z");
    }
}
