//! `decide()` natively: by policy size (10, 1,000 and 100,000 range or exact entries) and by
//! where the shard key comes from (header, query, cookie, path segment, JSON body). The request
//! view is built once, outside the measured loop. `make bench` puts the results in
//! docs/BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;
use unitgate_core::{
    decide, load, Body, CompiledPolicy, Decision, FailMode, Ingress, RequestView, RuntimeState,
};

const SIZES: [usize; 3] = [10, 1_000, 100_000];

/// Two units in one cloud; key `city` from `source`; `mapping` is the rule's body.
fn policy(source: Value, mapping: Value) -> Value {
    let mut rule = json!({"name": "by-city", "key": "city", "default": "a"});
    for (k, v) in mapping.as_object().into_iter().flatten() {
        rule[k] = v.clone();
    }
    json!({
        "version": "bench",
        "units": [
            {"name": "a", "role": "center", "cloud": "c1", "upstream": "unit_a"},
            {"name": "b", "role": "normal", "cloud": "c1", "upstream": "unit_b"}
        ],
        "keys": [{"name": "city", "sources": [source], "transform": "number"}],
        "rules": [rule],
        "apis": [{"name": "orders", "match": {"prefix": "/api/"}, "class": "core", "rule": "by-city"}],
        "default_api": {"class": "global"},
        "missing_key": {"action": "local"}
    })
}

/// `n` ten-wide ranges (or `n` exact values), alternating between a and b.
fn mapping(kind: &str, n: usize) -> Value {
    let entry = |i: usize| match kind {
        "ranges" => format!("{}~{}", i * 10, i * 10 + 9),
        _ => i.to_string(),
    };
    let a: Vec<String> = (0..n).step_by(2).map(entry).collect();
    let b: Vec<String> = (1..n).step_by(2).map(entry).collect();
    let field = if kind == "ranges" { "ranges" } else { "values" };
    json!({kind: [{"unit": "a", field: a}, {"unit": "b", field: b}]})
}

fn compiled(p: &Value) -> CompiledPolicy {
    match load(&p.to_string()) {
        Ok(loaded) => loaded.policy,
        Err(report) => panic!("bench policy does not load: {report:?}"),
    }
}

fn ingress() -> Ingress {
    Ingress {
        local_unit: "a".into(),
        fail_mode: FailMode::Open,
        secret: b"bench-secret".to_vec(),
        stamp_max_age_ms: 30_000,
        remote_upstreams: BTreeMap::new(),
        tester_header: unitgate_core::DEFAULT_TESTER_HEADER.into(),
    }
}

/// Benches one (policy, request) pair after checking it routes to `unit` by the key.
fn bench_decide(
    g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    function: &str,
    parameter: Option<&str>,
    p: &CompiledPolicy,
    req: &RequestView,
    unit: &str,
) {
    let ingress = ingress();
    let state = RuntimeState::default();
    match decide(p, &ingress, req, &state) {
        Decision::Route(r) if r.unit == unit => {}
        other => panic!("{function} {parameter:?}: expected a route to {unit}, got {other:?}"),
    }
    let id = match parameter {
        Some(param) => BenchmarkId::new(function, param),
        None => BenchmarkId::from_parameter(function),
    };
    g.bench_function(id, |b| {
        b.iter(|| decide(black_box(p), &ingress, black_box(req), &state))
    });
}

fn by_size(c: &mut Criterion) {
    let mut g = c.benchmark_group("decide_size");
    g.measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    for kind in ["ranges", "exact"] {
        for n in SIZES {
            let p = compiled(&policy(json!({"header": "x-city-id"}), mapping(kind, n)));
            // An entry in the middle of the table, owned by b (odd entries).
            let i = (n / 2) | 1;
            let city = if kind == "ranges" { i * 10 + 5 } else { i };
            let req = RequestView::new(
                "GET",
                "/api/orders/1",
                vec![("x-city-id".into(), city.to_string())],
            )
            .with_body(Body::Absent);
            bench_decide(&mut g, kind, Some(&n.to_string()), &p, &req, "b");
        }
    }
    g.finish();
}

fn by_key_source(c: &mut Criterion) {
    let mut g = c.benchmark_group("decide_key_source");
    g.measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    let city = "15";
    let header = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
    let cases: [(&str, Value, RequestView); 5] = [
        (
            "header",
            json!({"header": "x-city-id"}),
            RequestView::new("GET", "/api/orders/1", header("x-city-id", city)),
        ),
        (
            "query",
            json!({"query": "city_id"}),
            RequestView::new("GET", &format!("/api/orders/1?city_id={city}"), vec![]),
        ),
        (
            "cookie",
            json!({"cookie": "city"}),
            RequestView::new(
                "GET",
                "/api/orders/1",
                header("cookie", &format!("session=abc; city={city}")),
            ),
        ),
        (
            "path_segment",
            json!({"path_segment": 2}),
            RequestView::new("GET", &format!("/api/city/{city}/orders"), vec![]),
        ),
        (
            "json_body",
            json!({"body": "/order/city_id"}),
            RequestView::new(
                "POST",
                "/api/orders",
                header("content-type", "application/json"),
            ),
        ),
    ];
    for (name, source, req) in cases {
        let p = compiled(&policy(source, mapping("ranges", 10)));
        let req = match name {
            "json_body" => req.with_body(Body::Bytes(
                format!(r#"{{"order":{{"city_id":{city},"items":[1,2,3]}}}}"#).into_bytes(),
            )),
            _ => req.with_body(Body::Absent),
        };
        bench_decide(&mut g, name, None, &p, &req, "b");
    }
    g.finish();
}

criterion_group!(benches, by_size, by_key_source);
criterion_main!(benches);
