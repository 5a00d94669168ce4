//! The trust boundary through the real modules: forged internal headers are stripped and
//! cannot steer, a valid peer stamp is honoured once (never forwarded again), tester tokens
//! only work with a valid HMAC. Both host profiles; each module alone and the chain.

#[macro_use]
mod plugin_common;

use plugin_common::*;
use proxy_wasm_test_host::{Host, Profile};
use serde_json::json;
use unitgate_core::tester_token;

fn version() -> String {
    dual_city()["version"].as_str().unwrap().to_string()
}

/// A peer stamp for `unit` from `origin` at `ts` signed with `secret`, for
/// `GET /api/orders?city_id=<city>`.
fn stamp(secret: &str, origin: &str, unit: &str, ts: u64, city: &str) -> String {
    let v = version();
    let bound = ("GET", "/api/orders", city);
    ctx_header(
        secret,
        origin,
        unit,
        "orders",
        "core",
        "key_range",
        &v,
        ts,
        bound,
    )
}

fn forged_internal_headers_are_stripped_and_cannot_steer(profile: Profile) {
    let host = Host::new(profile);
    let now = host.now_ms();
    let forged = [
        stamp("other-secret", "ucloud", "jc", now, "100"),
        stamp("other-secret", "jcloud", "jc", now, "100"),
        // Signed, but from this cloud: only a peer's stamp counts.
        stamp(SECRET, "ucloud", "jc", now, "100"),
        stamp(SECRET, "jcloud", "jc", now - STAMP_MAX_AGE_MS - 1, "100"),
        stamp(SECRET, "jcloud", "jc", now + STAMP_MAX_AGE_MS + 1, "100"),
        // Replayed from another request (city 101).
        stamp(SECRET, "jcloud", "jc", now, "101"),
        "v2;jcloud;jc;orders;core;key_range;x;0;not-a-signature".to_string(),
        "garbage".to_string(),
    ];
    for (name, send) in senders(&host, &config(&dual_city(), "uc", profile)) {
        for ctx in &forged {
            // City 100 belongs to uc; every forged header tries to send it elsewhere.
            let r = send(
                &Req::get("/api/orders?city_id=100")
                    .header("x-unitgate-ctx", ctx)
                    .header("x-unitgate-cluster", "evil_cluster")
                    .header("X-Unitgate-Debug", "1")
                    .header("x-unitgate-anything", "x"),
            );
            let x = routed(&r, profile);
            let want = ("uc", "uc_backend", "key_range");
            let got = (&*x.unit, &*x.upstream, &*x.reason);
            assert_eq!(got, want, "{profile} {name}: {ctx}");
            if profile.is_ngx() {
                // nginx: the conf's proxy_set_header overrides both from the variables.
                let stamp = r.ngx_var(NGX_CTX_VAR).unwrap_or("");
                assert_eq!(stamp, "", "{name}: no stamp");
                continue;
            }
            let up = r.upstream().unwrap();
            assert_eq!(
                up.header("x-unitgate-ctx"),
                None,
                "{name}: never to a backend"
            );
            assert_eq!(up.header_all(CLUSTER_HEADER), ["uc_backend"], "{name}");
            for h in ["x-unitgate-debug", "x-unitgate-anything"] {
                assert_eq!(up.header(h), None, "{profile} {name}: {h} stripped");
            }
        }
        // Two ctx headers, even if one verifies, are not trusted.
        let good = stamp(SECRET, "jcloud", "uc", now, "600");
        let r = send(
            &Req::get("/api/orders?city_id=600")
                .header("x-unitgate-ctx", &good)
                .header("x-unitgate-ctx", &forged[0]),
        );
        assert_eq!(route_of(&r, profile).2, "key_range", "{profile} {name}");
    }
}

fn valid_peer_stamp_is_honoured_and_never_forwarded_again(profile: Profile) {
    let host = Host::new(profile);
    let now = host.now_ms();
    for (name, send) in senders(&host, &config(&dual_city(), "uc", profile)) {
        // Forwarded by jcloud for unit uc: served here, even though city 600 maps to jc.
        let from_peer = |unit: &str| stamp(SECRET, "jcloud", unit, now - 1000, "600");
        for unit in ["uc", "jc"] {
            let r = send(
                &Req::get("/api/orders?city_id=600").header("x-unitgate-ctx", &from_peer(unit)),
            );
            let x = route_of(&r, profile);
            assert_eq!(
                x,
                ("uc".into(), "uc_backend".into(), "forwarded".into()),
                "{profile} {name}: {unit}"
            );
        }
        // Gray is skipped for forwarded requests (this user is in city 42's gray group).
        let user = (0..100)
            .map(|i| format!("user-{i}"))
            .find(|u| unitgate_core::in_gray("city-42-to-jc", u, 10.0))
            .unwrap();
        let stamped = stamp(SECRET, "jcloud", "uc", now - 1000, "42");
        let r = send(
            &Req::get("/api/orders?city_id=42")
                .header("x-user-id", &user)
                .header("x-unitgate-ctx", &stamped),
        );
        assert_eq!(route_of(&r, profile).2, "forwarded", "{profile} {name}");
    }

    // uc is down and fails over to jc: a fresh request crosses, a forwarded one may not.
    let mut policy = dual_city();
    policy["isolation"]["down_units"] = json!(["uc"]);
    policy["isolation"]["failover"] = json!({"uc": "jc"});
    for fail_mode in ["open", "closed"] {
        let mut cfg = config(&policy, "uc", profile);
        cfg["fail_mode"] = json!(fail_mode);
        let iso = start(&host, ISOLATION, &cfg);
        let (c, _ws) = chain(&host, &cfg);
        for (name, r) in [
            ("isolation", Req::get("/api/orders?city_id=100").send(&iso)),
            ("chain", Req::get("/api/orders?city_id=100").send_chain(&c)),
        ] {
            let x = route_of(&r, profile);
            assert_eq!(
                x,
                ("jc".into(), "peer_jcloud".into(), "failover_down".into()),
                "{name}"
            );
        }
        let forwarded = Req::get("/api/orders?city_id=100")
            .header("x-unitgate-ctx", &stamp(SECRET, "jcloud", "uc", now, "100"));
        for (name, r) in [
            ("isolation", forwarded.send(&iso)),
            ("chain", forwarded.send_chain(&c)),
        ] {
            match fail_mode {
                "open" => assert_eq!(
                    route_of(&r, profile),
                    ("uc".into(), "uc_backend".into(), "no_healthy_unit".into()),
                    "{profile} {name}"
                ),
                _ => assert_eq!(
                    reply_of(&r).1["error"],
                    "no_healthy_unit",
                    "{profile} {name}"
                ),
            }
        }
    }
}

