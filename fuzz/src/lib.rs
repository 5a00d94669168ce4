//! What the fuzz targets share: the example policies, an ingress, and a request built from
//! fuzzer bytes (any method, path, query, headers, cookies and body; non-UTF-8, huge, empty).

use arbitrary::Arbitrary;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use unitgate_core::*;

pub const SECRET: &[u8] = b"fuzz-secret";
/// A fixed clock: the core takes time as a value, so a run is reproducible.
pub const NOW_MS: u64 = 1_800_000_000_000;

/// The policies shipped in the repository (examples and the Envoy demo).
pub const POLICY_TEXTS: [&str; 3] = [
    include_str!("../../policies/examples/dual-cloud-city.json"),
    include_str!("../../policies/examples/center-units.json"),
    include_str!("../../envoy/policies/dual-cloud-demo.json"),
];

/// Names the example policies read keys from, so the fuzzer reaches key parsing quickly.
const NAMES: [&str; 16] = [
    "x-city-id",
    "x-user-id",
    "city",
    "city_id",
    "ug_uid",
    "uid",
    "cookie",
    "content-type",
    "content-length",
    "transfer-encoding",
    "x-unitgate-ctx",
    "x-unitgate-tester",
    "x-unitgate-cluster",
    "x-unitgate-hop",
    ":path",
    ":method",
];
const PATHS: [&str; 6] = [
    "/",
    "/api/orders/",
    "/api/profile",
    "/admin/",
    "/api/",
    "/orders/",
];
const METHODS: [&str; 6] = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"];

/// A loaded example policy and the names of its units (each can be the local unit).
pub struct Fixture {
    pub policy: CompiledPolicy,
    pub units: Vec<String>,
}

/// The example policies, loaded once.
pub fn fixtures() -> &'static [Fixture] {
    static F: OnceLock<Vec<Fixture>> = OnceLock::new();
    F.get_or_init(|| {
        POLICY_TEXTS
            .iter()
            .map(|text| {
                let v: serde_json::Value = serde_json::from_str(text).expect("example is JSON");
                let units = v["units"]
                    .as_array()
                    .expect("example has units")
                    .iter()
                    .filter_map(|u| u["name"].as_str().map(String::from))
                    .collect();
                let policy = load(text).expect("example policy loads").policy;
                Fixture { policy, units }
            })
            .collect()
    })
}

pub fn ingress(local: &str, fail_open: bool) -> Ingress {
    Ingress {
        local_unit: local.into(),
        fail_mode: if fail_open {
            FailMode::Open
        } else {
            FailMode::Closed
        },
        secret: SECRET.to_vec(),
        stamp_max_age_ms: 30_000,
        remote_upstreams: BTreeMap::from([("jcloud".into(), "peer_jcloud".into())]),
        tester_header: DEFAULT_TESTER_HEADER.into(),
    }
}

/// A name: one the policies read, or any bytes.
#[derive(Arbitrary, Debug)]
pub enum Name {
    Known(u8),
    Raw(Vec<u8>),
}

impl Name {
    fn text(&self) -> String {
        match self {
            Name::Known(i) => NAMES[*i as usize % NAMES.len()].to_string(),
            Name::Raw(b) => String::from_utf8_lossy(b).into_owned(),
        }
    }
}

/// A value: any bytes, optionally repeated into a huge value.
#[derive(Arbitrary, Debug)]
pub struct Val {
    bytes: Vec<u8>,
    /// Repeat the bytes this many times (capped), to make huge values.
    repeat: u16,
}

impl Val {
    pub fn text(&self) -> String {
        let n = (self.repeat as usize).clamp(1, 4096);
        String::from_utf8_lossy(&self.bytes.repeat(n)).into_owned()
    }
}

#[derive(Arbitrary, Debug)]
pub enum FuzzBody {
    NotRead,
    Absent,
    TooLarge,
    Bytes(Vec<u8>),
    /// A JSON object with one member, the way body keys are read.
    Json(Name, Val),
}

