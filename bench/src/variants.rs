//! The six setups compared, and the Envoy bootstrap of each: the same listener, clusters and
//! HTTP connection manager; only the routes and the HTTP filters differ.

use crate::scenario::{self, CITY_HEADER, CLUSTER_HEADER};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::PathBuf;
use unitgate_envoy::bootstrap::wasm_typed_config;
use unitgate_envoy::locate;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// No filter, one static route: the proxy's own cost.
    NoFilter,
    /// Envoy's route table with a header `range_match` per city range.
    RangeMatch,
    /// The Lua filter `bench/envoy/city-routing.lua`.
    Lua,
    /// `bench/trivial-filter`: read one header, set one header (the cluster of the city).
    Trivial,
    /// The same filter sending everything to `unit_a`: what two clusters cost Envoy.
    TrivialOneCluster,
    /// `unitgate.wasm`: the whole pipeline in one module.
    Unitgate,
    /// shard-router -> gray-release -> fault-isolation.
    Chain,
}

impl Variant {
    pub const ALL: [Variant; 7] = [
        Variant::NoFilter,
        Variant::RangeMatch,
        Variant::Lua,
        Variant::TrivialOneCluster,
        Variant::Trivial,
        Variant::Unitgate,
        Variant::Chain,
    ];

    /// Short name: file names and the plot.
    pub fn name(self) -> &'static str {
        match self {
            Variant::NoFilter => "no-filter",
            Variant::RangeMatch => "range_match",
            Variant::Lua => "lua",
            Variant::Trivial => "trivial-wasm",
            Variant::TrivialOneCluster => "trivial-1-cluster",
            Variant::Unitgate => "unitgate",
            Variant::Chain => "chain-of-3",
        }
    }

    /// What runs, for the report.
    pub fn label(self) -> &'static str {
        match self {
            Variant::NoFilter => "no filter, static route",
            Variant::RangeMatch => "Envoy routes with header `range_match`",
            Variant::Lua => "Lua filter, same routing as the policy",
            Variant::Trivial => "trivial Rust wasm filter (read 1 header, set 1)",
            Variant::TrivialOneCluster => "the same, everything to one cluster",
            Variant::Unitgate => "unitgate.wasm, one module (whole pipeline)",
            Variant::Chain => "shard-router → gray-release → fault-isolation",
        }
    }

    /// Whether it spreads the mix over both units; the others send everything to unit `a`.
    pub fn routes_by_city(self) -> bool {
        !matches!(self, Variant::NoFilter | Variant::TrivialOneCluster)
    }
}

/// Ports and backends of one variant's Envoy.
pub struct Ports {
    pub listen: u16,
    pub admin: u16,
    /// cluster name -> backend port
    pub clusters: Vec<(String, u16)>,
}

/// The wasm modules of the one-module variant and of the chain.
pub const UNITGATE_MODULE: &str = "unitgate";
pub const TRIVIAL_MODULE: &str = "unitgate_bench_trivial";

/// What goes in the filter chain and the route table of `variant`, with `policy` for unitgate.
pub fn bootstrap(variant: Variant, policy: &Value, ports: &Ports) -> Result<Value> {
    let config = scenario::plugin_config(policy);
    let wasm = |name: &str, module: &str| -> Result<Value> {
        let path = locate::wasm_module(module)?;
        Ok(json!({"name": name, "typed_config": wasm_typed_config(name, &path, &config)}))
    };
    let (filters, routes) = match variant {
        Variant::NoFilter => (vec![], vec![to_cluster(json!({"prefix": "/"}), "unit_a")]),
        Variant::RangeMatch => (vec![], range_routes(policy)?),
        Variant::Lua => (vec![lua()?], header_routes()),
        Variant::Trivial | Variant::TrivialOneCluster => {
            let path = locate::wasm_module(TRIVIAL_MODULE)?;
            let mode = match variant {
                Variant::TrivialOneCluster => "one-cluster",
                _ => "",
            };
            let filter = json!({"name": "trivial", "typed_config": wasm_typed_config("trivial", &path, mode)});
            (vec![filter], header_routes())
        }
        Variant::Unitgate => (vec![wasm("unitgate", UNITGATE_MODULE)?], header_routes()),
        Variant::Chain => {
            let chain = locate::MODULES
                .iter()
                .map(|m| wasm(m, m))
                .collect::<Result<Vec<_>>>()?;
            (chain, header_routes())
        }
    };
    Ok(envoy_bootstrap(filters, routes, ports))
}

fn to_cluster(matcher: Value, cluster: &str) -> Value {
    json!({"match": matcher, "route": {"cluster": cluster, "timeout": "5s"}})
}

/// The route a filter steers with the cluster header, then everything else to unit `a`.
fn header_routes() -> Vec<Value> {
    vec![
        json!({
            "match": {"prefix": "/", "headers": [{"name": CLUSTER_HEADER, "present_match": true}]},
            "route": {"cluster_header": CLUSTER_HEADER, "timeout": "5s"}
        }),
        to_cluster(json!({"prefix": "/"}), "unit_a"),
    ]
}

/// What a user writes for pure city ranges: one route per range under /api/ (Envoy's
/// `range_match` end is exclusive), then /api/ without a usable key and every other path to
/// the local and center unit `a`.
fn range_routes(policy: &Value) -> Result<Vec<Value>> {
    let mut routes: Vec<Value> = scenario::city_ranges(policy)?
        .into_iter()
        .map(|(lo, hi, cluster)| {
            let header = json!({"name": CITY_HEADER, "range_match": {"start": lo, "end": hi + 1}});
            to_cluster(json!({"prefix": "/api/", "headers": [header]}), &cluster)
        })
        .collect();
    routes.push(to_cluster(json!({"prefix": "/"}), "unit_a"));
    Ok(routes)
}

fn lua() -> Result<Value> {
    let path: PathBuf = scenario::bench_dir().join("envoy/city-routing.lua");
    let code = std::fs::read_to_string(&path)?;
    Ok(json!({
        "name": "envoy.filters.http.lua",
        "typed_config": {
            "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
            "default_source_code": {"inline_string": code}
        }
    }))
}

fn loopback(port: u16) -> Value {
    json!({"socket_address": {"address": "127.0.0.1", "port_value": port}})
}

fn envoy_bootstrap(mut filters: Vec<Value>, routes: Vec<Value>, ports: &Ports) -> Value {
    filters.push(json!({
        "name": "envoy.filters.http.router",
        "typed_config": {"@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}
    }));
    let clusters: Vec<Value> = ports
        .clusters
        .iter()
        .map(|(name, port)| {
            json!({
                "name": name,
                "type": "STATIC",
                "connect_timeout": "1s",
                "load_assignment": {
                    "cluster_name": name,
                    "endpoints": [{"lb_endpoints": [{"endpoint": {"address": loopback(*port)}}]}]
                }
            })
        })
        .collect();
    json!({
        "admin": {"address": loopback(ports.admin)},
        "static_resources": {
            "listeners": [{
                "name": "ingress",
                "address": loopback(ports.listen),
                // Envoy defaults to SO_REUSEPORT: two Envoys could silently share a port.
                "enable_reuse_port": false,
                "filter_chains": [{"filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "bench",
                        "codec_type": "AUTO",
                        "route_config": {
                            "name": "bench",
                            "virtual_hosts": [{"name": "all", "domains": ["*"], "routes": routes}]
                        },
                        "http_filters": filters
                    }
                }]}]
            }],
            "clusters": clusters
        }
    })
}
