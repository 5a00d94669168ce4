//! The Envoy settings that let a unit's backends die without losing an idempotent request.
//!
//! - A unit with a failover unit in a peer cloud gets an aggregate cluster under its upstream
//!   name: priority 0 is `<upstream>.local` (its backends, actively health-checked every
//!   `HEALTH_INTERVAL`), priority 1 is `<upstream>.failover` (the peer ingress's failover
//!   listener). Once the health check marks the backends down, traffic goes to priority 1;
//!   once it marks them up, it comes back.
//! - Before the health check notices, a GET, HEAD or OPTIONS that fails (refused connection,
//!   reset, 5xx) is retried at once on the other priority (`previous_priorities`).
//! - Any other method is retried only when nothing reached the backend (the connection was
//!   refused, or the stream reset before the request was sent): it can never be applied twice.
//! - The peer's failover listener serves only GET, HEAD and OPTIONS, for the units that fail
//!   over to it, from its own local cluster; it answers anything else 503. A write reaches the
//!   failover unit only through unitgate's own failover (breaker, down units), which applies
//!   the policy's windows. Reach that listener from peer ingresses only.

use serde_json::{json, Value};

/// Response header of an answer from a failover listener (the module's breaker reads it).
pub const FAILOVER_HEADER: &str = "x-unitgate-failover";

/// Health-check period of a unit's backends, and how long a check may take.
pub const HEALTH_INTERVAL: &str = "0.2s";
const HEALTH_TIMEOUT: &str = "0.5s";
/// Connect timeout towards a unit's own backends: a dead host must fail fast to be retried.
pub const LOCAL_CONNECT_TIMEOUT: &str = "0.25s";
/// Methods that may be retried on another unit (safe, so idempotent).
pub const IDEMPOTENT_METHODS: &str = "GET|HEAD|OPTIONS";

/// This ingress's side of failover.
#[derive(Clone, Debug, Default)]
pub struct FailoverSpec {
    /// Local unit clusters that fail over to a peer cloud: (upstream name, port of that peer's
    /// failover listener).
    pub outbound: Vec<(String, u16)>,
    /// The listener peers fail over to, if any unit fails over to this cloud.
    pub listener: Option<FailoverListener>,
}

/// A listener for failed-over idempotent requests from peer ingresses.
#[derive(Clone, Debug)]
pub struct FailoverListener {
    pub port: u16,
    /// (a peer unit's upstream name, as the cluster header carries it; the local cluster
    /// that serves it).
    pub routes: Vec<(String, String)>,
}

impl FailoverSpec {
    /// The failover peer port of cluster `name`, if it fails over.
    pub fn peer_port(&self, name: &str) -> Option<u16> {
        self.outbound
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, port)| port)
    }
}

/// `<upstream>.local`: the cluster of a unit's own backends, behind its aggregate.
pub fn local_cluster(upstream: &str) -> String {
    format!("{upstream}.local")
}

fn method_is_idempotent() -> Value {
    json!({ "name": ":method", "string_match": { "safe_regex": { "regex": IDEMPOTENT_METHODS } } })
}

/// Retries for GET, HEAD and OPTIONS: on any failure, once more on another priority (the
/// failover unit) and another host. Once: more would multiply a failing peer's load.
pub fn idempotent_retry() -> Value {
    json!({
        "retry_on": "connect-failure,refused-stream,reset,5xx",
        "num_retries": 1,
        "retry_priority": {
            "name": "envoy.retry_priorities.previous_priorities",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig",
                "update_frequency": 1
            }
        },
        "retry_host_predicate": [{
            "name": "envoy.retry_host_predicates.previous_hosts",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate"
            }
        }],
        "host_selection_retry_max_attempts": 3,
        "retry_back_off": { "base_interval": "0.005s", "max_interval": "0.05s" }
    })
}

/// Retries for every other method: only when the request never reached a backend.
pub fn write_retry() -> Value {
    json!({
        "retry_on": "connect-failure,refused-stream,reset-before-request",
        "num_retries": 1,
        "retry_back_off": { "base_interval": "0.005s", "max_interval": "0.05s" }
    })
}

