//! The three modules chained reach the same decision as `unitgate_core::decide`, and each
//! module alone the same as `decide_stage` for its stage, for many generated requests (key
//! sources, malformed keys, bodies, gray users, anonymous users, tester tokens, peer stamps,
//! write-forbidden windows, API switches). The counters per unit and reason equal what the
//! core decided. Both host profiles.

#[macro_use]
mod plugin_common;

use plugin_common::*;
use proxy_wasm_test_host::{Host, Profile};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use unitgate_core::{
    decide, decide_stage, decide_stages, tester_token, Decision, RuntimeState, Stage, Stages,
    CTX_HEADER,
};

const REQUESTS: usize = 600;

/// dual-cloud-city plus a 30% gray rule, a write-forbidden window and an API switch.
fn rich_dual_city() -> Value {
    let mut p = dual_city();
    p["gray"][0]["percent"] = json!(30);
    p["gray"][0]["deny"] = json!(["u3"]);
    p["gray"][0]["allow"] = json!(["u4"]);
    p["isolation"]["write_forbidden"] = json!([{
        "name": "jc-freeze", "units": ["jc"], "key": "city", "ranges": ["500~599"],
        "until": "2026-01-01T01:00:00Z"
    }]);
    p
}

/// center-units plus a gray rule on `trade`, an active cutover window and an API switch.
fn rich_center_units() -> Value {
    let mut p = center_units();
    p["gray"] = json!([{
        "name": "trade-gray", "apis": ["trade"], "sticky_key": "uid", "percent": 20,
        "target": "unit-sh"
    }]);
    p["isolation"]["write_forbidden"][0]["until"] = json!("2026-01-01T01:00:00Z");
    p["isolation"]["api_switches"] = json!([{"api": "account", "down_units": ["unit-sz"]}]);
    p
}

/// Units and clouds of a policy.
fn units(policy: &Value) -> Vec<(String, String)> {
    policy["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            let s = |k: &str| u[k].as_str().unwrap().to_string();
            (s("name"), s("cloud"))
        })
        .collect()
}

/// Tester token and peer stamp, sometimes valid, sometimes forged. A peer stamp is what a
/// peer cloud's ingress (a unit of another cloud, signing with the real or a forged secret)
/// writes when it sends this very request across.
fn trust_headers(mut req: Req, g: &mut Rng, policy: &Value, local: &str, now: u64) -> Req {
    let all = units(policy);
    let local_cloud = all.iter().find(|(u, _)| u == local).unwrap().1.clone();
    let (unit, cloud) = g.pick(&all).clone();
    let secret = if g.chance(50) { SECRET } else { "forged" };
    if g.chance(10) {
        let token = tester_token(secret.as_bytes(), &unit, now + 9_999);
        req = req.header("x-unitgate-tester", &token);
    }
    if g.chance(10) && cloud != local_cloud {
        let cfg = config(policy, &unit, Profile::Envoy);
        let mut peer = ingress(&cfg);
        peer.secret = secret.as_bytes().to_vec();
        let state = RuntimeState {
            now_ms: now,
            ..RuntimeState::default()
        };
        if let Decision::Route(r) = decide(&compiled(&cfg), &peer, &req.view(), &state) {
            if let Some((k, v)) = r.request_headers.iter().find(|(k, _)| k == CTX_HEADER) {
                req = req.header(k, v);
            }
        }
    }
    req
}

fn method(g: &mut Rng) -> &'static str {
    const METHODS: [&str; 8] = [
        "GET", "GET", "GET", "POST", "PUT", "DELETE", "HEAD", "PATCH",
    ];
    METHODS[g.below(METHODS.len() as u64) as usize]
}

