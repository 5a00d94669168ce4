//! Real nginx, policy changes by `nginx -s reload`: a gray rollout that is sticky and only
//! grows, a write-forbidden window, a new policy version, and a bad policy.

mod common;

use common::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use unitgate_envoy::{clock, policies, Request};
use unitgate_nginx::Reload;

fn with_gray(policy: &Value, percent: u32) -> Value {
    let mut p = policies::with_gray_percent(policy, f64::from(percent));
    p["version"] = json!(format!("parity-gray-{percent}"));
    p
}

fn assert_applied(outcomes: &[(String, Reload)]) {
    for (cloud, outcome) in outcomes {
        assert_eq!(*outcome, Reload::Applied, "{cloud}");
    }
}

/// Users of the gray city that the ingress sends to jc; each user asked twice.
fn moved_users(clouds: &unitgate_nginx::Clouds, policy: &Value) -> BTreeSet<String> {
    let mut moved = BTreeSet::new();
    for i in 0..40 {
        let user = format!("user-{i}");
        let req = Request::get("/api/orders").city("21").user(&user);
        let first = clouds.send(UC, &req).unwrap().served_by().unwrap();
        let again = clouds.send(UC, &req).unwrap().served_by().unwrap();
        assert_eq!(first, again, "{user} flapped");
        assert_eq!(first, core_unit(policy, UC, &req), "{user}");
        if first == "jc" {
            moved.insert(user);
        }
    }
    moved
}

#[test]
fn gray_rollout_is_sticky_and_monotone_across_reloads() {
    let start_policy = with_gray(&policy(), 0);
    let mut clouds = start("e2e-gray", start_policy.clone());
    assert!(moved_users(&clouds, &start_policy).is_empty());
    let mut before = BTreeSet::new();
    for percent in [30, 60, 100] {
        let p = with_gray(&policy(), percent);
        assert_applied(&clouds.reload(p.clone()).unwrap());
        let moved = moved_users(&clouds, &p);
        assert!(
            moved.is_superset(&before),
            "{percent}%: a moved user came back"
        );
        if percent < 100 {
            assert!(
                !moved.is_empty() && moved.len() < 40,
                "{percent}%: {}",
                moved.len()
            );
        } else {
            assert_eq!(moved.len(), 40);
        }
        let r = clouds
            .send(UC, &Request::get("/api/orders").city("21").user("user-1"))
            .unwrap();
        let version = format!("parity-gray-{percent}");
        assert_eq!(r.explain("version"), Some(version), "the new policy serves");
        before = moved;
    }
}

#[test]
fn write_forbidden_window_and_bad_reload() {
    let mut clouds = start("e2e-dynamic", policy());
    let write = Request::post("/api/orders", "{}").city("720");
    let read = Request::get("/api/orders").city("720");
    assert_eq!(
        clouds.send(UC, &write).unwrap().served_by().as_deref(),
        Some("jc")
    );

    // A cutover window on jc: writes get 503 with Retry-After and never reach jc; reads pass.
    let until = clock::now_ms() / 1000 + 120;
    let windowed = policies::with_write_forbidden(&policy(), "cutover", &["jc"], until);
    assert_applied(&clouds.reload(windowed.clone()).unwrap());
    let hits = clouds.backend("jc").unwrap().hits();
    for cloud in [UC, JC] {
        let r = clouds.send(cloud, &write).unwrap();
        assert_eq!(r.status, 503, "{cloud}: {}", r.body);
        assert_eq!(r.header("content-type"), Some("application/json"));
        let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=120).contains(&retry), "retry-after {retry}");
        let body: Value = serde_json::from_str(&r.body).unwrap();
        assert_eq!(body["error"], "write_forbidden", "{body}");
        assert_eq!(
            clouds.send(cloud, &read).unwrap().served_by().as_deref(),
            Some("jc")
        );
    }
    assert_eq!(
        clouds.backend("jc").unwrap().hits(),
        hits + 2,
        "only the reads reached jc"
    );
    let uc_write = Request::post("/api/orders", "{}").city("7");
    assert_eq!(
        clouds.send(UC, &uc_write).unwrap().served_by().as_deref(),
        Some("uc")
    );

    // A bad policy: the check refuses it with the module's own error, nginx is not
    // signalled, and the window policy keeps serving.
    let mut bad = windowed.clone();
    bad["version"] = json!("parity-bad");
    bad["rules"][0]["ranges"][1]["ranges"] = json!(["200~999"]);
    for (cloud, outcome) in clouds.reload(bad.clone()).unwrap() {
        let Reload::NotSent(why) = outcome else {
            panic!("{cloud}: {outcome:?}");
        };
        assert!(why.contains("/policy/rules/0/ranges/1/ranges/0"), "{why}");
    }
    let r = clouds.send(UC, &write).unwrap();
    assert_eq!(
        r.status, 503,
        "the previous policy keeps serving: {}",
        r.body
    );
    let r = clouds.send(UC, &read).unwrap();
    assert_eq!(
        r.explain("version").as_deref(),
        Some("demo-cutover-cutover")
    );

    // Why the check exists: reloaded anyway, each new worker refuses the policy, exits with
    // fatal code 2 and is not respawned; the old workers are gone, so nothing answers.
    let outcome = clouds.reload_unchecked(JC, bad).unwrap();
    assert!(matches!(outcome, Reload::Failed(_)), "{outcome:?}");
    let quick = unitgate_envoy::Client::with_timeout(std::time::Duration::from_secs(2));
    let port = clouds.ingress(JC).unwrap().proxy.listen_port();
    assert!(quick.send(port, &read).is_err(), "a worker still answers");
    let log = clouds.nginx(JC).unwrap().log_since(0);
    assert!(log.contains("cannot be respawned"), "{log}");
}
