//! Helpers shared by the nginx end-to-end tests: two clouds behind real nginx with the parity
//! scenario's policy, what the core decides natively (so nginx is compared with the core, not
//! with constants), and what a backend saw.
#![allow(dead_code)]

use serde_json::Value;
use unitgate_envoy::plugin_config::PluginSettings;
use unitgate_envoy::{clock, Reply, Request};
use unitgate_nginx::scenario::{self, core_decision, Expect};
use unitgate_nginx::{Clouds, Options};

pub const UC: &str = "ucloud";
pub const JC: &str = "jcloud";

/// The parity scenario's policy: city from header, query, cookie, path segment 2 or JSON body.
pub fn policy() -> Value {
    scenario::load("parity").unwrap().policy
}

pub fn secret() -> String {
    scenario::load("parity").unwrap().secret
}

pub fn settings() -> PluginSettings {
    PluginSettings {
        secret: secret(),
        fail_mode: "closed".to_string(),
        explain: true,
        ..PluginSettings::default()
    }
}

/// Both clouds behind nginx, with `policy`.
pub fn start(label: &str, policy: Value) -> Clouds {
    let mut options = Options::new(label, policy);
    options.settings = settings();
    Clouds::start(options).unwrap()
}

/// The core's decision for `req` entering at `cloud`, now.
pub fn core(policy: &Value, cloud: &str, req: &Request) -> Expect {
    core_decision(policy, &secret(), cloud, req, clock::now_ms()).unwrap()
}

/// The core's unit for `req` (panics on a local reply).
pub fn core_unit(policy: &Value, cloud: &str, req: &Request) -> String {
    let e = core(policy, cloud, req);
    match e.unit {
        Some(unit) => unit,
        None => panic!(
            "core replies {}/{} to {req:?}",
            e.status.unwrap_or(0),
            e.reason
        ),
    }
}

/// The request headers the backend received (its JSON echo), and the unit it belongs to.
pub fn backend_saw(r: &Reply) -> Value {
    let json = r
        .json()
        .unwrap_or_else(|| panic!("not a backend answer: {} {}", r.status, r.body));
    json["headers"].clone()
}

/// Asserts that no internal unitgate header reached the backend that answered `r`.
pub fn assert_no_internal_headers(r: &Reply, what: &str) {
    let seen = backend_saw(r);
    for name in ["x-unitgate-ctx", "x-unitgate-cluster"] {
        assert!(
            seen.get(name).is_none(),
            "{what}: backend received {name}: {seen}"
        );
    }
}