/// A whole request as the fuzzer sees it.
#[derive(Arbitrary, Debug)]
pub struct FuzzRequest {
    method: u8,
    raw_method: Option<Vec<u8>>,
    path: u8,
    path_tail: Vec<u8>,
    query: Vec<(Name, Val)>,
    headers: Vec<(Name, Val)>,
    cookies: Vec<(Name, Val)>,
    body: FuzzBody,
}

impl FuzzRequest {
    pub fn view(&self) -> RequestView<'static> {
        let method = match &self.raw_method {
            Some(m) => String::from_utf8_lossy(m).into_owned(),
            None => METHODS[self.method as usize % METHODS.len()].to_string(),
        };
        let mut path = PATHS[self.path as usize % PATHS.len()].to_string();
        path.push_str(&String::from_utf8_lossy(&self.path_tail));
        for (i, (k, v)) in self.query.iter().enumerate() {
            path.push(if i == 0 { '?' } else { '&' });
            path.push_str(&format!("{}={}", k.text(), v.text()));
        }
        let mut headers: Vec<(String, String)> = self
            .headers
            .iter()
            .map(|(k, v)| (k.text(), v.text()))
            .collect();
        if !self.cookies.is_empty() {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{}={}", k.text(), v.text()))
                .collect();
            headers.push(("cookie".into(), c.join("; ")));
        }
        let body = match &self.body {
            FuzzBody::NotRead => Body::NotRead,
            FuzzBody::Absent => Body::Absent,
            FuzzBody::TooLarge => Body::TooLarge,
            FuzzBody::Bytes(b) => Body::Bytes(b.clone()),
            FuzzBody::Json(k, v) => Body::Bytes(
                serde_json::json!({ k.text(): v.text() })
                    .to_string()
                    .into_bytes(),
            ),
        };
        RequestView::new(&method, &path, headers).with_body(body)
    }
}

/// A few fixed requests, to compare two policies' decisions without a structured input.
pub fn probe_requests(key_values: &[&str]) -> Vec<RequestView<'static>> {
    let mut out = Vec::new();
    for &v in key_values {
        for (method, path) in [
            ("GET", "/api/orders/1"),
            ("POST", "/api/orders/1"),
            ("GET", "/"),
        ] {
            for name in ["x-city-id", "x-user-id", "r_id", "uid"] {
                let headers = vec![(name.to_string(), v.to_string())];
                out.push(RequestView::new(method, path, headers).with_body(Body::Absent));
            }
            let q = format!("{path}?city_id={v}&uid={v}&r_id={v}");
            out.push(RequestView::new(method, &q, Vec::new()).with_body(Body::Absent));
            let cookie = vec![("cookie".to_string(), format!("city={v}; uid={v}; r_id={v}"))];
            out.push(RequestView::new(method, path, cookie).with_body(Body::Absent));
        }
    }
    out
}

/// Decide `req` from every unit of `units`, and check what must hold for any request: a
/// route names a unit of the policy, a reply is a 4xx/5xx with a JSON body, and `NeedBody`
/// only comes while the body is unread.
pub fn decide_everywhere(policy: &CompiledPolicy, units: &[String], req: &RequestView) {
    let state = RuntimeState {
        now_ms: NOW_MS,
        ..RuntimeState::default()
    };
    for local in units {
        for fail_open in [true, false] {
            match decide(policy, &ingress(local, fail_open), req, &state) {
                Decision::Route(r) => {
                    assert!(
                        units.iter().any(|u| *u == r.unit),
                        "route to unknown unit {}",
                        r.unit
                    );
                    let _ = explain(&r, "v");
                }
                Decision::Reply(r) => {
                    assert!((400..600).contains(&r.status), "reply status {}", r.status);
                    assert!(
                        serde_json::from_str::<serde_json::Value>(&r.body).is_ok(),
                        "reply body is not JSON: {}",
                        r.body
                    );
                }
                Decision::NeedBody => assert_eq!(req.body, Body::NotRead),
            }
        }
    }
}

/// Unit names of a policy document (for policies the fuzzer wrote).
pub fn unit_names(doc: &serde_json::Value) -> Vec<String> {
    doc.get("units")
        .and_then(|u| u.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|u| u.get("name").and_then(|n| n.as_str()).map(String::from))
                .collect()
        })
        .unwrap_or_default()
}
