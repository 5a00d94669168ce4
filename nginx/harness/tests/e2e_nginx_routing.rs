//! Real nginx, both clouds, unitgate.wasm: routing by header, query, cookie, path segment and
//! JSON body (content-length and chunked, no hang) lands where the core says; global, shared
//! and core APIs; a wrong-cloud request crosses once; forged internal headers never reach a
//! backend, and the peer receives exactly one stamp: the ingress's own.

mod common;

use common::*;
use std::time::Duration;
use unitgate_envoy::backend::Backend;
use unitgate_envoy::{clock, ports, Client, Request};
use unitgate_nginx::chunked::send_chunked;
use unitgate_nginx::conf::nginx_plugin_config;
use unitgate_nginx::{locate, Nginx, NginxSpec};

#[test]
fn routing_apis_one_hop_and_forged_headers() {
    let policy = policy();
    let clouds = start("e2e-routing", policy.clone());
    let requests = [
        Request::get("/api/orders/1").city("7"),
        Request::get("/api/orders/1").city("720"),
        Request::get("/api/orders?city_id=450"),
        Request::get("/api/orders?city_id=12"),
        Request::get("/api/orders").header("cookie", "city=640"),
        Request::get("/api/orders").header("cookie", "city=64"),
        Request::get("/api/orders/640"),
        Request::get("/api/orders/99"),
        Request::get("/api/orders"),
        Request::get("/api/config"),
        Request::get("/api/catalog/1"),
        Request::post("/api/catalog/1", "{}"),
        Request::post("/api/orders", r#"{"city_id":720}"#),
        Request::post("/api/orders", r#"{"city_id":12}"#),
        Request::post("/api/orders", r#"{"note":"no key here"}"#),
    ];
    let mut units_seen = std::collections::BTreeSet::new();
    for req in &requests {
        for cloud in [UC, JC] {
            let expected = core_unit(&policy, cloud, req);
            let r = clouds.send(cloud, req).unwrap();
            assert_eq!(r.status, 200, "{cloud} {req:?}: {}", r.body);
            assert_eq!(r.served_by(), Some(expected.clone()), "{cloud} {req:?}");
            let got = r.json().unwrap();
            assert_eq!(got["path"], req.path.as_str(), "the backend got the path");
            let body_len = req.body.as_ref().map_or(0, String::len);
            assert_eq!(
                got["body_bytes"], body_len,
                "the backend got the whole body"
            );
            assert_no_internal_headers(&r, &format!("{cloud} {req:?}"));
            units_seen.insert(expected);
        }
    }
    assert_eq!(units_seen.len(), 2, "the sample must exercise both units");

    // Chunked bodies: decided from the body, forwarded whole, no hang.
    for (body, unit) in [(r#"{"city_id":720}"#, "jc"), (r#"{"city_id":12}"#, "uc")] {
        for cloud in [UC, JC] {
            let req = Request::post("/api/orders", body);
            let port = clouds.ingress(cloud).unwrap().proxy.listen_port();
            let r = send_chunked(port, &req, Duration::from_secs(10)).unwrap();
            assert_eq!(r.status, 200, "{cloud} chunked {body}: {}", r.body);
            assert_eq!(
                r.served_by().as_deref(),
                Some(unit),
                "{cloud} chunked {body}"
            );
            assert_eq!(r.json().unwrap()["body_bytes"], body.len());
        }
    }

    // Wrong cloud: forwarded once, through the peer ingress, never back.
    let r = clouds
        .send(UC, &Request::get("/api/orders/9").city("720"))
        .unwrap();
    assert_eq!(r.served_by().as_deref(), Some("jc"));
    assert_eq!(
        r.hops().as_deref(),
        Some("unitgate-ucloud, unitgate-jcloud")
    );
    assert_eq!(
        r.explain("reason").as_deref(),
        Some("forwarded"),
        "the peer's decision"
    );
    let r = clouds
        .send(JC, &Request::get("/api/orders/9").city("7"))
        .unwrap();
    assert_eq!(r.served_by().as_deref(), Some("uc"));
    assert_eq!(
        r.hops().as_deref(),
        Some("unitgate-jcloud, unitgate-ucloud")
    );

    // Forged internal headers do not steer and never reach a backend: the client's cluster
    // header and a ctx stamp signed with the wrong key.
    let forged_ctx = format!(
        "v1;3;jcloud;jc;orders;core;key_range;parity-1;{};AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        clock::now_ms()
    );
    let forged = Request::get("/api/orders/10")
        .city("7")
        .header("x-unitgate-cluster", "jc_backend")
        .header("x-unitgate-ctx", &forged_ctx);
    for cloud in [UC, JC] {
        let r = clouds.send(cloud, &forged).unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(
            r.served_by().as_deref(),
            Some("uc"),
            "{cloud}: forged headers steered"
        );
        assert_no_internal_headers(&r, &format!("forged at {cloud}"));
    }
}

/// uc's ingress, whose `peer_jcloud` upstream is an echo backend standing in for jcloud's
/// ingress: it shows exactly what the peer would receive.
#[test]
fn the_peer_receives_exactly_one_valid_stamp() {
    let policy = policy();
    let secret = secret();
    let dir = locate::scratch_dir("e2e-peer-stamp").unwrap();
    let uc = Backend::start("uc", "ucloud", 0).unwrap();
    let fake_peer = Backend::start("peer", "jcloud", 0).unwrap();
    let port = ports::free_port().unwrap();
    let remote = [("jcloud".to_string(), "peer_jcloud".to_string())].into();
    let config = unitgate_envoy::plugin_config::plugin_config(&policy, "uc", &remote, &settings());
    let _nginx = Nginx::start(NginxSpec {
        cloud: "ucloud".into(),
        listen_port: port,
        upstreams: [
            ("uc_backend".to_string(), uc.port()),
            ("peer_jcloud".to_string(), fake_peer.port()),
        ]
        .into(),
        default_upstream: "uc_backend".into(),
        plugin_config: nginx_plugin_config(&config).unwrap(),
        ngx_wasm_module: locate::ngx_wasm_module().unwrap(),
        unitgate_wasm: locate::unitgate_wasm().unwrap(),
        workers: 1,
        dir: dir.clone(),
        failover: Default::default(),
    })
    .unwrap();

    let forged = format!(
        "v1;3;ucloud;uc;orders;core;key_range;parity-1;{};AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        clock::now_ms()
    );
    let req = Request::get("/api/orders/3")
        .city("720")
        .header("x-unitgate-ctx", &forged)
        .header("x-unitgate-cluster", "uc_backend");
    let r = Client::new().send(port, &req).unwrap();
    assert_eq!(r.served_by().as_deref(), Some("peer"), "{}", r.body);
    let seen = backend_saw(&r);
    assert!(seen.get("x-unitgate-cluster").is_none(), "{seen}");
    let ctx = seen["x-unitgate-ctx"]
        .as_str()
        .unwrap_or_else(|| panic!("no stamp: {seen}"));
    assert!(
        !ctx.contains(", "),
        "more than one stamp reached the peer: {ctx}"
    );
    // The stamp is bound to the request: method, path without query, shard key value.
    let (text, sig) = ctx.rsplit_once(';').unwrap();
    let bound = format!("{text}\nGET\n/api/orders/3\n720");
    assert_eq!(
        sig,
        unitgate_core::sign(secret.as_bytes(), &bound),
        "stamp does not verify: {ctx}"
    );
    let fields: Vec<&str> = text.split(';').collect();
    assert_eq!(&fields[..3], ["v2", "ucloud", "jc"], "{ctx}");

    // Within the cloud, no stamp at all.
    let r = Client::new()
        .send(port, &Request::get("/api/orders/3").city("7"))
        .unwrap();
    assert_eq!(r.served_by().as_deref(), Some("uc"));
    assert_no_internal_headers(&r, "local route");
    let _ = std::fs::remove_dir_all(dir);
}
