//! Shard routing through each release module alone (shard-router, gray-release,
//! fault-isolation): every key source, API classes, the upstream as cluster header (Envoy)
//! and nginx variable (ngx_wasm_module), missing / malformed keys, JSON body keys and the
//! body limit. Every test body runs under both host profiles.

#[macro_use]
mod plugin_common;

use plugin_common::*;
use proxy_wasm_test_host::{Action, Host, LogLevel, LogSource, Phase, Profile, Worker};
use serde_json::{json, Value};

/// One worker of each module, all with `cfg`.
fn each_module(host: &Host, cfg: &Value) -> Vec<(&'static str, Worker)> {
    MODULES
        .iter()
        .map(|(m, _)| (*m, start(host, m, cfg)))
        .collect()
}

/// Sends `req` through every module alone and checks (unit, upstream, reason).
fn expect_route(ws: &[(&str, Worker)], profile: Profile, req: &Req, want: (&str, &str, &str)) {
    for (m, w) in ws {
        let got = route_of(&req.send(w), profile);
        assert_eq!(
            (got.0.as_str(), got.1.as_str(), got.2.as_str()),
            want,
            "{profile} {m}: {req:?}"
        );
    }
}

fn expect_reply(ws: &[(&str, Worker)], req: &Req, status: u16, body: &Value) {
    for (m, w) in ws {
        let r = req.send(w);
        assert!(
            r.upstream().is_none(),
            "{m}: a reply never reaches the upstream"
        );
        assert_eq!(reply_of(&r), (status, body.clone()), "{m}: {req:?}");
    }
}

fn key_sources(profile: Profile) {
    let host = Host::new(profile);
    let ws = each_module(&host, &config(&dual_city(), "uc", profile));
    let jc = ("jc", "peer_jcloud", "key_range");
    let uc = ("uc", "uc_backend", "key_range");
    expect_route(
        &ws,
        profile,
        &Req::get("/api/orders").header("x-city-id", "600"),
        jc,
    );
    expect_route(&ws, profile, &Req::get("/api/orders?city_id=700"), jc);
    expect_route(&ws, profile, &Req::get("/api/orders?city_id=%37%30%30"), jc);
    expect_route(
        &ws,
        profile,
        &Req::get("/api/orders").cookie("city", "800"),
        jc,
    );
    expect_route(&ws, profile, &Req::get("/api/city/900/orders"), jc);
    expect_route(
        &ws,
        profile,
        &Req::get("/api/orders").header("x-city-id", " 650 "),
        jc,
    );
    expect_route(
        &ws,
        profile,
        &Req::get("/api/orders").header("x-city-id", "100"),
        uc,
    );
    // Sources are tried in order: the header wins over the query.
    let both = Req::get("/api/orders?city_id=600").header("x-city-id", "100");
    expect_route(&ws, profile, &both, uc);
    // Beyond every range: the rule's default.
    let beyond = Req::get("/api/orders").header("x-city-id", "1500");
    expect_route(&ws, profile, &beyond, ("uc", "uc_backend", "key_default"));
    // Crossing to jcloud: the peer stamp names this ingress's cloud, the unit, API and class.
    let r = Req::get("/api/orders?city_id=600").send(&ws[0].1);
    let x = routed(&r, profile);
    assert_eq!((x.api.as_str(), x.class.as_str()), ("orders", "core"));
    assert!(x.crossed);
    let ctx = x.ctx.unwrap();
    assert!(
        ctx.starts_with("v2;ucloud;jc;orders;core;key_range;"),
        "{ctx}"
    );
    assert_eq!(x.version, dual_city()["version"].as_str().unwrap());
}

fn api_classes(profile: Profile) {
    let host = Host::new(profile);
    let ws = each_module(&host, &config(&center_units(), "unit-sh", profile));
    let center = |reason| ("center", "peer_hangzhou", reason);
    expect_route(
        &ws,
        profile,
        &Req::get("/inventory/sku/1"),
        center("global"),
    );
    let read = ("unit-sh", "unit_sh_backend", "shared_read");
    expect_route(&ws, profile, &Req::get("/catalog/books"), read);
    expect_route(&ws, profile, &Req::new("HEAD", "/catalog/books"), read);
    let write = Req::new("POST", "/catalog/books");
    expect_route(&ws, profile, &write, center("shared_write"));
    // DELETE is not among catalog's methods: default_api (shared), a write.
    let delete = Req::new("DELETE", "/catalog/books");
    expect_route(&ws, profile, &delete, center("shared_write"));
    // Core APIs route by uid % 10000, whatever the ingress.
    let trade = |uid: &str| Req::get("/trade/orders").header("x-user-id", uid);
    expect_route(
        &ws,
        profile,
        &trade("5000"),
        ("unit-sh", "unit_sh_backend", "key_range"),
    );
    expect_route(
        &ws,
        profile,
        &trade("7000"),
        ("unit-sz", "peer_shenzhen", "key_range"),
    );
    expect_route(&ws, profile, &trade("10001"), center("key_range"));
    let carts = Req::get("/trade/carts/9").cookie("uid", "17000");
    expect_route(
        &ws,
        profile,
        &carts,
        ("unit-sz", "peer_shenzhen", "key_range"),
    );
    expect_route(
        &ws,
        profile,
        &Req::get("/account?uid=2"),
        center("key_range"),
    );
    // `exact` matches the whole path only; `/accounts` falls to default_api (shared read).
    expect_route(&ws, profile, &Req::get("/accounts?uid=2"), read);
    let r = Req::get("/inventory/sku/1").send(&ws[0].1);
    let x = routed(&r, profile);
    assert_eq!((x.api.as_str(), x.class.as_str()), ("inventory", "global"));
}

