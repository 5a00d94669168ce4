//! The checked-in examples (envoy/ecds/, envoy/istio/) are what the harness generates (and
//! nothing else is in those directories), their policies load in the core, their plugin configs
//! fit each cloud, Envoy validates the ECDS bootstrap, and the Istio manifests route: a Gateway
//! that exists, a fallback route, Istio's own clusters for every upstream, no body key, and a
//! cluster header stripped before the module runs.
//! `UNITGATE_BLESS=1 cargo test -p unitgate-envoy --test examples_in_sync` rewrites the files.

mod common;

use common::yaml_docs;
use serde_json::Value;
use std::path::{Path, PathBuf};
use unitgate_envoy::plugin_config::CLUSTER_HEADER;
use unitgate_envoy::{examples, istio, locate, policies};

/// Every file under `dir`, relative to it.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let rel = PathBuf::from(path.file_name().unwrap());
        if path.is_dir() {
            out.extend(files_under(&path).into_iter().map(|p| rel.join(p)));
        } else {
            out.push(rel);
        }
    }
    out
}

fn check_or_bless(dir: &Path, files: &[(PathBuf, String)], keep: &[&str]) {
    let bless = std::env::var_os("UNITGATE_BLESS").is_some();
    for stale in files_under(dir) {
        let generated = files.iter().any(|(rel, _)| *rel == stale);
        if generated || stale.starts_with("crds") || keep.iter().any(|k| stale == Path::new(k)) {
            continue;
        }
        if bless {
            std::fs::remove_file(dir.join(&stale)).unwrap();
        } else {
            panic!(
                "{}: not generated; run with UNITGATE_BLESS=1",
                stale.display()
            );
        }
    }
    for (rel, text) in files {
        let path = dir.join(rel);
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; run with UNITGATE_BLESS=1", path.display()));
        assert_eq!(
            &on_disk,
            text,
            "{} is stale; run with UNITGATE_BLESS=1",
            path.display()
        );
    }
}

/// Parses the plugin configuration, checks it against its cloud, and loads its policy.
fn assert_plugin_config(config: &Value, cloud: &str) {
    let (_, unit, peer) = examples::CLOUDS.iter().find(|(c, ..)| *c == cloud).unwrap();
    assert_eq!(config["local_unit"], *unit);
    assert!(
        config["remote_upstreams"][peer].is_string(),
        "{cloud}: no way to {peer}"
    );
    assert!(config["fail_mode"] == "closed" || config["fail_mode"] == "open");
    let loaded = unitgate_core::load(&config["policy"].to_string())
        .unwrap_or_else(|report| panic!("{cloud}: policy invalid:\n{report}"));
    let units: Vec<&str> = loaded.policy.units().map(|u| u.name.as_str()).collect();
    assert!(units.contains(unit), "{units:?}");
}

#[test]
fn ecds_example_is_generated_valid_and_accepted_by_envoy() {
    let dir = locate::workspace_root().join("envoy/ecds");
    let files = examples::ecds_files(&policies::demo_policy()).unwrap();
    check_or_bless(&dir, &files, &[]);

    let bootstrap = yaml_docs(&dir.join("bootstrap.yaml")).remove(0);
    let listener = &bootstrap["static_resources"]["listeners"][0];
    assert_eq!(listener["enable_reuse_port"], false);
    let hcm = &listener["filter_chains"][0]["filters"][0]["typed_config"];
    let names: Vec<&str> = hcm["http_filters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["unitgate", "envoy.filters.http.router"]);
    for filter in &hcm["http_filters"].as_array().unwrap()[..1] {
        let name = filter["name"].as_str().unwrap();
        let path = &filter["config_discovery"]["config_source"]["path_config_source"]["path"];
        assert_eq!(path, &format!("envoy/ecds/{name}.yaml"));
        let doc = yaml_docs(&dir.join(format!("{name}.yaml"))).remove(0);
        let resource = &doc["resources"][0];
        assert_eq!(resource["name"], name);
        let config = &resource["typed_config"]["config"];
        assert_eq!(config["failure_policy"], "FAIL_CLOSED");
        let module = &config["vm_config"]["code"]["local"]["filename"];
        assert_eq!(module, "target/wasm/unitgate.wasm");
        let text = config["configuration"]["value"].as_str().unwrap();
        assert_plugin_config(&serde_json::from_str(text).unwrap(), "ucloud");
    }

    // Envoy itself accepts the bootstrap (validate mode binds no port).
    let out = std::process::Command::new(locate::envoy_binary().unwrap())
        .current_dir(locate::workspace_root())
        .args([
            "--mode",
            "validate",
            "--config-path",
            "envoy/ecds/bootstrap.yaml",
        ])
        .args(["--service-node", "example", "--service-cluster", "unitgate"])
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "envoy --mode validate failed:\n{log}");
}

