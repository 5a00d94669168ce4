//! unitgate.wasm following Apollo by itself, against the Apollo stand-in on loopback: the
//! first policy, a publish reaching every worker, one poller per proxy, signed requests, and
//! the last good policy serving through an invalid release, a broken and a stopped Apollo.

mod plugin_common;

use plugin_common::*;
use proxy_wasm_test_host::{Host, HostError, Profile, Worker};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::Duration;
use unitgate_apollo_fixture::{Fixture, Options};

const APP: &str = "unitgate";
const NS: &str = "unitgate.json";
const ACCESS_KEY: &str = "apollo-access-key-9d1e";
/// The module's tick (plugins/glue/src/apollo.rs).
const TICK_MS: u64 = 500;
const WORKERS: usize = 3;

/// The example policy as version `version`, with cities from `jc_from` on in unit jc.
fn policy(version: &str, jc_from: u32) -> Value {
    let mut p = dual_city();
    p["version"] = json!(version);
    p["rules"][0]["ranges"] = json!([
        {"unit": "uc", "ranges": [format!("0~{}", jc_from - 1)]},
        {"unit": "jc", "ranges": [format!("{jc_from}~999")]}
    ]);
    p
}

fn fixture() -> Fixture {
    let mut keys = BTreeMap::new();
    keys.insert(APP.to_string(), vec![ACCESS_KEY.to_string()]);
    Fixture::start(Options {
        // Short holds: host-tests answers a call before the tick that made it returns.
        hold: Duration::from_millis(50),
        access_keys: keys,
        // The modules sign with the host's virtual clock.
        check_skew: false,
        ..Options::default()
    })
    .unwrap()
}

fn publish(apollo: &Fixture, policy: &Value) {
    apollo.seed(APP, "default", NS, &policy.to_string());
}

/// Plugin configuration without an inline policy, following `apollo`.
fn apollo_config(host: &Host, apollo: &Fixture, profile: Profile) -> Value {
    let mut cfg = config(&policy("unused", 500), "uc", profile);
    cfg.as_object_mut().unwrap().remove("policy");
    let upstream = if profile.is_ngx() {
        apollo.addr().to_string()
    } else {
        host.cluster("apollo_config", &apollo.addr().to_string());
        "apollo_config".to_string()
    };
    cfg["apollo"] = json!({"upstream": upstream, "app_id": APP, "access_key": ACCESS_KEY});
    cfg
}

/// (unit, version) a worker gives city `city`; ("none", "") while no policy serves.
fn served(w: &Worker, city: u32) -> (String, String) {
    let r = Req::get("/api/orders")
        .header("x-city-id", &city.to_string())
        .send(w);
    match r.response_header(EXPLAIN_HEADER) {
        Some(e) => {
            let e = explained(e);
            (e["unit"].clone(), e["version"].clone())
        }
        None => ("none".into(), String::new()),
    }
}

fn all_serve(ws: &[Worker], city: u32, unit: &str, version: &str) -> bool {
    ws.iter()
        .all(|w| served(w, city) == (unit.to_string(), version.to_string()))
}

/// Ticks until every worker serves (unit, version) for `city`; the ticks it took.
fn ticks_until(host: &Host, ws: &[Worker], city: u32, unit: &str, version: &str) -> u64 {
    for n in 0..10 {
        if all_serve(ws, city, unit, version) {
            return n;
        }
        host.advance(TICK_MS).unwrap();
    }
    let got: Vec<_> = ws.iter().map(|w| served(w, city)).collect();
    panic!(
        "workers never served {unit} {version}: {got:?}\n{}",
        ws[0].log_text()
    );
}

fn polls_by(w: &Worker) -> u64 {
    w.take_host_calls().count("proxy_http_call")
}

fn start_workers(host: &Host, cfg: &Value) -> Vec<Worker> {
    (0..WORKERS).map(|_| start(host, PIPELINE, cfg)).collect()
}

fn gauge(host: &Host, version: &str) -> Option<i64> {
    host.metric(&format!("unitgate.pipeline.policy.version.{version}"))
}

