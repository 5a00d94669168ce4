//! Helpers shared by the end-to-end tests: start a real two-cloud deployment and compute what
//! the core decides natively, so Envoy's behaviour is compared with the core, not with constants.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use unitgate_core::{decide, Body, Decision, FailMode, Ingress, RequestView, RuntimeState};
use unitgate_envoy::plugin_config::{peer_cluster, DEMO_SECRET};
use unitgate_envoy::{clock, ConfigMode, MultiCloud, Options, Request};

pub const UC: &str = "ucloud";
pub const JC: &str = "jcloud";

pub fn start(label: &str, policy: Value, mode: ConfigMode) -> MultiCloud {
    let mut options = Options::new(label, policy);
    options.mode = mode;
    MultiCloud::start(options).unwrap()
}

/// The core's view of `cloud`'s ingress, mirroring the plugin configuration the harness writes.
pub fn core_ingress(cloud: &str) -> Ingress {
    let (local, peer) = if cloud == UC { ("uc", JC) } else { ("jc", UC) };
    Ingress {
        local_unit: local.to_string(),
        fail_mode: FailMode::Closed,
        secret: DEMO_SECRET.as_bytes().to_vec(),
        stamp_max_age_ms: 30_000,
        remote_upstreams: BTreeMap::from([(peer.to_string(), peer_cluster(peer))]),
        tester_header: unitgate_core::DEFAULT_TESTER_HEADER.to_string(),
    }
}

/// The unit the core routes `req` to when it enters at `cloud` (panics on a local reply).
pub fn core_unit(policy: &Value, cloud: &str, req: &Request) -> String {
    let loaded = unitgate_core::load(&policy.to_string()).unwrap();
    let body = match &req.body {
        Some(body) => Body::Bytes(body.clone().into_bytes()),
        None => Body::Absent,
    };
    let view = RequestView::new(&req.method, &req.path, req.headers.clone()).with_body(body);
    let state = RuntimeState {
        now_ms: clock::now_ms(),
        ..RuntimeState::default()
    };
    match decide(&loaded.policy, &core_ingress(cloud), &view, &state) {
        Decision::Route(route) => route.unit.into_owned(),
        other => panic!("core did not route {req:?}: {other:?}"),
    }
}

/// Value of one counter at `cloud`'s ingress.
pub fn counter(mc: &MultiCloud, cloud: &str, name: &str) -> u64 {
    mc.ingress(cloud).unwrap().envoy.counter(name).unwrap()
}

/// `<module>` in the metrics of the filter that takes the final decision: `pipeline` for the
/// one-pass module, `isolation` for the chain.
pub fn m(mc: &MultiCloud) -> &'static str {
    mc.modules().metrics_name()
}

/// `wasmcustom.unitgate.<module>.decisions.unit.<unit>.reason.<reason>`.
pub fn decisions(mc: &MultiCloud, cloud: &str, module: &str, unit: &str, reason: &str) -> u64 {
    counter(
        mc,
        cloud,
        &format!("wasmcustom.unitgate.{module}.decisions.unit.{unit}.reason.{reason}"),
    )
}

/// The documents of a multi-document YAML file.
pub fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.split("\n---\n")
        .map(|doc| serde_yaml_ng::from_str(doc).unwrap())
        .collect()
}