#[test]
fn istio_manifests_are_generated_complete_and_safe() {
    let dir = locate::workspace_root().join("envoy/istio");
    let files = istio::istio_files(&policies::demo_policy()).unwrap();
    check_or_bless(&dir, &files, &["README.md"]);
    for (cloud, unit, _) in examples::CLOUDS {
        let docs: Vec<Value> = ["wasmplugin", "gateway", "destinations", "routing"]
            .iter()
            .flat_map(|f| yaml_docs(&dir.join(cloud).join(format!("{f}.yaml"))))
            .collect();
        let of_kind = |kind: &'static str| docs.iter().filter(move |d| d["kind"] == kind);

        // One module, failing closed, with a policy that has no body key (it would hang).
        let plugins: Vec<&Value> = of_kind("WasmPlugin").collect();
        assert_eq!(plugins.len(), 1, "{cloud}: one module");
        let spec = &plugins[0]["spec"];
        assert_eq!(spec["failStrategy"], "FAIL_CLOSE");
        assert!(spec["url"].as_str().unwrap().contains("/unitgate:"));
        let config = &spec["pluginConfig"];
        assert_plugin_config(config, cloud);
        assert!(
            !config["policy"].to_string().contains("\"body\""),
            "{cloud}: a body key hangs under Istio"
        );

        // The VirtualService binds to Gateways that ship here, on the same gateway pods.
        let vs = of_kind("VirtualService").next().unwrap();
        for name in vs["spec"]["gateways"].as_array().unwrap() {
            let gw = of_kind("Gateway")
                .find(|g| g["metadata"]["name"] == *name)
                .unwrap_or_else(|| panic!("{cloud}: no Gateway {name}"));
            assert_eq!(gw["spec"]["selector"], spec["selector"]["matchLabels"]);
        }
        // Routes: `unitgate` only when the cluster header is set, then an unconditional fallback
        // to the local unit.
        let routes = vs["spec"]["http"].as_array().unwrap();
        assert_eq!(routes.len(), 2);
        assert_eq!(routes[0]["name"], istio::UNITGATE_ROUTE);
        assert!(routes[0]["match"][0]["headers"][CLUSTER_HEADER].is_object());
        assert_eq!(routes[1]["name"], istio::FALLBACK_ROUTE);
        assert!(
            routes[1].get("match").is_none(),
            "the fallback matches everything"
        );
        let fallback = &routes[1]["route"][0]["destination"];
        assert_eq!(fallback["host"], istio::unit_host(unit));

        // Every upstream the module can name is an Istio cluster (`outbound|port||host`) of a
        // destination the VirtualService names, with a DestinationRule that keeps TLS and
        // outlier detection; hosts outside the cluster have a ServiceEntry.
        let destinations: Vec<String> = routes
            .iter()
            .map(|r| &r["route"][0]["destination"])
            .map(|d| {
                istio::istio_cluster(
                    d["port"]["number"].as_u64().unwrap() as u16,
                    d["host"].as_str().unwrap(),
                )
            })
            .collect();
        let local = config["local_unit"].as_str().unwrap();
        let mut upstreams: Vec<String> = config["remote_upstreams"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let local_upstream = config["policy"]["units"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["name"] == local)
            .map(|u| u["upstream"].as_str().unwrap().to_string())
            .unwrap();
        upstreams.push(local_upstream);
        for upstream in &upstreams {
            assert!(
                destinations.contains(upstream),
                "{cloud}: {upstream} is not routed to"
            );
            let host = upstream.rsplit("||").next().unwrap();
            let rule = of_kind("DestinationRule")
                .find(|d| d["spec"]["host"] == host)
                .unwrap_or_else(|| panic!("{cloud}: no DestinationRule for {host}"));
            let policy = &rule["spec"]["trafficPolicy"];
            assert!(
                policy["tls"]["mode"].is_string(),
                "{cloud}: {host} without TLS"
            );
            assert!(policy["outlierDetection"].is_object(), "{cloud}: {host}");
            if !host.ends_with(".svc.cluster.local") {
                assert!(
                    of_kind("ServiceEntry").any(|s| s["spec"]["hosts"][0] == host),
                    "{cloud}: no ServiceEntry for {host}"
                );
            }
        }

        // The EnvoyFilter strips the client's cluster header before routing, and switches only
        // the `unitgate` route to cluster_header.
        let filter = of_kind("EnvoyFilter").next().unwrap();
        let patches = filter["spec"]["configPatches"].as_array().unwrap();
        assert_eq!(patches.len(), 2);
        assert_eq!(patches[0]["applyTo"], "NETWORK_FILTER");
        assert_eq!(patches[0]["patch"]["operation"], "MERGE");
        let early =
            &patches[0]["patch"]["value"]["typed_config"]["early_header_mutation_extensions"];
        let removed = &early[0]["typed_config"]["mutations"][0]["remove"];
        assert_eq!(removed, CLUSTER_HEADER);
        assert_eq!(patches[1]["applyTo"], "HTTP_ROUTE");
        let route = &patches[1]["match"]["routeConfiguration"]["vhost"]["route"]["name"];
        assert_eq!(route, istio::UNITGATE_ROUTE);
        assert_eq!(
            patches[1]["patch"]["value"]["route"]["cluster_header"],
            config["cluster_header"]
        );
    }
}
