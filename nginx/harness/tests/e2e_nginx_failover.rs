//! A unit failure on real nginx: jc's backend is stopped, nginx answers 502, the breaker (in
//! ngx_wasm_module shared data, shared by both workers) counts the 5xx and opens, and traffic
//! fails over to uc through the peer ingress; after a restart and open_ms, half-open probes
//! close it again.

mod common;

use common::*;
use serde_json::json;
use std::time::{Duration, Instant};
use unitgate_envoy::Request;

#[test]
fn breaker_fails_over_and_recovers() {
    let mut policy = policy();
    policy["isolation"]["breaker"] = json!({
        "window_ms": 3000, "min_requests": 4, "error_percent": 50, "open_ms": 2000, "half_open_probes": 2
    });
    let min_requests = 4;
    let open_ms = 2000;
    let mut clouds = start("e2e-failover", policy);
    let req = Request::get("/api/orders/1").city("720").user("frank");
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
        assert_eq!(r.status, 502, "{}", r.body);
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
