//! The Istio manifests of `envoy/istio/<cloud>/`, generated from the demo policy: one WasmPlugin
//! running the one-pass module, and the routing around it (Gateway, VirtualService with a
//! fallback route, ServiceEntry and DestinationRules for the peer ingress and the unit's
//! service, and the EnvoyFilter that strips a client's cluster header before routing and switches the
//! module's route to `cluster_header`). `tests/examples_in_sync.rs` keeps the files equal to
//! this code; `tests/istio_crds.rs` and `tests/istio_gateway.rs` check them.

use crate::examples::{settings, yaml, CLOUDS};
use crate::plugin_config::{plugin_config, CLUSTER_HEADER};
use anyhow::Result;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Namespace of the gateway and of every manifest here.
pub const NAMESPACE: &str = "istio-system";
/// The Gateway the VirtualService binds to (shipped in `gateway.yaml`).
pub const GATEWAY: &str = "unitgate-gateway";
/// Labels of Istio's default ingress gateway deployment.
pub const GATEWAY_LABEL: (&str, &str) = ("istio", "ingressgateway");
/// Names of the VirtualService routes the module steers (reads, then every other method);
/// the EnvoyFilter matches them.
pub const UNITGATE_READS_ROUTE: &str = "unitgate-reads";
pub const UNITGATE_ROUTE: &str = "unitgate";
/// Names of the routes that serve what the module left unrouted (reads, then the rest).
pub const FALLBACK_READS_ROUTE: &str = "fallback-reads";
pub const FALLBACK_ROUTE: &str = "fallback";
/// What a read is retried on, once: any failure, 5xx included (it is safe to send again).
pub const READ_RETRY_ON: &str = "connect-failure,refused-stream,reset,5xx";
/// What any other method is retried on, once: only failures that mean no backend received it.
pub const WRITE_RETRY_ON: &str = "connect-failure,refused-stream";
const HCM: &str = "envoy.filters.network.http_connection_manager";
const HCM_TYPE: &str =
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

/// Port of each unit's service, and of the peer ingress (HTTPS).
pub const SERVICE_PORT: u16 = 8080;
pub const PEER_PORT: u16 = 443;

/// Kubernetes service of a unit's backend in its own cloud.
pub fn unit_host(unit: &str) -> String {
    format!("orders-{unit}.unitgate.svc.cluster.local")
}

/// The peer cloud's ingress, reached over the internet or an interconnect.
pub fn peer_host(cloud: &str) -> String {
    format!("ingress.{cloud}.example.internal")
}

/// Istio's name for the cluster of `host:port` (what `cluster_header` must name).
pub fn istio_cluster(port: u16, host: &str) -> String {
    format!("outbound|{port}||{host}")
}

/// The demo policy as Istio runs it: units' upstreams are Istio's own clusters, and keys come
/// from headers, query or cookies only. A body key needs `allow_on_headers_stop_iteration`,
/// which a WasmPlugin cannot set: the request would wait for ever.
pub fn istio_policy(policy: &Value) -> Value {
    let mut p = policy.clone();
    if let Some(units) = p["units"].as_array_mut() {
        for unit in units {
            let name = unit["name"].as_str().unwrap_or_default().to_string();
            unit["upstream"] = json!(istio_cluster(SERVICE_PORT, &unit_host(&name)));
        }
    }
    if let Some(keys) = p["keys"].as_array_mut() {
        for key in keys {
            if let Some(sources) = key["sources"].as_array_mut() {
                sources.retain(|s| s.get("body").is_none());
            }
        }
    }
    p
}

/// The plugin configuration of `cloud`'s gateway.
pub fn istio_plugin_config(policy: &Value, unit: &str, peer: &str) -> Result<Value> {
    let remote = BTreeMap::from([(peer.to_string(), istio_cluster(PEER_PORT, &peer_host(peer)))]);
    Ok(serde_json::from_str(&plugin_config(
        &istio_policy(policy),
        unit,
        &remote,
        &settings(),
    ))?)
}

