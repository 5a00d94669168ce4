//! Memory a policy costs inside the built module: the VM's linear memory after `on_configure`
//! (it never shrinks, so this is the peak of loading), for 10 and 100,000 mapping entries, as
//! exact values and as ranges. The budget is 64 bytes per entry in each VM.

mod plugin_common;

use plugin_common::*;
use proxy_wasm_test_host::{Host, Profile};
use serde_json::{json, Value};
use std::time::Instant;

/// Bytes of linear memory one mapping entry may add.
const BUDGET_PER_ENTRY: usize = 64;

/// dual-cloud-city whose city rule maps `n` entries, alternating between uc and jc: exact
/// city ids ("100000", "100001", ...) or ten-wide ranges ("0~9", "10~19", ...).
fn policy_with(n: usize, exact: bool) -> Value {
    let entry = |i: usize| {
        if exact {
            format!("{}", 100_000 + i)
        } else {
            format!("{}~{}", i * 10, i * 10 + 9)
        }
    };
    let uc: Vec<String> = (0..n).step_by(2).map(entry).collect();
    let jc: Vec<String> = (1..n).step_by(2).map(entry).collect();
    let mut p = dual_city();
    p["version"] = json!(format!("mem-{n}"));
    let field = if exact { "exact" } else { "ranges" };
    let list = if exact { "values" } else { "ranges" };
    p["rules"][0]["ranges"] = json!([]);
    p["rules"][0][field] = json!([{"unit": "uc", list: uc}, {"unit": "jc", list: jc}]);
    p
}

/// Linear memory of a fresh `unitgate.wasm` VM after it loaded `n` entries, and the time
/// a reload's `on_configure` took (host-tests on wasmtime; indicative only).
fn loaded(n: usize, exact: bool) -> (usize, f64) {
    let host = Host::new(Profile::Envoy);
    let cfg = config(&policy_with(n, exact), "uc", Profile::Envoy);
    let w = start(&host, PIPELINE, &cfg);
    assert!(
        w.log_text().contains(&format!("policy mem-{n} loaded")),
        "{}",
        w.log_text()
    );
    let memory = w.memory_bytes();
    // Timed on a reload: the first load also pays for instantiating the VM.
    let t = Instant::now();
    w.reconfigure(cfg.to_string()).unwrap();
    let ms = t.elapsed().as_secs_f64() * 1e3;
    (memory, ms)
}

fn growth_per_entry(exact: bool) -> usize {
    let (small, small_ms) = loaded(10, exact);
    let (big, big_ms) = loaded(100_000, exact);
    let (mid, mid_ms) = loaded(1_000, exact);
    let per_entry = big.saturating_sub(small) / (100_000 - 10);
    let what = if exact { "exact values" } else { "ranges" };
    eprintln!(
        "{what}: linear memory 10 -> {small} B ({small_ms:.2} ms), 1,000 -> {mid} B \
         ({mid_ms:.2} ms), 100,000 -> {big} B ({big_ms:.1} ms); {per_entry} B per entry"
    );
    per_entry
}

#[test]
fn exact_values_cost_at_most_64_bytes_each() {
    let per_entry = growth_per_entry(true);
    assert!(
        per_entry <= BUDGET_PER_ENTRY,
        "{per_entry} B per exact value"
    );
}

#[test]
fn ranges_cost_at_most_64_bytes_each() {
    let per_entry = growth_per_entry(false);
    assert!(per_entry <= BUDGET_PER_ENTRY, "{per_entry} B per range");
}
