//! decide(): each rule kind, API class, gray, tester, isolation, write-forbidden, stamps.

mod common;

use common::*;
use serde_json::{json, Value};
use std::borrow::Cow;
use unitgate_core::*;

const NOW: u64 = 1_795_316_400_000; // 2026-11-22T03:00:00Z

fn policy() -> CompiledPolicy {
    load_ok(&base())
}

fn go(p: &CompiledPolicy, local: &str, r: &RequestView) -> Route<'static> {
    route(decide(p, &ingress(local), r, &state(NOW)).into_owned())
}

#[test]
fn exact_ranges_hash_and_default() {
    let p = policy();
    let r = go(&p, "a", &req("GET", "/order/1", &[("x-uid", "777")]));
    assert_eq!((&*r.unit, r.reason), ("c", Reason::KeyExact));
    // modulo 100: 12345 -> 45 -> a; 12399 -> 99 -> b.
    let r = go(&p, "a", &req("GET", "/order/1", &[("x-uid", "12345")]));
    assert_eq!((&*r.unit, r.reason), ("a", Reason::KeyRange));
    let r = go(&p, "a", &req("GET", "/order/1", &[("x-uid", "12399")]));
    assert_eq!((&*r.unit, r.reason), ("b", Reason::KeyRange));
    // Number transform: single-value range "200".
    let r = go(&p, "a", &req("GET", "/city/200", &[]));
    assert_eq!(
        (&*r.unit, r.reason, r.api.as_deref()),
        ("a", Reason::KeyRange, Some("city"))
    );
    let r = go(&p, "a", &req("GET", "/city/150", &[]));
    assert_eq!(r.unit, "b");
    // Consistent hash agrees with rendezvous over the listed units.
    for tag in ["y", "z", "hello", "42"] {
        let r = go(&p, "a", &req("GET", "/tag", &[("x-tag", tag)]));
        assert_eq!(r.reason, Reason::KeyHash);
        assert_eq!(Some(&*r.unit), rendezvous(["a", "b"], tag));
    }
    let r = go(&p, "a", &req("GET", "/tag", &[("x-tag", "x")]));
    assert_eq!((&*r.unit, r.reason), ("a", Reason::KeyExact));
    // Both units get some tags.
    let units: std::collections::HashSet<_> = (0..50)
        .filter_map(|i| rendezvous(["a", "b"], &format!("t{i}")))
        .collect();
    assert_eq!(units.len(), 2);

    let mut v = base();
    set(&mut v, "/rules/1/default", json!("c"));
    let p = load_ok(&v);
    let r = go(&p, "a", &req("GET", "/city/999", &[]));
    assert_eq!((&*r.unit, r.reason), ("c", Reason::KeyDefault));
    assert_eq!(
        p.map_value("by-city", " 150 ")
            .map(|(u, r)| (u.name.as_str(), r)),
        Some(("b", Reason::KeyRange))
    );
    assert_eq!(p.map_value("by-city", "abc"), None);
    assert_eq!(p.map_value("nope", "1"), None);
}

#[test]
fn missing_and_malformed_keys() {
    let p = policy();
    // Missing: local unit.
    let r = go(&p, "b", &req("GET", "/order/1", &[]));
    assert_eq!((&*r.unit, r.reason), ("b", Reason::MissingKeyLocal));
    // Malformed for the transform: also missing.
    let r = go(&p, "a", &req("GET", "/order/1", &[("x-uid", "12a")]));
    assert_eq!(r.reason, Reason::MissingKeyLocal);
    // Default.
    let mut v = base();
    set(&mut v, "/missing_key", json!({"action": "default"}));
    set(&mut v, "/rules/1/default", json!("b"));
    set(&mut v, "/rules/2/default", json!("b"));
    let p = load_ok(&v);
    let r = go(&p, "a", &req("GET", "/order/1", &[]));
    assert_eq!((&*r.unit, r.reason), ("c", Reason::MissingKeyDefault));
    // Reject.
    let mut v = base();
    set(
        &mut v,
        "/missing_key",
        json!({"action": "reject", "status": 428}),
    );
    let p = load_ok(&v);
    let rep = reply(decide(
        &p,
        &ingress("a"),
        &req("GET", "/order/1", &[]),
        &state(NOW),
    ));
    assert_eq!(rep.status, 428);
    assert_eq!(rep.reason, Reason::MissingKeyReject);
    let body: Value = serde_json::from_str(&rep.body).unwrap();
    assert_eq!(body, json!({"error": "missing_shard_key", "key": "uid"}));
    assert!(rep
        .headers
        .contains(&("content-type".into(), "application/json".into())));
}

