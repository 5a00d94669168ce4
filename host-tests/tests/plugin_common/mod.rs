//! Shared by the plugin_*.rs integration tests: the four release modules, plugin
//! configuration, a request spec that feeds both the wasm modules and `unitgate_core`, and
//! readers for what a module decided (cluster header / nginx variable + the signed ctx).
#![allow(dead_code)]

use proxy_wasm_test_host::{Chain, Exchange, Host, LogLevel, Profile, RequestBuilder, Worker};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use unitgate_core::{
    Body, CompiledPolicy, Decision, FailMode, Ingress, RequestView, RuntimeState, Stage,
    DEFAULT_TESTER_HEADER,
};

/// The recommended one-pass module (the whole pipeline; `"stages"` chooses).
pub const PIPELINE: &str = "unitgate";
pub const SHARD: &str = "unitgate_shard_router";
pub const GRAY: &str = "unitgate_gray_release";
pub const ISOLATION: &str = "unitgate_fault_isolation";
/// Each module with the core stage it decides alone (the one-pass module: all of them).
pub const MODULES: [(&str, Stage); 4] = [
    (PIPELINE, Stage::Isolation),
    (SHARD, Stage::Shard),
    (GRAY, Stage::Gray),
    (ISOLATION, Stage::Isolation),
];
/// The per-concern modules, in chain order.
pub const CHAIN_MODULES: [(&str, Stage); 3] = [
    (SHARD, Stage::Shard),
    (GRAY, Stage::Gray),
    (ISOLATION, Stage::Isolation),
];

/// Metric and log name of a module: `unitgate.<name>.…`.
pub fn metric_name(module: &str) -> &'static str {
    match module {
        PIPELINE => "pipeline",
        SHARD => "shard",
        GRAY => "gray",
        _ => "isolation",
    }
}
pub const SECRET: &str = "unitgate-test-secret-7f3a9c";
pub const CLUSTER_HEADER: &str = "x-unitgate-cluster";
pub const NGX_VAR: &str = "unitgate_upstream";
/// nginx variable for the signed peer stamp (`proxy_set_header x-unitgate-ctx $unitgate_ctx;`).
pub const NGX_CTX_VAR: &str = "unitgate_ctx";
pub const EXPLAIN_HEADER: &str = "x-unitgate-explain";
/// The per-concern modules' `"chain"`: all three, in order.
pub const FULL_CHAIN: [&str; 3] = ["shard", "gray", "isolation"];
pub const STAMP_MAX_AGE_MS: u64 = 30_000;

/// `both_profiles!(f, g)`: a module per fn with an `envoy` and an `ngx_wasm_module` test, each
/// running the same body `fn f(profile: Profile)`.
#[macro_export]
macro_rules! both_profiles {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn envoy() {
                super::$name(proxy_wasm_test_host::Profile::Envoy)
            }
            #[test]
            fn ngx_wasm_module() {
                super::$name(proxy_wasm_test_host::Profile::NgxWasmModule)
            }
        }
    )*};
}

// ----- policies and configuration -----

