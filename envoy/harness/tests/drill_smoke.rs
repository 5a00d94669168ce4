//! The short version of `make drill` (see `src/drill.rs`): a few seconds of wrk reads, policy
//! swaps every 100 ms through ECDS with invalid ones among them, and jc's backends killed and
//! restored. Nothing may be lost, traffic must move to uc and come back.

use unitgate_envoy::drill::{self, DrillSettings};

#[test]
fn drill_smoke_loses_nothing() {
    let settings = DrillSettings::smoke();
    let report = drill::run(&settings).unwrap();
    println!("{}", report.table());
    assert!(report.wrk_requests > 1000, "{report:?}");
    assert!(
        report.swaps >= 10 && report.invalid_pushes >= 1,
        "{report:?}"
    );
    // RSS is only reported here: a few seconds say nothing about growth (`make drill` checks).
    let misses = report.misses(f64::INFINITY);
    assert!(misses.is_empty(), "{misses:?}\n{}", report.table());
}
