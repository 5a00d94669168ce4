//! The three per-concern modules chained (shard-router -> gray-release -> fault-isolation, three
//! filters, three VMs) reach the same decisions as the one-pass module, in real Envoy: the same
//! requests, sent to a chained deployment and to a one-module deployment of the same policy,
//! are served by the same unit with the same explained reason, or get the same local reply.

mod common;

use common::*;
use unitgate_envoy::policies::{self, GRAY_CITY};
use unitgate_envoy::{clock, ConfigMode, Modules, MultiCloud, Options, Reply, Request};

fn start_with(label: &str, policy: &serde_json::Value, modules: Modules) -> MultiCloud {
    let mut options = Options::new(label, policy.clone());
    options.mode = ConfigMode::Inline;
    options.modules = modules;
    MultiCloud::start(options).unwrap()
}

/// What a client can observe of a decision: status, serving unit, the explained unit and
/// reason of each ingress passed, and the error of a local reply.
fn outcome(
    r: &Reply,
) -> (
    u16,
    Option<String>,
    Vec<String>,
    Vec<String>,
    Option<String>,
) {
    let error = r
        .served_by()
        .is_none()
        .then(|| r.json().and_then(|j| j["error"].as_str().map(String::from)))
        .flatten();
    (
        r.status,
        r.served_by(),
        r.explain_all("unit"),
        r.explain_all("reason"),
        error,
    )
}

#[test]
fn chain_and_one_module_reach_the_same_decisions() {
    // Gray at 30% and a write-forbidden window on jc, so every stage has work to do.
    let until = clock::now_ms() / 1000 + 600;
    let policy = policies::with_write_forbidden(
        &policies::with_gray_percent(&policies::demo_policy(), 30.0),
        "jc-cutover",
        &["jc"],
        until,
    );
    let chain = start_with("e2e-chain", &policy, Modules::Chain);
    let one = start_with("e2e-one", &policy, Modules::Pipeline);

    let mut requests = vec![
        Request::get("/api/orders/1").city("7"),
        Request::get("/api/orders/2").city("720"),
        Request::get("/api/orders/3?city_id=450"),
        Request::get("/api/config"),
        Request::get("/api/catalog/1"),
        Request::post("/api/catalog/1", "{}"),
        Request::get("/api/orders/4"),
        Request::post("/api/orders", r#"{"city_id":720}"#),
        Request::post("/api/orders", "{}").city("7"),
        Request::get("/api/orders/5")
            .city("7")
            .header("x-unitgate-cluster", "jc_backend"),
    ];
    requests.extend((0..20).map(|i| {
        Request::get("/api/orders/6")
            .city(GRAY_CITY)
            .user(&format!("user{i}"))
    }));

    let mut reasons = std::collections::BTreeSet::new();
    for req in &requests {
        for cloud in [UC, JC] {
            let reply = chain.send(cloud, req).unwrap();
            if let Some(seen) = reply.json() {
                // The chain's handoff stops at its last module, the stamp at the peer ingress.
                for internal in ["x-unitgate-hop", "x-unitgate-ctx"] {
                    assert!(
                        seen["headers"].get(internal).is_none(),
                        "{cloud} {req:?}: a backend saw {internal}"
                    );
                }
            }
            let a = outcome(&reply);
            let b = outcome(&one.send(cloud, req).unwrap());
            assert_eq!(a, b, "{cloud} {req:?}: chain vs one module");
            reasons.extend(a.3.clone());
            reasons.extend(a.4.clone());
        }
    }
    // The sample exercised routing, forwarding, gray and a local reply.
    for reason in ["key_range", "forwarded", "gray", "write_forbidden"] {
        assert!(reasons.contains(reason), "{reason} not seen: {reasons:?}");
    }

    // Each chained module counts its own stage; the one module counts under `pipeline`.
    for module in ["shard", "gray", "isolation"] {
        let prefix = format!("wasmcustom.unitgate.{module}.decisions.");
        let stats = chain.ingress(UC).unwrap().envoy.unitgate_stats().unwrap();
        assert!(stats.keys().any(|k| k.starts_with(&prefix)), "{stats:?}");
    }
    let stats = one.ingress(UC).unwrap().envoy.unitgate_stats().unwrap();
    assert!(
        stats
            .keys()
            .all(|k| k.starts_with("wasmcustom.unitgate.pipeline.")),
        "{stats:?}"
    );
}