/// Files of `envoy/istio/`, relative to that directory.
pub fn istio_files(policy: &Value) -> Result<Vec<(PathBuf, String)>> {
    let mut files = Vec::new();
    for (cloud, unit, peer) in CLOUDS {
        let config = istio_plugin_config(policy, unit, peer)?;
        let sets = [
            ("wasmplugin.yaml", vec![wasm_plugin(&config)]),
            ("gateway.yaml", vec![gateway(), virtual_service(unit, peer)]),
            ("destinations.yaml", destinations(unit, peer)),
            ("routing.yaml", vec![envoy_filter()]),
        ];
        for (file, docs) in sets {
            let docs: Vec<String> = docs
                .into_iter()
                .map(|mut d| {
                    d["metadata"]["namespace"] = json!(NAMESPACE);
                    d["metadata"]["labels"] = json!({ "unitgate.io/cloud": cloud });
                    yaml(&d)
                })
                .collect::<Result<_>>()?;
            files.push((Path::new(cloud).join(file), docs.join("---\n")));
        }
    }
    Ok(files)
}

fn selector() -> Value {
    json!({ (GATEWAY_LABEL.0): GATEWAY_LABEL.1 })
}

/// One WasmPlugin: the whole pipeline in one VM.
fn wasm_plugin(config: &Value) -> Value {
    json!({
        "apiVersion": "extensions.istio.io/v1alpha1",
        "kind": "WasmPlugin",
        "metadata": { "name": "unitgate" },
        "spec": {
            "selector": { "matchLabels": selector() },
            "url": "oci://registry.example.internal/unitgate/unitgate:0.1.0",
            "imagePullPolicy": "IfNotPresent",
            "type": "HTTP",
            // After Istio's authn/authz: unauthenticated requests are refused before routing.
            "phase": "STATS",
            // A module that cannot load must not let traffic through unrouted.
            "failStrategy": "FAIL_CLOSE",
            "pluginConfig": config,
        }
    })
}

/// HTTPS on 443 for clients and for the peer cloud's ingress.
fn gateway() -> Value {
    json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "Gateway",
        "metadata": { "name": GATEWAY },
        "spec": {
            "selector": selector(),
            "servers": [{
                "port": { "number": PEER_PORT, "name": "https", "protocol": "HTTPS" },
                "hosts": ["*"],
                "tls": { "mode": "SIMPLE", "credentialName": "unitgate-ingress-cert" }
            }]
        }
    })
}

/// One VirtualService route: its conditions (none: everything), destination and retries.
fn http_route(name: &str, when: Value, host: &str, port: u16, read: bool) -> Value {
    let retries = if read {
        // `retryRemoteLocalities`: the retry may go to another locality of the destination
        // (Envoy's previous_priorities), as the harness's failover retries do.
        json!({ "attempts": 1, "retryOn": READ_RETRY_ON, "retryRemoteLocalities": true })
    } else {
        // Explicit, because Istio's default retries a 503 (`retriable-status-codes`), even
        // when a backend applied the write before answering it.
        json!({ "attempts": 1, "retryOn": WRITE_RETRY_ON })
    };
    let mut route = json!({
        "name": name,
        "route": [{ "destination": { "host": host, "port": { "number": port } } }],
        "retries": retries
    });
    if !when.is_null() {
        route["match"] = json!([when]);
    }
    route
}

/// Four routes, reads first, each with its retries: `unitgate-reads` and `unitgate` when the
/// module set the cluster header (the EnvoyFilter turns their destination into
/// `cluster_header`), `fallback-reads` and `fallback` to the local unit for everything else.
fn virtual_service(unit: &str, peer: &str) -> Value {
    let routed = json!({ CLUSTER_HEADER: { "regex": ".+" } });
    let reads = json!({ "regex": crate::failover::IDEMPOTENT_METHODS });
    // The module's routes name the peer: cluster_header replaces it, and naming it keeps the
    // peer's cluster on the gateway even when Istio pushes only the clusters routes refer to.
    let (peer, unit) = (peer_host(peer), unit_host(unit));
    json!({
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": { "name": "unitgate-ingress" },
        "spec": {
            "hosts": ["*"],
            "gateways": [GATEWAY],
            "http": [
                http_route(UNITGATE_READS_ROUTE, json!({ "headers": routed.clone(), "method": reads.clone() }), &peer, PEER_PORT, true),
                http_route(UNITGATE_ROUTE, json!({ "headers": routed }), &peer, PEER_PORT, false),
                http_route(FALLBACK_READS_ROUTE, json!({ "method": reads }), &unit, SERVICE_PORT, true),
                http_route(FALLBACK_ROUTE, Value::Null, &unit, SERVICE_PORT, false),
            ]
        }
    })
}

/// Retries in flight per cluster. Plain Envoy allows 3 by default: when a unit dies, every
/// request in flight retries at once, and the 4th would fail. Set, not left to the default.
pub const MAX_RETRIES: u32 = 1024;

