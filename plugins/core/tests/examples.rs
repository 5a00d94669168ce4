//! The example policies in policies/examples load cleanly and route as documented.

mod common;

use common::*;
use unitgate_core::*;

fn loaded(name: &str) -> Loaded {
    load(&example(name)).unwrap_or_else(|r| panic!("{name}:\n{r}"))
}

#[test]
fn every_example_validates_without_warnings() {
    let dir = format!("{}/../../policies/examples", env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let l = load(&text).unwrap_or_else(|r| panic!("{}:\n{r}", path.display()));
            assert_eq!(l.warnings, vec![], "{}", path.display());
            n += 1;
        }
    }
    assert!(n >= 2, "found {n} examples");
}

#[test]
fn dual_cloud_city_routes_cities() {
    let p = loaded("dual-cloud-city.json").policy;
    let mut uc = ingress("uc");
    uc.remote_upstreams = [("jcloud".to_string(), "peer_jcloud".to_string())].into();
    let s = state(1_000);
    let at = |r: RequestView| route(decide(&p, &uc, &r, &s));
    // Every key source: header, query, cookie, path segment.
    assert_eq!(
        at(req("GET", "/api/orders", &[("x-city-id", "7")])).unit,
        "uc"
    );
    assert_eq!(at(req("GET", "/api/orders?city_id=501", &[])).unit, "jc");
    assert_eq!(
        at(req("GET", "/api/orders", &[("cookie", "city=999")])).unit,
        "jc"
    );
    assert_eq!(at(req("GET", "/api/city/600/orders", &[])).unit, "jc");
    let r = at(req("GET", "/api/orders", &[("x-city-id", "600")]));
    assert_eq!(
        (&*r.upstream, r.crossed, r.reason),
        ("peer_jcloud", true, Reason::KeyRange)
    );
    // Beyond the ranges: the default unit uc; no key: the local unit.
    assert_eq!(
        at(req("GET", "/api/orders", &[("x-city-id", "5000")])).reason,
        Reason::KeyDefault
    );
    let jc = ingress("jc");
    let r = route(decide(&p, &jc, &req("GET", "/api/orders", &[]), &s));
    assert_eq!((&*r.unit, r.reason), ("jc", Reason::MissingKeyLocal));
    // Admin is global (center uc); profile reads stay local.
    assert_eq!(
        route(decide(&p, &jc, &req("POST", "/admin/x", &[]), &s)).unit,
        "uc"
    );
    assert_eq!(
        route(decide(&p, &jc, &req("GET", "/api/profile", &[]), &s)).unit,
        "jc"
    );
    // City 42 is the gray city: about 10% of its users go to jc, stickily.
    let moved = (0..2000)
        .filter(|i| {
            let user = format!("u{i}");
            let r = at(req(
                "GET",
                "/api/orders",
                &[("x-city-id", "42"), ("x-user-id", &user)],
            ));
            assert_eq!(r.unit == "jc", r.reason == Reason::Gray);
            r.unit == "jc"
        })
        .count();
    assert!((140..260).contains(&moved), "{moved} of 2000");
    // Failover jc -> uc.
    let mut st = state(1_000);
    st.breakers.insert("jc".into(), BreakerStatus::Open);
    let r = route(decide(
        &p,
        &uc,
        &req("GET", "/api/orders", &[("x-city-id", "600")]),
        &st,
    ));
    assert_eq!((&*r.unit, r.reason), ("uc", Reason::FailoverBreaker));
    assert!(p.breaker_config().is_some());
}

