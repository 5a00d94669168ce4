//! The Envoy comparison for about a second per variant, so `make test` keeps the harness
//! working: every variant must start, route the whole mix as unitgate's core decides, and come
//! through wrk with no failed request. No thresholds: the numbers are not looked at.
//! Needs Envoy (UNITGATE_ENVOY or .venv), wrk, and the modules `make build` writes.

use unitgate_bench::measure::{run, Settings};
use unitgate_bench::variants::Variant;

#[test]
fn every_variant_routes_and_survives_load() {
    let results = run(&Settings::smoke()).expect("smoke run of the Envoy comparison");
    assert_eq!(results.variants.len(), Variant::ALL.len());
    for v in &results.variants {
        assert_eq!(v.samples.len(), 1, "{}", v.variant.name());
        assert!(
            v.median.rps > 0.0 && v.median.rss_bytes > 0,
            "{}",
            v.variant.name()
        );
    }
}
