//! The attack suite against the built modules, both host profiles (forged internal headers,
//! forged and stale stamps and tester tokens are in `plugin_trust.rs`):
//! - a peer stamp replayed onto another method, path or key does not route it;
//! - oversized headers, cookies, query strings and bodies: the module decides as the core
//!   does, never traps, and serves the next request;
//! - path tricks: the module classifies the path exactly as the host hands it over, so
//!   normalising it is the host's job (envoy/README.md);
//! - a flood of distinct keys, users and assigned ids leaves the VM's memory where it was.

#[macro_use]
mod plugin_common;

use plugin_common::*;
use proxy_wasm_test_host::{Host, Profile, Worker};
use serde_json::Value;
use unitgate_core::{decide, RuntimeState};

/// The module's decision for `req`, and the core's for the same request at the host's time.
fn both_ways(
    host: &Host,
    w: &Worker,
    cfg: &Value,
    req: &Req,
    profile: Profile,
) -> (Outcome, Outcome) {
    let r = req.send(w);
    let state = RuntimeState {
        now_ms: host.now_ms(),
        ..RuntimeState::default()
    };
    let core = decide(&compiled(cfg), &ingress(cfg), &req.view(), &state).into_owned();
    (outcome(&r, profile), core_outcome(core))
}

fn replayed_stamps_do_not_route(profile: Profile) {
    let host = Host::new(profile);
    let now = host.now_ms();
    // jcloud's ingress sent `GET /api/orders?city_id=600` to uc with this stamp...
    let uc = start(&host, PIPELINE, &config(&dual_city(), "uc", profile));
    let from_jc = |bound| orders_stamp_from_jcloud(now, bound);
    let made_for = from_jc(("GET", "/api/orders", "600"));
    let ok = Req::get("/api/orders?city_id=600").header("x-unitgate-ctx", &made_for);
    assert_eq!(
        route_of(&ok.send(&uc), profile).2,
        "forwarded",
        "{profile}: the genuine one"
    );
    // ...and it is replayed onto other requests: each is routed from scratch.
    for (what, req) in [
        (
            "another method",
            Req::new("POST", "/api/orders?city_id=600"),
        ),
        ("another path", Req::get("/api/orders/1?city_id=600")),
        ("another key", Req::get("/api/orders?city_id=601")),
    ] {
        let r = req.clone().header("x-unitgate-ctx", &made_for).send(&uc);
        let (unit, _, reason) = route_of(&r, profile);
        // City 600+ belongs to jc: routed from scratch, it goes back to jc, never "forwarded".
        assert_eq!(
            (unit.as_str(), reason.as_str()),
            ("jc", "key_range"),
            "{profile}: {what}"
        );
    }
}

fn oversized_inputs_decide_as_the_core_and_do_not_trap(profile: Profile) {
    let host = Host::new(profile);
    let cfg = config(&dual_city(), "uc", profile);
    let w = start(&host, PIPELINE, &cfg);
    let big = "9".repeat(64 * 1024);
    let many_cookies: String = (0..2000)
        .map(|i| format!("c{i}=v{i}; "))
        .collect::<String>()
        + "ug_uid=u1";
    let long_query = format!("/api/orders?{}&city_id=600", "a=b&".repeat(20_000));
    let mut many_headers = Req::get("/api/orders").header("x-city-id", "600");
    for i in 0..2000 {
        many_headers = many_headers.header(&format!("x-filler-{i}"), "v");
    }
    let cases = [
        (
            "64 KiB key header",
            Req::get("/api/orders").header("x-city-id", &big),
        ),
        (
            "64 KiB user header",
            Req::get("/api/orders?city_id=42").header("x-user-id", &big),
        ),
        (
            "2000 cookies",
            Req::get("/api/orders?city_id=42").header("cookie", &many_cookies),
        ),
        ("80 KB query string", Req::get(&long_query)),
        ("2000 headers", many_headers),
        ("64 KiB path", Req::get(&format!("/api/{big}"))),
        (
            "1 MiB body over the limit",
            Req::new("POST", "/api/orders").body(vec![b'{'; 1 << 20]),
        ),
    ];
    for (what, req) in cases {
        let (module, core) = both_ways(&host, &w, &cfg, &req, profile);
        // The core reads a body over body_limit as too large: the module stops buffering.
        if req.body.is_none() {
            assert_eq!(module, core, "{profile}: {what}");
        }
        // And the VM still serves.
        let next = Req::get("/api/orders?city_id=600");
        assert_eq!(
            route_of(&next.send(&w), profile).0,
            "jc",
            "{profile}: after {what}"
        );
    }
}

fn the_module_matches_the_path_it_is_given(profile: Profile) {
    let host = Host::new(profile);
    let cfg = config(&dual_city(), "uc", profile);
    let w = start(&host, PIPELINE, &cfg);
    // `/admin/` is global (served locally), `/api/` is keyed by city (600 -> jc).
    for (path, api) in [
        ("/api/orders?city_id=600", "orders"),
        // Tricks that a backend may read as /api/orders, but the raw path does not start with
        // /api/: without the host's normalisation they would escape the keyed class. (`-` is
        // `default_api`, core by city here: a policy whose default is core fails safe.)
        ("/admin/../api/orders?city_id=600", "admin"),
        ("/admin/%2e%2e/api/orders?city_id=600", "admin"),
        ("/admin%2F..%2Fapi/orders?city_id=600", "-"),
        ("//api/orders?city_id=600", "-"),
        ("/API/orders?city_id=600", "-"),
        ("/api;x=1/orders?city_id=600", "-"),
        // A `;` parameter or a doubled slash after the prefix keeps the class.
        ("/api/orders;x=1?city_id=600", "orders"),
        ("/api//orders?city_id=600", "orders"),
    ] {
        let r = Req::get(path).send(&w);
        let explain = r.response_header("x-unitgate-explain").unwrap_or_default();
        let got = explained(explain).get("api").cloned().unwrap_or_default();
        assert_eq!(got, api, "{profile}: {path}: {explain}");
        let (module, core) = both_ways(&host, &w, &cfg, &Req::get(path), profile);
        assert_eq!(module, core, "{profile}: {path}");
    }
}

fn a_flood_of_distinct_keys_and_users_leaves_memory_bounded(profile: Profile) {
    let host = Host::new(profile);
    let cfg = config(&dual_city(), "uc", profile);
    let w = start(&host, PIPELINE, &cfg);
    let mut rng = Rng(11);
    let mut flood = |n: usize| {
        for i in 0..n {
            let user = format!("user-{}-{}", i, rng.next());
            let req = match i % 4 {
                // Gray city: sticky by user, or an assigned id for anonymous users.
                0 => Req::get("/api/orders?city_id=42").header("x-user-id", &user),
                1 => Req::get("/api/orders?city_id=42"),
                2 => Req::get(&format!("/api/orders?city_id={}", rng.below(1_000_000))),
                _ => Req::new("POST", "/api/orders").header("x-city-id", &user),
            };
            req.send(&w);
        }
    };
    flood(2_000);
    let warm = w.memory_bytes();
    flood(20_000);
    let after = w.memory_bytes();
    assert!(
        after <= warm + 64 * 1024,
        "{profile}: linear memory grew from {warm} to {after} bytes over 20,000 distinct requests"
    );
}

both_profiles!(
    replayed_stamps_do_not_route,
    oversized_inputs_decide_as_the_core_and_do_not_trap,
    the_module_matches_the_path_it_is_given,
    a_flood_of_distinct_keys_and_users_leaves_memory_bounded,
);