fn upstream_header_and_nginx_variable(profile: Profile) {
    let host = Host::new(profile);
    let mut cfg = config(&dual_city(), "uc", profile);
    cfg["cluster_header"] = json!("x-route-to");
    for (m, w) in each_module(&host, &cfg) {
        let r = Req::get("/api/orders?city_id=600")
            .header("x-route-to", "forged")
            .send(&w);
        // nginx: the variable, and no header (the conf's proxy_set_header clears it).
        let header = r.upstream_header("x-route-to");
        if profile.is_ngx() {
            assert_ne!(
                header,
                Some("peer_jcloud"),
                "{m}: no header written on nginx"
            );
        } else {
            assert_eq!(header, Some("peer_jcloud"), "{m}");
        }
        assert_eq!(r.upstream_header(CLUSTER_HEADER), None, "{m}");
        let var = r.ngx_var(NGX_VAR);
        assert_eq!(var, profile.is_ngx().then_some("peer_jcloud"), "{m}");
        assert_eq!(r.route_cache_cleared(), 0, "{m}: no clear_route_cache call");
    }
}

fn missing_and_malformed_keys_go_local(profile: Profile) {
    let host = Host::new(profile);
    for local in ["uc", "jc"] {
        let ws = each_module(&host, &config(&dual_city(), local, profile));
        let backend = format!("{local}_backend");
        let want = (local, backend.as_str(), "missing_key_local");
        expect_route(&ws, profile, &Req::get("/api/orders"), want);
        for bad in ["abc", "-5", "", "1e3", "99999999999999999999999"] {
            let req = Req::get("/api/orders").header("x-city-id", bad);
            expect_route(&ws, profile, &req, want);
        }
        expect_route(&ws, profile, &Req::get("/api/orders?city_id="), want);
    }
}

fn missing_key_default(profile: Profile) {
    let host = Host::new(profile);
    let mut policy = dual_city();
    policy["missing_key"] = json!({"action": "default"});
    let ws = each_module(&host, &config(&policy, "jc", profile));
    let want = ("uc", "peer_ucloud", "missing_key_default");
    expect_route(&ws, profile, &Req::get("/api/orders"), want);
    expect_route(
        &ws,
        profile,
        &Req::get("/api/orders").header("x-city-id", "x"),
        want,
    );
}

fn missing_key_reject(profile: Profile) {
    let host = Host::new(profile);
    let ws = each_module(&host, &config(&center_units(), "unit-sh", profile));
    let body = json!({"error": "missing_shard_key", "key": "uid"});
    expect_reply(&ws, &Req::get("/trade/orders"), 400, &body);
    expect_reply(
        &ws,
        &Req::get("/account").header("x-user-id", "12ab"),
        400,
        &body,
    );
    // The status is the policy's.
    let mut policy = center_units();
    policy["missing_key"] = json!({"action": "reject", "status": 422});
    let ws = each_module(&host, &config(&policy, "unit-sh", profile));
    expect_reply(&ws, &Req::get("/account"), 422, &body);
    assert_eq!(
        host.metric("unitgate.shard.replies.status.422.reason.missing_key_reject"),
        Some(1)
    );
}

fn order(uid: Value) -> Vec<u8> {
    json!({"buyer": {"id": uid}, "items": [1, 2]})
        .to_string()
        .into_bytes()
}