fn follows_publishes_with_one_poller(profile: Profile) {
    let host = Host::new(profile);
    let apollo = fixture();
    publish(&apollo, &policy("apollo-1", 500));
    let cfg = apollo_config(&host, &apollo, profile);
    let ws = start_workers(&host, &cfg);
    // No inline policy: the fail mode (open) until the first fetch.
    assert_eq!(served(&ws[0], 300).0, "none");

    // Two ticks to hold the lease, then poll and fetch; followers read it on their tick.
    assert!(ticks_until(&host, &ws, 300, "uc", "apollo-1") <= 3);
    assert_eq!(gauge(&host, "apollo-1"), Some(1));

    publish(&apollo, &policy("apollo-2", 300));
    assert!(ticks_until(&host, &ws, 300, "jc", "apollo-2") <= 2);
    assert_eq!(gauge(&host, "apollo-2"), Some(1));
    assert_eq!(gauge(&host, "apollo-1"), Some(0));

    // More ticks with nothing new: still one VM polling (each poll is held, then 304).
    for _ in 0..10 {
        host.advance(TICK_MS).unwrap();
    }
    let calls: Vec<u64> = ws.iter().map(polls_by).collect();
    let pollers = calls.iter().filter(|c| **c > 0).count();
    assert_eq!(pollers, 1, "calls per worker: {calls:?}");
    assert_eq!(
        apollo.poll_count() + apollo.read_count(),
        calls.iter().sum::<u64>()
    );
    assert_eq!(host.metric("unitgate.pipeline.apollo.errors"), None);
    // Signed (the fixture answers 401 otherwise); the key itself is sent nowhere.
    for call in host.http_calls() {
        let auth = call.header("authorization").unwrap_or_default();
        assert!(auth.starts_with("Apollo unitgate:"), "{auth}");
        assert!(!format!("{call:?}").contains(ACCESS_KEY));
    }
    let logs: String = ws.iter().map(Worker::log_text).collect();
    assert!(!logs.contains(ACCESS_KEY));
}

fn a_new_worker_starts_on_the_shared_release(profile: Profile) {
    let host = Host::new(profile);
    let apollo = fixture();
    publish(&apollo, &policy("apollo-1", 300));
    let cfg = apollo_config(&host, &apollo, profile);
    let first = start_workers(&host, &cfg);
    ticks_until(&host, &first, 300, "jc", "apollo-1");
    // A worker started now (an nginx reload, a new Envoy worker, an ECDS update) serves the
    // release at once, before its first tick, instead of the fail mode.
    let late = start(&host, PIPELINE, &cfg);
    assert_eq!(
        served(&late, 300),
        ("jc".to_string(), "apollo-1".to_string())
    );
    assert!(!late.log_text().contains("waiting for the first policy"));
}

fn keeps_the_last_good_policy(profile: Profile) {
    let host = Host::new(profile);
    let mut apollo = fixture();
    publish(&apollo, &policy("good-1", 500));
    let cfg = apollo_config(&host, &apollo, profile);
    let ws = start_workers(&host, &cfg);
    ticks_until(&host, &ws, 300, "uc", "good-1");

    // An invalid policy (a rule naming a unit that does not exist), and text that is not JSON.
    let mut bad = policy("bad-2", 300);
    bad["rules"][0]["ranges"][1]["unit"] = json!("nowhere");
    publish(&apollo, &bad);
    for _ in 0..4 {
        host.advance(TICK_MS).unwrap();
    }
    assert!(all_serve(&ws, 300, "uc", "good-1"));
    assert_eq!(host.metric("unitgate.pipeline.apollo.rejected"), Some(1));
    let logs: String = ws.iter().map(Worker::log_text).collect();
    assert!(
        logs.contains("bad-2") || logs.contains("rejected"),
        "{logs}"
    );
    apollo.seed(APP, "default", NS, "{not json");
    for _ in 0..4 {
        host.advance(TICK_MS).unwrap();
    }
    assert!(all_serve(&ws, 300, "uc", "good-1"));
    assert_eq!(host.metric("unitgate.pipeline.apollo.rejected"), Some(2));

    // Apollo answers 500, then is gone: still good-1, and the poller backs off.
    apollo.set_failing(true);
    let before = apollo.poll_count();
    for _ in 0..20 {
        host.advance(TICK_MS).unwrap();
    }
    assert!(all_serve(&ws, 300, "uc", "good-1"));
    let errors = host.metric("unitgate.pipeline.apollo.errors").unwrap_or(0);
    let polled = apollo.poll_count() - before;
    // 10 s of ticks; backoff 1, 2, 4, 8 s (each in its upper half): at most 5 tries.
    assert!((2..=5).contains(&polled), "{polled} polls while failing");
    assert_eq!(errors as u64, polled);
    apollo.set_failing(false);
    apollo.stop();
    for _ in 0..20 {
        host.advance(TICK_MS).unwrap();
    }
    assert!(all_serve(&ws, 300, "uc", "good-1"));

    // Back, and a new release lands (within the longest backoff, 30 s).
    apollo.restart().unwrap();
    publish(&apollo, &policy("good-3", 300));
    let mut waited = 0;
    while !all_serve(&ws, 300, "jc", "good-3") {
        assert!(waited < 40_000, "never resumed:\n{}", ws[0].log_text());
        host.advance(TICK_MS).unwrap();
        waited += TICK_MS;
    }
}