fn gen_dual_city(g: &mut Rng, local: &str, now: u64) -> Req {
    let city = *g.pick(&[
        "42", "42", "42", "7", "100", "499", "500", "550", "600", "999", "1500", "abc", "",
    ]);
    let path = *g.pick(&[
        "/api/orders",
        "/api/city/{}/orders",
        "/api/profile",
        "/admin/x",
        "/x",
    ]);
    let mut req = Req::new(
        method(g),
        &path.replace("{}", if city.is_empty() { "0" } else { city }),
    );
    req = match g.below(4) {
        0 => req.header("x-city-id", city),
        1 => Req {
            path: format!("{}?city_id={city}", req.path),
            ..req
        },
        2 => req.cookie("city", city),
        _ => req,
    };
    req = match g.below(3) {
        0 => req.header("x-user-id", &format!("u{}", g.below(50))),
        1 => req.cookie("ug_uid", &format!("a{}", g.below(50))),
        _ => req,
    };
    trust_headers(req, g, &rich_dual_city(), local, now)
}

fn gen_center_units(g: &mut Rng, local: &str, now: u64) -> Req {
    let uid = *g.pick(&[
        "0", "3332", "3333", "5000", "6665", "6666", "7000", "7999", "8000", "9999", "10001",
        "17000", "x",
    ]);
    let path = *g.pick(&[
        "/trade/orders",
        "/trade/carts/1",
        "/account",
        "/catalog/a",
        "/inventory/b",
        "/misc",
    ]);
    let mut req = Req::new(method(g), path);
    req = match g.below(5) {
        0 => req.header("x-user-id", uid),
        1 => req.cookie("uid", uid),
        2 => Req {
            path: format!("{path}?uid={uid}"),
            ..req
        },
        3 if req.method == "POST" || req.method == "PUT" => {
            req.body(json!({"buyer": {"id": uid}}).to_string())
        }
        _ => req,
    };
    trust_headers(req, g, &rich_center_units(), local, now)
}

/// Expected counters from the core: each module routes what its stage decides; a reply
/// stops the chain at the module that sent it.
fn count(expected: &mut BTreeMap<String, i64>, module: &str, d: &Decision) {
    let name = match d {
        Decision::Route(r) => format!(
            "unitgate.{module}.decisions.unit.{}.reason.{}",
            r.unit,
            r.reason.as_str()
        ),
        Decision::Reply(l) => format!(
            "unitgate.{module}.replies.status.{}.reason.{}",
            l.status,
            l.reason.as_str()
        ),
        Decision::NeedBody => unreachable!(),
    };
    *expected.entry(name).or_default() += 1;
}

type Gen = fn(&mut Rng, &str, u64) -> Req;

/// Counters the modules defined, without configuration counters.
fn decision_metrics(host: &Host) -> BTreeMap<String, i64> {
    host.metrics()
        .into_iter()
        .filter(|(k, v)| *v > 0 && !k.contains(".config."))
        .collect()
}

fn same_decisions(profile: Profile, policy: Value, local: &str, gen: Gen) {
    // One host runs the chain, another each module alone (so their counters stay apart).
    let (chained, solo) = (Host::new(profile), Host::new(profile));
    let cfg = config(&policy, local, profile);
    let (p, ing) = (compiled(&cfg), ingress(&cfg));
    let (chain, _ws) = chain(&chained, &cfg);
    let alone: Vec<_> = MODULES
        .iter()
        .map(|(m, s)| (*m, *s, start(&solo, m, &cfg)))
        .collect();
    let cookie = policy["gray"][0]["assign_cookie"]
        .as_str()
        .map(str::to_string);
    let mut g = Rng(0x5eed_0000 + local.len() as u64);
    let (mut want_chained, mut want_solo) = (BTreeMap::new(), BTreeMap::new());
    let mut kinds = BTreeMap::new();
    for i in 0..REQUESTS {
        let req = gen(&mut g, local, chained.now_ms());
        let view = req.view();
        // The chain: decide(), with the id the gray module assigned (from its Set-Cookie).
        let r = req.send_chain(&chain);
        let state = state_for(&chained, &r, cookie.as_deref());
        let want = decide(&p, &ing, &view, &state);
        let got = outcome(&r, profile);
        assert_eq!(got, core_outcome(want), "{profile} #{i} chain: {req:?}");
        *kinds.entry(got.kind()).or_insert(0) += 1;
        for (m, stage) in STAGES {
            let d = decide_stage(&p, &ing, &view, &state, stage);
            count(&mut want_chained, m, &d);
            if matches!(d, Decision::Reply(_)) {
                break; // a local reply ends the chain
            }
        }
        // Each module alone: decide_stage() for its stage.
        for (m, stage, w) in &alone {
            let r = req.send(w);
            let state = state_for(&solo, &r, cookie.as_deref());
            let want = decide_stage(&p, &ing, &view, &state, *stage);
            assert_eq!(
                outcome(&r, profile),
                core_outcome(want.clone()),
                "{profile} #{i} {m}: {req:?}"
            );
            count(&mut want_solo, short(m), &want);
        }
        let dt = g.below(2000);
        chained.advance(dt).unwrap();
        solo.advance(dt).unwrap();
    }
    assert!(
        kinds.len() >= 8,
        "{profile}: too few kinds of outcome: {kinds:?}"
    );
    assert_eq!(
        decision_metrics(&chained),
        want_chained,
        "{profile}: chain counters"
    );
    assert_eq!(
        decision_metrics(&solo),
        want_solo,
        "{profile}: lone module counters"
    );
}