#[test]
fn body_keys() {
    let p = policy();
    let r = RequestView::new("POST", "/order", vec![]);
    assert_eq!(
        decide(&p, &ingress("a"), &r, &state(NOW)),
        Decision::NeedBody
    );
    let with = |b: Body| go(&p, "a", &r.clone().with_body(b));
    let got = with(Body::Bytes(br#"{"uid": 1299}"#.to_vec()));
    assert_eq!((&*got.unit, got.reason), ("b", Reason::KeyRange));
    assert_eq!(
        with(Body::Bytes(b"{oops".to_vec())).reason,
        Reason::MissingKeyLocal
    );
    assert_eq!(with(Body::TooLarge).reason, Reason::MissingKeyLocal);
    assert_eq!(with(Body::Absent).reason, Reason::MissingKeyLocal);
    // An earlier source wins without reading the body.
    let r = RequestView::new("POST", "/order?uid=10", vec![]);
    assert_eq!(go(&p, "a", &r).unit, "a");
}

#[test]
fn global_and_shared_apis() {
    let p = policy();
    let r = go(&p, "b", &req("POST", "/inv/1", &[]));
    assert_eq!(
        (&*r.unit, r.reason, r.class),
        ("c", Reason::Global, ApiKind::Global)
    );
    for m in ["GET", "HEAD", "OPTIONS", "get"] {
        let r = go(&p, "b", &req(m, "/cat/1", &[]));
        assert_eq!((&*r.unit, r.reason), ("b", Reason::SharedRead), "{m}");
    }
    for m in ["POST", "PUT", "DELETE", "PATCH"] {
        let r = go(&p, "b", &req(m, "/cat/1", &[]));
        assert_eq!((&*r.unit, r.reason), ("c", Reason::SharedWrite), "{m}");
    }
    // Method filters: /tag only for GET and POST, else the default API.
    let r = go(&p, "a", &req("PUT", "/tag", &[("x-uid", "60")]));
    assert_eq!((r.api, &*r.unit), (None, "b"));
}

#[test]
fn crossing_and_upstreams() {
    let p = policy();
    let r = go(&p, "a", &req("GET", "/order", &[("x-uid", "60")]));
    assert_eq!(
        (&*r.unit, &*r.upstream, r.crossed),
        ("b", "peer_jcloud", true)
    );
    let r = go(&p, "a", &req("GET", "/order", &[("x-uid", "10")]));
    assert_eq!((&*r.unit, &*r.upstream, r.crossed), ("a", "a_up", false));
    let mut ing = ingress("a");
    ing.remote_upstreams.clear();
    let r = route(decide(
        &p,
        &ing,
        &req("GET", "/order", &[("x-uid", "60")]),
        &state(NOW),
    ));
    assert_eq!((&*r.upstream, r.crossed), ("b_up", true));
    // From jcloud, unit a is across.
    let r = go(&p, "b", &req("GET", "/order", &[("x-uid", "10")]));
    assert_eq!((&*r.upstream, r.crossed), ("a_up", true));
    assert_eq!(
        explain(&r, p.version()),
        "unit=a; reason=key_range; api=order; class=core; crossed=true; version=t1"
    );
}

#[test]
fn a_route_borrows_its_names() {
    // The request path allocates no names: unit, upstream and API point into the policy, and
    // a peer's upstream into the ingress.
    let (p, ing) = (policy(), ingress("a"));
    let borrowed = |d: Decision| match d {
        Decision::Route(r) => {
            let api = r.api.as_ref().map(|a| matches!(a, Cow::Borrowed(_)));
            (
                matches!(r.unit, Cow::Borrowed(_)),
                matches!(r.upstream, Cow::Borrowed(_)),
                api,
                r.crossed,
            )
        }
        other => panic!("not a route: {other:?}"),
    };
    let local = req("GET", "/order", &[("x-uid", "10")]);
    let across = req("GET", "/order", &[("x-uid", "60")]);
    let state = state(NOW);
    assert_eq!(
        borrowed(decide(&p, &ing, &local, &state)),
        (true, true, Some(true), false)
    );
    assert_eq!(
        borrowed(decide(&p, &ing, &across, &state)),
        (true, true, Some(true), true)
    );
}

/// Users of city 5 by whether gray (salt "g1", 30%) takes them.
fn gray_users() -> (String, String) {
    let mut inside = None;
    let mut outside = None;
    for i in 0..1000 {
        let u = format!("user{i}");
        if in_gray("g1", &u, 30.0) {
            inside.get_or_insert(u);
        } else {
            outside.get_or_insert(u);
        }
    }
    (inside.unwrap(), outside.unwrap())
}

#[test]
fn gray_percent_allow_deny_and_scope() {
    let p = policy();
    let (inside, outside) = gray_users();
    let at = |user: &str, city: &str, path: &str| {
        go(
            &p,
            "a",
            &req(
                "GET",
                path,
                &[("x-uid", "10"), ("x-city", city), ("x-user", user)],
            ),
        )
    };
    let r = at(&inside, "5", "/order");
    assert_eq!((&*r.unit, r.reason), ("b", Reason::Gray));
    let r = at(&outside, "5", "/order");
    assert_eq!((&*r.unit, r.reason), ("a", Reason::KeyRange));
    // Other cities, other APIs: untouched.
    assert_eq!(at(&inside, "6", "/order").reason, Reason::KeyRange);
    assert_eq!(at(&inside, "5", "/tag").api.as_deref(), Some("tag"));
    assert_ne!(at(&inside, "5", "/tag").reason, Reason::Gray);
    // Allow and deny lists.
    let r = at("vip", "5", "/order");
    assert_eq!((&*r.unit, r.reason), ("b", Reason::GrayAllow));
    let mut v = base();
    set(&mut v, "/gray/0/deny", json!([inside.clone()]));
    let p2 = load_ok(&v);
    let r = go(
        &p2,
        "a",
        &req(
            "GET",
            "/order",
            &[("x-uid", "10"), ("x-city", "5"), ("x-user", &inside)],
        ),
    );
    assert_eq!(r.reason, Reason::KeyRange);
    // The sticky value may come from the assign cookie.
    let cookie = format!("gid={inside}");
    let r = go(
        &p,
        "a",
        &req(
            "GET",
            "/order",
            &[("x-uid", "10"), ("x-city", "5"), ("cookie", &cookie)],
        ),
    );
    assert_eq!(r.reason, Reason::Gray);
    assert!(r.response_headers.is_empty());
}

#[test]
fn gray_assigns_a_cookie_to_new_users() {
    let p = policy();
    let (inside, outside) = gray_users();
    let r0 = req("GET", "/order", &[("x-uid", "10"), ("x-city", "5")]);
    for (id, unit) in [(&inside, "b"), (&outside, "a")] {
        let mut s = state(NOW);
        s.assigned_id = Some(id.clone());
        let r = route(decide(&p, &ingress("a"), &r0, &s));
        assert_eq!(r.unit, unit);
        assert_eq!(
            r.response_headers,
            vec![(
                "set-cookie".to_string(),
                format!("gid={id}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax")
            )]
        );
    }
    // No id at all: not in gray, no cookie.
    let r = go(&p, "a", &r0);
    assert_eq!((r.reason, r.response_headers.len()), (Reason::KeyRange, 0));
}

#[test]
fn tester_token_overrides_mapping_and_gray() {
    let p = policy();
    let with_token = |tok: &str| {
        let headers = [("x-uid", "10"), (DEFAULT_TESTER_HEADER, tok)];
        go(&p, "a", &req("GET", "/order", &headers))
    };
    let tok = tester_token(SECRET, "c", NOW + 1000);
    let r = with_token(&tok);
    assert_eq!((&*r.unit, r.reason), ("c", Reason::Tester));
    let expired = tester_token(SECRET, "c", NOW - 1);
    assert_eq!(with_token(&expired).reason, Reason::KeyRange);
    let forged = tester_token(b"guess", "c", NOW + 1000);
    assert_eq!(with_token(&forged).reason, Reason::KeyRange);
    let unknown_unit = tester_token(SECRET, "zz", NOW + 1000);
    assert_eq!(with_token(&unknown_unit).reason, Reason::KeyRange);
    // Only core APIs.
    let r = go(
        &p,
        "a",
        &req("GET", "/cat/x", &[(DEFAULT_TESTER_HEADER, &tok)]),
    );
    assert_eq!(r.reason, Reason::SharedRead);
}

fn with_iso(f: impl FnOnce(&mut Value)) -> CompiledPolicy {
    let mut v = base();
    f(&mut v);
    load_ok(&v)
}

#[test]
fn failover_down_switch_and_breaker() {
    let b_req = req("GET", "/order", &[("x-uid", "60")]);
    // b down -> a (transitively, first healthy).
    let p = with_iso(|v| set(v, "/isolation/down_units", json!(["b"])));
    let r = go(&p, "a", &b_req);
    assert_eq!((&*r.unit, r.reason), ("a", Reason::FailoverDown));
    let p = with_iso(|v| set(v, "/isolation/down_units", json!(["b", "a"])));
    let r = go(&p, "a", &b_req);
    assert_eq!((&*r.unit, r.reason), ("c", Reason::FailoverDown));
    // Everything down: fail open -> local unit; fail closed -> 503.
    let p = with_iso(|v| set(v, "/isolation/down_units", json!(["b", "a", "c"])));
    let r = go(&p, "a", &b_req);
    assert_eq!((&*r.unit, r.reason), ("a", Reason::NoHealthyUnit));
    let mut closed = ingress("a");
    closed.fail_mode = FailMode::Closed;
    let rep = reply(decide(&p, &closed, &b_req, &state(NOW)));
    assert_eq!((rep.status, rep.reason), (503, Reason::NoHealthyUnit));
    assert_eq!(
        serde_json::from_str::<Value>(&rep.body).unwrap(),
        json!({"error": "no_healthy_unit", "unit": "b"})
    );
    // Per-API switch: only that API moves.
    let p = with_iso(|v| set(v, "/isolation/api_switches/0/down_units", json!(["b"])));
    let r = go(&p, "a", &req("GET", "/tag", &[("x-tag", "q")]));
    let expected = rendezvous(["a", "b"], "q").unwrap();
    if expected == "b" {
        assert_eq!((&*r.unit, r.reason), ("a", Reason::FailoverApiSwitch));
    } else {
        assert_eq!(r.reason, Reason::KeyHash);
    }
    assert_eq!(go(&p, "a", &b_req).reason, Reason::KeyRange);
    // Breakers: open fails over, half-open lets traffic through.
    let p = policy();
    let mut s = state(NOW);
    s.breakers.insert("b".into(), BreakerStatus::Open);
    let r = route(decide(&p, &ingress("a"), &b_req, &s));
    assert_eq!((&*r.unit, r.reason), ("a", Reason::FailoverBreaker));
    s.breakers.insert("b".into(), BreakerStatus::HalfOpen);
    let r = route(decide(&p, &ingress("a"), &b_req, &s));
    assert_eq!(r.unit, "b");
    // Global APIs fail over too.
    let p = with_iso(|v| {
        set(v, "/isolation/down_units", json!(["c"]));
        set(v, "/isolation/failover", json!({"c": "a"}));
    });
    let r = go(&p, "b", &req("GET", "/inv/x", &[]));
    assert_eq!((&*r.unit, r.reason), ("a", Reason::FailoverDown));
}

#[test]
fn write_forbidden_blocks_only_matching_writes() {
    let p = policy();
    let post = |uid: &str| req("POST", "/order", &[("x-uid", uid)]);
    let rep = reply(decide(&p, &ingress("a"), &post("65"), &state(NOW)));
    assert_eq!((rep.status, rep.reason), (503, Reason::WriteForbidden));
    let until = 1_893_456_000_000u64; // 2030-01-01T00:00:00Z
    let retry = (until - NOW).div_ceil(1000);
    assert!(rep
        .headers
        .contains(&("retry-after".into(), retry.to_string())));
    assert!(rep
        .headers
        .contains(&("content-type".into(), "application/json".into())));
    assert_eq!(
        serde_json::from_str::<Value>(&rep.body).unwrap(),
        json!({"error": "write_forbidden", "window": "w1", "retry_after_s": retry})
    );
    // Outside the window's range, reads, other methods, other units, after `until`: pass.
    assert_eq!(go(&p, "a", &post("75")).unit, "b");
    assert_eq!(
        go(&p, "a", &req("GET", "/order", &[("x-uid", "65")])).unit,
        "b"
    );
    assert_eq!(
        go(&p, "a", &req("PUT", "/order", &[("x-uid", "65")])).unit,
        "b"
    );
    assert_eq!(go(&p, "a", &post("45")).unit, "a");
    let later = route(decide(&p, &ingress("a"), &post("65"), &state(until)));
    assert_eq!(later.unit, "b");
    let rep = reply(decide(&p, &ingress("a"), &post("65"), &state(until - 10)));
    assert!(rep.headers.contains(&("retry-after".into(), "1".into())));
    // Owner is the unit before failover.
    let p = with_iso(|v| set(v, "/isolation/down_units", json!(["b"])));
    assert_eq!(
        reply(decide(&p, &ingress("a"), &post("65"), &state(NOW))).reason,
        Reason::WriteForbidden
    );
    // Without until: retry_after_s or 5; values match raw.
    let p = with_iso(|v| {
        remove(v, "/isolation/write_forbidden/0/until");
        set(v, "/isolation/write_forbidden/0/units", json!([]));
    });
    let rep = reply(decide(&p, &ingress("a"), &post("12345"), &state(NOW)));
    assert!(rep.headers.contains(&("retry-after".into(), "5".into())));
    // Every window is honoured, not just the first.
    let p = with_iso(|v| {
        set(
            v,
            "/isolation/write_forbidden/-",
            json!({"name": "w2", "methods": ["PUT"], "retry_after_s": 9}),
        );
    });
    let rep = reply(decide(
        &p,
        &ingress("a"),
        &req("PUT", "/order", &[("x-uid", "1")]),
        &state(NOW),
    ));
    assert!(rep.body.contains("\"w2\""));
    assert!(rep.headers.contains(&("retry-after".into(), "9".into())));
}

#[test]
fn unknown_local_unit_replies_503() {
    let p = policy();
    let rep = reply(decide(
        &p,
        &ingress("nope"),
        &req("GET", "/", &[]),
        &state(NOW),
    ));
    assert_eq!((rep.status, rep.reason), (503, Reason::NoPolicy));
}

fn ctx_of(r: &Route) -> String {
    r.request_headers
        .iter()
        .find(|(k, _)| k == CTX_HEADER)
        .map(|(_, v)| v.clone())
        .expect("ctx header")
}

fn plus<'a>(r: &RequestView<'a>, k: &str, v: &str) -> RequestView<'a> {
    let mut headers = r.headers.clone();
    headers.retain(|(n, _)| n != k);
    headers.push((k.to_string().into(), v.to_string().into()));
    RequestView {
        headers,
        ..r.clone()
    }
}

