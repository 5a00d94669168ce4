//! The plugin configuration JSON each ingress hands to its module(s): the one-pass module, or
//! each of the three chained modules (same text for all; each reads what it needs). The fields
//! are described in plugins/README.md §1.

use serde_json::{json, Value};
use std::collections::BTreeMap;

pub const CLUSTER_HEADER: &str = "x-unitgate-cluster";
/// Demo/test secret shared by the peers (stamps and tester tokens).
pub const DEMO_SECRET: &str = "unitgate-demo-secret-change-me";

/// Per-deployment plugin settings (everything except local unit and policy).
#[derive(Clone, Debug)]
pub struct PluginSettings {
    pub secret: String,
    /// "open" or "closed".
    pub fail_mode: String,
    /// Adds the `x-unitgate-explain` response header (the modules of one chain add it once).
    pub explain: bool,
    pub cluster_header: String,
}

impl Default for PluginSettings {
    fn default() -> Self {
        Self {
            secret: DEMO_SECRET.to_string(),
            fail_mode: "closed".to_string(),
            explain: true,
            cluster_header: CLUSTER_HEADER.to_string(),
        }
    }
}

/// Name of the cluster an ingress uses to reach `cloud`'s ingress.
pub fn peer_cluster(cloud: &str) -> String {
    format!("peer_{cloud}")
}

/// The configuration JSON text for one ingress.
pub fn plugin_config(
    policy: &Value,
    local_unit: &str,
    remote_upstreams: &BTreeMap<String, String>,
    settings: &PluginSettings,
) -> String {
    json!({
        "local_unit": local_unit,
        "fail_mode": settings.fail_mode,
        "secret": settings.secret,
        "policy": policy,
        "cluster_header": settings.cluster_header,
        "explain": settings.explain,
        "stamp_max_age_ms": 30000,
        "remote_upstreams": remote_upstreams,
    })
    .to_string()
}