/// `policies/examples/<name>.json`.
pub fn example(name: &str) -> Value {
    let path = format!(
        "{}/../policies/examples/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// Dada-style: uc (ucloud, center) cities 0~499 (+ default), jc (jcloud) 500~999, gray city 42.
pub fn dual_city() -> Value {
    example("dual-cloud-city")
}

/// Alibaba-style: center (hangzhou), unit-sh (shanghai), unit-sz (shenzhen) by uid % 10000.
pub fn center_units() -> Value {
    example("center-units")
}

/// `peer_<cloud>` for every cloud other than the local unit's.
fn remote_upstreams(policy: &Value, local_unit: &str) -> BTreeMap<String, String> {
    let units = policy["units"].as_array().cloned().unwrap_or_default();
    let cloud_of = |u: &Value| u["cloud"].as_str().unwrap_or("").to_string();
    let local_cloud = units
        .iter()
        .find(|u| u["name"] == local_unit)
        .map(cloud_of)
        .unwrap_or_default();
    units
        .iter()
        .map(cloud_of)
        .filter(|c| *c != local_cloud)
        .map(|c| (c.clone(), format!("peer_{c}")))
        .collect()
}

/// Plugin configuration (plugins/README.md §1): fail open, our secret, a peer upstream per
/// remote cloud, explain on (tests read each decision from it); on ngx_wasm_module also the
/// nginx variables for the upstream and the peer stamp.
pub fn config(policy: &Value, local_unit: &str, profile: Profile) -> Value {
    let mut cfg = json!({
        "local_unit": local_unit,
        "fail_mode": "open",
        "secret": SECRET,
        "policy": policy,
        "remote_upstreams": remote_upstreams(policy, local_unit),
        "explain": true,
    });
    if profile.is_ngx() {
        cfg["nginx_variable"] = json!(NGX_VAR);
        cfg["nginx_ctx_variable"] = json!(NGX_CTX_VAR);
    }
    cfg
}

/// The same ingress the plugin builds from `cfg` (for `unitgate_core` expectations).
pub fn ingress(cfg: &Value) -> Ingress {
    Ingress {
        local_unit: cfg["local_unit"].as_str().unwrap().to_string(),
        fail_mode: match cfg["fail_mode"].as_str() {
            Some("open") => FailMode::Open,
            _ => FailMode::Closed,
        },
        secret: cfg["secret"].as_str().unwrap_or("").as_bytes().to_vec(),
        stamp_max_age_ms: cfg["stamp_max_age_ms"].as_u64().unwrap_or(STAMP_MAX_AGE_MS),
        remote_upstreams: serde_json::from_value(cfg["remote_upstreams"].clone())
            .unwrap_or_default(),
        tester_header: cfg["tester_header"]
            .as_str()
            .unwrap_or(DEFAULT_TESTER_HEADER)
            .to_string(),
    }
}

/// The policy of `cfg`, compiled natively.
pub fn compiled(cfg: &Value) -> CompiledPolicy {
    unitgate_core::load(&cfg["policy"].to_string())
        .unwrap_or_else(|r| panic!("policy does not load: {r}"))
        .policy
}

/// Start one worker of `module` (nginx variable declared, as `set $unitgate_upstream '';`).
pub fn start(host: &Host, module: &str, cfg: &Value) -> Worker {
    start_at(host, module, cfg, LogLevel::Info)
}

pub fn start_at(host: &Host, module: &str, cfg: &Value, level: LogLevel) -> Worker {
    host.module(module)
        .unwrap()
        .config(cfg.to_string())
        .ngx_var(NGX_VAR)
        .ngx_var(NGX_CTX_VAR)
        .log_level(level)
        .start()
        .unwrap()
}

/// The three per-concern modules, in order, as one filter chain: `cfg` plus
/// `"chain": ["shard","gray","isolation"]` for each.
pub fn chain(host: &Host, cfg: &Value) -> (Chain, Vec<Worker>) {
    let mut cfg = cfg.clone();
    cfg["chain"] = json!(FULL_CHAIN);
    let ws: Vec<Worker> = CHAIN_MODULES
        .iter()
        .map(|(m, _)| start(host, m, &cfg))
        .collect();
    let chain = Chain::new(&[&ws[0], &ws[1], &ws[2]]).unwrap();
    (chain, ws)
}

/// Sends a request somewhere (a worker or a chain) and returns the exchange.
pub type Sender<'a> = Box<dyn Fn(&Req) -> Exchange + 'a>;

/// Every module alone, then the chain ("chain"), all configured with `cfg`.
pub fn senders<'a>(host: &'a Host, cfg: &Value) -> Vec<(&'static str, Sender<'a>)> {
    let mut out: Vec<(&'static str, Sender<'a>)> = Vec::new();
    for (m, _) in MODULES {
        let w = start(host, m, cfg);
        out.push((m, Box::new(move |r: &Req| r.send(&w))));
    }
    let (c, _) = chain(host, cfg);
    out.push(("chain", Box::new(move |r: &Req| r.send_chain(&c))));
    out
}

// ----- requests -----

/// A request described once, sent through the wasm modules and viewed by the core.
#[derive(Clone, Debug, Default)]
pub struct Req {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
}

impl Req {
    pub fn new(method: &str, path: &str) -> Req {
        Req {
            method: method.into(),
            path: path.into(),
            ..Req::default()
        }
    }
    pub fn get(path: &str) -> Req {
        Req::new("GET", path)
    }
    pub fn header(mut self, k: &str, v: &str) -> Req {
        self.headers.push((k.into(), v.into()));
        self
    }
    pub fn cookie(self, k: &str, v: &str) -> Req {
        self.header("cookie", &format!("{k}={v}"))
    }
    pub fn body(mut self, b: impl AsRef<[u8]>) -> Req {
        self.body = Some(b.as_ref().to_vec());
        self
    }

    /// Onto a worker's or chain's request builder.
    pub fn onto(&self, mut b: RequestBuilder) -> RequestBuilder {
        b = b.method(&self.method).path(&self.path);
        for (k, v) in &self.headers {
            b = b.header(k, v);
        }
        if let Some(body) = &self.body {
            b = b.body(body);
        }
        b
    }

    pub fn send(&self, w: &Worker) -> Exchange {
        self.onto(w.request()).send().unwrap()
    }

    pub fn send_chain(&self, c: &Chain) -> Exchange {
        self.onto(c.request()).send().unwrap()
    }

    /// What the core sees for this request (the body fully read).
    pub fn view(&self) -> RequestView<'static> {
        let body = match &self.body {
            Some(b) if !b.is_empty() => Body::Bytes(b.clone()),
            _ => Body::Absent,
        };
        RequestView::new(&self.method, &self.path, self.headers.clone()).with_body(body)
    }
}

