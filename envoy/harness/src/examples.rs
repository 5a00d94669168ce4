//! The checked-in deployment examples, generated from the same code the harness runs:
//! `envoy/ecds/` (a file-based ECDS ingress) and `envoy/istio/<cloud>/` (WasmPlugin and
//! routing manifests). `tests/examples_in_sync.rs` fails when the files drift from this code
//! (`UNITGATE_BLESS=1` rewrites them).

use crate::bootstrap::{
    bootstrap, wasm_typed_config, ClusterSpec, FilterSource, IngressSpec, WasmFilter,
};
use crate::plugin_config::{peer_cluster, plugin_config, PluginSettings, CLUSTER_HEADER};
use crate::topology::FILTERS;
use anyhow::Result;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Secret placeholder in examples: replace it, identically in every cloud.
pub const EXAMPLE_SECRET: &str = "REPLACE-with-one-secret-shared-by-all-clouds";

/// (cloud, local unit, peer cloud) of the two-cloud example.
pub const CLOUDS: [(&str, &str, &str); 2] =
    [("ucloud", "uc", "jcloud"), ("jcloud", "jc", "ucloud")];

fn settings() -> PluginSettings {
    PluginSettings {
        secret: EXAMPLE_SECRET.to_string(),
        fail_mode: "closed".to_string(),
        explain: false,
        cluster_header: CLUSTER_HEADER.to_string(),
    }
}

fn yaml(value: &Value) -> Result<String> {
    Ok(serde_yaml_ng::to_string(value)?)
}

fn remote(peer: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(peer.to_string(), peer_cluster(peer))])
}

/// Files of `envoy/ecds/`, relative to that directory. The ingress is ucloud's; paths are
/// relative to the repository root, where Envoy is started.
pub fn ecds_files(policy: &Value) -> Result<Vec<(PathBuf, String)>> {
    let config = plugin_config(policy, "uc", &remote("jcloud"), &settings());
    let filters: Vec<WasmFilter> = FILTERS
        .iter()
        .map(|(name, module)| WasmFilter {
            name: name.to_string(),
            module: PathBuf::from(format!("target/wasm/{module}.wasm")),
            configuration: config.clone(),
            source: FilterSource::Ecds(PathBuf::from(format!("envoy/ecds/{name}.yaml"))),
        })
        .collect();
    let spec = IngressSpec {
        cloud: "ucloud".into(),
        listen_port: 10000,
        admin_port: 9901,
        cluster_header: CLUSTER_HEADER.into(),
        clusters: vec![
            ClusterSpec {
                name: "uc_backend".into(),
                port: 8081,
            },
            ClusterSpec {
                name: peer_cluster("jcloud"),
                port: 10001,
            },
        ],
        filters: filters.clone(),
        access_log: PathBuf::from("/dev/stdout"),
    };
    let mut files = vec![(PathBuf::from("bootstrap.yaml"), yaml(&bootstrap(&spec))?)];
    for filter in &filters {
        files.push((
            PathBuf::from(format!("{}.yaml", filter.name)),
            ecds_yaml(filter)?,
        ));
    }
    Ok(files)
}

/// An ECDS resource file with the plugin configuration as a readable block of JSON.
fn ecds_yaml(filter: &WasmFilter) -> Result<String> {
    let typed = wasm_typed_config(&filter.name, &filter.module, "CONFIGURATION");
    let doc = json!({
        "version_info": "1",
        "resources": [{
            "@type": crate::bootstrap::TYPED_EXTENSION_CONFIG_TYPE,
            "name": filter.name,
            "typed_config": typed,
        }]
    });
    let pretty: Value = serde_json::from_str(&filter.configuration)?;
    let block: String = serde_json::to_string_pretty(&pretty)?
        .lines()
        .map(|l| format!("            {l}\n"))
        .collect();
    let text = yaml(&doc)?;
    Ok(text.replacen("value: CONFIGURATION\n", &format!("value: |\n{block}"), 1))
}

