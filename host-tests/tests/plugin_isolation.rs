//! Fault isolation through the real modules: write-forbidden windows, failover (down unit,
//! per-API switch, transitive), fail_mode when no healthy unit is left, and the passive
//! breaker shared by two workers over virtual time. Both host profiles.

#[macro_use]
mod plugin_common;

use plugin_common::*;
use proxy_wasm_test_host::{Exchange, Host, LogLevel, Profile, Worker};
use serde_json::{json, Value};
use unitgate_core::{BreakerConfig, BreakerState, BreakerStatus};

/// Every way to run isolation: the one-pass module, fault-isolation alone, and the chain.
fn isolating(host: &Host, cfg: &Value) -> ([Worker; 2], Vec<Worker>) {
    let solo = [start(host, PIPELINE, cfg), start(host, ISOLATION, cfg)];
    let (_, ws) = chain(host, cfg);
    (solo, ws)
}

fn both(solo: &[Worker; 2], ws: &[Worker], req: &Req) -> [(&'static str, Exchange); 3] {
    let c = proxy_wasm_test_host::Chain::new(&[&ws[0], &ws[1], &ws[2]]).unwrap();
    [
        ("pipeline", req.send(&solo[0])),
        ("isolation", req.send(&solo[1])),
        ("chain", req.send_chain(&c)),
    ]
}

fn trade(method: &str, uid: &str) -> Req {
    Req::new(method, "/trade/orders").header("x-user-id", uid)
}

fn forbid_policy(window: Value) -> Value {
    let mut p = center_units();
    p["isolation"]["write_forbidden"] = json!([window]);
    p
}

fn write_forbidden_windows(profile: Profile) {
    let host = Host::new(profile);
    // The virtual clock starts at 2026-01-01T00:00:00Z: ten minutes left.
    let policy = forbid_policy(json!({
        "name": "sz-cutover", "units": ["unit-sz"], "key": "uid",
        "ranges": ["6666~7999"], "until": "2026-01-01T00:10:00Z"
    }));
    let cfg = config(&policy, "unit-sh", profile);
    let (iso, ws) = isolating(&host, &cfg);
    let expect_503 = |req: &Req, retry: u64| {
        for (name, r) in both(&iso, &ws, req) {
            let (status, body) = reply_of(&r);
            assert_eq!(status, 503, "{profile} {name}: {req:?}");
            let want =
                json!({"error": "write_forbidden", "window": "sz-cutover", "retry_after_s": retry});
            assert_eq!(body, want, "{profile} {name}");
            let retry_after = r.local_reply().unwrap().header("retry-after");
            assert_eq!(retry_after, Some(&*retry.to_string()), "{profile} {name}");
            assert!(r.upstream().is_none());
        }
    };
    let expect_route = |req: &Req, unit: &str| {
        for (name, r) in both(&iso, &ws, req) {
            assert_eq!(route_of(&r, profile).0, unit, "{profile} {name}: {req:?}");
        }
    };
    for m in ["POST", "PUT", "PATCH", "DELETE"] {
        expect_503(&trade(m, "7000"), 600);
    }
    // A body key counts too.
    let body = json!({"buyer": {"id": 7999}}).to_string();
    expect_503(&Req::new("POST", "/trade/orders").body(&body), 600);
    // Reads pass; other keys and units pass.
    expect_route(&trade("GET", "7000"), "unit-sz");
    expect_route(&trade("HEAD", "7000"), "unit-sz");
    expect_route(&trade("POST", "8000"), "unit-sz");
    expect_route(&trade("POST", "5000"), "unit-sh");
    // The shard router alone does not isolate.
    let shard = start(&host, SHARD, &cfg);
    assert_eq!(
        route_of(&trade("POST", "7000").send(&shard), profile).0,
        "unit-sz"
    );

    host.advance(100_000).unwrap();
    expect_503(&trade("POST", "7000"), 500);
    host.advance(499_999).unwrap();
    expect_503(&trade("POST", "7000"), 1);
    host.advance(1).unwrap();
    expect_route(&trade("POST", "7000"), "unit-sz");
    let replies = host.metric("unitgate.isolation.replies.status.503.reason.write_forbidden");
    assert_eq!(replies, Some(7 * 2), "{profile}: alone and chained");
    let replies = host.metric("unitgate.pipeline.replies.status.503.reason.write_forbidden");
    assert_eq!(replies, Some(7), "{profile}: the one-pass module");
}

fn write_forbidden_until_past_and_retry_after(profile: Profile) {
    let host = Host::new(profile);
    // The example's window ends at 2026-01-01T00:00:00Z: over once the clock passes it.
    host.advance(1).unwrap();
    let (iso, ws) = isolating(&host, &config(&center_units(), "unit-sh", profile));
    for (name, r) in both(&iso, &ws, &trade("POST", "7000")) {
        assert_eq!(route_of(&r, profile).0, "unit-sz", "{profile} {name}");
    }
    // Without `until`: forbidden, Retry-After from retry_after_s.
    let policy = forbid_policy(json!({"name": "all-writes", "retry_after_s": 17}));
    let (iso, ws) = isolating(&host, &config(&policy, "unit-sh", profile));
    for (name, r) in both(&iso, &ws, &Req::new("PUT", "/catalog/x")) {
        assert_eq!(reply_of(&r).1["retry_after_s"], 17, "{profile} {name}");
        assert_eq!(r.local_reply().unwrap().header("retry-after"), Some("17"));
    }
    for (name, r) in both(&iso, &ws, &Req::get("/catalog/x")) {
        assert_eq!(route_of(&r, profile).2, "shared_read", "{profile} {name}");
    }
}

fn failover_down_unit_and_api_switch(profile: Profile) {
    let host = Host::new(profile);
    let mut policy = dual_city();
    policy["isolation"]["down_units"] = json!(["jc"]);
    let (iso, ws) = isolating(&host, &config(&policy, "uc", profile));
    for (name, r) in both(&iso, &ws, &Req::get("/api/orders?city_id=600")) {
        let want = ("uc".into(), "uc_backend".into(), "failover_down".into());
        assert_eq!(route_of(&r, profile), want, "{profile} {name}");
    }

    let mut policy = center_units();
    policy["isolation"]["api_switches"] = json!([{"api": "trade", "down_units": ["unit-sz"]}]);
    let (iso, ws) = isolating(&host, &config(&policy, "unit-sh", profile));
    for (name, r) in both(&iso, &ws, &trade("GET", "7000")) {
        let want = (
            "center".into(),
            "peer_hangzhou".into(),
            "failover_api_switch".into(),
        );
        assert_eq!(route_of(&r, profile), want, "{profile} {name}");
    }
    // Another API of the same unit is unaffected.
    let account = Req::get("/account").header("x-user-id", "7000");
    for (name, r) in both(&iso, &ws, &account) {
        assert_eq!(route_of(&r, profile).2, "key_range", "{profile} {name}");
    }

    // Transitive: unit-sz -> center (down too) -> unit-sh.
    let mut policy = center_units();
    policy["isolation"]["down_units"] = json!(["unit-sz", "center"]);
    policy["isolation"]["failover"] = json!({"unit-sz": "center", "center": "unit-sh"});
    let (iso, ws) = isolating(&host, &config(&policy, "unit-sz", profile));
    for (name, r) in both(&iso, &ws, &trade("GET", "7000")) {
        let want = (
            "unit-sh".into(),
            "peer_shanghai".into(),
            "failover_down".into(),
        );
        assert_eq!(route_of(&r, profile), want, "{profile} {name}");
    }
}

fn fail_mode_when_no_healthy_unit(profile: Profile) {
    let host = Host::new(profile);
    let mut policy = dual_city();
    policy["isolation"]["down_units"] = json!(["jc", "uc"]);
    for mode in ["open", "closed"] {
        let mut cfg = config(&policy, "uc", profile);
        cfg["fail_mode"] = json!(mode);
        let (iso, ws) = isolating(&host, &cfg);
        for (name, r) in both(&iso, &ws, &Req::get("/api/orders?city_id=600")) {
            if mode == "open" {
                let want = ("uc".into(), "uc_backend".into(), "no_healthy_unit".into());
                assert_eq!(route_of(&r, profile), want, "{profile} {name}");
            } else {
                let (status, body) = reply_of(&r);
                assert_eq!((status, &body["error"]), (503, &json!("no_healthy_unit")));
            }
        }
    }
    assert_eq!(
        host.metric("unitgate.isolation.replies.status.503.reason.no_healthy_unit"),
        Some(2)
    );
    assert_eq!(
        host.metric("unitgate.pipeline.replies.status.503.reason.no_healthy_unit"),
        Some(1)
    );
}

fn breaker_config(policy: &Value) -> BreakerConfig {
    serde_json::from_value(policy["isolation"]["breaker"].clone()).unwrap()
}

/// Breaker status of `unit` as every worker reads it from shared data.
fn breaker(host: &Host, cfg: &BreakerConfig, unit: &str) -> BreakerStatus {
    match host.shared_data(&format!("unitgate.breaker.{unit}")) {
        Some(bytes) => BreakerState::decode(&bytes)
            .expect("breaker state decodes")
            .status(cfg, host.now_ms()),
        None => BreakerStatus::Closed,
    }
}

fn breaker_across_two_workers(profile: Profile) {
    breaker_across_two_workers_of(profile, PIPELINE);
    breaker_across_two_workers_of(profile, ISOLATION);
}

fn breaker_across_two_workers_of(profile: Profile, module: &str) {
    let host = Host::new(profile);
    let policy = dual_city();
    let bc = breaker_config(&policy);
    assert_eq!(
        (bc.min_requests, bc.open_ms, bc.half_open_probes),
        (20, 5000, 3)
    );
    let cfg = config(&policy, "uc", profile);
    let plugin = host
        .module(module)
        .unwrap()
        .config(cfg.to_string())
        .ngx_var(NGX_VAR)
        .ngx_var(NGX_CTX_VAR);
    let ws = plugin.start_workers(2).unwrap();
    let city600 = Req::get("/api/orders?city_id=600");
    let send = |w: &Worker, status: u16| {
        let r = city600
            .onto(w.request())
            .respond(status, &[], "")
            .send()
            .unwrap();
        route_of(&r, profile)
    };
    let jc = |reason: &str| {
        (
            "jc".to_string(),
            "peer_jcloud".to_string(),
            reason.to_string(),
        )
    };
    let opened = format!("unitgate.{}.breaker.opened.unit.jc", metric_name(module));
    let opened = opened.as_str();

    // 10 upstream 503s on each worker: neither alone reaches min_requests (20).
    for i in 0..19 {
        assert_eq!(send(&ws[i % 2], 503), jc("key_range"), "{profile} #{i}");
    }
    assert_eq!(breaker(&host, &bc, "jc"), BreakerStatus::Closed);
    assert_eq!(send(&ws[1], 503), jc("key_range"));
    assert_eq!(breaker(&host, &bc, "jc"), BreakerStatus::Open, "{profile}");
    assert_eq!(host.metric(opened), Some(1));
    assert!(host
        .logs()
        .iter()
        .any(|l| l.level == LogLevel::Info && l.message.contains("breaker opened for unit jc")));

    // Both workers fail over while it is open (uc's 200s do not touch jc's breaker).
    let failover = (
        "uc".to_string(),
        "uc_backend".to_string(),
        "failover_breaker".to_string(),
    );
    for w in &ws {
        assert_eq!(send(w, 200), failover, "{profile}: worker {}", w.id());
    }
    host.advance(bc.open_ms - 1).unwrap();
    assert_eq!(send(&ws[0], 200), failover);

    // Half-open after open_ms: probes go through; an error reopens.
    host.advance(1).unwrap();
    assert_eq!(breaker(&host, &bc, "jc"), BreakerStatus::HalfOpen);
    assert_eq!(send(&ws[0], 502), jc("key_range"));
    assert_eq!(breaker(&host, &bc, "jc"), BreakerStatus::Open);
    assert_eq!(host.metric(opened), Some(2));
    assert_eq!(send(&ws[1], 200), failover);

    // Half-open again: half_open_probes successes, from both workers, close it.
    host.advance(bc.open_ms).unwrap();
    for i in 0..3 {
        assert_eq!(
            send(&ws[i % 2], 200),
            jc("key_range"),
            "{profile} probe {i}"
        );
    }
    assert_eq!(
        breaker(&host, &bc, "jc"),
        BreakerStatus::Closed,
        "{profile}"
    );
    // Closed with a fresh window: 19 errors do not open it.
    for i in 0..19 {
        assert_eq!(send(&ws[i % 2], 500), jc("key_range"));
    }
    assert_eq!(breaker(&host, &bc, "jc"), BreakerStatus::Closed);
    assert_eq!(host.metric(opened), Some(2));
    // Old errors leave the sliding window: after window_ms, 19 more still do not open it.
    host.advance(bc.window_ms).unwrap();
    for i in 0..19 {
        assert_eq!(send(&ws[i % 2], 500), jc("key_range"));
    }
    assert_eq!(breaker(&host, &bc, "jc"), BreakerStatus::Closed);
}

/// Four workers: successes of a closed breaker are not written to shared data on every
/// response, every error is, and none is lost: 19 errors spread over the workers keep it
/// closed, the 20th opens it. The one-pass module and fault-isolation.
fn breaker_loses_no_failure_across_four_workers(profile: Profile) {
    for module in [PIPELINE, ISOLATION] {
        let host = Host::new(profile);
        let policy = dual_city();
        let bc = breaker_config(&policy);
        let cfg = config(&policy, "uc", profile);
        let ws = host
            .module(module)
            .unwrap()
            .config(cfg.to_string())
            .ngx_var(NGX_VAR)
            .ngx_var(NGX_CTX_VAR)
            .start_workers(4)
            .unwrap();
        let send = |w: &Worker, status: u16| {
            let r = Req::get("/api/orders?city_id=600")
                .onto(w.request())
                .respond(status, &[], "")
                .send()
                .unwrap();
            assert_eq!(route_of(&r, profile).0, "jc", "{profile} {module}");
            r.host_calls().count("proxy_set_shared_data")
        };
        // Successes within one time bucket: held by each worker, no shared write.
        let writes: u64 = (0..40).map(|i| send(&ws[i % 4], 200)).sum();
        assert_eq!(writes, 0, "{profile} {module}: successes are not written");
        // Once they are out of the window they no longer count.
        host.advance(bc.window_ms + 1).unwrap();
        for i in 0..19 {
            assert_eq!(send(&ws[i % 4], 503), 1, "{profile} {module}: errors are");
        }
        assert_eq!(breaker(&host, &bc, "jc"), BreakerStatus::Closed);
        send(&ws[3], 503);
        assert_eq!(
            breaker(&host, &bc, "jc"),
            BreakerStatus::Open,
            "{profile} {module}: the 20th error opens it"
        );
    }
}

/// `consecutive_errors`: errors in a row open the breaker long before the percentage would;
/// on Envoy an answer from a peer's failover listener (`x-unitgate-failover`) is such an error.
fn breaker_opens_on_errors_in_a_row(profile: Profile) {
    for failover_answer in [false, true] {
        let host = Host::new(profile);
        let mut policy = dual_city();
        policy["isolation"]["breaker"]["consecutive_errors"] = json!(3);
        let bc = breaker_config(&policy);
        let w = start(&host, PIPELINE, &config(&policy, "uc", profile));
        let city600 = Req::get("/api/orders?city_id=600");
        let send = |status: u16, headers: &[(&str, &str)]| {
            let r = city600
                .onto(w.request())
                .respond(status, headers, "")
                .send()
                .unwrap();
            route_of(&r, profile).2
        };
        // 15 successes: 50% of the window would take 15 errors.
        for _ in 0..15 {
            assert_eq!(send(200, &[]), "key_range");
        }
        let error: (u16, &[(&str, &str)]) = if failover_answer {
            (200, &[("x-unitgate-failover", "ucloud")])
        } else {
            (503, &[])
        };
        send(error.0, error.1);
        send(error.0, error.1);
        send(200, &[]);
        send(error.0, error.1);
        send(error.0, error.1);
        assert_eq!(
            breaker(&host, &bc, "jc"),
            BreakerStatus::Closed,
            "{profile}: a success broke the run"
        );
        send(error.0, error.1);
        // Envoy's failover listener and nginx's failover server (the `backup`) both mark
        // their answers.
        assert_eq!(
            breaker(&host, &bc, "jc"),
            BreakerStatus::Open,
            "{profile}: failover answer {failover_answer}"
        );
        assert_eq!(send(200, &[]), "failover_breaker");
    }
}

both_profiles!(
    breaker_opens_on_errors_in_a_row,
    breaker_loses_no_failure_across_four_workers,
    write_forbidden_windows,
    write_forbidden_until_past_and_retry_after,
    failover_down_unit_and_api_switch,
    fail_mode_when_no_healthy_unit,
    breaker_across_two_workers,
);
