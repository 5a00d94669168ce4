//! The Istio routing of envoy/istio/ucloud/, in real Envoy: the gateway configuration Istio
//! would generate from the shipped VirtualService (a route per http entry, clusters named
//! `outbound|port||host`), with the shipped EnvoyFilter's patches applied to it, passes
//! `envoy --mode validate`, and when run:
//! - before the module has loaded (no wasm filter yet), a client-sent cluster header picks no
//!   cluster: the request takes the fallback route. Without the strip patch it would pick any;
//! - with the module (the WasmPlugin's configuration, and no `allow_on_headers_stop_iteration`,
//!   which a WasmPlugin cannot set), the `unitgate` routes follow the module's choice;
//! - with one of the unit's two endpoints answering 503, every read is answered (retried on the
//!   other endpoint), and every write reaches one endpoint exactly once (never retried once sent).
//!
//! Loopback stands in for the cluster: plaintext backends instead of mTLS and DNS, and the jc
//! backend instead of jcloud's ingress.

mod common;

use common::yaml_docs;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;
use unitgate_envoy::backend::Backend;
use unitgate_envoy::bootstrap::wasm_typed_config;
use unitgate_envoy::envoy::Envoy;
use unitgate_envoy::{istio, locate, ports, Client, Request};

const ROUTER: &str = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";

fn docs(file: &str) -> Vec<Value> {
    yaml_docs(
        &locate::workspace_root()
            .join("envoy/istio/ucloud")
            .join(file),
    )
}

fn doc(file: &str, kind: &str) -> Value {
    docs(file).into_iter().find(|d| d["kind"] == kind).unwrap()
}

fn regex_match(name: &str, m: &Value) -> Value {
    let regex = m["regex"].as_str().expect("only regex matches");
    json!({ "name": name, "string_match": { "safe_regex": { "regex": regex } } })
}

/// The Envoy route Istio makes of one VirtualService http entry (the subset we use: header
/// and method regex matches, one destination, retries).
fn route(http: &Value) -> Value {
    let when = &http["match"][0];
    let mut headers: Vec<Value> = when["headers"]
        .as_object()
        .map(|h| h.iter().map(|(name, m)| regex_match(name, m)).collect())
        .unwrap_or_default();
    if when["method"].is_object() {
        headers.push(regex_match(":method", &when["method"]));
    }
    let dest = &http["route"][0]["destination"];
    let cluster = istio::istio_cluster(
        dest["port"]["number"].as_u64().unwrap() as u16,
        dest["host"].as_str().unwrap(),
    );
    let retries = &http["retries"];
    let mut retry_policy = json!({
        "retry_on": retries["retryOn"],
        "num_retries": retries["attempts"],
        "retry_host_predicate": [{
            "name": "envoy.retry_host_predicates.previous_hosts",
            "typed_config": { "@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate" }
        }],
        "host_selection_retry_max_attempts": 5
    });
    if retries["retryRemoteLocalities"] == true {
        retry_policy["retry_priority"] = json!({
            "name": "envoy.retry_priorities.previous_priorities",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig",
                "update_frequency": 2
            }
        });
    }
    json!({
        "name": http["name"],
        "match": { "prefix": "/", "headers": headers },
        "route": { "cluster": cluster, "timeout": "5s", "retry_policy": retry_policy }
    })
}

