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
        // Routes: `unitgate-reads` and `unitgate` only when the cluster header is set, then the
        // fallback to the local unit, reads first, the last one unconditional.
        let routes = vs["spec"]["http"].as_array().unwrap();
        let names: Vec<&str> = routes.iter().map(|r| r["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            [
                istio::UNITGATE_READS_ROUTE,
                istio::UNITGATE_ROUTE,
                istio::FALLBACK_READS_ROUTE,
                istio::FALLBACK_ROUTE
            ]
        );
        for r in &routes[..2] {
            assert!(r["match"][0]["headers"][CLUSTER_HEADER].is_object());
        }
        assert!(
            routes[3].get("match").is_none(),
            "the fallback matches everything"
        );
        for r in &routes[2..] {
            assert_eq!(r["route"][0]["destination"]["host"], istio::unit_host(unit));
        }
        // Failover settings: reads (matched by method) are retried once on any failure, 5xx
        // included, possibly in another locality; every other method only when it never
        // reached a backend (no `reset`, `5xx` or Istio's default 503 retry).
        for (i, r) in routes.iter().enumerate() {
            let retries = &r["retries"];
            assert_eq!(retries["attempts"], 1, "{cloud}: {}", r["name"]);
            let on = retries["retryOn"].as_str().unwrap();
            if i % 2 == 0 {
                assert_eq!(r["match"][0]["method"]["regex"], "GET|HEAD|OPTIONS");
                assert_eq!(on, istio::READ_RETRY_ON);
                assert_eq!(retries["retryRemoteLocalities"], true);
            } else {
                assert!(r["match"][0].get("method").is_none());
                for unsafe_once_sent in ["reset", "5xx", "retriable-status-codes", "gateway-error"]
                {
                    assert!(
                        !on.split(',').any(|c| c == unsafe_once_sent),
                        "{cloud}: {on}"
                    );
                }
            }
        }

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
            let max_retries = &policy["connectionPool"]["http"]["maxRetries"];
            assert_eq!(*max_retries, istio::MAX_RETRIES, "{cloud}: {host}");
            if host == istio::unit_host(unit) {
                // No active health check under Istio: a pod is ejected on its first gateway
                // error, and a dead one must refuse fast enough for the read to be retried.
                let outlier = &policy["outlierDetection"];
                assert_eq!(outlier["consecutiveGatewayErrors"], 1, "{cloud}");
                assert_eq!(outlier["maxEjectionPercent"], 100, "{cloud}");
                assert_eq!(policy["connectionPool"]["tcp"]["connectTimeout"], "250ms");
            }
            if !host.ends_with(".svc.cluster.local") {
                assert!(
                    of_kind("ServiceEntry").any(|s| s["spec"]["hosts"][0] == host),
                    "{cloud}: no ServiceEntry for {host}"
                );
            }
        }

        // The EnvoyFilter strips the client's cluster header before routing, and switches only
        // the two `unitgate` routes to cluster_header.
        let filter = of_kind("EnvoyFilter").next().unwrap();
        let patches = filter["spec"]["configPatches"].as_array().unwrap();
        assert_eq!(patches.len(), 3);
        assert_eq!(patches[0]["applyTo"], "NETWORK_FILTER");
        assert_eq!(patches[0]["patch"]["operation"], "MERGE");
        let early =
            &patches[0]["patch"]["value"]["typed_config"]["early_header_mutation_extensions"];
        let removed = &early[0]["typed_config"]["mutations"][0]["remove"];
        assert_eq!(removed, CLUSTER_HEADER);
        for (patch, name) in patches[1..]
            .iter()
            .zip([istio::UNITGATE_READS_ROUTE, istio::UNITGATE_ROUTE])
        {
            assert_eq!(patch["applyTo"], "HTTP_ROUTE");
            let route = &patch["match"]["routeConfiguration"]["vhost"]["route"]["name"];
            assert_eq!(route, name);
            assert_eq!(
                patch["patch"]["value"]["route"]["cluster_header"],
                config["cluster_header"]
            );
        }
    }
}