/// The ingress's routes: the cluster comes from `cluster_header`; idempotent methods and the
/// rest differ only in their retry policy.
pub fn ingress_routes(cluster_header: &str) -> Value {
    json!([
        {
            "match": { "prefix": "/", "headers": [method_is_idempotent()] },
            "route": {
                "cluster_header": cluster_header,
                "timeout": "5s",
                "retry_policy": idempotent_retry()
            }
        },
        {
            "match": { "prefix": "/" },
            "route": { "cluster_header": cluster_header, "timeout": "5s", "retry_policy": write_retry() }
        }
    ])
}

fn loopback(port: u16) -> Value {
    json!({ "socket_address": { "address": "127.0.0.1", "port_value": port } })
}

fn static_cluster(name: &str, port: u16, connect_timeout: &str) -> Value {
    json!({
        "name": name,
        "type": "STATIC",
        "connect_timeout": connect_timeout,
        "load_assignment": {
            "cluster_name": name,
            "endpoints": [{ "lb_endpoints": [{ "endpoint": { "address": loopback(port) } }] }]
        }
    })
}

/// A plain cluster with one loopback endpoint.
pub fn plain_cluster(name: &str, port: u16) -> Value {
    static_cluster(name, port, "1s")
}

/// The three clusters of a unit that fails over: the aggregate under its upstream name, its
/// health-checked backends, and the peer's failover listener.
pub fn unit_clusters(upstream: &str, backend_port: u16, peer_failover_port: u16) -> Vec<Value> {
    let local = local_cluster(upstream);
    let failover = format!("{upstream}.failover");
    let mut backends = static_cluster(&local, backend_port, LOCAL_CONNECT_TIMEOUT);
    backends["health_checks"] = json!([{
        "timeout": HEALTH_TIMEOUT,
        "interval": HEALTH_INTERVAL,
        // Without traffic (all of it failed over) Envoy would check once a minute by default.
        "no_traffic_interval": HEALTH_INTERVAL,
        "unhealthy_threshold": 1,
        "healthy_threshold": 1,
        "http_health_check": { "path": crate::backend::HEALTH_PATH }
    }]);
    vec![
        json!({
            "name": upstream,
            "connect_timeout": LOCAL_CONNECT_TIMEOUT,
            // Envoy allows 3 retries in flight per cluster by default: when a unit dies, every
            // request in flight is retried at once, and the 4th would fail. Let all of them.
            "circuit_breakers": { "thresholds": [{
                "retry_budget": { "budget_percent": { "value": 100.0 }, "min_retry_concurrency": 1024 }
            }] },
            "lb_policy": "CLUSTER_PROVIDED",
            "cluster_type": {
                "name": "envoy.clusters.aggregate",
                "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.clusters.aggregate.v3.ClusterConfig",
                    "clusters": [local, failover]
                }
            }
        }),
        backends,
        plain_cluster(&failover, peer_failover_port),
    ]
}

/// The failover listener's HTTP connection manager: idempotent requests for the units that
/// fail over here go to their local cluster; anything else gets 503.
pub fn listener_hcm(cloud: &str, cluster_header: &str, listener: &FailoverListener) -> Value {
    let mut routes: Vec<Value> = listener
        .routes
        .iter()
        .map(|(peer_upstream, local)| {
            json!({
                "match": {
                    "prefix": "/",
                    "headers": [
                        method_is_idempotent(),
                        { "name": cluster_header, "string_match": { "exact": peer_upstream } }
                    ]
                },
                "route": { "cluster": local, "timeout": "5s" }
            })
        })
        .collect();
    routes.push(json!({
        "match": { "prefix": "/" },
        "direct_response": {
            "status": 503,
            "body": { "inline_string": "{\"error\":\"failover_refused\"}" }
        }
    }));
    json!({
        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
        "stat_prefix": format!("failover_{cloud}"),
        "codec_type": "AUTO",
        "via": format!("unitgate-{cloud}"),
        "route_config": {
            "name": "failover",
            "request_headers_to_remove": [cluster_header, "x-unitgate-ctx"],
            // Tells the module at the peer that its unit's backends failed this request, so
            // its breaker counts it as an error even though the client got an answer.
            "response_headers_to_add": [{
                "header": { "key": FAILOVER_HEADER, "value": cloud },
                "append_action": "OVERWRITE_IF_EXISTS_OR_ADD"
            }],
            "virtual_hosts": [{ "name": "failover", "domains": ["*"], "routes": routes }]
        },
        "http_filters": [{
            "name": "envoy.filters.http.router",
            "typed_config": { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" }
        }]
    })
}