/// Proto merge of `patch` into `target`: messages merge field by field, lists append, scalars
/// replace; setting one member of the route's cluster oneof clears the others.
fn merge(target: &mut Value, patch: &Value) {
    const CLUSTER_ONEOF: [&str; 3] = ["cluster", "cluster_header", "weighted_clusters"];
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (key, value) in p {
                if CLUSTER_ONEOF.contains(&key.as_str()) {
                    t.retain(|k, _| !CLUSTER_ONEOF.contains(&k.as_str()));
                }
                merge(t.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (Value::Array(t), Value::Array(p)) => t.extend(p.iter().cloned()),
        (t, p) => *t = p.clone(),
    }
}

/// Applies an EnvoyFilter's patches to a gateway bootstrap, failing on any patch it does not
/// model and on a patch that matched nothing.
fn apply(bootstrap: &mut Value, envoy_filter: &Value, strip: bool) {
    let hcm_filter =
        &mut bootstrap["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0];
    for patch in envoy_filter["spec"]["configPatches"].as_array().unwrap() {
        assert_eq!(patch["match"]["context"], "GATEWAY");
        let value = &patch["patch"]["value"];
        match (
            patch["applyTo"].as_str().unwrap(),
            patch["patch"]["operation"].as_str().unwrap(),
        ) {
            ("NETWORK_FILTER", "MERGE") => {
                let on = &patch["match"]["listener"]["filterChain"]["filter"]["name"];
                assert_eq!(*on, hcm_filter["name"]);
                if strip {
                    merge(hcm_filter, value);
                }
            }
            ("HTTP_ROUTE", "MERGE") => {
                let name = &patch["match"]["routeConfiguration"]["vhost"]["route"]["name"];
                let mut matched = 0;
                let vhosts = &mut hcm_filter["typed_config"]["route_config"]["virtual_hosts"];
                for vhost in vhosts.as_array_mut().unwrap() {
                    for route in vhost["routes"].as_array_mut().unwrap() {
                        if route["name"] == *name {
                            merge(route, value);
                            matched += 1;
                        }
                    }
                }
                assert_eq!(matched, 1, "route {name}");
            }
            other => panic!("patch {other:?} is not modelled here"),
        }
    }
}

/// ucloud's gateway as Istio would configure it: listener, the VirtualService's routes, a
/// cluster per destination, and the module when it has loaded; then the EnvoyFilter's patches.
fn gateway(ports: (u16, u16), backends: &[(&str, u16)], module: bool, strip: bool) -> Value {
    let vs = doc("gateway.yaml", "VirtualService");
    let routes: Vec<Value> = vs["spec"]["http"]
        .as_array()
        .unwrap()
        .iter()
        .map(route)
        .collect();
    let mut filters = Vec::new();
    if module {
        let plugin = doc("wasmplugin.yaml", "WasmPlugin");
        let config = plugin["spec"]["pluginConfig"].to_string();
        let module = locate::wasm_module(locate::PIPELINE_MODULE).unwrap();
        let mut wasm = wasm_typed_config("unitgate", &module, &config);
        // A WasmPlugin has no field for it: Istio leaves it off.
        wasm["config"]
            .as_object_mut()
            .unwrap()
            .remove("allow_on_headers_stop_iteration");
        filters.push(json!({ "name": "unitgate", "typed_config": wasm }));
    }
    filters
        .push(json!({ "name": "envoy.filters.http.router", "typed_config": { "@type": ROUTER } }));
    let names: BTreeSet<&str> = routes
        .iter()
        .map(|r| r["route"]["cluster"].as_str().unwrap())
        .collect();
    let clusters: Vec<Value> = names
        .into_iter()
        .map(|name| {
            // One endpoint per backend listed under the cluster's name.
            let endpoints: Vec<Value> = backends
                .iter()
                .filter(|(c, _)| *c == name)
                .map(|(_, port)| json!({ "endpoint": { "address": { "socket_address": {
                    "address": "127.0.0.1", "port_value": port } } } }))
                .collect();
            assert!(!endpoints.is_empty(), "no backend for {name}");
            json!({
                "name": name, "type": "STATIC", "connect_timeout": "1s",
                "load_assignment": { "cluster_name": name, "endpoints": [{ "lb_endpoints": endpoints }] }
            })
        })
        .collect();
    let loopback =
        |port: u16| json!({ "socket_address": { "address": "127.0.0.1", "port_value": port } });
    let mut bootstrap = json!({
        "admin": { "address": loopback(ports.1) },
        "static_resources": {
            "listeners": [{
                "name": "gateway",
                "address": loopback(ports.0),
                "enable_reuse_port": false,
                "filter_chains": [{ "filters": [{
                    "name": "envoy.filters.network.http_connection_manager",
                    "typed_config": {
                        "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                        "stat_prefix": "gateway",
                        "route_config": { "name": "gateway", "virtual_hosts": [{
                            "name": "all", "domains": ["*"], "routes": routes }] },
                        "http_filters": filters
                    }
                }]}]
            }],
            "clusters": clusters
        }
    });
    apply(&mut bootstrap, &doc("routing.yaml", "EnvoyFilter"), strip);
    bootstrap
}

fn validate(config: &Value, dir: &Path, name: &str) {
    let path = dir.join(format!("{name}.validate.json"));
    std::fs::write(&path, serde_json::to_string_pretty(config).unwrap()).unwrap();
    let out = std::process::Command::new(locate::envoy_binary().unwrap())
        .args(["--mode", "validate", "--config-path"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: envoy --mode validate failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn served(envoy: &Envoy, req: &Request) -> String {
    let r = Client::new().send(envoy.listen_port, req).unwrap();
    assert_eq!(r.status, 200, "{req:?}: {}", r.body);
    r.served_by().unwrap()
}

#[test]
fn routing_patch_validates_and_a_client_cannot_pick_a_cluster() {
    let dir = locate::scratch_dir("istio-gateway").unwrap();
    let uc = Backend::start("uc", "ucloud", 0).unwrap();
    let jc = Backend::start("jc", "jcloud", 0).unwrap();
    let local = istio::istio_cluster(istio::SERVICE_PORT, &istio::unit_host("uc"));
    let peer = istio::istio_cluster(istio::PEER_PORT, &istio::peer_host("jcloud"));
    let backends = [(local.as_str(), uc.port()), (peer.as_str(), jc.port())];
    let forged = Request::get("/api/orders/1")
        .city("7")
        .header("x-unitgate-cluster", &peer);

    let start = |name: &str, module: bool, strip: bool| {
        let p = ports::free_ports(2).unwrap();
        let config = gateway((p[0], p[1]), &backends, module, strip);
        validate(&config, &dir, name);
        Envoy::start_config(name, &config, p[0], p[1], &dir).unwrap()
    };

    // The module has not loaded yet: the client's header is gone before routing, so the
    // request takes the fallback route to the local unit.
    let loading = start("loading", false, true);
    assert_eq!(served(&loading, &forged), "uc");
    assert_eq!(
        served(&loading, &Request::get("/api/orders/2").city("720")),
        "uc"
    );
    drop(loading);

    // Control: without the strip patch the same client picks the peer's cluster.
    let unsafe_gateway = start("without-strip", false, false);
    assert_eq!(served(&unsafe_gateway, &forged), "jc");
    drop(unsafe_gateway);

    // The module has loaded: it routes through the `unitgate` route; the forged header still
    // does not steer.
    let ready = start("module", true, true);
    assert_eq!(
        served(&ready, &Request::get("/api/orders/3").city("720")),
        "jc"
    );
    assert_eq!(
        served(&ready, &Request::get("/api/orders/4").city("7")),
        "uc"
    );
    assert_eq!(served(&ready, &forged), "uc");
    let r = Client::new()
        .send(
            ready.listen_port,
            &Request::get("/api/orders/5").city("720"),
        )
        .unwrap();
    let seen = &r.json().unwrap()["headers"];
    assert!(
        seen["x-unitgate-ctx"].is_string(),
        "the peer gets a signed stamp: {seen}"
    );
    drop(ready);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reads_are_retried_on_another_endpoint_and_writes_never_twice() {
    let dir = locate::scratch_dir("istio-retries").unwrap();
    let good = Backend::start("uc", "ucloud", 0).unwrap();
    let failing = Backend::start("uc", "ucloud", 0).unwrap();
    failing.force_status(Some(503));
    let jc = Backend::start("jc", "jcloud", 0).unwrap();
    let local = istio::istio_cluster(istio::SERVICE_PORT, &istio::unit_host("uc"));
    let peer = istio::istio_cluster(istio::PEER_PORT, &istio::peer_host("jcloud"));
    let backends = [
        (local.as_str(), good.port()),
        (local.as_str(), failing.port()),
        (peer.as_str(), jc.port()),
    ];
    let p = ports::free_ports(2).unwrap();
    let config = gateway((p[0], p[1]), &backends, true, true);
    validate(&config, &dir, "retries");
    let envoy = Envoy::start_config("retries", &config, p[0], p[1], &dir).unwrap();
    let client = Client::new();
    let n = 20;
    for i in 0..n {
        // City 7 is uc's: the module routes it through `unitgate-reads` to uc's endpoints.
        let read = Request::get(&format!("/api/orders/{i}")).city("7");
        assert_eq!(client.send(envoy.listen_port, &read).unwrap().status, 200);
    }
    assert!(failing.hits() > 0, "no read met the failing endpoint");
    let mut refused = 0;
    for i in 0..n {
        let write = Request::post(&format!("/api/orders/{i}"), "{}").city("7");
        let status = client.send(envoy.listen_port, &write).unwrap().status;
        assert!(matches!(status, 200 | 503), "write answered {status}");
        refused += u64::from(status == 503);
    }
    assert!(refused > 0, "no write met the failing endpoint");
    // Each write reached exactly one endpoint: the 503s were not sent again.
    assert_eq!(good.writes() + failing.writes(), n);
    assert_eq!(failing.writes(), refused);
    drop(envoy);
    let _ = std::fs::remove_dir_all(&dir);
}