// === The READMEs' examples ===

fn read(rel: &str) -> String {
    std::fs::read_to_string(locate::workspace_root().join(rel)).unwrap()
}

/// The fenced code blocks of `text` in language `lang`.
fn fenced(text: &str, lang: &str) -> Vec<String> {
    let open = format!("```{lang}\n");
    text.split(&open)
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap_or_default().to_string())
        .collect()
}

/// Every field of `part` is in `whole` with the same value; array elements are matched by
/// `name` when they have one, else by position.
fn assert_part_of(part: &Value, whole: &Value, at: &str) {
    match (part, whole) {
        (Value::Object(p), Value::Object(w)) => {
            for (k, v) in p {
                let w = w
                    .get(k)
                    .unwrap_or_else(|| panic!("{at}/{k} is not in the file"));
                assert_part_of(v, w, &format!("{at}/{k}"));
            }
        }
        (Value::Array(p), Value::Array(w)) => {
            for (i, v) in p.iter().enumerate() {
                let found = match v.get("name") {
                    Some(name) => w.iter().find(|x| x.get("name") == Some(name)),
                    None => w.get(i),
                };
                let found = found.unwrap_or_else(|| panic!("{at}/{i} is not in the file"));
                assert_part_of(v, found, &format!("{at}/{i}"));
            }
        }
        _ => assert_eq!(part, whole, "{at}"),
    }
}

#[test]
fn readme_recommends_the_one_module_and_its_envoy_snippet_is_the_generated_filter() {
    let readme = read("README.md");
    for command in ["make demo", "make test"] {
        assert!(readme.contains(command), "README lost `{command}`");
    }
    let one = readme.find("unitgate.wasm").unwrap();
    let chain = readme.find("unitgate_shard_router.wasm").unwrap();
    assert!(one < chain, "README must recommend the one module first");

    // The Envoy filter shown is the one the ECDS example runs, apart from the configuration.
    let snippet: Value = serde_yaml_ng::from_str(&fenced(&readme, "yaml")[0]).unwrap();
    let mut shown = snippet[0]["typed_config"].clone();
    shown["config"]["configuration"]
        .as_object_mut()
        .unwrap()
        .remove("value");
    let ecds = yaml_docs(&locate::workspace_root().join("envoy/ecds/unitgate.yaml")).remove(0);
    let generated = &ecds["resources"][0]["typed_config"];
    assert_part_of(&shown, generated, "README snippet");
    assert_eq!(snippet[0]["name"], ecds["resources"][0]["name"]);
}

#[test]
fn readme_policy_excerpt_is_part_of_the_example_policy() {
    let readme = read("README.md");
    assert!(readme.contains("policies/examples/dual-cloud-city.json"));
    let excerpt: Value = serde_json::from_str(&fenced(&readme, "json")[0]).unwrap();
    let full: Value =
        serde_json::from_str(&read("policies/examples/dual-cloud-city.json")).unwrap();
    assert_part_of(&excerpt, &full, "");
}

#[test]
fn worked_examples_agree_with_the_core() {
    let loaded = unitgate_core::load(&read("policies/examples/dual-cloud-city.json")).unwrap();
    let policy = &loaded.policy;
    // GET /api/orders?city_id=42 with x-user-id: u16, at the ucloud ingress.
    let view = unitgate_core::RequestView::new(
        "GET",
        "/api/orders?city_id=42",
        vec![("x-user-id".to_string(), "u16".to_string())],
    )
    .with_body(unitgate_core::Body::Absent);
    let state = unitgate_core::RuntimeState {
        now_ms: 1_795_316_400_000,
        ..Default::default()
    };
    let route =
        match unitgate_core::decide(policy, &common::core_ingress(common::UC), &view, &state) {
            unitgate_core::Decision::Route(route) => route.into_owned(),
            other => panic!("not routed: {other:?}"),
        };
    let bucket = unitgate_core::gray_bucket("city-42-to-jc", "u16");
    let threshold = unitgate_core::gray_threshold(10.0);
    let explain = unitgate_core::explain(&route, policy.version());
    assert!(bucket < threshold);
    assert_eq!((&*route.unit, route.crossed), ("jc", true));

    let readme = read("README.md");
    assert!(
        readme.contains(&format!("% 10000 = {bucket}`")),
        "README bucket"
    );
    assert!(readme.contains(&format!("below `round(10 × 100) = {threshold}`")));
    assert!(readme.contains("so the user moves to **jc**"));

    let policies = read("policies/README.md");
    assert!(policies.contains(&format!(
        "% 10000 = **{bucket}**; threshold = round(10 × 100) = {threshold}"
    )));
    assert!(
        policies.contains(&format!("`{explain}`")),
        "policies/README explain: {explain}"
    );
    assert!(
        policies.contains(&format!("upstream\n   `{}`", route.upstream))
            || policies.contains(&format!("upstream `{}`", route.upstream))
    );
}

