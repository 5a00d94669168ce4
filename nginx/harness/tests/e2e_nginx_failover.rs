//! A unit failure on real nginx.
//!
//! Reads: while jc's backend is dead, every GET is still answered. nginx retries it on the
//! upstream's backup, ucloud's read-only failover server, and skips the dead server for
//! `fail_timeout`; once the backend is back, reads return to it. Writes: never sent twice. A
//! write to the dead unit reaches no server, so nginx tries the backup, whose failover server
//! refuses it (503). Those, and the failed-over reads (marked `x-unitgate-failover`), are
//! errors for the unit's breaker (in ngx_wasm_module shared data, shared by both workers), so
//! it opens and writes fail over through the peer ingress; after a restart and open_ms,
//! half-open probes close it again.

mod common;

use common::*;
use serde_json::json;
use std::time::{Duration, Instant};
use unitgate_envoy::failover::FAILOVER_HEADER;
use unitgate_envoy::{outage, Request};

#[test]
fn reads_lose_nothing_while_a_unit_dies_and_comes_back() {
    let mut policy = policy();
    let open_ms = 2000;
    policy["isolation"]["breaker"] = json!({
        "window_ms": 3000, "min_requests": 4, "error_percent": 50, "open_ms": open_ms,
        "half_open_probes": 2, "consecutive_errors": 3
    });
    let mut clouds = start("e2e-failover-reads", policy.clone());
    let (read, write) = outage::jc_probes();
    assert_eq!(core_unit(&policy, JC, &read), "jc");
    assert_eq!(core_unit(&policy, JC, &write), "jc");
    let port = clouds.ingress(JC).unwrap().proxy.listen_port();
    let summary = outage::jc_fails_over_to_uc(clouds.unit_backends(), port, open_ms).unwrap();
    println!("{summary}");
}

#[test]
fn breaker_fails_over_and_recovers() {
    let mut policy = policy();
    policy["isolation"]["breaker"] = json!({
        "window_ms": 3000, "min_requests": 4, "error_percent": 50, "open_ms": 2000, "half_open_probes": 2
    });
    let min_requests = 4;
    let open_ms = 2000;
    let mut clouds = start("e2e-failover", policy);
    // A write: a read would be answered by the failover server before the breaker opens.
    let req = Request::post("/api/orders", "{}").city("720").user("frank");
    assert_eq!(
        clouds.send(JC, &req).unwrap().served_by().as_deref(),
        Some("jc")
    );

    clouds.stop_backend("jc");
    let mut statuses = Vec::new();
    let failed_over = loop {
        let r = clouds.send(JC, &req).unwrap();
        statuses.push(r.status);
        if r.served_by().as_deref() == Some("uc") {
            assert_eq!(r.status, 200);
            assert_eq!(
                r.hops().as_deref(),
                Some("unitgate-jcloud, unitgate-ucloud")
            );
            assert_no_internal_headers(&r, "failover");
            break true;
        }
        // The write reached no server (refused): nginx tried the backup, ucloud's failover
        // server, which refuses writes and marks its answer as a failover.
        assert_eq!(r.status, 503, "{}", r.body);
        assert_eq!(r.header(FAILOVER_HEADER), Some("ucloud"));
        if statuses.len() > 3 * min_requests {
            break false;
        }
    };
    assert!(failed_over, "no failover after {statuses:?}");
    let opened_at = Instant::now();
    let log = clouds.nginx(JC).unwrap().log_since(0);
    assert!(log.contains("breaker opened for unit jc"), "{log}");
    // While open, every request is served by uc, whichever worker takes it.
    for _ in 0..6 {
        let r = clouds.send(JC, &req).unwrap();
        assert_eq!(r.served_by().as_deref(), Some("uc"));
        assert_eq!(r.explain("reason").as_deref(), Some("forwarded"));
    }

    clouds.start_backend("jc").unwrap();
    let deadline = opened_at + Duration::from_millis(open_ms) + Duration::from_secs(10);
    let mut back = 0;
    while back < 5 {
        assert!(Instant::now() < deadline, "breaker never closed");
        let r = clouds.send(JC, &req).unwrap();
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
}