// ----- what a module decided -----

/// A route: the upstream the proxy picks, the decision from the explain header, and the
/// peer stamp the upstream receives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Routed {
    pub upstream: String,
    pub unit: String,
    pub api: String,
    pub class: String,
    pub reason: String,
    pub version: String,
    pub crossed: bool,
    /// The signed stamp for the peer (Envoy: request header; nginx: `$unitgate_ctx`).
    pub ctx: Option<String>,
}

/// The route a request took. Envoy: the cluster header; ngx_wasm_module: the nginx variable.
/// Panics (test failure) if the request was not routed.
pub fn routed(r: &Exchange, profile: Profile) -> Routed {
    try_routed(r, profile).unwrap_or_else(|| {
        panic!(
            "{profile}: not routed: status {:?}, local reply {:?}, upstream {:?}",
            r.status(),
            r.local_reply().map(|l| l.body_text()),
            r.upstream().map(|u| &u.headers)
        )
    })
}

/// `k=v; k=v` of an explain header.
pub fn explained(value: &str) -> BTreeMap<String, String> {
    value
        .split("; ")
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Also checks what reaches the upstream: no handoff, and a peer stamp exactly when the
/// request crosses clouds (Envoy; on nginx the conf sets the headers from the variables).
pub fn try_routed(r: &Exchange, profile: Profile) -> Option<Routed> {
    let up = r.upstream()?;
    let (upstream, ctx) = if profile.is_ngx() {
        let var = |name| {
            r.ngx_var(name)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        (var(NGX_VAR)?, var(NGX_CTX_VAR))
    } else {
        assert_eq!(
            up.header_all(CLUSTER_HEADER).len(),
            1,
            "one cluster header: {:?}",
            up.headers
        );
        assert_eq!(
            up.header(unitgate_core::HOP_HEADER),
            None,
            "no handoff upstream"
        );
        let ctx = up.header(unitgate_core::CTX_HEADER).map(str::to_string);
        (up.header(CLUSTER_HEADER)?.to_string(), ctx)
    };
    let e = explained(r.response_header(EXPLAIN_HEADER)?);
    let field = |k: &str| e.get(k).cloned().unwrap_or_default();
    let crossed = field("crossed") == "true";
    assert_eq!(
        ctx.is_some(),
        crossed,
        "{profile}: a stamp only when crossing: {e:?}"
    );
    Some(Routed {
        upstream,
        unit: field("unit"),
        api: field("api"),
        class: field("class"),
        reason: field("reason"),
        version: field("version"),
        crossed,
        ctx,
    })
}

/// (unit, upstream, reason) of a routed request.
pub fn route_of(r: &Exchange, profile: Profile) -> (String, String, String) {
    let x = routed(r, profile);
    (x.unit, x.upstream, x.reason)
}

/// A local reply: status and JSON body.
pub fn reply_of(r: &Exchange) -> (u16, Value) {
    let l = r
        .local_reply()
        .unwrap_or_else(|| panic!("no local reply; upstream {:?}", r.upstream()));
    let body = serde_json::from_slice(&l.body)
        .unwrap_or_else(|e| panic!("reply body is not JSON ({e}): {}", l.body_text()));
    assert_eq!(r.status(), Some(l.status), "the client gets the reply");
    assert_eq!(l.header("content-type"), Some("application/json"));
    (l.status, body)
}

/// A decision in comparable form: what the wasm did, or what the core says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Route {
        unit: String,
        upstream: String,
        reason: String,
    },
    Reply {
        status: u16,
        body: String,
    },
}