fn an_inline_policy_serves_until_the_first_fetch(profile: Profile) {
    let host = Host::new(profile);
    let apollo = fixture();
    let mut cfg = apollo_config(&host, &apollo, profile);
    cfg["policy"] = policy("inline-0", 500);
    let ws = start_workers(&host, &cfg);
    assert!(all_serve(&ws, 300, "uc", "inline-0"));
    // Nothing published yet: the poll is held and answers 304; inline-0 keeps serving.
    for _ in 0..4 {
        host.advance(TICK_MS).unwrap();
    }
    assert!(all_serve(&ws, 300, "uc", "inline-0"));
    publish(&apollo, &policy("apollo-1", 300));
    ticks_until(&host, &ws, 300, "jc", "apollo-1");
}

fn a_wrong_access_key_is_refused_and_counted(profile: Profile) {
    let host = Host::new(profile);
    let apollo = fixture();
    publish(&apollo, &policy("apollo-1", 500));
    let mut cfg = apollo_config(&host, &apollo, profile);
    cfg["apollo"]["access_key"] = json!("wrong");
    let ws = start_workers(&host, &cfg);
    for _ in 0..6 {
        host.advance(TICK_MS).unwrap();
    }
    assert_eq!(served(&ws[0], 300).0, "none");
    assert!(host.metric("unitgate.pipeline.apollo.errors").unwrap_or(0) >= 1);
    let logs: String = ws.iter().map(Worker::log_text).collect();
    assert!(logs.contains("answered 401"), "{logs}");
    assert!(!logs.contains("wrong"), "the key is never logged");
}

/// Only unitgate.wasm carries the Apollo client: a per-concern module refuses `apollo` and
/// makes no call to it.
fn a_per_concern_module_refuses_apollo(profile: Profile) {
    let host = Host::new(profile);
    let apollo = fixture();
    publish(&apollo, &policy("apollo-1", 500));
    let mut cfg = apollo_config(&host, &apollo, profile);
    cfg["policy"] = policy("inline", 500);
    for (m, _) in CHAIN_MODULES {
        let err = host.module(m).unwrap().config(cfg.to_string()).start();
        let Err(HostError::Rejected { hook, logs, .. }) = err else {
            panic!("{profile} {m}: apollo accepted");
        };
        assert_eq!(hook, "proxy_on_configure");
        assert!(
            logs.contains("error at /apollo: only unitgate.wasm follows Apollo"),
            "{profile} {m}: {logs}"
        );
    }
    host.advance(TICK_MS).unwrap();
    assert_eq!(
        apollo.poll_count(),
        0,
        "{profile}: a per-concern module polled"
    );
}

both_profiles!(
    a_per_concern_module_refuses_apollo,
    follows_publishes_with_one_poller,
    a_new_worker_starts_on_the_shared_release,
    keeps_the_last_good_policy,
    an_inline_policy_serves_until_the_first_fetch,
    a_wrong_access_key_is_refused_and_counted,
);
