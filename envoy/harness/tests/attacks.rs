//! The main attacks against real Envoy with the shipped settings (forged internal headers are
//! in `e2e_routing.rs`):
//! - a genuine peer stamp replayed onto another request does not route it;
//! - path tricks are normalised by Envoy before the module classifies the path, so they cannot
//!   move a request out of its API class; an encoded slash is refused;
//! - the failover listener serves only idempotent requests for the units that fail over to it,
//!   and strips the internal headers.

mod common;

use common::*;
use unitgate_envoy::client::Client;
use unitgate_envoy::plugin_config::DEMO_SECRET;
use unitgate_envoy::{clock, policies, ConfigMode, Request};

/// A peer stamp as jcloud's ingress writes it when it sends `bound` (method, path, key) to uc.
fn stamp_from_jcloud(bound: (&str, &str, &str)) -> String {
    let version = policies::demo_policy()["version"]
        .as_str()
        .unwrap()
        .to_string();
    let text = format!(
        "v2;jcloud;uc;orders;core;key_range;{version};{}",
        clock::now_ms()
    );
    let (method, path, key) = bound;
    let signed = format!("{text}\n{method}\n{path}\n{key}");
    format!(
        "{text};{}",
        unitgate_core::sign(DEMO_SECRET.as_bytes(), &signed)
    )
}

#[test]
fn replayed_stamps_paths_and_the_failover_listener() {
    let mc = start("attacks", policies::demo_policy(), ConfigMode::Inline);

    // A stamp made for `GET /api/orders/1` with city 720 is honoured for that request only.
    let stamp = stamp_from_jcloud(("GET", "/api/orders/1", "720"));
    let genuine = Request::get("/api/orders/1")
        .city("720")
        .header("x-unitgate-ctx", &stamp);
    let r = mc.send(UC, &genuine).unwrap();
    assert_eq!(r.served_by().as_deref(), Some("uc"), "{}", r.body);
    for (what, req) in [
        ("another path", Request::get("/api/orders/2").city("720")),
        ("another key", Request::get("/api/orders/1").city("721")),
        (
            "another method",
            Request::post("/api/orders/1", "{}").city("720"),
        ),
    ] {
        let r = mc.send(UC, &req.header("x-unitgate-ctx", &stamp)).unwrap();
        assert_eq!(r.served_by().as_deref(), Some("jc"), "{what}: {}", r.body);
        assert_eq!(
            r.hops().as_deref(),
            Some("unitgate-ucloud, unitgate-jcloud"),
            "{what}"
        );
    }

    // `/api/catalog` is shared (served where it lands); `/api/orders` is keyed (720 -> jc).
    // The module classifies the path the backend then receives, whatever the client sent.
    for (trick, path, unit) in [
        ("/api/catalog/../orders/1", "/api/orders/1", "jc"),
        ("/api/catalog/%2e%2e/orders/1", "/api/orders/1", "jc"),
        ("/api/catalog/./../orders/1", "/api/orders/1", "jc"),
        ("/api//orders/1", "/api/orders/1", "jc"),
        // `..` removes the empty segment, then the slashes merge (RFC 3986, then Envoy).
        ("/api/catalog//..//orders/1", "/api/catalog/orders/1", "uc"),
    ] {
        let r = mc.send(UC, &Request::get(trick).city("720")).unwrap();
        let seen = r.json().unwrap();
        assert_eq!(seen["path"], path, "{trick}: {}", r.body);
        assert_eq!(r.served_by().as_deref(), Some(unit), "{trick}");
    }
    let r = mc
        .send(
            UC,
            &Request::get("/api/catalog%2F..%2Forders/1").city("720"),
        )
        .unwrap();
    assert_eq!(r.status, 400, "an encoded slash: {}", r.body);

    // ucloud's failover listener (jc fails over to uc), reached directly.
    let port = mc
        .ingress(UC)
        .unwrap()
        .failover_port
        .expect("no failover listener");
    let client = Client::new();
    let read = Request::get("/api/orders/1")
        .city("720")
        .header("x-unitgate-cluster", "jc_backend")
        .header("x-unitgate-ctx", "forged");
    let r = client.send(port, &read).unwrap();
    assert_eq!(r.served_by().as_deref(), Some("uc"), "{}", r.body);
    assert_eq!(r.header("x-unitgate-failover"), Some("ucloud"));
    let seen = &r.json().unwrap()["headers"];
    assert!(
        seen.get("x-unitgate-cluster").is_none() && seen.get("x-unitgate-ctx").is_none(),
        "{seen}"
    );
    for (what, req) in [
        (
            "a write",
            Request::post("/api/orders/1", "{}").header("x-unitgate-cluster", "jc_backend"),
        ),
        (
            "a unit that does not fail over here",
            Request::get("/").header("x-unitgate-cluster", "uc_backend"),
        ),
        ("no unit", Request::get("/api/orders/1")),
    ] {
        let r = client.send(port, &req).unwrap();
        assert_eq!(r.status, 503, "{what}: {}", r.body);
        assert_eq!(r.body, r#"{"error":"failover_refused"}"#, "{what}");
    }
}
