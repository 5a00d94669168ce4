//! `unitgate export --to envoy-filter` loaded by real Envoy (`--mode validate`): Envoy accepts
//! the filter, and unitgate.wasm's on_configure accepts the plugin configuration in it.

use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use unitgate_envoy::locate::{envoy_binary, wasm_module};

const EXAMPLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../examples/dual-cloud-city.json"
);

/// A bootstrap with one listener whose HTTP filters are `filter` and the router.
fn bootstrap(filter: Value) -> Value {
    let cluster = |name: &str| {
        json!({"name": name, "type": "STATIC", "connect_timeout": "1s",
               "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [
                   {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1", "port_value": 9}}}}]}]}})
    };
    json!({"static_resources": {
        "listeners": [{"name": "ingress", "enable_reuse_port": false,
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": 0}},
            "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager", "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
                "stat_prefix": "ingress",
                "http_filters": [filter, {"name": "envoy.filters.http.router", "typed_config": {
                    "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"}}],
                "route_config": {"virtual_hosts": [{"name": "all", "domains": ["*"], "routes": [
                    {"match": {"prefix": "/"}, "route": {"cluster_header": "x-unitgate-cluster"}}]}]}}}]}]}],
        "clusters": [cluster("uc_backend"), cluster("jc_backend"), cluster("peer_jcloud")]}})
}

/// Run `envoy --mode validate` on the bootstrap: (succeeded, output).
fn validate(dir: &Path, boot: &Value) -> (bool, String) {
    let path = dir.join("bootstrap.json");
    std::fs::write(&path, boot.to_string()).unwrap();
    let out = Command::new(envoy_binary().unwrap())
        .args([
            "--mode",
            "validate",
            "--disable-hot-restart",
            "-l",
            "info",
            "-c",
        ])
        .arg(&path)
        .output()
        .expect("envoy runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn envoy_loads_the_exported_filter_and_the_module_accepts_its_configuration() {
    let module = wasm_module("unitgate").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_unitgate"))
        .args([
            "export",
            EXAMPLE,
            "--to",
            "envoy-filter",
            "--local-unit",
            "uc",
            "--secret",
            "k",
        ])
        .args(["--remote-upstream", "jcloud=peer_jcloud", "--module"])
        .arg(&module)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let filter: Value = serde_yaml_ng::from_slice(&out.stdout).unwrap();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("export-in-envoy");
    std::fs::create_dir_all(&dir).unwrap();

    let (ok, log) = validate(&dir, &bootstrap(filter.clone()));
    assert!(ok, "{log}");
    assert!(
        log.contains("policy dada-2026-11-22.1 loaded for unit uc"),
        "{log}"
    );

    // The check can fail: the same filter with a unit the policy lacks is refused by the module.
    let mut bad = filter;
    let value = &mut bad["typed_config"]["config"]["configuration"]["value"];
    let mut config: Value = serde_json::from_str(value.as_str().unwrap()).unwrap();
    config["local_unit"] = json!("nowhere");
    *value = json!(config.to_string());
    let (ok, log) = validate(&dir, &bootstrap(bad));
    assert!(!ok, "{log}");
    assert!(log.contains("nowhere"), "{log}");
}
