//! Envoy v3 bootstrap (JSON) for one ingress: one listener whose HTTP filter chain is the
//! unitgate wasm modules then the router, a route that picks the cluster from a request header,
//! and static loopback clusters; plus what failover without loss needs (`failover.rs`).
//! Envoy reads JSON with `--config-path <file>.json`.

use crate::failover::{self, FailoverSpec};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub const WASM_FILTER_TYPE: &str = "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm";
pub const TYPED_EXTENSION_CONFIG_TYPE: &str =
    "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig";

/// A static cluster with one loopback endpoint.
#[derive(Clone, Debug)]
pub struct ClusterSpec {
    pub name: String,
    pub port: u16,
}

/// Where a wasm filter's configuration comes from.
#[derive(Clone, Debug)]
pub enum FilterSource {
    /// Inline in the bootstrap.
    Inline,
    /// ECDS: `path_config_source` on this file (replaced atomically by rename to update).
    Ecds(PathBuf),
}

/// One proxy-wasm module in the chain.
#[derive(Clone, Debug)]
pub struct WasmFilter {
    /// Filter (and ECDS resource) name, e.g. "unitgate.shard".
    pub name: String,
    pub module: PathBuf,
    /// Plugin configuration JSON text (the StringValue Envoy hands to on_configure).
    pub configuration: String,
    pub source: FilterSource,
}

/// Everything that differs between two ingresses.
#[derive(Clone, Debug)]
pub struct IngressSpec {
    pub cloud: String,
    pub listen_port: u16,
    pub admin_port: u16,
    /// Request header whose value names the cluster (set by the plugins).
    pub cluster_header: String,
    pub clusters: Vec<ClusterSpec>,
    pub filters: Vec<WasmFilter>,
    pub access_log: PathBuf,
    /// Aggregate clusters, health checks and the failover listener (empty: none).
    pub failover: FailoverSpec,
}

/// `envoy.extensions.filters.http.wasm.v3.Wasm` typed config for one module.
pub fn wasm_typed_config(name: &str, module: &Path, configuration: &str) -> Value {
    json!({
        "@type": WASM_FILTER_TYPE,
        "config": {
            "name": name,
            "root_id": "",
            "vm_config": {
                "vm_id": name,
                "runtime": "envoy.wasm.runtime.v8",
                "code": { "local": { "filename": module.display().to_string() } }
            },
            "configuration": {
                "@type": "type.googleapis.com/google.protobuf.StringValue",
                "value": configuration
            },
            "failure_policy": "FAIL_CLOSED",
            // Let a module that paused on request headers still receive the body (body-key
            // routing). Without it proxy-wasm turns the pause into StopAllIterationAndWatermark
            // and the body callback never runs: the request hangs.
            "allow_on_headers_stop_iteration": true
        }
    })
}

/// The file an ECDS `path_config_source` reads: a DiscoveryResponse with one
/// TypedExtensionConfig whose name is the filter's name.
pub fn ecds_document(filter: &WasmFilter, version: &str) -> Value {
    json!({
        "version_info": version,
        "resources": [{
            "@type": TYPED_EXTENSION_CONFIG_TYPE,
            "name": filter.name,
            "typed_config": wasm_typed_config(&filter.name, &filter.module, &filter.configuration)
        }]
    })
}

fn http_filter(filter: &WasmFilter) -> Value {
    match &filter.source {
        FilterSource::Inline => json!({
            "name": filter.name,
            "typed_config": wasm_typed_config(&filter.name, &filter.module, &filter.configuration)
        }),
        FilterSource::Ecds(path) => json!({
            "name": filter.name,
            "config_discovery": {
                "config_source": {
                    "path_config_source": { "path": path.display().to_string() },
                    "resource_api_version": "V3"
                },
                "type_urls": [WASM_FILTER_TYPE]
            }
        }),
    }
}

fn loopback(port: u16) -> Value {
    json!({ "socket_address": { "address": "127.0.0.1", "port_value": port } })
}

/// A cluster, or the three clusters of a unit that fails over to a peer.
fn clusters(spec: &ClusterSpec, failover: &FailoverSpec) -> Vec<Value> {
    match failover.peer_port(&spec.name) {
        Some(peer) => failover::unit_clusters(&spec.name, spec.port, peer),
        None => vec![failover::plain_cluster(&spec.name, spec.port)],
    }
}

fn listener(name: &str, port: u16, hcm: Value) -> Value {
    json!({
        "name": name,
        "address": loopback(port),
        // Envoy defaults to SO_REUSEPORT: two Envoys could silently share a port.
        "enable_reuse_port": false,
        "filter_chains": [{ "filters": [{
            "name": "envoy.filters.network.http_connection_manager",
            "typed_config": hcm
        }]}]
    })
}

/// The whole bootstrap for one ingress.
pub fn bootstrap(spec: &IngressSpec) -> Value {
    let mut http_filters: Vec<Value> = spec.filters.iter().map(http_filter).collect();
    http_filters.push(json!({
        "name": "envoy.filters.http.router",
        "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" }
    }));
    let hcm = json!({
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": format!("ingress_{}", spec.cloud),
        "codec_type": "AUTO",
        // API classes match the path: hand the module the path a backend will act on.
        // `/a/../b` and `/a/%2e%2e/b` become `/b`, `//` becomes `/`, and an encoded slash
        // (`%2F`, `%5C`) is refused with 400 rather than read one way here and another there.
        "normalize_path": true,
        "merge_slashes": true,
        "path_with_escaped_slashes_action": "REJECT_REQUEST",
        // Each ingress appends itself to `via`, so a backend sees the hops a request took.
        "via": format!("unitgate-{}", spec.cloud),
        "access_log": [{
            "name": "envoy.access_loggers.file",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog",
                "path": spec.access_log.display().to_string()
            }
        }],
        "route_config": {
            "name": "unitgate",
            "virtual_hosts": [{
                "name": "all",
                "domains": ["*"],
                "routes": failover::ingress_routes(&spec.cluster_header)
            }]
        },
        "http_filters": http_filters
    });
    let mut listeners = vec![listener("ingress", spec.listen_port, hcm)];
    if let Some(f) = &spec.failover.listener {
        let hcm = failover::listener_hcm(&spec.cloud, &spec.cluster_header, f);
        listeners.push(listener("failover", f.port, hcm));
    }
    json!({
        "node": { "id": format!("unitgate-{}", spec.cloud), "cluster": "unitgate" },
        "admin": { "address": loopback(spec.admin_port) },
        "static_resources": {
            "listeners": listeners,
            "clusters": spec.clusters.iter().flat_map(|c| clusters(c, &spec.failover)).collect::<Vec<_>>()
        }
    })
}
