//! Configuration through the real modules: an invalid initial configuration fails start()
//! with the exact validation errors in the logs; a bad reload is rejected and the last good
//! policy keeps serving; a good reload applies. Both host profiles, every module.

#[macro_use]
mod plugin_common;

use plugin_common::*;
use proxy_wasm_test_host::{Host, HostError, LogLevel, Profile};
use serde_json::{json, Value};
use unitgate_core::CTX_HEADER;

fn short(module: &str) -> &'static str {
    metric_name(module)
}

/// "error at <path>: <message>" lines the core reports for `policy`, under `/policy`.
fn core_policy_errors(policy: &Value) -> Vec<String> {
    let Err(report) = unitgate_core::load(&policy.to_string()) else {
        panic!("the policy should be invalid");
    };
    assert!(!report.errors.is_empty());
    report
        .errors
        .iter()
        .map(|i| format!("error at /policy{}: {}", i.path, i.message))
        .collect()
}

/// A policy with two errors: overlapping ranges and an unknown failover unit.
fn bad_policy() -> Value {
    let mut p = dual_city();
    p["rules"][0]["ranges"][1]["ranges"] = json!(["499~999"]);
    p["isolation"]["failover"] = json!({"jc": "nowhere"});
    p
}

fn assert_lines(logs: &str, module: &str, lines: &[String]) {
    for line in lines {
        let want = format!("unitgate {}: {line}", short(module));
        assert!(logs.contains(&want), "missing log line {want:?} in\n{logs}");
    }
}