fn hop_of(r: &Route) -> String {
    r.request_headers
        .iter()
        .find(|(k, _)| k == HOP_HEADER)
        .map(|(_, v)| v.clone())
        .expect("handoff header")
}

const FIRST: Chain = Chain {
    earlier: false,
    later: true,
};
const MIDDLE: Chain = Chain {
    earlier: true,
    later: true,
};
const LAST: Chain = Chain {
    earlier: true,
    later: false,
};

#[test]
fn chained_stages_equal_decide() {
    let p = policy();
    let (inside, _) = gray_users();
    let s = state(NOW);
    let ing = ingress("a");
    let r0 = req(
        "GET",
        "/order",
        &[("x-uid", "10"), ("x-city", "5"), ("x-user", &inside)],
    );
    let shard = route(decide_in_chain(&p, &ing, &r0, &s, Stage::Shard, FIRST));
    assert_eq!((&*shard.unit, shard.reason), ("a", Reason::KeyRange));
    assert_eq!(hop_of(&shard), "1;a;order;core;key_range");
    let r1 = plus(&r0, HOP_HEADER, &hop_of(&shard));
    let gray = route(decide_in_chain(&p, &ing, &r1, &s, Stage::Gray, MIDDLE));
    assert_eq!((&*gray.unit, gray.reason), ("b", Reason::Gray));
    let r2 = plus(&r1, HOP_HEADER, &hop_of(&gray));
    let iso = route(decide_in_chain(&p, &ing, &r2, &s, Stage::Isolation, LAST));
    assert_eq!(iso, route(decide(&p, &ing, &r0, &s)));
    // The last module hands on nothing within the cloud: no handoff, no stamp.
    assert!(route(decide(&p, &ing, &r0, &s)).request_headers.is_empty() || iso.crossed);
    // The isolation stage resumes: it does not regray.
    let r1b = plus(&r0, HOP_HEADER, &hop_of(&shard));
    let iso_only = route(decide_in_chain(&p, &ing, &r1b, &s, Stage::Isolation, LAST));
    assert_eq!((&*iso_only.unit, iso_only.reason), ("a", Reason::KeyRange));
    // A module without an earlier one ignores a handoff: it runs from scratch.
    let alone = route(decide_stage(&p, &ing, &r1b, &s, Stage::Isolation));
    assert_eq!(alone.reason, Reason::Gray);
    // A handoff from the same or a later stage, or garbage, is not resumed.
    let same = plus(&r0, HOP_HEADER, &hop_of(&gray));
    let again = route(decide_in_chain(&p, &ing, &same, &s, Stage::Gray, MIDDLE));
    assert_eq!(again.reason, Reason::Gray);
    let bad = plus(&r0, HOP_HEADER, "1;zz;order;core;key_range");
    assert_eq!(
        route(decide_in_chain(&p, &ing, &bad, &s, Stage::Gray, MIDDLE)).reason,
        Reason::Gray
    );
}