const STAGES: [(&str, Stage); 3] = [
    ("shard", Stage::Shard),
    ("gray", Stage::Gray),
    ("isolation", Stage::Isolation),
];

fn short(module: &str) -> &'static str {
    metric_name(module)
}

trait Kind {
    fn kind(&self) -> String;
}

impl Kind for Outcome {
    /// The reason of a route, or the status and error of a reply.
    fn kind(&self) -> String {
        match self {
            Outcome::Route { reason, .. } => reason.clone(),
            Outcome::Reply { status, body } => {
                let error = serde_json::from_str::<Value>(body).unwrap()["error"].clone();
                format!("{status} {error}")
            }
        }
    }
}

fn chain_equals_core_dual_city(profile: Profile) {
    same_decisions(profile, rich_dual_city(), "uc", gen_dual_city);
    same_decisions(profile, rich_dual_city(), "jc", gen_dual_city);
}

fn chain_equals_core_center_units(profile: Profile) {
    same_decisions(profile, rich_center_units(), "unit-sh", gen_center_units);
    same_decisions(profile, rich_center_units(), "unit-sz", gen_center_units);
}

/// The one-pass module with a subset of `"stages"` equals `decide_stages` on that subset.
fn one_pass_stages_equal_core(profile: Profile) {
    let host = Host::new(profile);
    let policy = rich_dual_city();
    let subsets: [(&[&str], Stages); 3] = [
        (
            &["shard"],
            Stages {
                gray: false,
                isolation: false,
            },
        ),
        (
            &["shard", "gray"],
            Stages {
                gray: true,
                isolation: false,
            },
        ),
        (
            &["shard", "isolation"],
            Stages {
                gray: false,
                isolation: true,
            },
        ),
    ];
    for (names, stages) in subsets {
        let mut cfg = config(&policy, "uc", profile);
        cfg["stages"] = json!(names);
        let (p, ing) = (compiled(&cfg), ingress(&cfg));
        let w = start(&host, PIPELINE, &cfg);
        let mut g = Rng(0x57a6e5);
        for i in 0..REQUESTS / 4 {
            let req = gen_dual_city(&mut g, "uc", host.now_ms());
            let r = req.send(&w);
            let state = state_for(&host, &r, Some("ug_uid"));
            let want = decide_stages(&p, &ing, &req.view(), &state, stages);
            assert_eq!(
                outcome(&r, profile),
                core_outcome(want),
                "{profile} {names:?} #{i}: {req:?}"
            );
            host.advance(g.below(2000)).unwrap();
        }
    }
}

both_profiles!(
    chain_equals_core_dual_city,
    chain_equals_core_center_units,
    one_pass_stages_equal_core
);