#[test]
fn center_units_routes_by_user() {
    let p = loaded("center-units.json").policy;
    let ing = ingress("unit-sh");
    let s = state(1_800_000_000_000);
    let at = |r: RequestView| decide(&p, &ing, &r, &s);
    assert_eq!(
        route(at(req("GET", "/trade/orders/1", &[("x-user-id", "1")]))).unit,
        "center"
    );
    assert_eq!(
        route(at(req("GET", "/trade/carts", &[("x-user-id", "123334")]))).unit,
        "unit-sh"
    );
    assert_eq!(
        route(at(req("GET", "/account?uid=9999", &[]))).unit,
        "unit-sz"
    );
    let body = RequestView::new("POST", "/trade/orders", vec![])
        .with_body(Body::Bytes(br#"{"buyer":{"id":"7000"}}"#.to_vec()));
    assert_eq!(route(at(body)).unit, "unit-sz");
    assert_eq!(
        route(at(req("POST", "/inventory/sku/1", &[]))).reason,
        Reason::Global
    );
    assert_eq!(route(at(req("GET", "/catalog/x", &[]))).unit, "unit-sh");
    assert_eq!(route(at(req("POST", "/catalog/x", &[]))).unit, "center");
    // default_api is shared.
    assert_eq!(
        route(at(req("GET", "/elsewhere", &[]))).reason,
        Reason::SharedRead
    );
    // Missing user id on a core API: 400.
    assert_eq!(reply(at(req("GET", "/trade/orders", &[]))).status, 400);
    // The write-forbidden window ended on 2026-01-01.
    assert_eq!(
        route(at(req("POST", "/trade/orders", &[("x-user-id", "7000")]))).unit,
        "unit-sz"
    );
    let before = state(1_767_225_599_000);
    let r = decide(
        &p,
        &ing,
        &req("POST", "/trade/orders", &[("x-user-id", "7000")]),
        &before,
    );
    assert_eq!(reply(r).reason, Reason::WriteForbidden);
}

/// The worked example of policies/README.md, step by step.
#[test]
fn readme_worked_example() {
    let p = loaded("dual-cloud-city.json").policy;
    let mut uc = ingress("uc");
    uc.remote_upstreams = [("jcloud".to_string(), "peer_jcloud".to_string())].into();
    let r = req("GET", "/api/orders?city_id=42", &[("x-user-id", "u16")]);
    // key city = "42" (query), number 42, range 0~499 -> uc.
    assert_eq!(
        p.map_value("by-city", "42")
            .map(|(u, r)| (u.name.as_str(), r)),
        Some(("uc", Reason::KeyRange))
    );
    // gray bucket of u16 is 735 < round(10 * 100) = 1000: in.
    assert_eq!(gray_bucket("city-42-to-jc", "u16"), 735);
    assert_eq!(gray_threshold(10.0), 1000);
    let s = state(1_795_316_400_000);
    let routed = route(decide(&p, &uc, &r, &s));
    assert_eq!(
        explain(&routed, p.version()),
        "unit=jc; reason=gray; api=orders; class=core; crossed=true; version=dada-2026-11-22.1"
    );
    assert_eq!(routed.upstream, "peer_jcloud");
    let ctx = &routed.request_headers[0];
    assert_eq!(ctx.0, CTX_HEADER);
    assert!(ctx
        .1
        .starts_with("v2;ucloud;jc;orders;core;gray;dada-2026-11-22.1;1795316400000;"));
    // At jcloud the stamp verifies: forwarded, served by jc itself.
    let at_jc = req(
        "GET",
        "/api/orders?city_id=42",
        &[("x-user-id", "u16"), (CTX_HEADER, &ctx.1)],
    );
    let r2 = route(decide(&p, &ingress("jc"), &at_jc, &s));
    assert_eq!(
        (&*r2.unit, r2.reason, &*r2.upstream),
        ("jc", Reason::Forwarded, "jc_backend")
    );
    // u1 stays in uc.
    assert!(gray_bucket("city-42-to-jc", "u1") >= 1000);
    let r3 = route(decide(
        &p,
        &uc,
        &req("GET", "/api/orders?city_id=42", &[("x-user-id", "u1")]),
        &s,
    ));
    assert_eq!((&*r3.unit, r3.reason), ("uc", Reason::KeyRange));
}
