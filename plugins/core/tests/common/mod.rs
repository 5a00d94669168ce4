//! Helpers shared by the integration tests.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::collections::BTreeMap;
use unitgate_core::*;

pub const SECRET: &[u8] = b"test-secret";

pub fn ingress(local: &str) -> Ingress {
    Ingress {
        local_unit: local.into(),
        fail_mode: FailMode::Open,
        secret: SECRET.to_vec(),
        stamp_max_age_ms: 30_000,
        remote_upstreams: BTreeMap::from([("jcloud".to_string(), "peer_jcloud".to_string())]),
        tester_header: DEFAULT_TESTER_HEADER.into(),
    }
}

pub fn state(now_ms: u64) -> RuntimeState {
    RuntimeState {
        now_ms,
        ..RuntimeState::default()
    }
}

pub fn req(method: &str, path: &str, headers: &[(&str, &str)]) -> RequestView<'static> {
    let headers = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    RequestView::new(method, path, headers).with_body(Body::Absent)
}

pub fn example(name: &str) -> String {
    let path = format!(
        "{}/../../policies/examples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub fn load_ok(v: &Value) -> CompiledPolicy {
    match load_value(v) {
        Ok(l) => l.policy,
        Err(r) => panic!("policy should load:\n{r}"),
    }
}

/// The decision's route, owned (so a test may pass a temporary ingress).
pub fn route(d: Decision<'_>) -> Route<'static> {
    match d {
        Decision::Route(r) => r.into_owned(),
        other => panic!("expected a route, got {other:?}"),
    }
}

pub fn reply(d: Decision) -> LocalReply {
    match d {
        Decision::Reply(r) => r,
        other => panic!("expected a reply, got {other:?}"),
    }
}

/// A valid policy that uses every feature: two clouds, center + two normal units.
pub fn base() -> Value {
    json!({
        "version": "t1",
        "units": [
            {"name": "c", "role": "center", "cloud": "ucloud", "upstream": "c_up"},
            {"name": "a", "role": "normal", "cloud": "ucloud", "upstream": "a_up"},
            {"name": "b", "role": "normal", "cloud": "jcloud", "upstream": "b_up"}
        ],
        "keys": [
            {"name": "uid", "sources": [{"header": "x-uid"}, {"cookie": "uid"}, {"query": "uid"}, {"body": "/uid"}],
             "transform": {"modulo": 100}},
            {"name": "city", "sources": [{"header": "x-city"}, {"path_segment": 1}], "transform": "number"},
            {"name": "tag", "sources": [{"header": "x-tag"}]},
            {"name": "user", "sources": [{"header": "x-user"}, {"cookie": "gid"}]}
        ],
        "rules": [
            {"name": "by-uid", "key": "uid", "total": true,
             "exact": [{"unit": "c", "values": ["777"]}],
             "ranges": [{"unit": "a", "ranges": ["0~49"]}, {"unit": "b", "ranges": ["50~99"]}],
             "default": "c"},
            {"name": "by-city", "key": "city",
             "ranges": [{"unit": "a", "ranges": ["0~99", "200"]}, {"unit": "b", "ranges": ["100~199"]}]},
            {"name": "by-tag", "key": "tag",
             "exact": [{"unit": "a", "values": ["x"]}],
             "consistent_hash": {"units": ["a", "b"]}}
        ],
        "apis": [
            {"name": "inv", "match": {"prefix": "/inv/"}, "class": "global"},
            {"name": "cat", "match": {"prefix": "/cat/"}, "class": "shared"},
            {"name": "city", "match": {"regex": "/city/[0-9]+(/.*)?"}, "class": "core", "rule": "by-city"},
            {"name": "tag", "match": {"exact": "/tag", "methods": ["GET", "POST"]}, "class": "core", "rule": "by-tag"},
            {"name": "order", "match": {"prefix": "/order"}, "class": "core", "rule": "by-uid"}
        ],
        "default_api": {"class": "core", "rule": "by-uid"},
        "gray": [
            {"name": "g1", "apis": ["order"], "when": {"key": "city", "values": ["5"]},
             "sticky_key": "user", "percent": 30, "target": "b",
             "allow": ["vip"], "deny": ["nope"], "assign_cookie": "gid"}
        ],
        "isolation": {
            "down_units": [],
            "failover": {"b": "a", "a": "c"},
            "api_switches": [{"api": "tag", "down_units": []}],
            "write_forbidden": [
                {"name": "w1", "units": ["b"], "apis": ["order"], "methods": ["POST"], "key": "uid",
                 "ranges": ["60~69"], "values": ["12345"], "until": "2030-01-01T00:00:00Z"}
            ],
            "breaker": {"window_ms": 1000, "min_requests": 5, "error_percent": 50, "open_ms": 1000, "half_open_probes": 1}
        },
        "missing_key": {"action": "local"}
    })
}

/// Set `value` at JSON pointer `ptr` (the parent must exist; arrays may be appended with "-").
pub fn set(v: &mut Value, ptr: &str, value: Value) {
    let (parent, last) = ptr.rsplit_once('/').expect("pointer");
    let target = v
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("no {parent}"));
    match target {
        Value::Object(m) => {
            m.insert(last.replace("~1", "/").replace("~0", "~"), value);
        }
        Value::Array(a) if last == "-" => a.push(value),
        Value::Array(a) => a[last.parse::<usize>().unwrap()] = value,
        _ => panic!("cannot set {ptr}"),
    }
}

pub fn remove(v: &mut Value, ptr: &str) {
    let (parent, last) = ptr.rsplit_once('/').expect("pointer");
    match v.pointer_mut(parent) {
        Some(Value::Object(m)) => {
            m.remove(last);
        }
        Some(Value::Array(a)) => {
            a.remove(last.parse::<usize>().unwrap());
        }
        _ => panic!("cannot remove {ptr}"),
    }
}
