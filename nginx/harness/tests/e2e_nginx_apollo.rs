//! Real nginx (two workers) with unitgate.wasm following the Apollo stand-in by itself: it
//! starts on its inline policy, a published release reaches every worker within 2 s while a
//! client loop sees no failure, an invalid release is refused, and one worker polls.
//!
//! Ignored for now: with nginx 1.22 and the pinned ngx_wasm_module, the polling worker dies
//! (signal 11) within seconds, after its first long polls (dispatched from `on_tick`) reached
//! the stand-in and were answered 304; the respawned worker never serves a release in time.
//! Same with 100 ms holds, with a release already there (first poll answered 200 at once),
//! and with the module not reading `:status` at all: the crash is in the host's handling of
//! a dispatch from `on_tick`. The host-tests ngx_wasm_module profile does not model it.
//! Run it with `cargo test -p unitgate-nginx --test e2e_nginx_apollo -- --ignored`.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use unitgate_apollo_fixture::{Fixture, Options};
use unitgate_envoy::backend::Backend;
use unitgate_envoy::plugin_config::{peer_cluster, plugin_config, PluginSettings};
use unitgate_envoy::policies::{demo_policy, with_gray_percent, GRAY_CITY};
use unitgate_envoy::{ports, Client, Reply, Request};
use unitgate_nginx::conf::{nginx_plugin_config, NginxSpec};
use unitgate_nginx::{locate, Nginx};

const APP: &str = "unitgate";
const KEY: &str = "nginx-access-key-3c2f";
const WORKERS: u32 = 2;

fn probe() -> Request {
    Request::get("/api/orders/1").city(GRAY_CITY).user("u-7")
}

fn served(r: &Reply) -> Option<(String, String)> {
    (r.status == 200).then(|| Some((r.served_by()?, r.explain("version")?)))?
}

fn until_served(port: u16, want: (&str, &str), limit: Duration) -> Duration {
    let start = Instant::now();
    let want = Some((want.0.to_string(), want.1.to_string()));
    let mut in_a_row = 0;
    while in_a_row < 20 {
        let got = Client::new()
            .send(port, &probe())
            .ok()
            .and_then(|r| served(&r));
        if got == want {
            in_a_row += 1;
        } else {
            in_a_row = 0;
            assert!(
                start.elapsed() < limit,
                "not {want:?} after {limit:?}: {got:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    start.elapsed()
}

#[test]
#[ignore = "the polling nginx worker segfaults after its first long polls (see the file's doc)"]
fn nginx_workers_follow_apollo_publishes() {
    let apollo = Fixture::start(Options {
        hold: Duration::from_secs(1),
        access_keys: BTreeMap::from([(APP.to_string(), vec![KEY.to_string()])]),
        ..Options::default()
    })
    .unwrap();
    let uc = Backend::start("uc", "ucloud", 0).unwrap();
    let jc = Backend::start("jc", "jcloud", 0).unwrap();
    let base = demo_policy();
    let mut start = base.clone();
    start["version"] = json!("inline-0");
    let remote = BTreeMap::from([("jcloud".to_string(), peer_cluster("jcloud"))]);
    let envoy_cfg = plugin_config(&start, "uc", &remote, &PluginSettings::default());
    let mut cfg: Value = serde_json::from_str(&nginx_plugin_config(&envoy_cfg).unwrap()).unwrap();
    cfg["apollo"] =
        json!({"upstream": apollo.addr().to_string(), "app_id": APP, "access_key": KEY});
    let dir = locate::scratch_dir("nginx-apollo").unwrap();
    let port = ports::free_port().unwrap();
    let nginx = Nginx::start(NginxSpec {
        cloud: "ucloud".into(),
        listen_port: port,
        upstreams: BTreeMap::from([
            ("uc_backend".to_string(), uc.port()),
            (peer_cluster("jcloud"), jc.port()),
        ]),
        default_upstream: "uc_backend".into(),
        plugin_config: cfg.to_string(),
        ngx_wasm_module: locate::ngx_wasm_module().unwrap(),
        unitgate_wasm: locate::unitgate_wasm().unwrap(),
        workers: WORKERS,
        dir: dir.clone(),
        failover: Default::default(),
    })
    .unwrap();
    // Nothing published yet: the inline policy serves.
    until_served(port, ("uc", "inline-0"), Duration::from_secs(5));

    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !stop.load(Ordering::SeqCst) && seen.len() < 20_000 {
                let r = Client::new().send(port, &probe());
                seen.push(r.ok().and_then(|r| served(&r)));
            }
            seen
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let v1 = with_gray_percent(&base, 100.0);
    let v1_version = v1["version"].as_str().unwrap().to_string();
    apollo.seed(APP, "default", "unitgate.json", &v1.to_string());
    let took = until_served(port, ("jc", &v1_version), Duration::from_secs(2));
    stop.store(true, Ordering::SeqCst);
    let seen = load.join().unwrap();
    assert!(
        seen.iter().all(Option::is_some),
        "a request failed during the switch"
    );
    eprintln!(
        "nginx: publish served after {took:?}; {} requests, none failed",
        seen.len()
    );

    // Each worker logged the switch; one of them polled.
    let log = std::fs::read_to_string(nginx.spec.error_log()).unwrap();
    let switched = log
        .lines()
        .filter(|l| l.contains(&format!("policy {v1_version} (Apollo release")))
        .count();
    assert_eq!(switched, WORKERS as usize, "{log}");
    let before = apollo.poll_count();
    std::thread::sleep(Duration::from_secs(5));
    let polls = apollo.poll_count() - before;
    assert!(
        (3..=7).contains(&polls),
        "{polls} polls in 5 s with 1 s holds"
    );

    // Invalid: refused, and v1 keeps serving.
    let mut bad = v1.clone();
    bad["rules"][0]["ranges"][0]["unit"] = json!("nowhere");
    apollo.seed(APP, "default", "unitgate.json", &bad.to_string());
    std::thread::sleep(Duration::from_secs(2));
    until_served(port, ("jc", &v1_version), Duration::from_secs(1));
    let log = std::fs::read_to_string(nginx.spec.error_log()).unwrap();
    assert!(log.contains("rejected (1 errors)"), "{log}");
    drop(nginx);
    let _ = std::fs::remove_dir_all(dir);
}
