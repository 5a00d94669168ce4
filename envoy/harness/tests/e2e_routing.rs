//! Real Envoy, both clouds, the one-pass module inline in the bootstrap: shard routing by header,
//! query and body; API classes; wrong-cloud forwarding happens once; forged internal headers
//! are stripped; tester tokens; and the custom metrics in /stats.

mod common;

use common::*;
use unitgate_envoy::plugin_config::DEMO_SECRET;
use unitgate_envoy::{clock, policies, ConfigMode, MultiCloud, Request};

fn served(mc: &MultiCloud, cloud: &str, req: &Request) -> String {
    let r = mc.send(cloud, req).unwrap();
    assert_eq!(r.status, 200, "{cloud} {req:?}: {}", r.body);
    r.served_by().unwrap()
}

#[test]
fn routing_forwarding_headers_tokens_and_metrics() {
    let policy = policies::demo_policy();
    let mc = start("e2e-routing", policy.clone(), ConfigMode::Inline);

    // Routing: every request lands where the core says, from either ingress.
    let requests = [
        Request::get("/api/orders/1").city("7").user("alice"),
        Request::get("/api/orders/2").city("299").user("bob"),
        Request::get("/api/orders/3").city("300"),
        Request::get("/api/orders/4").city("720"),
        Request::get("/api/orders/5?city_id=450"),
        Request::get("/api/orders/6?city_id=12"),
        Request::get("/api/config"),
        Request::get("/api/catalog/1"),
        Request::post("/api/catalog/1", "{}"),
        Request::get("/api/orders/7"),
    ];
    let mut units_seen = std::collections::BTreeSet::new();
    for req in &requests {
        for cloud in [UC, JC] {
            let expected = core_unit(&policy, cloud, req);
            assert_eq!(served(&mc, cloud, req), expected, "{cloud} {req:?}");
            units_seen.insert(expected);
        }
    }
    assert_eq!(units_seen.len(), 2, "the sample must exercise both units");

    // Wrong cloud: forwarded once, through the peer ingress, never back.
    let uc_to_jc = "cluster.peer_jcloud.upstream_rq_total";
    let jc_to_uc = "cluster.peer_ucloud.upstream_rq_total";
    let (a0, b0) = (counter(&mc, UC, uc_to_jc), counter(&mc, JC, jc_to_uc));
    let forwarded0 = decisions(&mc, JC, m(&mc), "jc", "forwarded");
    let r = mc
        .send(UC, &Request::get("/api/orders/9").city("720"))
        .unwrap();
    assert_eq!(r.served_by().as_deref(), Some("jc"));
    assert_eq!(
        r.hops().as_deref(),
        Some("unitgate-ucloud, unitgate-jcloud")
    );
    assert_eq!(counter(&mc, UC, uc_to_jc), a0 + 1);
    // The signed stamp crossed to jcloud, whose ingress removed it before the backend.
    let seen = &r.json().unwrap()["headers"];
    assert!(
        seen.get("x-unitgate-ctx").is_none(),
        "the backend saw {seen}"
    );
    assert_eq!(
        counter(&mc, JC, jc_to_uc),
        b0,
        "forwarded request crossed back"
    );
    assert_eq!(
        decisions(&mc, JC, m(&mc), "jc", "forwarded"),
        forwarded0 + 1
    );

    // Forged internal headers do not steer: the client's x-unitgate-cluster and a ctx stamp
    // signed with the wrong key are stripped, so city 7 still goes to uc.
    let forged_ctx = format!(
        "v1;3;jcloud;jc;orders;core;key_range;demo-1;{};AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        clock::now_ms()
    );
    let forged = Request::get("/api/orders/10")
        .city("7")
        .header("x-unitgate-cluster", "jc_backend")
        .header("x-unitgate-ctx", &forged_ctx)
        .header("x-unitgate-debug", "1");
    for cloud in [UC, JC] {
        let r = mc.send(cloud, &forged).unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.served_by().as_deref(),
            Some("uc"),
            "{cloud}: forged headers steered"
        );
        let seen = &r.json().unwrap()["headers"];
        assert_ne!(seen["x-unitgate-ctx"].as_str(), Some(forged_ctx.as_str()));
        assert!(seen.get("x-unitgate-debug").is_none(), "{seen}");
    }

    // Tester override: a token signed with the shared secret sends city 7 to jc; a token
    // signed with another secret is ignored.
    let expires = clock::now_ms() + 60_000;
    let good = unitgate_core::tester_token(DEMO_SECRET.as_bytes(), "jc", expires);
    let bad = unitgate_core::tester_token(b"not-the-secret", "jc", expires);
    let probe = Request::get("/api/orders/11").city("7");
    let tester0 = decisions(&mc, UC, m(&mc), "jc", "tester");
    assert_eq!(
        served(&mc, UC, &probe.clone().header("x-unitgate-tester", &good)),
        "jc"
    );
    assert_eq!(
        served(&mc, UC, &probe.clone().header("x-unitgate-tester", &bad)),
        "uc"
    );
    assert_eq!(decisions(&mc, UC, m(&mc), "jc", "tester"), tester0 + 1);

    // Metrics: every decision is counted per unit and reason, under the one module's name.
    let before = decisions(&mc, JC, m(&mc), "jc", "key_range");
    for _ in 0..5 {
        served(&mc, JC, &Request::get("/api/orders/12").city("500"));
    }
    assert_eq!(decisions(&mc, JC, m(&mc), "jc", "key_range"), before + 5);
    let stats = mc.ingress(UC).unwrap().envoy.unitgate_stats().unwrap();
    assert!(
        !stats.is_empty()
            && stats
                .keys()
                .all(|k| k.starts_with(&format!("wasmcustom.unitgate.{}.", m(&mc)))),
        "{stats:?}"
    );

    // The body key alone decides (no header, no query): the module buffers the JSON body.
    let body_jc = Request::post("/api/orders", r#"{"city_id":720}"#);
    assert_eq!(served(&mc, UC, &body_jc), "jc");
    assert_eq!(
        served(&mc, JC, &Request::post("/api/orders", r#"{"city_id":7}"#)),
        "uc"
    );
}