#[test]
fn peer_stamps_are_bound_to_their_request() {
    let p = policy();
    let s = state(NOW);
    let sent = req("POST", "/order", &[("x-uid", "75")]);
    let first = go(&p, "a", &sent);
    assert!(first.crossed);
    let forwarded = |r: &RequestView| route(decide(&p, &ingress("b"), r, &s)).reason;
    let stamp = ctx_of(&first);
    assert_eq!(
        forwarded(&plus(&sent, CTX_HEADER, &stamp)),
        Reason::Forwarded
    );
    // Replayed onto another method, path or key value: routed from scratch.
    for other in [
        req("PUT", "/order", &[("x-uid", "75")]),
        req("POST", "/order/1", &[("x-uid", "75")]),
        req("POST", "/order", &[("x-uid", "76")]),
    ] {
        assert_ne!(
            forwarded(&plus(&other, CTX_HEADER, &stamp)),
            Reason::Forwarded
        );
    }
    // Too old.
    let late = state(NOW + 31_000);
    let r = route(decide(
        &p,
        &ingress("b"),
        &plus(&sent, CTX_HEADER, &stamp),
        &late,
    ));
    assert_ne!(r.reason, Reason::Forwarded);
}

#[test]
fn forwarded_requests_stay_in_the_peer_cloud() {
    let p = policy();
    let s = state(NOW);
    // Ingress in ucloud routes uid 75 to b in jcloud and stamps it.
    let first = go(&p, "a", &req("POST", "/order", &[("x-uid", "75")]));
    assert!(first.crossed);
    // The jcloud ingress (local unit b) sees the stamp: forwarded, served locally.
    let at_peer = plus(
        &req("POST", "/order", &[("x-uid", "75")]),
        CTX_HEADER,
        &ctx_of(&first),
    );
    let r = route(decide(&p, &ingress("b"), &at_peer, &s));
    assert_eq!(
        (&*r.unit, r.reason, r.crossed),
        ("b", Reason::Forwarded, false)
    );
    assert_eq!(r.api.as_deref(), Some("order"));
    // If b is down there, failover to a would cross clouds again: fail mode instead.
    let p2 = with_iso(|v| set(v, "/isolation/down_units", json!(["b"])));
    let first = route(decide(
        &p2,
        &ingress("c"),
        &req("POST", "/order", &[("x-uid", "75")]),
        &s,
    ));
    assert_eq!(first.unit, "a", "ucloud fails over b -> a itself");
    let forged_peer = plus(
        &req("GET", "/order", &[("x-uid", "75")]),
        CTX_HEADER,
        &ctx_of(&go(&p, "a", &req("GET", "/order", &[("x-uid", "75")]))),
    );
    let r = route(decide(&p2, &ingress("b"), &forged_peer, &s));
    assert_eq!(
        (&*r.unit, r.reason, r.crossed),
        ("b", Reason::NoHealthyUnit, false)
    );
    let mut closed = ingress("b");
    closed.fail_mode = FailMode::Closed;
    assert_eq!(reply(decide(&p2, &closed, &forged_peer, &s)).status, 503);
    // A peer stamp naming a unit of another cloud (b, in jcloud, at ucloud's ingress a)
    // lands on the local unit.
    let text = format!("v2;jcloud;b;-;global;global;t1;{NOW}");
    let sig = sign(SECRET, &format!("{text}\nGET\n/inv/x\n-"));
    let via_b = plus(
        &req("GET", "/inv/x", &[]),
        CTX_HEADER,
        &format!("{text};{sig}"),
    );
    let r = route(decide(&p, &ingress("a"), &via_b, &s));
    assert_eq!((&*r.unit, r.reason), ("a", Reason::Forwarded));
    // Gray never applies to forwarded requests.
    let (inside, _) = gray_users();
    let g = req(
        "GET",
        "/order",
        &[("x-uid", "10"), ("x-city", "5"), ("x-user", &inside)],
    );
    let stamped = plus(
        &g,
        CTX_HEADER,
        &ctx_of(&go(&p, "b", &req("GET", "/order", &[("x-uid", "10")]))),
    );
    let r = route(decide(&p, &ingress("a"), &stamped, &s));
    assert_eq!((&*r.unit, r.reason), ("a", Reason::Forwarded));
}

#[test]
fn untrusted_headers_strip_every_internal_header_but_the_tester() {
    let inbound = req(
        "GET",
        "/",
        &[
            (CTX_HEADER, "v2;whatever"),
            ("x-unitgate-cluster", "b_up"),
            (HOP_HEADER, "1;a;-;core;global"),
            (DEFAULT_TESTER_HEADER, "t"),
        ],
    );
    assert_eq!(
        untrusted_headers(&ingress("b"), &inbound, false),
        vec![CTX_HEADER, "x-unitgate-cluster", HOP_HEADER]
    );
    assert_eq!(
        untrusted_headers(&ingress("b"), &inbound, true),
        vec![CTX_HEADER, "x-unitgate-cluster"]
    );
}