fn body_keys(profile: Profile) {
    let host = Host::new(profile);
    let ws = each_module(&host, &config(&center_units(), "unit-sh", profile));
    let sz = ("unit-sz", "peer_shenzhen", "key_range");
    let post = Req::new("POST", "/trade/orders");
    expect_route(&ws, profile, &post.clone().body(order(json!(7000))), sz);
    expect_route(&ws, profile, &post.clone().body(order(json!("7000"))), sz);
    for (m, w) in &ws {
        // Envoy: paused on headers, decided on the body, which reaches the upstream intact.
        // ngx_wasm_module never resumes a pause on headers: Continue, then the body decides.
        let body = order(json!(17000));
        let chunks: Vec<&[u8]> = body.chunks(7).collect();
        let r = post.onto(w.request()).body_chunks(chunks).send().unwrap();
        assert_eq!(route_of(&r, profile).0, "unit-sz", "{m}");
        let on_headers = if profile.is_ngx() {
            Action::Continue
        } else {
            Action::Pause
        };
        assert_eq!(r.action(0, Phase::RequestHeaders), Some(on_headers), "{m}");
        assert_eq!(r.upstream().unwrap().body, body, "{m}");
        assert_eq!(r.stall(), None, "{m}");
        // A header key decides at once; the body is not buffered.
        let r = post
            .clone()
            .header("x-user-id", "5000")
            .body(order(json!(7000)))
            .send(w);
        assert_eq!(route_of(&r, profile).0, "unit-sh", "{m}");
        assert_eq!(
            r.action(0, Phase::RequestHeaders),
            Some(Action::Continue),
            "{m}"
        );
    }
    let missing = json!({"error": "missing_shard_key", "key": "uid"});
    expect_reply(&ws, &post.clone().body("buyer.id=7000"), 400, &missing);
    expect_reply(&ws, &post.clone().body(r#"{"buyer":{}}"#), 400, &missing);
    expect_reply(
        &ws,
        &post.clone().body(r#"{"buyer":{"id":true}}"#),
        400,
        &missing,
    );
}

/// Trailers end a buffered body: the module decides on the body it paused for. (Envoy keeps
/// the buffered body readable as HttpRequestBody during on_request_trailers.)
fn body_ended_by_trailers(profile: Profile) {
    let host = Host::new(profile);
    let ws = each_module(&host, &config(&center_units(), "unit-sh", profile));
    for (m, w) in &ws {
        let r = Req::new("POST", "/trade/orders")
            .onto(w.request())
            .body(order(json!(7001)))
            .trailer("x-checksum", "1")
            .send()
            .unwrap();
        assert_eq!(
            try_routed(&r, profile).map(|x| x.unit),
            Some("unit-sz".to_string()),
            "{m}: body ended by trailers; reply {:?}",
            r.local_reply().map(|l| l.body_text())
        );
    }
}

fn body_limit(profile: Profile) {
    let host = Host::new(profile);
    let big = json!({"buyer": {"id": 7000}, "pad": "x".repeat(200)}).to_string();
    let post = Req::new("POST", "/trade/orders").body(&big);
    let mut cfg = config(&center_units(), "unit-sh", profile);
    // Under the limit (default 64 KiB) the body key routes.
    let ws = each_module(&host, &cfg);
    expect_route(
        &ws,
        profile,
        &post,
        ("unit-sz", "peer_shenzhen", "key_range"),
    );
    // Over it: the declared fallback (reject 400), in one chunk or many.
    cfg["body_limit"] = json!(64);
    let ws = each_module(&host, &cfg);
    let missing = json!({"error": "missing_shard_key", "key": "uid"});
    expect_reply(&ws, &post, 400, &missing);
    for (m, w) in &ws {
        let chunks: Vec<&[u8]> = big.as_bytes().chunks(50).collect();
        let r = post.onto(w.request()).body_chunks(chunks).send().unwrap();
        assert_eq!(reply_of(&r).0, 400, "{m}: chunks over the limit");
        // Within the limit still routes.
        let r = Req::new("POST", "/trade/orders")
            .body(order(json!(7000)))
            .send(w);
        assert_eq!(route_of(&r, profile).0, "unit-sz", "{m}: small body");
    }
    // With missing_key local the fallback is the local unit.
    cfg["policy"]["missing_key"] = json!({"action": "local"});
    let ws = each_module(&host, &cfg);
    let want = ("unit-sh", "unit_sh_backend", "missing_key_local");
    expect_route(&ws, profile, &post, want);
    expect_route(
        &ws,
        profile,
        &Req::new("POST", "/trade/orders").body("not json"),
        want,
    );
}

/// nginx: a variable the config names but nginx.conf never declared cannot be set. The
/// request goes unrouted (no cluster header is written with `nginx_variable`), and the module
/// warns once per VM, not per request.
fn undeclared_nginx_variable_warns_once(profile: Profile) {
    let host = Host::new(profile);
    let mut cfg = config(&dual_city(), "uc", profile);
    cfg["nginx_variable"] = json!("never_declared");
    let w = host
        .module(SHARD)
        .unwrap()
        .config(cfg.to_string())
        .start()
        .unwrap();
    for _ in 0..20 {
        let r = Req::get("/api/orders?city_id=600").send(&w);
        assert_eq!(r.upstream_header(CLUSTER_HEADER), None);
    }
    let warns = w
        .logs()
        .into_iter()
        .filter(|l| l.level >= LogLevel::Warn && l.source == LogSource::Plugin)
        .count();
    // Envoy has no nginx variables: `ngx.*` is an ordinary property there.
    assert_eq!(
        warns,
        usize::from(profile.is_ngx()),
        "{profile}: {}",
        w.log_text()
    );
}

both_profiles!(
    key_sources,
    api_classes,
    upstream_header_and_nginx_variable,
    missing_and_malformed_keys_go_local,
    missing_key_default,
    missing_key_reject,
    body_keys,
    body_ended_by_trailers,
    body_limit,
    undeclared_nginx_variable_warns_once,
);
