//! The checked-in examples (envoy/ecds/, envoy/istio/) are what the harness generates, their
//! policies load in the core, their plugin configs fit each cloud, Envoy validates the ECDS
//! bootstrap, and the Istio modules are ordered shard > gray > isolation.
//! `UNITGATE_BLESS=1 cargo test -p unitgate-envoy --test examples_in_sync` rewrites the files.

use serde_json::Value;
use std::path::{Path, PathBuf};
use unitgate_envoy::{examples, locate, policies};

fn check_or_bless(dir: &Path, files: &[(PathBuf, String)]) {
    let bless = std::env::var_os("UNITGATE_BLESS").is_some();
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
    assert_eq!(config["remote_upstreams"][peer], format!("peer_{peer}"));
    assert!(config["fail_mode"] == "closed" || config["fail_mode"] == "open");
    let loaded = unitgate_core::load(&config["policy"].to_string())
        .unwrap_or_else(|report| panic!("{cloud}: policy invalid:\n{report}"));
    let units: Vec<&str> = loaded.policy.units().map(|u| u.name.as_str()).collect();
    assert!(units.contains(unit), "{units:?}");
}

fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    text.split("\n---\n")
        .map(|doc| serde_yaml_ng::from_str(doc).unwrap())
        .collect()
}

#[test]
fn ecds_example_is_generated_valid_and_accepted_by_envoy() {
    let dir = locate::workspace_root().join("envoy/ecds");
    let files = examples::ecds_files(&policies::demo_policy()).unwrap();
    check_or_bless(&dir, &files);

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
    assert_eq!(
        names,
        [
            "unitgate.shard",
            "unitgate.gray",
            "unitgate.isolation",
            "envoy.filters.http.router"
        ]
    );
    for filter in &hcm["http_filters"].as_array().unwrap()[..3] {
        let name = filter["name"].as_str().unwrap();
        let path = &filter["config_discovery"]["config_source"]["path_config_source"]["path"];
        assert_eq!(path, &format!("envoy/ecds/{name}.yaml"));
        let doc = yaml_docs(&dir.join(format!("{name}.yaml"))).remove(0);
        let resource = &doc["resources"][0];
        assert_eq!(resource["name"], name);
        let config = &resource["typed_config"]["config"];
        assert_eq!(config["failure_policy"], "FAIL_CLOSED");
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
fn istio_manifests_are_generated_ordered_and_carry_valid_policies() {
    let dir = locate::workspace_root().join("envoy/istio");
    let files = examples::istio_files(&policies::demo_policy()).unwrap();
    check_or_bless(&dir, &files);
    for (cloud, ..) in examples::CLOUDS {
        let plugins = yaml_docs(&dir.join(cloud).join("wasmplugins.yaml"));
        assert_eq!(plugins.len(), 3);
        let mut order: Vec<(i64, String)> = Vec::new();
        for p in &plugins {
            assert_eq!(p["apiVersion"], "extensions.istio.io/v1alpha1");
            assert_eq!(p["kind"], "WasmPlugin");
            let spec = &p["spec"];
            assert_eq!(spec["failStrategy"], "FAIL_CLOSE");
            assert_eq!(
                spec["phase"], plugins[0]["spec"]["phase"],
                "one phase for all three"
            );
            assert_plugin_config(&spec["pluginConfig"], cloud);
            order.push((
                spec["priority"].as_i64().unwrap(),
                p["metadata"]["name"].as_str().unwrap().into(),
            ));
        }
        // Higher priority runs first within a phase.
        order.sort_by_key(|p| std::cmp::Reverse(p.0));
        let names: Vec<&str> = order.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "unitgate-shard-router",
                "unitgate-gray-release",
                "unitgate-fault-isolation"
            ]
        );

        // Every upstream the plugin config can name exists as a cluster, and the route uses
        // cluster_header.
        let routing = yaml_docs(&dir.join(cloud).join("routing.yaml"));
        let filter = routing.iter().find(|d| d["kind"] == "EnvoyFilter").unwrap();
        let patches = filter["spec"]["configPatches"].as_array().unwrap();
        let clusters: Vec<&str> = patches
            .iter()
            .filter(|p| p["applyTo"] == "CLUSTER")
            .map(|p| p["patch"]["value"]["name"].as_str().unwrap())
            .collect();
        let config = &plugins[0]["spec"]["pluginConfig"];
        let local = config["local_unit"].as_str().unwrap();
        for unit in config["policy"]["units"].as_array().unwrap() {
            let upstream = if unit["name"] == local {
                unit["upstream"].as_str().unwrap().to_string()
            } else {
                config["remote_upstreams"][unit["cloud"].as_str().unwrap()]
                    .as_str()
                    .unwrap()
                    .to_string()
            };
            assert!(
                clusters.contains(&upstream.as_str()),
                "{cloud}: no cluster {upstream}"
            );
        }
        let route = patches
            .iter()
            .find(|p| p["applyTo"] == "HTTP_ROUTE")
            .unwrap();
        assert_eq!(
            route["patch"]["value"]["route"]["cluster_header"],
            config["cluster_header"]
        );
    }
}
