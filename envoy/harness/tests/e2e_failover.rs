//! A unit failure on real Envoy.
//!
//! Reads: while jc's backends are dead, every GET is still answered (Envoy retries it on the
//! failover unit uc, then its health check moves jc's traffic there), and traffic comes back
//! once they answer again. Writes: never retried where they could apply twice; the module's
//! breaker opens on a few consecutive errors and fails writes over through the peer ingress;
//! after a restart and open_ms, half-open probes close it again.

mod common;

use common::*;
use std::time::{Duration, Instant};
use unitgate_envoy::{outage, policies, ConfigMode, Request};

#[test]
fn reads_lose_nothing_while_a_unit_dies_and_comes_back() {
    let policy = policies::demo_policy();
    let open_ms = policy["isolation"]["breaker"]["open_ms"].as_u64().unwrap();
    let mut mc = start("e2e-failover-reads", policy, ConfigMode::Ecds);
    let port = mc.ingress(JC).unwrap().envoy.listen_port;
    let summary = outage::jc_fails_over_to_uc(mc.unit_backends(), port, open_ms).unwrap();
    println!("{summary}");
}

#[test]
fn breaker_fails_writes_over_and_recovers() {
    let policy = policies::demo_policy();
    let breaker = &policy["isolation"]["breaker"];
    let in_a_row = breaker["consecutive_errors"].as_u64().unwrap();
    let open_ms = breaker["open_ms"].as_u64().unwrap();
    let mut mc = start("e2e-failover", policy.clone(), ConfigMode::Ecds);
    let req = Request::post("/api/orders", "{}").city("720").user("frank");
    assert_eq!(
        mc.send(JC, &req).unwrap().served_by().as_deref(),
        Some("jc")
    );

    mc.stop_backend("jc");
    let mut statuses = Vec::new();
    let failed_over = loop {
        let r = mc.send(JC, &req).unwrap();
        statuses.push(r.status);
        if r.served_by().as_deref() == Some("uc") {
            assert_eq!(r.status, 200);
            assert_eq!(
                r.hops().as_deref(),
                Some("unitgate-jcloud, unitgate-ucloud")
            );
            break true;
        }
        assert_eq!(r.status, 503, "{}", r.body);
        if statuses.len() > 3 * in_a_row as usize {
            break false;
        }
    };
    assert!(failed_over, "no failover after {statuses:?}");
    let opened_at = Instant::now();
    // It opened on errors in a row, before the window's percentage could.
    assert_eq!(statuses.len() as u64, in_a_row + 1, "{statuses:?}");
    let opened = format!("wasmcustom.unitgate.{}.breaker.opened.unit.jc", m(&mc));
    assert!(counter(&mc, JC, &opened) >= 1);
    assert!(decisions(&mc, JC, m(&mc), "uc", "failover_breaker") >= 1);
    // While open, every write is served by uc.
    for _ in 0..5 {
        assert_eq!(
            mc.send(JC, &req).unwrap().served_by().as_deref(),
            Some("uc")
        );
    }

    mc.start_backend("jc").unwrap();
    let deadline = opened_at + Duration::from_millis(open_ms) + Duration::from_secs(10);
    let mut back = 0;
    while back < 5 {
        assert!(Instant::now() < deadline, "breaker never closed");
        let r = mc.send(JC, &req).unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        back = if r.served_by().as_deref() == Some("jc") {
            back + 1
        } else {
            0
        };
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        opened_at.elapsed() >= Duration::from_millis(open_ms),
        "closed before open_ms"
    );

    // A backend that answers 500 (not a refused connection) trips the breaker as well.
    let opened_before = counter(&mc, JC, &opened);
    mc.backend("jc").unwrap().force_status(Some(500));
    let mut tries = 0;
    loop {
        let r = mc.send(JC, &req).unwrap();
        if r.served_by().as_deref() == Some("uc") {
            break;
        }
        assert_eq!(r.status, 500, "{}", r.body);
        tries += 1;
        assert!(tries <= in_a_row, "breaker ignored 500s");
    }
    assert_eq!(counter(&mc, JC, &opened), opened_before + 1);
}
