//! `nginx/nginx.conf`, the example an operator starts from: its inlined policy is the file it
//! claims to be, the module accepts its configuration, it has every directive unitgate needs,
//! and real nginx accepts it (`nginx -t`, with our built module and loopback paths).

use serde_json::Value;
use std::process::Command;
use unitgate_envoy::locate::workspace_root;
use unitgate_nginx::check::{check_conf, filters};
use unitgate_nginx::conf::{CONNECT_TIMEOUT, NEXT_UPSTREAM};
use unitgate_nginx::locate;

fn example() -> String {
    std::fs::read_to_string(workspace_root().join("nginx/nginx.conf")).unwrap()
}

/// The example with our built module and unitgate.wasm instead of the /etc paths.
fn localized() -> String {
    example()
        .replace(
            "/usr/lib/nginx/modules/ngx_wasmx_module.so",
            &locate::ngx_wasm_module().unwrap().display().to_string(),
        )
        .replace(
            "/etc/unitgate/unitgate.wasm",
            &locate::unitgate_wasm().unwrap().display().to_string(),
        )
}

#[test]
fn inlined_policy_is_the_demo_policy_file() {
    let f = filters(&example()).unwrap();
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].module, "unitgate");
    let cfg: Value = serde_json::from_str(&f[0].config).unwrap();
    let file = workspace_root().join("envoy/policies/dual-cloud-demo.json");
    let policy: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(
        cfg["policy"], policy,
        "nginx/nginx.conf inlines another policy"
    );
    assert_eq!(cfg["nginx_variable"], "unitgate_upstream");
    assert_eq!(cfg["nginx_ctx_variable"], "unitgate_ctx");
}

#[test]
fn has_every_directive_unitgate_needs() {
    let conf = example();
    for needed in [
        "load_module ",
        "module unitgate ",
        "shm_kv * 1m;",
        "set $unitgate_upstream ",
        "set $unitgate_ctx \"\";",
        "proxy_wasm_request_headers_in_access on;",
        "proxy_pass http://$unitgate_upstream;",
        "proxy_set_header x-unitgate-ctx $unitgate_ctx;",
        "proxy_set_header x-unitgate-cluster \"\";",
        "proxy_set_header x-unitgate-hop \"\";",
        // Failover without loss: what the harness's confs set too.
        NEXT_UPSTREAM,
        CONNECT_TIMEOUT,
        "max_fails=1 fail_timeout=1s",
        " backup;",
        "add_header x-unitgate-failover ucloud always;",
        "if ($request_method !~ ^(GET|HEAD|OPTIONS)$) { return 503 ",
    ] {
        assert!(conf.contains(needed), "nginx/nginx.conf lacks `{needed}`");
    }
    // Writes are never sent to a second server once one received them.
    let next_upstream = conf
        .lines()
        .filter(|l| l.trim_start().starts_with("proxy_next_upstream"));
    assert!(next_upstream.clone().count() >= 1);
    assert!(next_upstream.clone().all(|l| !l.contains("non_idempotent")));
}

#[test]
fn the_module_accepts_its_configuration() {
    assert_eq!(check_conf(&localized()).unwrap(), 1);
}

#[test]
fn nginx_accepts_the_example() {
    let dir = locate::scratch_dir("conf-example").unwrap();
    let port = unitgate_envoy::ports::free_port().unwrap();
    let failover = unitgate_envoy::ports::free_port().unwrap();
    let conf = localized()
        .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
        .replace("listen 8081;", &format!("listen 127.0.0.1:{failover};"));
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let out = Command::new(locate::nginx_binary().unwrap())
        .arg("-t")
        .arg("-p")
        .arg(&dir)
        .arg("-c")
        .arg(&path)
        .args(["-g", &format!("pid {}/nginx.pid;", dir.display())])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "nginx -t: {stderr}");
    let _ = std::fs::remove_dir_all(dir);
}
