//! Observability through the real modules: counters per unit and reason, the opt-in explain
//! header (one per response, no secret), per-request logs at debug level only, and the secret
//! never in a log line or a header. Both host profiles.

#[macro_use]
mod plugin_common;

use plugin_common::*;
use proxy_wasm_test_host::{Host, LogLevel, LogSource, Profile, Worker};
use serde_json::{json, Value};
use unitgate_core::{decide, decide_stage, Decision, RuntimeState};

fn counters_per_unit_and_reason(profile: Profile) {
    let host = Host::new(profile);
    let (c, _ws) = chain(&host, &config(&dual_city(), "uc", profile));
    for _ in 0..3 {
        Req::get("/api/orders?city_id=600").send_chain(&c);
    }
    for _ in 0..2 {
        Req::get("/api/orders?city_id=100").send_chain(&c);
    }
    Req::get("/admin/users").send_chain(&c);
    for m in ["shard", "gray", "isolation"] {
        let metric = |unit: &str, reason: &str| {
            host.metric(&format!(
                "unitgate.{m}.decisions.unit.{unit}.reason.{reason}"
            ))
        };
        assert_eq!(metric("jc", "key_range"), Some(3), "{profile} {m}");
        assert_eq!(metric("uc", "key_range"), Some(2), "{profile} {m}");
        assert_eq!(metric("uc", "global"), Some(1), "{profile} {m}");
    }
    let host = Host::new(profile);
    let w = start(&host, SHARD, &config(&center_units(), "unit-sh", profile));
    Req::get("/account").send(&w);
    let name = "unitgate.shard.replies.status.400.reason.missing_key_reject";
    assert_eq!(host.metric(name), Some(1));
}

fn core_decision(cfg: &Value, name: &str, req: &Req, now_ms: u64) -> Decision<'static> {
    let (p, i) = (compiled(cfg), ingress(cfg));
    let state = RuntimeState {
        now_ms,
        ..RuntimeState::default()
    };
    match MODULES.iter().find(|(m, _)| *m == name) {
        Some((_, stage)) => decide_stage(&p, &i, &req.view(), &state, *stage).into_owned(),
        None => decide(&p, &i, &req.view(), &state).into_owned(),
    }
}

fn explain_header_is_opt_in_and_has_no_secret(profile: Profile) {
    let host = Host::new(profile);
    for (policy, local, req) in [
        (dual_city(), "uc", Req::get("/api/orders?city_id=600")),
        (center_units(), "unit-sh", Req::get("/account")),
        (center_units(), "unit-sh", Req::get("/inventory/1")),
    ] {
        let mut cfg = config(&policy, local, profile);
        cfg["explain"] = json!(false);
        let version = policy["version"].as_str().unwrap();
        for (name, send) in senders(&host, &cfg) {
            let r = send(&req);
            assert_eq!(
                r.response_header("x-unitgate-explain"),
                None,
                "{name}: opt-in"
            );
        }
        cfg["explain"] = json!(true);
        for (name, send) in senders(&host, &cfg) {
            let r = send(&req);
            let values = r.response_header_all("x-unitgate-explain");
            let want = match core_decision(&cfg, name, &req, host.now_ms()) {
                Decision::Route(route) => unitgate_core::explain(&route, version),
                Decision::Reply(l) => {
                    format!("reply={}; reason={}; version={version}", l.status, l.reason)
                }
                Decision::NeedBody => unreachable!(),
            };
            assert_eq!(values, [want.as_str()], "{profile} {name}");
            assert!(!values[0].contains(SECRET));
        }
    }
}

