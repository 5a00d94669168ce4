//! The short version of `make drill` (see `src/drill.rs` and `src/drill_apollo.rs`): a few
//! seconds of wrk reads, policy swaps every 100 ms with invalid ones among them, through ECDS
//! (jc's backends killed and restored meanwhile) and through the Apollo stand-in. Nothing may be
//! lost, traffic must move to uc and come back, no invalid release may be served.

use std::sync::Mutex;
use unitgate_envoy::drill::{self, DrillSettings};
use unitgate_envoy::drill_apollo;

/// One drill at a time: each loads the machine on its own.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn drill_smoke_loses_nothing() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let settings = DrillSettings::smoke();
    let report = drill::run(&settings).unwrap();
    println!("{}", report.table());
    assert!(report.load.wrk_requests > 1000, "{report:?}");
    assert!(
        report.swaps >= 10 && report.invalid_pushes >= 1,
        "{report:?}"
    );
    // RSS is only reported here: a few seconds say nothing about growth (`make drill` checks).
    let misses = report.misses(f64::INFINITY);
    assert!(misses.is_empty(), "{misses:?}\n{}", report.table());
}

#[test]
fn drill_smoke_through_apollo_serves_only_valid_releases() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let settings = DrillSettings::smoke();
    let report = drill_apollo::run(&settings).unwrap();
    println!("{}", report.table());
    assert!(report.load.wrk_requests > 1000, "{report:?}");
    assert!(
        report.published_valid >= 40 && report.published_invalid >= 4,
        "{report:?}"
    );
    // More than the first and the last version served: releases landed while wrk read.
    assert!(report.versions_explained > 2, "{report:?}");
    assert!(report.updates > 2 && report.rejected >= 1, "{report:?}");
    let misses = report.misses(f64::INFINITY);
    assert!(misses.is_empty(), "{misses:?}\n{}", report.table());
}
