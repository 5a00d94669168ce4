//! The parity scenario (`policies/scenarios/parity.json`): one policy, a table of requests with
//! the decision each must get, and readers that turn what a host did into the same form.

use anyhow::{anyhow, Context, Result};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use unitgate_core::{decide, Body, Decision, FailMode, Ingress, RequestView, RuntimeState};
use unitgate_envoy::plugin_config::peer_cluster;
use unitgate_envoy::Request;

/// A decision in comparable form: the unit that serves the request, or the local reply.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Expect {
    /// The unit chosen (absent for a local reply).
    #[serde(default)]
    pub unit: Option<String>,
    /// The status of a local reply (absent for a route).
    #[serde(default)]
    pub status: Option<u16>,
    pub reason: String,
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.unit, self.status) {
            (Some(unit), _) => write!(f, "{unit}/{}", self.reason),
            (None, Some(status)) => write!(f, "{status}/{}", self.reason),
            (None, None) => write!(f, "?/{}", self.reason),
        }
    }
}

impl Expect {
    /// From an `x-unitgate-explain` value: `unit=jc; reason=gray; ...` or `reply=503; reason=...`.
    pub fn from_explain(text: &str) -> Option<Expect> {
        let fields: BTreeMap<&str, &str> = text
            .split(';')
            .filter_map(|kv| kv.trim().split_once('='))
            .collect();
        Some(Expect {
            unit: fields.get("unit").map(|u| u.to_string()),
            status: fields.get("reply").and_then(|s| s.parse().ok()),
            reason: fields.get("reason")?.to_string(),
        })
    }
}

/// One request of the table.
#[derive(Clone, Debug, Deserialize)]
pub struct Case {
    pub name: String,
    /// The cloud whose ingress receives it.
    pub at: String,
    pub method: String,
    pub path: String,
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    #[serde(default)]
    pub body: Option<String>,
    /// Send the body with `transfer-encoding: chunked` instead of `content-length`.
    #[serde(default)]
    pub chunked: bool,
    pub expect: Expect,
}

impl Case {
    pub fn request(&self) -> Request {
        let mut req = Request::new(&self.method, &self.path);
        req.headers = self.headers.clone();
        req.body = self.body.clone();
        req
    }
}

#[derive(Clone, Debug, Deserialize)]
pub struct Scenario {
    pub secret: String,
    pub policy: Value,
    pub cases: Vec<Case>,
}

/// `policies/scenarios/<name>.json`.
pub fn load(name: &str) -> Result<Scenario> {
    let path = unitgate_envoy::locate::workspace_root()
        .join("policies/scenarios")
        .join(format!("{name}.json"));
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

impl Scenario {
    /// The cloud of every unit.
    pub fn clouds(&self) -> BTreeMap<String, String> {
        unit_clouds(&self.policy)
    }

    pub fn ingress(&self, cloud: &str) -> Result<Ingress> {
        core_ingress(&self.policy, &self.secret, cloud)
    }

    /// What the core decides for `case` natively, at `now_ms`.
    pub fn core_decision(&self, case: &Case, now_ms: u64) -> Result<Expect> {
        core_decision(
            &self.policy,
            &self.secret,
            &case.at,
            &case.request(),
            now_ms,
        )
    }
}

/// Unit name -> cloud, from a policy.
pub fn unit_clouds(policy: &Value) -> BTreeMap<String, String> {
    policy["units"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| Some((u["name"].as_str()?.into(), u["cloud"].as_str()?.into())))
        .collect()
}

/// The ingress of `cloud` as the harness configures it (fail closed, `peer_<cloud>` upstreams).
pub fn core_ingress(policy: &Value, secret: &str, cloud: &str) -> Result<Ingress> {
    let clouds = unit_clouds(policy);
    let local_unit = clouds
        .iter()
        .find(|(_, c)| *c == cloud)
        .map(|(u, _)| u.clone())
        .ok_or_else(|| anyhow!("no unit in cloud {cloud}"))?;
    Ok(Ingress {
        local_unit,
        fail_mode: FailMode::Closed,
        secret: secret.as_bytes().to_vec(),
        stamp_max_age_ms: 30_000,
        remote_upstreams: clouds
            .values()
            .filter(|c| *c != cloud)
            .map(|c| (c.clone(), peer_cluster(c)))
            .collect(),
        tester_header: unitgate_core::DEFAULT_TESTER_HEADER.to_string(),
    })
}

/// What the core decides natively for `req` entering at `cloud`, at `now_ms`.
pub fn core_decision(
    policy: &Value,
    secret: &str,
    cloud: &str,
    req: &Request,
    now_ms: u64,
) -> Result<Expect> {
    let loaded = unitgate_core::load(&policy.to_string())
        .map_err(|r| anyhow!("the policy does not load: {r}"))?;
    let body = match &req.body {
        Some(b) if !b.is_empty() => Body::Bytes(b.clone().into_bytes()),
        _ => Body::Absent,
    };
    let view = RequestView::new(&req.method, &req.path, req.headers.clone()).with_body(body);
    let state = RuntimeState {
        now_ms,
        ..RuntimeState::default()
    };
    Ok(
        match decide(
            &loaded.policy,
            &core_ingress(policy, secret, cloud)?,
            &view,
            &state,
        ) {
            Decision::Route(r) => Expect {
                unit: Some(r.unit.into_owned()),
                status: None,
                reason: r.reason.as_str().to_string(),
            },
            Decision::Reply(l) => Expect {
                unit: None,
                status: Some(l.status),
                reason: l.reason.as_str().to_string(),
            },
            Decision::NeedBody => return Err(anyhow!("the core asked for a body it was given")),
        },
    )
}