/// Requests of every kind: routes, gray, tester, forwarded, replies, body keys.
fn varied_requests(now: u64) -> Vec<Req> {
    let token = unitgate_core::tester_token(SECRET.as_bytes(), "jc", now + 60_000);
    let peer = orders_stamp_from_jcloud(now, ("GET", "/api/orders", "600"));
    let mut out = vec![
        Req::get("/api/orders?city_id=600"),
        Req::get("/api/orders").header("x-unitgate-tester", &token),
        Req::get("/api/orders?city_id=600").header("x-unitgate-ctx", &peer),
        Req::get("/api/profile"),
        Req::new("POST", "/admin/x"),
        Req::get("/api/orders").header("x-city-id", "zzz"),
    ];
    for i in 0..40 {
        out.push(Req::get("/api/orders?city_id=42").header("x-user-id", &format!("u{i}")));
        out.push(Req::get("/api/orders?city_id=42"));
    }
    out
}

fn center_requests() -> Vec<Req> {
    vec![
        Req::get("/trade/orders"),
        Req::new("POST", "/trade/orders").body(r#"{"buyer":{"id":7000}}"#),
        Req::new("POST", "/trade/orders").body("not json"),
        Req::new("POST", "/catalog/x"),
    ]
}

/// Log lines each worker wrote since `marks`.
fn new_logs(ws: &[Worker], marks: &[usize]) -> Vec<(LogLevel, LogSource, String)> {
    ws.iter()
        .zip(marks)
        .flat_map(|(w, &mark)| w.logs().into_iter().skip(mark))
        .map(|l| (l.level, l.source, l.message))
        .collect()
}

fn per_request_logs_are_debug_and_secret_free(profile: Profile) {
    let host = Host::new(profile);
    let mut dual = config(&dual_city(), "uc", profile);
    dual["log_requests"] = json!(true);
    let mut center = config(&center_units(), "unit-sh", profile);
    center["log_requests"] = json!(true);
    // Without log_requests nothing is logged per request, even at debug level.
    let mut quiet = dual.clone();
    quiet["log_requests"] = json!(false);
    let w = start_at(&host, PIPELINE, &quiet, LogLevel::Debug);
    let mark = w.logs().len();
    for req in varied_requests(host.now_ms()) {
        req.send(&w);
    }
    assert_eq!(w.logs().len(), mark, "{profile}: {:?}", w.logs());
    for (cfg, reqs) in [
        (&dual, varied_requests(host.now_ms())),
        (&center, center_requests()),
    ] {
        for level in [LogLevel::Debug, LogLevel::Info] {
            let ws: Vec<Worker> = CHAIN_MODULES
                .iter()
                .map(|(m, _)| start_at(&host, m, cfg, level))
                .collect();
            let marks: Vec<usize> = ws.iter().map(|w| w.logs().len()).collect();
            let c = proxy_wasm_test_host::Chain::new(&[&ws[0], &ws[1], &ws[2]]).unwrap();
            for req in &reqs {
                let r = req.send_chain(&c);
                let up = r.upstream().map(|u| u.headers.clone()).unwrap_or_default();
                for (k, v) in up.iter().chain(r.response_headers()) {
                    assert!(!v.contains(SECRET), "{profile}: secret in header {k}");
                }
            }
            let logs = new_logs(&ws, &marks);
            for (lvl, source, msg) in &logs {
                assert_eq!(*lvl, LogLevel::Debug, "{profile}: {source:?} {msg}");
                assert!(!msg.contains(SECRET), "{profile}: secret logged: {msg}");
            }
            match level {
                // Every request leaves a debug line per module that saw it.
                LogLevel::Debug => assert!(logs.len() >= reqs.len(), "{profile}: {logs:?}"),
                _ => assert!(logs.is_empty(), "{profile}: info level: {logs:?}"),
            }
        }
    }
    // Configuration logs never carry the secret, not even a rejected one.
    let w = start_at(&host, GRAY, &dual, LogLevel::Debug);
    let mut bad = dual.clone();
    bad["secret"] = json!({"value": SECRET});
    assert!(w.reconfigure(bad.to_string()).is_err());
    for l in host.logs() {
        assert!(
            !l.message.contains(SECRET),
            "{profile}: secret logged: {}",
            l.message
        );
    }
}

both_profiles!(
    counters_per_unit_and_reason,
    explain_header_is_opt_in_and_has_no_secret,
    per_request_logs_are_debug_and_secret_free,
);
