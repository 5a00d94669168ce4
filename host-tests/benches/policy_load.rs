//! Policy load time at 10, 1,000 and 100,000 mapping entries (range items): natively with
//! `unitgate_core::load`, and inside the one-module `unitgate.wasm` through its `on_configure`
//! (parse, validate and compile in wasm, plus the harness copying the configuration in).
//! `make bench` puts the results in docs/BENCHMARKS.md.

#[path = "../tests/plugin_common/mod.rs"]
mod plugin_common;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use plugin_common::*;
use proxy_wasm_test_host::{Host, Profile};
use serde_json::{json, Value};
use std::time::Duration;

const SIZES: [usize; 3] = [10, 1_000, 100_000];

/// dual-cloud-city with `n` ten-wide city ranges, alternating between uc and jc.
fn policy_with(n: usize) -> Value {
    let span = |i: usize| format!("{}~{}", i * 10, i * 10 + 9);
    let uc: Vec<String> = (0..n).step_by(2).map(span).collect();
    let jc: Vec<String> = (1..n).step_by(2).map(span).collect();
    let mut p = dual_city();
    p["version"] = json!(format!("load-{n}"));
    p["rules"][0]["ranges"] = json!([{"unit": "uc", "ranges": uc}, {"unit": "jc", "ranges": jc}]);
    p
}

fn load(c: &mut Criterion) {
    // Time the module as a proxy runs it: without fuel metering (instruction counting).
    std::env::set_var(proxy_wasm_test_host::FUEL_ENV, "0");
    let mut g = c.benchmark_group("policy_load");
    g.measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500))
        .sample_size(10);
    let host = Host::new(Profile::Envoy);
    let w = start(&host, PIPELINE, &config(&dual_city(), "uc", Profile::Envoy));
    for n in SIZES {
        let policy = policy_with(n);
        let text = policy.to_string();
        let loaded = unitgate_core::load(&text).expect("policy loads");
        assert!(loaded.policy.version().ends_with(&n.to_string()));
        g.bench_with_input(BenchmarkId::new("core_load", n), &text, |b, t| {
            b.iter(|| unitgate_core::load(t).expect("loads"))
        });
        let cfg = config(&policy, "uc", Profile::Envoy).to_string();
        g.bench_with_input(BenchmarkId::new("wasm_on_configure", n), &cfg, |b, cfg| {
            b.iter(|| w.reconfigure(cfg).expect("configures"))
        });
    }
    g.finish();
}

criterion_group!(benches, load);
criterion_main!(benches);
