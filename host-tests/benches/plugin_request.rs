//! Per-request cost of each release module and of the chain, through the host-tests harness
//! (wasmtime), under both host profiles. The probe plugin (a trivial header filter) is the
//! harness baseline. Short measurements: numbers are indicative (see BENCHMARKS.md).

#[path = "../tests/plugin_common/mod.rs"]
mod plugin_common;

use criterion::{criterion_group, criterion_main, Criterion};
use plugin_common::*;
use proxy_wasm_test_host::{Host, Profile};
use serde_json::json;
use std::time::Duration;

fn requests(c: &mut Criterion) {
    // Time the modules as a proxy runs them: without fuel metering (instruction counting).
    std::env::set_var(proxy_wasm_test_host::FUEL_ENV, "0");
    for profile in Profile::ALL {
        let host = Host::new(profile);
        let cfg = config(&dual_city(), "uc", profile);
        let mut g = c.benchmark_group(format!("request/{profile}"));
        g.measurement_time(Duration::from_secs(2))
            .warm_up_time(Duration::from_millis(500))
            .sample_size(30);
        let probe = host
            .module("unitgate_probe_plugin")
            .unwrap()
            .start()
            .unwrap();
        g.bench_function("probe (harness baseline)", |b| {
            b.iter(|| probe.request().path("/x").send().unwrap())
        });
        // A header key, a gray rule that matches, a sticky user.
        let req = Req::get("/api/orders?city_id=42").header("x-user-id", "u16");
        for (m, _) in MODULES {
            let w = start(&host, m, &cfg);
            g.bench_function(m, |b| b.iter(|| req.send(&w)));
        }
        let (chain3, _ws) = chain(&host, &cfg);
        g.bench_function("chain", |b| b.iter(|| req.send_chain(&chain3)));
        // A JSON body key: pause on headers, buffer, decide on the body.
        let cfg = config(&center_units(), "unit-sh", profile);
        let (chain_body, _wb) = chain(&host, &cfg);
        let body = json!({"buyer": {"id": 7000}, "items": [1, 2, 3]}).to_string();
        let post = Req::new("POST", "/trade/orders").body(body);
        g.bench_function("chain, JSON body key", |b| {
            b.iter(|| post.send_chain(&chain_body))
        });
        g.finish();
    }
}

criterion_group!(benches, requests);
criterion_main!(benches);