fn invalid_initial_config_fails_start_with_exact_errors(profile: Profile) {
    let host = Host::new(profile);
    let mut cfg = config(&bad_policy(), "uc", profile);
    cfg["fail_mode"] = json!("sideways");
    cfg["bogus"] = json!(1);
    let mut want = core_policy_errors(&bad_policy());
    want.push(r#"error at /fail_mode: must be "open" or "closed""#.to_string());
    want.push("error at /bogus: unknown field".to_string());
    // Ingress errors are checked against a policy that loads.
    let mut ingress_cfg = config(&dual_city(), "nowhere", profile);
    ingress_cfg["remote_upstreams"] = json!({"marscloud": "peer_mars"});
    let ingress_errors: Vec<String> = compiled(&ingress_cfg)
        .check_ingress(&ingress(&ingress_cfg))
        .unwrap_err()
        .iter()
        .map(|i| format!("error at {}: {}", i.path, i.message))
        .collect();
    assert_eq!(ingress_errors.len(), 2);

    for (m, _) in MODULES {
        for (cfg, want) in [(&cfg, &want), (&ingress_cfg, &ingress_errors)] {
            let plugin = host.module(m).unwrap().config(cfg.to_string());
            let err = plugin.start().err().expect("start must fail");
            let HostError::Rejected { hook, logs, .. } = &err else {
                panic!("{profile} {m}: {err}");
            };
            assert_eq!(*hook, "proxy_on_configure");
            assert_lines(logs, m, want);
            assert!(logs.contains("no policy is loaded"), "{logs}");
            assert!(
                !logs.contains(SECRET),
                "{profile} {m}: the secret was logged"
            );
        }
        assert_eq!(
            host.metric(&format!("unitgate.{}.config.rejected", short(m))),
            Some(2)
        );
    }
    // Error lines are at error level, one per issue.
    let errors = host
        .logs()
        .iter()
        .filter(|l| l.level == LogLevel::Error && l.message.contains(": error at "))
        .count();
    assert_eq!(
        errors,
        MODULES.len() * (want.len() + ingress_errors.len()),
        "{profile}"
    );
}

fn bad_reload_keeps_the_last_good_policy(profile: Profile) {
    let host = Host::new(profile);
    let good = config(&dual_city(), "uc", profile);
    let version = dual_city()["version"].as_str().unwrap().to_string();
    let city600 = Req::get("/api/orders?city_id=600");
    for (m, _) in MODULES {
        let w = start(&host, m, &good);
        let before = routed(&city600.send(&w), profile);
        assert_eq!((&*before.unit, &*before.version), ("jc", &*version));

        // Rejected: every error logged with its JSON pointer, the old policy still routes.
        let mut bad = good.clone();
        bad["policy"] = bad_policy();
        bad["body_limit"] = json!("lots");
        let err = w.reconfigure(bad.to_string()).unwrap_err();
        assert!(matches!(err, HostError::Rejected { .. }), "{err}");
        let mut want = core_policy_errors(&bad_policy());
        want.push("error at /body_limit".to_string());
        assert_lines(&w.log_text(), m, &want);
        let keeps = format!("policy {version} keeps serving");
        assert!(w.log_text().contains(&keeps), "{}", w.log_text());
        assert_eq!(routed(&city600.send(&w), profile), before, "{profile} {m}");
        // Not JSON at all: rejected the same way.
        assert!(w.reconfigure("{not json").is_err());
        assert_eq!(route_of(&city600.send(&w), profile).0, "jc");
        let rejected = format!("unitgate.{}.config.rejected", short(m));
        assert_eq!(host.metric(&rejected), Some(2), "{profile} {m}");

        // A good reload applies at once.
        let mut next = good.clone();
        next["policy"]["version"] = json!("v2");
        next["policy"]["rules"][0]["ranges"] = json!([{"unit": "uc", "ranges": ["0~999"]}]);
        next["policy"]["isolation"]["failover"] = json!({});
        next["policy"]["gray"] = json!([]);
        w.reconfigure(next.to_string()).unwrap();
        let after = routed(&city600.send(&w), profile);
        assert_eq!(
            (&*after.unit, &*after.version),
            ("uc", "v2"),
            "{profile} {m}"
        );
        assert!(w.log_text().contains("policy v2 loaded for unit uc"));
    }
}

/// With no valid policy ever loaded (a host that serves despite a rejected `on_configure`),
/// `fail_mode` decides: open passes through unrouted, closed replies 503. Either way no inbound
/// internal header, forged ctx or cluster header reaches the upstream.
fn no_valid_policy_fails_open_or_closed(profile: Profile) {
    let host = Host::new(profile);
    // nginx: the conf's lines (nginx/nginx.conf) keep the cluster header and the stamp off.
    host.ngx_proxy_set_header("x-unitgate-ctx", &format!("${NGX_CTX_VAR}"))
        .ngx_proxy_set_header(CLUSTER_HEADER, "");
    let forged = Req::get("/api/orders?city_id=600")
        .header("x-unitgate-cluster", "jc_backend")
        .header(
            "x-unitgate-ctx",
            "v1;1;ucloud;jc;orders;core;key_range;v;1;AAAA",
        )
        .header("x-unitgate-unit", "jc");
    for (m, _) in MODULES {
        for mode in ["open", "closed"] {
            let mut cfg = config(&bad_policy(), "uc", profile);
            cfg["fail_mode"] = json!(mode);
            let w = host
                .module(m)
                .unwrap()
                .config(cfg.to_string())
                .ngx_var(NGX_VAR)
                .ngx_var(NGX_CTX_VAR)
                .keep_rejected()
                .start()
                .unwrap();
            let r = forged.send(&w);
            if mode == "closed" {
                let (status, body) = reply_of(&r);
                assert_eq!((status, body), (503, json!({"error": "no_policy"})), "{m}");
                continue;
            }
            let up = r
                .upstream()
                .unwrap_or_else(|| panic!("{profile} {m}: open must pass through"));
            let internal: Vec<_> = up
                .headers
                .iter()
                .filter(|(k, _)| k.starts_with("x-unitgate-"))
                // nginx forwards the other x-unitgate-* headers (see nginx/README.md).
                .filter(|(k, _)| !profile.is_ngx() || k == CLUSTER_HEADER || k == CTX_HEADER)
                .collect();
            assert!(internal.is_empty(), "{profile} {m}: {internal:?}");
            // Unrouted: the nginx variable keeps its `set` default.
            assert!(r.ngx_var(NGX_VAR).unwrap_or("").is_empty(), "{profile} {m}");
        }
    }
}

both_profiles!(
    no_valid_policy_fails_open_or_closed,
    invalid_initial_config_fails_start_with_exact_errors,
    bad_reload_keeps_the_last_good_policy,
);