fn outlier_detection() -> Value {
    json!({ "consecutive5xxErrors": 5, "interval": "5s", "baseEjectionTime": "30s" })
}

/// The unit's own endpoints: Istio has no active health check, so a dead or failing pod is
/// ejected on its first gateway error (refused connection, 502, 503, 504), checked every
/// second and back after 10 s; and a dead host must fail fast for its reads to be retried.
fn unit_traffic_policy() -> Value {
    json!({
        "tls": { "mode": "ISTIO_MUTUAL" },
        "connectionPool": {
            "tcp": { "connectTimeout": "250ms" },
            "http": { "maxRetries": MAX_RETRIES }
        },
        "outlierDetection": {
            "consecutiveGatewayErrors": 1,
            "consecutive5xxErrors": 5,
            "interval": "1s",
            "baseEjectionTime": "10s",
            "maxEjectionPercent": 100
        }
    })
}

/// The peer ingress as a ServiceEntry (TLS origination, outlier detection) and the unit's
/// service with Istio mutual TLS: Istio's own clusters, so mesh policy applies to both.
fn destinations(unit: &str, peer: &str) -> Vec<Value> {
    let peer = peer_host(peer);
    vec![
        json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "ServiceEntry",
            "metadata": { "name": "unitgate-peer-ingress" },
            "spec": {
                "hosts": [peer],
                "location": "MESH_EXTERNAL",
                "resolution": "DNS",
                // HTTP on the Istio side; the DestinationRule originates TLS on 443.
                "ports": [{ "number": PEER_PORT, "name": "http-peer", "protocol": "HTTP" }]
            }
        }),
        json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "DestinationRule",
            "metadata": { "name": "unitgate-peer-ingress" },
            "spec": {
                "host": peer,
                "trafficPolicy": {
                    "tls": { "mode": "SIMPLE", "sni": peer },
                    "connectionPool": { "http": { "maxRetries": MAX_RETRIES } },
                    "outlierDetection": outlier_detection()
                }
            }
        }),
        json!({
            "apiVersion": "networking.istio.io/v1",
            "kind": "DestinationRule",
            "metadata": { "name": format!("unitgate-{unit}") },
            "spec": {
                "host": unit_host(unit),
                "trafficPolicy": unit_traffic_policy()
            }
        }),
    ]
}

/// (1) In the gateway's HTTP connection manager, before any route is picked and before any
/// filter runs: remove a client-sent cluster header, so until the module has loaded no client
/// can pick a cluster. (2) The `unitgate-reads` and `unitgate` routes take their cluster from
/// the header the module sets.
fn envoy_filter() -> Value {
    let route_patch = |route: &str| {
        json!({
            "applyTo": "HTTP_ROUTE",
            "match": {
                "context": "GATEWAY",
                "routeConfiguration": { "vhost": { "route": { "name": route } } }
            },
            "patch": {
                "operation": "MERGE",
                "value": { "route": { "cluster_header": CLUSTER_HEADER } }
            }
        })
    };
    json!({
        "apiVersion": "networking.istio.io/v1alpha3",
        "kind": "EnvoyFilter",
        "metadata": { "name": "unitgate-routing" },
        "spec": {
            "workloadSelector": { "labels": selector() },
            "configPatches": [
                {
                    "applyTo": "NETWORK_FILTER",
                    "match": {
                        "context": "GATEWAY",
                        "listener": { "filterChain": { "filter": { "name": HCM } } }
                    },
                    "patch": {
                        "operation": "MERGE",
                        "value": { "typed_config": {
                            "@type": HCM_TYPE,
                            "early_header_mutation_extensions": [strip_cluster_header()]
                        }}
                    }
                },
                route_patch(UNITGATE_READS_ROUTE),
                route_patch(UNITGATE_ROUTE)
            ]
        }
    })
}

/// Envoy's early header mutation, removing the cluster header. It runs before Envoy picks a
/// route: an HTTP filter would run too late (the route is picked when the headers arrive, and
/// removing a header does not pick it again), as `tests/istio_gateway.rs` shows.
pub fn strip_cluster_header() -> Value {
    json!({
        "name": "envoy.http.early_header_mutation.header_mutation",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.http.early_header_mutation.header_mutation.v3.HeaderMutation",
            "mutations": [{ "remove": CLUSTER_HEADER }]
        }
    })
}
