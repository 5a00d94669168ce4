//! The demo policy (envoy/policies/dual-cloud-demo.json) and the live edits the demo and tests
//! apply to it: gray percentage, write-forbidden windows, version bumps.

use serde_json::{json, Value};

/// Units "uc" (ucloud, center) and "jc" (jcloud); city ranges 1~299 -> uc, 300~999 -> jc;
/// gray rule for city 21 (sticky by user); failover jc -> uc; a quick breaker.
pub const DEMO_POLICY: &str = include_str!("../../policies/dual-cloud-demo.json");

/// The city of the demo's gray rule.
pub const GRAY_CITY: &str = "21";

pub fn demo_policy() -> Value {
    serde_json::from_str(DEMO_POLICY).unwrap_or(Value::Null)
}

pub fn with_version(policy: &Value, version: &str) -> Value {
    let mut p = policy.clone();
    p["version"] = json!(version);
    p
}

/// Sets the percent of every gray rule.
pub fn with_gray_percent(policy: &Value, percent: f64) -> Value {
    let mut p = with_version(policy, &format!("demo-gray-{percent}"));
    if let Some(rules) = p["gray"].as_array_mut() {
        for rule in rules {
            rule["percent"] = json!(percent);
        }
    }
    p
}

/// Adds a write-forbidden window for `units` until `until_epoch_s`.
pub fn with_write_forbidden(
    policy: &Value,
    name: &str,
    units: &[&str],
    until_epoch_s: u64,
) -> Value {
    let mut p = with_version(policy, &format!("demo-cutover-{name}"));
    let window = json!({
        "name": name,
        "units": units,
        "until": crate::clock::rfc3339(until_epoch_s),
    });
    match p["isolation"]["write_forbidden"].as_array_mut() {
        Some(list) => list.push(window),
        None => p["isolation"]["write_forbidden"] = json!([window]),
    }
    p
}