pub fn outcome(r: &Exchange, profile: Profile) -> Outcome {
    match r.local_reply() {
        Some(l) => Outcome::Reply {
            status: l.status,
            body: l.body_text(),
        },
        None => {
            let (unit, upstream, reason) = route_of(r, profile);
            Outcome::Route {
                unit,
                upstream,
                reason,
            }
        }
    }
}

pub fn core_outcome(d: Decision) -> Outcome {
    match d {
        Decision::Route(r) => Outcome::Route {
            unit: r.unit.into_owned(),
            upstream: r.upstream.into_owned(),
            reason: r.reason.as_str().to_string(),
        },
        Decision::Reply(l) => Outcome::Reply {
            status: l.status,
            body: l.body,
        },
        Decision::NeedBody => panic!("the core asked for a body it was given"),
    }
}

/// The id in a `Set-Cookie: <cookie>=<id>; ...` response header, if the module set one.
pub fn assigned_cookie(r: &Exchange, cookie: &str) -> Option<String> {
    r.response_header_all("set-cookie")
        .into_iter()
        .find_map(|c| c.strip_prefix(&format!("{cookie}=")))
        .map(|rest| rest.split(';').next().unwrap_or("").to_string())
}

/// Runtime state the core needs to reproduce a module's decision at the host's time, with the
/// id the module assigned (read back from its Set-Cookie).
pub fn state_for(host: &Host, r: &Exchange, cookie: Option<&str>) -> RuntimeState {
    RuntimeState {
        now_ms: host.now_ms(),
        breakers: BTreeMap::new(),
        assigned_id: cookie.and_then(|c| assigned_cookie(r, c)),
    }
}

/// A peer stamp as a peer cloud's ingress writes it for a request with `method`, `path`
/// (no query) and shard key value `key` (`-` for none).
#[allow(clippy::too_many_arguments)]
pub fn ctx_header(
    secret: &str,
    origin_cloud: &str,
    unit: &str,
    api: &str,
    class: &str,
    reason: &str,
    version: &str,
    ts_ms: u64,
    bound: (&str, &str, &str),
) -> String {
    let text = format!("v2;{origin_cloud};{unit};{api};{class};{reason};{version};{ts_ms}");
    let (method, path, key) = bound;
    let sig = unitgate_core::sign(
        secret.as_bytes(),
        &format!("{text}\n{method}\n{path}\n{key}"),
    );
    format!("{text};{sig}")
}

/// The stamp jcloud's ingress writes when it forwards a request of the dual-city example's
/// `orders` API to uc by key range, bound to `(method, path, key)`.
pub fn orders_stamp_from_jcloud(ts_ms: u64, bound: (&str, &str, &str)) -> String {
    let version = dual_city()["version"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    ctx_header(
        SECRET,
        "jcloud",
        "uc",
        "orders",
        "core",
        "key_range",
        &version,
        ts_ms,
        bound,
    )
}

/// Deterministic generator (splitmix64) for generated requests.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Plugin log lines at `level` or above.
pub fn logs_at_least(w: &Worker, level: LogLevel) -> Vec<String> {
    w.logs()
        .into_iter()
        .filter(|l| l.level >= level)
        .map(|l| l.message)
        .collect()
}
