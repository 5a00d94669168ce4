//! Key values are compared in one canonical form: with a number key (`"number"` or
//! `{"modulo":N}`), exact lists, gray `when` values and window values match every spelling of
//! a number (`0777`, `777`, `+777`), as ranges do; text around the digits makes the value
//! malformed, as AppActive makes it.

mod common;

use common::*;
use serde_json::Value;
use unitgate_core::*;

/// `base()` (key `uid` is `{"modulo":100}`, `city` is `"number"`) with a window on every unit.
fn policy() -> Value {
    let mut v = base();
    v["isolation"]["write_forbidden"][0]["units"] = serde_json::json!([]);
    v
}

fn decide_on(v: &Value, r: &RequestView) -> Decision<'static> {
    decide(&load_ok(v), &ingress("a"), r, &state(0)).into_owned()
}

#[test]
fn exact_lists_match_every_spelling_of_a_number() {
    let v = policy();
    for uid in ["777", "0777", "+777", "000777"] {
        let r = route(decide_on(&v, &req("GET", "/order/1", &[("x-uid", uid)])));
        assert_eq!((&*r.unit, r.reason), ("c", Reason::KeyExact), "{uid}");
    }
    // Listed with zeros, read without them.
    let mut v = policy();
    v["rules"][0]["exact"][0]["values"] = serde_json::json!(["000777"]);
    let r = route(decide_on(&v, &req("GET", "/order/1", &[("x-uid", "777")])));
    assert_eq!((&*r.unit, r.reason), ("c", Reason::KeyExact));
}

#[test]
fn gray_when_values_match_every_spelling_of_a_number() {
    let v = policy();
    for city in ["5", "05", "+5"] {
        let headers = [("x-uid", "10"), ("x-city", city), ("x-user", "vip")];
        let r = route(decide_on(&v, &req("GET", "/order/1", &headers)));
        assert_eq!((&*r.unit, r.reason), ("b", Reason::GrayAllow), "{city}");
    }
    let headers = [("x-uid", "10"), ("x-city", "50"), ("x-user", "vip")];
    let r = route(decide_on(&v, &req("GET", "/order/1", &headers)));
    assert_ne!(r.reason, Reason::GrayAllow);
}

#[test]
fn window_values_match_every_spelling_of_a_number() {
    let v = policy();
    for uid in ["12345", "012345", "+12345"] {
        let d = decide_on(&v, &req("POST", "/order/1", &[("x-uid", uid)]));
        assert_eq!(reply(d).reason, Reason::WriteForbidden, "{uid}");
    }
    route(decide_on(
        &v,
        &req("POST", "/order/1", &[("x-uid", "12346")]),
    ));
}

#[test]
fn text_around_the_digits_makes_a_number_malformed() {
    let v = policy();
    // `2500%20` is "2500 ": AppActive cannot parse it, and neither do we.
    let r = route(decide_on(&v, &req("GET", "/order/1?uid=2500%20", &[])));
    assert_eq!(r.reason, Reason::MissingKeyLocal);
    let r = route(decide_on(&v, &req("GET", "/order/1?uid=2500", &[])));
    assert_eq!(r.reason, Reason::KeyRange);
    // A write with it is refused while a window covers its unit.
    let d = decide_on(&v, &req("POST", "/order/1?uid=2500%20", &[]));
    assert_eq!(reply(d).reason, Reason::WriteForbidden);
}
