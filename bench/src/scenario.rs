//! What every variant is asked to do: the benchmark policy (`bench/policy.json`), the request
//! mix wrk cycles through, and the backend each request must reach. The expected backend comes
//! from `unitgate_core::decide` on the policy, so a variant that routes otherwise fails the run.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use unitgate_core::{decide, Body, Decision, FailMode, Ingress, RequestView, RuntimeState};

/// Request header the routing variants put the chosen cluster in.
pub const CLUSTER_HEADER: &str = "x-unitgate-cluster";
/// The shard-key header of the policy.
pub const CITY_HEADER: &str = "x-city-id";
/// The unit this ingress serves (`local_unit`).
pub const LOCAL_UNIT: &str = "a";
/// Secret of the unitgate plugin configuration (never used to cross clouds here).
const SECRET: &str = "bench-secret";

/// One request of the mix.
#[derive(Clone, Debug)]
pub struct MixRequest {
    pub path: &'static str,
    pub city: Option<&'static str>,
}

/// What wrk sends, in order, over and over: cities in both units' ranges, a city outside every
/// range, a core API without a key, and a global API.
pub const MIX: [MixRequest; 12] = [
    MixRequest {
        path: "/api/orders/1",
        city: Some("7"),
    },
    MixRequest {
        path: "/api/orders/2",
        city: Some("150"),
    },
    MixRequest {
        path: "/api/orders/3",
        city: Some("260"),
    },
    MixRequest {
        path: "/api/orders/4",
        city: Some("399"),
    },
    MixRequest {
        path: "/api/orders/5",
        city: Some("420"),
    },
    MixRequest {
        path: "/api/orders/6",
        city: Some("555"),
    },
    MixRequest {
        path: "/api/orders/7",
        city: Some("610"),
    },
    MixRequest {
        path: "/api/orders/8",
        city: Some("777"),
    },
    MixRequest {
        path: "/api/orders/9",
        city: Some("999"),
    },
    MixRequest {
        path: "/api/orders/10",
        city: Some("5000"),
    },
    MixRequest {
        path: "/api/orders/11",
        city: None,
    },
    MixRequest {
        path: "/static/app.js",
        city: Some("150"),
    },
];

/// `bench/` in the workspace.
pub fn bench_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The benchmark policy.
pub fn policy() -> Result<Value> {
    let path = bench_dir().join("policy.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}", path.display()))
}

/// The policy with `n` extra exact city values (1000, 1001, ...), alternating between the
/// units: what one ingress holds for a large exact-match table.
pub fn policy_with_exact(n: usize) -> Result<Value> {
    let mut p = policy()?;
    let city = |i: usize| (1000 + i).to_string();
    let a: Vec<String> = (0..n).step_by(2).map(city).collect();
    let b: Vec<String> = (1..n).step_by(2).map(city).collect();
    p["version"] = json!(format!("bench-cities-exact-{n}"));
    p["rules"][0]["exact"] = json!([{"unit": "a", "values": a}, {"unit": "b", "values": b}]);
    Ok(p)
}

/// The plugin configuration every unitgate module of the benchmark gets.
pub fn plugin_config(policy: &Value) -> String {
    json!({
        "local_unit": LOCAL_UNIT,
        "fail_mode": "open",
        "secret": SECRET,
        "policy": policy,
        "cluster_header": CLUSTER_HEADER,
    })
    .to_string()
}

/// unit name -> upstream (Envoy cluster) from the policy.
pub fn upstreams(policy: &Value) -> BTreeMap<String, String> {
    policy["units"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| Some((u["name"].as_str()?.into(), u["upstream"].as_str()?.into())))
        .collect()
}

/// The policy's city ranges as (first, last, cluster), sorted: what Envoy's `range_match`
/// routes are written from.
pub fn city_ranges(policy: &Value) -> Result<Vec<(u64, u64, String)>> {
    let upstreams = upstreams(policy);
    let mut out = Vec::new();
    for item in policy["rules"][0]["ranges"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let unit = item["unit"].as_str().unwrap_or_default();
        let Some(cluster) = upstreams.get(unit) else {
            bail!("range item names unknown unit {unit:?}");
        };
        for r in item["ranges"].as_array().into_iter().flatten() {
            let text = r.as_str().unwrap_or_default();
            let (lo, hi) = text.split_once('~').unwrap_or((text, text));
            out.push((lo.parse()?, hi.parse()?, cluster.clone()));
        }
    }
    out.sort();
    Ok(out)
}

/// The unit the trivial filter sends a city to: `b` when its hundreds digit is odd, which is
/// the policy's ranges for every city of the mix; it reads no path, so the global `/static/`
/// request goes by its city too.
pub fn trivial_unit(city: Option<&str>) -> &'static str {
    match city.and_then(|c| c.parse::<u64>().ok()) {
        Some(n) if (n / 100) % 2 == 1 => "b",
        _ => LOCAL_UNIT,
    }
}

/// The unit (backend name) unitgate routes each mix request to: `unitgate_core::decide`.
pub fn expected_units(policy: &Value) -> Result<Vec<String>> {
    let loaded = unitgate_core::load(&policy.to_string())
        .map_err(|report| anyhow::anyhow!("bench policy does not load: {report:?}"))?;
    let ingress = Ingress {
        local_unit: LOCAL_UNIT.into(),
        fail_mode: FailMode::Open,
        secret: SECRET.as_bytes().to_vec(),
        stamp_max_age_ms: 30_000,
        remote_upstreams: BTreeMap::new(),
        tester_header: unitgate_core::DEFAULT_TESTER_HEADER.into(),
    };
    MIX.iter()
        .map(|m| {
            let headers = m
                .city
                .map(|c| vec![(CITY_HEADER.to_string(), c.to_string())])
                .unwrap_or_default();
            let req = RequestView::new("GET", m.path, headers).with_body(Body::Absent);
            match decide(&loaded.policy, &ingress, &req, &RuntimeState::default()) {
                Decision::Route(route) => Ok(route.unit.into_owned()),
                other => bail!("{} decides {other:?}, not a route", m.path),
            }
        })
        .collect()
}
