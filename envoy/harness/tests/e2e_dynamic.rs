//! Policy swapped live through ECDS (atomic file rename): a sticky gray rollout that matches the
//! core bucket by bucket, zero failed requests while policies flip under load, and a
//! write-forbidden cutover window.

mod common;

use common::*;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use unitgate_envoy::policies::{self, GRAY_CITY};
use unitgate_envoy::{clock, Client, ConfigMode, Request};

#[test]
fn gray_rollout_is_sticky_monotone_and_matches_the_core() {
    let base = policies::demo_policy();
    let mut mc = start("e2e-gray", base.clone(), ConfigMode::Ecds);
    let users: Vec<String> = (0..60).map(|i| format!("u{i}")).collect();
    let mut previous = BTreeSet::new();
    for percent in [0.0, 20.0, 100.0] {
        let policy = policies::with_gray_percent(&base, percent);
        mc.set_policy(policy.clone()).unwrap();
        let mut on_jc = BTreeSet::new();
        for (i, user) in users.iter().enumerate() {
            let cloud = if i % 2 == 0 { UC } else { JC };
            let req = Request::get("/api/orders/1").city(GRAY_CITY).user(user);
            let r = mc.send(cloud, &req).unwrap();
            assert_eq!(r.status, 200, "{}", r.body);
            let unit = r.served_by().unwrap();
            assert_eq!(
                unit,
                core_unit(&policy, cloud, &req),
                "{user} at {percent}%"
            );
            if unit == "jc" {
                on_jc.insert(user.clone());
            }
        }
        match percent {
            0.0 => assert!(on_jc.is_empty()),
            100.0 => assert_eq!(on_jc.len(), users.len()),
            _ => assert!(
                (3..=25).contains(&on_jc.len()),
                "{} users at 20%",
                on_jc.len()
            ),
        }
        assert!(
            previous.is_subset(&on_jc),
            "a user moved back at {percent}%"
        );
        previous = on_jc;
    }
    let gray = decisions(&mc, UC, m(&mc), "jc", "gray") + decisions(&mc, JC, m(&mc), "jc", "gray");
    assert!(gray >= users.len() as u64, "gray decisions counted: {gray}");
}

#[test]
fn ecds_swaps_under_load_fail_no_request_and_change_routing() {
    let base = policies::demo_policy();
    let mut mc = start("e2e-ecds", base.clone(), ConfigMode::Ecds);
    let port = mc.ingress(UC).unwrap().envoy.listen_port;
    let stop = Arc::new(AtomicBool::new(false));
    let load = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let client = Client::new();
            let req = Request::get("/api/orders/1").city(GRAY_CITY).user("steady");
            let mut seen = Vec::new();
            // Bounded: at most 5000 requests even if the main thread never stops us.
            while !stop.load(Ordering::SeqCst) && seen.len() < 5000 {
                let outcome = match client.send(port, &req) {
                    Ok(r) => (r.status, r.served_by().unwrap_or_default()),
                    Err(e) => (0, e.to_string()),
                };
                seen.push(outcome);
            }
            seen
        })
    };
    let all_in = policies::with_gray_percent(&base, 100.0);
    for policy in [&all_in, &base, &all_in] {
        std::thread::sleep(Duration::from_millis(300));
        mc.set_policy(policy.clone()).unwrap();
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    let seen = load.join().unwrap();
    let failed: Vec<_> = seen.iter().filter(|(s, _)| *s != 200).collect();
    assert!(seen.len() >= 20, "only {} requests flowed", seen.len());
    assert!(
        failed.is_empty(),
        "{} of {} failed: {:?}",
        failed.len(),
        seen.len(),
        &failed[..failed.len().min(5)]
    );
    let units: BTreeSet<&str> = seen.iter().map(|(_, u)| u.as_str()).collect();
    assert_eq!(units, BTreeSet::from(["uc", "jc"]), "routing never changed");
    assert_eq!(seen.last().map(|(_, u)| u.as_str()), Some("jc"));
    // Requests routed by each policy: uc before the first swap, jc after the last.
    assert_eq!(seen.first().map(|(_, u)| u.as_str()), Some("uc"));
}

#[test]
fn write_forbidden_window_rejects_writes_and_serves_reads() {
    let base = policies::demo_policy();
    let mut mc = start("e2e-cutover", base.clone(), ConfigMode::Ecds);
    let until = clock::now_ms() / 1000 + 20;
    mc.set_policy(policies::with_write_forbidden(
        &base,
        "jc-cutover",
        &["jc"],
        until,
    ))
    .unwrap();
    let metric = format!(
        "wasmcustom.unitgate.{}.replies.status.503.reason.write_forbidden",
        m(&mc)
    );
    let metric = metric.as_str();
    let before = counter(&mc, UC, metric) + counter(&mc, JC, metric);
    for cloud in [UC, JC] {
        let write = mc
            .send(cloud, &Request::post("/api/orders", "{}").city("720"))
            .unwrap();
        assert_eq!(write.status, 503, "{}", write.body);
        let retry: u64 = write.header("retry-after").unwrap().parse().unwrap();
        assert!((1..=20).contains(&retry), "retry-after {retry}");
        let body = write.json().unwrap();
        assert_eq!(body["error"], "write_forbidden");
        assert_eq!(body["window"], "jc-cutover");
        let put = mc
            .send(
                cloud,
                &Request::new("PUT", "/api/orders/1").city("720").body("{}"),
            )
            .unwrap();
        assert_eq!(put.status, 503);
        let read = mc
            .send(cloud, &Request::get("/api/orders/1").city("720"))
            .unwrap();
        assert_eq!(
            (read.status, read.served_by().as_deref()),
            (200, Some("jc"))
        );
        let other = mc
            .send(cloud, &Request::post("/api/orders", "{}").city("7"))
            .unwrap();
        assert_eq!(
            (other.status, other.served_by().as_deref()),
            (200, Some("uc"))
        );
    }
    let after = counter(&mc, UC, metric) + counter(&mc, JC, metric);
    assert!(
        after >= before + 4,
        "write_forbidden replies counted: {before} -> {after}"
    );
    mc.set_policy(base).unwrap();
    let write = mc
        .send(JC, &Request::post("/api/orders", "{}").city("720"))
        .unwrap();
    assert_eq!(
        (write.status, write.served_by().as_deref()),
        (200, Some("jc"))
    );
}