/// A real two-cloud hop: ucloud's ingress sends city 600 to jcloud with its stamp; jcloud's
/// ingress serves it locally; jcloud never sends it back, even with jc down. The one-pass
/// module and the chain, on both sides.
fn two_cloud_hop(profile: Profile) {
    two_cloud_hop_via(profile, true);
    two_cloud_hop_via(profile, false);
}

fn two_cloud_hop_via(profile: Profile, chained: bool) {
    let host = Host::new(profile);
    let chain = |host: &Host, cfg: &serde_json::Value| {
        if chained {
            chain(host, cfg)
        } else {
            let w = start(host, PIPELINE, cfg);
            (proxy_wasm_test_host::Chain::new(&[&w]).unwrap(), vec![w])
        }
    };
    let (uc_chain, _a) = chain(&host, &config(&dual_city(), "uc", profile));
    let (jc_chain, _b) = chain(&host, &config(&dual_city(), "jc", profile));
    let req = Req::get("/api/orders?city_id=600");
    let first = req.send_chain(&uc_chain);
    assert_eq!(route_of(&first, profile).1, "peer_jcloud");
    let ctx = routed(&first, profile).ctx.expect("a stamp for the peer");
    let second = req
        .clone()
        .header("x-unitgate-ctx", &ctx)
        .send_chain(&jc_chain);
    assert_eq!(
        route_of(&second, profile),
        ("jc".into(), "jc_backend".into(), "forwarded".into())
    );
    let mut policy = dual_city();
    policy["isolation"]["down_units"] = json!(["jc"]);
    let (jc_down, _c) = chain(&host, &config(&policy, "jc", profile));
    let third = req.header("x-unitgate-ctx", &ctx).send_chain(&jc_down);
    assert_eq!(
        route_of(&third, profile),
        ("jc".into(), "jc_backend".into(), "no_healthy_unit".into()),
        "{profile}: jc would fail over to uc, in another cloud: not a second hop"
    );
}

fn tester_tokens(profile: Profile) {
    let host = Host::new(profile);
    let now = host.now_ms();
    let valid = tester_token(SECRET.as_bytes(), "jc", now + 60_000);
    let forged = [
        tester_token(b"other-secret", "jc", now + 60_000),
        tester_token(SECRET.as_bytes(), "jc", now - 1),
        format!("uc{}", &valid[2..]),
        tester_token(SECRET.as_bytes(), "nowhere", now + 60_000),
        "jc.99999999999999.AAAA".to_string(),
    ];
    let city100 = Req::get("/api/orders?city_id=100");
    for (name, send) in senders(&host, &config(&dual_city(), "uc", profile)) {
        let r = send(&city100.clone().header("x-unitgate-tester", &valid));
        let want = if name == SHARD {
            // The shard router does not run the gray stage, where the override lives.
            ("uc", "uc_backend", "key_range")
        } else {
            ("jc", "peer_jcloud", "tester")
        };
        let x = route_of(&r, profile);
        assert_eq!((&*x.0, &*x.1, &*x.2), want, "{profile} {name}");
        for token in &forged {
            let r = send(&city100.clone().header("x-unitgate-tester", token));
            assert_eq!(route_of(&r, profile).0, "uc", "{profile} {name}: {token}");
        }
        // A token for uc overrides the mapping of city 600 (jc) too.
        let to_uc = tester_token(SECRET.as_bytes(), "uc", now + 60_000);
        let r = send(&Req::get("/api/orders?city_id=600").header("x-unitgate-tester", &to_uc));
        let expect = if name == SHARD { "key_range" } else { "tester" };
        assert_eq!(route_of(&r, profile).2, expect, "{profile} {name}");
    }
    // A configured tester header: the token works there; the default name is just stripped.
    let mut cfg = config(&dual_city(), "uc", profile);
    cfg["tester_header"] = json!("x-qa-token");
    let w = start(&host, GRAY, &cfg);
    let r = city100.clone().header("x-qa-token", &valid).send(&w);
    assert_eq!(route_of(&r, profile).2, "tester");
    let r = city100.clone().header("x-unitgate-tester", &valid).send(&w);
    assert_eq!(route_of(&r, profile).2, "key_range");
    // Envoy: removed. nginx: a removed header is forwarded anyway, so the module leaves
    // client headers alone there (the nginx conf decides what reaches a backend).
    if !profile.is_ngx() {
        assert_eq!(r.upstream_header("x-unitgate-tester"), None);
    }
}

both_profiles!(
    forged_internal_headers_are_stripped_and_cannot_steer,
    valid_peer_stamp_is_honoured_and_never_forwarded_again,
    two_cloud_hop,
    tester_tokens,
);