#[test]
fn documented_validation_error_is_what_validation_reports() {
    let line = "error at /rules/0/ranges/1/ranges/0: range 49~99 overlaps 0~49 at /rules/0/ranges/0/ranges/0";
    let mut policy: Value =
        serde_json::from_str(&read("policies/examples/dual-cloud-city.json")).unwrap();
    policy["rules"][0]["ranges"] = serde_json::json!([
        { "unit": "uc", "ranges": ["0~49"] },
        { "unit": "jc", "ranges": ["49~99"] }
    ]);
    let report = unitgate_core::load(&policy.to_string())
        .unwrap_err()
        .to_string();
    assert!(report.contains(line), "{report}");
    for doc in ["README.md", "policies/README.md"] {
        assert!(read(doc).contains(line), "{doc} shows another message");
    }
}

/// Markdown and source files of the repository (not target/, .git, .venv).
fn repo_text_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            if !name.starts_with('.') && name != "target" {
                repo_text_files(&path, out);
            }
        } else if [".md", ".rs", ".toml", ".yaml", ".json", ".conf"]
            .iter()
            .any(|ext| name.ends_with(ext))
            || name == "Makefile"
        {
            out.push(path);
        }
    }
}

#[test]
fn docs_stand_alone_and_name_paths_that_exist() {
    let root = locate::workspace_root();
    // Nothing points at design notes kept outside the repository.
    let this_file = Path::new(file!()).file_name().unwrap();
    let mut files = Vec::new();
    repo_text_files(&root, &mut files);
    for path in files.iter().filter(|p| p.file_name() != Some(this_file)) {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        // Spelled in pieces so that repository-wide greps for these pointers do not match here.
        let design = [concat!("DESIGN", ".md"), concat!("DESIGN", " §")];
        for outside in design
            .into_iter()
            .chain([concat!("../", "shared/"), "/work/"])
        {
            assert!(
                !text.contains(outside),
                "{} points outside the repository ({outside})",
                path.display()
            );
        }
    }
    // Relative links and repository paths (from the root, or from the doc's own directory) in
    // the main docs exist.
    let tops = [
        "plugins/",
        "host-tests/",
        "envoy/",
        "nginx/",
        "policies/",
        "docs/",
    ];
    for doc in [
        "README.md",
        "docs/ARCHITECTURE.md",
        "envoy/README.md",
        "policies/README.md",
    ] {
        let text = read(doc);
        let base = root.join(doc).parent().unwrap().to_path_buf();
        for link in text.split("](").skip(1).filter_map(|s| s.split(')').next()) {
            let target = link.split('#').next().unwrap();
            if target.is_empty() || target.contains("://") {
                continue;
            }
            assert!(base.join(target).exists(), "{doc}: link {link} is broken");
        }
        for code in text.split('`').skip(1).step_by(2) {
            let plain = !code.contains(['<', '*', ' ', '$', '{', '|']);
            if plain && tops.iter().any(|t| code.starts_with(t)) {
                let path = code.split('#').next().unwrap();
                let exists = root.join(path).exists() || base.join(path).exists();
                assert!(exists, "{doc}: `{code}` does not exist");
            }
        }
    }
}