/// Files of `envoy/istio/`, relative to that directory: per cloud, the three WasmPlugins and
/// the routing pieces (clusters + `cluster_header` on the gateway route).
pub fn istio_files(policy: &Value) -> Result<Vec<(PathBuf, String)>> {
    let mut files = Vec::new();
    for (cloud, unit, peer) in CLOUDS {
        let config: Value =
            serde_json::from_str(&plugin_config(policy, unit, &remote(peer), &settings()))?;
        let docs: Vec<String> = wasm_plugins(&config)
            .iter()
            .map(yaml)
            .collect::<Result<_>>()?;
        files.push((
            Path::new(cloud).join("wasmplugins.yaml"),
            docs.join("---\n"),
        ));
        let upstream = policy["units"]
            .as_array()
            .and_then(|units| units.iter().find(|u| u["name"] == unit))
            .and_then(|u| u["upstream"].as_str())
            .unwrap_or_default()
            .to_string();
        let docs: Vec<String> = routing(cloud, unit, &upstream, peer)
            .iter()
            .map(yaml)
            .collect::<Result<_>>()?;
        files.push((Path::new(cloud).join("routing.yaml"), docs.join("---\n")));
    }
    Ok(files)
}

/// The three modules in one phase; higher priority runs first: shard > gray > isolation.
fn wasm_plugins(config: &Value) -> Vec<Value> {
    let modules = [
        ("unitgate-shard-router", "shard-router", 30),
        ("unitgate-gray-release", "gray-release", 20),
        ("unitgate-fault-isolation", "fault-isolation", 10),
    ];
    modules
        .iter()
        .map(|(name, image, priority)| {
            json!({
                "apiVersion": "extensions.istio.io/v1alpha1",
                "kind": "WasmPlugin",
                "metadata": { "name": name, "namespace": "istio-system" },
                "spec": {
                    "selector": { "matchLabels": { "istio": "ingressgateway" } },
                    "url": format!("oci://registry.example.internal/unitgate/{image}:0.1.0"),
                    "imagePullPolicy": "IfNotPresent",
                    "type": "HTTP",
                    // After Istio's authn/authz, before stats: unauthenticated requests are
                    // rejected before any routing work, and stats see the final cluster.
                    "phase": "STATS",
                    "priority": priority,
                    // A module that cannot load must not let traffic through unrouted.
                    "failStrategy": "FAIL_CLOSE",
                    "pluginConfig": config,
                }
            })
        })
        .collect()
}

/// Clusters named like the policy's upstreams, and the gateway route switched to
/// `cluster_header` (VirtualService has no such field, so an EnvoyFilter merges it).
fn routing(cloud: &str, unit: &str, upstream: &str, peer: &str) -> Vec<Value> {
    let cluster = |name: &str, host: &str, port: u16| {
        json!({
            "applyTo": "CLUSTER",
            "match": { "context": "GATEWAY" },
            "patch": {
                "operation": "ADD",
                "value": {
                    "name": name,
                    "type": "STRICT_DNS",
                    "connect_timeout": "1s",
                    "load_assignment": {
                        "cluster_name": name,
                        "endpoints": [{ "lb_endpoints": [{ "endpoint": { "address": {
                            "socket_address": { "address": host, "port_value": port }
                        }}}]}]
                    }
                }
            }
        })
    };
    vec![
        json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "VirtualService",
            "metadata": { "name": "unitgate-ingress", "namespace": "istio-system" },
            "spec": {
                "hosts": ["*"],
                "gateways": ["unitgate-gateway"],
                "http": [{
                    "name": "unitgate",
                    // Replaced by cluster_header below; kept so the route exists.
                    "route": [{ "destination": { "host": format!("orders-{unit}.unitgate.svc.cluster.local") } }]
                }]
            }
        }),
        json!({
            "apiVersion": "networking.istio.io/v1alpha3",
            "kind": "EnvoyFilter",
            "metadata": { "name": "unitgate-routing", "namespace": "istio-system" },
            "spec": {
                "workloadSelector": { "labels": { "istio": "ingressgateway" } },
                "configPatches": [
                    cluster(upstream, &format!("orders-{unit}.unitgate.svc.cluster.local"), 8080),
                    cluster(&peer_cluster(peer), &format!("ingress.{peer}.example.internal"), 80),
                    {
                        "applyTo": "HTTP_ROUTE",
                        "match": {
                            "context": "GATEWAY",
                            "routeConfiguration": { "vhost": { "route": { "name": "unitgate" } } }
                        },
                        "patch": {
                            "operation": "MERGE",
                            "value": { "route": { "cluster_header": CLUSTER_HEADER } }
                        }
                    }
                ]
            }
        }),
    ]
    .into_iter()
    .map(|mut v| {
        v["metadata"]["labels"] = json!({ "unitgate.io/cloud": cloud });
        v
    })
    .collect()
}
